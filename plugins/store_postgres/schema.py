"""The PostgreSQL schema and its migrations.

Implementation notes:

* The migrations are numbered like SQLite's (``plugins/store_sqlite/schema.py``)
  and create the same tables in PostgreSQL's types: ``BIGINT GENERATED ALWAYS
  AS IDENTITY`` ids (a sequence never hands a deleted item's id out again, as
  JMAP ids and IMAP OBJECTIDs require), ``BYTEA``, ``DOUBLE PRECISION`` times,
  ``BOOLEAN`` flags. Names that are sorted or compared use ``COLLATE "C"``, so
  order and equality are bytewise as in SQLite, whatever the database's locale.
* Indexes are SQLite's, plus ``emails_blob``: releasing a blob's last reference
  deletes its row, and the foreign-key check of ``emails.blob`` would otherwise
  scan every email.
* ``schema_version`` holds one row (the number of migrations applied). A store
  written by a newer server (a higher version) is refused rather than guessed at.
* :func:`migrate` runs in one transaction under ``pg_advisory_xact_lock`` keyed
  on the schema name, so servers of a cluster starting at once do not race: the
  second waits, then finds nothing left to do. PostgreSQL's DDL is
  transactional, so a failed upgrade leaves the previous version intact.
"""

from __future__ import annotations

import hashlib

import psycopg
from psycopg import sql

from kernel.errors import StoreError

__all__ = ["MIGRATIONS", "advisory_key", "migrate"]

MIGRATIONS: tuple[str, ...] = (
    # 1: the directory.
    """
    CREATE TABLE principals (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('individual', 'group')),
        name TEXT COLLATE "C" NOT NULL UNIQUE,
        role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
        enabled BOOLEAN NOT NULL DEFAULT TRUE,
        quota BIGINT NOT NULL DEFAULT 0,
        used BIGINT NOT NULL DEFAULT 0,
        description TEXT NOT NULL DEFAULT '',
        created DOUBLE PRECISION NOT NULL,
        secret_hash TEXT,
        scram_salt BYTEA,
        scram_iterations INTEGER,
        scram_stored_key BYTEA,
        scram_server_key BYTEA
    );
    CREATE TABLE domains (
        name TEXT COLLATE "C" PRIMARY KEY,
        created DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE aliases (
        address TEXT COLLATE "C" PRIMARY KEY,
        principal BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE
    );
    CREATE INDEX aliases_principal ON aliases(principal);
    CREATE TABLE app_passwords (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        principal BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        name TEXT COLLATE "C" NOT NULL,
        secret_hash TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        last_used DOUBLE PRECISION,
        UNIQUE (principal, name)
    );
    CREATE TABLE tokens (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        principal BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        name TEXT COLLATE "C" NOT NULL,
        digest BYTEA NOT NULL UNIQUE,
        created DOUBLE PRECISION NOT NULL,
        expires DOUBLE PRECISION,
        UNIQUE (principal, name)
    );
    """,
    # 2: the per-account change log and mailboxes.
    """
    CREATE TABLE account_state (
        account BIGINT PRIMARY KEY REFERENCES principals(id) ON DELETE CASCADE,
        modseq BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE changes (
        account BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        modseq BIGINT NOT NULL,
        kind TEXT NOT NULL,
        item BIGINT NOT NULL,
        created BOOLEAN NOT NULL DEFAULT FALSE,
        destroyed BOOLEAN NOT NULL DEFAULT FALSE,
        PRIMARY KEY (account, kind, modseq, item)
    );
    CREATE TABLE mailboxes (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        parent BIGINT REFERENCES mailboxes(id),
        name TEXT COLLATE "C" NOT NULL,
        role TEXT,
        sort_order BIGINT NOT NULL DEFAULT 0,
        subscribed BOOLEAN NOT NULL DEFAULT TRUE,
        uidvalidity BIGINT NOT NULL,
        uidnext BIGINT NOT NULL DEFAULT 1,
        modseq BIGINT NOT NULL
    );
    CREATE UNIQUE INDEX mailboxes_name ON mailboxes(account, coalesce(parent, 0), name);
    CREATE UNIQUE INDEX mailboxes_role ON mailboxes(account, role) WHERE role IS NOT NULL;
    CREATE INDEX mailboxes_parent ON mailboxes(parent);
    """,
    # 3: emails, their mailbox memberships and keywords; content-addressed blobs.
    """
    CREATE TABLE blobs (
        id TEXT COLLATE "C" PRIMARY KEY,
        size BIGINT NOT NULL,
        refs BIGINT NOT NULL DEFAULT 0,
        data BYTEA NOT NULL,
        created DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE emails (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        blob TEXT COLLATE "C" NOT NULL REFERENCES blobs(id),
        thread BIGINT NOT NULL,
        received_at DOUBLE PRECISION NOT NULL,
        size BIGINT NOT NULL,
        sent_at DOUBLE PRECISION,
        message_id TEXT COLLATE "C",
        subject TEXT NOT NULL DEFAULT '',
        base_subject TEXT COLLATE "C" NOT NULL DEFAULT '',
        sender TEXT NOT NULL DEFAULT '',
        has_attachment BOOLEAN NOT NULL DEFAULT FALSE,
        preview TEXT NOT NULL DEFAULT '',
        structure TEXT NOT NULL,
        modseq BIGINT NOT NULL
    );
    CREATE INDEX emails_account_received ON emails(account, received_at);
    CREATE INDEX emails_thread ON emails(account, thread);
    CREATE INDEX emails_blob ON emails(blob);
    CREATE TABLE memberships (
        mailbox BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        uid BIGINT NOT NULL,
        email BIGINT NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
        modseq BIGINT NOT NULL,
        PRIMARY KEY (mailbox, uid),
        CONSTRAINT memberships_once UNIQUE (mailbox, email)
    );
    CREATE INDEX memberships_email ON memberships(email);
    CREATE TABLE keywords (
        email BIGINT NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
        keyword TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (email, keyword)
    );
    CREATE TABLE thread_refs (
        account BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        message_id TEXT COLLATE "C" NOT NULL,
        thread BIGINT NOT NULL,
        PRIMARY KEY (account, message_id, thread)
    );
    """,
)


def advisory_key(purpose: str, name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_xact_lock``, from ``purpose`` and ``name``."""
    digest = hashlib.sha256(f"stalwart-kernel {purpose} {name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def migrate(conn: psycopg.Connection, schema: str) -> int:
    """Create ``schema`` if missing and bring it up to date; returns the resulting version.

    Args:
        conn: a connection in autocommit mode (the transaction is this function's).
        schema: the PostgreSQL schema that holds the store's tables.

    Raises:
        StoreError: the schema was written by a newer version.
    """
    name = sql.Identifier(schema)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key("migrate", schema),))
        # CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the
        # schema exists; a role that only owns its schema must still be able to start.
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
        if exists.fetchone() is None:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(name))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " single BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (single),"
            " version INTEGER NOT NULL)"
        )
        conn.execute("INSERT INTO schema_version (version) VALUES (0) ON CONFLICT DO NOTHING")
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        version = int(row[0]) if row else 0
        if version > len(MIGRATIONS):
            raise StoreError(
                f"the store has schema version {version}, newer than this server's "
                f"{len(MIGRATIONS)}: upgrade the server"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            conn.execute(script.encode())
            conn.execute("UPDATE schema_version SET version = %s", (number,))
    return len(MIGRATIONS)
