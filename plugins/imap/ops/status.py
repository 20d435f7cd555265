"""STATUS (RFC 9051 §6.3.11), also used by LIST-STATUS (RFC 5819).

Items: MESSAGES, UIDNEXT, UIDVALIDITY, UNSEEN, DELETED, SIZE (RFC 8438), RECENT
(IMAP4rev1, RFC 3501 §6.3.10), HIGHESTMODSEQ (RFC 7162 §3.1.7, which also enables
CONDSTORE), APPENDLIMIT (RFC 7889 §4) and MAILBOXID (RFC 8474 §4.3). Counts come from
the store's per-mailbox counters, so STATUS never scans messages; only RECENT reads
the UIDs.
"""

from __future__ import annotations

from kernel.errors import StoreError
from plugins.imap.context import Session
from plugins.imap.errors import Done, store_failure
from plugins.imap.ids import mailbox_id
from plugins.imap.names import MailboxRef
from plugins.imap.ops._common import need_right, resolve
from plugins.imap.proto import responses as r
from plugins.imap.proto.commands import Status, StatusItem

__all__ = ["status", "status_response"]


async def status_response(
    session: Session, ref: MailboxRef, items: tuple[StatusItem, ...]
) -> bytes:
    """The ``* STATUS`` line for ``ref`` with ``items`` in the order asked."""
    box = ref.mailbox
    assert box is not None
    store = session.store
    if any(i in ("MESSAGES", "UNSEEN", "DELETED", "SIZE") for i in items):
        counts = await store.emails.counts(ref.owner, box.id, threads=False)
    values: list[bytes] = []
    for item in items:
        if item == "MESSAGES":
            value = b"%d" % counts.total
        elif item == "UNSEEN":
            value = b"%d" % counts.unseen
        elif item == "DELETED":
            value = b"%d" % counts.deleted
        elif item == "SIZE":
            value = b"%d" % counts.size
        elif item == "UIDNEXT":
            value = b"%d" % box.uidnext
        elif item == "UIDVALIDITY":
            value = b"%d" % box.uidvalidity
        elif item == "HIGHESTMODSEQ":
            session.enabled.add("CONDSTORE")  # RFC 7162 §3.1: a CONDSTORE enabling command
            value = b"%d" % box.modseq
        elif item == "RECENT":
            tracker = session.recent_tracker
            if tracker is None:
                value = b"0"
            else:
                members = await store.emails.in_mailbox(ref.owner, box.id)
                value = b"%d" % len(tracker.peek(box.id, (m.uid for m in members)))
        elif item == "APPENDLIMIT":
            value = b"%d" % session.config.append_limit
        else:  # MAILBOXID
            value = r.plist([mailbox_id(box.id).encode()])
        values.append(item.encode() + b" " + value)
    return r.data(b"STATUS", r.mailbox(ref.name, utf8=session.utf8), r.plist(values))


async def status(session: Session, cmd: Status) -> Done:
    """RFC 9051 §6.3.11 (``r`` right needed, RFC 4314 §4)."""
    _, ref = await resolve(session, cmd.mailbox)
    need_right(ref, "r")
    try:
        line = await status_response(session, ref, cmd.items)
    except StoreError as exc:
        raise store_failure(exc) from exc
    await session.send(line)
    return Done("STATUS completed")
