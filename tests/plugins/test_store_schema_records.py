"""The records of migration 4 (Sieve, vacation, identities, queue, push, DAV, maildrop leases).

Every test runs with raw SQL against a fresh SQLite database and a fresh
PostgreSQL schema, so the two backends are held to the same tables, columns and
constraints before any domain code uses them. The PostgreSQL database is named by
``STALWART_TEST_POSTGRES_DSN`` (default: ``test`` on 127.0.0.1 as ``postgres``);
each test gets a schema with a random name, dropped afterwards. Without a
reachable server the PostgreSQL cases are skipped, except under CI
(``CI=true``), where that is a failure.

The shape tests compare every table of both schemas, except the full-text
search machinery, which differs by design: SQLite's FTS5 virtual tables (and
their shadow tables) and PostgreSQL's non-btree (``pg_trgm`` GIN) indexes.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from kernel.testing.postgres import admin_connection
from plugins.store_postgres import schema as pg_schema
from plugins.store_sqlite import schema as sqlite_schema

T0 = 1_700_000_000.0
BLOB = "ab" * 32
DAY = 86400.0

# Migration 4's tables; the column test covers every table of both schemas.
RECORD_TABLES = {
    "sieve_scripts",
    "sieve_tracking",
    "vacation_responses",
    "identities",
    "queue_messages",
    "queue_recipients",
    "push_subscriptions",
    "dav_collections",
    "dav_resources",
    "maildrop_leases",
}
# SQLite's declared types and the PostgreSQL types that may stand for them.
COMPATIBLE = {
    "INTEGER": {"bigint", "integer", "boolean"},
    "REAL": {"double precision"},
    "TEXT": {"text"},
    "BLOB": {"bytea"},
}


@dataclass
class Db:
    """One backend's connection; queries use ``?`` placeholders on both."""

    backend: str
    conn: Any
    migrate: Callable[[], int]
    version: Callable[[], int]
    violation: type[Exception]

    def _execute(self, query: str, params: tuple[Any, ...]) -> Any:
        if self.backend == "postgres":
            query = query.replace("?", "%s")
        return self.conn.execute(query, params)

    def run(self, query: str, params: tuple[Any, ...] = ()) -> int:
        """Execute ``query``; returns the number of rows it changed."""
        return int(self._execute(query, params).rowcount)

    def rows(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._execute(query, params).fetchall()]

    def one(self, query: str, params: tuple[Any, ...] = ()) -> Any:
        """The single value of the single row ``query`` returns."""
        ((value,),) = self.rows(query, params)
        return value

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self.backend == "postgres":
            with self.conn.transaction():
                yield
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Db]:
    """A new SQLite database, not yet migrated."""
    conn = sqlite3.connect(tmp_path / "store.sqlite3", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")  # as the backend's connections do
    try:
        yield Db(
            "sqlite",
            conn,
            migrate=lambda: sqlite_schema.migrate(conn),
            version=lambda: conn.execute("PRAGMA user_version").fetchone()[0],
            violation=sqlite3.IntegrityError,
        )
    finally:
        conn.close()


@pytest.fixture
def postgres_db() -> Iterator[Db]:
    """A new PostgreSQL schema, not yet migrated; dropped afterwards."""
    schema = f"test_{secrets.token_hex(6)}"
    name = sql.Identifier(schema)
    with admin_connection() as conn:

        def migrate() -> int:
            version = pg_schema.migrate(conn, schema)
            conn.execute(sql.SQL("SET search_path TO {}").format(name))
            return version

        try:
            yield Db(
                "postgres",
                conn,
                migrate=migrate,
                version=lambda: conn.execute(
                    sql.SQL("SELECT version FROM {}.schema_version").format(name)
                ).fetchone()[0],
                violation=psycopg.errors.IntegrityError,
            )
        finally:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(name))


@pytest.fixture(params=["sqlite", "postgres"])
def bare(request: pytest.FixtureRequest) -> Db:
    """Each backend in turn, not yet migrated."""
    db: Db = request.getfixturevalue(f"{request.param}_db")
    return db


@pytest.fixture
def db(bare: Db) -> Db:
    """Each backend in turn, migrated to the current version."""
    bare.migrate()
    return bare


def principal(db: Db, name: str) -> int:
    return db.one(
        "INSERT INTO principals (kind, name, created) VALUES ('individual', ?, ?) RETURNING id",
        (name, T0),
    )


def add_blob(db: Db) -> str:
    db.run(
        "INSERT INTO blobs (id, size, refs, data, created) VALUES (?, 4, 1, ?, ?)",
        (BLOB, b"data", T0),
    )
    return BLOB


def sieve_script(db: Db, account: int, name: str, source: bytes, active: bool = False) -> int:
    return db.one(
        "INSERT INTO sieve_scripts (account, name, source, size, is_active, created, updated,"
        " modseq) VALUES (?, ?, ?, ?, ?, ?, ?, 1) RETURNING id",
        (account, name, source, len(source), active, T0, T0),
    )


def queue_message(db: Db, account: int | None) -> int:
    return db.one(
        "INSERT INTO queue_messages (account, blob, size, return_path, env_id, dsn_ret,"
        " created, send_at, expires) VALUES (?, ?, 4, ?, 'env-1', 'HDRS', ?, ?, ?) RETURNING id",
        (account, BLOB, "ann@example.org", T0, T0, T0 + 5 * DAY),
    )


def queue_recipient(db: Db, message: int, recipient: str, next_attempt: float) -> None:
    db.run(
        "INSERT INTO queue_recipients (message, recipient, next_attempt, notify, orcpt)"
        " VALUES (?, ?, ?, 'FAILURE,DELAY', ?)",
        (message, recipient, next_attempt, f"rfc822;{recipient}"),
    )


def dav_collection(db: Db, account: int, kind: str, name: str, parent: int | None = None) -> int:
    return db.one(
        "INSERT INTO dav_collections (account, kind, parent, name, created, modseq, sync_modseq)"
        " VALUES (?, ?, ?, ?, ?, 1, 1) RETURNING id",
        (account, kind, parent, name, T0),
    )


def dav_resource(
    db: Db,
    collection: int,
    name: str,
    uid: str | None,
    start: float | None = None,
    end: float | None = None,
) -> int:
    return db.one(
        "INSERT INTO dav_resources (collection, name, content_type, blob, size, etag, uid,"
        " component, time_start, time_end, created, modified, modseq)"
        " VALUES (?, ?, 'text/calendar', ?, 4, ?, ?, 'VEVENT', ?, ?, ?, ?, 1) RETURNING id",
        (collection, name, BLOB, f'"{name}-1"', uid, start, end, T0, T0),
    )


# ---- the schemas' shape --------------------------------------------------------------


def sqlite_tables(db: Db) -> list[str]:
    """Ordinary tables: not SQLite's own, nor full-text virtual tables and their shadows."""
    rows = db.rows(
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table'"
        " AND name NOT LIKE 'sqlite~_%' ESCAPE '~'"
    )
    return [name for (name,) in rows]


def sqlite_columns(db: Db) -> dict[str, list[tuple[str, str, bool]]]:
    return {
        table: [
            (name, kind, bool(notnull or pk))
            for (_, name, kind, notnull, _, pk) in db.rows(f"PRAGMA table_info({table})")
        ]
        for table in sqlite_tables(db)
    }


def postgres_columns(db: Db) -> dict[str, list[tuple[str, str, bool]]]:
    columns: dict[str, list[tuple[str, str, bool]]] = {}
    for table, name, kind, nullable in db.rows(
        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name != 'schema_version'"
        " ORDER BY table_name, ordinal_position"
    ):
        columns.setdefault(table, []).append((name, kind, nullable == "NO"))
    return columns


def test_schema_records_backends_define_the_same_tables_and_columns(
    sqlite_db: Db, postgres_db: Db
) -> None:
    assert len(sqlite_schema.MIGRATIONS) == len(pg_schema.MIGRATIONS)
    assert sqlite_db.migrate() == postgres_db.migrate() == len(sqlite_schema.MIGRATIONS)
    lite, pg = sqlite_columns(sqlite_db), postgres_columns(postgres_db)
    assert set(lite) >= RECORD_TABLES
    assert set(lite) == set(pg)
    for table in lite:
        assert [c[0] for c in lite[table]] == [c[0] for c in pg[table]], table
        for (name, lite_type, lite_notnull), (_, pg_type, pg_notnull) in zip(
            lite[table], pg[table], strict=True
        ):
            assert pg_type in COMPATIBLE[lite_type], f"{table}.{name}: {lite_type} / {pg_type}"
            assert lite_notnull == pg_notnull, f"{table}.{name}: NOT NULL differs"


Index = tuple[str, tuple[str, ...], bool, bool]  # table, columns, unique, partial


def sqlite_indexes(db: Db) -> set[Index]:
    found: set[Index] = set()
    for table in sqlite_tables(db):
        listed = db.rows(
            f"SELECT name, \"unique\", origin, partial FROM pragma_index_list('{table}')"
        )
        for name, unique, _, partial in listed:
            columns = db.rows(f"SELECT name FROM pragma_index_info('{name}') ORDER BY seqno")
            found.add(
                (table, tuple(c or "<expr>" for (c,) in columns), bool(unique), bool(partial))
            )
        if not any(origin == "pk" for _, _, origin, _ in listed):  # INTEGER PRIMARY KEY: the rowid
            pk = db.rows(f"SELECT name FROM pragma_table_info('{table}') WHERE pk ORDER BY pk")
            if pk:
                found.add((table, tuple(c for (c,) in pk), True, False))
    return found


def postgres_indexes(db: Db) -> set[Index]:
    rows = db.rows(
        "SELECT t.relname, x.indisunique, x.indpred IS NOT NULL, array("
        "  SELECT coalesce(a.attname, '<expr>') FROM unnest(x.indkey::int2[])"
        "  WITH ORDINALITY AS k(attnum, n) LEFT JOIN pg_attribute a"
        "  ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.n)"
        " FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid"
        " JOIN pg_namespace s ON s.oid = t.relnamespace"
        " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am m ON m.oid = i.relam"
        " WHERE s.nspname = current_schema() AND t.relname != 'schema_version'"
        " AND m.amname = 'btree'"
    )
    return {(table, tuple(columns), unique, partial) for table, unique, partial, columns in rows}


def test_schema_records_backends_define_the_same_indexes(sqlite_db: Db, postgres_db: Db) -> None:
    # Keys, unique constraints and indexes alike: same columns, uniqueness and partiality.
    sqlite_db.migrate()
    postgres_db.migrate()
    assert sqlite_indexes(sqlite_db) == postgres_indexes(postgres_db)
    # And the indexes created by name have the same names.
    lite = sqlite_db.rows("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index'")
    pg = postgres_db.rows(
        "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = current_schema()"
        " AND position(' USING btree ' IN indexdef) > 0"
    )
    # Implicit indexes of PRIMARY KEY and UNIQUE: sqlite_autoindex_*, *_pkey and *_key.
    assert {i for i in lite if not i[1].startswith("sqlite_autoindex_")} == {
        i for i in pg if not i[1].endswith(("_pkey", "_key"))
    }


ON_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


def test_schema_records_backends_define_the_same_foreign_keys(
    sqlite_db: Db, postgres_db: Db
) -> None:
    sqlite_db.migrate()
    postgres_db.migrate()
    lite = {
        (table, column, target, target_column, on_delete)
        for table in sqlite_tables(sqlite_db)
        for target, column, target_column, on_delete in sqlite_db.rows(
            f'SELECT "table", "from", "to", on_delete FROM pragma_foreign_key_list(\'{table}\')'
        )
    }
    pg = {
        (table, column, target, target_column, ON_DELETE[action])
        for table, column, target, target_column, action in postgres_db.rows(
            "SELECT t.relname, a.attname, r.relname, ra.attname, c.confdeltype"
            " FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid"
            " JOIN pg_class r ON r.oid = c.confrelid"
            " JOIN pg_namespace s ON s.oid = t.relnamespace"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
            " JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]"
            " WHERE c.contype = 'f' AND s.nspname = current_schema()"
        )
    }
    assert lite == pg
    assert ("queue_recipients", "message", "queue_messages", "id", "CASCADE") in lite


def test_schema_records_upgrade_from_version_3(bare: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    module = sqlite_schema if bare.backend == "sqlite" else pg_schema
    current = module.MIGRATIONS
    monkeypatch.setattr(module, "MIGRATIONS", current[:3])
    assert bare.migrate() == bare.version() == 3
    ann = principal(bare, "ann@example.org")
    monkeypatch.setattr(module, "MIGRATIONS", current)
    assert bare.migrate() == bare.version() == len(current)
    assert bare.one("SELECT name FROM principals WHERE id = ?", (ann,)) == "ann@example.org"
    assert sieve_script(bare, ann, "main", b"keep;", active=True) > 0
    assert bare.migrate() == len(current)  # nothing left to do


# ---- Sieve --------------------------------------------------------------------------


def test_schema_records_sieve_script_round_trip(db: Db) -> None:
    ann = principal(db, "ann@example.org")
    source = 'require "fileinto";\r\nfileinto "Caf\u00e9";\r\n'.encode()
    script = sieve_script(db, ann, "main", source, active=True)
    db.run("UPDATE sieve_scripts SET compiled = ? WHERE id = ?", (b"\x00\x01code", script))
    row = db.rows(
        "SELECT account, name, source, size, compiled, is_active, created, updated, modseq"
        " FROM sieve_scripts WHERE id = ?",
        (script,),
    )
    assert row == [(ann, "main", source, len(source), b"\x00\x01code", True, T0, T0, 1)]


def test_schema_records_one_active_sieve_script_per_account(db: Db) -> None:
    ann, bob = principal(db, "ann@example.org"), principal(db, "bob@example.org")
    sieve_script(db, ann, "one", b"keep;", active=True)
    second = sieve_script(db, ann, "two", b"discard;")
    sieve_script(db, ann, "three", b"stop;")  # any number of inactive scripts
    sieve_script(db, bob, "one", b"keep;", active=True)  # each account has its own
    activate = "UPDATE sieve_scripts SET is_active = ? WHERE id = ?"
    with pytest.raises(db.violation):
        db.run(activate, (True, second))
    # SETACTIVE switches in one transaction.
    with db.transaction():
        db.run("UPDATE sieve_scripts SET is_active = ? WHERE account = ?", (False, ann))
        db.run(activate, (True, second))
    active = "SELECT id FROM sieve_scripts WHERE account = ? AND is_active"
    assert db.rows(active, (ann,)) == [(second,)]


def test_schema_records_sieve_script_names_and_ids(db: Db) -> None:
    ann, bob = principal(db, "ann@example.org"), principal(db, "bob@example.org")
    first = sieve_script(db, ann, "main", b"keep;")
    with pytest.raises(db.violation):
        sieve_script(db, ann, "main", b"discard;")
    sieve_script(db, ann, "Main", b"keep;")  # names compare bytewise
    sieve_script(db, bob, "main", b"keep;")
    with pytest.raises(db.violation):  # size is the source's length in octets
        db.run("UPDATE sieve_scripts SET size = size + 1 WHERE id = ?", (first,))
    db.run("DELETE FROM sieve_scripts WHERE id = ?", (first,))
    assert sieve_script(db, ann, "main", b"keep;") > first  # ids are never reused


def test_schema_records_sieve_tracking(db: Db) -> None:
    ann = principal(db, "ann@example.org")
    digest = bytes(range(32))
    insert = "INSERT INTO sieve_tracking (account, kind, digest, expires) VALUES (?, ?, ?, ?)"
    db.run(insert, (ann, "vacation", digest, T0 + 7 * DAY))
    db.run(insert, (ann, "duplicate", digest, T0 + DAY))  # the kinds do not collide
    with pytest.raises(db.violation):
        db.run(insert, (ann, "vacation", digest, T0))
    with pytest.raises(db.violation):
        db.run(insert, (ann, "other", digest, T0))
    # A vacation response sent again renews its :days.
    renew = " ON CONFLICT (account, kind, digest) DO UPDATE SET expires = excluded.expires"
    db.run(insert + renew, (ann, "vacation", digest, T0 + 14 * DAY))
    assert db.run("DELETE FROM sieve_tracking WHERE expires < ?", (T0 + 2 * DAY,)) == 1
    left = db.rows("SELECT kind, digest, expires FROM sieve_tracking WHERE account = ?", (ann,))
    assert left == [("vacation", digest, T0 + 14 * DAY)]


def test_schema_records_vacation_response(db: Db) -> None:
    ann = principal(db, "ann@example.org")
    insert = (
        "INSERT INTO vacation_responses (account, is_enabled, from_date, to_date, subject,"
        " text_body, html_body, modseq) VALUES (?, ?, ?, ?, ?, ?, ?, 3)"
    )
    db.run(insert, (ann, True, T0, None, "Away", "Back on Monday.", None))
    with pytest.raises(db.violation):  # one per account
        db.run(insert, (ann, False, None, None, None, None, None))
    expected = (ann, True, T0, None, "Away", "Back on Monday.", None, 3)
    assert db.rows("SELECT * FROM vacation_responses") == [expected]


# ---- identities and push subscriptions ----------------------------------------------


def test_schema_records_identity(db: Db) -> None:
    ann = principal(db, "ann@example.org")
    reply_to = json.dumps([{"name": "Ann", "email": "ann@example.org"}])
    identity = db.one(
        "INSERT INTO identities (account, name, email, reply_to, text_signature, modseq)"
        " VALUES (?, 'Ann', 'ann@example.org', ?, '-- Ann', 2) RETURNING id",
        (ann, reply_to),
    )
    row = db.rows(
        "SELECT account, name, email, reply_to, bcc, text_signature, html_signature, may_delete,"
        " modseq FROM identities WHERE id = ?",
        (identity,),
    )
    assert row == [(ann, "Ann", "ann@example.org", reply_to, None, "-- Ann", "", True, 2)]


def test_schema_records_push_subscription(db: Db) -> None:
    ann = principal(db, "ann@example.org")
    keys = json.dumps({"p256dh": "BNc...", "auth": "tBH..."})
    types = json.dumps(["Email", "Mailbox"])
    url = "https://push.example/x"
    push = db.one(
        "INSERT INTO push_subscriptions (account, device_client_id, url, keys, verification_code,"
        " expires, types, created) VALUES (?, 'phone-1', ?, ?, 'c0de', ?, ?, ?) RETURNING id",
        (ann, url, keys, T0 + DAY, types, T0),
    )
    db.run("UPDATE push_subscriptions SET verified = ? WHERE id = ?", (True, push))
    row = db.rows(
        "SELECT device_client_id, url, keys, verification_code, verified, expires, types, created"
        " FROM push_subscriptions WHERE account = ?",
        (ann,),
    )
    assert row == [("phone-1", url, keys, "c0de", True, T0 + DAY, types, T0)]


# ---- the outbound queue -------------------------------------------------------------


def test_schema_records_queue_round_trip_and_scheduling(db: Db) -> None:
    ann = principal(db, "ann@example.org")
    add_blob(db)
    message = queue_message(db, ann)
    bob, carl = "bob@example.net", "carl@example.com"
    queue_recipient(db, message, bob, T0)
    queue_recipient(db, message, carl, T0 + 600)
    with pytest.raises(db.violation):  # one row per recipient of a message
        queue_recipient(db, message, bob, T0)
    envelope = db.rows(
        "SELECT account, blob, size, return_path, env_id, dsn_ret, body_type, smtputf8, priority,"
        " undo_status FROM queue_messages WHERE id = ?",
        (message,),
    )
    assert envelope == [(ann, BLOB, 4, "ann@example.org", "env-1", "HDRS", None, False, 0, "final")]
    due = "SELECT recipient FROM queue_recipients WHERE next_attempt <= ? ORDER BY next_attempt"
    assert db.rows(due, (T0 + 60,)) == [(bob,)]

    # A node leases what is due; another node finds nothing left to claim until it expires.
    claim = (
        "UPDATE queue_recipients SET lease_owner = ?, lease_until = ?"
        " WHERE next_attempt <= ? AND (lease_until IS NULL OR lease_until < ?)"
    )
    assert db.run(claim, ("node-a", T0 + 120, T0 + 60, T0 + 60)) == 1
    assert db.run(claim, ("node-b", T0 + 180, T0 + 60, T0 + 60)) == 0
    assert db.run(claim, ("node-b", T0 + 900, T0 + 600, T0 + 600)) == 2

    # A temporary failure; a final recipient has no next attempt; a lease has both parts.
    db.run(
        "UPDATE queue_recipients SET status = 'deferred', attempts = attempts + 1,"
        " next_attempt = ?, last_attempt = ?, last_code = 451, last_status = '4.3.0',"
        " last_error = 'try later', remote_mta = 'mx.example.net', lease_owner = NULL,"
        " lease_until = NULL WHERE message = ? AND recipient = ?",
        (T0 + 1800, T0, message, bob),
    )
    with pytest.raises(db.violation):
        db.run("UPDATE queue_recipients SET status = 'delivered' WHERE recipient = ?", (carl,))
    with pytest.raises(db.violation):
        db.run("UPDATE queue_recipients SET status = 'lost', next_attempt = NULL")
    with pytest.raises(db.violation):
        db.run("UPDATE queue_recipients SET lease_until = NULL WHERE recipient = ?", (carl,))
    db.run(
        "UPDATE queue_recipients SET status = 'delivered', next_attempt = NULL, last_code = 250,"
        " lease_owner = NULL, lease_until = NULL WHERE recipient = ?",
        (carl,),
    )
    recipients = db.rows(
        "SELECT recipient, status, attempts, next_attempt, last_code, last_status, notify, orcpt"
        " FROM queue_recipients WHERE message = ? ORDER BY recipient",
        (message,),
    )
    assert recipients == [
        (bob, "deferred", 1, T0 + 1800, 451, "4.3.0", "FAILURE,DELAY", f"rfc822;{bob}"),
        (carl, "delivered", 0, None, 250, None, "FAILURE,DELAY", f"rfc822;{carl}"),
    ]


def test_schema_records_queue_recipients_go_with_their_message(db: Db) -> None:
    add_blob(db)
    kept, gone = queue_message(db, None), queue_message(db, None)
    for message in (kept, gone):
        queue_recipient(db, message, "bob@example.net", T0)
    with pytest.raises(db.violation):  # a queued message holds a reference to its blob
        db.run("DELETE FROM blobs WHERE id = ?", (BLOB,))
    db.run("DELETE FROM queue_messages WHERE id = ?", (gone,))
    assert db.rows("SELECT message FROM queue_recipients") == [(kept,)]


def test_schema_records_queue_outlives_its_account(db: Db) -> None:
    # Accepted mail is still delivered when the submitting account is deleted.
    ann = principal(db, "ann@example.org")
    add_blob(db)
    message = queue_message(db, ann)
    queue_recipient(db, message, "bob@example.net", T0)
    db.run("DELETE FROM principals WHERE id = ?", (ann,))
    assert db.rows("SELECT id, account FROM queue_messages") == [(message, None)]
    assert db.one("SELECT count(*) FROM queue_recipients") == 1


# ---- DAV ----------------------------------------------------------------------------


def test_schema_records_dav_collections(db: Db) -> None:
    ann, bob = principal(db, "ann@example.org"), principal(db, "bob@example.org")
    calendar = dav_collection(db, ann, "calendar", "default")
    dav_collection(db, ann, "addressbook", "default")  # another kind, same segment
    dav_collection(db, bob, "calendar", "default")
    with pytest.raises(db.violation):
        dav_collection(db, ann, "calendar", "default")
    with pytest.raises(db.violation):  # calendars do not nest
        dav_collection(db, ann, "calendar", "inner", parent=calendar)
    with pytest.raises(db.violation):
        dav_collection(db, ann, "journal", "x")
    docs = dav_collection(db, ann, "files", "docs")
    sub = dav_collection(db, ann, "files", "2024", parent=docs)
    dav_collection(db, ann, "files", "2024")  # the same segment elsewhere in the tree
    with pytest.raises(db.violation):
        dav_collection(db, ann, "files", "2024", parent=docs)
    with pytest.raises(db.violation):  # not deleted from under its children
        db.run("DELETE FROM dav_collections WHERE id = ?", (docs,))
    assert db.one("SELECT parent FROM dav_collections WHERE id = ?", (sub,)) == docs

    components = json.dumps(["VEVENT"])
    dead = json.dumps({"{urn:x}note": "<x:note xmlns:x='urn:x'>hi</x:note>"})
    db.run(
        "UPDATE dav_collections SET display_name = 'Work', color = '#ff0000', sort_order = 2,"
        " components = ?, properties = ?, modseq = 5, sync_modseq = 7 WHERE id = ?",
        (components, dead, calendar),
    )
    row = db.rows(
        "SELECT kind, parent, name, display_name, description, color, sort_order, timezone,"
        " components, properties, created, modseq, sync_modseq FROM dav_collections WHERE id = ?",
        (calendar,),
    )
    expected = ("calendar", None, "default", "Work", None, "#ff0000", 2, None, components)
    assert row == [(*expected, dead, T0, 5, 7)]


def test_schema_records_dav_resources(db: Db) -> None:
    ann = principal(db, "ann@example.org")
    add_blob(db)
    work, home = (dav_collection(db, ann, "calendar", name) for name in ("work", "home"))
    meeting = dav_resource(db, work, "meeting.ics", "uid-1", T0, T0 + 3600)
    dav_resource(db, work, "weekly.ics", "uid-2", T0 - 30 * DAY)  # recurs without end
    dav_resource(db, work, "later.ics", "uid-3", T0 + 10 * DAY, T0 + 10 * DAY + 3600)
    dav_resource(db, work, "undated-1.ics", None)  # any number of resources without a UID
    dav_resource(db, work, "undated-2.ics", None)
    dav_resource(db, home, "meeting.ics", "uid-1")  # same name and UID, another collection
    with pytest.raises(db.violation):  # CalDAV's no-uid-conflict
        dav_resource(db, work, "copy.ics", "uid-1")
    with pytest.raises(db.violation):
        dav_resource(db, work, "meeting.ics", "uid-9")
    row = db.rows(
        "SELECT collection, name, content_type, blob, size, etag, uid, component, time_start,"
        " time_end, created, modified, modseq FROM dav_resources WHERE id = ?",
        (meeting,),
    )
    expected = (work, "meeting.ics", "text/calendar", BLOB, 4, '"meeting.ics-1"', "uid-1")
    assert row == [(*expected, "VEVENT", T0, T0 + 3600, T0, T0, 1)]
    # A time-range query for [T0 - 1 day, T0 + 1 day).
    overlapping = db.rows(
        "SELECT name FROM dav_resources WHERE collection = ? AND time_start < ?"
        " AND (time_end IS NULL OR time_end > ?) ORDER BY name",
        (work, T0 + DAY, T0 - DAY),
    )
    assert overlapping == [("meeting.ics",), ("weekly.ics",)]
    # Scheduling finds an event by UID across collections.
    assert db.one("SELECT count(*) FROM dav_resources WHERE uid = ?", ("uid-1",)) == 2
    db.run("DELETE FROM dav_collections WHERE id = ?", (work,))
    assert db.rows("SELECT collection, name FROM dav_resources") == [(home, "meeting.ics")]


# ---- POP3 maildrop leases -----------------------------------------------------------


def test_schema_records_maildrop_lease(db: Db) -> None:
    ann = principal(db, "ann@example.org")
    acquire = (
        "INSERT INTO maildrop_leases (account, owner, expires) VALUES (?, ?, ?)"
        " ON CONFLICT (account) DO UPDATE SET owner = excluded.owner, expires = excluded.expires"
        " WHERE maildrop_leases.expires < ?"
    )

    def take(owner: str, now: float) -> bool:
        return db.run(acquire, (ann, owner, now + 600, now)) == 1

    assert take("node-a:1", T0)
    assert not take("node-b:7", T0 + 60)  # [IN-USE]
    assert db.rows("SELECT owner, expires FROM maildrop_leases") == [("node-a:1", T0 + 600)]
    assert take("node-b:7", T0 + 601)  # a crashed holder's lease runs out
    release = "DELETE FROM maildrop_leases WHERE account = ? AND owner = ?"
    assert db.run(release, (ann, "node-a:1")) == 0  # the late holder releases nothing
    assert db.run(release, (ann, "node-b:7")) == 1


# ---- deleting an account ------------------------------------------------------------


def test_schema_records_go_with_their_account(db: Db) -> None:
    ann, bob = principal(db, "ann@example.org"), principal(db, "bob@example.org")
    add_blob(db)
    for account in (ann, bob):
        sieve_script(db, account, "main", b"keep;", active=True)
        db.run(
            "INSERT INTO sieve_tracking (account, kind, digest, expires)"
            " VALUES (?, 'duplicate', ?, ?)",
            (account, b"\x01" * 32, T0),
        )
        db.run("INSERT INTO vacation_responses (account, modseq) VALUES (?, 1)", (account,))
        db.run(
            "INSERT INTO identities (account, email, modseq) VALUES (?, 'x@example.org', 1)",
            (account,),
        )
        db.run(
            "INSERT INTO push_subscriptions (account, device_client_id, url, verification_code,"
            " created) VALUES (?, 'd', 'https://push.example/', 'c', ?)",
            (account, T0),
        )
        folder = dav_collection(db, account, "files", "docs")
        inner = dav_collection(db, account, "files", "inner", parent=folder)
        dav_resource(db, inner, "a.txt", None)
        dav_resource(db, dav_collection(db, account, "calendar", "default"), "e.ics", "u")
        db.run(
            "INSERT INTO maildrop_leases (account, owner, expires) VALUES (?, 'p', ?)",
            (account, T0),
        )
    db.run("DELETE FROM principals WHERE id = ?", (ann,))
    for table in sorted(RECORD_TABLES - {"queue_messages", "queue_recipients"}):
        query = f"SELECT DISTINCT account FROM {table}"
        if table == "dav_resources":
            query = (
                "SELECT DISTINCT c.account FROM dav_resources r"
                " JOIN dav_collections c ON c.id = r.collection"
            )
        assert db.rows(query) == [(bob,)], table
