"""DELE, RSET and NOOP (RFC 1939 §5): deletion marks, which take effect only at QUIT."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugins.pop3.ops.listing import lookup_error
from plugins.pop3.proto import responses
from plugins.pop3.proto.commands import Dele, Noop, Rset
from plugins.pop3.proto.maildrop import AlreadyDeleted, NoSuchMessage

if TYPE_CHECKING:
    from plugins.pop3.session import Pop3Session

__all__ = ["dele", "noop", "rset"]


async def dele(session: Pop3Session, cmd: Dele) -> None:
    """Mark a message deleted; the store is untouched until the UPDATE state."""
    try:
        session.view.delete(cmd.msg)
    except (NoSuchMessage, AlreadyDeleted) as exc:
        session.reply(lookup_error(exc))
        return
    session.reply(responses.deleted(cmd.msg))


async def rset(session: Pop3Session, cmd: Rset) -> None:
    """Unmark every message."""
    session.view.reset()
    session.reply(responses.reset(*session.view.stat()))


async def noop(session: Pop3Session, cmd: Noop) -> None:
    """Nothing (the idle timer restarts with any command)."""
    session.reply(responses.NOOP)
