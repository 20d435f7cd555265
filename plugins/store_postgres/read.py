"""The typed read operations (``kernel.store.interfaces.ReadOps``) in PostgreSQL's dialect.

Implementation notes:

* Same results as ``plugins/store_sqlite/read.py and write.py``, in the same order; PostgreSQL
  returns ``BOOLEAN`` columns as ``bool`` and ``BYTEA`` as ``bytes`` already.
* Reads run in ``connection.py``'s ``REPEATABLE READ READ ONLY`` transactions
  (one snapshot per read function), and inside write transactions through
  :class:`~plugins.store_postgres.write.PostgresWriteOps`, which extends this
  class; there, at READ COMMITTED, each statement sees what committed before it
  began.
* Where SQLite leaves the order unspecified, a result is ordered anyway
  (``threads_for``: oldest thread first), so every server of a cluster answers
  the same.
"""

from __future__ import annotations

from typing import Any

import psycopg

from kernel.store.mail_records import EmailRow, Mailbox, Membership
from kernel.store.records import AppPassword, Domain, Principal, ScramSecret, Token
from kernel.store.rows import (
    EMAIL_COLUMNS,
    MAILBOX_COLUMNS,
    MEMBERSHIP_COLUMNS,
    PRINCIPAL_COLUMNS,
    mailbox_from_row,
    principal_from_row,
)

__all__ = ["PostgresReadOps"]


class PostgresReadOps:
    """Read operations over one connection (the transaction is the caller's)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def _one(self, query: Any, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        return self._conn.execute(query, params).fetchone()

    def _all(self, query: Any, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(query, params).fetchall()

    # ---- directory -----------------------------------------------------------

    def principal_by_name(self, name: str) -> Principal | None:
        return principal_from_row(
            self._one(f"SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE name = %s", (name,))
        )

    def principal_by_id(self, principal: int) -> Principal | None:
        return principal_from_row(
            self._one(f"SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE id = %s", (principal,))
        )

    def principals(self, kind: str | None = None) -> list[Principal]:
        if kind is None:
            rows = self._all(f"SELECT {PRINCIPAL_COLUMNS} FROM principals ORDER BY name")
        else:
            rows = self._all(
                f"SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE kind = %s ORDER BY name", (kind,)
            )
        return [p for p in map(principal_from_row, rows) if p is not None]

    def count_principals(self) -> int:
        row = self._one("SELECT count(*) FROM principals")
        return int(row[0]) if row else 0

    def secret_hash(self, principal: int) -> str | None:
        row = self._one("SELECT secret_hash FROM principals WHERE id = %s", (principal,))
        return row[0] if row else None

    def scram_secret(self, principal: int) -> ScramSecret | None:
        row = self._one(
            "SELECT scram_salt, scram_iterations, scram_stored_key, scram_server_key "
            "FROM principals WHERE id = %s AND scram_salt IS NOT NULL",
            (principal,),
        )
        return ScramSecret(bytes(row[0]), row[1], bytes(row[2]), bytes(row[3])) if row else None

    def domain(self, name: str) -> Domain | None:
        row = self._one("SELECT name, created FROM domains WHERE name = %s", (name,))
        return Domain(*row) if row else None

    def domains(self) -> list[Domain]:
        return [
            Domain(*row) for row in self._all("SELECT name, created FROM domains ORDER BY name")
        ]

    def alias_target(self, address: str) -> int | None:
        row = self._one("SELECT principal FROM aliases WHERE address = %s", (address,))
        return row[0] if row else None

    def aliases(self, principal: int | None = None) -> list[tuple[str, int]]:
        if principal is None:
            rows = self._all("SELECT address, principal FROM aliases ORDER BY address")
        else:
            rows = self._all(
                "SELECT address, principal FROM aliases WHERE principal = %s ORDER BY address",
                (principal,),
            )
        return [(address, pid) for address, pid in rows]

    def app_passwords(self, principal: int) -> list[tuple[AppPassword, str]]:
        rows = self._all(
            "SELECT id, principal, name, created, last_used, secret_hash FROM app_passwords "
            "WHERE principal = %s ORDER BY name",
            (principal,),
        )
        return [(AppPassword(*row[:5]), row[5]) for row in rows]

    def tokens(self, principal: int | None = None) -> list[Token]:
        query = "SELECT id, principal, name, created, expires FROM tokens"
        if principal is None:
            return [Token(*row) for row in self._all(query + " ORDER BY name")]
        return [
            Token(*row)
            for row in self._all(query + " WHERE principal = %s ORDER BY name", (principal,))
        ]

    def token_by_digest(self, digest: bytes) -> Token | None:
        row = self._one(
            "SELECT id, principal, name, created, expires FROM tokens WHERE digest = %s",
            (digest,),
        )
        return Token(*row) if row else None

    # ---- change log ----------------------------------------------------------

    def current_modseq(self, account: int) -> int:
        row = self._one("SELECT modseq FROM account_state WHERE account = %s", (account,))
        return int(row[0]) if row else 0

    def changes_since(
        self, account: int, kind: str, since: int
    ) -> list[tuple[int, int, bool, bool]]:
        rows = self._all(
            "SELECT modseq, item, created, destroyed FROM changes "
            "WHERE account = %s AND kind = %s AND modseq > %s ORDER BY modseq, item",
            (account, kind, since),
        )
        return [(m, item, c, d) for m, item, c, d in rows]

    # ---- mailboxes -----------------------------------------------------------

    def mailbox(self, mailbox: int) -> Mailbox | None:
        return mailbox_from_row(
            self._one(f"SELECT {MAILBOX_COLUMNS} FROM mailboxes WHERE id = %s", (mailbox,))
        )

    def mailboxes(self, account: int) -> list[Mailbox]:
        rows = self._all(
            f"SELECT {MAILBOX_COLUMNS} FROM mailboxes WHERE account = %s ORDER BY id", (account,)
        )
        return [m for m in map(mailbox_from_row, rows) if m is not None]

    # ---- blobs and emails ----------------------------------------------------

    def blob(self, blob: str) -> bytes | None:
        row = self._one("SELECT data FROM blobs WHERE id = %s", (blob,))
        return bytes(row[0]) if row else None

    def email_row(self, email: int) -> EmailRow | None:
        row = self._one(f"SELECT {EMAIL_COLUMNS} FROM emails WHERE id = %s", (email,))
        return EmailRow(*row) if row else None

    def keywords(self, email: int) -> frozenset[str]:
        return frozenset(
            k for (k,) in self._all("SELECT keyword FROM keywords WHERE email = %s", (email,))
        )

    def memberships(self, email: int) -> list[Membership]:
        rows = self._all(
            f"SELECT {MEMBERSHIP_COLUMNS} FROM memberships WHERE email = %s ORDER BY mailbox",
            (email,),
        )
        return [Membership(*row) for row in rows]

    def mailbox_members(self, mailbox: int) -> list[Membership]:
        rows = self._all(
            f"SELECT {MEMBERSHIP_COLUMNS} FROM memberships WHERE mailbox = %s ORDER BY uid",
            (mailbox,),
        )
        return [Membership(*row) for row in rows]

    def threads_for(self, account: int, message_ids: list[str]) -> list[int]:
        if not message_ids:
            return []
        rows = self._all(
            "SELECT DISTINCT thread FROM thread_refs "
            "WHERE account = %s AND message_id = ANY(%s) ORDER BY thread",
            (account, message_ids),
        )
        return [thread for (thread,) in rows]

    def thread_has_subject(self, account: int, thread: int, base_subject: str) -> bool:
        row = self._one(
            "SELECT 1 FROM emails WHERE account = %s AND thread = %s AND base_subject = %s LIMIT 1",
            (account, thread, base_subject),
        )
        return row is not None
