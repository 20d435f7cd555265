"""Connections, the group-committing writer and parallel readers.

Theory of operation:

* One **writer thread** owns the only write connection. ``write(fn)`` queues
  ``fn``; the thread takes every queued function (up to ``max_batch``), runs each
  inside its own ``SAVEPOINT`` within one ``BEGIN IMMEDIATE`` transaction and
  then commits once: with ``synchronous=FULL`` in WAL mode that commit is one
  fsync for the whole batch (group commit). A function that raises is rolled
  back to its savepoint alone; the others still commit. Callers are answered
  only after the commit returned, so an acknowledged write is on disk.
* **Readers** run in a small pool of reader threads of our own (``readers`` of
  them, started on first use; a read is queued and answered like a write, which
  costs less per read than a trip through trio's thread cache), each thread with
  its own connection, each read inside one deferred
  transaction so that all its statements see one snapshot. WAL lets them run in
  parallel with the writer.
* **Small** work (``small=True``: one message's rows, a point lookup) runs on the
  calling trio thread instead. Under load a worker thread waits for the
  interpreter lock again after every statement it hands to SQLite, and each of
  those waits is a thread wake-up (tens of microseconds): an append's twenty
  statements cost about 1.4 ms of writer time in a thread against 0.25 ms on the
  trio thread, and the writer is the one serial resource of mail delivery.
  Small writes are gathered like the writer thread's: the first one leads, lets
  the other ready tasks add theirs (one checkpoint), runs them all on the trio
  thread and hands only the ``COMMIT`` (the fsync) to a worker thread; answers
  come after it. The write connection is shared with the writer thread under a
  lock; when the writer thread holds it or waits for it, small writes queue
  behind it there instead, so neither path can starve the other.
* Other processes (the CLI against a running server) use the same file; SQLite's
  locking serialises writers across processes and ``busy_timeout`` waits.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, final

import trio

from plugins.store_sqlite.read import SqliteReadOps, header_contains
from plugins.store_sqlite.schema import migrate
from plugins.store_sqlite.search_index import SearchIndex
from plugins.store_sqlite.write import SqliteWriteOps

__all__ = ["SqliteBackend", "WriterStatistics", "connect"]

T = TypeVar("T")


def connect(path: Path, *, busy_timeout: float) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, durable."""
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
    )
    conn.execute("PRAGMA journal_mode = WAL")
    # WAL with synchronous=FULL fsyncs the log on every commit: acknowledged = durable.
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.create_function("header_contains", 3, header_contains, deterministic=True)
    return conn


@dataclass
class WriterStatistics:
    """How well group commit is doing."""

    commits: int = 0
    writes: int = 0

    @property
    def writes_per_commit(self) -> float:
        return self.writes / self.commits if self.commits else 0.0


@dataclass
class _Job:
    fn: Callable[[SqliteWriteOps], Any]
    token: trio.lowlevel.TrioToken
    done: trio.Event = field(default_factory=trio.Event)
    result: Any = None
    error: BaseException | None = None

    def finish(self) -> None:
        # If the caller's trio run is gone, nobody is waiting.
        with contextlib.suppress(trio.RunFinishedError):
            self.token.run_sync_soon(self.done.set)


@dataclass
class _Read:
    fn: Callable[[SqliteReadOps], Any]
    token: trio.lowlevel.TrioToken
    done: trio.Event = field(default_factory=trio.Event)
    result: Any = None
    error: BaseException | None = None

    def finish(self) -> None:
        with contextlib.suppress(trio.RunFinishedError):
            self.token.run_sync_soon(self.done.set)


def _set_all(jobs: list[_Job]) -> None:
    for job in jobs:
        job.done.set()


def _begin(conn: sqlite3.Connection, batch: list[_Job]) -> bool:
    """``BEGIN IMMEDIATE``; if it fails, every job of ``batch`` gets the error."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        for job in batch:
            job.error = exc
        return False
    return True


def _finish_all(jobs: list[_Job]) -> None:
    """Answer a committed batch: one trip into each waiting trio run, not one per job."""
    by_token: dict[trio.lowlevel.TrioToken, list[_Job]] = {}
    for job in jobs:
        by_token.setdefault(job.token, []).append(job)
    for token, group in by_token.items():
        # If the caller's trio run is gone, nobody is waiting.
        with contextlib.suppress(trio.RunFinishedError):
            token.run_sync_soon(_set_all, group)


@dataclass
class _Gathering:
    """Small writes of one trio run waiting to be led into a batch on its thread."""

    token: trio.lowlevel.TrioToken
    pending: list[_Job] = field(default_factory=list)
    leading: bool = False
    idle: trio.Event = field(default_factory=trio.Event)
    #: Commits in a thread of their own, never behind other work's threads.
    limiter: trio.CapacityLimiter = field(default_factory=lambda: trio.CapacityLimiter(1))


@final
class SqliteBackend:
    """The ``store`` backend over one SQLite file.

    Resource handling: :meth:`open` starts the writer thread and returns the
    backend; :meth:`aclose` stops it after the queued writes committed.
    """

    def __init__(
        self, path: Path, *, busy_timeout: float = 5.0, max_batch: int = 256, readers: int = 8
    ) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._reader_count = readers
        self._reads: queue.SimpleQueue[_Read | None] = queue.SimpleQueue()
        self._reader_threads: list[threading.Thread] = []
        self._reader_threads_lock = threading.Lock()
        self._idle_readers = 0
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        # The one write connection, used by the writer thread and by small writes
        # on the trio thread, one at a time under _conn_lock (see the module doc).
        self._conn: sqlite3.Connection | None = None
        self._ops: SqliteWriteOps | None = None
        self._conn_lock = threading.Lock()
        self._thread_waiting = False
        self._gathering: _Gathering | None = None
        self._closed = False
        self.statistics = WriterStatistics()
        self.search = SearchIndex(path, busy_timeout=busy_timeout)

    @classmethod
    async def open(cls, path: Path, **options: Any) -> SqliteBackend:
        """Create or migrate the database at ``path`` and start the writer."""
        backend = cls(path, **options)
        await trio.to_thread.run_sync(backend._prepare)
        backend._thread = threading.Thread(
            target=backend._write_loop, daemon=True, name=f"sqlite-writer:{path.name}"
        )
        backend._thread.start()
        return backend

    def _prepare(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(self.path, busy_timeout=self._busy_timeout)
        try:
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        self._conn, self._ops = conn, SqliteWriteOps(conn)
        self.search.start()

    async def aclose(self) -> None:
        """Commit what is queued, then stop the writer."""
        if self._closed:
            return
        self._closed = True
        gathering = self._gathering
        if gathering is not None and gathering.leading:
            await gathering.idle.wait()  # its batch may still hand jobs to the writer thread
        self._queue.put(None)
        if self._thread is not None:
            await trio.to_thread.run_sync(self._thread.join)
        with self._reader_threads_lock:
            threads = list(self._reader_threads)
        for _ in threads:
            self._reads.put(None)
        for thread in threads:
            await trio.to_thread.run_sync(thread.join)
        await trio.to_thread.run_sync(self.search.close)
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for conn in readers:
            conn.close()

    async def write(self, fn: Callable[[SqliteWriteOps], T], *, small: bool = False) -> T:
        if self._closed:
            raise RuntimeError("the store is closed")
        token = trio.lowlevel.current_trio_token()
        job = _Job(fn, token)
        gathering = self._gathering_for(token) if small else None
        # Shielded: once queued the write will happen; the caller must learn its outcome.
        with trio.CancelScope(shield=True):
            if gathering is None:
                self._queue.put(job)
            else:
                gathering.pending.append(job)
                if not gathering.leading:
                    await self._lead(gathering)
            await job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[no-any-return]

    def _gathering_for(self, token: trio.lowlevel.TrioToken) -> _Gathering | None:
        """The small-write gathering of ``token``'s run: the first run to ask owns it."""
        if self._gathering is None:
            self._gathering = _Gathering(token)
        return self._gathering if self._gathering.token is token else None

    async def _lead(self, gathering: _Gathering) -> None:
        """Run the gathered small writes in batches on this thread until none wait."""
        assert self._conn is not None and self._ops is not None
        gathering.leading = True
        gathering.idle = trio.Event()
        try:
            while gathering.pending:
                # Let the other ready tasks add their writes to this batch.
                await trio.lowlevel.cancel_shielded_checkpoint()
                batch, gathering.pending = gathering.pending, []
                if self._thread_waiting or not self._conn_lock.acquire(blocking=False):
                    for job in batch:  # the writer thread answers them through their token
                        self._queue.put(job)
                    continue
                try:
                    began = self._run_small(self._conn, self._ops, batch)
                except BaseException as exc:  # not a job's own failure: all of them fail
                    with contextlib.suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                    self._conn_lock.release()
                    for job in batch:
                        job.error = exc
                    _set_all(batch)
                    raise
                if not began:
                    # Another process holds SQLite's write lock: wait for it in the
                    # writer thread (busy_timeout), not here on the event loop.
                    self._conn_lock.release()
                    for job in batch:
                        job.error = None
                        self._queue.put(job)
                    continue
                await trio.to_thread.run_sync(
                    self._commit_and_release, self._conn, batch, limiter=gathering.limiter
                )
                _set_all(batch)
        finally:
            gathering.leading = False
            gathering.idle.set()

    def _run_small(self, conn: sqlite3.Connection, ops: SqliteWriteOps, batch: list[_Job]) -> bool:
        """:meth:`_run_batch` without waiting for another process's lock."""
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            return self._run_batch(conn, ops, batch)
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")

    def _commit_and_release(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        try:
            self._end_batch(conn, batch)
        finally:
            self._conn_lock.release()

    async def read(self, fn: Callable[[SqliteReadOps], T], *, small: bool = False) -> T:
        if self._closed:
            raise RuntimeError("the store is closed")
        if small:
            # A point lookup costs less than the trip to a reader thread and back.
            return self._read(fn)
        job = _Read(fn, trio.lowlevel.current_trio_token())
        self._reads.put(job)
        self._start_reader_if_needed()
        # Shielded like a trip to a worker thread: the read runs to its end anyway.
        with trio.CancelScope(shield=True):
            await job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[no-any-return]

    def _start_reader_if_needed(self) -> None:
        with self._reader_threads_lock:
            # Another thread while more reads wait than threads are idle (up to the cap).
            waiting = self._reads.qsize()
            if waiting <= self._idle_readers or len(self._reader_threads) >= self._reader_count:
                return
            thread = threading.Thread(
                target=self._read_loop, daemon=True, name=f"sqlite-reader:{self.path.name}"
            )
            self._reader_threads.append(thread)
            self._idle_readers += 1  # counted idle until it takes its first job
        thread.start()

    def _read_loop(self) -> None:
        while True:
            job = self._reads.get()
            with self._reader_threads_lock:
                self._idle_readers -= 1
            if job is None:
                return
            try:
                job.result = self._read(job.fn)
            except BaseException as exc:  # handed to the caller
                job.error = exc
            with self._reader_threads_lock:
                self._idle_readers += 1
            job.finish()

    def _read(self, fn: Callable[[SqliteReadOps], T]) -> T:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, busy_timeout=self._busy_timeout)
            self.search.attach(conn)
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        conn.execute("BEGIN")
        try:
            return fn(SqliteReadOps(conn))
        finally:
            conn.execute("COMMIT")

    def _write_loop(self) -> None:
        conn, ops = self._conn, self._ops
        assert conn is not None and ops is not None
        stopping = False
        try:
            while not stopping:
                first = self._queue.get()
                if first is None:
                    break
                batch = [first]
                while len(batch) < self._max_batch:
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        stopping = True
                        break
                    batch.append(job)
                # Small writes on the trio thread see the flag and queue here meanwhile.
                self._thread_waiting = True
                with self._conn_lock:
                    self._thread_waiting = False
                    if self._run_batch(conn, ops, batch):
                        self._end_batch(conn, batch)
                _finish_all(batch)
        finally:
            conn.close()

    def _run_batch(self, conn: sqlite3.Connection, ops: SqliteWriteOps, batch: list[_Job]) -> bool:
        """Begin a transaction and run ``batch`` in it; False (errors set) if it cannot begin."""
        if not _begin(conn, batch):
            return False
        # Optimistically without a savepoint per job (two statements each, and every
        # statement is a trip through the GIL): if a job fails, the whole batch is
        # rolled back and run again with one savepoint per job, so only the failed
        # job's writes are undone. Store writes may be run again (the PostgreSQL
        # backend retries them too), so the second run is safe.
        try:
            for job in batch:
                job.result = job.fn(ops)
        except BaseException:
            with contextlib.suppress(sqlite3.Error):  # some errors end the transaction
                conn.execute("ROLLBACK")
            if not _begin(conn, batch):
                return False
            self._run_isolated(conn, ops, batch)
        return True

    def _end_batch(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        """Commit the batch's transaction (one fsync); on failure every job gets the error."""
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            for job in batch:
                if job.error is None:
                    job.error = exc
        else:
            self.statistics.commits += 1
            self.statistics.writes += len(batch)
            self.search.wake()

    @staticmethod
    def _run_isolated(conn: sqlite3.Connection, ops: SqliteWriteOps, batch: list[_Job]) -> None:
        """Run each job of ``batch`` in its own savepoint: a failure undoes that job only."""
        for job in batch:
            job.result, job.error = None, None
            conn.execute("SAVEPOINT job")
            try:
                job.result = job.fn(ops)
            except BaseException as exc:  # the job's own failure; others go on
                conn.execute("ROLLBACK TO job")
                job.error = exc
            conn.execute("RELEASE job")
