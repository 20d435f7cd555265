"""The store contract suite against the SQLite backend, plus SQLite specifics."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import argon2
import pytest

from kernel.errors import StoreError
from kernel.store import Store
from kernel.testing.store_suite import *  # noqa: F403
from kernel.testing.store_suite_identities import *  # noqa: F403
from kernel.testing.store_suite_maildrop import *  # noqa: F403
from kernel.testing.store_suite_query import *  # noqa: F403
from kernel.testing.store_suite_queue import *  # noqa: F403
from kernel.testing.store_suite_quota_acl import *  # noqa: F403
from kernel.testing.store_suite_sieve import *  # noqa: F403
from kernel.testing.store_suite_vacation import *  # noqa: F403
from plugins.blob_fs.store import FsBlobStore
from plugins.store_sqlite.connection import SqliteBackend
from plugins.store_sqlite.schema import MIGRATIONS

CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(params=["inline", "blob_fs"])
async def store(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    """The suite runs twice: bytes in the database, and every message in blob_fs."""
    backend = await SqliteBackend.open(tmp_path / "store.sqlite3")
    blobs = await FsBlobStore.open(tmp_path / "blobs") if request.param == "blob_fs" else None
    try:
        yield Store(backend, hasher=CHEAP, blobs=blobs, inline_limit=0)
    finally:
        await backend.aclose()
        if blobs is not None:
            await blobs.aclose()


async def test_sqlite_large_messages_live_in_blob_files(tmp_path: Path) -> None:
    backend = await SqliteBackend.open(tmp_path / "store.sqlite3")
    blobs = await FsBlobStore.open(tmp_path / "blobs", gc_grace=0.0)
    store = Store(backend, hasher=CHEAP, blobs=blobs, inline_limit=100)
    try:
        await store.directory.add_domain("example.org")
        account = (await store.directory.add_account("ann@example.org", "pw")).id
        inbox = (await store.mailboxes.list(account))[0].id
        small = b"Subject: s\r\n\r\nhi\r\n"
        big = b"Subject: b\r\n\r\n" + b"x" * 1000 + b"\r\n"
        kept = await store.emails.append(account, small, [inbox])
        gone = await store.emails.append(account, big, [inbox])
        assert await blobs.exists(gone.blob) and not await blobs.exists(kept.blob)
        assert await store.emails.raw(account, gone.email) == big
        report = await store.collect_garbage()
        assert report.deleted == 0 and await blobs.exists(gone.blob)  # still referenced
        await store.emails.destroy(account, [gone.email])
        report = await store.collect_garbage()
        assert report.deleted == 1 and not await blobs.exists(gone.blob)
        assert await store.emails.raw(account, kept.email) == small
    finally:
        await backend.aclose()
        await blobs.aclose()


async def test_sqlite_group_commit_batches_concurrent_writes(tmp_path: Path) -> None:
    import trio

    backend = await SqliteBackend.open(tmp_path / "s.sqlite3")
    try:
        async with trio.open_nursery() as nursery:
            for i in range(200):
                nursery.start_soon(backend.write, lambda ops, i=i: ops.insert_domain(f"{i}.ex", 0))
        assert backend.statistics.writes == 200
        assert backend.statistics.commits < 200  # several writes shared one fsync
    finally:
        await backend.aclose()


async def test_sqlite_failed_write_in_a_batch_undoes_only_its_own_writes(tmp_path: Path) -> None:
    # Batches run without a savepoint per write until one fails; then the batch is
    # rolled back and run again with savepoints, so the others still commit.
    import trio

    backend = await SqliteBackend.open(tmp_path / "s.sqlite3")
    failures: list[Exception] = []

    def failing(ops):  # type: ignore[no-untyped-def]
        ops.insert_domain("failed.ex", 0)  # written, then undone with this write only
        raise ValueError("refused")

    async def write(fn) -> None:  # type: ignore[no-untyped-def]
        try:
            await backend.write(fn)
        except ValueError as exc:
            failures.append(exc)

    try:
        async with trio.open_nursery() as nursery:
            for i in range(50):
                nursery.start_soon(write, lambda ops, i=i: ops.insert_domain(f"{i}.ex", 0))
                if i % 10 == 5:
                    nursery.start_soon(write, failing)
        assert len(failures) == 5
        names = await backend.read(lambda ops: {d.name for d in ops.domains()})
        assert names == {f"{i}.ex" for i in range(50)}
        assert backend.statistics.commits < 55  # the batches still shared commits
    finally:
        await backend.aclose()


async def test_sqlite_refuses_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this server"):
        await SqliteBackend.open(path)


async def test_sqlite_reopen_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    backend = await SqliteBackend.open(path)
    await Store(backend, hasher=CHEAP).directory.add_domain("example.org")
    await backend.aclose()
    backend = await SqliteBackend.open(path)
    try:
        assert [d.name for d in await Store(backend).directory.domains()] == ["example.org"]
    finally:
        await backend.aclose()
