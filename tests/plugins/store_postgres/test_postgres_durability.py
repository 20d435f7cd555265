"""kill -9 durability on PostgreSQL: the SQLite test's harness against a fresh schema.

The child (``tests/plugins/store_sqlite/durability_child.py``) appends through a
pool of 20 connections and is killed with SIGKILL after a random number of
acks (seeded); PostgreSQL rolls back what was in flight, and every acknowledged
append must be there, with the change log, UIDs and quota consistent. Skipped
without a reachable server (``STALWART_TEST_POSTGRES_DSN``), failed under CI.
"""

from __future__ import annotations

import importlib.util
import random
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import trio
from psycopg import sql

from kernel.store import Store
from kernel.testing.postgres import DSN, admin_connection
from plugins.store_postgres.connection import PostgresBackend

HARNESS = Path(__file__).resolve().parents[1] / "store_sqlite" / "durability_child.py"
ROUNDS = 5


def _harness() -> ModuleType:
    if "durability_child" in sys.modules:
        return sys.modules["durability_child"]
    spec = importlib.util.spec_from_file_location("durability_child", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["durability_child"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def schema() -> Iterator[str]:
    """A fresh schema name; the schema is dropped afterwards."""
    conn = admin_connection()
    name = f"test_{secrets.token_hex(6)}"
    with conn:
        try:
            yield name
        finally:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


async def test_postgres_durability_survives_kill_9(schema: str, tmp_path: Path) -> None:
    harness = _harness()
    rng = random.Random(20240612)
    acked: list = []
    for round_no in range(ROUNDS):
        kill_after = rng.randint(1, 60)  # appends of one account queue on its row lock
        acked += await trio.to_thread.run_sync(
            harness.run_round,
            round_no,
            ["postgres", DSN, schema],
            kill_after,
            tmp_path / "child.err",
        )
        backend = await PostgresBackend.open(DSN, schema=schema)
        try:
            present = await harness.check(Store(backend), acked)
        finally:
            await backend.aclose()
        assert present >= len(acked)
