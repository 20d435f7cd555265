"""The SQLite schema and its migrations.

Migrations are applied in order inside one transaction each, and
``PRAGMA user_version`` records how many have run; a store written by a newer
version (a higher ``user_version``) is refused rather than guessed at.

Ids of principals and mailboxes are ``AUTOINCREMENT``: a deleted item's id is
never handed out again (JMAP ids and IMAP OBJECTIDs must stay unique forever).
"""

from __future__ import annotations

import sqlite3

from kernel.errors import StoreError

__all__ = ["MIGRATIONS", "migrate"]

MIGRATIONS: tuple[str, ...] = (
    # 1: the directory.
    """
    CREATE TABLE principals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('individual', 'group')),
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
        enabled INTEGER NOT NULL DEFAULT 1,
        quota INTEGER NOT NULL DEFAULT 0,
        used INTEGER NOT NULL DEFAULT 0,
        description TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        secret_hash TEXT,
        scram_salt BLOB,
        scram_iterations INTEGER,
        scram_stored_key BLOB,
        scram_server_key BLOB
    );
    CREATE TABLE domains (
        name TEXT PRIMARY KEY,
        created REAL NOT NULL
    );
    CREATE TABLE aliases (
        address TEXT PRIMARY KEY,
        principal INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE
    );
    CREATE INDEX aliases_principal ON aliases(principal);
    CREATE TABLE app_passwords (
        id INTEGER PRIMARY KEY,
        principal INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        created REAL NOT NULL,
        last_used REAL,
        UNIQUE (principal, name)
    );
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        principal INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        digest BLOB NOT NULL UNIQUE,
        created REAL NOT NULL,
        expires REAL,
        UNIQUE (principal, name)
    );
    """,
    # 2: the per-account change log and mailboxes.
    """
    CREATE TABLE account_state (
        account INTEGER PRIMARY KEY REFERENCES principals(id) ON DELETE CASCADE,
        modseq INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE changes (
        account INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        modseq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        item INTEGER NOT NULL,
        created INTEGER NOT NULL DEFAULT 0,
        destroyed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (account, kind, modseq, item)
    );
    CREATE TABLE mailboxes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        parent INTEGER REFERENCES mailboxes(id),
        name TEXT NOT NULL,
        role TEXT,
        sort_order INTEGER NOT NULL DEFAULT 0,
        subscribed INTEGER NOT NULL DEFAULT 1,
        uidvalidity INTEGER NOT NULL,
        uidnext INTEGER NOT NULL DEFAULT 1,
        modseq INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX mailboxes_name ON mailboxes(account, coalesce(parent, 0), name);
    CREATE UNIQUE INDEX mailboxes_role ON mailboxes(account, role) WHERE role IS NOT NULL;
    CREATE INDEX mailboxes_parent ON mailboxes(parent);
    """,
    # 3: emails, their mailbox memberships and keywords; content-addressed blobs.
    """
    CREATE TABLE blobs (
        id TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        refs INTEGER NOT NULL DEFAULT 0,
        data BLOB NOT NULL,
        created REAL NOT NULL
    );
    CREATE TABLE emails (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        blob TEXT NOT NULL REFERENCES blobs(id),
        thread INTEGER NOT NULL,
        received_at REAL NOT NULL,
        size INTEGER NOT NULL,
        sent_at REAL,
        message_id TEXT,
        subject TEXT NOT NULL DEFAULT '',
        base_subject TEXT NOT NULL DEFAULT '',
        sender TEXT NOT NULL DEFAULT '',
        has_attachment INTEGER NOT NULL DEFAULT 0,
        preview TEXT NOT NULL DEFAULT '',
        structure TEXT NOT NULL,
        modseq INTEGER NOT NULL
    );
    CREATE INDEX emails_account_received ON emails(account, received_at);
    CREATE INDEX emails_thread ON emails(account, thread);
    CREATE INDEX emails_blob ON emails(blob);
    CREATE TABLE memberships (
        mailbox INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        uid INTEGER NOT NULL,
        email INTEGER NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
        modseq INTEGER NOT NULL,
        PRIMARY KEY (mailbox, uid)
    );
    CREATE INDEX memberships_email ON memberships(email);
    CREATE UNIQUE INDEX memberships_once ON memberships(mailbox, email);
    CREATE TABLE keywords (
        email INTEGER NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
        keyword TEXT NOT NULL,
        PRIMARY KEY (email, keyword)
    );
    CREATE TABLE thread_refs (
        account INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        message_id TEXT NOT NULL,
        thread INTEGER NOT NULL,
        PRIMARY KEY (account, message_id, thread)
    );
    """,
)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date; returns the resulting version.

    Raises:
        StoreError: the database was written by a newer version.
    """
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > len(MIGRATIONS):
        raise StoreError(
            f"the store has schema version {version}, newer than this server's "
            f"{len(MIGRATIONS)}: upgrade the server"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)
