"""Backup and restore of the SQLite store (``stalwart-kernel backup|restore``).

The kernel owns the commands and the manifest (:mod:`kernel.backup`); this
module is what the ``sqlite`` :class:`~kernel.specs.BackendSpec` names as its
``backup`` and ``restore``.

Implementation notes:

* **Backup** opens its own connection to the live file and copies it with
  SQLite's online backup API (``Connection.backup``) in a single step: one read
  transaction, so the copy is one consistent snapshot of committed data. In WAL
  mode a reader never blocks the server's writer nor waits for it, so this is
  safe while the server runs. The copy is switched to ``journal_mode=DELETE``
  (a single self-contained file), checked with ``PRAGMA quick_check``, fsynced
  and renamed into place as ``store.sqlite3``.
* **Restore** refuses to replace an existing database unless forced, and
  refuses while anything has the database open: it tries to take an exclusive
  lock (``locking_mode=EXCLUSIVE`` then ``BEGIN EXCLUSIVE``), which fails as
  long as another connection, in any process, holds the file. It copies the
  backup to a temporary file next to the target, checks and fsyncs it, removes
  stale ``-wal``/``-shm``/``-journal`` files (a stale log would otherwise be
  replayed into the restored file) and renames the copy over the target, then
  fsyncs the directory. The search file (derived data, never backed up) is
  deleted with them, so the server rebuilds it from the restored texts. The
  in-use check runs again just before the swap; a
  server started in the moment between is not detected, hence "stop the
  server first" in ``docs/backup.md``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import trio

from kernel import Kernel
from kernel.errors import StoreError
from plugins.store_sqlite.schema import MIGRATIONS
from plugins.store_sqlite.search_index import search_path

__all__ = ["FILE", "backup", "database_path", "restore"]

#: The database's name inside a backup directory.
FILE = "store.sqlite3"
_STALE_SUFFIXES = ("-wal", "-shm", "-journal")


def database_path(kernel: Kernel) -> Path:
    """The configured database file (``store_sqlite.path``, relative to the data dir)."""
    path = Path(kernel.config["store_sqlite"]["path"])
    return path if path.is_absolute() else kernel.data_dir / path


def _open_existing(path: Path, timeout: float) -> sqlite3.Connection:
    # mode=rw: never create an empty database where the store should be.
    uri = f"{path.resolve().as_uri()}?mode=rw"
    try:
        return sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the SQLite store {path}: {exc}") from None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check(conn: sqlite3.Connection, what: Path) -> int:
    """``quick_check`` the database; returns its schema version (``user_version``)."""
    try:
        problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
        (version,) = conn.execute("PRAGMA user_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{what} is not a usable SQLite database: {exc}") from None
    if problems != ["ok"]:
        raise StoreError(f"{what} is damaged: {'; '.join(problems[:5])}")
    return int(version)


# ---- backup ----------------------------------------------------------------


def _backup(source: Path, dest: Path, timeout: float) -> dict[str, Any]:
    if not source.is_file():
        raise StoreError(f"there is no SQLite store at {source}")
    partial = dest / f".{FILE}.partial"
    try:
        with closing(_open_existing(source, timeout)) as live:
            live.execute("PRAGMA query_only = ON")
            with closing(sqlite3.connect(partial, isolation_level=None)) as copy:
                # pages=-1 (the default): the whole database in one step, one snapshot.
                live.backup(copy)
                copy.execute("PRAGMA journal_mode = DELETE")
                version = _check(copy, source)
        _fsync(partial)
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"cannot copy the SQLite store {source}: {exc}") from None
        raise
    os.replace(partial, dest / FILE)
    _fsync(dest)
    return {"schema_version": version, "files": [FILE]}


async def backup(kernel: Kernel, dest: Path) -> dict[str, Any]:
    """Copy the live database into ``dest/store.sqlite3``; see the module notes."""
    timeout = kernel.config["store_sqlite"]["busy_timeout"]
    return await trio.to_thread.run_sync(_backup, database_path(kernel), dest, timeout)


# ---- restore ---------------------------------------------------------------


def _refuse_if_in_use(target: Path) -> None:
    if not target.exists():
        return
    try:
        conn = sqlite3.connect(target, timeout=0, isolation_level=None)
    except sqlite3.Error:
        return  # unreadable: nothing can be using it as a database either
    try:
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorname in ("SQLITE_BUSY", "SQLITE_LOCKED"):
            raise StoreError(
                f"{target} is in use (is the server running?): stop it, then restore"
            ) from None
    except sqlite3.DatabaseError:
        pass  # a damaged file being replaced is what restore is for
    finally:
        conn.close()


def _stage(copy: Path, target: Path, described: Mapping[str, Any], force: bool) -> Path:
    version = described.get("schema_version")
    if not isinstance(version, int) or version > len(MIGRATIONS):
        raise StoreError(
            f"the backup has schema version {version!r}; this server reads up to "
            f"{len(MIGRATIONS)}: upgrade the server first"
        )
    if target.exists() and not force:
        raise StoreError(f"{target} already exists: use --force to replace it")
    _refuse_if_in_use(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.restore-{os.getpid()}")
    shutil.copyfile(copy, staged)
    try:
        with closing(sqlite3.connect(staged, isolation_level=None)) as conn:
            if _check(conn, copy) != version:
                raise StoreError(f"{copy} does not have the manifest's schema version {version}")
        _fsync(staged)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged


def _swap(staged: Path, target: Path) -> None:
    _refuse_if_in_use(target)
    for suffix in _STALE_SUFFIXES:
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    # The search file is derived from the old database: the server rebuilds it.
    search = search_path(target)
    for stale in (search, *(search.with_name(search.name + s) for s in _STALE_SUFFIXES)):
        stale.unlink(missing_ok=True)
    os.replace(staged, target)
    _fsync(target.parent)


@asynccontextmanager
async def restore(
    kernel: Kernel, source: Path, described: Mapping[str, Any], force: bool
) -> AsyncIterator[None]:
    """Stage ``source/store.sqlite3`` next to the database; swap it in on a clean exit."""
    target = database_path(kernel)
    staged = await trio.to_thread.run_sync(_stage, source / FILE, target, described, force)
    try:
        yield
        await trio.to_thread.run_sync(_swap, staged, target)
    finally:
        staged.unlink(missing_ok=True)
