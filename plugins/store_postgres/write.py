"""The typed write operations (``kernel.store.interfaces.WriteOps``) in PostgreSQL's dialect.

Implementation notes:

* Same behaviour and exceptions as ``plugins/store_sqlite/read.py and write.py``: a unique
  violation becomes ``DuplicateUid``, an update or delete that hits no row
  ``NoSuchItem``. A missing referenced row (a foreign-key violation, e.g. the
  principal was deleted meanwhile) becomes ``NoSuchItem`` too, and deleting a
  mailbox that gained a child meanwhile ``DuplicateUid`` as the domain API's
  own check says.
* A failed statement aborts a whole PostgreSQL transaction, whereas SQLite
  undoes just the statement and lets the write function go on. Inserts therefore
  use ``ON CONFLICT DO NOTHING`` and report a duplicate when no row came back
  (no error, so the transaction goes on, as on SQLite); updates of a column in a
  unique index (names, parents, roles) run in a savepoint. Savepoints are kept
  off the hot paths (``bump_modseq``, ``uidnext`` and ``modseq`` updates): each
  costs two round trips and a subtransaction, and more than 64 subtransactions
  in one transaction slow down every snapshot in the cluster. A foreign-key
  violation outside a savepoint (a referenced row deleted concurrently) still
  aborts the transaction: the write function must let that ``NoSuchItem``
  propagate.
* Write transactions run at READ COMMITTED (each statement sees what committed
  before it began). ``bump_modseq`` locks the account's ``account_state`` row
  until commit, so transactions of one account run one after another, commit
  in modseq order, and everything a write function reads after its
  ``bump_modseq`` is current. The one cross-table rule the domain API checks
  before writing, "an address is an account or an alias, not both", is
  re-checked here under a transaction-scoped advisory lock on the address, since
  concurrent writers (unlike SQLite's single writer) could otherwise both pass
  the domain API's check.
* Blobs are shared by every account (content-addressed), so two accounts'
  transactions may meet on one. ``put_blob`` is a single upsert, atomic even
  against a concurrent insert or a concurrent delete of the last reference.
  ``release_blob`` decrements first and deletes the row only if that left no
  reference, while still holding the row lock the decrement took, so no
  concurrent ``put_blob`` can slip in between. Two transactions releasing the
  same two shared blobs in opposite orders can deadlock; PostgreSQL aborts one
  and ``connection.py`` runs it again.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple, fields
from typing import Any, final

from psycopg import errors
from psycopg.sql import SQL, Identifier

from kernel.errors import DuplicateUid, NoSuchItem
from kernel.store.email_text import EmailText
from kernel.store.interfaces import Executed
from kernel.store.mail_records import EmailRow, Membership
from kernel.store.records import ScramSecret
from kernel.store.rows import EMAIL_COLUMNS, EMAIL_TEXT_COLUMNS
from plugins.store_postgres.read import SCRAM_COLUMNS, PostgresReadOps
from plugins.store_postgres.schema import advisory_key

__all__ = ["PostgresWriteOps"]

#: A time mark is logged at most this often per account (prune precision).
MARK_INTERVAL = 3600.0
_MAILBOX_UPDATABLE = {"parent", "name", "role", "sort_order", "subscribed", "uidnext", "modseq"}
#: Columns in a unique index: updating them may clash, so it runs in a savepoint.
_MAILBOX_UNIQUE = frozenset({"parent", "name", "role"})
_UPDATABLE = {"enabled", "role", "quota", "quota_messages", "description", "name", "used"}
_INSERT_EMAIL = (
    f"INSERT INTO emails ({EMAIL_COLUMNS}) "
    f"VALUES ({', '.join(['%s'] * len(fields(EmailRow)))}) RETURNING id"
)


def _scram_values(keys: ScramSecret | None) -> list[Any]:
    if keys is None:
        return [None, None, None, None]
    return [keys.salt, keys.iterations, keys.stored_key, keys.server_key]


def _assignments(fields: dict[str, object]) -> SQL:
    return SQL(", ").join(SQL("{} = %s").format(Identifier(name)) for name in fields)


@final
class PostgresWriteOps(PostgresReadOps):
    """Read and write operations over one connection (the transaction is the caller's)."""

    @contextmanager
    def _translated(
        self, duplicate: str, missing: str = "", *, savepoint: bool = False
    ) -> Iterator[None]:
        """Translate constraint violations; with ``savepoint``, undo only the statement."""
        try:
            if savepoint:
                with self._conn.transaction():
                    yield
            else:
                yield
        except errors.UniqueViolation as exc:
            raise DuplicateUid(duplicate) from exc
        except errors.ForeignKeyViolation as exc:
            raise NoSuchItem(missing or "a referenced item does not exist") from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Executed:
        with self._translated("the item already exists"):
            cursor = self._conn.execute(sql.replace("?", "%s"), tuple(params))
            rows = cursor.fetchall() if cursor.description is not None else []
        return Executed(rows, cursor.rowcount)

    def _insert(
        self, query: str, params: tuple[Any, ...], duplicate: str, missing: str = ""
    ) -> int:
        """Run an ``INSERT ... ON CONFLICT DO NOTHING RETURNING id``; DuplicateUid if skipped."""
        with self._translated(duplicate, missing):
            row = self._one(query, params)
        if row is None:
            raise DuplicateUid(duplicate)
        return int(row[0])

    def _lock_address(self, address: str) -> None:
        """Hold a lock on ``address`` until commit (accounts and aliases share addresses)."""
        self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key("address", address),))

    def _check_not_alias(self, name: str) -> None:
        self._lock_address(name)
        if self.alias_target(name) is not None:
            raise DuplicateUid(f"{name} is already an alias")

    # ---- directory -----------------------------------------------------------

    def insert_principal(
        self, kind: str, name: str, role: str, quota: int, description: str, created: float
    ) -> int:
        self._check_not_alias(name)
        return self._insert(
            "INSERT INTO principals (kind, name, role, quota, description, created) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            (kind, name, role, quota, description, created),
            f"principal {name!r} already exists",
        )

    def update_principal(self, principal: int, **fields: object) -> None:
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if not fields:
            return
        name = fields.get("name")
        if isinstance(name, str):
            self._check_not_alias(name)
        with self._translated(f"principal name {name!r} is taken", savepoint="name" in fields):
            cursor = self._conn.execute(
                SQL("UPDATE principals SET {} WHERE id = %s").format(_assignments(fields)),
                (*fields.values(), principal),
            )
        if cursor.rowcount == 0:
            raise NoSuchItem(f"no principal {principal}")

    def set_secret(self, principal: int, secret_hash: str, scram: Collection[ScramSecret]) -> None:
        given = {keys.hash_name: keys for keys in scram}
        assignments, values = ["secret_hash = %s"], [secret_hash]
        for hash_name, p in SCRAM_COLUMNS.items():
            keys = given.get(hash_name)
            assignments.append(
                f"{p}_salt = %s, {p}_iterations = %s, {p}_stored_key = %s, {p}_server_key = %s"
            )
            values += _scram_values(keys)
        cursor = self._conn.execute(
            f"UPDATE principals SET {', '.join(assignments)} WHERE id = %s",
            (*values, principal),
        )
        if cursor.rowcount == 0:
            raise NoSuchItem(f"no principal {principal}")

    def set_scram_secret(self, principal: int, scram: ScramSecret, *, secret_hash: str) -> bool:
        p = SCRAM_COLUMNS[scram.hash_name]
        cursor = self._conn.execute(
            f"UPDATE principals SET {p}_salt = %s, {p}_iterations = %s, "
            f"{p}_stored_key = %s, {p}_server_key = %s WHERE id = %s AND secret_hash = %s",
            (*_scram_values(scram), principal, secret_hash),
        )
        return cursor.rowcount > 0

    def delete_principal(self, principal: int) -> None:
        self._conn.execute(
            "DELETE FROM metadata WHERE principal = %s "
            "OR mailbox IN (SELECT id FROM mailboxes WHERE account = %s)",
            (principal, principal),
        )
        self._conn.execute("DELETE FROM mailbox_acl WHERE principal = %s", (principal,))
        cursor = self._conn.execute("DELETE FROM principals WHERE id = %s", (principal,))
        if cursor.rowcount == 0:
            raise NoSuchItem(f"no principal {principal}")

    def insert_domain(self, name: str, created: float) -> None:
        self._insert(
            "INSERT INTO domains (name, created) VALUES (%s, %s) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            (name, created),
            f"domain {name!r} already exists",
        )

    def delete_domain(self, name: str) -> None:
        cursor = self._conn.execute("DELETE FROM domains WHERE name = %s", (name,))
        if cursor.rowcount == 0:
            raise NoSuchItem(f"no domain {name!r}")
        self._conn.execute(
            "DELETE FROM aliases WHERE address LIKE %s ESCAPE '\\'",
            ("%@" + name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"),),
        )

    def insert_alias(self, address: str, principal: int) -> None:
        self._lock_address(address)
        if self.principal_by_name(address) is not None:
            raise DuplicateUid(f"{address} is an account")
        self._insert(
            "INSERT INTO aliases (address, principal) VALUES (%s, %s) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            (address, principal),
            f"alias {address!r} already exists",
            f"no principal {principal}",
        )

    def delete_alias(self, address: str) -> bool:
        cursor = self._conn.execute("DELETE FROM aliases WHERE address = %s", (address,))
        return cursor.rowcount > 0

    def insert_app_password(
        self, principal: int, name: str, secret_hash: str, created: float
    ) -> int:
        return self._insert(
            "INSERT INTO app_passwords (principal, name, secret_hash, created) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            (principal, name, secret_hash, created),
            f"app password {name!r} already exists",
            f"no principal {principal}",
        )

    def delete_app_password(self, principal: int, name: str) -> bool:
        cursor = self._conn.execute(
            "DELETE FROM app_passwords WHERE principal = %s AND name = %s", (principal, name)
        )
        return cursor.rowcount > 0

    def touch_app_password(self, password_id: int, when: float) -> None:
        self._conn.execute(
            "UPDATE app_passwords SET last_used = %s WHERE id = %s", (when, password_id)
        )

    def insert_token(
        self, principal: int, name: str, digest: bytes, created: float, expires: float | None
    ) -> int:
        return self._insert(
            "INSERT INTO tokens (principal, name, digest, created, expires) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            (principal, name, digest, created, expires),
            f"token {name!r} already exists",
            f"no principal {principal}",
        )

    def delete_token(self, principal: int, name: str) -> bool:
        cursor = self._conn.execute(
            "DELETE FROM tokens WHERE principal = %s AND name = %s", (principal, name)
        )
        return cursor.rowcount > 0

    # ---- change log ----------------------------------------------------------

    def bump_modseq(self, account: int) -> int:
        # The upsert keeps the row locked until commit: one account's transactions
        # run one at a time, and commit order is modseq order.
        with self._translated("", f"no account {account}"):
            row = self._one(
                "INSERT INTO account_state (account, modseq) VALUES (%s, 1) "
                "ON CONFLICT (account) DO UPDATE SET modseq = account_state.modseq + 1 "
                "RETURNING modseq",
                (account,),
            )
        assert row is not None
        modseq = int(row[0])
        now = time.time()
        self._conn.execute(
            "INSERT INTO log_marks (account, modseq, at) SELECT %s, %s, %s WHERE NOT EXISTS "
            "(SELECT 1 FROM log_marks WHERE account = %s AND at > %s)",
            (account, modseq, now, account, now - MARK_INTERVAL),
        )
        return modseq

    def record_change(
        self,
        account: int,
        modseq: int,
        kind: str,
        item: int,
        *,
        created: bool = False,
        destroyed: bool = False,
    ) -> None:
        self._conn.execute(
            "INSERT INTO changes (account, modseq, kind, item, created, destroyed) "
            "VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (account, kind, modseq, item) DO UPDATE SET "
            "created = changes.created OR excluded.created, "
            "destroyed = changes.destroyed OR excluded.destroyed",
            (account, modseq, kind, item, created, destroyed),
        )

    # ---- mailboxes -----------------------------------------------------------

    def insert_mailbox(
        self,
        account: int,
        parent: int | None,
        name: str,
        role: str | None,
        sort_order: int,
        subscribed: bool,
        uidvalidity: int,
        modseq: int,
    ) -> int:
        return self._insert(
            "INSERT INTO mailboxes (account, parent, name, role, sort_order, subscribed, "
            "uidvalidity, modseq) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING id",
            (account, parent, name, role, sort_order, subscribed, uidvalidity, modseq),
            f"a mailbox {name!r} (or role {role!r}) already exists",
            "no such parent mailbox or account",
        )

    def update_mailbox(self, mailbox: int, **fields: object) -> None:
        unknown = set(fields) - _MAILBOX_UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if not fields:
            return
        with self._translated(
            "a mailbox with that name or role already exists",
            "no such parent mailbox",
            savepoint=not _MAILBOX_UNIQUE.isdisjoint(fields),
        ):
            cursor = self._conn.execute(
                SQL("UPDATE mailboxes SET {} WHERE id = %s").format(_assignments(fields)),
                (*fields.values(), mailbox),
            )
        if cursor.rowcount == 0:
            raise NoSuchItem(f"no mailbox {mailbox}")

    def delete_mailbox(self, mailbox: int) -> None:
        self._conn.execute("DELETE FROM metadata WHERE mailbox = %s", (mailbox,))
        try:
            cursor = self._conn.execute("DELETE FROM mailboxes WHERE id = %s", (mailbox,))
        except errors.ForeignKeyViolation as exc:  # a child was added meanwhile
            raise DuplicateUid("the mailbox has children") from exc
        if cursor.rowcount == 0:
            raise NoSuchItem(f"no mailbox {mailbox}")

    def take_uid(self, mailbox: int, modseq: int, counts: tuple[int, int, int, int, int]) -> int:
        row = self._one(
            "UPDATE mailboxes SET uidnext = uidnext + 1, modseq = %s, "
            "count_messages = count_messages + %s, count_bytes = count_bytes + %s, "
            "count_seen = count_seen + %s, count_seen_or_draft = count_seen_or_draft + %s, "
            "count_deleted = count_deleted + %s WHERE id = %s RETURNING uidnext - 1",
            (modseq, *counts, mailbox),
        )
        if row is None:
            raise NoSuchItem(f"no mailbox {mailbox}")
        return int(row[0])

    # ---- blobs ---------------------------------------------------------------

    def put_blob(self, blob: str, data: bytes | None, created: float, size: int) -> None:
        self._conn.execute(
            "INSERT INTO blobs (id, size, refs, data, created, external) "
            "VALUES (%s, %s, 1, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET refs = blobs.refs + 1",
            (blob, size, b"" if data is None else data, created, data is None),
        )

    def release_blob(self, blob: str) -> None:
        # The decrement locks the row until commit: no put_blob can revive it meanwhile.
        row = self._one("UPDATE blobs SET refs = refs - 1 WHERE id = %s RETURNING refs", (blob,))
        if row is not None and row[0] <= 0:
            self._conn.execute("DELETE FROM blobs WHERE id = %s AND refs <= 0", (blob,))

    # ---- emails --------------------------------------------------------------

    def insert_email(self, row: EmailRow) -> int:
        with self._translated("", f"no account {row.account} or blob {row.blob}"):
            found = self._one(_INSERT_EMAIL, astuple(row))
        assert found is not None
        return int(found[0])

    def set_email_thread(self, email: int, thread: int) -> None:
        self._conn.execute("UPDATE emails SET thread = %s WHERE id = %s", (thread, email))

    def touch_email(self, email: int, modseq: int) -> None:
        self._conn.execute("UPDATE emails SET modseq = %s WHERE id = %s", (modseq, email))

    def delete_email(self, email: int) -> None:
        self._conn.execute("DELETE FROM emails WHERE id = %s", (email,))

    def add_keyword(self, email: int, keyword: str) -> bool:
        with self._translated("", f"no email {email}"):
            cursor = self._conn.execute(
                "INSERT INTO keywords (email, keyword) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (email, keyword),
            )
        return cursor.rowcount > 0

    def remove_keyword(self, email: int, keyword: str) -> bool:
        cursor = self._conn.execute(
            "DELETE FROM keywords WHERE email = %s AND keyword = %s", (email, keyword)
        )
        return cursor.rowcount > 0

    def insert_membership(self, membership: Membership) -> None:
        self._insert(
            "INSERT INTO memberships (mailbox, uid, email, modseq) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            astuple(membership),
            f"email {membership.email} is already in that mailbox",
            f"no mailbox {membership.mailbox} or email {membership.email}",
        )

    def touch_membership(self, mailbox: int, email: int, modseq: int) -> None:
        self._conn.execute(
            "UPDATE memberships SET modseq = %s WHERE mailbox = %s AND email = %s",
            (modseq, mailbox, email),
        )

    def delete_membership(self, mailbox: int, email: int, modseq: int) -> int | None:
        row = self._one(
            "DELETE FROM memberships WHERE mailbox = %s AND email = %s RETURNING uid",
            (mailbox, email),
        )
        if row is None:
            return None
        self._conn.execute(
            "INSERT INTO expunged (mailbox, uid, modseq) VALUES (%s, %s, %s) "
            "ON CONFLICT (mailbox, uid) DO UPDATE SET modseq = excluded.modseq",
            (mailbox, row[0], modseq),
        )
        return int(row[0])

    def add_used(self, account: int, delta: int, messages: int = 0) -> None:
        self._conn.execute(
            "UPDATE principals SET used = GREATEST(0, used + %s), "
            "used_messages = GREATEST(0, used_messages + %s) WHERE id = %s",
            (delta, messages, account),
        )

    def add_thread_refs(self, account: int, thread: int, message_ids: list[str]) -> None:
        if not message_ids:
            return
        with self._translated("", f"no account {account}"):
            self._conn.execute(
                "INSERT INTO thread_refs (account, message_id, thread) "
                "SELECT %s, m, %s FROM unnest(%s::text[]) AS m ON CONFLICT DO NOTHING",
                (account, thread, message_ids),
            )

    # ---- texts, the log's floor, sharing and annotations ---------------------

    def add_blob_ref(self, blob: str) -> None:
        cursor = self._conn.execute("UPDATE blobs SET refs = refs + 1 WHERE id = %s", (blob,))
        if cursor.rowcount == 0:
            raise NoSuchItem(f"no blob {blob}")

    def insert_email_text(self, email: int, text: EmailText) -> None:
        values = astuple(text)
        marks = ", ".join("%s" for _ in values)
        self._conn.execute(
            f"INSERT INTO email_text (email, {EMAIL_TEXT_COLUMNS}) VALUES (%s, {marks})",
            (email, *values),
        )

    def copy_email_text(self, source: int, email: int) -> None:
        self._conn.execute(
            f"INSERT INTO email_text (email, {EMAIL_TEXT_COLUMNS}) "
            f"SELECT %s, {EMAIL_TEXT_COLUMNS} FROM email_text WHERE email = %s",
            (email, source),
        )

    def prune_log(self, account: int, floor: int) -> None:
        self._conn.execute(
            "DELETE FROM changes WHERE account = %s AND modseq <= %s", (account, floor)
        )
        self._conn.execute(
            "DELETE FROM expunged WHERE modseq <= %s "
            "AND mailbox IN (SELECT id FROM mailboxes WHERE account = %s)",
            (floor, account),
        )
        self._conn.execute(
            "DELETE FROM log_marks WHERE account = %s AND modseq < %s", (account, floor)
        )
        self._conn.execute(
            "UPDATE account_state SET floor = GREATEST(floor, %s) WHERE account = %s",
            (floor, account),
        )

    def set_acl(self, mailbox: int, principal: int, rights: str | None) -> None:
        if rights is None:
            self._conn.execute(
                "DELETE FROM mailbox_acl WHERE mailbox = %s AND principal = %s",
                (mailbox, principal),
            )
            return
        with self._translated("", f"no mailbox {mailbox} or principal {principal}"):
            self._conn.execute(
                "INSERT INTO mailbox_acl (mailbox, principal, rights) VALUES (%s, %s, %s) "
                "ON CONFLICT (mailbox, principal) DO UPDATE SET rights = excluded.rights",
                (mailbox, principal, rights),
            )

    def set_metadata(self, mailbox: int, principal: int, name: str, value: bytes | None) -> None:
        if value is None:
            self._conn.execute(
                "DELETE FROM metadata WHERE mailbox = %s AND principal = %s AND name = %s",
                (mailbox, principal, name),
            )
            return
        self._conn.execute(
            "INSERT INTO metadata (mailbox, principal, name, value) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (mailbox, principal, name) DO UPDATE SET value = excluded.value",
            (mailbox, principal, name, value),
        )

    def adjust_mailbox_counts(
        self, mailbox: int, messages: int, size: int, seen: int, seen_or_draft: int, deleted: int
    ) -> None:
        self._conn.execute(
            "UPDATE mailboxes SET "
            "count_messages = count_messages + %s, count_bytes = count_bytes + %s, "
            "count_seen = count_seen + %s, count_seen_or_draft = count_seen_or_draft + %s, "
            "count_deleted = count_deleted + %s WHERE id = %s",
            (messages, size, seen, seen_or_draft, deleted, mailbox),
        )

    # ---- POP3 maildrop leases (kernel.store.maildrop) ------------------------

    def acquire_maildrop_lease(self, account: int, owner: str, expires: float, now: float) -> bool:
        # One statement: the upsert locks the row, so of two nodes racing for an
        # expired lease exactly one sees the old ``expires`` and takes it.
        with self._translated("", f"no account {account}"):
            row = self._one(
                "INSERT INTO maildrop_leases (account, owner, expires) VALUES (%s, %s, %s) "
                "ON CONFLICT (account) DO UPDATE SET owner = excluded.owner, "
                "expires = excluded.expires "
                "WHERE maildrop_leases.expires < %s OR maildrop_leases.owner = excluded.owner "
                "RETURNING 1",
                (account, owner, expires, now),
            )
        return row is not None

    def renew_maildrop_lease(self, account: int, owner: str, expires: float) -> bool:
        cursor = self._conn.execute(
            "UPDATE maildrop_leases SET expires = %s WHERE account = %s AND owner = %s",
            (expires, account, owner),
        )
        return cursor.rowcount > 0

    def release_maildrop_lease(self, account: int, owner: str) -> bool:
        cursor = self._conn.execute(
            "DELETE FROM maildrop_leases WHERE account = %s AND owner = %s", (account, owner)
        )
        return cursor.rowcount > 0
