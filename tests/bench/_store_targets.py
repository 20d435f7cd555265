"""The store backends the benchmark runs against, each behind one small interface.

A :class:`SqliteTarget` puts every database in a file of a temporary directory
(``$TMPDIR``); a :class:`PostgresTarget` puts each in a fresh schema of the
database named by ``STALWART_TEST_POSTGRES_DSN`` (as the PostgreSQL tests do),
dropped at the end. Both count what makes a write durable: SQLite commits (one
fsync of the WAL each, ``synchronous=FULL``) and PostgreSQL WAL syncs
(``pg_stat_wal.wal_sync``, server-wide, so other clients of the server count
too). A PostgreSQL session reports its statistics up to ten seconds late, but
always when it ends: so the caller reopens the backend (:meth:`reopen`) before
the counting starts and closes it before it ends.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
import trio
from psycopg import sql
from psycopg.conninfo import make_conninfo

from plugins.store_postgres.connection import PostgresBackend
from plugins.store_sqlite.connection import SqliteBackend

__all__ = ["DSN", "PostgresTarget", "SqliteTarget", "postgres_unreachable"]

from kernel.testing.postgres import DSN


def postgres_unreachable() -> str | None:
    """Why PostgreSQL at :data:`DSN` cannot be used, or None."""
    try:
        with psycopg.connect(DSN, autocommit=True, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


class SqliteTarget:
    name = "SQLite"
    description = "SQLite (WAL, synchronous=FULL, group commit)"
    fsync_label = "per fsync"
    durable_build = True
    build_note = ""

    def __init__(self) -> None:
        self._directory = Path(tempfile.mkdtemp(prefix="bench-store-"))

    async def open(self, label: str, *, durable: bool = True) -> Any:
        # SQLite's group commit builds the mailbox fast enough durably.
        return await SqliteBackend.open(self._directory / f"{label}.sqlite3")

    async def reopen(self, backend: Any, *, durable: bool = True) -> Any:
        await backend.aclose()
        return await SqliteBackend.open(backend.path)

    async def fsyncs(self, backend: Any) -> int:
        # One BEGIN IMMEDIATE ... COMMIT per batch: one fsync of the WAL each.
        return int(backend.statistics.commits)

    async def settle(self, backend: Any) -> None:
        """Wait for the search index to reach the last append (no ANALYZE: the store runs none).

        The indexer fills the trigram index beside the appends; queries are measured
        on a caught-up index, and the wait after the build is printed.
        """
        start = time.perf_counter()
        await trio.to_thread.run_sync(backend.search.wait_caught_up, 3600.0)
        print(f"  search index caught up {time.perf_counter() - start:.1f}s after the build")

    async def size(self, backend: Any) -> str:
        def on_disk(path: Path) -> int:
            files = (path, Path(f"{path}-wal"))
            return sum(f.stat().st_size for f in files if f.exists())

        main, search = on_disk(backend.path), on_disk(backend.search.path)
        return (
            f"{(main + search) / 1e6:,.0f} MB (store {main / 1e6:,.0f} MB "
            f"+ search index {search / 1e6:,.0f} MB, WAL included)"
        )

    async def close(self, backend: Any) -> None:
        await backend.aclose()
        for path in (backend.path, backend.search.path):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

    def cleanup(self) -> None:
        shutil.rmtree(self._directory, ignore_errors=True)


class PostgresTarget:
    name = "PostgreSQL"
    description = "PostgreSQL (synchronous_commit=on)"
    fsync_label = "per sync"
    # One account's appends run one at a time (each holds the account's row lock
    # from its first statement through its commit, WAL flush included): building
    # 100,000 durably at 100-150/s would take a quarter of an hour or more.
    durable_build = False
    build_note = " (sync off)"

    def __init__(self) -> None:
        self._schemas: list[str] = []
        with psycopg.connect(DSN, autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()
            synchronous = conn.execute("SHOW synchronous_commit").fetchone()
        assert version is not None and synchronous is not None
        self.description = f"PostgreSQL {version[0]} (synchronous_commit={synchronous[0]})"

    async def open(self, label: str, *, durable: bool = True) -> Any:
        """A backend on a new schema; with ``durable`` false its sessions commit
        without waiting for the WAL flush (``synchronous_commit=off``)."""
        schema = f"bench_{label}_{secrets.token_hex(4)}"
        self._schemas.append(schema)
        return await self._open(schema, durable)

    async def _open(self, schema: str, durable: bool) -> Any:
        dsn = DSN if durable else make_conninfo(DSN, options="-c synchronous_commit=off")
        return await PostgresBackend.open(dsn, schema=schema)

    async def reopen(self, backend: Any, *, durable: bool = True) -> Any:
        await backend.aclose()
        return await self._open(backend.schema, durable)

    async def fsyncs(self, backend: Any) -> int:
        await trio.sleep(1)  # for the sessions that just ended to report
        return await trio.to_thread.run_sync(self._wal_syncs)

    @staticmethod
    def _wal_syncs() -> int:
        with psycopg.connect(DSN, autocommit=True) as conn:
            row = conn.execute("SELECT wal_sync FROM pg_stat_wal").fetchone()
        return int(row[0]) if row else 0

    async def settle(self, backend: Any) -> None:
        """``VACUUM ANALYZE`` the schema, as autovacuum would in time: fresh
        tables have no statistics and no visibility map yet."""

        def vacuum() -> None:
            with psycopg.connect(DSN, autocommit=True) as conn:
                tables = conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s", (backend.schema,)
                ).fetchall()
                for (table,) in tables:
                    name = sql.Identifier(backend.schema, table)
                    conn.execute(sql.SQL("VACUUM ANALYZE {}").format(name))

        await trio.to_thread.run_sync(vacuum)

    async def size(self, backend: Any) -> str:
        def measure() -> int:
            with psycopg.connect(DSN, autocommit=True) as conn:
                row = conn.execute(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %s AND c.relkind = 'r'",
                    (backend.schema,),
                ).fetchone()
            return int(row[0]) if row else 0

        total = await trio.to_thread.run_sync(measure)
        return f"{total / 1e6:,.0f} MB (tables, indexes and TOAST of the schema)"

    async def close(self, backend: Any) -> None:
        await backend.aclose()
        await trio.to_thread.run_sync(self._drop, backend.schema)

    def _drop(self, schema: str) -> None:
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        if schema in self._schemas:
            self._schemas.remove(schema)

    def cleanup(self) -> None:
        for schema in list(self._schemas):
            self._drop(schema)
