"""The reads IMAP needs from the store, each in one store transaction.

SELECT needs a mailbox's memberships with every email's keywords read together (so
the snapshot and its HIGHESTMODSEQ agree); FETCH needs many email rows at once. The
domain API reads one email at a time (``Emails.get``), which would cost one worker-
thread hop per message, so these helpers run one read function through the store's
public :class:`kernel.store.Backend` interface (``store.backend.read``), using only
the :class:`kernel.store.ReadOps` protocol: never an adapter's SQL (STYLE.md §1.8).

Implementation notes:

* Ownership is checked as ``kernel.store.emails`` does: a mailbox or email that is
  not the account's is ``NoSuchItem``.
* These belong in ``kernel.store.emails`` (as ``mailbox_snapshot``, ``keywords_of``
  and ``rows``); this module goes once the domain API has them.
"""

from __future__ import annotations

from collections.abc import Iterable

from kernel.errors import NoSuchItem
from kernel.store import Mailbox, MailboxChanges, ReadOps, Store
from kernel.store.mail_records import EmailRow
from plugins.imap.selected import Snapshot

__all__ = ["changes", "expunged", "keywords_of", "principal_names", "rows", "snapshot"]


def _owned_mailbox(ops: ReadOps, account: int, mailbox: int) -> Mailbox:
    found = ops.mailbox(mailbox)
    if found is None or found.account != account:
        raise NoSuchItem(f"no mailbox {mailbox}")
    return found


async def snapshot(store: Store, account: int, mailbox: int) -> Snapshot:
    """The mailbox's memberships with their keywords, and its state, in one read."""

    def read(ops: ReadOps) -> Snapshot:
        found = _owned_mailbox(ops, account, mailbox)
        members = ops.mailbox_members(mailbox)
        return Snapshot(
            account=account,
            mailbox=mailbox,
            uidvalidity=found.uidvalidity,
            uidnext=found.uidnext,
            highest_modseq=found.modseq,
            members=[(m, ops.keywords(m.email)) for m in members],
        )

    return await store.backend.read(read)


async def changes(
    store: Store, account: int, mailbox: int, since: int
) -> tuple[MailboxChanges, dict[int, frozenset[str]], list[int] | None]:
    """What changed after ``since``, the keywords of the changed emails, and (only when
    the log cannot tell expunges any more) the UIDs now in the mailbox."""

    def read(
        ops: ReadOps,
    ) -> tuple[MailboxChanges, dict[int, frozenset[str]], list[int] | None]:
        found = _owned_mailbox(ops, account, mailbox)
        changed = ops.members_changed_since(mailbox, since)
        cannot = since < ops.log_floor(account)
        result = MailboxChanges(
            since=since,
            highest_modseq=found.modseq,
            changed=tuple(changed),
            expunged=tuple(ops.expunged_since(mailbox, since)),
            cannot_calculate=cannot,
        )
        keywords = {m.email: ops.keywords(m.email) for m in changed}
        current = [m.uid for m in ops.mailbox_members(mailbox)] if cannot else None
        return result, keywords, current

    return await store.backend.read(read)


async def keywords_of(
    store: Store, account: int, emails: Iterable[int]
) -> dict[int, frozenset[str]]:
    """The keywords of each of the account's ``emails`` that still exists."""
    wanted = list(emails)

    def read(ops: ReadOps) -> dict[int, frozenset[str]]:
        out = {}
        for email in wanted:
            row = ops.email_row(email)
            if row is not None and row.account == account:
                out[email] = ops.keywords(email)
        return out

    return await store.backend.read(read)


async def rows(store: Store, account: int, emails: Iterable[int]) -> dict[int, EmailRow]:
    """The rows of each of the account's ``emails`` that still exists."""
    wanted = list(emails)

    def read(ops: ReadOps) -> dict[int, EmailRow]:
        out = {}
        for email in wanted:
            row = ops.email_row(email)
            if row is not None and row.account == account:
                out[email] = row
        return out

    return await store.backend.read(read)


async def principal_names(store: Store, principals: Iterable[int]) -> dict[int, str]:
    """The names (primary addresses) of the given principals that exist."""
    wanted = list(principals)

    def read(ops: ReadOps) -> dict[int, str]:
        out = {}
        for principal in wanted:
            found = ops.principal_by_id(principal)
            if found is not None:
                out[principal] = found.name
        return out

    return await store.backend.read(read)


async def expunged(store: Store, account: int, mailbox: int, since: int) -> tuple[list[int], bool]:
    """UIDs expunged from ``mailbox`` after ``since``, and whether the log still reaches
    back that far (False: the answer is incomplete; RFC 7162 §3.2.5.2)."""

    def read(ops: ReadOps) -> tuple[list[int], bool]:
        _owned_mailbox(ops, account, mailbox)
        complete = since >= ops.log_floor(account)
        return list(ops.expunged_since(mailbox, since)), complete

    return await store.backend.read(read)
