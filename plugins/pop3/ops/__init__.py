"""One async function per POP3 command: ``await op(session, command)``.

Each op queues its replies on the session (``session.reply`` / ``write``);
reply texts come from :mod:`plugins.pop3.proto.responses`. Store failures are
translated to replies here and nowhere else (STYLE.md §1.6): a missing item
becomes ``[SYS/PERM]`` or "no such message", anything else the store raises
is logged and answered ``[SYS/TEMP]``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from plugins.pop3.ops import auth, capa, dele, listing, quit, retr, stls, user
from plugins.pop3.proto import commands as c

if TYPE_CHECKING:
    from plugins.pop3.session import Pop3Session

__all__ = ["DISPATCH"]

#: The op for each command class.
DISPATCH: Final[dict[type, Callable[[Pop3Session, Any], Awaitable[None]]]] = {
    c.Capa: capa.capa,
    c.Stls: stls.stls,
    c.Utf8: stls.utf8,
    c.User: user.user,
    c.Pass: user.pass_,
    c.Apop: user.apop,
    c.Auth: auth.auth,
    c.Stat: listing.stat,
    c.List: listing.list_,
    c.Uidl: listing.uidl,
    c.Retr: retr.retr,
    c.Top: retr.top,
    c.Dele: dele.dele,
    c.Rset: dele.rset,
    c.Noop: dele.noop,
    c.Quit: quit.quit_,
}
