"""The SQLite schema and its migrations.

Migrations are applied in order inside one transaction each, and
``PRAGMA user_version`` records how many have run; a store written by a newer
version (a higher ``user_version``) is refused rather than guessed at.
"""

from __future__ import annotations

import sqlite3

from kernel.errors import StoreError

__all__ = ["MIGRATIONS", "migrate"]

MIGRATIONS: tuple[str, ...] = (
    # 1: the directory.
    """
    CREATE TABLE principals (
        id INTEGER PRIMARY KEY,
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
