"""One FETCH response from the parsed items and what the store has about the message.

The session resolves the sequence set, loads what the items need (:func:`needs_content`
says whether that includes the raw bytes and the parsed message), and calls
:func:`render_fetch` once per message; it sets ``\\Seen`` when :func:`sets_seen` says so
(RFC 9051 §6.4.5) and adds FLAGS to the response then, adds ``UID`` and ``MODSEQ``
items where required, and turns an :class:`~plugins.imap.fetch.sections.UnknownCte`
into ``NO [UNKNOWN-CTE]``.

Implementation notes:

- Items are answered in the order requested; the FETCH macros were expanded by the
  parser (:mod:`plugins.imap.proto.fetch_items`).
- PREVIEW uses the stored preview and computes one from the message only when the store
  has none (RFC 8970 §3.2: NIL only with LAZY, so there is always a string).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import final

from kernel.mail import Message
from kernel.mail import preview as compute_preview
from plugins.imap.fetch import values
from plugins.imap.fetch.bodystructure import body_structure
from plugins.imap.fetch.envelope import envelope
from plugins.imap.fetch.sections import (
    UnknownCte,
    binary_section,
    binary_size,
    body_section,
    rfc822_section,
)
from plugins.imap.proto.fetch_items import (
    BinarySection,
    BinarySize,
    BodySection,
    FetchItem,
    SimpleItem,
)
from plugins.imap.proto.responses import FetchResponse, flag_list

__all__ = ["CONTENT_ITEMS", "FetchSource", "needs_content", "render_fetch", "sets_seen"]

#: Simple items that need the message bytes and structure.
CONTENT_ITEMS = frozenset(
    {"BODY", "BODYSTRUCTURE", "ENVELOPE", "RFC822", "RFC822.HEADER", "RFC822.TEXT"}
)


@final
@dataclass(frozen=True, slots=True)
class FetchSource:
    """What one message offers to FETCH.

    Attributes:
        uid: the message's UID in the selected mailbox.
        flags: its flags as IMAP names (``\\Seen``, keywords), in the order to send.
        internal_date: INTERNALDATE (an aware datetime, or a POSIX timestamp in UTC).
        size: RFC822.SIZE, the stored message's length.
        modseq: its mod-sequence (RFC 7162), when known.
        preview: the stored preview text (RFC 8970), when known.
        email_id: the EMAILID objectid (RFC 8474).
        thread_id: the THREADID objectid, ``None`` when the message has no thread.
        raw: the stored bytes; needed when :func:`needs_content` says so.
        message: the parsed message (``kernel.mail.from_json`` of the stored structure).
    """

    uid: int
    flags: Sequence[str]
    internal_date: datetime | float
    size: int
    modseq: int | None = None
    preview: str | None = None
    email_id: str | None = None
    thread_id: str | None = None
    raw: bytes | None = None
    message: Message | None = None


def needs_content(items: Iterable[FetchItem]) -> bool:
    """Whether answering ``items`` needs the raw bytes and the parsed message."""
    return any(not isinstance(item, SimpleItem) or item.name in CONTENT_ITEMS for item in items)


def sets_seen(items: Iterable[FetchItem]) -> bool:
    """Whether fetching ``items`` implicitly sets ``\\Seen`` (RFC 9051 §6.4.5).

    BODY[...] and BINARY[...] without PEEK do; so do IMAP4rev1's RFC822 and RFC822.TEXT,
    the equivalents of BODY[] and BODY[TEXT], but not RFC822.HEADER, the equivalent of
    BODY.PEEK[HEADER] (RFC 3501 §6.4.5).
    """
    for item in items:
        if isinstance(item, BodySection | BinarySection):
            if not item.peek:
                return True
        elif isinstance(item, SimpleItem) and item.name in ("RFC822", "RFC822.TEXT"):
            return True
    return False


def _content(source: FetchSource) -> tuple[bytes, Message]:
    if source.raw is None or source.message is None:
        raise ValueError("this FETCH needs the message bytes and structure")
    return source.raw, source.message


def _simple(name: str, source: FetchSource, utf8: bool, rev2: bool) -> bytes:
    """The serialised value of a simple item that is not a section."""
    if name == "FLAGS":
        return flag_list(source.flags)
    if name == "UID":
        return b"%d" % source.uid
    if name == "INTERNALDATE":
        return values.internal_date(source.internal_date)
    if name == "RFC822.SIZE":
        return values.rfc822_size(source.size)
    if name == "MODSEQ":
        return values.modseq(source.modseq or 0)
    if name == "EMAILID":
        return values.email_id(source.email_id or "")
    if name == "THREADID":
        return values.thread_id(source.thread_id)
    if name == "PREVIEW":
        text = source.preview
        if text is None:
            text = compute_preview(*_content(source)) if source.raw is not None else ""
        return values.preview(text, utf8=utf8)
    raw, message = _content(source)
    if name == "ENVELOPE":
        return envelope(raw, message, utf8=utf8)
    if name in ("BODY", "BODYSTRUCTURE"):
        return body_structure(
            raw, message, extensible=name == "BODYSTRUCTURE", utf8=utf8, rev2=rev2
        )
    raise ValueError(f"not a simple FETCH value: {name}")


def render_fetch(
    number: int,
    items: Sequence[FetchItem],
    source: FetchSource,
    *,
    utf8: bool = False,
    rev2: bool = False,
) -> FetchResponse | UnknownCte:
    """The ``* number FETCH (...)`` response for one message.

    Args:
        number: the message sequence number.
        items: the data items, UID and MODSEQ included when the session wants them.
        source: the message's data.
        utf8: UTF-8 may go in quoted strings (IMAP4rev2 or UTF8=ACCEPT).
        rev2: the client speaks IMAP4rev2 (message/global in BODYSTRUCTURE).

    Returns:
        The response to stream with :meth:`FetchResponse.pieces`, or
        :class:`UnknownCte` when a BINARY item cannot be decoded (RFC 3516 §4.3).

    Raises:
        ValueError: ``source`` lacks ``raw``/``message`` that an item needs.
    """
    response = FetchResponse(number)
    for item in items:
        if isinstance(item, SimpleItem):
            name = item.name
            if name in ("RFC822", "RFC822.HEADER", "RFC822.TEXT"):
                section = rfc822_section(*_content(source), name)
                response.content(section.label, section.data)
            else:
                response.item(name.encode("ascii"), _simple(name, source, utf8, rev2))
        elif isinstance(item, BodySection):
            section = body_section(*_content(source), item)
            response.content(section.label, section.data)
        elif isinstance(item, BinarySection):
            binary = binary_section(*_content(source), item)
            if isinstance(binary, UnknownCte):
                return binary
            response.content(binary.label, binary.data, binary=binary.binary)
        elif isinstance(item, BinarySize):
            size = binary_size(*_content(source), item)
            if isinstance(size, UnknownCte):
                return size
            response.item(size[0], b"%d" % size[1])
    return response
