"""The store's domain API: one data model for every protocol.

Protocols reach it as ``kernel.store`` (a :class:`Store`) and never write SQL;
backends (``store_sqlite``, ``store_postgres``) provide the operations
underneath (:mod:`kernel.store.interfaces`).
"""

from __future__ import annotations

from typing import final

import argon2

from kernel.events import EventBus
from kernel.store.directory import Directory, InvalidName, normalize_address
from kernel.store.emails import Emails
from kernel.store.interfaces import Backend, ReadOps, WriteOps
from kernel.store.mail_records import AppendResult, Changes, Email, Mailbox, Membership
from kernel.store.mailboxes import Mailboxes
from kernel.store.records import AppPassword, Domain, Principal, ScramSecret, Token

__all__ = [
    "AppPassword",
    "AppendResult",
    "Backend",
    "Changes",
    "Directory",
    "Domain",
    "Email",
    "Emails",
    "InvalidName",
    "Mailbox",
    "Mailboxes",
    "Membership",
    "Principal",
    "ReadOps",
    "ScramSecret",
    "Store",
    "Token",
    "WriteOps",
    "normalize_address",
]


@final
class Store:
    """The domain API over one backend: ``directory``, ``mailboxes``, ``emails``."""

    def __init__(
        self,
        backend: Backend,
        *,
        hasher: argon2.PasswordHasher | None = None,
        events: EventBus | None = None,
    ) -> None:
        self.backend = backend
        self.directory = Directory(backend, hasher=hasher)
        publish = events.publish if events is not None else None
        self.mailboxes = Mailboxes(backend, publish)
        self.emails = Emails(backend, publish)
