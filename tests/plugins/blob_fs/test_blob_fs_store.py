"""The ``fs`` blob store's API: writes, reads, ranges, streaming, id checks."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from kernel.errors import NoSuchItem
from plugins.blob_fs.layout import blob_path, validate_id
from plugins.blob_fs.store import FsBlobStore


@pytest.fixture
async def store(tmp_path: Path) -> FsBlobStore:
    return await FsBlobStore.open(tmp_path / "blobs")


def blob_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp")


async def test_blob_fs_put_get_round_trip(store: FsBlobStore) -> None:
    data = b"From: ann@example.org\r\n\r\nhello\r\n"
    blob_id = await store.put(data)
    assert blob_id == hashlib.sha256(data).hexdigest()
    assert await store.get(blob_id) == data
    assert await store.exists(blob_id)
    assert await store.size(blob_id) == len(data)
    path = blob_path(store.root, blob_id)
    assert path == store.root / blob_id[:2] / blob_id[2:4] / blob_id
    assert path.read_bytes() == data


async def test_blob_fs_empty_blob(store: FsBlobStore) -> None:
    blob_id = await store.put(b"")
    assert blob_id == hashlib.sha256(b"").hexdigest()
    assert await store.get(blob_id) == b""
    assert await store.size(blob_id) == 0


async def test_blob_fs_same_bytes_same_id_one_file(store: FsBlobStore) -> None:
    first = await store.put(b"same")
    second = await store.put(b"same")
    ids = await store.put_many([b"same", b"other", b"same"])
    assert first == second == ids[0] == ids[2] != ids[1]
    assert len(blob_files(store.root)) == 2
    stats = store.statistics()
    assert (stats.written, stats.deduplicated) == (2, 3)
    assert not list((store.root / "tmp").iterdir())  # no temp file left behind


async def test_blob_fs_put_touches_existing_blob(store: FsBlobStore) -> None:
    blob_id = await store.put(b"old mail")
    path = blob_path(store.root, blob_id)
    os.utime(path, (1_000_000, 1_000_000))
    assert await store.put(b"old mail") == blob_id
    assert path.stat().st_mtime > 1_000_000  # the grace period protects it again


async def test_blob_fs_missing_blob(store: FsBlobStore) -> None:
    missing = "0" * 64
    assert await store.get(missing) is None
    assert await store.size(missing) is None
    assert not await store.exists(missing)
    with pytest.raises(NoSuchItem):
        await store.read(missing, 0, 10)
    with pytest.raises(NoSuchItem):
        await store.open_blob(missing)


async def test_blob_fs_ranges(store: FsBlobStore) -> None:
    data = bytes(range(256)) * 4
    blob_id = await store.put(data)
    assert await store.read(blob_id, 0, 10) == data[:10]
    assert await store.read(blob_id, 100, 50) == data[100:150]
    assert await store.read(blob_id, 1000, 100) == data[1000:]  # clipped at the end
    assert await store.read(blob_id, 5000, 10) == b""
    assert await store.read(blob_id, 3, 0) == b""
    with pytest.raises(ValueError):
        await store.read(blob_id, -1, 10)
    with pytest.raises(ValueError):
        await store.read(blob_id, 0, -1)


async def test_blob_fs_open_blob_streams(store: FsBlobStore) -> None:
    data = b"x" * 100_000 + b"end"
    blob_id = await store.put(data)
    async with await store.open_blob(blob_id) as f:
        head = await f.read(10)
        await store.delete(blob_id)  # an open blob stays readable
        rest = await f.read()
    assert head + rest == data
    assert not await store.exists(blob_id)


async def test_blob_fs_delete_is_idempotent(store: FsBlobStore) -> None:
    blob_id = await store.put(b"gone")
    await store.delete(blob_id)
    await store.delete(blob_id)
    assert await store.get(blob_id) is None


async def _chunks(total: int, size: int) -> AsyncIterator[bytes]:
    pattern = hashlib.sha256(b"seed").digest() * (size // 32)
    sent = 0
    while sent < total:
        chunk = pattern[: min(size, total - sent)]
        sent += len(chunk)
        yield chunk


async def test_blob_fs_put_chunks_20mb_stream(store: FsBlobStore) -> None:
    total = 20 * 1024 * 1024
    expected = hashlib.sha256()
    async for chunk in _chunks(total, 64 * 1024):
        expected.update(chunk)
    blob_id, size = await store.put_chunks(_chunks(total, 64 * 1024))
    assert (blob_id, size) == (expected.hexdigest(), total)
    assert await store.size(blob_id) == total
    assert await store.read(blob_id, total - 5, 100) == hashlib.sha256(b"seed").digest()[-5:]
    # Streaming the same bytes again reuses the file.
    assert await store.put_chunks(_chunks(total, 1000 * 1000)) == (blob_id, size)
    assert len(blob_files(store.root)) == 1
    assert not list((store.root / "tmp").iterdir())


async def test_blob_fs_put_chunks_failure_leaves_nothing(store: FsBlobStore) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"part of a message"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await store.put_chunks(broken())
    assert blob_files(store.root) == []
    assert not list((store.root / "tmp").iterdir())


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "abc",
        "A" * 64,
        "g" * 64,
        "0" * 63,
        "0" * 65,
        "../" + "0" * 61,
        "/etc/passwd",
        "00/00/" + "0" * 58,
        "0" * 63 + "\n",
        b"0" * 64,
        None,
    ],
)
async def test_blob_fs_invalid_ids_rejected(store: FsBlobStore, bad: object) -> None:
    with pytest.raises(ValueError):
        validate_id(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await store.get(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await store.read(bad, 0, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await store.delete(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await store.exists(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await store.open_blob(bad)  # type: ignore[arg-type]


async def test_blob_fs_put_chunks_cancelled_leaves_nothing(store: FsBlobStore) -> None:
    with trio.CancelScope() as scope:

        async def stalls() -> AsyncIterator[bytes]:
            yield b"the first part of a message"
            scope.cancel()  # the session times out mid-DATA
            await trio.sleep_forever()

        await store.put_chunks(stalls())
    assert scope.cancelled_caught
    assert blob_files(store.root) == []
    assert not list((store.root / "tmp").iterdir())
