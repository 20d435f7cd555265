"""Content-Transfer-Encoding decoders: base64 and quoted-printable, tolerant of the wild.

Implementation notes:

- Both decoders run in C (:mod:`binascii`); Python only repairs what ``binascii`` refuses.
  A clean base64 body is decoded in one pass with no extra copy.
- Base64 (RFC 2045 §6.8): characters outside the alphabet are ignored (the RFC says so);
  missing padding is added; a final lone sextet, which carries no whole octet, is
  dropped; several padded chunks glued together (``QQ==QQ==``, written by broken
  encoders that encode line by line) are each decoded.
- Quoted-printable (RFC 2045 §6.7): soft line breaks after ``=`` with CRLF or bare LF;
  trailing white space on a line is removed first (rule 3: it was added in transport);
  malformed ``=XY`` escapes are kept as written (the RFC's suggested robustness).
"""

from __future__ import annotations

import binascii
import re

__all__ = ["decode_base64", "decode_quoted_printable", "decode_transfer"]

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_NOISE = bytes(sorted(set(range(256)) - set(_B64_ALPHABET + b"=")))
_PAD_RUN = re.compile(rb"=+")
_TRAILING_WSP = re.compile(rb"[ \t]+(?=\r?\n|\Z)")
_HAS_TRAILING_WSP = re.compile(rb"[ \t]\r?\n|[ \t]\Z")

IDENTITY_ENCODINGS = frozenset({"7bit", "8bit", "binary", ""})


def _decode_chunk(chunk: bytes) -> bytes:
    remainder = len(chunk) % 4
    if remainder == 1:
        chunk = chunk[:-1]
    elif remainder:
        chunk += b"=" * (4 - remainder)
    try:
        return binascii.a2b_base64(chunk)
    except binascii.Error:  # pragma: no cover - cleaned input always decodes
        return b""


def decode_base64(data: bytes) -> bytes:
    """Decode base64 ``data``, ignoring noise and repairing padding; never raises."""
    padding = data.find(b"=")
    if padding < 0 or not data[padding:].strip(b"= \t\r\n"):
        # RFC 2045 §6.8: "Any characters outside of the base64 alphabet are to be ignored".
        try:
            return binascii.a2b_base64(data)
        except binascii.Error:
            pass
    clean = data.translate(None, _B64_NOISE).rstrip(b"=")
    if b"=" not in clean:
        return _decode_chunk(clean)
    return b"".join(_decode_chunk(chunk) for chunk in _PAD_RUN.split(clean) if chunk)


def decode_quoted_printable(data: bytes, *, header: bool = False) -> bytes:
    """Decode quoted-printable ``data`` (``header=True``: RFC 2047 "Q", ``_`` is a space)."""
    # RFC 2045 §6.7 rule (3): trailing white space "MUST be deleted" when decoding.
    if not header and _HAS_TRAILING_WSP.search(data):
        data = _TRAILING_WSP.sub(b"", data)
    return binascii.a2b_qp(data, header=header)


def decode_transfer(data: bytes, encoding: str) -> bytes:
    """Undo Content-Transfer-Encoding ``encoding`` (lowercased); unknown ones are identity."""
    if encoding == "base64":
        return decode_base64(data)
    if encoding == "quoted-printable":
        return decode_quoted_printable(data)
    return data
