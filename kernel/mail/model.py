"""The parsed form of a message: a MIME tree of :class:`Part` with byte offsets, and a
:class:`Message` with the header summary. Both are immutable and refer to the raw bytes
only by offset, so they can be stored (see :mod:`kernel.mail.serialize`) and used later
with the raw message to serve any section without parsing again.

Implementation notes (invariants that :func:`kernel.mail.message.parse_message` keeps):

- ``0 <= header_start <= header_end <= body_end <= len(raw)``; the header block
  ``raw[header_start:header_end]`` ends with its empty separator line when there is one;
  the body is ``raw[body_start:body_end]`` with ``body_start == header_end``.
- A child's range lies within its parent's body; siblings are in order and disjoint.
- ``content_type == "multipart"`` implies at least one child: a multipart that cannot be
  split (no boundary, boundary never found, limits reached) is reported as ``text/plain``.
- ``message is not None`` (``message/rfc822`` and ``message/global`` bodies that are not
  base64 or quoted-printable encoded) implies ``children == (message.root,)``; other
  ``message/*`` parts are leaves, and IMAP serialises them as basic bodies.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import final

from kernel.mail.addresses import Address, Group

__all__ = ["Message", "Part", "part_by_path", "walk"]

AddressList = tuple[Address | Group, ...]


@final
@dataclass(frozen=True, slots=True)
class Part:
    """One MIME entity: offsets into the raw message and its Content-* fields.

    Text fields hold the unfolded header text without RFC 2047 decoding (IMAP's
    BODYSTRUCTURE wants them as sent); ``params`` and ``disposition_params`` are decoded
    (RFC 2231, and RFC 2047 in ``name``/``filename``). ``transfer_encoding`` is
    lowercased. ``body_lines`` counts the body's lines for ``text/*`` and ``message/*``
    parts (a last line without a line break included) and is 0 for other types. Parts
    compare by value but are not hashable (their parameter dicts are not).
    """

    header_start: int
    header_end: int
    body_end: int
    content_type: str = "text"
    subtype: str = "plain"
    params: dict[str, str] = field(default_factory=dict)
    transfer_encoding: str = "7bit"
    disposition: str | None = None
    disposition_params: dict[str, str] = field(default_factory=dict)
    content_id: str | None = None
    description: str | None = None
    language: tuple[str, ...] = ()
    location: str | None = None
    md5: str | None = None
    body_lines: int = 0
    children: tuple[Part, ...] = ()
    message: Message | None = None

    @property
    def body_start(self) -> int:
        """Offset of the first body byte (the header block's end)."""
        return self.header_end

    @property
    def body_size(self) -> int:
        """Length of the body as stored (still transfer-encoded)."""
        return self.body_end - self.header_end

    @property
    def mime_type(self) -> str:
        """``type/subtype``, lowercased."""
        return f"{self.content_type}/{self.subtype}"

    @property
    def is_multipart(self) -> bool:
        """Whether the part is a multipart with children."""
        return self.content_type == "multipart"

    @property
    def charset(self) -> str | None:
        """The charset parameter; ``us-ascii`` for text parts without one (RFC 2046 §4.1.2)."""
        charset = self.params.get("charset")
        if charset is None and self.content_type == "text":
            return "us-ascii"
        return charset

    @property
    def filename(self) -> str | None:
        """The disposition's ``filename``, else the type's ``name`` parameter."""
        return self.disposition_params.get("filename") or self.params.get("name")

    @property
    def cid(self) -> str | None:
        """The Content-ID without angle brackets (JMAP ``cid``)."""
        if self.content_id is None:
            return None
        return self.content_id.strip().removeprefix("<").removesuffix(">").strip() or None

    @property
    def is_attachment(self) -> bool:
        """Whether the disposition says ``attachment``."""
        return self.disposition == "attachment"


@final
@dataclass(frozen=True, slots=True)
class Message:
    """A message (top-level or encapsulated): its root part and header summary.

    ``size`` is the message's length in bytes (for an encapsulated message, the body size
    of its ``message/rfc822`` part); the message starts at ``root.header_start``. The
    summary is decoded: ``subject`` has RFC 2047 words decoded, address display names too,
    message ids lose their angle brackets.
    """

    root: Part
    size: int
    subject: str | None = None
    from_: AddressList = ()
    sender: AddressList = ()
    reply_to: AddressList = ()
    to: AddressList = ()
    cc: AddressList = ()
    bcc: AddressList = ()
    date: datetime | None = None
    message_id: str | None = None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()

    @property
    def start(self) -> int:
        """Offset of the message's first byte in the raw bytes."""
        return self.root.header_start


def part_by_path(message: Message, path: tuple[int, ...]) -> Part | None:
    """The part an IMAP section number designates, or ``None`` when there is none.

    RFC 9051 §6.4.5.1; RFC 3501 §6.4.5: "Every message has at least one part number.
    Messages that do not use MIME, and MIME messages that are not multipart and have no
    encapsulated message within them, only have a part 1." A ``message/rfc822`` or
    ``message/global`` part's numbers continue into the encapsulated message, where the
    same rule applies again (so ``2.1`` is the body of a non-multipart message attached
    as part 2). The empty path is the root.
    """
    part = message.root
    at_message_root = True
    for number in path:
        if part.message is not None and not at_message_root:
            part = part.message.root
            at_message_root = True
        if part.children and part.message is None:
            if not 1 <= number <= len(part.children):
                return None
            part = part.children[number - 1]
            at_message_root = False
        elif at_message_root and number == 1:
            at_message_root = False
        else:
            return None
    return part


def walk(part: Part) -> Iterator[Part]:
    """Every part under ``part`` (itself included) in document order, depth first."""
    stack = [part]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))
