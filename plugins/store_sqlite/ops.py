"""The typed operations (``kernel.store.interfaces``) in SQLite's dialect."""

from __future__ import annotations

import sqlite3
from typing import Any, final

from kernel.errors import DuplicateUid, NoSuchItem
from kernel.store.mail_records import EmailRow, Mailbox, Membership
from kernel.store.records import AppPassword, Domain, Principal, ScramSecret, Token

__all__ = ["SqliteOps"]

_PRINCIPAL = "id, kind, name, role, enabled, quota, used, description, created"
_MAILBOX = "id, account, parent, name, role, sort_order, subscribed, uidvalidity, uidnext, modseq"
_MAILBOX_UPDATABLE = {"parent", "name", "role", "sort_order", "subscribed", "uidnext", "modseq"}
_UPDATABLE = {"enabled", "role", "quota", "description", "name", "used"}


def _principal(row: tuple[Any, ...] | None) -> Principal | None:
    if row is None:
        return None
    pid, kind, name, role, enabled, quota, used, description, created = row
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
    )


def _mailbox(row: tuple[Any, ...] | None) -> Mailbox | None:
    if row is None:
        return None
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


@final
class SqliteOps:
    """Read and write operations over one connection (the transaction is the caller's)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    # ---- reads -------------------------------------------------------------

    def principal_by_name(self, name: str) -> Principal | None:
        row = self._conn.execute(
            f"SELECT {_PRINCIPAL} FROM principals WHERE name = ?", (name,)
        ).fetchone()
        return _principal(row)

    def principal_by_id(self, principal: int) -> Principal | None:
        row = self._conn.execute(
            f"SELECT {_PRINCIPAL} FROM principals WHERE id = ?", (principal,)
        ).fetchone()
        return _principal(row)

    def principals(self, kind: str | None = None) -> list[Principal]:
        if kind is None:
            rows = self._conn.execute(f"SELECT {_PRINCIPAL} FROM principals ORDER BY name")
        else:
            rows = self._conn.execute(
                f"SELECT {_PRINCIPAL} FROM principals WHERE kind = ? ORDER BY name", (kind,)
            )
        return [p for p in map(_principal, rows) if p is not None]

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

    # ---- writes ------------------------------------------------------------

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

    def set_secret(self, principal: int, secret_hash: str, scram: ScramSecret | None) -> None:
        keys = (
            (scram.salt, scram.iterations, scram.stored_key, scram.server_key)
            if scram
            else (None, None, None, None)
        )
        cursor = self._conn.execute(
            "UPDATE principals SET secret_hash = ?, scram_salt = ?, scram_iterations = ?, "
            "scram_stored_key = ?, scram_server_key = ? WHERE id = ?",
            (secret_hash, *keys, principal),
        )
        if cursor.rowcount == 0:
            raise NoSuchItem(f"no principal {principal}")

    def delete_principal(self, principal: int) -> None:
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

    # ---- change log ----------------------------------------------------------

    def current_modseq(self, account: int) -> int:
        row = self._conn.execute(
            "SELECT modseq FROM account_state WHERE account = ?", (account,)
        ).fetchone()
        return int(row[0]) if row else 0

    def bump_modseq(self, account: int) -> int:
        row = self._conn.execute(
            "INSERT INTO account_state (account, modseq) VALUES (?, 1) "
            "ON CONFLICT (account) DO UPDATE SET modseq = modseq + 1 RETURNING modseq",
            (account,),
        ).fetchone()
        return int(row[0])

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

    def changes_since(
        self, account: int, kind: str, since: int
    ) -> list[tuple[int, int, bool, bool]]:
        rows = self._conn.execute(
            "SELECT modseq, item, created, destroyed FROM changes "
            "WHERE account = ? AND kind = ? AND modseq > ? ORDER BY modseq, item",
            (account, kind, since),
        )
        return [(m, item, bool(c), bool(d)) for m, item, c, d in rows]

    # ---- mailboxes -----------------------------------------------------------

    def mailbox(self, mailbox: int) -> Mailbox | None:
        return _mailbox(
            self._conn.execute(
                f"SELECT {_MAILBOX} FROM mailboxes WHERE id = ?", (mailbox,)
            ).fetchone()
        )

    def mailboxes(self, account: int) -> list[Mailbox]:
        rows = self._conn.execute(
            f"SELECT {_MAILBOX} FROM mailboxes WHERE account = ? ORDER BY id", (account,)
        )
        return [m for m in map(_mailbox, rows) if m is not None]

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
        if self._conn.execute("DELETE FROM mailboxes WHERE id = ?", (mailbox,)).rowcount == 0:
            raise NoSuchItem(f"no mailbox {mailbox}")

    def take_uid(self, mailbox: int) -> int:
        row = self._conn.execute(
            "UPDATE mailboxes SET uidnext = uidnext + 1 WHERE id = ? RETURNING uidnext - 1",
            (mailbox,),
        ).fetchone()
        if row is None:
            raise NoSuchItem(f"no mailbox {mailbox}")
        return int(row[0])

    # ---- blobs ---------------------------------------------------------------

    def put_blob(self, blob: str, data: bytes, created: float) -> None:
        self._conn.execute(
            "INSERT INTO blobs (id, size, refs, data, created) VALUES (?, ?, 1, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET refs = refs + 1",
            (blob, len(data), data, created),
        )

    def release_blob(self, blob: str) -> None:
        self._conn.execute("UPDATE blobs SET refs = refs - 1 WHERE id = ?", (blob,))
        self._conn.execute("DELETE FROM blobs WHERE id = ? AND refs <= 0", (blob,))

    def blob(self, blob: str) -> bytes | None:
        row = self._conn.execute("SELECT data FROM blobs WHERE id = ?", (blob,)).fetchone()
        return bytes(row[0]) if row else None

    # ---- emails --------------------------------------------------------------

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

    def set_email_thread(self, email: int, thread: int) -> None:
        self._conn.execute("UPDATE emails SET thread = ? WHERE id = ?", (thread, email))

    def touch_email(self, email: int, modseq: int) -> None:
        self._conn.execute("UPDATE emails SET modseq = ? WHERE id = ?", (modseq, email))

    def delete_email(self, email: int) -> None:
        self._conn.execute("DELETE FROM emails WHERE id = ?", (email,))

    def keywords(self, email: int) -> frozenset[str]:
        return frozenset(
            k
            for (k,) in self._conn.execute("SELECT keyword FROM keywords WHERE email = ?", (email,))
        )

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

    def delete_membership(self, mailbox: int, email: int) -> int | None:
        row = self._conn.execute(
            "DELETE FROM memberships WHERE mailbox = ? AND email = ? RETURNING uid",
            (mailbox, email),
        ).fetchone()
        return int(row[0]) if row else None

    def add_used(self, account: int, delta: int) -> None:
        self._conn.execute(
            "UPDATE principals SET used = max(0, used + ?) WHERE id = ?", (delta, account)
        )

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

    def add_thread_refs(self, account: int, thread: int, message_ids: list[str]) -> None:
        self._conn.executemany(
            "INSERT OR IGNORE INTO thread_refs (account, message_id, thread) VALUES (?, ?, ?)",
            [(account, mid, thread) for mid in message_ids],
        )
