"""The write operations (``kernel.store.interfaces.WriteOps``) in SQLite's dialect."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Collection, Sequence
from dataclasses import fields
from typing import Any, final

from kernel.errors import DuplicateUid, NoSuchItem
from kernel.store.email_text import EmailText
from kernel.store.interfaces import Executed
from kernel.store.mail_records import EmailRow, Membership
from kernel.store.records import ScramSecret
from kernel.store.rows import EMAIL_TEXT_COLUMNS
from plugins.store_sqlite.read import SCRAM_COLUMNS, SqliteReadOps

__all__ = ["SqliteWriteOps"]

_TEXT_FIELDS = tuple(f.name for f in fields(EmailText))
_INSERT_EMAIL_TEXT = (
    f"INSERT INTO email_text (email, {EMAIL_TEXT_COLUMNS}) "
    f"VALUES (?, {', '.join('?' for _ in _TEXT_FIELDS)})"
)

_UPDATABLE = {"enabled", "role", "quota", "quota_messages", "description", "name", "used"}
#: A time mark is logged at most this often per account (prune precision).
MARK_INTERVAL = 3600.0
_MAILBOX_UPDATABLE = {"parent", "name", "role", "sort_order", "subscribed", "uidnext", "modseq"}


def _scram_values(keys: ScramSecret | None) -> list[Any]:
    if keys is None:
        return [None, None, None, None]
    return [keys.salt, keys.iterations, keys.stored_key, keys.server_key]


@final
class SqliteWriteOps(SqliteReadOps):
    """Reads and writes over the writer's connection (one instance per writer thread)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(conn)
        #: When this writer last logged a time mark per account: the next one is not
        #: due before MARK_INTERVAL, so the check is skipped (a statement saved per
        #: transaction). A mark lost to a rolled-back transaction comes at most one
        #: interval late, which only keeps the log a little longer.
        self._marked: dict[int, float] = {}

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Executed:
        try:
            cursor = self._conn.execute(sql, tuple(params))
            rows = cursor.fetchall()
        except sqlite3.IntegrityError as exc:
            if "FOREIGN KEY" in str(exc):
                raise NoSuchItem("a referenced item does not exist") from exc
            raise DuplicateUid(str(exc)) from exc
        return Executed(rows, cursor.rowcount)

    def insert_principal(
        self, kind: str, name: str, role: str, quota: int, description: str, created: float
    ) -> int:
        try:
            cursor = self._conn.execute(
                "INSERT INTO principals (kind, name, role, quota, description, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (kind, name, role, quota, description, created),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateUid(f"principal {name!r} already exists") from exc
        return int(cursor.lastrowid or 0)

    def update_principal(self, principal: int, **fields: object) -> None:
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if not fields:
            return
        assignments = ", ".join(f"{name} = ?" for name in fields)
        try:
            cursor = self._conn.execute(
                f"UPDATE principals SET {assignments} WHERE id = ?", (*fields.values(), principal)
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateUid(f"principal name {fields.get('name')!r} is taken") from exc
        if cursor.rowcount == 0:
            raise NoSuchItem(f"no principal {principal}")

    def set_secret(self, principal: int, secret_hash: str, scram: Collection[ScramSecret]) -> None:
        given = {keys.hash_name: keys for keys in scram}
        assignments, values = ["secret_hash = ?"], [secret_hash]
        for hash_name, p in SCRAM_COLUMNS.items():
            keys = given.get(hash_name)
            assignments.append(
                f"{p}_salt = ?, {p}_iterations = ?, {p}_stored_key = ?, {p}_server_key = ?"
            )
            values += _scram_values(keys)
        cursor = self._conn.execute(
            f"UPDATE principals SET {', '.join(assignments)} WHERE id = ?", (*values, principal)
        )
        if cursor.rowcount == 0:
            raise NoSuchItem(f"no principal {principal}")

    def set_scram_secret(self, principal: int, scram: ScramSecret, *, secret_hash: str) -> bool:
        p = SCRAM_COLUMNS[scram.hash_name]
        cursor = self._conn.execute(
            f"UPDATE principals SET {p}_salt = ?, {p}_iterations = ?, {p}_stored_key = ?, "
            f"{p}_server_key = ? WHERE id = ? AND secret_hash = ?",
            (*_scram_values(scram), principal, secret_hash),
        )
        return cursor.rowcount > 0

    def delete_principal(self, principal: int) -> None:
        self._conn.execute(
            "DELETE FROM metadata WHERE principal = ? "
            "OR mailbox IN (SELECT id FROM mailboxes WHERE account = ?)",
            (principal, principal),
        )
        self._conn.execute("DELETE FROM mailbox_acl WHERE principal = ?", (principal,))
        cursor = self._conn.execute("DELETE FROM principals WHERE id = ?", (principal,))
        if cursor.rowcount == 0:
            raise NoSuchItem(f"no principal {principal}")

    def insert_domain(self, name: str, created: float) -> None:
        try:
            self._conn.execute("INSERT INTO domains (name, created) VALUES (?, ?)", (name, created))
        except sqlite3.IntegrityError as exc:
            raise DuplicateUid(f"domain {name!r} already exists") from exc

    def delete_domain(self, name: str) -> None:
        cursor = self._conn.execute("DELETE FROM domains WHERE name = ?", (name,))
        if cursor.rowcount == 0:
            raise NoSuchItem(f"no domain {name!r}")
        self._conn.execute(
            "DELETE FROM aliases WHERE address LIKE ? ESCAPE '\\'",
            ("%@" + name.replace("%", "\\%").replace("_", "\\_"),),
        )

    def insert_alias(self, address: str, principal: int) -> None:
        try:
            self._conn.execute(
                "INSERT INTO aliases (address, principal) VALUES (?, ?)", (address, principal)
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateUid(f"alias {address!r} already exists") from exc

    def delete_alias(self, address: str) -> bool:
        return self._conn.execute("DELETE FROM aliases WHERE address = ?", (address,)).rowcount > 0

    def insert_app_password(
        self, principal: int, name: str, secret_hash: str, created: float
    ) -> int:
        try:
            cursor = self._conn.execute(
                "INSERT INTO app_passwords (principal, name, secret_hash, created) "
                "VALUES (?, ?, ?, ?)",
                (principal, name, secret_hash, created),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateUid(f"app password {name!r} already exists") from exc
        return int(cursor.lastrowid or 0)

    def delete_app_password(self, principal: int, name: str) -> bool:
        return (
            self._conn.execute(
                "DELETE FROM app_passwords WHERE principal = ? AND name = ?", (principal, name)
            ).rowcount
            > 0
        )

    def touch_app_password(self, password_id: int, when: float) -> None:
        self._conn.execute(
            "UPDATE app_passwords SET last_used = ? WHERE id = ?", (when, password_id)
        )

    def insert_token(
        self, principal: int, name: str, digest: bytes, created: float, expires: float | None
    ) -> int:
        try:
            cursor = self._conn.execute(
                "INSERT INTO tokens (principal, name, digest, created, expires) "
                "VALUES (?, ?, ?, ?, ?)",
                (principal, name, digest, created, expires),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateUid(f"token {name!r} already exists") from exc
        return int(cursor.lastrowid or 0)

    def delete_token(self, principal: int, name: str) -> bool:
        return (
            self._conn.execute(
                "DELETE FROM tokens WHERE principal = ? AND name = ?", (principal, name)
            ).rowcount
            > 0
        )

    def bump_modseq(self, account: int) -> int:
        try:
            row = self._conn.execute(
                "INSERT INTO account_state (account, modseq) VALUES (?, 1) "
                "ON CONFLICT (account) DO UPDATE SET modseq = modseq + 1 RETURNING modseq",
                (account,),
            ).fetchone()
        except sqlite3.IntegrityError as exc:  # the account's row is gone
            raise NoSuchItem(f"no account {account}") from exc
        modseq = int(row[0])
        now = time.time()
        if now - self._marked.get(account, -MARK_INTERVAL) >= MARK_INTERVAL:
            self._conn.execute(
                "INSERT INTO log_marks (account, modseq, at) SELECT ?, ?, ? WHERE NOT EXISTS "
                "(SELECT 1 FROM log_marks WHERE account = ? AND at > ?)",
                (account, modseq, now, account, now - MARK_INTERVAL),
            )
            self._marked[account] = now
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
            "VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (account, kind, modseq, item) DO UPDATE SET "
            "created = changes.created OR excluded.created, "
            "destroyed = changes.destroyed OR excluded.destroyed",
            (account, modseq, kind, item, created, destroyed),
        )

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
        try:
            cursor = self._conn.execute(
                "INSERT INTO mailboxes (account, parent, name, role, sort_order, subscribed, "
                "uidvalidity, modseq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (account, parent, name, role, sort_order, subscribed, uidvalidity, modseq),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateUid(f"a mailbox {name!r} (or role {role!r}) already exists") from exc
        return int(cursor.lastrowid or 0)

    def update_mailbox(self, mailbox: int, **fields: object) -> None:
        unknown = set(fields) - _MAILBOX_UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        try:
            cursor = self._conn.execute(
                f"UPDATE mailboxes SET {assignments} WHERE id = ?", (*fields.values(), mailbox)
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateUid("a mailbox with that name or role already exists") from exc
        if cursor.rowcount == 0:
            raise NoSuchItem(f"no mailbox {mailbox}")

    def delete_mailbox(self, mailbox: int) -> None:
        self._conn.execute("DELETE FROM metadata WHERE mailbox = ?", (mailbox,))
        if self._conn.execute("DELETE FROM mailboxes WHERE id = ?", (mailbox,)).rowcount == 0:
            raise NoSuchItem(f"no mailbox {mailbox}")

    def take_uid(self, mailbox: int, modseq: int, counts: tuple[int, int, int, int, int]) -> int:
        row = self._conn.execute(
            "UPDATE mailboxes SET uidnext = uidnext + 1, modseq = ?, "
            "count_messages = count_messages + ?, count_bytes = count_bytes + ?, "
            "count_seen = count_seen + ?, count_seen_or_draft = count_seen_or_draft + ?, "
            "count_deleted = count_deleted + ? WHERE id = ? RETURNING uidnext - 1",
            (modseq, *counts, mailbox),
        ).fetchone()
        if row is None:
            raise NoSuchItem(f"no mailbox {mailbox}")
        return int(row[0])

    def put_blob(self, blob: str, data: bytes | None, created: float, size: int) -> None:
        self._conn.execute(
            "INSERT INTO blobs (id, size, refs, data, created, external) VALUES (?, ?, 1, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET refs = refs + 1",
            (blob, size, b"" if data is None else data, created, data is None),
        )

    def release_blob(self, blob: str) -> None:
        self._conn.execute("UPDATE blobs SET refs = refs - 1 WHERE id = ?", (blob,))
        self._conn.execute("DELETE FROM blobs WHERE id = ? AND refs <= 0", (blob,))

    def insert_email(self, row: EmailRow) -> int:
        cursor = self._conn.execute(
            "INSERT INTO emails (account, blob, thread, received_at, size, sent_at, message_id, "
            "subject, base_subject, sender, has_attachment, preview, structure, modseq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.account,
                row.blob,
                row.thread,
                row.received_at,
                row.size,
                row.sent_at,
                row.message_id,
                row.subject,
                row.base_subject,
                row.sender,
                row.has_attachment,
                row.preview,
                row.structure,
                row.modseq,
            ),
        )
        return int(cursor.lastrowid or 0)

    def set_email_thread(self, email: int, thread: int) -> None:
        self._conn.execute("UPDATE emails SET thread = ? WHERE id = ?", (thread, email))

    def touch_email(self, email: int, modseq: int) -> None:
        self._conn.execute("UPDATE emails SET modseq = ? WHERE id = ?", (modseq, email))

    def delete_email(self, email: int) -> None:
        self._conn.execute("DELETE FROM emails WHERE id = ?", (email,))

    def add_keyword(self, email: int, keyword: str) -> bool:
        return (
            self._conn.execute(
                "INSERT OR IGNORE INTO keywords (email, keyword) VALUES (?, ?)", (email, keyword)
            ).rowcount
            > 0
        )

    def remove_keyword(self, email: int, keyword: str) -> bool:
        return (
            self._conn.execute(
                "DELETE FROM keywords WHERE email = ? AND keyword = ?", (email, keyword)
            ).rowcount
            > 0
        )

    def insert_membership(self, membership: Membership) -> None:
        try:
            self._conn.execute(
                "INSERT INTO memberships (mailbox, uid, email, modseq) VALUES (?, ?, ?, ?)",
                (membership.mailbox, membership.uid, membership.email, membership.modseq),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateUid(f"email {membership.email} is already in that mailbox") from exc

    def touch_membership(self, mailbox: int, email: int, modseq: int) -> None:
        self._conn.execute(
            "UPDATE memberships SET modseq = ? WHERE mailbox = ? AND email = ?",
            (modseq, mailbox, email),
        )

    def delete_membership(self, mailbox: int, email: int, modseq: int) -> int | None:
        row = self._conn.execute(
            "DELETE FROM memberships WHERE mailbox = ? AND email = ? RETURNING uid",
            (mailbox, email),
        ).fetchone()
        if row is None:
            return None
        self._conn.execute(
            "INSERT INTO expunged (mailbox, uid, modseq) VALUES (?, ?, ?)",
            (mailbox, row[0], modseq),
        )
        return int(row[0])

    def add_used(self, account: int, delta: int, messages: int = 0) -> None:
        self._conn.execute(
            "UPDATE principals SET used = max(0, used + ?), "
            "used_messages = max(0, used_messages + ?) WHERE id = ?",
            (delta, messages, account),
        )

    def add_thread_refs(self, account: int, thread: int, message_ids: list[str]) -> None:
        self._conn.executemany(
            "INSERT OR IGNORE INTO thread_refs (account, message_id, thread) VALUES (?, ?, ?)",
            [(account, mid, thread) for mid in message_ids],
        )

    def add_blob_ref(self, blob: str) -> None:
        if self._conn.execute("UPDATE blobs SET refs = refs + 1 WHERE id = ?", (blob,)).rowcount:
            return
        raise NoSuchItem(f"no blob {blob}")

    def insert_email_text(self, email: int, text: EmailText) -> None:
        # The texts are flat strings: no deep copy (dataclasses.astuple) needed.
        self._conn.execute(_INSERT_EMAIL_TEXT, (email, *(getattr(text, n) for n in _TEXT_FIELDS)))

    def copy_email_text(self, source: int, email: int) -> None:
        self._conn.execute(
            f"INSERT INTO email_text (email, {EMAIL_TEXT_COLUMNS}) "
            f"SELECT ?, {EMAIL_TEXT_COLUMNS} FROM email_text WHERE email = ?",
            (email, source),
        )

    def prune_log(self, account: int, floor: int) -> None:
        self._conn.execute(
            "DELETE FROM changes WHERE account = ? AND modseq <= ?", (account, floor)
        )
        self._conn.execute(
            "DELETE FROM expunged WHERE modseq <= ? "
            "AND mailbox IN (SELECT id FROM mailboxes WHERE account = ?)",
            (floor, account),
        )
        self._conn.execute(
            "DELETE FROM log_marks WHERE account = ? AND modseq < ?", (account, floor)
        )
        self._conn.execute(
            "UPDATE account_state SET floor = max(floor, ?) WHERE account = ?", (floor, account)
        )

    def set_acl(self, mailbox: int, principal: int, rights: str | None) -> None:
        if rights is None:
            self._conn.execute(
                "DELETE FROM mailbox_acl WHERE mailbox = ? AND principal = ?", (mailbox, principal)
            )
            return
        self._conn.execute(
            "INSERT INTO mailbox_acl (mailbox, principal, rights) VALUES (?, ?, ?) "
            "ON CONFLICT (mailbox, principal) DO UPDATE SET rights = excluded.rights",
            (mailbox, principal, rights),
        )

    def set_metadata(self, mailbox: int, principal: int, name: str, value: bytes | None) -> None:
        if value is None:
            self._conn.execute(
                "DELETE FROM metadata WHERE mailbox = ? AND principal = ? AND name = ?",
                (mailbox, principal, name),
            )
            return
        self._conn.execute(
            "INSERT INTO metadata (mailbox, principal, name, value) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (mailbox, principal, name) DO UPDATE SET value = excluded.value",
            (mailbox, principal, name, value),
        )

    def adjust_mailbox_counts(
        self, mailbox: int, messages: int, size: int, seen: int, seen_or_draft: int, deleted: int
    ) -> None:
        self._conn.execute(
            "UPDATE mailboxes SET "
            "count_messages = count_messages + ?, count_bytes = count_bytes + ?, "
            "count_seen = count_seen + ?, count_seen_or_draft = count_seen_or_draft + ?, "
            "count_deleted = count_deleted + ? WHERE id = ?",
            (messages, size, seen, seen_or_draft, deleted, mailbox),
        )

    # ---- POP3 maildrop leases (kernel.store.maildrop) ----------------------

    def acquire_maildrop_lease(self, account: int, owner: str, expires: float, now: float) -> bool:
        try:
            cursor = self._conn.execute(
                "INSERT INTO maildrop_leases (account, owner, expires) VALUES (?, ?, ?) "
                "ON CONFLICT (account) DO UPDATE SET owner = excluded.owner, "
                "expires = excluded.expires "
                "WHERE maildrop_leases.expires < ? OR maildrop_leases.owner = excluded.owner",
                (account, owner, expires, now),
            )
        except sqlite3.IntegrityError as exc:
            raise NoSuchItem(f"no account {account}") from exc
        return cursor.rowcount > 0

    def renew_maildrop_lease(self, account: int, owner: str, expires: float) -> bool:
        cursor = self._conn.execute(
            "UPDATE maildrop_leases SET expires = ? WHERE account = ? AND owner = ?",
            (expires, account, owner),
        )
        return cursor.rowcount > 0

    def release_maildrop_lease(self, account: int, owner: str) -> bool:
        cursor = self._conn.execute(
            "DELETE FROM maildrop_leases WHERE account = ? AND owner = ?", (account, owner)
        )
        return cursor.rowcount > 0
