"""EXPUNGE and UID EXPUNGE (RFC 9051 §6.4.3, §6.4.9; RFC 4315 §2.1).

The messages with ``\\Deleted`` (``$deleted`` in the store) leave the mailbox in one
store transaction; the EXPUNGE (or, with QRESYNC, VANISHED) responses then come from
the view like any other session's expunges (RFC 7162 §3.2.7), sent by the dispatcher
before the tagged OK, highest sequence number first.

Implementation notes: RFC 4314 §4 asks for the ``e`` right. Which messages carry
``\\Deleted`` is asked of the store at the moment of the expunge, not of the view, so a
flag another session set a moment ago counts.
"""

from __future__ import annotations

from kernel.errors import StoreError
from kernel.store import filters as f
from plugins.imap.context import Session
from plugins.imap.errors import Done, no, store_failure
from plugins.imap.ops._common import select_uids
from plugins.imap.proto import codes
from plugins.imap.proto.commands import Expunge, UidExpunge
from plugins.imap.proto.sequence import SequenceSet
from plugins.imap.selected import SelectedMailbox

__all__ = ["expunge", "remove_deleted", "uid_expunge"]


async def remove_deleted(
    session: Session, view: SelectedMailbox, uids: list[int] | None
) -> list[int]:
    """Remove the ``\\Deleted`` messages (of ``uids``, or all); returns their UIDs."""
    where: f.Filter = f.HasKeyword("$deleted")
    if uids is not None:
        if not uids:
            return []
        where = f.All((where, f.Uids(view.mailbox, SequenceSet.of(uids).ranges)))
    try:
        found = await session.store.emails.search(view.account, view.mailbox, where)
        if not found:
            return []
        return await session.store.emails.remove(
            view.account, view.mailbox, [email for _, email in found]
        )
    except StoreError as exc:
        raise store_failure(exc) from exc


def _writable(session: Session) -> SelectedMailbox:
    view = session.view()
    if view.read_only:
        raise no("Mailbox is read-only", codes.READ_ONLY)
    if "e" not in session.selected_rights:
        raise no("Permission denied", codes.NOPERM)  # RFC 4314 §4
    return view


async def expunge(session: Session, cmd: Expunge) -> Done:
    """RFC 9051 §6.4.3."""
    await remove_deleted(session, _writable(session), None)
    return Done("EXPUNGE completed")


async def uid_expunge(session: Session, cmd: UidExpunge) -> Done:
    """RFC 4315 §2.1: only the ``\\Deleted`` messages among the given UIDs."""
    view = _writable(session)
    await remove_deleted(session, view, select_uids(session, cmd.uids, uid=True))
    return Done("UID EXPUNGE completed")
