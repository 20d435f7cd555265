"""NOTIFY (RFC 5465 §3.1): NOTIFY SET [STATUS] and NOTIFY NONE.

Implementation notes:

* The rules between events are :func:`plugins.imap.notify.compile_notify`'s: BAD for
  combinations RFC 5465 §5 and §6.1 forbid, NO [BADEVENT (...)] for unsupported events.
* A successful NOTIFY SET replaces the previous one, answers ``\\NoAccess`` LISTs and,
  with STATUS, the STATUS of the watched mailboxes before its OK, and acts as a NOOP
  for the selected mailbox (RFC 5465 §3.1: "implies an implicit NOOP command").
* A failed NOTIFY SET leaves the previous settings in place.
"""

from __future__ import annotations

from plugins.imap.context import Session
from plugins.imap.errors import CommandFailed, Done
from plugins.imap.names import decode_name
from plugins.imap.notifier import Notifier, set_notifier
from plugins.imap.notify import NotifyError, compile_notify
from plugins.imap.proto.commands import Notify

__all__ = ["notify"]


async def notify(session: Session, cmd: Notify) -> Done:
    """RFC 5465 §3.1."""
    if cmd.groups is None:
        set_notifier(session, None)
        return Done("NOTIFY completed")
    try:
        spec = compile_notify(cmd, lambda wire: decode_name(wire, utf8=session.utf8))
    except NotifyError as exc:
        raise CommandFailed(exc.status, exc.text, exc.code) from None
    notifier = Notifier(session, spec)
    try:
        lines = await notifier.start()
    except BaseException:
        notifier.close()
        raise
    set_notifier(session, notifier)
    if lines:
        await session.send(*lines)
    await session.sync(expunge=True, force=True)  # RFC 5465 §3.1: an implicit NOOP
    return Done("NOTIFY completed")
