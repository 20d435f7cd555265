"""SELECT, EXAMINE, CLOSE and UNSELECT (RFC 9051 §6.3.2, §6.3.3, §6.4.1, §6.4.2).

With CONDSTORE (RFC 7162 §3.1.2.1) every SELECT answers ``HIGHESTMODSEQ``; with
QRESYNC (RFC 7162 §3.2.5) it also reports what changed since the client's last state:
``VANISHED (EARLIER)`` for expunged UIDs, then ``FETCH (UID FLAGS MODSEQ)`` for
messages changed since the given mod-sequence.

Implementation notes:

* RFC 9051 §6.3.2: a SELECT first closes the selected mailbox (``* OK [CLOSED]`` for
  IMAP4rev2 and QRESYNC clients, RFC 7162 §3.2.11), so a failing SELECT leaves none.
* The snapshot, the ``\\Recent`` claim and HIGHESTMODSEQ come from one store read
  (:func:`plugins.imap.storeview.snapshot`), so the first poll afterwards misses
  nothing.
* IMAP4rev1 also gets ``RECENT`` and ``[UNSEEN n]`` (RFC 3501 §6.3.1); IMAP4rev2 gets
  the mailbox's ``LIST`` line (RFC 9051 §6.3.2).
* CLOSE expunges ``\\Deleted`` messages silently when the mailbox is writable (RFC 9051
  §6.4.1: no EXPUNGE responses); UNSELECT does not.
* When the store cannot say what was expunged since the client's mod-sequence (its
  log was pruned), VANISHED (EARLIER) lists every known UID that is gone, narrowed by
  the sequence-match data (RFC 7162 §3.2.5.2).
"""

from __future__ import annotations

import bisect

from kernel.errors import NoSuchItem
from plugins.imap import storeview
from plugins.imap.context import Session, State
from plugins.imap.errors import Done, bad, no
from plugins.imap.flags import PERMANENT_FLAGS, keywords_to_flags
from plugins.imap.ids import mailbox_id
from plugins.imap.names import MailboxRef, Tree, attributes
from plugins.imap.ops._common import resolve
from plugins.imap.ops.expunge import remove_deleted
from plugins.imap.proto import codes
from plugins.imap.proto import responses as r
from plugins.imap.proto.commands import Close, Examine, QResync, Select, Unselect
from plugins.imap.proto.sequence import SequenceSet
from plugins.imap.selected import SelectedMailbox

__all__ = ["close", "examine", "select", "unselect"]

_WRITE_RIGHTS = frozenset("stwe")


async def select(session: Session, cmd: Select | Examine) -> Done:
    """RFC 9051 §6.3.2 (and §6.3.3 for EXAMINE)."""
    if cmd.qresync is not None and not session.qresync:
        # RFC 7162 §3.2.5: BAD unless ENABLE QRESYNC came first.
        raise bad("QRESYNC is not enabled")
    await _deselect(session)
    if cmd.condstore:
        session.enabled.add("CONDSTORE")  # RFC 7162 §3.1.8
    tree, ref = await resolve(session, cmd.mailbox)
    if "r" not in ref.rights:
        raise no("Permission denied", codes.NOPERM)
    assert ref.mailbox is not None
    read_only = isinstance(cmd, Examine) or not (_WRITE_RIGHTS & set(ref.rights))
    try:
        snap = await storeview.snapshot(session.store, ref.owner, ref.mailbox.id)
    except NoSuchItem:
        raise no("No such mailbox", codes.NONEXISTENT) from None
    view = SelectedMailbox(
        snap,
        read_only=read_only,
        condstore=session.condstore,
        qresync=session.qresync,
        recent=session.recent_tracker,
    )
    await session.send(*_select_data(session, tree, ref, view))
    if cmd.qresync is not None and cmd.qresync.uidvalidity == view.uidvalidity:
        await _resync(session, view, cmd.qresync)
    session.selected = view
    session.selected_name = ref.name
    session.selected_owner = ref.owner
    session.selected_rights = ref.rights
    session.saved = frozenset()  # RFC 9051 §6.4.4.1: reset by SELECT/EXAMINE
    session.search_updates.clear()  # RFC 5267 §4.3: updates end with the selection
    session.state = State.SELECTED
    if ref.owner != session.account_id:
        assert session.account_id is not None
        session.watch([session.account_id, ref.owner])
    code = codes.READ_ONLY if read_only else codes.READ_WRITE
    return Done("EXAMINE completed" if read_only else "SELECT completed", code.encode())


examine = select


def _select_data(
    session: Session, tree: Tree, ref: MailboxRef, view: SelectedMailbox
) -> list[bytes]:
    out = [r.exists(view.exists)]
    if not session.rev2:
        out.append(r.recent(view.recent_count))  # RFC 3501 §6.3.1
        first_unseen = next(
            (n for n, uid in enumerate(view.uids, 1) if "$seen" not in view.flags_of(uid)),
            None,
        )
        if first_unseen is not None:
            out.append(r.untagged("OK", "First unseen", code=b"UNSEEN %d" % first_unseen))
    out.append(r.untagged("OK", "UIDs valid", code=r.code_uidvalidity(view.uidvalidity)))
    out.append(r.untagged("OK", "Predicted next UID", code=r.code_uidnext(view.uidnext)))
    keywords = sorted(view.keywords)
    out.append(r.flags((*PERMANENT_FLAGS, *keywords)))
    permanent = () if view.read_only else (*PERMANENT_FLAGS, *keywords, "\\*")
    out.append(r.untagged("OK", "Flags permitted", code=r.code_permanentflags(permanent)))
    # RFC 7162 §3.1.2.1: HIGHESTMODSEQ on every successful SELECT/EXAMINE.
    out.append(r.untagged("OK", "Highest", code=r.code_highestmodseq(view.synced_modseq)))
    # RFC 8474 §4.2: the MAILBOXID of the selected mailbox.
    assert ref.mailbox is not None
    out.append(r.untagged("OK", "Ok", code=b"MAILBOXID (%s)" % mailbox_id(ref.mailbox.id).encode()))
    if session.rev2:
        out.append(r.list_mailbox(attributes(tree, ref), "/", ref.name, utf8=session.utf8))
    return out


def _gaps(ranges: list[tuple[int, int]], present: list[int], floor: int) -> SequenceSet:
    """The UIDs in ``ranges`` above ``floor`` that are not in sorted ``present``."""
    out: list[tuple[int, int]] = []
    for low, high in ranges:
        low = max(low, floor + 1)
        if low > high:
            continue
        start = bisect.bisect_left(present, low)
        cursor = low
        for uid in present[start:]:
            if uid > high:
                break
            if uid > cursor:
                out.append((cursor, uid - 1))
            cursor = uid + 1
        if cursor <= high:
            out.append((cursor, high))
    return SequenceSet(tuple(out))


def _match_floor(view: SelectedMailbox, qresync: QResync) -> int:
    """RFC 7162 §3.2.5.2: the highest UID below which the client knows the expunges."""
    if qresync.seq_match is None:
        return 0
    seqs_set, uids_set = qresync.seq_match
    seqs = [n for low, high in seqs_set.resolve(view.exists) for n in range(low, high + 1)][:4096]
    uids = [n for low, high in uids_set.resolve(view.max_uid) for n in range(low, high + 1)][:4096]
    floor = 0
    for seq, uid in zip(seqs, uids, strict=False):
        if 1 <= seq <= view.exists and view.uid_of(seq) == uid:
            floor = uid
        else:
            break
    return floor


async def _resync(session: Session, view: SelectedMailbox, qresync: QResync) -> None:
    """RFC 7162 §3.2.5.1: VANISHED (EARLIER) then FETCH for what changed since."""
    limit = view.uidnext - 1
    if qresync.known_uids is not None:
        known = [(low, min(high, limit)) for low, high in qresync.known_uids.resolve(limit)]
    else:
        known = [(1, limit)] if limit >= 1 else []
    gone, complete = await storeview.expunged(
        session.store, view.account, view.mailbox, qresync.modseq
    )
    if complete:
        vanished = SequenceSet.of(u for u in gone if any(low <= u <= high for low, high in known))
    else:
        vanished = _gaps(known, list(view.uids), _match_floor(view, qresync))
    out: list[bytes] = []
    if vanished.ranges:
        out.append(r.vanished(vanished, earlier=True))
    for seq, uid in enumerate(view.uids, 1):
        modseq = view.modseq_of(uid)
        if modseq > qresync.modseq and any(low <= uid <= high for low, high in known):
            flags = keywords_to_flags(view.flags_of(uid), recent=view.is_recent(uid))
            out.append(r.fetch_flags(seq, flags, uid=uid, modseq=modseq))
    if out:
        await session.send(*out)


async def _deselect(session: Session) -> None:
    if session.selected is None:
        return
    session.unselect()
    if session.rev2 or session.qresync:
        await session.send(r.untagged("OK", "Previous mailbox is now closed", code=b"CLOSED"))


async def close(session: Session, cmd: Close) -> Done:
    """RFC 9051 §6.4.1: expunge ``\\Deleted`` silently (when writable), then deselect."""
    view = session.view()
    if not view.read_only and "e" in session.selected_rights:
        await remove_deleted(session, view, None)
    session.unselect()
    return Done("CLOSE completed")


async def unselect(session: Session, cmd: Unselect) -> Done:
    """RFC 3691 §2; RFC 9051 §6.4.2: deselect without expunging."""
    session.unselect()
    return Done("UNSELECT completed")
