"""Emails: append, read, keywords, expunge, in the JMAP model.

One Email per stored message, with keywords on the Email and a set of mailbox
memberships, each with its own IMAP UID and modseq. Removing a membership is an
IMAP EXPUNGE or POP3 DELE; an Email dies with its last membership, and its
blob with its last Email.

Implementation notes:

* Append parses the message (``kernel.mail``) and hashes it in a worker thread
  first; the write function then only inserts rows, so the writer thread stays
  fast and group commit can batch many appends into one fsync.
* The bytes are stored content-addressed (SHA-256) in the database itself for
  now, covered by the same durable commit as the rows that reference them;
  appending the same bytes twice makes two Emails sharing one blob.
* Quota (RFC 9208 storage) is checked inside the transaction that would exceed
  it; each Email counts once however many mailboxes hold it.
* Keywords are JMAP keywords (lower-case atoms); IMAP maps its system flags to
  them (``\\Seen`` to ``$seen``, ``\\Flagged`` to ``$flagged``, ``\\Answered`` to
  ``$answered``, ``\\Draft`` to ``$draft``, ``\\Deleted`` to ``$deleted``; RFC 8621
  §4.1.1), so both protocols see one set.
* Threads (RFC 8621 §3): an Email joins the thread of an Email it references
  (Message-ID, In-Reply-To, References) or that references it, provided their
  base subjects match (RFC 5256 §2.1, simplified); otherwise it starts one.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import final

import trio

from kernel.errors import NoSuchItem, QuotaExceeded
from kernel.events import ChangeEvent
from kernel.mail import parse_message, preview, to_json, walk
from kernel.store.interfaces import Backend, ReadOps, WriteOps
from kernel.store.mail_records import AppendResult, Email, EmailRow, Membership

__all__ = ["Emails", "base_subject", "remove_memberships"]

KIND = "email"
MAILBOX_KIND = "mailbox"
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fwd?|aw|sv|vs)\s*(\[\d+\])?\s*:\s*|\[[^\]]*\]\s*)+", re.I)
_SUBJECT_TRAILER = re.compile(r"(\s*\(fwd\))+\s*$", re.I)
_KEYWORD = re.compile(r"^[\x21-\x7e]{1,255}$")
_FORBIDDEN_KEYWORD_CHARS = set('(){]%*"\\')


def base_subject(subject: str) -> str:
    """Subject without reply/forward prefixes and list tags, whitespace collapsed."""
    text = " ".join(subject.split())
    while True:
        stripped = _SUBJECT_TRAILER.sub("", _SUBJECT_PREFIX.sub("", text)).strip()
        if stripped == text:
            return stripped.lower()
        text = stripped


def _check_keyword(keyword: str) -> str:
    # RFC 8621 §4.1.1: keywords are case-insensitive, stored lower-case; IMAP atom chars.
    if not _KEYWORD.match(keyword) or _FORBIDDEN_KEYWORD_CHARS & set(keyword):
        raise ValueError(f"{keyword!r} is not a valid keyword")
    return keyword.lower()


@final
class Emails:
    """The email part of the domain API."""

    def __init__(
        self,
        backend: Backend,
        publish: Callable[[ChangeEvent], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._backend = backend
        self._publish = publish
        self._clock = clock

    def _announce(self, account: int, modseq: int, *kinds: str) -> None:
        if self._publish is not None:
            for kind in kinds:
                self._publish(ChangeEvent(account=str(account), kind=kind, modseq=modseq))

    async def append(
        self,
        account: int,
        raw: bytes,
        mailboxes: Sequence[int],
        *,
        keywords: Iterable[str] = (),
        received_at: float | None = None,
    ) -> AppendResult:
        """Store ``raw`` in ``mailboxes``; durable when this returns.

        Raises:
            NoSuchItem: a mailbox is not the account's (or no such account).
            QuotaExceeded: the account's quota would be exceeded; nothing stored.
            ValueError: no mailbox, or an invalid keyword.
        """
        if not mailboxes:
            raise ValueError("an email must be in at least one mailbox")
        flags = sorted({_check_keyword(k) for k in keywords})
        received = self._clock() if received_at is None else received_at
        prepared = await trio.to_thread.run_sync(_prepare, account, raw, received)
        targets = list(dict.fromkeys(mailboxes))

        def append(ops: WriteOps) -> AppendResult:
            if ops.principal_by_id(account) is None:
                raise NoSuchItem(f"no account {account}")
            # Take the account's change-log lock first, so that what is read below
            # (quota use, mailboxes) is current on backends with concurrent writers.
            modseq = ops.bump_modseq(account)
            principal = ops.principal_by_id(account)
            assert principal is not None
            for mailbox in targets:
                found = ops.mailbox(mailbox)
                if found is None or found.account != account:
                    raise NoSuchItem(f"no mailbox {mailbox}")
            size = len(raw)
            if principal.quota and principal.used + size > principal.quota:
                raise QuotaExceeded(
                    f"{principal.name}: {principal.used + size} bytes over "
                    f"the quota of {principal.quota}"
                )
            ops.put_blob(prepared.blob, raw, received)
            row = prepared.row(modseq, thread=0)
            email = ops.insert_email(row)
            thread = _thread(ops, account, email, prepared)
            uids = {}
            for mailbox in targets:
                uid = ops.take_uid(mailbox)
                ops.insert_membership(Membership(mailbox, uid, email, modseq))
                ops.update_mailbox(mailbox, modseq=modseq)
                ops.record_change(account, modseq, MAILBOX_KIND, mailbox)
                uids[mailbox] = uid
            for keyword in flags:
                ops.add_keyword(email, keyword)
            ops.add_used(account, size)
            ops.record_change(account, modseq, KIND, email, created=True)
            return AppendResult(
                email=email, thread=thread, blob=prepared.blob, size=size, uids=uids, modseq=modseq
            )

        result = await self._backend.write(append)
        self._announce(account, result.modseq, KIND, MAILBOX_KIND)
        return result

    async def get(self, account: int, email: int) -> Email:
        """One email with its keywords and memberships."""
        found = await self._backend.read(lambda ops: _load(ops, account, email))
        if found is None:
            raise NoSuchItem(f"no email {email}")
        return found

    async def raw(self, account: int, email: int) -> bytes:
        """The message's bytes exactly as appended."""

        def read(ops: ReadOps) -> bytes | None:
            row = ops.email_row(email)
            return ops.blob(row.blob) if row is not None and row.account == account else None

        data = await self._backend.read(read)
        if data is None:
            raise NoSuchItem(f"no email {email}")
        return data

    async def in_mailbox(self, account: int, mailbox: int) -> list[Membership]:
        """The mailbox's memberships in UID order (what IMAP SELECT loads)."""

        def read(ops: ReadOps) -> list[Membership] | None:
            found = ops.mailbox(mailbox)
            if found is None or found.account != account:
                return None
            return ops.mailbox_members(mailbox)

        members = await self._backend.read(read)
        if members is None:
            raise NoSuchItem(f"no mailbox {mailbox}")
        return members

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

        def update(ops: WriteOps) -> int:
            modseq = ops.bump_modseq(account)  # the lock first (see append)
            rows = [_owned(ops, account, email) for email in targets]
            for email, _row in zip(targets, rows, strict=True):
                changed = [ops.add_keyword(email, k) for k in adding]
                changed += [ops.remove_keyword(email, k) for k in removing]
                if any(changed):
                    ops.touch_email(email, modseq)
                    for membership in ops.memberships(email):
                        ops.touch_membership(membership.mailbox, email, modseq)
                        ops.update_mailbox(membership.mailbox, modseq=modseq)
                        ops.record_change(account, modseq, MAILBOX_KIND, membership.mailbox)
                    ops.record_change(account, modseq, KIND, email)
            return modseq

        modseq = await self._backend.write(update)
        self._announce(account, modseq, KIND, MAILBOX_KIND)
        return modseq

    async def remove(self, account: int, mailbox: int, emails: Iterable[int]) -> list[int]:
        """Take emails out of a mailbox (IMAP EXPUNGE, POP3 DELE); returns the UIDs removed.

        An email left in no mailbox is destroyed, and its bytes with it once no
        other email shares them.
        """
        targets = list(dict.fromkeys(emails))

        def remove(ops: WriteOps) -> tuple[list[int], int]:
            modseq = ops.bump_modseq(account)  # the lock first (see append)
            found = ops.mailbox(mailbox)
            if found is None or found.account != account:
                raise NoSuchItem(f"no mailbox {mailbox}")
            return remove_memberships(ops, account, mailbox, targets, modseq), modseq

        removed, modseq = await self._backend.write(remove)
        if removed:
            self._announce(account, modseq, KIND, MAILBOX_KIND)
        return removed


@final
class _Prepared:
    """What append computes outside the writer thread."""

    def __init__(self, account: int, raw: bytes, received: float) -> None:
        message = parse_message(raw)
        self.account = account
        self.received = received
        self.blob = hashlib.sha256(raw).hexdigest()
        self.message_id = message.message_id
        self.references = [*message.in_reply_to, *message.references]
        self.subject = message.subject or ""
        self.base_subject = base_subject(self.subject)
        sender = message.from_[0] if message.from_ else None
        self.sender = getattr(sender, "email", "") or ""
        self.sent_at = message.date.timestamp() if message.date else None
        self.has_attachment = any(part.is_attachment for part in walk(message.root))
        self.preview = preview(raw, message)
        self.structure = json.dumps(to_json(message), separators=(",", ":"))
        self.size = len(raw)

    def row(self, modseq: int, thread: int) -> EmailRow:
        return EmailRow(
            account=self.account,
            blob=self.blob,
            thread=thread,
            received_at=self.received,
            size=self.size,
            sent_at=self.sent_at,
            message_id=self.message_id,
            subject=self.subject,
            base_subject=self.base_subject,
            sender=self.sender,
            has_attachment=self.has_attachment,
            preview=self.preview,
            structure=self.structure,
            modseq=modseq,
        )


def _prepare(account: int, raw: bytes, received: float) -> _Prepared:
    return _Prepared(account, raw, received)


def _thread(ops: WriteOps, account: int, email: int, prepared: _Prepared) -> int:
    """Assign the new email's thread (RFC 8621 §3) and index its message ids."""
    ids = [i for i in [prepared.message_id, *prepared.references] if i]
    thread = email
    for candidate in ops.threads_for(account, ids):
        if ops.thread_has_subject(account, candidate, prepared.base_subject):
            thread = candidate
            break
    ops.set_email_thread(email, thread)
    ops.add_thread_refs(account, thread, ids)
    return thread


def _owned(ops: ReadOps, account: int, email: int) -> EmailRow:
    row = ops.email_row(email)
    if row is None or row.account != account:
        raise NoSuchItem(f"no email {email}")
    return row


def remove_memberships(
    ops: WriteOps, account: int, mailbox: int, emails: Iterable[int], modseq: int
) -> list[int]:
    """Take ``emails`` out of ``mailbox`` inside a write; returns the UIDs removed.

    An email left in no mailbox is destroyed and the account credited. Blob
    references are released last, in sorted order, so concurrent transactions
    releasing shared blobs always lock them in the same order (no deadlock).
    """
    removed: list[int] = []
    released: list[str] = []
    for email in emails:
        uid = ops.delete_membership(mailbox, email)
        if uid is None:
            continue
        removed.append(uid)
        if ops.memberships(email):
            ops.touch_email(email, modseq)
            ops.record_change(account, modseq, KIND, email)
            continue
        row = ops.email_row(email)
        assert row is not None
        ops.delete_email(email)
        ops.add_used(account, -row.size)
        ops.record_change(account, modseq, KIND, email, destroyed=True)
        released.append(row.blob)
    for blob in sorted(released):
        ops.release_blob(blob)
    if removed:
        ops.update_mailbox(mailbox, modseq=modseq)
        ops.record_change(account, modseq, MAILBOX_KIND, mailbox)
    return removed


def _load(ops: ReadOps, account: int, email: int) -> Email | None:
    row = ops.email_row(email)
    if row is None or row.account != account:
        return None
    return Email(
        id=email, row=row, keywords=ops.keywords(email), memberships=tuple(ops.memberships(email))
    )
