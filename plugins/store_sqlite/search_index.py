"""The trigram search index, kept in its own SQLite file and filled off the write path.

Searches must be exact and appends fast. Indexing a message's texts into an FTS5
trigram index costs about four times the rest of an append, so the index is not
written by the store's writer: the writer commits the texts (``email_text`` in the
store's file) and wakes this module's **indexer thread**, which copies new rows into
per-column FTS5 tables in a second database file (``<store>-search.sqlite3``) with its own
write lock, so indexing runs beside appends on another core instead of inside them.

Theory of operation:

* The search file holds one FTS5 table per searched column, ``fts_<column>``
  (:func:`fts_table`; trigram, ``detail=full`` so that a needle is looked up as
  one phrase, each with its own copy of its text so rows can be deleted by id),
  and ``state``: ``upto``, the
  highest email id indexed. Email ids only grow and commits become visible in id
  order (one writer), so "every email with id <= ``upto`` is indexed" holds after
  each indexer transaction, which writes the rows and the new ``upto`` together.
* One table per column rather than one table of columns: a phrase lookup reads
  each of its trigrams' whole doclists, and a doclist holds the positions of
  every column of its table. ``FROM x`` would otherwise read the trigram's
  positions in every body and header too (most of the index), which made the
  first search for a new needle on 100,000 messages cost tens of milliseconds.
* A query (``SqliteDialect.text_candidates``) takes as candidates the index's
  matches **or** any email above ``upto`` (not indexed yet), then checks the texts
  exactly with ``instr``: a lagging index makes a search slower, never wrong.
* The indexer gathers: woken by a commit, it waits ``gather`` seconds (50 ms)
  before reading what is new, so a burst of deliveries becomes one FTS5
  transaction of many rows rather than many of one (each FTS5 transaction
  writes and merges segments: rows indexed one by one cost about three times
  as much CPU). Searches do not wait for it (see above).
* Deleted emails leave rows behind; ids are never reused, so a stale row can only
  make a false candidate, which the exact check drops. The indexer deletes them
  when idle, at most every ``purge_interval`` seconds.
* The file is derived data: backups skip it, a restore deletes it, and a search
  file that does not belong to the store beside it (``upto`` above the store's
  highest email id) or has another :data:`FORMAT` is recreated and refilled in
  the background.

Resource handling: :meth:`SearchIndex.start` starts the thread; :meth:`close` stops
it after the current batch. Readers attach the file with :meth:`attach`.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from pathlib import Path
from typing import Final, final

__all__ = ["FORMAT", "INDEXED_COLUMNS", "SearchIndex", "fts_table", "search_path"]

#: The texts the trigram index covers (``email_text`` columns; sort keys are not searched).
INDEXED_COLUMNS: Final = (
    "from_text",
    "to_text",
    "cc_text",
    "bcc_text",
    "subject_text",
    "headers",
    "body",
)
_COLUMNS: Final = INDEXED_COLUMNS
_BATCH: Final = 128
_RETRY: Final = 1.0
_GATHER: Final = 0.05


def fts_table(column: str) -> str:
    """The FTS5 table in the search file that indexes ``column`` of ``email_text``."""
    return f"fts_{column}"


#: Bumped when the index's definition changes: a file of another format is rebuilt.
FORMAT: Final = 2
_TABLES: Final = "".join(
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts_table(column)} USING fts5("
    f"{column}, tokenize = 'trigram', detail = 'full');\n"
    for column in _COLUMNS
)
_SCHEMA: Final = f"""
{_TABLES}
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO state (key, value) VALUES ('upto', 0), ('format', {FORMAT});
"""


def search_path(store: Path) -> Path:
    """The search file that belongs to the store file ``store``."""
    return store.with_name(f"{store.stem}-search{store.suffix or '.sqlite3'}")


@final
class SearchIndex:
    """The indexer thread and the search file's location.

    Args:
      store: the store's database file.
      busy_timeout: seconds to wait for a lock held by another process.
      purge_interval: least seconds between sweeps of deleted emails' rows.
      gather: seconds the indexer lets new rows accumulate after a wake-up.
    """

    def __init__(
        self,
        store: Path,
        *,
        busy_timeout: float,
        purge_interval: float = 3600.0,
        gather: float = _GATHER,
    ):
        self.store = store
        self.path = search_path(store)
        self._busy_timeout = busy_timeout
        self._purge_interval = purge_interval
        self._gather = gather
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._caught_up = threading.Condition()
        self._upto = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Create the search file if needed and start indexing in the background."""
        conn = self._connect()
        try:
            conn.executescript(_SCHEMA)
        finally:
            conn.close()
        self._thread = threading.Thread(
            target=self._run, daemon=True, name=f"sqlite-indexer:{self.store.name}"
        )
        self._thread.start()

    def wake(self) -> None:
        """New texts were committed: index them soon."""
        self._wake.set()

    def close(self) -> None:
        """Stop the thread after its current batch (blocking)."""
        self._stopping = True
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()

    def attach(self, conn: sqlite3.Connection) -> None:
        """Attach the search file to a reader's connection as ``search``."""
        conn.execute("ATTACH DATABASE ? AS search", (str(self.path),))

    def wait_caught_up(self, timeout: float) -> bool:
        """Block until every committed email is indexed (for tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        with self._caught_up:
            while True:
                pending = self._pending_after(self._upto)
                if pending is None or time.monotonic() >= deadline:
                    return pending is None
                self._wake.set()
                self._caught_up.wait(min(0.05, max(0.0, deadline - time.monotonic())))

    # ------------------------------------------------------------------ the thread

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=self._busy_timeout
        )
        conn.execute("PRAGMA journal_mode = WAL")
        # Derived data: a crash loses at most the last batches, indexed again from `upto`.
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _pending_after(self, upto: int) -> int | None:
        conn = sqlite3.connect(f"{self.store.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = conn.execute(
                "SELECT email FROM email_text WHERE email > ? LIMIT 1", (upto,)
            ).fetchone()
        finally:
            conn.close()
        return None if row is None else int(row[0])

    def _run(self) -> None:
        conn = self._connect()
        try:
            conn.execute("ATTACH DATABASE ? AS store", (str(self.store),))
            self._check_belongs(conn)
            last_purge = time.monotonic()
            while not self._stopping:
                try:
                    if self._index_batch(conn) == _BATCH:
                        continue  # more are waiting
                    if time.monotonic() - last_purge >= self._purge_interval:
                        self._purge(conn)
                        last_purge = time.monotonic()
                except sqlite3.Error:
                    # Busy or out of space: searches stay exact (the unindexed tail is
                    # scanned); try again shortly.
                    self._wake.wait(timeout=_RETRY)
                    continue
                self._wake.wait(timeout=min(self._purge_interval, 60.0))
                self._wake.clear()
                if self._gather > 0:
                    self._stop.wait(self._gather)  # let a burst of commits gather
        finally:
            conn.close()

    def _check_belongs(self, conn: sqlite3.Connection) -> None:
        state = dict(conn.execute("SELECT key, value FROM state").fetchall())
        (highest,) = conn.execute("SELECT coalesce(max(email), 0) FROM store.email_text").fetchone()
        if state.get("format") != FORMAT or state["upto"] > highest:
            # Not this store's index (a restored or replaced store), or an older
            # definition: start over.
            tables = conn.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND sql IS NOT NULL "
                "AND (name = 'state' OR sql LIKE 'CREATE VIRTUAL TABLE%')"
            ).fetchall()
            for (name,) in tables:
                conn.execute(f'DROP TABLE IF EXISTS "{name}"')
            conn.executescript(_SCHEMA)
            state["upto"] = 0
        self._upto = state["upto"]

    def _index_batch(self, conn: sqlite3.Connection) -> int:
        """Index the next batch (at most ``_BATCH`` rows); how many rows it had."""
        rows = conn.execute(
            f"SELECT email, {', '.join(_COLUMNS)} FROM store.email_text "
            "WHERE email > ? ORDER BY email LIMIT ?",
            (self._upto, _BATCH),
        ).fetchall()
        if not rows:
            with self._caught_up:
                self._caught_up.notify_all()
            return 0
        conn.execute("BEGIN")  # deferred: lock only the file written, never the store
        try:
            for index, column in enumerate(_COLUMNS, start=1):
                conn.executemany(
                    f"INSERT INTO {fts_table(column)} (rowid, {column}) VALUES (?, ?)",
                    [(row[0], row[index]) for row in rows if row[index]],
                )
            upto = rows[-1][0]
            conn.execute("UPDATE state SET value = ? WHERE key = 'upto'", (upto,))
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        self._upto = upto
        return len(rows)

    def purge(self) -> None:
        """Delete the rows of emails that no longer exist, now (blocking)."""
        conn = self._connect()
        try:
            conn.execute("ATTACH DATABASE ? AS store", (str(self.store),))
            self._purge(conn)
        finally:
            conn.close()

    def _purge(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN")  # deferred: lock only the file written, never the store
        try:
            for column in _COLUMNS:
                table = fts_table(column)
                conn.execute(
                    f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} "
                    "EXCEPT SELECT email FROM store.email_text)"
                )
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
