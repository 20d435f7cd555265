"""STAT, LIST (RFC 1939 §5) and UIDL (RFC 1939 §7): what the maildrop holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugins.pop3.proto import responses
from plugins.pop3.proto.commands import List, Stat, Uidl
from plugins.pop3.proto.maildrop import AlreadyDeleted, NoSuchMessage
from plugins.pop3.proto.responses import Reply

if TYPE_CHECKING:
    from plugins.pop3.session import Pop3Session

__all__ = ["list_", "lookup_error", "stat", "uidl"]


def lookup_error(exc: LookupError) -> Reply:
    """The reply for a message number that names nothing usable."""
    # RFC 1939 §5: a message marked as deleted may not be referred to.
    if isinstance(exc, AlreadyDeleted):
        return responses.MESSAGE_DELETED
    return responses.NO_SUCH_MESSAGE


async def stat(session: Pop3Session, cmd: Stat) -> None:
    """The drop listing: messages and octets, marked ones not counted."""
    session.reply(responses.stat(*session.view.stat()))


async def list_(session: Pop3Session, cmd: List) -> None:
    """One scan listing, or all of them (marked messages are not listed)."""
    view = session.view
    if cmd.msg is not None:
        try:
            entry = view.get(cmd.msg)
        except (NoSuchMessage, AlreadyDeleted) as exc:
            session.reply(lookup_error(exc))
            return
        session.reply(responses.scan_listing(cmd.msg, entry.size))
        return
    first = responses.list_follows(*view.stat())
    session.write(responses.multiline(first, (f"{n} {e.size}" for n, e in view.live())))


async def uidl(session: Pop3Session, cmd: Uidl) -> None:
    """One unique-id listing, or all of them."""
    view = session.view
    if cmd.msg is not None:
        try:
            uid = view.unique_id(cmd.msg)
        except (NoSuchMessage, AlreadyDeleted) as exc:
            session.reply(lookup_error(exc))
            return
        session.reply(responses.unique_id(cmd.msg, uid))
        return
    lines = (f"{n} {view.unique_id(n)}" for n, _ in view.live())
    session.write(responses.multiline(responses.UIDL_FOLLOWS, lines))
