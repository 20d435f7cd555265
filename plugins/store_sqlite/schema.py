"""The SQLite schema and its migrations.

Migrations are applied in order inside one transaction each, and
``PRAGMA user_version`` records how many have run; a store written by a newer
version (a higher ``user_version``) is refused rather than guessed at.

Ids of principals and mailboxes are ``AUTOINCREMENT``: a deleted item's id is
never handed out again (JMAP ids and IMAP OBJECTIDs must stay unique forever).
So are the ids of every later record a protocol names by id.

Implementation notes (migration 4, the records later protocols build on; the
PostgreSQL schema has the same tables, columns and constraints):

* ``sieve_scripts``: ``source`` is the script's exact octets (``size`` is
  checked against it); ``compiled`` is a cache, NULL or stale means "compile
  ``source`` again"; the partial unique index ``sieve_scripts_active`` allows at
  most one active script per account (RFC 5804 §2.8 SETACTIVE switches it in one
  transaction). Names compare bytewise.
* ``sieve_tracking``: what the Sieve vacation (``:days``) and duplicate tests
  remember, as a digest of the tracked values under a ``kind``; rows past
  ``expires`` are dead and swept through ``sieve_tracking_expires``.
* ``vacation_responses``: the JMAP VacationResponse singleton (RFC 8621 §8),
  one row per account; no row reads as disabled.
* ``identities``: JMAP Identity (RFC 8621 §6); ``reply_to`` and ``bcc`` are JSON
  EmailAddress lists or NULL.
* ``queue_messages`` / ``queue_recipients``: the outbound queue. A message holds
  a reference to its blob and the envelope (``return_path`` '' is the null
  reverse-path, RFC 5321 §4.5.5) with its DSN and MAIL parameters; when
  ``account`` is set it is also that account's JMAP EmailSubmission (RFC 8621 §7:
  ``identity``, ``email``, ``thread`` are the immutable ids it was created with,
  not foreign keys; ``send_at``, ``undo_status``). Deleting the account keeps its
  accepted mail queued (``account`` becomes NULL). Each recipient carries its own
  state: ``next_attempt`` is set exactly while it is ``pending``/``deferred``
  (the scheduler scans ``queue_recipients_next_attempt``); the last SMTP reply
  for DSNs; and a lease (``lease_owner``, ``lease_until``) so that several nodes
  share one queue: a node claims due recipients whose lease is absent or past.
* ``push_subscriptions``: JMAP PushSubscription (RFC 8620 §7.2); ``keys`` and
  ``types`` are JSON or NULL (``types`` NULL: every type).
* ``dav_collections``: calendars, address books and WebDAV folders; only
  ``files`` collections nest (``parent``); ``name`` is the path segment, unique
  per account, kind and parent. ``properties`` holds dead properties as a JSON
  object keyed by Clark name; ``components`` (JSON list, NULL: any) and
  ``timezone`` serve calendars. ``modseq`` is the collection's own last change,
  ``sync_modseq`` the last change to it or any member (the CTag and sync-token).
  Deleted members are remembered by the change log, not here.
* ``dav_resources``: one member each; ``uid`` is unique in its collection when
  set; ``time_start``/``time_end`` bound a calendar object's occurrences (NULL
  ``time_end``: unbounded) for time-range queries.
* ``maildrop_leases``: the POP3 maildrop lock, shared by every process on the
  store: a row whose ``expires`` has not passed means "in use by ``owner``".
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
    # 4: the other records: Sieve scripts and their tracking state, vacation
    # responses, identities, the outbound queue, push subscriptions, DAV
    # collections and resources, POP3 maildrop leases. Flags are 0/1 with a CHECK;
    # JSON is TEXT; times are epoch seconds.
    """
    CREATE TABLE sieve_scripts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        source BLOB NOT NULL,
        size INTEGER NOT NULL CHECK (size = length(source)),
        compiled BLOB,
        is_active INTEGER NOT NULL DEFAULT 0 CHECK (is_active IN (0, 1)),
        created REAL NOT NULL,
        updated REAL NOT NULL,
        modseq INTEGER NOT NULL,
        UNIQUE (account, name)
    );
    CREATE UNIQUE INDEX sieve_scripts_active ON sieve_scripts(account) WHERE is_active;
    CREATE TABLE sieve_tracking (
        account INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('vacation', 'duplicate')),
        digest BLOB NOT NULL,
        expires REAL NOT NULL,
        PRIMARY KEY (account, kind, digest)
    );
    CREATE INDEX sieve_tracking_expires ON sieve_tracking(expires);
    CREATE TABLE vacation_responses (
        account INTEGER PRIMARY KEY REFERENCES principals(id) ON DELETE CASCADE,
        is_enabled INTEGER NOT NULL DEFAULT 0 CHECK (is_enabled IN (0, 1)),
        from_date REAL,
        to_date REAL,
        subject TEXT,
        text_body TEXT,
        html_body TEXT,
        modseq INTEGER NOT NULL
    );
    CREATE TABLE identities (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        name TEXT NOT NULL DEFAULT '',
        email TEXT NOT NULL,
        reply_to TEXT,
        bcc TEXT,
        text_signature TEXT NOT NULL DEFAULT '',
        html_signature TEXT NOT NULL DEFAULT '',
        may_delete INTEGER NOT NULL DEFAULT 1 CHECK (may_delete IN (0, 1)),
        modseq INTEGER NOT NULL
    );
    CREATE INDEX identities_account ON identities(account);
    CREATE TABLE queue_messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account INTEGER REFERENCES principals(id) ON DELETE SET NULL,
        identity INTEGER,
        email INTEGER,
        thread INTEGER,
        blob TEXT NOT NULL REFERENCES blobs(id),
        size INTEGER NOT NULL,
        return_path TEXT NOT NULL,
        env_id TEXT,
        dsn_ret TEXT CHECK (dsn_ret IN ('FULL', 'HDRS')),
        body_type TEXT CHECK (body_type IN ('7BIT', '8BITMIME', 'BINARYMIME')),
        smtputf8 INTEGER NOT NULL DEFAULT 0 CHECK (smtputf8 IN (0, 1)),
        priority INTEGER NOT NULL DEFAULT 0,
        created REAL NOT NULL,
        send_at REAL NOT NULL,
        expires REAL NOT NULL,
        undo_status TEXT NOT NULL DEFAULT 'final'
            CHECK (undo_status IN ('pending', 'final', 'canceled')),
        modseq INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX queue_messages_account ON queue_messages(account);
    CREATE INDEX queue_messages_blob ON queue_messages(blob);
    CREATE TABLE queue_recipients (
        message INTEGER NOT NULL REFERENCES queue_messages(id) ON DELETE CASCADE,
        recipient TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'deferred', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt REAL,
        last_attempt REAL,
        last_code INTEGER,
        last_status TEXT,
        last_error TEXT,
        remote_mta TEXT,
        notify TEXT,
        orcpt TEXT,
        lease_owner TEXT,
        lease_until REAL,
        PRIMARY KEY (message, recipient),
        CHECK ((next_attempt IS NULL) = (status IN ('delivered', 'failed'))),
        CHECK ((lease_owner IS NULL) = (lease_until IS NULL))
    );
    CREATE INDEX queue_recipients_next_attempt ON queue_recipients(next_attempt);
    CREATE TABLE push_subscriptions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        device_client_id TEXT NOT NULL,
        url TEXT NOT NULL,
        keys TEXT,
        verification_code TEXT NOT NULL,
        verified INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
        expires REAL,
        types TEXT,
        created REAL NOT NULL
    );
    CREATE INDEX push_subscriptions_account ON push_subscriptions(account);
    CREATE TABLE dav_collections (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('calendar', 'addressbook', 'files')),
        parent INTEGER REFERENCES dav_collections(id),
        name TEXT NOT NULL,
        display_name TEXT,
        description TEXT,
        color TEXT,
        sort_order INTEGER NOT NULL DEFAULT 0,
        timezone TEXT,
        components TEXT,
        properties TEXT NOT NULL DEFAULT '{}',
        created REAL NOT NULL,
        modseq INTEGER NOT NULL,
        sync_modseq INTEGER NOT NULL,
        CHECK (parent IS NULL OR kind = 'files')
    );
    CREATE UNIQUE INDEX dav_collections_name
        ON dav_collections(account, kind, coalesce(parent, 0), name);
    CREATE INDEX dav_collections_parent ON dav_collections(parent);
    CREATE TABLE dav_resources (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        collection INTEGER NOT NULL REFERENCES dav_collections(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        content_type TEXT NOT NULL,
        blob TEXT NOT NULL REFERENCES blobs(id),
        size INTEGER NOT NULL,
        etag TEXT NOT NULL,
        uid TEXT,
        component TEXT,
        time_start REAL,
        time_end REAL,
        created REAL NOT NULL,
        modified REAL NOT NULL,
        modseq INTEGER NOT NULL,
        UNIQUE (collection, name)
    );
    CREATE UNIQUE INDEX dav_resources_uid ON dav_resources(collection, uid) WHERE uid IS NOT NULL;
    CREATE INDEX dav_resources_by_uid ON dav_resources(uid) WHERE uid IS NOT NULL;
    CREATE INDEX dav_resources_time ON dav_resources(collection, time_start, time_end);
    CREATE INDEX dav_resources_blob ON dav_resources(blob);
    CREATE TABLE maildrop_leases (
        account INTEGER PRIMARY KEY REFERENCES principals(id) ON DELETE CASCADE,
        owner TEXT NOT NULL,
        expires REAL NOT NULL
    );
    """,
    # 5: search texts with their trigram index, expunge tombstones, log
    # pruning, mailbox sharing (RFC 4314) and annotations (RFC 5464).
    """
    CREATE TABLE email_text (
        email INTEGER PRIMARY KEY REFERENCES emails(id) ON DELETE CASCADE,
        from_text TEXT NOT NULL DEFAULT '',
        to_text TEXT NOT NULL DEFAULT '',
        cc_text TEXT NOT NULL DEFAULT '',
        bcc_text TEXT NOT NULL DEFAULT '',
        subject_text TEXT NOT NULL DEFAULT '',
        headers TEXT NOT NULL DEFAULT '',
        body TEXT NOT NULL DEFAULT '',
        sort_from TEXT NOT NULL DEFAULT '',
        sort_to TEXT NOT NULL DEFAULT '',
        sort_cc TEXT NOT NULL DEFAULT '',
        display_from TEXT NOT NULL DEFAULT '',
        display_to TEXT NOT NULL DEFAULT ''
    );
    CREATE VIRTUAL TABLE email_fts USING fts5(
        from_text, to_text, cc_text, bcc_text, subject_text, headers, body,
        content = 'email_text', content_rowid = 'email',
        tokenize = 'trigram', detail = 'column'
    );
    CREATE TRIGGER email_text_indexed AFTER INSERT ON email_text BEGIN
        INSERT INTO email_fts (rowid, from_text, to_text, cc_text, bcc_text, subject_text,
                               headers, body)
        VALUES (new.email, new.from_text, new.to_text, new.cc_text, new.bcc_text,
                new.subject_text, new.headers, new.body);
    END;
    CREATE TRIGGER email_text_unindexed AFTER DELETE ON email_text BEGIN
        INSERT INTO email_fts (email_fts, rowid, from_text, to_text, cc_text, bcc_text,
                               subject_text, headers, body)
        VALUES ('delete', old.email, old.from_text, old.to_text, old.cc_text, old.bcc_text,
                old.subject_text, old.headers, old.body);
    END;
    CREATE TABLE expunged (
        mailbox INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        uid INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        PRIMARY KEY (mailbox, uid)
    );
    CREATE INDEX expunged_modseq ON expunged(mailbox, modseq);
    ALTER TABLE account_state ADD COLUMN floor INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE log_marks (
        account INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        modseq INTEGER NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (account, modseq)
    );
    CREATE INDEX log_marks_at ON log_marks(account, at);
    CREATE TABLE mailbox_acl (
        mailbox INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        principal INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
        rights TEXT NOT NULL,
        PRIMARY KEY (mailbox, principal)
    );
    CREATE INDEX mailbox_acl_principal ON mailbox_acl(principal);
    CREATE TABLE metadata (
        mailbox INTEGER NOT NULL,
        principal INTEGER NOT NULL,
        name TEXT NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (mailbox, principal, name)
    );
    CREATE INDEX metadata_principal ON metadata(principal);
    """,
    # 6: blobs whose bytes live in the blob store (blob_fs) rather than inline.
    """
    ALTER TABLE blobs ADD COLUMN external INTEGER NOT NULL DEFAULT 0;
    """,
    # 7: indexes for QRESYNC's CHANGEDSINCE and for paging by arrival.
    """
    CREATE INDEX memberships_modseq ON memberships(mailbox, modseq);
    DROP INDEX emails_account_received;
    CREATE INDEX emails_account_received ON emails(account, received_at, id, thread);
    """,
    # 8: per-mailbox counters kept by every write (IMAP STATUS without a scan).
    """
    ALTER TABLE mailboxes ADD COLUMN count_messages INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE mailboxes ADD COLUMN count_bytes INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE mailboxes ADD COLUMN count_seen INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE mailboxes ADD COLUMN count_seen_or_draft INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE mailboxes ADD COLUMN count_deleted INTEGER NOT NULL DEFAULT 0;
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
    # 9: the trigram index moves to its own file, filled off the write path
    # (plugins/store_sqlite/search_index.py); the texts stay here.
    """
    DROP TRIGGER email_text_indexed;
    DROP TRIGGER email_text_unindexed;
    DROP TABLE email_fts;
    """,
    # 10: a message-count quota per account (RFC 9208 §5.2 QUOTA=RES-MESSAGE); ACL
    # grants to ``anyone`` (RFC 4314 §2) are rows with principal 0, so the grantee
    # column no longer references principals (delete_principal removes the rows).
    """
    ALTER TABLE principals ADD COLUMN quota_messages INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE principals ADD COLUMN used_messages INTEGER NOT NULL DEFAULT 0;
    UPDATE principals SET used_messages = (SELECT count(*) FROM emails e
                                           WHERE e.account = principals.id);
    CREATE TABLE mailbox_acl_new (
        mailbox INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        principal INTEGER NOT NULL,
        rights TEXT NOT NULL,
        PRIMARY KEY (mailbox, principal)
    );
    INSERT INTO mailbox_acl_new (mailbox, principal, rights)
        SELECT mailbox, principal, rights FROM mailbox_acl;
    DROP TABLE mailbox_acl;
    ALTER TABLE mailbox_acl_new RENAME TO mailbox_acl;
    CREATE INDEX mailbox_acl_principal ON mailbox_acl(principal);
    """,
    # 11: SCRAM-SHA-1 keys beside the SCRAM-SHA-256 ones (RFC 5804 §2.1 makes
    # SCRAM-SHA-1 mandatory for ManageSieve). Passwords set earlier get them at
    # their next plain-text login (kernel/store/directory.py).
    """
    ALTER TABLE principals ADD COLUMN scram_sha1_salt BLOB;
    ALTER TABLE principals ADD COLUMN scram_sha1_iterations INTEGER;
    ALTER TABLE principals ADD COLUMN scram_sha1_stored_key BLOB;
    ALTER TABLE principals ADD COLUMN scram_sha1_server_key BLOB;
    """,
)


def _statements(script: str) -> list[str]:
    """The statements of a script (a trigger's body holds semicolons of its own)."""
    statements, pending = [], ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending)
            pending = ""
    if pending.strip(" \n;"):
        statements.append(pending)
    return statements


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
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)
