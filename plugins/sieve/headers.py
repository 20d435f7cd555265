"""Writing header fields: RFC 2047 encoded-words and folding, for added and generated fields.

Used by ``addheader`` (RFC 5293 §4: a value that is not ASCII is stored with RFC 2047
encoding) and by the messages composed for vacation, reject and notify.

Implementation notes:

- Non-ASCII text becomes one or more ``=?UTF-8?B?...?=`` words (RFC 2047 §2: an
  encoded-word is at most 75 characters), never splitting a UTF-8 sequence.
- Folding inserts a line break before white space so that lines stay under 78
  characters where possible (RFC 5322 §2.2.3); a field is never folded inside a word.
"""

from __future__ import annotations

import base64

__all__ = ["encode_header_value", "fold_field", "valid_field_name"]

# RFC 2047 §2: "An 'encoded-word' may not be more than 75 characters long".
_MAX_WORD = 75
_PREFIX = "=?UTF-8?B?"
_SUFFIX = "?="
# Base64 turns 3 octets into 4 characters; 45 octets give 60 characters, within 75.
_CHUNK = 45


def valid_field_name(name: str) -> bool:
    """RFC 5322 §3.6.8: ``field-name = 1*ftext``, printable US-ASCII except ":"."""
    return bool(name) and all(33 <= ord(c) <= 126 and c != ":" for c in name)


def _chunks(data: bytes) -> list[bytes]:
    chunks: list[bytes] = []
    start = 0
    while start < len(data):
        end = min(start + _CHUNK, len(data))
        # Do not split a UTF-8 sequence: back up to a lead byte.
        while end < len(data) and end > start + 1 and data[end] & 0xC0 == 0x80:
            end -= 1
        chunks.append(data[start:end])
        start = end
    return chunks


def encode_header_value(text: str) -> str:
    """``text`` as a header value: unchanged when ASCII, else RFC 2047 encoded-words."""
    if text.isascii():
        return text
    data = text.encode("utf-8", "surrogateescape")
    words = [_PREFIX + base64.b64encode(chunk).decode("ascii") + _SUFFIX for chunk in _chunks(data)]
    return " ".join(words)


def fold_field(name: str, value: str, eol: str = "\r\n", width: int = 78) -> str:
    """``Name: value`` folded at white space to lines of about ``width`` characters,
    ending with ``eol``.
    """
    words = value.split(" ")
    lines: list[str] = []
    current = f"{name}:"
    for index, word in enumerate(words):
        piece = (" " if index == 0 or current else "") + word
        if index > 0 and len(current) + len(piece) > width and current.strip():
            lines.append(current)
            current = " " + word
        else:
            current += piece
    lines.append(current)
    return eol.join(lines) + eol
