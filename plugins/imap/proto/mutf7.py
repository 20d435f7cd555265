"""Modified UTF-7, the IMAP4rev1 mailbox international naming convention (RFC 3501 §5.1.3).

IMAP4rev1 clients see mailbox names in modified UTF-7; IMAP4rev2 (RFC 9051 §5.1) and
clients that enabled UTF8=ACCEPT (RFC 6855 §3) see them in UTF-8, so the session calls
:func:`encode_mutf7` / :func:`decode_mutf7` only for the former.

Implementation notes:

- RFC 3501 §5.1.3: printable US-ASCII (0x20-0x7e) other than ``&`` represents itself;
  ``&`` is ``&-``; every other character is written as UTF-16 in modified BASE64 (``,``
  for ``/``, no ``=`` padding) between ``&`` and ``-``.
- Decoding is strict, so that a name has exactly one spelling and the session can answer
  NO/BAD to anything else: a shift without its closing ``-``, characters outside the
  modified BASE64 alphabet, a superfluous shift (``&U,BTFw-&ZeVnLIqe-``), printable
  US-ASCII written in BASE64, non-zero or excess padding bits, broken UTF-16 surrogate
  pairs, and raw control or 8-bit characters all raise :class:`ValueError`. The check is
  done by re-encoding each BASE64 run and comparing, which covers the padding rules
  without bit arithmetic.
- Plain names (printable US-ASCII without ``&``) take a fast path in both directions.
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["decode_mutf7", "encode_mutf7"]

# RFC 3501 §5.1.3: "printable US-ASCII characters, except for "&", represent themselves".
_PLAIN = re.compile(r"[\x20-\x25\x27-\x7e]*")
# RFC 3501 §5.1.3: "&" shifts to modified BASE64 and "-" shifts back; "," replaces "/".
_SHIFTED = re.compile(r"&([A-Za-z0-9+,]*)-")
_TO_MODIFIED = bytes.maketrans(b"/", b",")
_FROM_MODIFIED = bytes.maketrans(b",", b"/")


def _encode_run(run: str) -> str:
    """One run of characters that cannot represent themselves, as ``&...-``."""
    data = base64.b64encode(run.encode("utf-16-be")).rstrip(b"=")
    return "&" + data.translate(_TO_MODIFIED).decode("ascii") + "-"


def encode_mutf7(name: str) -> str:
    """A mailbox name in modified UTF-7 (RFC 3501 §5.1.3).

    Args:
        name: the mailbox name as Unicode text.

    Returns:
        The modified UTF-7 form, printable US-ASCII only.

    Raises:
        ValueError: ``name`` holds a lone surrogate, which UTF-16 cannot carry.
    """
    if "&" not in name and _PLAIN.fullmatch(name):
        return name
    out: list[str] = []
    start = 0  # start of the pending run of characters to encode
    for index, char in enumerate(name):
        if "\x20" <= char <= "\x7e":
            if start < index:
                out.append(_encode_run(name[start:index]))
            out.append("&-" if char == "&" else char)
            start = index + 1
    if start < len(name):
        out.append(_encode_run(name[start:]))
    return "".join(out)


def _decode_run(encoded: str) -> str:
    """The text of one modified BASE64 run (without its ``&`` and ``-``); strict."""
    data = encoded.encode("ascii")
    padded = data.translate(_FROM_MODIFIED) + b"=" * (-len(data) % 4)
    try:
        raw = base64.b64decode(padded, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"invalid modified BASE64 in mailbox name: &{encoded}-") from exc
    # RFC 3501 §5.1.3: one spelling only; re-encoding must give back the same characters
    # (this rejects padding bits that are not zero and a superfluous last character).
    if len(raw) % 2 or base64.b64encode(raw).rstrip(b"=").translate(_TO_MODIFIED) != data:
        raise ValueError(f"modified BASE64 run is not in canonical form: &{encoded}-")
    text = raw.decode("utf-16-be")  # UnicodeDecodeError (a ValueError) on lone surrogates
    # RFC 3501 §5.1.3: "Modified BASE64 MUST NOT be used to represent any printing
    # US-ASCII character which can represent itself."
    if any("\x20" <= char <= "\x7e" for char in text):
        raise ValueError(f"printable US-ASCII encoded in modified BASE64: &{encoded}-")
    return text


def decode_mutf7(name: str | bytes) -> str:
    """The Unicode text of a modified UTF-7 mailbox name (RFC 3501 §5.1.3).

    Args:
        name: the name as received (``bytes`` must be US-ASCII).

    Returns:
        The decoded name.

    Raises:
        ValueError: ``name`` is not valid modified UTF-7 (see the module notes); the
            session answers NO or BAD.
    """
    if isinstance(name, bytes):
        name = name.decode("ascii")  # UnicodeDecodeError is a ValueError
    if "&" not in name:
        if _PLAIN.fullmatch(name):
            return name
        raise ValueError("mailbox name holds characters that modified UTF-7 must encode")
    out: list[str] = []
    pos = 0
    shifted_end = -1  # where the last non-empty BASE64 run ended
    while pos < len(name):
        plain = _PLAIN.match(name, pos)
        end = plain.end() if plain else pos
        if end > pos:
            out.append(name[pos:end])
            pos = end
            continue
        if name[pos] != "&":
            raise ValueError("mailbox name holds characters that modified UTF-7 must encode")
        shifted = _SHIFTED.match(name, pos)
        if shifted is None:
            raise ValueError("unterminated or invalid shift in modified UTF-7 mailbox name")
        encoded = shifted.group(1)
        if not encoded:
            out.append("&")
        else:
            # RFC 3501 §5.1.3: null shifts ("-&" while in BASE64) are not permitted.
            if shifted_end == pos:
                raise ValueError("superfluous shift in modified UTF-7 mailbox name")
            out.append(_decode_run(encoded))
            shifted_end = shifted.end()
        pos = shifted.end()
    return "".join(out)
