"""The ``fs`` blob backend: content-addressed files under the data directory.

:class:`FsBlobStore` is what ``kernel.backend("blob")`` returns when
``blob.backend`` is ``fs``. Every method that touches the disk is async and
runs its blocking core (:mod:`.write`, :mod:`.gc`, :mod:`.layout`) through
``trio.to_thread.run_sync``, consistently.

Implementation notes:

* Ids are SHA-256 hex digests of the bytes; every method taking an id raises
  ``ValueError`` for anything else before touching the disk.
* Writes are durable when they return (see :mod:`.write` for the sequence);
  :meth:`FsBlobStore.put_many` is the group-commit form: one fsync per new
  file, one per directory.
* The store does not count references: the database does. It writes (or
  touches) a blob before the row that references it commits, and passes the
  garbage collector a callback that answers from committed rows; see
  :mod:`.gc` for why that makes collection safe.
* One collection at a time per store object (a ``trio.Lock``); run the
  collector in one process only (the server), although puts from other
  processes are safe against it.
* Reads of a blob that a collection deletes meanwhile are unaffected once the
  file is open (POSIX keeps an unlinked file readable).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, final

import trio

from kernel.errors import NoSuchItem
from plugins.blob_fs import gc
from plugins.blob_fs.gc import GcReport
from plugins.blob_fs.layout import (
    DurableDirs,
    blob_path,
    prepare_root,
    recover_trash,
)
from plugins.blob_fs.write import TempWriter, WriteResult, write_many

if TYPE_CHECKING:
    from io import BufferedReader

    from trio._file_io import AsyncIOWrapper

__all__ = ["DEFAULT_GC_GRACE", "FsBlobStatistics", "FsBlobStore", "GcReport"]

#: One hour: longer than any write transaction (put to commit) should take.
DEFAULT_GC_GRACE = 3600.0

#: Chunks of a streamed put are gathered up to this size per worker-thread call.
_STREAM_BUFFER = 1 << 20


@final
@dataclass(slots=True)
class FsBlobStatistics:
    """Counters since the store was opened (see :meth:`FsBlobStore.statistics`)."""

    written: int = 0
    deduplicated: int = 0
    dir_syncs: int = 0
    collections: int = 0
    deleted: int = 0
    bytes_freed: int = 0


@final
class FsBlobStore:
    """Blobs as files ``ab/cd/<sha256 hex>`` under ``root``.

    Open with :meth:`open`; the kernel does so through the ``fs`` backend spec.

    Args:
        root: the blob directory (created by :meth:`open`).
        gc_grace: the default grace period of :meth:`collect_garbage`, seconds.
    """

    def __init__(self, root: Path, *, gc_grace: float = DEFAULT_GC_GRACE) -> None:
        self.root = Path(root)
        self.gc_grace = gc_grace
        self._dirs = DurableDirs(self.root)
        self._gc_lock = trio.Lock()
        self._stats = FsBlobStatistics()

    @classmethod
    async def open(cls, root: Path | str, *, gc_grace: float = DEFAULT_GC_GRACE) -> FsBlobStore:
        """Create the directory if needed and put back blobs a dead collection left.

        Raises:
            OSError: the directory cannot be created or read.
        """
        store = cls(Path(root), gc_grace=gc_grace)
        await trio.to_thread.run_sync(prepare_root, store.root)
        await trio.to_thread.run_sync(recover_trash, store.root)
        return store

    async def aclose(self) -> None:
        """Nothing to release (every write is complete when it returns)."""
        await trio.lowlevel.checkpoint()

    def statistics(self) -> FsBlobStatistics:
        """A copy of the counters."""
        s = self._stats
        return FsBlobStatistics(
            s.written, s.deduplicated, s.dir_syncs, s.collections, s.deleted, s.bytes_freed
        )

    # ---- writes ------------------------------------------------------------

    async def put(self, data: bytes) -> str:
        """Store ``data``; durable when it returns.

        Returns:
            the blob id (SHA-256 hex of ``data``). Storing bytes that are
            already there touches the existing file instead of writing.
        """
        [blob_id] = await self.put_many([data])
        return blob_id

    async def put_many(self, items: Sequence[bytes]) -> list[str]:
        """Store several blobs with one fsync per new file and per directory.

        Returns:
            their ids, in order (repeated bytes give repeated ids).
        """
        result = await trio.to_thread.run_sync(write_many, self.root, self._dirs, list(items))
        self._count(result)
        return list(result.ids)

    async def put_chunks(self, chunks: AsyncIterable[bytes]) -> tuple[str, int]:
        """Store a blob that arrives in pieces (a large message) without holding it.

        Returns:
            (blob id, size in bytes).

        Resource handling: if ``chunks`` raises or the call is cancelled, the
        temp file is removed and nothing is stored.
        """
        writer = await trio.to_thread.run_sync(TempWriter, self.root)
        try:
            pending: list[bytes] = []
            buffered = 0
            async for chunk in chunks:
                pending.append(bytes(chunk))
                buffered += len(chunk)
                if buffered >= _STREAM_BUFFER:
                    await trio.to_thread.run_sync(_write_all, writer, pending)
                    pending, buffered = [], 0
            await trio.to_thread.run_sync(_write_all, writer, pending)
            result = await trio.to_thread.run_sync(writer.finish, self._dirs)
        except BaseException:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(writer.abort)
            raise
        self._count(result)
        return result.ids[0], result.size

    async def delete(self, blob_id: str) -> None:
        """Remove a blob if present (idempotent).

        Only for callers that know nothing references it; the collector is
        the normal way blobs go.
        """
        path = blob_path(self.root, blob_id)
        await trio.to_thread.run_sync(path.unlink, True)

    # ---- reads -------------------------------------------------------------

    async def get(self, blob_id: str) -> bytes | None:
        """The blob's bytes, or None if there is no such blob."""
        path = blob_path(self.root, blob_id)
        return await trio.to_thread.run_sync(_read_all, path)

    async def read(self, blob_id: str, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset`` (IMAP partial fetch).

        Returns fewer bytes (possibly none) past the end of the blob.

        Raises:
            ValueError: an invalid id, or a negative offset or length.
            NoSuchItem: there is no such blob.
        """
        path = blob_path(self.root, blob_id)
        if offset < 0 or length < 0:
            raise ValueError(f"negative range: offset={offset} length={length}")
        data = await trio.to_thread.run_sync(_read_range, path, offset, length)
        if data is None:
            raise NoSuchItem(f"no blob {blob_id}")
        return data

    async def open_blob(self, blob_id: str) -> AsyncIOWrapper[BufferedReader]:
        """The blob as an async binary file (``trio.open_file``) for streaming.

        Close it (``async with``) when done; the bytes stay readable even if a
        collection deletes the blob meanwhile.

        Raises:
            NoSuchItem: there is no such blob.
        """
        path = blob_path(self.root, blob_id)
        try:
            return await trio.open_file(path, "rb")
        except FileNotFoundError:
            raise NoSuchItem(f"no blob {blob_id}") from None

    async def exists(self, blob_id: str) -> bool:
        """Whether the blob is stored."""
        return await self.size(blob_id) is not None

    async def size(self, blob_id: str) -> int | None:
        """The blob's size in bytes, or None if there is no such blob."""
        path = blob_path(self.root, blob_id)
        return await trio.to_thread.run_sync(_size, path)

    # ---- garbage collection ----------------------------------------------

    async def collect_garbage(
        self,
        referenced: Callable[[list[str]], Awaitable[set[str]]],
        *,
        grace: float | None = None,
        now: float | None = None,
        batch: int = 1000,
    ) -> GcReport:
        """Delete blobs that no committed row references and nothing touched lately.

        Args:
            referenced: ``await referenced(ids)`` returns the subset of ``ids``
                that committed rows reference, read when it is called.
            grace: seconds a written or touched blob is kept regardless; must
                exceed the longest put-to-commit time. Default: ``gc_grace``.
            now: the collection's notion of the current time (tests); default
                the wall clock. Never later than the real time in production.
            batch: ids per ``referenced`` call.

        Returns:
            a :class:`GcReport`.

        Raises:
            ValueError: a negative grace or a batch below 1.

        Error handling: an exception from ``referenced`` stops the collection
        after the batches already reaped; nothing unasked is deleted.
        """
        grace = self.gc_grace if grace is None else grace
        if grace < 0 or batch < 1:
            raise ValueError(f"bad collection parameters: grace={grace} batch={batch}")
        async with self._gc_lock:
            cutoff = (time.time() if now is None else now) - grace
            totals = _Totals()
            pending: list[str] = []
            for top in await trio.to_thread.run_sync(gc.list_top_dirs, self.root):
                found = await trio.to_thread.run_sync(gc.scan_top, self.root, top, cutoff)
                totals.scanned += found.scanned
                totals.kept_young += found.young
                pending.extend(found.candidates)
                while len(pending) >= batch:
                    await self._collect_batch(pending[:batch], referenced, cutoff, totals)
                    del pending[:batch]
            if pending:
                await self._collect_batch(pending, referenced, cutoff, totals)
            totals.temp_removed = await trio.to_thread.run_sync(gc.sweep_temp, self.root, cutoff)
            self._stats.collections += 1
            self._stats.deleted += totals.deleted
            self._stats.bytes_freed += totals.bytes_freed
            return GcReport(
                scanned=totals.scanned,
                deleted=totals.deleted,
                kept_young=totals.kept_young,
                kept_referenced=totals.kept_referenced,
                bytes_freed=totals.bytes_freed,
                temp_removed=totals.temp_removed,
            )

    async def _collect_batch(
        self,
        ids: list[str],
        referenced: Callable[[list[str]], Awaitable[set[str]]],
        cutoff: float,
        totals: _Totals,
    ) -> None:
        keep = await referenced(list(ids))
        if not isinstance(keep, set | frozenset):
            raise TypeError(f"referenced() must return a set of ids, not {type(keep).__name__}")
        unreferenced = [blob_id for blob_id in ids if blob_id not in keep]
        totals.kept_referenced += len(ids) - len(unreferenced)
        if unreferenced:
            reaped = await trio.to_thread.run_sync(gc.reap, self.root, unreferenced, cutoff)
            totals.deleted += reaped.deleted
            totals.kept_young += reaped.kept_young
            totals.bytes_freed += reaped.bytes_freed

    def _count(self, result: WriteResult) -> None:
        self._stats.written += result.written
        self._stats.deduplicated += result.deduplicated
        self._stats.dir_syncs += result.dir_syncs


@dataclass(slots=True)
class _Totals:
    scanned: int = 0
    deleted: int = 0
    kept_young: int = 0
    kept_referenced: int = 0
    bytes_freed: int = 0
    temp_removed: int = 0


def _write_all(writer: TempWriter, chunks: list[bytes]) -> None:
    for chunk in chunks:
        writer.write(chunk)


def _read_all(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _read_range(path: Path, offset: int, length: int) -> bytes | None:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(length)
    except FileNotFoundError:
        return None


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None
