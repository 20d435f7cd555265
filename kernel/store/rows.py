"""Row layouts shared by every SQL backend: column lists and row-to-record converters.

Backends select these columns in this order and turn the rows into records
here, so the records' shape is defined once whatever the dialect.
"""

from __future__ import annotations

import functools
from dataclasses import fields
from typing import Any

from kernel.store.email_text import EmailText
from kernel.store.mail_records import EmailRow, Mailbox
from kernel.store.records import Principal

__all__ = [
    "EMAIL_COLUMNS",
    "EMAIL_TEXT_COLUMNS",
    "MAILBOX_COLUMNS",
    "MEMBERSHIP_COLUMNS",
    "PRINCIPAL_COLUMNS",
    "mailbox_from_row",
    "principal_from_row",
]

PRINCIPAL_COLUMNS = (
    "id, kind, name, role, enabled, quota, used, description, created, quota_messages, "
    "used_messages"
)
MAILBOX_COLUMNS = (
    "id, account, parent, name, role, sort_order, subscribed, uidvalidity, uidnext, modseq"
)
#: The email columns are named like the fields of :class:`EmailRow`.
EMAIL_COLUMNS = ", ".join(f.name for f in fields(EmailRow))
MEMBERSHIP_COLUMNS = "mailbox, uid, email, modseq"
#: The ``email_text`` columns, named like the fields of :class:`EmailText`.
EMAIL_TEXT_COLUMNS = ", ".join(f.name for f in fields(EmailText))


def principal_from_row(row: tuple[Any, ...] | None) -> Principal | None:
    """A :class:`Principal` from a row of :data:`PRINCIPAL_COLUMNS` (None stays None)."""
    if row is None:
        return None
    pid, kind, name, role, enabled, quota, used, description, created, *messages = row
    return Principal(
        id=pid,
        kind=kind,
        name=name,
        role=role,
        enabled=bool(enabled),
        quota=quota,
        used=used,
        description=description,
        created=created,
        quota_messages=messages[0],
        used_messages=messages[1],
    )


def mailbox_from_row(row: tuple[Any, ...] | None) -> Mailbox | None:
    """A :class:`Mailbox` from a row of :data:`MAILBOX_COLUMNS` (None stays None)."""
    if row is None:
        return None
    return _mailbox(tuple(row))


# Local delivery reads every mailbox of the account per message (to resolve its
# filings) and most of those rows have not changed since the last message; a
# Mailbox is immutable, so an unchanged row can give back the same one.
@functools.lru_cache(maxsize=4096)
def _mailbox(row: tuple[Any, ...]) -> Mailbox:
    mid, account, parent, name, role, order, subscribed, uidvalidity, uidnext, modseq = row
    return Mailbox(
        id=mid,
        account=account,
        parent=parent,
        name=name,
        role=role,
        sort_order=order,
        subscribed=bool(subscribed),
        uidvalidity=uidvalidity,
        uidnext=uidnext,
        modseq=modseq,
    )
