"""Emails: append, copy, move, keywords, expunge, queries, in the JMAP model.

One Email per stored message, with keywords on the Email and a set of mailbox
memberships, each with its own IMAP UID and modseq. Removing a membership is an
IMAP EXPUNGE or POP3 DELE; an Email dies with its last membership, and its
blob with its last Email.

Implementation notes:

* Append parses the message (``kernel.mail``), hashes it and extracts its
  search texts in a worker thread first (:mod:`kernel.store.prepare`); the
  write function then only inserts rows, so the writer thread stays fast and
  group commit can batch many appends into one fsync.
* The bytes are stored content-addressed (SHA-256): up to ``inline_limit`` in
  the database, covered by the same durable commit as the rows that reference
  them; larger ones in the blob store (``blob_fs``), written durably before the
  transaction that references them. Appending the same bytes twice makes two
  Emails sharing one blob.
* IMAP COPY into a mailbox that does not hold the email adds a membership
  (same Email, new UID); into one that already holds it, or into another
  account's mailbox, it creates a new Email sharing the blob. MOVE is COPY and
  removal in one transaction (RFC 6851 §3.3: atomic).
* Quota (RFC 9208 storage) is checked inside the transaction that would exceed
  it; each Email counts once however many mailboxes hold it.
* Keywords are JMAP keywords (lower-case atoms); IMAP maps its system flags to
  them (``\\Seen`` to ``$seen``, ``\\Flagged`` to ``$flagged``, ``\\Answered`` to
  ``$answered``, ``\\Draft`` to ``$draft``, ``\\Deleted`` to ``$deleted``; RFC 8621
  §4.1.1), so both protocols see one set.
* After a commit, a change event goes to the owner, and a ``shared`` event to
  every account the touched mailboxes are shared with (RFC 4314 ACLs).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, final

import trio

from kernel.errors import NoSuchItem, PreconditionFailed, StoreError
from kernel.events import ChangeEvent
from kernel.store.filters import All, Comparator, Filter
from kernel.store.interfaces import Backend, BlobStore, ReadOps, WriteOps
from kernel.store.mail_ops import (
    EMAIL_KIND,
    MAILBOX_KIND,
    add_membership,
    check_quota,
    count_keyword_change,
    duplicate_email,
    log_thread,
    owned_email,
    owned_mailbox,
    remove_memberships,
    touch_mailbox,
)
from kernel.store.mail_records import (
    AppendResult,
    CopyResult,
    Email,
    EmailRow,
    Mailbox,
    MailboxChanges,
    MailboxCounts,
    MailboxSnapshot,
    Membership,
    QueryResult,
)
from kernel.store.prepare import Prepared, assign_thread
from kernel.store.query_walk import PageWalk

__all__ = ["DELIVERY_KIND", "INLINE_LIMIT", "SHARED_KIND", "Emails"]

#: The kind of the event an account gets when a mailbox shared with it changes.
SHARED_KIND = "shared"
#: The change-log kind that records emails delivered to the account (local delivery of
#: incoming mail), apart from those its user stored (RFC 8621 §1.5 EmailDelivery).
DELIVERY_KIND = "delivery"
#: Messages up to this size are kept in the database when there is a blob store.
INLINE_LIMIT = 64 * 1024
_NONE: frozenset[str] = frozenset()
#: Messages up to this size are parsed on the trio thread, larger ones in a worker.
_PARSE_INLINE = 16 * 1024
#: How many mailboxes' thread counts :meth:`Emails.counts` remembers.
_THREAD_COUNTS_CACHED = 4096
_KEYWORD = re.compile(r"^[\x21-\x7e]{1,255}$")
_FORBIDDEN_KEYWORD_CHARS = set('(){]%*"\\')


def _check_keyword(keyword: str) -> str:
    # RFC 8621 §4.1.1: keywords are case-insensitive, stored lower-case; IMAP atom chars.
    if not _KEYWORD.match(keyword) or _FORBIDDEN_KEYWORD_CHARS & set(keyword):
        raise ValueError(f"{keyword!r} is not a valid keyword")
    return keyword.lower()


_EVERYTHING: Filter = All()


@final
class Emails:
    """The email part of the domain API."""

    def __init__(
        self,
        backend: Backend,
        publish: Callable[[ChangeEvent], None] | None = None,
        clock: Callable[[], float] = time.time,
        *,
        blobs: BlobStore | None = None,
        inline_limit: int = INLINE_LIMIT,
    ) -> None:
        self._backend = backend
        self._publish = publish
        self._clock = clock
        self._blobs = blobs
        self._inline_limit = inline_limit
        # (mailbox, trash) -> (account modseq, threads, unread threads); see counts().
        self._thread_counts: dict[tuple[int, int | None], tuple[int, int, int]] = {}
        self._thread_counts_lock = threading.Lock()

    async def _write(self, fn: Callable[[WriteOps, _Tx], Any], *, small: bool = False) -> Any:
        """Run ``fn(ops, tx)`` as one transaction, then announce what ``tx`` collected.

        ``small``: see :meth:`Backend.write`.
        """

        def transaction(ops: WriteOps) -> tuple[Any, _Tx]:
            tx = _Tx(ops)
            result = fn(ops, tx)
            tx.collect_grantees()
            return result, tx

        result, tx = await self._backend.write(transaction, small=small)
        if self._publish is not None:
            for account, modseq in tx.modseqs.items():
                for kind in (EMAIL_KIND, MAILBOX_KIND):
                    self._publish(ChangeEvent(account=str(account), kind=kind, modseq=modseq))
            for grantee, modseq in tx.grantees.items():
                self._publish(ChangeEvent(account=str(grantee), kind=SHARED_KIND, modseq=modseq))
        return result

    async def append(
        self,
        account: int,
        raw: bytes,
        mailboxes: Sequence[int] | Callable[[list[Mailbox]], Sequence[int]],
        *,
        keywords: Iterable[str] = (),
        received_at: float | None = None,
        delivered: bool = False,
    ) -> AppendResult:
        """Store ``raw`` in ``mailboxes``; durable when this returns.

        ``mailboxes`` may be a function that picks them inside the transaction
        from the account's mailboxes as it sees them (local delivery resolving its
        filings, without a read of its own); it may be called again if the
        backend retries, and may only pick among the mailboxes it was given.

        ``delivered``: the email arrived by local delivery (not stored by its user
        through IMAP APPEND or JMAP); it is also logged under ``DELIVERY_KIND``.

        Raises:
            NoSuchItem: a mailbox is not the account's (or no such account).
            QuotaExceeded: the account's quota would be exceeded; nothing stored.
            ValueError: no mailbox, or an invalid keyword.
        """
        if not callable(mailboxes) and not mailboxes:
            raise ValueError("an email must be in at least one mailbox")
        flags = sorted({_check_keyword(k) for k in keywords})
        flagset = frozenset(flags)
        received = self._clock() if received_at is None else received_at
        if len(raw) <= _PARSE_INLINE:
            # A small message parses faster than a round trip to a worker thread,
            # and parsing is Python under the GIL either way.
            prepared = Prepared(account, raw, received)
        else:
            prepared = await trio.to_thread.run_sync(Prepared, account, raw, received)
        given = None if callable(mailboxes) else list(dict.fromkeys(mailboxes))
        inline: bytes | None = raw
        if self._blobs is not None and len(raw) > self._inline_limit:
            stored = await self._blobs.put(raw)  # durable before the row commits
            assert stored == prepared.blob
            inline = None

        def append(ops: WriteOps, tx: _Tx) -> AppendResult:
            # Take the account's change-log lock first (NoSuchItem if there is no
            # such account), so that what is read below (quota use, mailboxes) is
            # current on backends with concurrent writers.
            modseq = tx.modseq(account)
            principal = ops.principal_by_id(account)
            if principal is None:
                raise NoSuchItem(f"no account {account}")
            if given is None:
                assert callable(mailboxes)
                own = ops.mailboxes(account)
                targets = list(dict.fromkeys(mailboxes(own)))
                if not targets:
                    raise ValueError("an email must be in at least one mailbox")
                ids = {m.id for m in own}
                if any(mailbox not in ids for mailbox in targets):
                    raise NoSuchItem(f"no mailbox {targets}")
            else:
                targets = given
                for mailbox in targets:
                    owned_mailbox(ops, account, mailbox)
            check_quota(ops, account, prepared.size, 1, principal=principal)
            ops.put_blob(prepared.blob, inline, received, prepared.size)
            email = ops.insert_email(prepared.row(modseq, thread=0))
            ops.insert_email_text(email, prepared.text)
            thread = assign_thread(ops, account, email, prepared)
            uids = {}
            for keyword in flags:
                ops.add_keyword(email, keyword)
            for mailbox in targets:
                uids[mailbox] = add_membership(
                    ops, account, mailbox, email, modseq, size=prepared.size, keywords=flagset
                )
                tx.touched.add(mailbox)
            ops.add_used(account, prepared.size, 1)
            ops.record_change(account, modseq, EMAIL_KIND, email, created=True)
            if delivered:
                ops.record_change(account, modseq, DELIVERY_KIND, email, created=True)
            log_thread(ops, account, modseq, thread, created=thread == email)
            return AppendResult(
                email=email,
                thread=thread,
                blob=prepared.blob,
                size=prepared.size,
                uids=uids,
                modseq=modseq,
            )

        # One message's rows: small (Backend.write), it runs where the delivery runs.
        result: AppendResult = await self._write(append, small=True)
        return result

    async def get(self, account: int, email: int) -> Email:
        """One email with its keywords and memberships."""
        found = await self._backend.read(lambda ops: _load(ops, account, email))
        if found is None:
            raise NoSuchItem(f"no email {email}")
        return found

    async def raw(self, account: int, email: int) -> bytes:
        """The message's bytes exactly as appended."""

        def read(ops: ReadOps) -> tuple[str, bytes | None]:
            row = owned_email(ops, account, email)
            return row.blob, ops.blob(row.blob)

        blob, data = await self._backend.read(read)
        if data is not None:
            return data
        stored = await self._blobs.get(blob) if self._blobs is not None else None
        if stored is None:
            raise StoreError(f"the bytes of email {email} (blob {blob}) are missing")
        return stored

    async def raws(self, account: int, emails: Iterable[int]) -> dict[int, bytes]:
        """The bytes of those of ``emails`` that exist and are the account's.

        One database read for all of them (FETCH of a batch of messages); bytes kept in
        the blob store are then read one by one. Meant for batches of ordinary messages:
        every result is held in memory at once.
        """
        wanted = list(emails)

        def read(ops: ReadOps) -> dict[int, tuple[int, str, bytes | None]]:
            return ops.email_contents(wanted)

        found = await self._backend.read(read)
        out: dict[int, bytes] = {}
        for email, (owner, blob, data) in found.items():
            if owner != account:
                continue
            if data is None:
                data = await self._blobs.get(blob) if self._blobs is not None else None
                if data is None:
                    raise StoreError(f"the bytes of email {email} (blob {blob}) are missing")
            out[email] = data
        return out

    async def in_mailbox(self, account: int, mailbox: int) -> list[Membership]:
        """The mailbox's memberships in UID order (what IMAP SELECT loads)."""

        def read(ops: ReadOps) -> list[Membership]:
            owned_mailbox(ops, account, mailbox)
            return ops.mailbox_members(mailbox)

        return await self._backend.read(read)

    async def set_keywords(
        self,
        account: int,
        emails: Iterable[int],
        *,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
    ) -> int:
        """Add and remove keywords on emails; returns the modseq (unchanged ones keep theirs)."""
        adding = {_check_keyword(k) for k in add}
        removing = {_check_keyword(k) for k in remove}
        targets = list(dict.fromkeys(emails))

        def update(ops: WriteOps, tx: _Tx) -> int:
            modseq = tx.modseq(account)  # the lock first (see append)
            for email in targets:
                owned_email(ops, account, email)
            for email in targets:
                before = ops.keywords(email)
                changed = [ops.add_keyword(email, k) for k in adding]
                changed += [ops.remove_keyword(email, k) for k in removing]
                if any(changed):
                    after = ops.keywords(email)
                    ops.touch_email(email, modseq)
                    for membership in ops.memberships(email):
                        count_keyword_change(ops, membership.mailbox, before, after)
                        ops.touch_membership(membership.mailbox, email, modseq)
                        touch_mailbox(ops, account, membership.mailbox, modseq)
                        tx.touched.add(membership.mailbox)
                    ops.record_change(account, modseq, EMAIL_KIND, email)
            return modseq

        modseq: int = await self._write(update)
        return modseq

    async def remove(self, account: int, mailbox: int, emails: Iterable[int]) -> list[int]:
        """Take emails out of a mailbox (IMAP EXPUNGE, POP3 DELE); returns the UIDs removed.

        An email left in no mailbox is destroyed, and its bytes with it once no
        other email shares them.
        """
        targets = list(dict.fromkeys(emails))

        def remove(ops: WriteOps, tx: _Tx) -> list[int]:
            modseq = tx.modseq(account)  # the lock first (see append)
            owned_mailbox(ops, account, mailbox)
            tx.touched.add(mailbox)
            return remove_memberships(ops, account, mailbox, targets, modseq)

        removed: list[int] = await self._write(remove)
        return removed

    async def copy(
        self,
        account: int,
        emails: Sequence[int],
        target: int,
        *,
        source: int | None = None,
        target_account: int | None = None,
        move: bool = False,
    ) -> CopyResult:
        """Copy emails into ``target`` (IMAP COPY; with ``move``, IMAP MOVE from ``source``).

        ``target`` may belong to ``target_account`` (a mailbox shared with the
        caller; the caller checked its rights). With ``source`` the result pairs
        source UIDs with target UIDs (COPYUID). Quota: a new Email counts
        against the target account; a new membership costs nothing.

        Raises:
            NoSuchItem: an email, ``source`` or ``target`` does not exist as given.
            QuotaExceeded: the target account's quota would be exceeded.
            ValueError: ``move`` without ``source``.
        """
        if move and source is None:
            raise ValueError("a move needs its source mailbox")
        owner = account if target_account is None else target_account
        targets = list(dict.fromkeys(emails))

        def copy(ops: WriteOps, tx: _Tx) -> CopyResult:
            # Lock both accounts' logs in id order, so two transactions never wait
            # on each other in opposite orders.
            for locked in sorted({account, owner}):
                tx.modseq(locked)
            modseq, target_modseq = tx.modseqs[account], tx.modseqs[owner]
            target_box = owned_mailbox(ops, owner, target)
            source_uids: dict[int, int] = {}
            if source is not None:
                owned_mailbox(ops, account, source)
                source_uids = {m.email: m.uid for m in ops.mailbox_members(source)}
            rows = {email: owned_email(ops, account, email) for email in targets}
            if source is not None and any(email not in source_uids for email in targets):
                raise NoSuchItem(f"an email is not in mailbox {source}")
            duplicates = [e for e in targets if owner != account or target in _mailboxes_of(ops, e)]
            check_quota(ops, owner, sum(rows[e].size for e in duplicates), len(duplicates))
            pairs, created = [], []
            for email in targets:
                if email in duplicates:
                    new, _thread = duplicate_email(ops, email, rows[email], owner, target_modseq)
                else:
                    new = email
                    ops.touch_email(email, modseq)
                    ops.record_change(account, modseq, EMAIL_KIND, email)
                uid = add_membership(
                    ops,
                    owner,
                    target,
                    new,
                    target_modseq,
                    size=rows[email].size,
                    keywords=ops.keywords(new),
                )
                pairs.append((source_uids.get(email, 0), uid))
                created.append(new)
            tx.touched.add(target)
            if move and source is not None:
                tx.touched.add(source)
                remove_memberships(ops, account, source, targets, modseq)
            return CopyResult(
                uidvalidity=target_box.uidvalidity,
                pairs=tuple(pairs),
                emails=tuple(created),
                modseq=target_modseq,
            )

        result: CopyResult = await self._write(copy)
        return result

    async def move(
        self,
        account: int,
        source: int,
        emails: Sequence[int],
        target: int,
        *,
        target_account: int | None = None,
    ) -> CopyResult:
        """Move emails from ``source`` to ``target`` atomically (IMAP MOVE, RFC 6851)."""
        return await self.copy(
            account, emails, target, source=source, target_account=target_account, move=True
        )

    async def set_mailboxes(
        self, account: int, email: int, *, add: Iterable[int] = (), remove: Iterable[int] = ()
    ) -> int:
        """Change which mailboxes hold ``email`` (JMAP ``mailboxIds``); returns the modseq.

        Added mailboxes give the email a new UID there. Raises PreconditionFailed
        if the email would be left in no mailbox (JMAP: destroy it instead).
        """
        adding = list(dict.fromkeys(add))
        removing = [m for m in dict.fromkeys(remove) if m not in adding]

        def update(ops: WriteOps, tx: _Tx) -> int:
            modseq = tx.modseq(account)
            row = owned_email(ops, account, email)
            for mailbox in (*adding, *removing):
                owned_mailbox(ops, account, mailbox)
            current = _mailboxes_of(ops, email)
            after = (current | set(adding)) - set(removing)
            if not after:
                raise PreconditionFailed("an email must stay in at least one mailbox")
            for mailbox in adding:
                if mailbox not in current:
                    add_membership(
                        ops,
                        account,
                        mailbox,
                        email,
                        modseq,
                        size=row.size,
                        keywords=ops.keywords(email),
                    )
                    tx.touched.add(mailbox)
            for mailbox in removing:
                if mailbox in current:
                    remove_memberships(ops, account, mailbox, [email], modseq)
                    tx.touched.add(mailbox)
            ops.touch_email(email, modseq)
            ops.record_change(account, modseq, EMAIL_KIND, email)
            return modseq

        modseq: int = await self._write(update)
        return modseq

    async def destroy(self, account: int, emails: Iterable[int]) -> list[int]:
        """Destroy emails wherever they are (JMAP Email/set destroy); returns those destroyed."""
        targets = list(dict.fromkeys(emails))

        def destroy(ops: WriteOps, tx: _Tx) -> list[int]:
            modseq = tx.modseq(account)
            done = []
            for email in targets:
                row = ops.email_row(email)
                if row is None or row.account != account:
                    continue
                for membership in ops.memberships(email):
                    tx.touched.add(membership.mailbox)
                    remove_memberships(ops, account, membership.mailbox, [email], modseq)
                done.append(email)
            return done

        destroyed: list[int] = await self._write(destroy)
        return destroyed

    async def counts(self, account: int, mailbox: int, *, threads: bool = True) -> MailboxCounts:
        """Total, unseen, unread, deleted, size and (with ``threads``, for JMAP) thread
        counts of one mailbox; IMAP STATUS needs no thread counts."""

        def read(ops: ReadOps) -> MailboxCounts:
            owned_mailbox(ops, account, mailbox)
            trash = next((m.id for m in ops.mailboxes(account) if m.role == "trash"), None)
            if not threads:
                return ops.mailbox_counts(mailbox, trash, False)
            # Thread counts scan the mailbox (and the threads' other emails), so they
            # are remembered per account state: any change to the account bumps its
            # modseq, and the modseq read in this same snapshot keys the entry.
            modseq = ops.current_modseq(account)
            key = (mailbox, trash)
            with self._thread_counts_lock:  # reads run in several worker threads
                cached = self._thread_counts.get(key)
            if cached is not None and cached[0] == modseq:
                counts = ops.mailbox_counts(mailbox, trash, False)
                return replace(counts, threads=cached[1], unread_threads=cached[2])
            counts = ops.mailbox_counts(mailbox, trash, True)
            assert counts.threads is not None and counts.unread_threads is not None
            with self._thread_counts_lock:
                if len(self._thread_counts) >= _THREAD_COUNTS_CACHED:
                    self._thread_counts.pop(next(iter(self._thread_counts)))
                self._thread_counts[key] = (modseq, counts.threads, counts.unread_threads)
            return counts

        return await self._backend.read(read)

    async def mailbox_changes(self, account: int, mailbox: int, since: int) -> MailboxChanges:
        """What changed in ``mailbox`` after ``since`` (RFC 7162 CHANGEDSINCE and VANISHED)."""

        def read(ops: ReadOps) -> MailboxChanges:
            found = owned_mailbox(ops, account, mailbox)
            changed = ops.members_changed_since(mailbox, since)
            cannot = since < ops.log_floor(account)
            return MailboxChanges(
                since=since,
                highest_modseq=found.modseq,
                changed=tuple(changed),
                expunged=tuple(ops.expunged_since(mailbox, since)),
                cannot_calculate=cannot,
                keywords=ops.keywords_of([m.email for m in changed]),
                current=tuple(m.uid for m in ops.mailbox_members(mailbox)) if cannot else None,
            )

        return await self._backend.read(read)

    async def snapshot(self, account: int, mailbox: int) -> MailboxSnapshot:
        """The mailbox with its memberships (UID order) and their keywords, in one read."""

        def read(ops: ReadOps) -> MailboxSnapshot:
            found = owned_mailbox(ops, account, mailbox)
            keywords = ops.mailbox_keywords(mailbox)
            members = ops.mailbox_members(mailbox)
            return MailboxSnapshot(found, tuple((m, keywords.get(m.email, _NONE)) for m in members))

        return await self._backend.read(read)

    async def rows(self, account: int, emails: Iterable[int]) -> dict[int, EmailRow]:
        """The rows of those of ``emails`` that exist and are the account's, in one read."""
        wanted = list(emails)

        def read(ops: ReadOps) -> dict[int, EmailRow]:
            rows = ops.email_rows(wanted)
            return {email: row for email, row in rows.items() if row.account == account}

        return await self._backend.read(read)

    async def keywords_of(self, account: int, emails: Iterable[int]) -> dict[int, frozenset[str]]:
        """The keywords of those of ``emails`` that exist and are the account's."""
        wanted = list(emails)

        def read(ops: ReadOps) -> dict[int, frozenset[str]]:
            owned = [e for e, row in ops.email_rows(wanted).items() if row.account == account]
            keywords = ops.keywords_of(owned)
            return {email: keywords.get(email, _NONE) for email in owned}

        return await self._backend.read(read)

    async def search(
        self,
        account: int,
        mailbox: int,
        where: Filter = _EVERYTHING,
        sort: Sequence[Comparator] = (),
    ) -> list[tuple[int, int]]:
        """``(uid, email)`` of the mailbox's emails matching ``where`` (IMAP SEARCH/SORT).

        Sorted by ``sort`` then UID; with no ``sort``, in UID order.
        """
        order = (*sort, Comparator("uid"))

        def read(ops: ReadOps) -> list[tuple[int, int]]:
            owned_mailbox(ops, account, mailbox)
            rows = ops.query_emails(account, where, order, mailbox=mailbox)
            return [(uid, email) for email, _thread, uid in rows]

        return await self._backend.read(read)

    async def query(
        self,
        account: int,
        where: Filter = _EVERYTHING,
        sort: Sequence[Comparator] = (),
        *,
        position: int = 0,
        anchor: int | None = None,
        anchor_offset: int = 0,
        limit: int | None = None,
        calculate_total: bool = False,
        collapse_threads: bool = False,
    ) -> QueryResult:
        """A page of the account's emails matching ``where`` (JMAP Email/query, RFC 8620 §5.5).

        ``position`` may be negative (from the end); an ``anchor`` overrides it
        (its index plus ``anchor_offset``, clamped at 0). ``collapse_threads``
        keeps the first email of each thread. Raises NoSuchItem for an anchor
        not in the results (``anchorNotFound``).
        """
        if limit is not None and limit < 0:
            raise ValueError("limit must not be negative")
        order = tuple(sort)

        def read(ops: ReadOps) -> QueryResult:
            state = ops.current_modseq(account)
            if anchor is None and position >= 0 and not collapse_threads and limit is not None:
                rows = ops.query_emails(account, where, order, limit=limit, offset=position)
                total = ops.count_emails(account, where) if calculate_total else None
                return QueryResult(tuple(r[0] for r in rows), position, total, state)
            if limit is not None:
                # Only the page is read (the sorted matches up to it, in growing
                # chunks), and a total is counted in SQL: see PageWalk.
                count = ops.count_threads if collapse_threads else ops.count_emails
                counted = calculate_total or (anchor is None and position < 0)
                total = count(account, where) if counted else None
                walk = PageWalk(collapse_threads, limit)
                if anchor is None and position >= 0:
                    walk.start = position
                elif anchor is None:
                    assert total is not None
                    walk.start = max(0, total + position)
                else:
                    walk.anchor, walk.anchor_offset = anchor, anchor_offset
                walk.run(ops, account, where, order)
                return QueryResult(
                    tuple(walk.page()), walk.position, total if calculate_total else None, state
                )
            rows = ops.query_emails(account, where, order)
            ids = _collapse(rows) if collapse_threads else [r[0] for r in rows]
            if anchor is not None:
                try:
                    start = max(0, ids.index(anchor) + anchor_offset)
                except ValueError:
                    raise NoSuchItem(f"anchor {anchor} is not in the results") from None
            else:
                start = position if position >= 0 else max(0, len(ids) + position)
            start = min(start, len(ids))
            end = len(ids) if limit is None else start + limit
            return QueryResult(
                tuple(ids[start:end]), start, len(ids) if calculate_total else None, state
            )

        return await self._backend.read(read)

    # ---- JMAP Email (added for the jmap plugin's Email methods) ----------------

    async def records(self, account: int, emails: Iterable[int]) -> dict[int, Email]:
        """Those of ``emails`` that exist and are the account's, with keywords and
        memberships, in one read (JMAP Email/get of a page of ids)."""
        wanted = list(dict.fromkeys(emails))

        def read(ops: ReadOps) -> dict[int, Email]:
            rows = {e: r for e, r in ops.email_rows(wanted).items() if r.account == account}
            keywords = ops.keywords_of(list(rows))
            memberships = ops.memberships_of(list(rows))
            return {
                email: Email(
                    id=email,
                    row=row,
                    keywords=keywords.get(email, _NONE),
                    memberships=tuple(memberships.get(email, ())),
                )
                for email, row in rows.items()
            }

        return await self._backend.read(read)

    async def update_email(
        self,
        account: int,
        email: int,
        *,
        add_keywords: Iterable[str] = (),
        remove_keywords: Iterable[str] = (),
        add_mailboxes: Iterable[int] = (),
        remove_mailboxes: Iterable[int] = (),
    ) -> int:
        """Change an email's keywords and mailboxes in one transaction (JMAP Email/set
        update); returns the modseq (the current one when nothing changed).

        Raises:
            NoSuchItem: the email or a mailbox is not the account's.
            PreconditionFailed: the email would be left in no mailbox.
            ValueError: an invalid keyword.
        """
        adding = {_check_keyword(k) for k in add_keywords}
        removing = {_check_keyword(k) for k in remove_keywords} - adding
        boxes_in = list(dict.fromkeys(add_mailboxes))
        boxes_out = [m for m in dict.fromkeys(remove_mailboxes) if m not in boxes_in]

        def update(ops: WriteOps, tx: _Tx) -> int:
            modseq = tx.modseq(account)  # the lock first (see append)
            row = owned_email(ops, account, email)
            for mailbox in (*boxes_in, *boxes_out):
                owned_mailbox(ops, account, mailbox)
            current = _mailboxes_of(ops, email)
            if not (current | set(boxes_in)) - set(boxes_out):
                raise PreconditionFailed("an email must stay in at least one mailbox")
            before = ops.keywords(email)
            changed = [ops.add_keyword(email, k) for k in adding]
            changed += [ops.remove_keyword(email, k) for k in removing]
            after = ops.keywords(email)
            moved = False
            if any(changed):
                for membership in ops.memberships(email):
                    count_keyword_change(ops, membership.mailbox, before, after)
                    ops.touch_membership(membership.mailbox, email, modseq)
                    touch_mailbox(ops, account, membership.mailbox, modseq)
                    tx.touched.add(membership.mailbox)
            for mailbox in boxes_in:
                if mailbox not in current:
                    add_membership(
                        ops, account, mailbox, email, modseq, size=row.size, keywords=after
                    )
                    tx.touched.add(mailbox)
                    moved = True
            for mailbox in boxes_out:
                if mailbox in current:
                    remove_memberships(ops, account, mailbox, [email], modseq)
                    tx.touched.add(mailbox)
                    moved = True
            if any(changed) or moved:
                ops.touch_email(email, modseq)
                ops.record_change(account, modseq, EMAIL_KIND, email)
            return modseq

        modseq: int = await self._write(update)
        return modseq


class _Tx:
    """What one email transaction allocated and touched (for the events after it)."""

    def __init__(self, ops: WriteOps) -> None:
        self._ops = ops
        self.modseqs: dict[int, int] = {}
        self.touched: set[int] = set()
        self.grantees: dict[int, int] = {}

    def modseq(self, account: int) -> int:
        """The account's modseq for this transaction (allocated on first use)."""
        if account not in self.modseqs:
            self.modseqs[account] = self._ops.bump_modseq(account)
        return self.modseqs[account]

    def collect_grantees(self) -> None:
        """Find the accounts the touched mailboxes are shared with."""
        if not self.touched:
            return
        for mailbox, grantee in self._ops.acl_grantees(sorted(self.touched)):
            found = self._ops.mailbox(mailbox)
            if found is not None and grantee not in self.modseqs:
                self.grantees[grantee] = self.modseqs.get(found.account, 0)


def _mailboxes_of(ops: ReadOps, email: int) -> set[int]:
    return {m.mailbox for m in ops.memberships(email)}


def _collapse(rows: Sequence[tuple[int, int, int]]) -> list[int]:
    seen: set[int] = set()
    ids = []
    for email, thread, _uid in rows:
        if thread not in seen:
            seen.add(thread)
            ids.append(email)
    return ids


def _load(ops: ReadOps, account: int, email: int) -> Email | None:
    row = ops.email_row(email)
    if row is None or row.account != account:
        return None
    return Email(
        id=email, row=row, keywords=ops.keywords(email), memberships=tuple(ops.memberships(email))
    )
