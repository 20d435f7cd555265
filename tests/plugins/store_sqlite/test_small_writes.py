"""Small writes and reads on the trio thread (``small=True``), beside the writer thread."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import trio

from plugins.store_sqlite.connection import SqliteBackend
from plugins.store_sqlite.write import SqliteWriteOps


def _domain(name: str, threads: list[str] | None = None):  # type: ignore[no-untyped-def]
    def write(ops: SqliteWriteOps) -> str:
        if threads is not None:
            threads.append(threading.current_thread().name)
        ops.insert_domain(name, 0)
        return name

    return write


async def _small(backend: SqliteBackend, name: str, threads: list[str]) -> None:
    await backend.write(_domain(name, threads), small=True)


async def _names(backend: SqliteBackend) -> set[str]:
    return await backend.read(lambda ops: {d.name for d in ops.domains()})


async def test_small_writes_run_on_the_trio_thread_and_share_commits(tmp_path: Path) -> None:
    backend = await SqliteBackend.open(tmp_path / "s.sqlite3")
    threads: list[str] = []
    try:
        async with trio.open_nursery() as nursery:
            for i in range(100):
                nursery.start_soon(
                    lambda i=i: backend.write(_domain(f"{i}.ex", threads), small=True)
                )
        assert set(threads) == {threading.current_thread().name}
        assert backend.statistics.writes == 100
        assert backend.statistics.commits < 100  # gathered into batches
        assert await _names(backend) == {f"{i}.ex" for i in range(100)}
    finally:
        await backend.aclose()
    # Committed means on disk: a fresh connection after close sees every row.
    conn = sqlite3.connect(tmp_path / "s.sqlite3")
    try:
        assert conn.execute("SELECT count(*) FROM domains").fetchone()[0] == 100
    finally:
        conn.close()


async def test_a_failed_small_write_undoes_only_its_own_rows(tmp_path: Path) -> None:
    backend = await SqliteBackend.open(tmp_path / "s.sqlite3")
    failures: list[Exception] = []

    def failing(ops: SqliteWriteOps) -> None:
        ops.insert_domain("failed.ex", 0)
        raise ValueError("refused")

    async def write(fn) -> None:  # type: ignore[no-untyped-def]
        try:
            await backend.write(fn, small=True)
        except ValueError as exc:
            failures.append(exc)

    try:
        async with trio.open_nursery() as nursery:
            for i in range(30):
                nursery.start_soon(write, _domain(f"{i}.ex"))
                if i % 10 == 5:
                    nursery.start_soon(write, failing)
        assert len(failures) == 3
        assert await _names(backend) == {f"{i}.ex" for i in range(30)}
    finally:
        await backend.aclose()


async def test_small_writes_queue_behind_a_long_write_of_the_writer_thread(
    tmp_path: Path,
) -> None:
    backend = await SqliteBackend.open(tmp_path / "s.sqlite3")
    started, release = threading.Event(), threading.Event()
    threads: list[str] = []

    def long_write(ops: SqliteWriteOps) -> None:
        ops.insert_domain("long.ex", 0)
        started.set()
        release.wait(30)

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(backend.write, long_write)
            await trio.to_thread.run_sync(started.wait, 30)
            for i in range(5):
                nursery.start_soon(
                    lambda i=i: backend.write(_domain(f"{i}.ex", threads), small=True)
                )
            # The event loop is free while the writer thread holds the connection.
            for _ in range(20):
                await trio.lowlevel.checkpoint()
            assert threads == []
            release.set()
        # They ran in the writer thread, after the long write committed.
        assert threads and all(name.startswith("sqlite-writer") for name in threads)
        assert await _names(backend) == {"long.ex", *(f"{i}.ex" for i in range(5))}
    finally:
        release.set()
        await backend.aclose()


async def test_small_writes_never_wait_on_the_event_loop_for_another_process(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite3"
    # Were the small write to wait for the lock on the loop, it would stall it this long.
    backend = await SqliteBackend.open(path, busy_timeout=60)
    other = sqlite3.connect(path, isolation_level=None)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await trio.sleep(0.001)

    try:
        other.execute("BEGIN IMMEDIATE")  # another process's write lock, as the CLI takes
        other.execute("INSERT INTO domains (name, created) VALUES ('other.ex', 0)")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(tick)
            done = trio.Event()

            async def write() -> None:
                await backend.write(_domain("mine.ex"), small=True)
                done.set()

            nursery.start_soon(write)
            # The loop keeps running while the write waits for the lock elsewhere.
            before, started = ticks, trio.current_time()
            while ticks < before + 20:
                await trio.sleep(0.001)
            assert trio.current_time() - started < 30
            assert not done.is_set()
            other.execute("COMMIT")
            await done.wait()
            nursery.cancel_scope.cancel()
        assert await _names(backend) == {"other.ex", "mine.ex"}
    finally:
        other.close()
        await backend.aclose()


async def test_small_reads_run_on_the_calling_thread(tmp_path: Path) -> None:
    backend = await SqliteBackend.open(tmp_path / "s.sqlite3")
    try:
        await backend.write(_domain("a.ex"), small=True)

        def read(ops):  # type: ignore[no-untyped-def]
            return threading.current_thread().name, [d.name for d in ops.domains()]

        assert await backend.read(read, small=True) == (threading.current_thread().name, ["a.ex"])
        with pytest.raises(ZeroDivisionError):
            await backend.read(lambda ops: 1 / 0, small=True)
        assert await backend.read(read, small=True) == (threading.current_thread().name, ["a.ex"])
    finally:
        await backend.aclose()


async def test_close_waits_for_gathered_small_writes(tmp_path: Path) -> None:
    backend = await SqliteBackend.open(tmp_path / "s.sqlite3")
    results: list[str] = []

    async def write(i: int) -> None:
        results.append(await backend.write(_domain(f"{i}.ex"), small=True))

    async with trio.open_nursery() as nursery:
        for i in range(20):
            nursery.start_soon(write, i)
        await trio.lowlevel.checkpoint()  # the first one is leading now
        nursery.start_soon(backend.aclose)
    assert len(results) == 20
    with pytest.raises(RuntimeError, match="closed"):
        await backend.write(_domain("late.ex"), small=True)
