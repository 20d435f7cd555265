"""COPY and MOVE, with and without UID (RFC 9051 §6.4.7, §6.4.8; RFC 6851; RFC 4315 §3).

Implementation notes:

* The target must exist (``NO [TRYCREATE]``) and allow ``i``; MOVE also needs ``e``
  on the source (RFC 4314 §4, RFC 6851 §3.1).
* The store copies (or moves, atomically, RFC 6851 §3.3) in one transaction and gives
  the new UIDs in the order asked, so ``[COPYUID v source target]`` lists both sets in
  ascending, corresponding order (RFC 4315 §3).
* MOVE sends COPYUID in an untagged OK before the EXPUNGE (or VANISHED) responses,
  which the dispatcher sends after the op from the view (RFC 6851 §4.3).
* A set that names no message is OK without COPYUID.
"""

from __future__ import annotations

from kernel.errors import StoreError
from plugins.imap.context import Session
from plugins.imap.errors import Done, no, store_failure
from plugins.imap.ops._common import need_right, resolve, select_uids
from plugins.imap.proto import codes
from plugins.imap.proto import responses as r
from plugins.imap.proto.commands import Copy, Move
from plugins.imap.proto.sequence import SequenceSet

__all__ = ["copy", "move"]


async def copy(session: Session, cmd: Copy | Move) -> Done:
    """RFC 9051 §6.4.7 (and §6.4.8 for MOVE)."""
    view = session.view()
    moving = isinstance(cmd, Move)
    name = "MOVE" if moving else "COPY"
    if moving and (view.read_only or "e" not in session.selected_rights):
        raise no("Mailbox is read-only", codes.READ_ONLY if view.read_only else codes.NOPERM)
    uids = [u for u in select_uids(session, cmd.sequence, uid=cmd.uid) if not view.is_expunged(u)]
    _, ref = await resolve(session, cmd.mailbox, missing=codes.TRYCREATE)
    need_right(ref, "i")
    target = ref.mailbox
    assert target is not None
    if not uids:
        return Done(f"{name} completed")
    emails = [view.email_of(u) for u in uids]
    other = ref.owner if ref.owner != view.account else None
    try:
        result = await session.store.emails.copy(
            view.account,
            emails,
            target.id,
            source=view.mailbox,
            target_account=other,
            move=moving,
        )
    except StoreError as exc:
        raise store_failure(exc) from exc
    source = SequenceSet.of(s for s, _ in result.pairs)
    dest = SequenceSet.of(t for _, t in result.pairs)
    code = r.code_copyuid(result.uidvalidity, source, dest)
    if moving:
        await session.send(r.untagged("OK", "Moved", code=code))
        return Done("MOVE completed")
    return Done("COPY completed", code)


move = copy
