"""kill -9 durability: every acknowledged append survives SIGKILL, and the store stays consistent.

A child process (``durability_child.py``) appends from 20 concurrent tasks and
prints an ack after each append returned; the parent kills it with SIGKILL
after a random number of acks (seeded), reopens the same database and checks
every ack so far, the change log, UIDs and quota; five rounds, each child
continuing the same database.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import trio

# No __init__.py here: pytest's default (prepend) import mode puts this directory on sys.path.
from durability_child import Ack, check, run_round

from kernel.store import Store
from plugins.store_sqlite.connection import SqliteBackend

ROUNDS = 5


async def test_sqlite_durability_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    rng = random.Random(20240611)
    acked: list[Ack] = []
    for round_no in range(ROUNDS):
        kill_after = rng.randint(1, 120)
        acked += await trio.to_thread.run_sync(
            run_round, round_no, ["sqlite", str(path)], kill_after, tmp_path / "child.err"
        )
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            conn.close()
        backend = await SqliteBackend.open(path)
        try:
            present = await check(Store(backend), acked)
        finally:
            await backend.aclose()
        assert present >= len(acked)
