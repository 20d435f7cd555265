"""The store's domain API: one data model for every protocol.

Protocols reach it as ``kernel.store`` (a :class:`Store`) and never write SQL;
backends (``store_sqlite``, ``store_postgres``) provide the operations
underneath (:mod:`kernel.store.interfaces`).
"""

from __future__ import annotations

from typing import Any, final

import argon2

from kernel.events import EventBus
from kernel.store.directory import Directory, InvalidName, normalize_address
from kernel.store.emails import INLINE_LIMIT, Emails
from kernel.store.filters import Comparator, Filter
from kernel.store.identities import Identities, Identity
from kernel.store.interfaces import Backend, BlobStore, ReadOps, WriteOps
from kernel.store.mail_records import (
    AppendResult,
    Changes,
    CopyResult,
    Email,
    Mailbox,
    MailboxChanges,
    MailboxCounts,
    MailboxSnapshot,
    Membership,
    QueryResult,
)
from kernel.store.mailboxes import RIGHTS, Mailboxes, prune_log
from kernel.store.maildrop import Maildrop, MaildropEntry, MaildropListing, MessageReader
from kernel.store.metadata import Metadata
from kernel.store.queue import Queue, QueuedMessage, QueuedRecipient
from kernel.store.records import AppPassword, Domain, Principal, ScramSecret, Token
from kernel.store.sieve_scripts import SieveScript, SieveScripts
from kernel.store.vacation import Vacations

__all__ = [
    "RIGHTS",
    "AppPassword",
    "AppendResult",
    "Backend",
    "BlobStore",
    "Changes",
    "Comparator",
    "CopyResult",
    "Directory",
    "Domain",
    "Email",
    "Emails",
    "Filter",
    "Identities",
    "Identity",
    "InvalidName",
    "Mailbox",
    "MailboxChanges",
    "MailboxCounts",
    "MailboxSnapshot",
    "Mailboxes",
    "Maildrop",
    "MaildropEntry",
    "MaildropListing",
    "Membership",
    "MessageReader",
    "Metadata",
    "Principal",
    "QueryResult",
    "Queue",
    "QueuedMessage",
    "QueuedRecipient",
    "ReadOps",
    "ScramSecret",
    "SieveScript",
    "SieveScripts",
    "Store",
    "Token",
    "WriteOps",
    "normalize_address",
    "prune_log",
]


@final
class Store:
    """The domain API over one backend: ``directory``, ``mailboxes``, ``emails``, ``metadata``,
    ``maildrop`` (POP3), ``sieve`` (scripts and their tracking state), ``queue`` (outbound),
    ``identities`` (JMAP sending identities)."""

    def __init__(
        self,
        backend: Backend,
        *,
        hasher: argon2.PasswordHasher | None = None,
        events: EventBus | None = None,
        blobs: BlobStore | None = None,
        inline_limit: int = INLINE_LIMIT,
    ) -> None:
        self.backend = backend
        self.blobs = blobs
        self.directory = Directory(backend, hasher=hasher)
        publish = events.publish if events is not None else None
        self.mailboxes = Mailboxes(backend, publish)
        self.emails = Emails(backend, publish, blobs=blobs, inline_limit=inline_limit)
        self.metadata = Metadata(backend)
        self.maildrop = Maildrop(backend, self.emails, self.mailboxes, blobs)
        self.sieve = SieveScripts(backend, publish)
        self.vacation = Vacations(backend, publish)
        self.queue = Queue(backend, publish, blobs=blobs, inline_limit=inline_limit)
        self.identities = Identities(backend, publish)

    async def prune_change_log(self, before: float) -> None:
        """Forget every account's changes logged before time ``before`` (the retention).

        Asking for changes since an older position then answers "cannot calculate".
        """

        def prune(ops: WriteOps) -> None:
            for principal in ops.principals():
                prune_log(ops, principal.id, before)

        await self.backend.write(prune)

    async def collect_garbage(self) -> Any:
        """Delete blob-store files no email references any more (after the grace period)."""
        if self.blobs is None:
            return None

        async def referenced(blobs: list[str]) -> set[str]:
            return await self.backend.read(lambda ops: ops.existing_blobs(blobs))

        return await self.blobs.collect_garbage(referenced)

    async def maintain(self, *, retention: float, now: float) -> None:
        """Housekeeping: prune the change log past ``retention`` seconds, collect garbage."""
        await self.prune_change_log(before=now - retention)
        await self.collect_garbage()
