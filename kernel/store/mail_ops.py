"""Steps of email transactions, shared by emails, mailboxes and the directory.

Each function runs inside a write function (on the writer) with the modseq the
transaction allocated; none commits or does I/O beyond its operations.
Conventions kept here once:

* a changed membership gets the transaction's modseq (IMAP MODSEQ), its
  mailbox too (HIGHESTMODSEQ), and both are logged;
* a removed membership leaves a tombstone ``(mailbox, uid, modseq)`` for
  QRESYNC's VANISHED (RFC 7162 §3.2.10);
* each mailbox counts its messages, bytes, and messages with ``$seen``, with
  ``$seen`` or ``$draft``, and with ``$deleted``, in the same transaction as
  the change (IMAP STATUS reads them instead of scanning);
* an email left in no mailbox is destroyed and its size credited to the
  account's quota; blob references are released last, sorted, so concurrent
  transactions lock shared blobs in one order.
"""

from __future__ import annotations

from collections.abc import Iterable

from kernel.errors import NoSuchItem, QuotaExceeded
from kernel.store.interfaces import ReadOps, WriteOps
from kernel.store.mail_records import EmailRow, Mailbox, Membership
from kernel.store.records import Principal

__all__ = [
    "EMAIL_KIND",
    "MAILBOX_KIND",
    "THREAD_KIND",
    "add_membership",
    "check_quota",
    "count_keyword_change",
    "duplicate_email",
    "log_thread",
    "owned_email",
    "owned_mailbox",
    "remove_memberships",
    "touch_mailbox",
]

EMAIL_KIND = "email"
MAILBOX_KIND = "mailbox"
#: Threads are logged apart (JMAP Thread/changes): a thread changes when an email
#: joins or leaves it; an email never changes thread, and threads never merge.
THREAD_KIND = "thread"


def log_thread(
    ops: WriteOps, account: int, modseq: int, thread: int, *, created: bool = False
) -> None:
    """Log that ``thread`` changed: created with its first email, destroyed with its
    last (checked here), else updated."""
    if created:
        ops.record_change(account, modseq, THREAD_KIND, thread, created=True)
        return
    remaining = ops.select(
        "SELECT 1 FROM emails WHERE account = ? AND thread = ? LIMIT 1", (account, thread)
    )
    ops.record_change(account, modseq, THREAD_KIND, thread, destroyed=not remaining)


def owned_mailbox(ops: ReadOps, account: int, mailbox: int) -> Mailbox:
    """The mailbox, if it is ``account``'s; NoSuchItem otherwise."""
    found = ops.mailbox(mailbox)
    if found is None or found.account != account:
        raise NoSuchItem(f"no mailbox {mailbox}")
    return found


def owned_email(ops: ReadOps, account: int, email: int) -> EmailRow:
    """The email's row, if it is ``account``'s; NoSuchItem otherwise."""
    row = ops.email_row(email)
    if row is None or row.account != account:
        raise NoSuchItem(f"no email {email}")
    return row


def check_quota(
    ops: ReadOps,
    account: int,
    adding: int,
    messages: int = 0,
    *,
    principal: Principal | None = None,
) -> None:
    """Raise QuotaExceeded if ``adding`` bytes or ``messages`` new emails would take
    the account over its storage or message-count quota (RFC 9208 §5.1, §5.2).

    ``principal``: the account's row, if the caller has just read it in this
    transaction (after taking the account's change-log lock)."""
    if principal is None:
        principal = ops.principal_by_id(account)
    if principal is None:
        raise NoSuchItem(f"no account {account}")
    if adding > 0 and principal.quota and principal.used + adding > principal.quota:
        raise QuotaExceeded(
            f"{principal.name}: {principal.used + adding} bytes over the quota of {principal.quota}"
        )
    limit = principal.quota_messages
    if messages > 0 and limit and principal.used_messages + messages > limit:
        raise QuotaExceeded(
            f"{principal.name}: {principal.used_messages + messages} messages over the "
            f"quota of {limit}"
        )


def touch_mailbox(ops: WriteOps, account: int, mailbox: int, modseq: int) -> None:
    """Record that ``mailbox``'s contents changed at ``modseq``."""
    ops.update_mailbox(mailbox, modseq=modseq)
    ops.record_change(account, modseq, MAILBOX_KIND, mailbox)


def _flag_counts(keywords: frozenset[str]) -> tuple[int, int, int]:
    seen = "$seen" in keywords
    return int(seen), int(seen or "$draft" in keywords), int("$deleted" in keywords)


def count_keyword_change(
    ops: WriteOps, mailbox: int, before: frozenset[str], after: frozenset[str]
) -> None:
    """Keep ``mailbox``'s counters right after an email in it changed keywords."""
    old, new = _flag_counts(before), _flag_counts(after)
    if old != new:
        ops.adjust_mailbox_counts(mailbox, 0, 0, *(n - o for n, o in zip(new, old, strict=True)))


def add_membership(
    ops: WriteOps,
    account: int,
    mailbox: int,
    email: int,
    modseq: int,
    *,
    size: int,
    keywords: frozenset[str],
) -> int:
    """Put ``email`` (of ``size`` bytes, with ``keywords``) in ``mailbox`` under a new
    UID, counting it in the mailbox's counters; returns the UID."""
    # One statement takes the UID, counts the message and touches the mailbox.
    uid = ops.take_uid(mailbox, modseq, (1, size, *_flag_counts(keywords)))
    ops.insert_membership(Membership(mailbox, uid, email, modseq))
    ops.record_change(account, modseq, MAILBOX_KIND, mailbox)
    return uid


def duplicate_email(
    ops: WriteOps, source: int, row: EmailRow, account: int, modseq: int
) -> tuple[int, int]:
    """A new email of ``account`` sharing ``source``'s bytes, keywords and texts.

    Used when a copy's target already holds the source (memberships are unique
    per mailbox) or belongs to another account. Returns ``(email, thread)``;
    the caller adds memberships and has checked the quota.
    """
    thread_known = row.account == account
    email = ops.insert_email(
        EmailRow(**{**_row_fields(row), "account": account, "thread": 0, "modseq": modseq})
    )
    thread = row.thread if thread_known else email
    ops.set_email_thread(email, thread)
    if row.message_id:
        ops.add_thread_refs(account, thread, [row.message_id])
    ops.add_blob_ref(row.blob)
    ops.copy_email_text(source, email)
    for keyword in ops.keywords(source):
        ops.add_keyword(email, keyword)
    ops.add_used(account, row.size, 1)
    ops.record_change(account, modseq, EMAIL_KIND, email, created=True)
    log_thread(ops, account, modseq, thread, created=not thread_known)
    return email, thread


def _row_fields(row: EmailRow) -> dict[str, object]:
    return {name: getattr(row, name) for name in row.__dataclass_fields__}


def remove_memberships(
    ops: WriteOps, account: int, mailbox: int, emails: Iterable[int], modseq: int
) -> list[int]:
    """Take ``emails`` out of ``mailbox``; returns the UIDs removed (see the module notes)."""
    removed: list[int] = []
    released: list[str] = []
    for email in emails:
        uid = ops.delete_membership(mailbox, email, modseq)
        if uid is None:
            continue
        removed.append(uid)
        row = ops.email_row(email)
        assert row is not None
        flags = _flag_counts(ops.keywords(email))
        ops.adjust_mailbox_counts(mailbox, -1, -row.size, *(-f for f in flags))
        if ops.memberships(email):
            ops.touch_email(email, modseq)
            ops.record_change(account, modseq, EMAIL_KIND, email)
            continue
        ops.delete_email(email)
        ops.add_used(account, -row.size, -1)
        ops.record_change(account, modseq, EMAIL_KIND, email, destroyed=True)
        log_thread(ops, account, modseq, row.thread)
        released.append(row.blob)
    for blob in sorted(released):
        ops.release_blob(blob)
    if removed:
        touch_mailbox(ops, account, mailbox, modseq)
    return removed
