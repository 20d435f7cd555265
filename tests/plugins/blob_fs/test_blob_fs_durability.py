"""The durability sequence: file fsync, rename, directory fsync; batching; crashes."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from plugins.blob_fs.layout import blob_path
from plugins.blob_fs.store import FsBlobStore

Event = tuple[str, str]


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    """Record every fsync (by path) and rename (by destination), in order."""
    log: list[Event] = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd: int) -> None:
        log.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def rename(src: str | Path, dst: str | Path) -> None:
        real_rename(src, dst)
        log.append(("rename", str(dst)))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    return log


def _tmp_fsyncs(log: list[Event], root: Path) -> list[int]:
    prefix = str(root / "tmp" / "put-")
    return [i for i, (op, path) in enumerate(log) if op == "fsync" and path.startswith(prefix)]


async def test_blob_fs_fsync_file_then_rename_then_dirs(
    tmp_path: Path, events: list[Event]
) -> None:
    store = await FsBlobStore.open(tmp_path / "blobs")
    root = store.root.resolve()
    events.clear()
    blob_id = await store.put(b"a message")
    final = str(blob_path(root, blob_id))
    leaf, top = str(root / blob_id[:2] / blob_id[2:4]), str(root / blob_id[:2])
    [file_sync] = _tmp_fsyncs(events, root)
    rename = events.index(("rename", final))
    assert file_sync < rename  # the bytes are on disk before the name points at them
    dir_syncs = [path for op, path in events[rename + 1 :] if op == "fsync"]
    # New fan-out directories: the leaf (new entry) and the parents of the new
    # directories, deepest first, all after the rename.
    assert dir_syncs == [leaf, top, str(root)]
    assert len(events) == 5


async def test_blob_fs_known_dirs_fsynced_once_per_process(
    tmp_path: Path, events: list[Event]
) -> None:
    store = await FsBlobStore.open(tmp_path / "blobs")
    root = store.root.resolve()
    first = await store.put(b"one")
    events.clear()
    # Bytes whose id falls in the fan-out directories of the first blob.
    data = next(b"%d" % i for i in range(10_000_000) if _id(b"%d" % i)[:4] == first[:4])
    blob_id = await store.put(data)
    leaf = str(root / blob_id[:2] / blob_id[2:4])
    assert [e for e in events if e[0] == "fsync"][1:] == [("fsync", leaf)]


def _id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_blob_fs_put_many_fsyncs_each_directory_once(
    tmp_path: Path, events: list[Event]
) -> None:
    store = await FsBlobStore.open(tmp_path / "blobs")
    root = store.root.resolve()
    items = [b"message %d" % i for i in range(40)] + [b"message 0"]
    events.clear()
    ids = await store.put_many(items)
    assert len(set(ids)) == 40
    file_syncs = _tmp_fsyncs(events, root)
    assert len(file_syncs) == 40  # one per new file; the repeat is deduplicated
    renames = [i for i, (op, _) in enumerate(events) if op == "rename"]
    assert len(renames) == 40
    temp_dir = str(root / "tmp") + "/"
    dir_syncs = [path for op, path in events if op == "fsync" and temp_dir not in path]
    assert len(dir_syncs) == len(set(dir_syncs))  # each directory once
    leaves = {str(root / i[:2] / i[2:4]) for i in ids}
    tops = {str(root / i[:2]) for i in ids}
    assert set(dir_syncs) == leaves | tops | {str(root)}
    first_dir_sync = min(
        i for i, (op, path) in enumerate(events) if op == "fsync" and temp_dir not in path
    )
    assert first_dir_sync > max(renames)  # batched after every rename
    assert store.statistics().dir_syncs == len(dir_syncs)


async def test_blob_fs_dedup_still_fsyncs_leaf_dir(tmp_path: Path, events: list[Event]) -> None:
    """An existing entry may be a concurrent writer's whose dir fsync is pending."""
    store = await FsBlobStore.open(tmp_path / "blobs")
    blob_id = await store.put(b"dup")
    other = await FsBlobStore.open(tmp_path / "blobs")  # another process, say
    events.clear()
    assert await other.put(b"dup") == blob_id
    root = store.root.resolve()
    assert [op for op, _ in events] == ["fsync"] * 3  # no write: leaf, top, root
    assert events[0] == ("fsync", str(root / blob_id[:2] / blob_id[2:4]))


async def test_blob_fs_put_chunks_sequence(tmp_path: Path, events: list[Event]) -> None:
    store = await FsBlobStore.open(tmp_path / "blobs")
    root = store.root.resolve()

    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"Subject: hi\r\n", b"\r\n", b"body\r\n"):
            yield part

    events.clear()
    blob_id, size = await store.put_chunks(chunks())
    assert size == len(b"Subject: hi\r\n\r\nbody\r\n")
    [file_sync] = _tmp_fsyncs(events, root)
    rename = events.index(("rename", str(blob_path(root, blob_id))))
    assert file_sync < rename < len(events) - 1
    assert all(op == "fsync" for op, _ in events[rename + 1 :])


async def test_blob_fs_crash_before_rename_never_visible(tmp_path: Path) -> None:
    """A write killed between its temp file and its rename: never a blob; GC'd later."""
    store = await FsBlobStore.open(tmp_path / "blobs")
    data = b"half-delivered message"
    leftover = store.root / "tmp" / "put-crashed"
    leftover.write_bytes(data)  # as if killed before the rename
    # A restart: the temp file is not a blob.
    store = await FsBlobStore.open(tmp_path / "blobs")
    blob_id = _id(data)
    assert await store.get(blob_id) is None
    assert not await store.exists(blob_id)

    async def nothing(ids: list[str]) -> set[str]:
        return set()

    report = await store.collect_garbage(nothing, grace=3600)
    assert report.temp_removed == 0 and leftover.exists()  # young: maybe a live write
    old = time.time() - 7200
    os.utime(leftover, (old, old))
    report = await store.collect_garbage(nothing, grace=3600)
    assert report.temp_removed == 1 and report.scanned == 0
    assert not leftover.exists()
    # Writing it for real afterwards works as usual.
    assert await store.put(data) == blob_id
    assert await store.get(blob_id) == data
