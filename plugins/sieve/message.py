"""The message as a Sieve run sees it: raw bytes, the MIME tree, and header edits.

A :class:`MessageView` wraps the raw message and the shared parser's tree
(:func:`kernel.mail.parse_message`). Header tests read the top-level fields through it,
``editheader`` changes them (RFC 5293 §7: later tests see the changes), and
:meth:`MessageView.to_bytes` gives the message with the edits applied, for the actions
that store or send it.

Implementation notes:

- Header values are read as RFC 5228 §2.4.2.2 asks: unfolded, RFC 2047 encoded-words
  decoded, leading and trailing white space removed.
- Only the top-level header block is editable; MIME part headers are read from the raw
  bytes. Unchanged fields are written back byte for byte; new fields use the line ending
  the message already uses.
- ``flags`` are the flags the message is stored with (used to seed the imap4flags
  internal variable when a host runs a script over stored mail).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

from kernel.mail import (
    Header,
    Message,
    Part,
    decode_words,
    header_text,
    parse_header_block,
    parse_message,
    walk,
)
from plugins.sieve.headers import encode_header_value, fold_field

__all__ = ["Field", "MessageView"]


@final
@dataclass(frozen=True, slots=True)
class Field:
    """A top-level header field: name as written, raw value after the colon, and the
    whole field as it stands in the message (``None`` for an added field).
    """

    name: str
    value: bytes
    raw: bytes | None = None

    def text(self) -> str:
        """The value as Sieve compares it: unfolded, decoded, stripped."""
        text = header_text(self.value)
        return decode_words(text) if "=?" in text else text

    def raw_text(self) -> str:
        """The value unfolded and stripped, without RFC 2047 decoding."""
        return header_text(self.value)


def _part_text(header: Header) -> str:
    text = header.text
    return decode_words(text) if "=?" in text else text


@final
class MessageView:
    """A message with editable top-level header fields."""

    def __init__(self, raw: bytes, flags: tuple[str, ...] = ()) -> None:
        self.raw = raw
        self.message: Message = parse_message(raw)
        self.flags = flags
        root = self.message.root
        headers = parse_header_block(raw, root.header_start, root.header_end)
        self._fields = [Field(h.name, h.value, raw[h.start : h.end]) for h in headers]
        self._original_count = len(self._fields)
        self.edited = False
        self._parts: list[Part] | None = None
        self.eol = "\r\n" if b"\r\n" in raw[: root.header_end or len(raw)] else "\n"

    # -- header fields -----------------------------------------------------------
    @property
    def fields(self) -> list[Field]:
        """The current top-level fields, in order (edits applied)."""
        return self._fields

    def values(self, name: str) -> list[str]:
        """The decoded values of every field called ``name`` (case-insensitive)."""
        lower = name.lower()
        return [f.text() for f in self._fields if f.name.lower() == lower]

    def raw_values(self, name: str) -> list[str]:
        """The values of fields called ``name``, unfolded but not RFC 2047 decoded."""
        lower = name.lower()
        return [f.raw_text() for f in self._fields if f.name.lower() == lower]

    def has(self, name: str) -> bool:
        """Whether a field called ``name`` exists."""
        lower = name.lower()
        return any(f.name.lower() == lower for f in self._fields)

    def add(self, name: str, value: str, *, last: bool = False) -> None:
        """RFC 5293 §4: add a field at the top (or at the end with ``:last``)."""
        text = fold_field(name, encode_header_value(value), self.eol)
        field = Field(name, text[len(name) + 1 :].rstrip("\r\n").encode("utf-8"))
        if last:
            self._fields.append(field)
        else:
            self._fields.insert(0, field)
        self.edited = True

    def remove(self, indexes: set[int]) -> None:
        """Remove the fields at these positions of :attr:`fields`."""
        if indexes:
            self._fields = [f for i, f in enumerate(self._fields) if i not in indexes]
            self.edited = True

    def header_bytes(self) -> bytes:
        """The top-level header block as it now stands, separator line included."""
        out: list[bytes] = []
        for field in self._fields:
            if field.raw is not None:
                out.append(field.raw)
            else:
                out.append(field.name.encode("ascii") + b":" + field.value + self.eol.encode())
        return b"".join(out) + self.eol.encode()

    def body_bytes(self) -> bytes:
        """The body of the message (everything after the top-level header)."""
        return self.raw[self.message.root.body_start :]

    @property
    def has_body(self) -> bool:
        """Whether the header is followed by an empty line (RFC 5173 §5: a message that
        is only a header has no body at all, not an empty one).
        """
        end = self.message.root.header_end
        if end < len(self.raw):
            return True
        block = self.raw[:end]
        return block.endswith((b"\n\n", b"\r\n\r\n")) or block in (b"\n", b"\r\n")

    def to_bytes(self) -> bytes:
        """The message with the header edits applied."""
        if not self.edited:
            return self.raw
        return self.header_bytes() + self.body_bytes()

    @property
    def size(self) -> int:
        """RFC 5228 §5.9: the size of the message in octets (edits included)."""
        return len(self.to_bytes()) if self.edited else len(self.raw)

    # -- MIME parts ----------------------------------------------------------------
    @property
    def root(self) -> Part:
        """The root MIME part."""
        return self.message.root

    def parts(self) -> list[Part]:
        """Every MIME part in document order, the root first."""
        if self._parts is None:
            self._parts = list(walk(self.message.root))
        return self._parts

    def part_fields(self, part: Part) -> list[Header]:
        """The header fields of ``part``, as stored."""
        return parse_header_block(self.raw, part.header_start, part.header_end)

    def part_values(self, part: Part, name: str) -> list[str]:
        """The decoded values of the fields called ``name`` in ``part``'s header."""
        if part is self.message.root:
            return self.values(name)
        lower = name.lower()
        return [_part_text(h) for h in self.part_fields(part) if h.lower_name == lower]
