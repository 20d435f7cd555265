"""The SQLite backend's reader threads: parallel up to the cap, errors handed back."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import trio

from plugins.store_sqlite.connection import SqliteBackend


async def test_sqlite_reads_run_in_parallel_up_to_the_cap(tmp_path: Path) -> None:
    backend = await SqliteBackend.open(tmp_path / "store.sqlite3", readers=4)
    barrier = threading.Barrier(4, timeout=10)
    try:

        def meet(ops: object) -> str:
            barrier.wait()  # only returns once four reads run at the same time
            return str(threading.get_ident())

        names: list[str] = []

        async def one() -> None:
            names.append(await backend.read(meet))

        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                for _ in range(4):
                    nursery.start_soon(one)
        assert len(set(names)) == 4
        # More reads than threads queue up and all finish on the four threads.
        results = []

        async def count() -> None:
            rows = await backend.read(lambda ops: ops.select("SELECT 1"))
            results.append(rows)

        async with trio.open_nursery() as nursery:
            for _ in range(50):
                nursery.start_soon(count)
        assert results == [[(1,)]] * 50
        assert len(backend._reader_threads) == 4
    finally:
        await backend.aclose()


async def test_sqlite_read_errors_reach_the_caller_and_close_stops_readers(
    tmp_path: Path,
) -> None:
    backend = await SqliteBackend.open(tmp_path / "store.sqlite3")

    def broken(ops: object) -> None:
        raise ValueError("bad read")

    with pytest.raises(ValueError, match="bad read"):
        await backend.read(broken)
    assert await backend.read(lambda ops: ops.select("SELECT 2")) == [(2,)]
    threads = list(backend._reader_threads)
    await backend.aclose()
    assert threads and not any(t.is_alive() for t in threads)
    with pytest.raises(RuntimeError, match="closed"):
        await backend.read(lambda ops: None)
