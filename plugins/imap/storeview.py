"""The store reads IMAP makes, in the shapes the session's view wants.

Each call is one domain-API read (:mod:`kernel.store.emails`), so what it returns is
one consistent snapshot: SELECT's memberships agree with its HIGHESTMODSEQ, a poll's
changed flags with its expunges.
"""

from __future__ import annotations

from collections.abc import Iterable

from kernel.store import MailboxChanges, Store
from kernel.store.mail_records import EmailRow
from plugins.imap.selected import Snapshot

__all__ = ["changes", "expunged", "keywords_of", "principal_names", "rows", "snapshot"]

_NONE: frozenset[str] = frozenset()


async def snapshot(store: Store, account: int, mailbox: int) -> Snapshot:
    """The mailbox's memberships with their keywords, and its state, in one read."""
    found = await store.emails.snapshot(account, mailbox)
    return Snapshot(
        account=account,
        mailbox=mailbox,
        uidvalidity=found.mailbox.uidvalidity,
        uidnext=found.mailbox.uidnext,
        highest_modseq=found.mailbox.modseq,
        members=list(found.members),
    )


async def changes(
    store: Store, account: int, mailbox: int, since: int
) -> tuple[MailboxChanges, dict[int, frozenset[str]], list[int] | None]:
    """What changed after ``since``, the keywords of the changed emails, and (only when
    the log cannot tell expunges any more) the UIDs now in the mailbox."""
    result = await store.emails.mailbox_changes(account, mailbox, since)
    keywords = {m.email: result.keywords.get(m.email, _NONE) for m in result.changed}
    current = list(result.current) if result.current is not None else None
    return result, keywords, current


async def keywords_of(
    store: Store, account: int, emails: Iterable[int]
) -> dict[int, frozenset[str]]:
    """The keywords of each of the account's ``emails`` that still exists."""
    return await store.emails.keywords_of(account, emails)


async def rows(store: Store, account: int, emails: Iterable[int]) -> dict[int, EmailRow]:
    """The rows of each of the account's ``emails`` that still exists."""
    return await store.emails.rows(account, emails)


async def principal_names(store: Store, principals: Iterable[int]) -> dict[int, str]:
    """The names (primary addresses) of the given principals that exist."""
    return await store.directory.names(principals)


async def expunged(store: Store, account: int, mailbox: int, since: int) -> tuple[list[int], bool]:
    """UIDs expunged from ``mailbox`` after ``since``, and whether the log still reaches
    back that far (False: the answer is incomplete; RFC 7162 §3.2.5.2)."""
    result = await store.emails.mailbox_changes(account, mailbox, since)
    return list(result.expunged), not result.cannot_calculate
