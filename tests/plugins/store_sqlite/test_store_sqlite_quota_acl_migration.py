"""Migration 10 on SQLite: the message-count quota (RFC 9208 §5.2) is backfilled
from the emails an account has, and ``mailbox_acl`` keeps its rows while taking
grants to ``anyone`` (principal 0, RFC 4314 §2)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from plugins.store_sqlite import schema

_BEFORE = 9  # the schema version before the migration under test


def _at_version_9(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    for script in schema.MIGRATIONS[:_BEFORE]:
        for statement in schema._statements(script):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {_BEFORE}")
    return conn


def test_store_sqlite_migration_quota_messages_and_anyone(tmp_path: Path) -> None:
    conn = _at_version_9(tmp_path / "store.sqlite3")
    conn.execute("INSERT INTO principals (kind, name, created) VALUES ('individual', 'a@x', 0)")
    conn.execute("INSERT INTO principals (kind, name, created) VALUES ('individual', 'b@x', 0)")
    conn.execute(
        "INSERT INTO mailboxes (account, name, uidvalidity, modseq) VALUES (1, 'INBOX', 1, 1)"
    )
    conn.execute("INSERT INTO blobs (id, size, data, created) VALUES ('b', 1, x'00', 0)")
    for _ in range(3):
        conn.execute(
            "INSERT INTO emails (account, blob, thread, received_at, size, structure, modseq) "
            "VALUES (1, 'b', 1, 0, 1, '{}', 1)"
        )
    conn.execute("INSERT INTO mailbox_acl (mailbox, principal, rights) VALUES (1, 2, 'lr')")
    with pytest.raises(sqlite3.IntegrityError):  # before: grantees must be principals
        conn.execute("INSERT INTO mailbox_acl (mailbox, principal, rights) VALUES (1, 0, 'l')")

    assert schema.migrate(conn) == len(schema.MIGRATIONS)

    rows = conn.execute("SELECT name, quota_messages, used_messages FROM principals ORDER BY id")
    assert rows.fetchall() == [("a@x", 0, 3), ("b@x", 0, 0)]
    conn.execute("INSERT INTO mailbox_acl (mailbox, principal, rights) VALUES (1, 0, 'l')")
    acl = conn.execute("SELECT principal, rights FROM mailbox_acl ORDER BY principal")
    assert acl.fetchall() == [(0, "l"), (2, "lr")]
    # Grants still go with their mailbox.
    conn.execute("DELETE FROM mailboxes WHERE id = 1")
    assert conn.execute("SELECT count(*) FROM mailbox_acl").fetchone() == (0,)
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()
