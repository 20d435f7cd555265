"""FETCH and UID FETCH (RFC 9051 §6.4.5, §6.4.9; RFC 7162 §3.1.4, §3.2.6).

Implementation notes:

* ``UID FETCH`` answers carry ``UID`` (RFC 9051 §6.4.9); ``MODSEQ`` is added when
  CHANGEDSINCE is given (RFC 7162 §3.1.4.1). Asking for MODSEQ or CHANGEDSINCE enables
  CONDSTORE (RFC 7162 §3.1).
* ``FLAGS``, ``UID`` and ``MODSEQ`` come from the selected view (refreshed before the
  command), so ``FETCH 1:* (FLAGS)`` reads nothing from the store; other items read
  the stored rows in batches and, for content items, each message's bytes.
* ``\\Seen`` is set for non-PEEK ``BODY[...]``, ``BINARY[...]``, ``RFC822`` and
  ``RFC822.TEXT`` in a writable mailbox (RFC 9051 §6.4.5), in one store write before
  the responses, and the new FLAGS go with those messages' responses.
* A message another session expunged (still numbered in this view, RFC 9051 §7.5.1)
  is left out and the OK carries ``[EXPUNGEISSUED]`` (RFC 5530 §3).
* RFC 3516 §4.3: a BINARY item over an undecodable transfer encoding fails the
  command with ``NO [UNKNOWN-CTE]`` after the responses already sent.
* Responses are written as they are built, large literals as separate buffers
  (:class:`plugins.imap.proto.responses.FetchResponse`), so memory stays bounded by a
  batch of messages.
"""

from __future__ import annotations

import json
from typing import Final

from kernel.errors import StoreError
from kernel.mail import from_json
from kernel.store import Store
from kernel.store.mail_records import EmailRow
from plugins.imap import ids, storeview
from plugins.imap.context import Session
from plugins.imap.errors import Done, bad, no, store_failure
from plugins.imap.fetch.render import FetchSource, needs_content, render_fetch
from plugins.imap.fetch.sections import UnknownCte
from plugins.imap.flags import keywords_to_flags
from plugins.imap.ops._common import select_uids
from plugins.imap.proto import codes
from plugins.imap.proto import responses as r
from plugins.imap.proto.commands import Fetch
from plugins.imap.proto.fetch_items import BinarySection, BodySection, FetchItem, SimpleItem
from plugins.imap.proto.sequence import SequenceSet
from plugins.imap.selected import SelectedMailbox

__all__ = ["fetch", "sets_seen"]

_BATCH: Final = 256
#: Messages up to this size are read in groups of about _BULK_BYTES per store read.
_BULK_MESSAGE: Final = 256 * 1024
_BULK_BYTES: Final = 4 * 1024 * 1024
_FLUSH: Final = 64 * 1024
_VIEW_ONLY: Final = frozenset({"FLAGS", "UID", "MODSEQ"})


def sets_seen(items: tuple[FetchItem, ...]) -> bool:
    """Whether fetching ``items`` sets ``\\Seen`` (RFC 9051 §6.4.5)."""
    for item in items:
        if isinstance(item, BodySection | BinarySection) and not item.peek:
            return True
        if isinstance(item, SimpleItem) and item.name in ("RFC822", "RFC822.TEXT"):
            return True
    return False


def _items(session: Session, cmd: Fetch) -> tuple[FetchItem, ...]:
    items = list(cmd.items)
    names = {i.name for i in items if isinstance(i, SimpleItem)}
    if cmd.uid and "UID" not in names:
        items.insert(0, SimpleItem("UID"))
    if "MODSEQ" in names or cmd.changed_since is not None:
        session.enabled.add("CONDSTORE")  # RFC 7162 §3.1: CONDSTORE-enabling
        if "MODSEQ" not in names:
            items.append(SimpleItem("MODSEQ"))
    return tuple(items)


async def _mark_seen(session: Session, view: SelectedMailbox, uids: list[int]) -> set[int]:
    """Add ``$seen`` where missing; returns the UIDs whose flags changed."""
    unseen = [u for u in uids if "$seen" not in view.flags_of(u)]
    if not unseen or view.read_only or "s" not in session.selected_rights:
        return set()
    try:
        modseq = await session.store.emails.set_keywords(
            view.account, [view.email_of(u) for u in unseen], add=["$seen"]
        )
    except StoreError as exc:
        raise store_failure(exc) from exc
    for uid in unseen:
        view.reported(uid, view.flags_of(uid) | {"$seen"}, modseq)
    return set(unseen)


async def _vanished(session: Session, view: SelectedMailbox, cmd: Fetch) -> None:
    """RFC 7162 §3.2.6: VANISHED (EARLIER) for requested UIDs expunged since."""
    assert cmd.changed_since is not None
    gone, _complete = await storeview.expunged(
        session.store, view.account, view.mailbox, cmd.changed_since
    )
    if cmd.sequence.saved:
        wanted = [u for u in gone if u in session.saved]
    else:
        ranges = cmd.sequence.resolve(max(view.max_uid, view.uidnext - 1))
        wanted = [u for u in gone if any(lo <= u <= hi for lo, hi in ranges)]
    if wanted:
        await session.send(r.vanished(SequenceSet.of(wanted), earlier=True))


def _flags(view: SelectedMailbox, uid: int) -> tuple[str, ...]:
    return keywords_to_flags(view.flags_of(uid), recent=view.is_recent(uid))


async def _fast(session: Session, view: SelectedMailbox, uids: list[int], items: tuple) -> None:
    """FLAGS/UID/MODSEQ only: straight from the view."""
    buffer: list[bytes] = []
    size = 0
    for uid in uids:
        seq = view.seq_of(uid)
        assert seq is not None
        parts = []
        for item in items:
            if item.name == "FLAGS":
                parts.append(b"FLAGS (" + " ".join(_flags(view, uid)).encode() + b")")
                view.reported(uid, view.flags_of(uid), view.modseq_of(uid))
            elif item.name == "UID":
                parts.append(b"UID %d" % uid)
            else:
                parts.append(b"MODSEQ (%d)" % view.modseq_of(uid))
        line = b"* %d FETCH (%s)\r\n" % (seq, b" ".join(parts))
        buffer.append(line)
        size += len(line)
        if size >= _FLUSH:
            await session.send(b"".join(buffer))
            buffer, size = [], 0
    if buffer:
        await session.send(b"".join(buffer))


def _source(view: SelectedMailbox, uid: int, row: EmailRow, raw: bytes | None) -> FetchSource:
    email = view.email_of(uid)
    message = from_json(json.loads(row.structure)) if raw is not None else None
    return FetchSource(
        uid=uid,
        flags=_flags(view, uid),
        internal_date=row.received_at,
        size=row.size,
        modseq=view.modseq_of(uid),
        preview=row.preview,
        email_id=ids.email_id(email),
        thread_id=ids.thread_id(row.thread) if row.thread else None,
        raw=raw,
        message=message,
    )


async def fetch(session: Session, cmd: Fetch) -> Done:
    """RFC 9051 §6.4.5 (and §6.4.9 for UID FETCH)."""
    view = session.view()
    if cmd.vanished and not session.qresync:
        raise bad("VANISHED needs ENABLE QRESYNC")  # RFC 7162 §3.2.6
    items = _items(session, cmd)
    uids = select_uids(session, cmd.sequence, uid=cmd.uid)
    if cmd.vanished:
        await _vanished(session, view, cmd)
    if cmd.changed_since is not None:
        uids = [u for u in uids if view.modseq_of(u) > cmd.changed_since]
    live = [u for u in uids if not view.is_expunged(u)]
    missing = len(live) != len(uids)
    uids = live
    if sets_seen(items):
        changed = await _mark_seen(session, view, uids)
        names = {i.name for i in items if isinstance(i, SimpleItem)}
        if changed:
            # RFC 9051 §6.4.5: the new flags go with the data; RFC 7162 §3.2.4: so do
            # UID and MODSEQ once CONDSTORE is on.
            wanted = ["FLAGS", *(["UID", "MODSEQ"] if session.condstore else [])]
            items = (*items, *(SimpleItem(n) for n in wanted if n not in names))  # type: ignore[arg-type]
    if all(isinstance(i, SimpleItem) and i.name in _VIEW_ONLY for i in items):
        await _fast(session, view, uids, items)
        return _done(missing)
    content = needs_content(items)
    has_flags = any(isinstance(i, SimpleItem) and i.name == "FLAGS" for i in items)
    store = session.store
    failed: UnknownCte | None = None
    for start in range(0, len(uids), _BATCH):
        batch = uids[start : start + _BATCH]
        try:
            rows = await storeview.rows(store, view.account, [view.email_of(u) for u in batch])
        except StoreError as exc:
            raise store_failure(exc) from exc
        raws: dict[int, bytes] = {}
        if content:
            try:
                raws = await _contents(store, view.account, rows)
            except StoreError as exc:
                raise store_failure(exc) from exc
        for uid in batch:
            email = view.email_of(uid)
            row = rows.get(email)
            raw = raws.get(email)
            if row is not None and content and raw is None:
                try:
                    raw = await store.emails.raw(view.account, email)
                except StoreError:
                    row = None
            seq = view.seq_of(uid)
            if row is None or seq is None:
                missing = True
                continue
            response = render_fetch(
                seq, items, _source(view, uid, row, raw), utf8=session.utf8, rev2=session.rev2
            )
            if isinstance(response, UnknownCte):
                failed = response
                continue
            await session.send(*response.pieces())
            if has_flags:
                view.reported(uid, view.flags_of(uid), view.modseq_of(uid))
    if failed is not None:
        raise no("Unknown Content-Transfer-Encoding", codes.UNKNOWN_CTE)
    return _done(missing)


async def _contents(store: Store, account: int, rows: dict[int, EmailRow]) -> dict[int, bytes]:
    """The bytes of the batch's ordinary-sized messages, read together (a few MB at a
    time); larger ones are left to be read one at a time."""
    out: dict[int, bytes] = {}
    group: list[int] = []
    size = 0
    for email, row in rows.items():
        if row.size > _BULK_MESSAGE:
            continue
        group.append(email)
        size += row.size
        if size >= _BULK_BYTES:
            out |= await store.emails.raws(account, group)
            group, size = [], 0
    if group:
        out |= await store.emails.raws(account, group)
    return out


def _done(missing: bool) -> Done:
    if missing:
        # RFC 5530 §3: some requested messages were expunged by another session.
        return Done("Some messages were expunged", codes.EXPUNGEISSUED.encode())
    return Done("FETCH completed")
