"""The garbage collector: what it deletes, what it keeps, and the races it closes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from plugins.blob_fs import gc
from plugins.blob_fs.layout import blob_path
from plugins.blob_fs.store import FsBlobStore

NOW = 2_000_000_000.0  # a fixed "now" for collections
HOUR = 3600.0


@pytest.fixture
async def store(tmp_path: Path) -> FsBlobStore:
    return await FsBlobStore.open(tmp_path / "blobs", gc_grace=HOUR)


def age(store: FsBlobStore, blob_id: str, mtime: float) -> None:
    os.utime(blob_path(store.root, blob_id), (mtime, mtime))


class Refs:
    """A stand-in for the store's reference counts: records what it was asked."""

    def __init__(self, referenced: set[str] | None = None) -> None:
        self.referenced = set(referenced or ())
        self.asked: list[list[str]] = []

    async def __call__(self, ids: list[str]) -> set[str]:
        self.asked.append(list(ids))
        return {i for i in ids if i in self.referenced}


async def test_blob_fs_gc_deletes_unreferenced_old_blobs(store: FsBlobStore) -> None:
    ids = await store.put_many([b"spam", b"more spam"])
    for blob_id in ids:
        age(store, blob_id, NOW - 2 * HOUR)
    report = await store.collect_garbage(Refs(), now=NOW)
    assert (report.scanned, report.deleted, report.bytes_freed) == (2, 2, 13)
    assert (report.kept_young, report.kept_referenced) == (0, 0)
    for blob_id in ids:
        assert await store.get(blob_id) is None
    assert not list((store.root / "tmp").iterdir())
    assert store.statistics().deleted == 2


async def test_blob_fs_gc_keeps_young_blobs_without_asking(store: FsBlobStore) -> None:
    young = await store.put(b"just delivered, row not committed yet")
    age(store, young, NOW - HOUR + 1)
    refs = Refs()
    report = await store.collect_garbage(refs, now=NOW)
    assert (report.scanned, report.kept_young, report.deleted) == (1, 1, 0)
    assert refs.asked == []
    assert await store.exists(young)


async def test_blob_fs_gc_keeps_referenced_blobs(store: FsBlobStore) -> None:
    kept, dropped = await store.put_many([b"in a mailbox", b"expunged"])
    for blob_id in (kept, dropped):
        age(store, blob_id, NOW - 30 * 86400)
    refs = Refs({kept})
    report = await store.collect_garbage(refs, now=NOW)
    assert (report.kept_referenced, report.deleted) == (1, 1)
    assert sorted(refs.asked[0]) == sorted([kept, dropped])
    assert await store.get(kept) == b"in a mailbox"
    assert await store.get(dropped) is None


async def test_blob_fs_gc_keeps_blob_touched_by_put_during_collection(
    store: FsBlobStore,
) -> None:
    """A put reusing an old blob after the scan, before its row commits."""
    data = b"the same attachment again"
    blob_id = await store.put(data)
    old = os.path.getmtime(blob_path(store.root, blob_id)) - 2 * HOUR
    age(store, blob_id, old)

    async def referenced(ids: list[str]) -> set[str]:
        assert ids == [blob_id]  # scanned as old and unreferenced...
        assert await store.put(data) == blob_id  # ...when an append reuses it
        return set()  # its row has not committed yet

    # "now" is the collection's start, before the put's touch.
    report = await store.collect_garbage(referenced, now=old + 2 * HOUR)
    assert (report.scanned, report.deleted, report.kept_young) == (1, 0, 1)
    assert await store.get(blob_id) == data
    assert not list((store.root / "tmp").iterdir())


async def test_blob_fs_gc_put_after_reap_writes_a_new_copy(store: FsBlobStore) -> None:
    """A put whose touch comes after the collector moved the file writes it anew."""
    data = b"reused after deletion"
    blob_id = await store.put(data)
    age(store, blob_id, NOW - 2 * HOUR)
    reaped = gc.reap(store.root, [blob_id], NOW - HOUR)
    assert (reaped.deleted, reaped.bytes_freed) == (1, len(data))
    assert await store.put(data) == blob_id
    assert await store.get(blob_id) == data
    assert store.statistics().written == 2


async def test_blob_fs_gc_batches_referenced_calls(store: FsBlobStore) -> None:
    ids = await store.put_many([b"%d" % i for i in range(25)])
    for blob_id in ids:
        age(store, blob_id, NOW - 2 * HOUR)
    refs = Refs(set(ids[:5]))
    report = await store.collect_garbage(refs, now=NOW, batch=10)
    assert all(len(asked) <= 10 for asked in refs.asked)
    assert sorted(i for asked in refs.asked for i in asked) == sorted(ids)
    assert (report.scanned, report.kept_referenced, report.deleted) == (25, 5, 20)


async def test_blob_fs_gc_removes_stale_temp_files(store: FsBlobStore) -> None:
    tmp = store.root / "tmp"
    stale, live = tmp / "put-stale", tmp / "put-live"
    stale.write_bytes(b"killed before rename")
    live.write_bytes(b"being written right now")
    os.utime(stale, (NOW - 2 * HOUR, NOW - 2 * HOUR))
    os.utime(live, (NOW - 60, NOW - 60))
    report = await store.collect_garbage(Refs(), now=NOW)
    assert report.temp_removed == 1
    assert not stale.exists() and live.exists()


async def test_blob_fs_dead_collection_trash_is_put_back(tmp_path: Path) -> None:
    store = await FsBlobStore.open(tmp_path / "blobs")
    data = b"moved aside by a collection that was killed"
    blob_id = await store.put(data)
    trash = store.root / "tmp" / f"gc-{blob_id}-dead"
    os.rename(blob_path(store.root, blob_id), trash)
    reopened = await FsBlobStore.open(tmp_path / "blobs")
    assert await reopened.get(blob_id) == data
    assert not trash.exists()
    # The collector's temp sweep does the same.
    os.rename(blob_path(store.root, blob_id), trash)
    report = await reopened.collect_garbage(Refs(), now=NOW - 100 * 86400)
    assert report.temp_removed == 0 and not trash.exists()
    assert await reopened.get(blob_id) == data


async def test_blob_fs_gc_ignores_stray_files(store: FsBlobStore) -> None:
    blob_id = hashlib.sha256(b"x").hexdigest()
    leaf = store.root / blob_id[:2] / blob_id[2:4]
    leaf.mkdir(parents=True)
    strays = [leaf / "README", leaf / ("f" * 64), store.root / "notes.txt"]
    for stray in strays:
        stray.write_bytes(b"not mine")
        os.utime(stray, (0, 0))
    refs = Refs()
    report = await store.collect_garbage(refs, now=NOW)
    assert report.scanned == 0 and refs.asked == []
    assert all(stray.exists() for stray in strays)


async def test_blob_fs_gc_default_grace_and_bad_arguments(store: FsBlobStore) -> None:
    blob_id = await store.put(b"fresh")
    report = await store.collect_garbage(Refs())  # real clock, the store's 1h grace
    assert report.kept_young == 1 and await store.exists(blob_id)
    with pytest.raises(ValueError):
        await store.collect_garbage(Refs(), grace=-1)
    with pytest.raises(ValueError):
        await store.collect_garbage(Refs(), batch=0)

    async def wrong(ids: list[str]) -> list[str]:
        return ids

    age(store, blob_id, NOW - 2 * HOUR)
    with pytest.raises(TypeError):
        await store.collect_garbage(wrong, now=NOW)  # type: ignore[arg-type]
    assert await store.exists(blob_id)  # nothing unasked is deleted
