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

import re
from collections.abc import Sequence
from typing import Any

import psycopg

from kernel.store.email_text import EmailText
from kernel.store.mail_records import EmailRow, Mailbox, Membership
from kernel.store.records import AppPassword, Domain, Principal, ScramSecret, Token
from kernel.store.rows import (
    EMAIL_COLUMNS,
    EMAIL_TEXT_COLUMNS,
    MAILBOX_COLUMNS,
    MEMBERSHIP_COLUMNS,
    PRINCIPAL_COLUMNS,
    mailbox_from_row,
    principal_from_row,
)
from kernel.store.sql_filters import CompiledQuery, SqlMailReads

__all__ = ["SCRAM_COLUMNS", "PostgresDialect", "PostgresReadOps"]

#: SCRAM hash -> prefix of its four ``principals`` columns (``_salt``, ``_iterations``,
#: ``_stored_key``, ``_server_key``); SHA-1's came with migration 11.
SCRAM_COLUMNS = {"sha256": "scram", "sha1": "scram_sha1"}

_REGEX_SPECIAL = re.compile(r"([^\w\s])")


def _like_pattern(needle: str) -> str:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class PostgresDialect:
    """The SQL compiler's dialect for PostgreSQL (``kernel.store.sql_filters.Dialect``).

    Text tests are ``LIKE`` with the needle's wildcards escaped: exact substring
    tests on the case-folded texts, which the ``pg_trgm`` GIN indexes answer
    when the extension is available (migration 5). Header tests are a regular
    expression with the needle escaped, anchored at a field's start.
    """

    def contains(self, column: str) -> tuple[str, Any]:
        return f"{column} LIKE ?", _like_pattern

    def header_contains(self, column: str, name: str, needle: str) -> tuple[str, list[Any]]:
        pattern = "\n" + _REGEX_SPECIAL.sub(r"\\\1", name) + ": [^\n]*"
        pattern += _REGEX_SPECIAL.sub(r"\\\1", needle)
        return f"({column} LIKE ? AND {column} ~ ?)", [_like_pattern(needle), pattern]

    def in_list(self, expression: str, values: Sequence[int]) -> tuple[str, list[Any]]:
        return f"{expression} = ANY(?::bigint[])", [list(values)]

    def text_candidates(
        self, email: str, columns: tuple[str, ...], needle: str
    ) -> tuple[str, list[Any]] | None:
        return None  # the LIKE tests use the trigram indexes themselves

    def sort_text(self, expression: str) -> str:
        return f'{expression} COLLATE "C"'


_DIALECT = PostgresDialect()


class PostgresReadOps(SqlMailReads):
    """Read operations over one connection (the transaction is the caller's)."""

    dialect = _DIALECT
    backend_name = "postgres"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def select(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._all(sql.replace("?", "%s"), tuple(params))

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

    def scram_secret(self, principal: int, hash_name: str = "sha256") -> ScramSecret | None:
        p = SCRAM_COLUMNS[hash_name]
        row = self._one(
            f"SELECT {p}_salt, {p}_iterations, {p}_stored_key, {p}_server_key "
            f"FROM principals WHERE id = %s AND {p}_salt IS NOT NULL",
            (principal,),
        )
        if row is None:
            return None
        return ScramSecret(bytes(row[0]), row[1], bytes(row[2]), bytes(row[3]), hash_name)

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
        row = self._one("SELECT data FROM blobs WHERE id = %s AND NOT external", (blob,))
        return bytes(row[0]) if row else None

    def existing_blobs(self, blobs: Sequence[str]) -> set[str]:
        rows = self._all("SELECT id FROM blobs WHERE id = ANY(%s::text[])", (list(blobs),))
        return {b for (b,) in rows}

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

    # ---- queries, counts and mailbox changes ---------------------------------

    def _rows(self, query: CompiledQuery) -> list[tuple[Any, ...]]:
        return self._all(query.sql.replace("?", "%s"), tuple(query.params))

    def email_text(self, email: int) -> EmailText | None:
        row = self._one(f"SELECT {EMAIL_TEXT_COLUMNS} FROM email_text WHERE email = %s", (email,))
        return EmailText(*row) if row else None

    def expunged_since(self, mailbox: int, since: int) -> list[int]:
        rows = self._all(
            "SELECT uid FROM expunged WHERE mailbox = %s AND modseq > %s ORDER BY uid",
            (mailbox, since),
        )
        return [uid for (uid,) in rows]

    def log_floor(self, account: int) -> int:
        row = self._one("SELECT floor FROM account_state WHERE account = %s", (account,))
        return int(row[0]) if row else 0

    def modseq_before(self, account: int, when: float) -> int:
        row = self._one(
            "SELECT max(modseq) FROM log_marks WHERE account = %s AND at < %s", (account, when)
        )
        return int(row[0] or 0) if row else 0

    # ---- sharing and annotations ---------------------------------------------

    def acl(self, mailbox: int) -> list[tuple[int, str]]:
        rows = self._all(
            "SELECT principal, rights FROM mailbox_acl WHERE mailbox = %s ORDER BY principal",
            (mailbox,),
        )
        return [(p, r) for p, r in rows]

    def acl_grantees(self, mailboxes: Sequence[int]) -> list[tuple[int, int]]:
        rows = self._all(
            "SELECT mailbox, principal FROM mailbox_acl WHERE mailbox = ANY(%s) "
            "AND strpos(rights, 'l') > 0 ORDER BY mailbox, principal",
            (list(mailboxes),),
        )
        return [(m, p) for m, p in rows]

    def shared_mailboxes(self, principal: int) -> list[tuple[Mailbox, str]]:
        columns = ", ".join(f"b.{c.strip()}" for c in MAILBOX_COLUMNS.split(","))
        rows = self._all(
            f"SELECT {columns}, a.rights FROM mailbox_acl a JOIN mailboxes b ON b.id = a.mailbox "
            "WHERE a.principal = %s AND b.account <> %s AND strpos(a.rights, 'l') > 0 "
            "ORDER BY b.id",
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
        rows = self._all(
            "SELECT name, value FROM metadata WHERE mailbox = %s AND principal = %s "
            "AND (name = %s OR name LIKE %s) ORDER BY name",
            (mailbox, principal, name, below),
        )
        return [(n, bytes(v)) for n, v in rows]

    def count_metadata(self, mailbox: int, principal: int) -> int:
        row = self._one(
            "SELECT count(*) FROM metadata WHERE mailbox = %s AND principal = %s",
            (mailbox, principal),
        )
        return int(row[0]) if row else 0
