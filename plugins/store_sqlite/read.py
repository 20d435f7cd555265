"""The read operations (``kernel.store.interfaces.ReadOps``) in SQLite's dialect."""

from __future__ import annotations

import sqlite3

from kernel.store.mail_records import EmailRow, Mailbox, Membership
from kernel.store.records import AppPassword, Domain, Principal, ScramSecret, Token
from kernel.store.rows import (
    MAILBOX_COLUMNS,
    PRINCIPAL_COLUMNS,
    mailbox_from_row,
    principal_from_row,
)

__all__ = ["SqliteReadOps"]


class SqliteReadOps:
    """Reads over one connection (the transaction is the caller's)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def principal_by_name(self, name: str) -> Principal | None:
        row = self._conn.execute(
            f"SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE name = ?", (name,)
        ).fetchone()
        return principal_from_row(row)

    def principal_by_id(self, principal: int) -> Principal | None:
        row = self._conn.execute(
            f"SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE id = ?", (principal,)
        ).fetchone()
        return principal_from_row(row)

    def principals(self, kind: str | None = None) -> list[Principal]:
        if kind is None:
            rows = self._conn.execute(f"SELECT {PRINCIPAL_COLUMNS} FROM principals ORDER BY name")
        else:
            rows = self._conn.execute(
                f"SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE kind = ? ORDER BY name", (kind,)
            )
        return [p for p in map(principal_from_row, rows) if p is not None]

    def count_principals(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM principals").fetchone()[0])

    def secret_hash(self, principal: int) -> str | None:
        row = self._conn.execute(
            "SELECT secret_hash FROM principals WHERE id = ?", (principal,)
        ).fetchone()
        return row[0] if row else None

    def scram_secret(self, principal: int) -> ScramSecret | None:
        row = self._conn.execute(
            "SELECT scram_salt, scram_iterations, scram_stored_key, scram_server_key "
            "FROM principals WHERE id = ? AND scram_salt IS NOT NULL",
            (principal,),
        ).fetchone()
        return ScramSecret(bytes(row[0]), row[1], bytes(row[2]), bytes(row[3])) if row else None

    def domain(self, name: str) -> Domain | None:
        row = self._conn.execute(
            "SELECT name, created FROM domains WHERE name = ?", (name,)
        ).fetchone()
        return Domain(*row) if row else None

    def domains(self) -> list[Domain]:
        return [
            Domain(*row)
            for row in self._conn.execute("SELECT name, created FROM domains ORDER BY name")
        ]

    def alias_target(self, address: str) -> int | None:
        row = self._conn.execute(
            "SELECT principal FROM aliases WHERE address = ?", (address,)
        ).fetchone()
        return row[0] if row else None

    def aliases(self, principal: int | None = None) -> list[tuple[str, int]]:
        if principal is None:
            rows = self._conn.execute("SELECT address, principal FROM aliases ORDER BY address")
        else:
            rows = self._conn.execute(
                "SELECT address, principal FROM aliases WHERE principal = ? ORDER BY address",
                (principal,),
            )
        return [(address, pid) for address, pid in rows]

    def app_passwords(self, principal: int) -> list[tuple[AppPassword, str]]:
        rows = self._conn.execute(
            "SELECT id, principal, name, created, last_used, secret_hash FROM app_passwords "
            "WHERE principal = ? ORDER BY name",
            (principal,),
        )
        return [(AppPassword(*row[:5]), row[5]) for row in rows]

    def tokens(self, principal: int | None = None) -> list[Token]:
        query = "SELECT id, principal, name, created, expires FROM tokens"
        if principal is None:
            return [Token(*row) for row in self._conn.execute(query + " ORDER BY name")]
        return [
            Token(*row)
            for row in self._conn.execute(
                query + " WHERE principal = ? ORDER BY name", (principal,)
            )
        ]

    def token_by_digest(self, digest: bytes) -> Token | None:
        row = self._conn.execute(
            "SELECT id, principal, name, created, expires FROM tokens WHERE digest = ?",
            (digest,),
        ).fetchone()
        return Token(*row) if row else None

    def current_modseq(self, account: int) -> int:
        row = self._conn.execute(
            "SELECT modseq FROM account_state WHERE account = ?", (account,)
        ).fetchone()
        return int(row[0]) if row else 0

    def changes_since(
        self, account: int, kind: str, since: int
    ) -> list[tuple[int, int, bool, bool]]:
        rows = self._conn.execute(
            "SELECT modseq, item, created, destroyed FROM changes "
            "WHERE account = ? AND kind = ? AND modseq > ? ORDER BY modseq, item",
            (account, kind, since),
        )
        return [(m, item, bool(c), bool(d)) for m, item, c, d in rows]

    def mailbox(self, mailbox: int) -> Mailbox | None:
        return mailbox_from_row(
            self._conn.execute(
                f"SELECT {MAILBOX_COLUMNS} FROM mailboxes WHERE id = ?", (mailbox,)
            ).fetchone()
        )

    def mailboxes(self, account: int) -> list[Mailbox]:
        rows = self._conn.execute(
            f"SELECT {MAILBOX_COLUMNS} FROM mailboxes WHERE account = ? ORDER BY id", (account,)
        )
        return [m for m in map(mailbox_from_row, rows) if m is not None]

    def blob(self, blob: str) -> bytes | None:
        row = self._conn.execute("SELECT data FROM blobs WHERE id = ?", (blob,)).fetchone()
        return bytes(row[0]) if row else None

    def email_row(self, email: int) -> EmailRow | None:
        row = self._conn.execute(
            "SELECT account, blob, thread, received_at, size, sent_at, message_id, subject, "
            "base_subject, sender, has_attachment, preview, structure, modseq "
            "FROM emails WHERE id = ?",
            (email,),
        ).fetchone()
        if row is None:
            return None
        return EmailRow(*row[:10], bool(row[10]), *row[11:])

    def keywords(self, email: int) -> frozenset[str]:
        return frozenset(
            k
            for (k,) in self._conn.execute("SELECT keyword FROM keywords WHERE email = ?", (email,))
        )

    def memberships(self, email: int) -> list[Membership]:
        return [
            Membership(*row)
            for row in self._conn.execute(
                "SELECT mailbox, uid, email, modseq FROM memberships WHERE email = ? "
                "ORDER BY mailbox",
                (email,),
            )
        ]

    def mailbox_members(self, mailbox: int) -> list[Membership]:
        return [
            Membership(*row)
            for row in self._conn.execute(
                "SELECT mailbox, uid, email, modseq FROM memberships WHERE mailbox = ? "
                "ORDER BY uid",
                (mailbox,),
            )
        ]

    def threads_for(self, account: int, message_ids: list[str]) -> list[int]:
        if not message_ids:
            return []
        marks = ", ".join("?" for _ in message_ids)
        return [
            t
            for (t,) in self._conn.execute(
                "SELECT DISTINCT thread FROM thread_refs "
                f"WHERE account = ? AND message_id IN ({marks})",
                (account, *message_ids),
            )
        ]

    def thread_has_subject(self, account: int, thread: int, base_subject: str) -> bool:
        return (
            self._conn.execute(
                "SELECT 1 FROM emails "
                "WHERE account = ? AND thread = ? AND base_subject = ? LIMIT 1",
                (account, thread, base_subject),
            ).fetchone()
            is not None
        )
