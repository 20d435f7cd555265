"""Query plans of what a store call runs, for the benchmark's ``--explain``.

:class:`Recorder` wraps a backend: every read runs as usual, but the SQL each
read operation executes on its connection is recorded. :func:`explain` then
asks the database for the plan of each recorded statement: SQLite's
``EXPLAIN QUERY PLAN``, PostgreSQL's ``EXPLAIN (ANALYZE, BUFFERS)``. This reaches
into the backends' connections (``ops._conn``), which only a benchmark may do.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

from psycopg import sql

__all__ = ["Recorder", "explain"]


class _Connection:
    """Delegates to a connection, recording each ``execute`` and its time."""

    def __init__(self, conn: Any, log: list[tuple[Any, Any, float]]) -> None:
        self._conn = conn
        self._log = log

    def execute(self, query: Any, params: Any = ()) -> Any:
        start = time.perf_counter()
        cursor = self._conn.execute(query, params)
        rows = cursor.fetchall()
        self._log.append((query, params, time.perf_counter() - start))
        return _Rows(rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class _Rows(list[Any]):
    def fetchone(self) -> Any:
        return self[0] if self else None

    def fetchall(self) -> list[Any]:
        return list(self)


class Recorder:
    """A backend whose reads record their statements in :attr:`log` (if ``enabled``)."""

    def __init__(self, backend: Any, *, enabled: bool = True) -> None:
        self._backend = backend
        self._enabled = enabled
        self.log: list[tuple[Any, Any, float]] = []

    async def read(self, fn: Callable[[Any], Any], *, small: bool = False) -> Any:
        if not self._enabled:
            return await self._backend.read(fn, small=small)

        def traced(ops: Any) -> Any:
            ops._conn = _Connection(ops._conn, self.log)
            return fn(ops)

        return await self._backend.read(traced, small=small)

    async def write(self, fn: Callable[[Any], Any], *, small: bool = False) -> Any:
        return await self._backend.write(fn, small=small)


async def explain(backend: Any, statements: list[tuple[Any, Any, float]]) -> list[str]:
    """The plan of each statement, as indented lines after the statement and its time."""

    def read(ops: Any) -> list[str]:
        conn = ops._conn
        lines: list[str] = []
        for query, params, seconds in statements:
            if isinstance(conn, sqlite3.Connection):
                text = query
                rows = conn.execute(f"EXPLAIN QUERY PLAN {query}", params).fetchall()
                plan = [f"{'  ' * _depth(rows, r)}{r[3]}" for r in rows]
            else:
                text = query.as_string(conn) if isinstance(query, sql.Composable) else query
                prefix = sql.SQL("EXPLAIN (ANALYZE, BUFFERS) ")
                body = query if isinstance(query, sql.Composable) else sql.SQL(query)
                plan = [r[0] for r in conn.execute(prefix + body, params).fetchall()]
            lines.append(f"  [{seconds * 1000:.1f} ms] {' '.join(str(text).split())}")
            lines.append(f"    params: {list(params)[:8]}")
            lines.extend(f"      {p}" for p in plan)
        return lines

    return list(await backend.read(read))


def _depth(rows: list[Any], row: Any) -> int:
    parents = {r[0]: r[1] for r in rows}
    depth, parent = 0, row[1]
    while parent in parents:
        depth, parent = depth + 1, parents[parent]
    return depth
