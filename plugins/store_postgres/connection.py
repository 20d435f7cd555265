"""The connection pool, snapshot readers and retrying writers.

Theory of operation:

* One psycopg (synchronous API) ``ConnectionPool`` per backend, its connections
  in autocommit mode with ``search_path`` set to the store's schema. Every read
  and write runs in a trio worker thread (``trio.to_thread.run_sync``) behind a
  ``CapacityLimiter`` as large as the pool, so a thread never waits for a
  connection that another thread holds.
* ``read(fn)`` runs ``fn`` with the read operations (``read.py``) inside one
  ``REPEATABLE READ READ ONLY`` transaction: every statement sees the same
  snapshot.
* ``write(fn)`` runs ``fn`` with the read and write operations (``write.py``)
  inside one READ COMMITTED transaction and returns after ``COMMIT``; if ``fn``
  raises, the transaction is rolled back and the exception propagates. A
  serialization failure or deadlock (the server rolled the transaction back)
  runs ``fn`` again on a fresh transaction, up to :data:`RETRIES` times. Once
  started, the write is shielded from cancellation, so the caller always learns
  whether it committed. Unlike SQLite's single writer there is no group commit:
  PostgreSQL commits concurrent transactions together itself, and the account
  row lock taken by ``bump_modseq`` orders one account's writers (see
  ``write.py``).
* Several servers may share one schema (a cluster): nothing is cached here, and
  migrations run under an advisory lock (``schema.py``).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, final

import psycopg
import trio
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from kernel.errors import StoreError
from plugins.store_postgres.read import PostgresReadOps
from plugins.store_postgres.schema import migrate
from plugins.store_postgres.write import PostgresWriteOps

__all__ = ["RETRIES", "PostgresBackend", "WriteStatistics"]

T = TypeVar("T")

#: How many times a write is run again after a serialization failure or deadlock.
RETRIES = 3
_RETRYABLE = (errors.SerializationFailure, errors.DeadlockDetected)


def describe(dsn: str) -> str:
    """``host:port/dbname`` of a DSN, for messages (never its password)."""
    try:
        info = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(an invalid DSN)"
    host = info.get("host") or info.get("hostaddr") or "localhost"
    return f"{host}:{info.get('port') or 5432}/{info.get('dbname') or ''}"


@dataclass
class WriteStatistics:
    """Committed writes and how many attempts were run again."""

    commits: int = 0
    retries: int = 0


@final
class PostgresBackend:
    """The ``store`` backend over one schema of a PostgreSQL database.

    Resource handling: :meth:`open` migrates the schema and opens the pool;
    :meth:`aclose` waits for running reads and writes, then closes the pool.

    Error handling: constraint violations surface as ``StoreError`` subclasses
    (``write.py``); a lost connection surfaces as ``psycopg.OperationalError``
    and the pool replaces the connection.
    """

    def __init__(self, pool: ConnectionPool[psycopg.Connection[TupleRow]], schema: str) -> None:
        self.schema = schema
        self._pool = pool
        self._limiter = trio.CapacityLimiter(pool.max_size)
        self._closed = False
        self.statistics = WriteStatistics()

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        schema: str = "public",
        min_connections: int = 1,
        max_connections: int = 10,
        connect_timeout: float = 10.0,
    ) -> PostgresBackend:
        """Create (``CREATE SCHEMA IF NOT EXISTS``) or migrate ``schema``, then open the pool.

        Raises:
            StoreError: the database cannot be reached, or its schema is newer.
        """
        return await trio.to_thread.run_sync(
            cls._open, dsn, schema, min_connections, max_connections, connect_timeout
        )

    @classmethod
    def _open(
        cls,
        dsn: str,
        schema: str,
        min_connections: int,
        max_connections: int,
        connect_timeout: float,
    ) -> PostgresBackend:
        # libpq takes whole seconds (and treats 1 as 2).
        options = {"connect_timeout": max(2, math.ceil(connect_timeout))}
        try:
            with psycopg.connect(dsn, autocommit=True, **options) as conn:
                migrate(conn, schema)
        except psycopg.OperationalError as exc:
            raise StoreError(f"cannot use PostgreSQL at {describe(dsn)}: {exc}") from exc
        set_path = sql.SQL("SET search_path TO {}").format(sql.Identifier(schema))

        def configure(conn: psycopg.Connection[TupleRow]) -> None:
            conn.execute(set_path)

        pool: ConnectionPool[psycopg.Connection[TupleRow]] = ConnectionPool(
            dsn,
            kwargs={"autocommit": True, **options},
            min_size=min_connections,
            max_size=max(min_connections, max_connections),
            configure=configure,
            timeout=connect_timeout,
            name=f"stalwart-store:{schema}",
            open=False,
        )
        try:
            pool.open(wait=True, timeout=connect_timeout)
        except BaseException as exc:
            pool.close()
            raise StoreError(f"cannot open a pool to PostgreSQL at {describe(dsn)}") from exc
        return cls(pool, schema)

    async def aclose(self) -> None:
        """Wait for running reads and writes, then close the pool."""
        if self._closed:
            return
        self._closed = True
        with trio.CancelScope(shield=True):
            borrowers = [object() for _ in range(int(self._limiter.total_tokens))]
            for borrower in borrowers:
                await self._limiter.acquire_on_behalf_of(borrower)
            await trio.to_thread.run_sync(self._pool.close)
            for borrower in borrowers:
                self._limiter.release_on_behalf_of(borrower)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the store is closed")

    async def read(self, fn: Callable[[PostgresReadOps], T], *, small: bool = False) -> T:
        # ``small`` changes nothing here: every statement is a network round trip.
        self._check_open()
        return await trio.to_thread.run_sync(self._read, fn, limiter=self._limiter)

    def _read(self, fn: Callable[[PostgresReadOps], T]) -> T:
        with self._pool.connection() as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            with conn.transaction():
                return fn(PostgresReadOps(conn))

    async def write(self, fn: Callable[[PostgresWriteOps], T], *, small: bool = False) -> T:
        self._check_open()
        # Shielded: once started the write runs to the end; the caller must learn its outcome.
        with trio.CancelScope(shield=True):
            result, attempts = await trio.to_thread.run_sync(self._write, fn, limiter=self._limiter)
        self.statistics.commits += 1
        self.statistics.retries += attempts - 1
        return result

    def _write(self, fn: Callable[[PostgresWriteOps], T]) -> tuple[T, int]:
        attempt = 1
        while True:
            try:
                with self._pool.connection() as conn:
                    # Explicit, whatever default_transaction_isolation says: under
                    # REPEATABLE READ the account row lock would fail instead of wait.
                    conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
                    conn.read_only = False
                    with conn.transaction():
                        return fn(PostgresWriteOps(conn)), attempt
            except _RETRYABLE:
                if attempt > RETRIES:
                    raise
            # Back off a little, more each time, so the transactions that collided part.
            time.sleep(random.uniform(0, 0.005 * attempt))
            attempt += 1

    def pool_statistics(self) -> dict[str, Any]:
        """The pool's counters (``pool_size``, ``requests_waiting``...), for telemetry."""
        return dict(self._pool.get_stats())
