"""The read operations (``kernel.store.interfaces.ReadOps``) in SQLite's dialect."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from kernel.store.email_text import EmailText
from kernel.store.mail_records import EmailRow, Mailbox, Membership
from kernel.store.records import AppPassword, Domain, Principal, ScramSecret, Token
from kernel.store.rows import (
    EMAIL_TEXT_COLUMNS,
    MAILBOX_COLUMNS,
    PRINCIPAL_COLUMNS,
    mailbox_from_row,
    principal_from_row,
)
from kernel.store.sql_filters import CompiledQuery, SqlMailReads
from plugins.store_sqlite.search_index import fts_table

__all__ = ["SCRAM_COLUMNS", "SqliteDialect", "SqliteReadOps", "header_contains"]

#: SCRAM hash -> prefix of its four ``principals`` columns (``_salt``, ``_iterations``,
#: ``_stored_key``, ``_server_key``); SHA-1's came with migration 11.
SCRAM_COLUMNS = {"sha256": "scram", "sha1": "scram_sha1"}


def header_contains(headers: str | None, name: str, needle: str) -> int:
    """SQL function: whether a stored ``headers`` text has field ``name`` containing
    ``needle`` (registered on every connection as ``header_contains``)."""
    if headers is None:
        return 0
    prefix = f"\n{name}: "
    start = headers.find(prefix)
    while start >= 0:
        value_start = start + len(prefix)
        end = headers.find("\n", value_start)
        end = len(headers) if end < 0 else end
        if needle in headers[value_start:end]:
            return 1
        start = headers.find(prefix, end)
    return 0


class SqliteDialect:
    """The SQL compiler's dialect for SQLite (``kernel.store.sql_filters.Dialect``).

    Text tests are ``instr`` on the case-folded texts; the FTS5 trigram index
    (``search.fts_<column>``, one table per column, with positions, in the search
    file that :mod:`plugins.store_sqlite.search_index` fills) narrows them first for
    needles of three characters or more: an email whose column holds every trigram
    of the needle, in order, is a candidate, and so is every email the index has not
    reached yet.
    That lets false candidates through, never drops a true one,
    and the ``instr`` test is exact.
    """

    def contains(self, column: str) -> tuple[str, Any]:
        return f"instr({column}, ?) > 0", str

    def header_contains(self, column: str, name: str, needle: str) -> tuple[str, list[Any]]:
        return f"header_contains({column}, ?, ?)", [name, needle]

    def in_list(self, expression: str, values: Sequence[int]) -> tuple[str, list[Any]]:
        return f"{expression} IN (SELECT value FROM json_each(?))", [json.dumps(list(values))]

    def text_candidates(
        self, email: str, columns: tuple[str, ...], needle: str
    ) -> tuple[str, list[Any]] | None:
        if len(needle) < 3:
            return None  # a trigram index cannot look up fewer than three characters
        # The index keeps positions (detail=full), so the needle is one phrase of
        # consecutive trigrams: the candidates are the emails holding it as a
        # substring, up to the tokenizer's case folding.
        phrase = '"' + needle.replace('"', '""') + '"'
        lookups = " UNION ALL ".join(
            f"SELECT rowid FROM search.{fts_table(c)} WHERE {fts_table(c)} MATCH ?" for c in columns
        )
        # Emails above the index's watermark are not indexed yet: they are all
        # candidates (plugins/store_sqlite/search_index.py; the indexer reads
        # email_text, so an email without a row there is never a match). One IN list
        # rather than "IN ... OR > upto", so an index on the email column can look
        # the candidates up instead of testing every row.
        return (
            f"{email} IN ({lookups} UNION ALL SELECT email FROM email_text"
            " WHERE email > (SELECT value FROM search.state WHERE key = 'upto'))",
            [phrase] * len(columns),
        )

    def sort_text(self, expression: str) -> str:
        return expression


_DIALECT = SqliteDialect()


class SqliteReadOps(SqlMailReads):
    """Reads over one connection (the transaction is the caller's)."""

    dialect = _DIALECT
    backend_name = "sqlite"
    count_threads_by_surplus = True  # count(DISTINCT thread) reads every match's row

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def select(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, tuple(params)).fetchall()

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

    def scram_secret(self, principal: int, hash_name: str = "sha256") -> ScramSecret | None:
        p = SCRAM_COLUMNS[hash_name]
        row = self._conn.execute(
            f"SELECT {p}_salt, {p}_iterations, {p}_stored_key, {p}_server_key "
            f"FROM principals WHERE id = ? AND {p}_salt IS NOT NULL",
            (principal,),
        ).fetchone()
        if row is None:
            return None
        return ScramSecret(bytes(row[0]), row[1], bytes(row[2]), bytes(row[3]), hash_name)

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
        row = self._conn.execute(
            "SELECT data FROM blobs WHERE id = ? AND NOT external", (blob,)
        ).fetchone()
        return bytes(row[0]) if row else None

    def existing_blobs(self, blobs: Sequence[str]) -> set[str]:
        return {
            b
            for (b,) in self._conn.execute(
                "SELECT id FROM blobs WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(blobs)),),
            )
        }

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

    def _rows(self, query: CompiledQuery) -> list[tuple[Any, ...]]:
        return self._conn.execute(query.sql, query.params).fetchall()

    def email_text(self, email: int) -> EmailText | None:
        row = self._conn.execute(
            f"SELECT {EMAIL_TEXT_COLUMNS} FROM email_text WHERE email = ?", (email,)
        ).fetchone()
        return EmailText(*row) if row else None

    def expunged_since(self, mailbox: int, since: int) -> list[int]:
        return [
            uid
            for (uid,) in self._conn.execute(
                "SELECT uid FROM expunged WHERE mailbox = ? AND modseq > ? ORDER BY uid",
                (mailbox, since),
            )
        ]

    def log_floor(self, account: int) -> int:
        row = self._conn.execute(
            "SELECT floor FROM account_state WHERE account = ?", (account,)
        ).fetchone()
        return int(row[0]) if row else 0

    def modseq_before(self, account: int, when: float) -> int:
        row = self._conn.execute(
            "SELECT max(modseq) FROM log_marks WHERE account = ? AND at < ?", (account, when)
        ).fetchone()
        return int(row[0] or 0)

    def acl(self, mailbox: int) -> list[tuple[int, str]]:
        return [
            (p, r)
            for p, r in self._conn.execute(
                "SELECT principal, rights FROM mailbox_acl WHERE mailbox = ? ORDER BY principal",
                (mailbox,),
            )
        ]

    def acl_grantees(self, mailboxes: Sequence[int]) -> list[tuple[int, int]]:
        sql, params = _DIALECT.in_list("mailbox", list(mailboxes))
        return [
            (m, p)
            for m, p in self._conn.execute(
                f"SELECT mailbox, principal FROM mailbox_acl WHERE {sql} "
                "AND instr(rights, 'l') > 0 ORDER BY mailbox, principal",
                params,
            )
        ]

    def shared_mailboxes(self, principal: int) -> list[tuple[Mailbox, str]]:
        columns = ", ".join(f"b.{c.strip()}" for c in MAILBOX_COLUMNS.split(","))
        rows = self._conn.execute(
            f"SELECT {columns}, a.rights FROM mailbox_acl a JOIN mailboxes b ON b.id = a.mailbox "
            "WHERE a.principal = ? AND b.account <> ? AND instr(a.rights, 'l') > 0 ORDER BY b.id",
            (principal, principal),
        )
        found = []
        for row in rows:
            mailbox = mailbox_from_row(row[:-1])
            assert mailbox is not None
            found.append((mailbox, row[-1]))
        return found

    def metadata_entries(self, mailbox: int, principal: int, name: str) -> list[tuple[str, bytes]]:
        below = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"
        return [
            (n, bytes(v))
            for n, v in self._conn.execute(
                "SELECT name, value FROM metadata WHERE mailbox = ? AND principal = ? "
                "AND (name = ? OR name LIKE ? ESCAPE '\\') ORDER BY name",
                (mailbox, principal, name, below),
            )
        ]

    def count_metadata(self, mailbox: int, principal: int) -> int:
        return int(
            self._conn.execute(
                "SELECT count(*) FROM metadata WHERE mailbox = ? AND principal = ?",
                (mailbox, principal),
            ).fetchone()[0]
        )
