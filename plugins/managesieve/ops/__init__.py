"""One async function per ManageSieve command: ``await op(session, command)``.

Each op queues its responses on the session (``session.reply`` / ``write``);
response texts and codes come from :mod:`plugins.managesieve.proto.codes`.
Store failures are translated to responses in :mod:`.scripts` and nowhere
else (STYLE.md §1.6).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from plugins.managesieve.ops import auth, connection, scripts
from plugins.managesieve.ops.connection import capability_listing
from plugins.managesieve.proto import commands as c

if TYPE_CHECKING:
    from plugins.managesieve.session import SieveSession

__all__ = ["DISPATCH", "capability_listing"]

#: The op for each command class.
DISPATCH: Final[dict[type, Callable[[SieveSession, Any], Awaitable[None]]]] = {
    c.Capability: connection.capability,
    c.StartTls: connection.starttls,
    c.Logout: connection.logout,
    c.Noop: connection.noop,
    c.Authenticate: auth.authenticate,
    c.Unauthenticate: auth.unauthenticate,
    c.HaveSpace: scripts.havespace,
    c.PutScript: scripts.putscript,
    c.CheckScript: scripts.checkscript,
    c.ListScripts: scripts.listscripts,
    c.SetActive: scripts.setactive,
    c.GetScript: scripts.getscript,
    c.DeleteScript: scripts.deletescript,
    c.RenameScript: scripts.renamescript,
}
