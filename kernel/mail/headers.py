"""Header blocks: split a message's (or a MIME part's) header into fields, with offsets.

A header block is a run of header fields followed by an empty line (RFC 5322 §2.1). This
module finds the fields and where the body begins, and records byte offsets so callers
can serve ``BODY[HEADER]``, ``BODY[1.MIME]`` and ``HEADER.FIELDS`` from the raw bytes.

Implementation notes:

- One compiled regex matches a whole field, continuation lines included, anchored at the
  current line start; the loop runs once per field, never once per byte. Values are kept
  raw (folded, undecoded) and decoded on demand.
- Bare LF is accepted wherever CRLF is (most stored mail has been through a Unix MTA).
  A lone CR is an ordinary character.
- Field names are printable US-ASCII without colon (RFC 5322 §3.6.8); white space before
  the colon is allowed (RFC 5322 §4.5, obs-optional).
- A line that is neither a field, a continuation nor empty is garbage. If the next line
  is a field or a continuation, the garbage is taken as a continuation of the previous
  field (a fold that lost its leading white space, an mbox ``From`` line before the first
  field is skipped); otherwise the header ends there and the garbage line starts the
  body, which is how a message without the empty separator line is read (the choice
  Python's ``email`` package makes too). Nothing here raises on any input.
- Values decode as UTF-8 (RFC 6532 §3.2 allows UTF-8 in header values), falling back to
  Windows-1252 for other 8-bit bytes. NUL bytes are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import final

from kernel.mail.charsets import decode_bytes

__all__ = [
    "Header",
    "find_body_start",
    "header_text",
    "parse_header_block",
    "scan_fields",
    "unfold",
]

# RFC 5322 §2.2 and §3.6.8:
#   field-name   = 1*ftext
#   ftext        = %d33-57 / %d59-126   ; printable US-ASCII except ":"
#   obs-optional = field-name *WSP ":" unstructured CRLF
# A field runs on over continuation lines, which start with WSP (RFC 5322 §2.2.3).
_FIELD = re.compile(rb"([!-9;-~]+)[ \t]*:([^\n]*(?:\n[ \t][^\n]*)*)\n?")

# (name, value_start, value_end, field_start, field_end); value_end excludes the line break.
Field = tuple[bytes, int, int, int, int]


def scan_fields(raw: bytes, start: int = 0, end: int | None = None) -> tuple[list[Field], int]:
    """Split the header block starting at ``start`` into fields.

    Args:
        raw: the whole message.
        start: offset of the first header line.
        end: offset where the enclosing entity ends (``len(raw)`` by default).

    Returns:
        ``(fields, body_start)``: one tuple ``(name, value_start, value_end, field_start,
        field_end)`` per field in order, with ``raw[value_start:value_end]`` the raw value
        after the colon (folds kept, final line break dropped); and the offset where the
        body begins, just after the empty line (or ``end`` when there is no body).
    """
    if end is None:
        end = len(raw)
    fields: list[Field] = []
    append = fields.append
    match = _FIELD.match
    pos = start
    while pos < end:
        found = match(raw, pos, end)
        if found is not None:
            field_end = found.end()
            value_end = found.end(2)
            if value_end > found.start(2) and raw[value_end - 1] == 0x0D:
                value_end -= 1
            append((found.group(1), found.start(2), value_end, pos, field_end))
            pos = field_end
            continue
        first = raw[pos]
        if first == 0x0A:
            return fields, pos + 1
        if first == 0x0D and pos + 1 < end and raw[pos + 1] == 0x0A:
            return fields, pos + 2
        eol = raw.find(b"\n", pos, end)
        following = end if eol < 0 else eol + 1
        if following < end and (raw[following] in b" \t" or match(raw, following, end)):
            # A stray line inside the header: fold it into the previous field.
            if fields:
                name, value_start, _, field_start, _ = fields[-1]
                value_end = following - (2 if raw[following - 2] == 0x0D else 1)
                fields[-1] = (name, value_start, value_end, field_start, following)
            pos = following
            continue
        return fields, pos
    return fields, end


@final
@dataclass(frozen=True, slots=True)
class Header:
    """One header field.

    ``name`` is as written; ``value`` is the raw bytes after the colon, folds included and
    the final line break excluded; ``raw[start:end]`` is the whole field with its line
    break(s).
    """

    name: str
    value: bytes
    start: int
    end: int

    @property
    def lower_name(self) -> str:
        """The name lowercased, for comparisons (field names are case-insensitive)."""
        return self.name.lower()

    def unfolded(self) -> bytes:
        """The raw value with folds removed (RFC 5322 §2.2.3)."""
        return unfold(self.value)

    @property
    def text(self) -> str:
        """The value unfolded, decoded to text and stripped (no RFC 2047 decoding)."""
        return header_text(self.value)


def parse_header_block(raw: bytes, start: int = 0, end: int | None = None) -> list[Header]:
    """The header fields of the header block at ``start`` (see :func:`scan_fields`)."""
    fields, _ = scan_fields(raw, start, end)
    return [
        Header(name.decode("latin-1"), raw[value_start:value_end], field_start, field_end)
        for name, value_start, value_end, field_start, field_end in fields
    ]


def find_body_start(raw: bytes, start: int = 0, end: int | None = None) -> int:
    """Offset where the body begins for the header block at ``start``."""
    return scan_fields(raw, start, end)[1]


_FOLD = re.compile(rb"\r?\n(?=[ \t])")
_STRAY_BREAK = re.compile(rb"\r?\n")


def unfold(value: bytes) -> bytes:
    """Remove folding from a raw field value.

    RFC 5322 §2.2.3: "Unfolding is accomplished by simply removing any CRLF that is
    immediately followed by WSP." A line break before a stray (non-WSP) line becomes a
    space.
    """
    if b"\n" not in value:
        return value
    return _STRAY_BREAK.sub(b" ", _FOLD.sub(b"", value))


def header_text(value: bytes) -> str:
    """A raw field value as text: unfolded, decoded (UTF-8, else Windows-1252), stripped."""
    if b"\n" in value:
        value = unfold(value)
    if value.isascii():
        return value.decode("ascii").strip()
    return decode_bytes(value, None).strip()
