"""The PostgreSQL schema and its migrations.

Implementation notes:

* The migrations are numbered like SQLite's (``plugins/store_sqlite/schema.py``)
  and create the same tables in PostgreSQL's types: ``BIGINT GENERATED ALWAYS
  AS IDENTITY`` ids (a sequence never hands a deleted item's id out again, as
  JMAP ids and IMAP OBJECTIDs require), ``BYTEA``, ``DOUBLE PRECISION`` times,
  ``BOOLEAN`` flags. Names that are sorted or compared use ``COLLATE "C"``, so
  order and equality are bytewise as in SQLite, whatever the database's locale.
* Indexes are SQLite's, including ``emails_blob``, ``queue_messages_blob`` and
  ``dav_resources_blob``: releasing a blob's last reference deletes its row, and
  the foreign-key checks would otherwise scan every referencing table.
* Migration 4's records (Sieve scripts, queue, identities, push subscriptions,
  DAV, maildrop leases) are described in ``plugins/store_sqlite/schema.py``;
  ``tests/plugins/test_store_schema_records.py`` checks that both backends
  define the same tables, columns, indexes and foreign keys.
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
    # 4: the other records: Sieve scripts and their tracking state, vacation
    # responses, identities, the outbound queue, push subscriptions, DAV
    # collections and resources, POP3 maildrop leases (described in
    # plugins/store_sqlite/schema.py).
    """
    CREATE TABLE sieve_scripts (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        name TEXT COLLATE "C" NOT NULL,
        source BYTEA NOT NULL,
        size BIGINT NOT NULL CHECK (size = octet_length(source)),
        compiled BYTEA,
        is_active BOOLEAN NOT NULL DEFAULT FALSE,
        created DOUBLE PRECISION NOT NULL,
        updated DOUBLE PRECISION NOT NULL,
        modseq BIGINT NOT NULL,
        UNIQUE (account, name)
    );
    CREATE UNIQUE INDEX sieve_scripts_active ON sieve_scripts(account) WHERE is_active;
    CREATE TABLE sieve_tracking (
        account BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('vacation', 'duplicate')),
        digest BYTEA NOT NULL,
        expires DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (account, kind, digest)
    );
    CREATE INDEX sieve_tracking_expires ON sieve_tracking(expires);
    CREATE TABLE vacation_responses (
        account BIGINT PRIMARY KEY REFERENCES principals(id) ON DELETE CASCADE,
        is_enabled BOOLEAN NOT NULL DEFAULT FALSE,
        from_date DOUBLE PRECISION,
        to_date DOUBLE PRECISION,
        subject TEXT,
        text_body TEXT,
        html_body TEXT,
        modseq BIGINT NOT NULL
    );
    CREATE TABLE identities (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        name TEXT NOT NULL DEFAULT '',
        email TEXT NOT NULL,
        reply_to TEXT,
        bcc TEXT,
        text_signature TEXT NOT NULL DEFAULT '',
        html_signature TEXT NOT NULL DEFAULT '',
        may_delete BOOLEAN NOT NULL DEFAULT TRUE,
        modseq BIGINT NOT NULL
    );
    CREATE INDEX identities_account ON identities(account);
    CREATE TABLE queue_messages (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account BIGINT REFERENCES principals(id) ON DELETE SET NULL,
        identity BIGINT,
        email BIGINT,
        thread BIGINT,
        blob TEXT COLLATE "C" NOT NULL REFERENCES blobs(id),
        size BIGINT NOT NULL,
        return_path TEXT NOT NULL,
        env_id TEXT,
        dsn_ret TEXT CHECK (dsn_ret IN ('FULL', 'HDRS')),
        body_type TEXT CHECK (body_type IN ('7BIT', '8BITMIME', 'BINARYMIME')),
        smtputf8 BOOLEAN NOT NULL DEFAULT FALSE,
        priority INTEGER NOT NULL DEFAULT 0,
        created DOUBLE PRECISION NOT NULL,
        send_at DOUBLE PRECISION NOT NULL,
        expires DOUBLE PRECISION NOT NULL,
        undo_status TEXT NOT NULL DEFAULT 'final'
            CHECK (undo_status IN ('pending', 'final', 'canceled')),
        modseq BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX queue_messages_account ON queue_messages(account);
    CREATE INDEX queue_messages_blob ON queue_messages(blob);
    CREATE TABLE queue_recipients (
        message BIGINT NOT NULL REFERENCES queue_messages(id) ON DELETE CASCADE,
        recipient TEXT COLLATE "C" NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'deferred', 'delivered', 'failed')),
        attempts BIGINT NOT NULL DEFAULT 0,
        next_attempt DOUBLE PRECISION,
        last_attempt DOUBLE PRECISION,
        last_code INTEGER,
        last_status TEXT,
        last_error TEXT,
        remote_mta TEXT,
        notify TEXT,
        orcpt TEXT,
        lease_owner TEXT,
        lease_until DOUBLE PRECISION,
        PRIMARY KEY (message, recipient),
        CHECK ((next_attempt IS NULL) = (status IN ('delivered', 'failed'))),
        CHECK ((lease_owner IS NULL) = (lease_until IS NULL))
    );
    CREATE INDEX queue_recipients_next_attempt ON queue_recipients(next_attempt);
    CREATE TABLE push_subscriptions (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        device_client_id TEXT NOT NULL,
        url TEXT NOT NULL,
        keys TEXT,
        verification_code TEXT NOT NULL,
        verified BOOLEAN NOT NULL DEFAULT FALSE,
        expires DOUBLE PRECISION,
        types TEXT,
        created DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX push_subscriptions_account ON push_subscriptions(account);
    CREATE TABLE dav_collections (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('calendar', 'addressbook', 'files')),
        parent BIGINT REFERENCES dav_collections(id),
        name TEXT COLLATE "C" NOT NULL,
        display_name TEXT,
        description TEXT,
        color TEXT,
        sort_order BIGINT NOT NULL DEFAULT 0,
        timezone TEXT,
        components TEXT,
        properties TEXT NOT NULL DEFAULT '{}',
        created DOUBLE PRECISION NOT NULL,
        modseq BIGINT NOT NULL,
        sync_modseq BIGINT NOT NULL,
        CHECK (parent IS NULL OR kind = 'files')
    );
    CREATE UNIQUE INDEX dav_collections_name
        ON dav_collections(account, kind, coalesce(parent, 0), name);
    CREATE INDEX dav_collections_parent ON dav_collections(parent);
    CREATE TABLE dav_resources (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        collection BIGINT NOT NULL REFERENCES dav_collections(id) ON DELETE CASCADE,
        name TEXT COLLATE "C" NOT NULL,
        content_type TEXT NOT NULL,
        blob TEXT COLLATE "C" NOT NULL REFERENCES blobs(id),
        size BIGINT NOT NULL,
        etag TEXT NOT NULL,
        uid TEXT COLLATE "C",
        component TEXT,
        time_start DOUBLE PRECISION,
        time_end DOUBLE PRECISION,
        created DOUBLE PRECISION NOT NULL,
        modified DOUBLE PRECISION NOT NULL,
        modseq BIGINT NOT NULL,
        UNIQUE (collection, name)
    );
    CREATE UNIQUE INDEX dav_resources_uid ON dav_resources(collection, uid) WHERE uid IS NOT NULL;
    CREATE INDEX dav_resources_by_uid ON dav_resources(uid) WHERE uid IS NOT NULL;
    CREATE INDEX dav_resources_time ON dav_resources(collection, time_start, time_end);
    CREATE INDEX dav_resources_blob ON dav_resources(blob);
    CREATE TABLE maildrop_leases (
        account BIGINT PRIMARY KEY REFERENCES principals(id) ON DELETE CASCADE,
        owner TEXT NOT NULL,
        expires DOUBLE PRECISION NOT NULL
    );
    """,
    # 5: search texts with their trigram index, expunge tombstones, log
    # pruning, mailbox sharing (RFC 4314) and annotations (RFC 5464).
    """
    CREATE TABLE email_text (
        email BIGINT PRIMARY KEY REFERENCES emails(id) ON DELETE CASCADE,
        from_text TEXT COLLATE "C" NOT NULL DEFAULT '',
        to_text TEXT COLLATE "C" NOT NULL DEFAULT '',
        cc_text TEXT COLLATE "C" NOT NULL DEFAULT '',
        bcc_text TEXT COLLATE "C" NOT NULL DEFAULT '',
        subject_text TEXT COLLATE "C" NOT NULL DEFAULT '',
        headers TEXT COLLATE "C" NOT NULL DEFAULT '',
        body TEXT COLLATE "C" NOT NULL DEFAULT '',
        sort_from TEXT COLLATE "C" NOT NULL DEFAULT '',
        sort_to TEXT COLLATE "C" NOT NULL DEFAULT '',
        sort_cc TEXT COLLATE "C" NOT NULL DEFAULT '',
        display_from TEXT COLLATE "C" NOT NULL DEFAULT '',
        display_to TEXT COLLATE "C" NOT NULL DEFAULT ''
    );
    DO $$
    DECLARE
        trgm TEXT;
        col TEXT;
    BEGIN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'pg_trgm unavailable (%): text search will scan', SQLERRM;
        END;
        SELECT n.nspname INTO trgm FROM pg_extension x
            JOIN pg_namespace n ON n.oid = x.extnamespace WHERE x.extname = 'pg_trgm';
        IF trgm IS NOT NULL THEN
            FOREACH col IN ARRAY ARRAY['from_text', 'to_text', 'cc_text', 'bcc_text',
                                       'subject_text', 'headers', 'body'] LOOP
                EXECUTE format('CREATE INDEX %I ON email_text USING gin (%I %I.gin_trgm_ops)',
                               'email_text_' || col, col, trgm);
            END LOOP;
        END IF;
    END
    $$;
    CREATE TABLE expunged (
        mailbox BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        uid BIGINT NOT NULL,
        modseq BIGINT NOT NULL,
        PRIMARY KEY (mailbox, uid)
    );
    CREATE INDEX expunged_modseq ON expunged(mailbox, modseq);
    ALTER TABLE account_state ADD COLUMN floor BIGINT NOT NULL DEFAULT 0;
    CREATE TABLE log_marks (
        account BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        modseq BIGINT NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (account, modseq)
    );
    CREATE INDEX log_marks_at ON log_marks(account, at);
    CREATE TABLE mailbox_acl (
        mailbox BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        principal BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        rights TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (mailbox, principal)
    );
    CREATE INDEX mailbox_acl_principal ON mailbox_acl(principal);
    CREATE TABLE metadata (
        mailbox BIGINT NOT NULL,
        principal BIGINT NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
        value BYTEA NOT NULL,
        PRIMARY KEY (mailbox, principal, name)
    );
    CREATE INDEX metadata_principal ON metadata(principal);
    """,
    # 6: blobs whose bytes live in the blob store (blob_fs) rather than inline.
    """
    ALTER TABLE blobs ADD COLUMN external BOOLEAN NOT NULL DEFAULT FALSE;
    """,
    # 7: indexes for QRESYNC's CHANGEDSINCE and for paging by arrival.
    """
    CREATE INDEX memberships_modseq ON memberships(mailbox, modseq);
    DROP INDEX emails_account_received;
    CREATE INDEX emails_account_received ON emails(account, received_at, id, thread);
    """,
    # 8: per-mailbox counters kept by every write (IMAP STATUS without a scan).
    """
    ALTER TABLE mailboxes ADD COLUMN count_messages BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE mailboxes ADD COLUMN count_bytes BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE mailboxes ADD COLUMN count_seen BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE mailboxes ADD COLUMN count_seen_or_draft BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE mailboxes ADD COLUMN count_deleted BIGINT NOT NULL DEFAULT 0;
    UPDATE mailboxes SET
        count_messages = (SELECT count(*) FROM memberships m WHERE m.mailbox = mailboxes.id),
        count_bytes = (SELECT coalesce(sum(e.size), 0) FROM memberships m
                       JOIN emails e ON e.id = m.email WHERE m.mailbox = mailboxes.id),
        count_seen = (SELECT count(*) FROM memberships m JOIN keywords k ON k.email = m.email
                      WHERE m.mailbox = mailboxes.id AND k.keyword = '$seen'),
        count_seen_or_draft = (SELECT count(DISTINCT m.email) FROM memberships m
                               JOIN keywords k ON k.email = m.email
                               WHERE m.mailbox = mailboxes.id
                               AND k.keyword IN ('$seen', '$draft')),
        count_deleted = (SELECT count(*) FROM memberships m JOIN keywords k ON k.email = m.email
                         WHERE m.mailbox = mailboxes.id AND k.keyword = '$deleted');
    """,
    # 9: SQLite moved its trigram index to a file of its own; the pg_trgm indexes
    # stay where they are (the two schemas keep the same migration numbers).
    """
    SELECT 1;
    """,
    # 10: a message-count quota per account (RFC 9208 §5.2 QUOTA=RES-MESSAGE); ACL
    # grants to ``anyone`` (RFC 4314 §2) are rows with principal 0, so the grantee
    # column no longer references principals (delete_principal removes the rows).
    """
    ALTER TABLE principals ADD COLUMN quota_messages BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE principals ADD COLUMN used_messages BIGINT NOT NULL DEFAULT 0;
    UPDATE principals SET used_messages = (SELECT count(*) FROM emails e
                                           WHERE e.account = principals.id);
    ALTER TABLE mailbox_acl DROP CONSTRAINT IF EXISTS mailbox_acl_principal_fkey;
    """,
    # 11: SCRAM-SHA-1 keys beside the SCRAM-SHA-256 ones (RFC 5804 §2.1 makes
    # SCRAM-SHA-1 mandatory for ManageSieve). Passwords set earlier get them at
    # their next plain-text login (kernel/store/directory.py).
    """
    ALTER TABLE principals ADD COLUMN scram_sha1_salt BYTEA;
    ALTER TABLE principals ADD COLUMN scram_sha1_iterations INTEGER;
    ALTER TABLE principals ADD COLUMN scram_sha1_stored_key BYTEA;
    ALTER TABLE principals ADD COLUMN scram_sha1_server_key BYTEA;
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
