"""Writing blobs durably: temp file, fsync, rename, directory fsync.

Theory of operation, for each blob of a batch:

1. ``id = sha256(bytes)``; make sure its fan-out directories exist.
2. If ``ab/cd/<id>`` exists, set its mtime to now (the touch that protects it
   from a concurrent garbage collection) and go on with the next blob: its
   bytes are already there. Its directory entry may be a concurrent writer's
   whose directory fsync has not happened yet, so its leaf directory is still
   fsynced in step 4.
3. Otherwise write the bytes to a fresh ``tmp/put-*`` file, fsync it, close
   it, and ``os.rename`` it to ``ab/cd/<id>`` (atomic; replacing a copy that a
   concurrent writer just renamed there is harmless, the bytes are the same).
4. After every blob of the batch: fsync each directory that gained an entry
   (and the parents of fan-out directories not yet known durable) once,
   deepest first. Only then are the ids returned: the blobs are durable.

Batching (:func:`write_many`) is how a group commit pays one fsync per file
but one per directory. :class:`TempWriter` does the same for one blob that
arrives in chunks, hashing as it writes.

Implementation notes:

* ``os.fsync``, ``os.rename`` and ``os.utime`` are looked up on :mod:`os` at
  call time, so tests can record the sequence.
* A failure propagates after removing the current temp file; blobs already
  renamed in a failed batch stay (unreferenced: garbage collection removes
  them).
* Blocking: callers run these in worker threads.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import final

from plugins.blob_fs.layout import PUT_PREFIX, TMP_DIR, DurableDirs, sync_dirs, touch

__all__ = ["TempWriter", "WriteResult", "write_many"]


@final
@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one write call did.

    Args:
        ids: the blob ids, in the order of the input.
        written: blobs that were new (one file fsync each).
        deduplicated: blobs that already existed (touched instead).
        dir_syncs: directory fsyncs done.
        size: total bytes of the input.
    """

    ids: tuple[str, ...]
    written: int
    deduplicated: int
    dir_syncs: int
    size: int


def _write_temp(tmp: Path, data: bytes) -> str:
    fd, name = tempfile.mkstemp(prefix=PUT_PREFIX, dir=tmp)
    try:
        with open(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        _unlink_quietly(name)
        raise
    return name


def _unlink_quietly(name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name)


def write_many(root: Path, dirs: DurableDirs, items: Sequence[bytes]) -> WriteResult:
    """Store each of ``items``; durable when it returns (see the module docstring)."""
    tmp = root / TMP_DIR
    ids: list[str] = []
    to_sync: set[Path] = set()
    written = deduplicated = 0
    for data in items:
        blob_id = hashlib.sha256(data).hexdigest()
        ids.append(blob_id)
        leaf, parents = dirs.ensure(blob_id)
        to_sync.update(parents)
        to_sync.add(leaf)
        path = leaf / blob_id
        if touch(path):
            deduplicated += 1
            continue
        name = _write_temp(tmp, data)
        try:
            os.rename(name, path)
        except BaseException:
            _unlink_quietly(name)
            raise
        written += 1
    syncs = sync_dirs(to_sync)
    for blob_id in ids:
        dirs.mark(blob_id)
    return WriteResult(tuple(ids), written, deduplicated, syncs, sum(map(len, items)))


@final
class TempWriter:
    """One blob written in chunks: hashed while written to a temp file.

    Args:
        root: the blob root.

    Resource handling: the temp file is open from construction until
    :meth:`finish` or :meth:`abort`; call one of them exactly once.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._hash = hashlib.sha256()
        self.size = 0
        fd, self._name = tempfile.mkstemp(prefix=PUT_PREFIX, dir=root / TMP_DIR)
        self._file = open(fd, "wb")  # noqa: SIM115 (closed by finish/abort)

    def write(self, chunk: bytes) -> None:
        """Append ``chunk`` (hashing it)."""
        self._file.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def finish(self, dirs: DurableDirs) -> WriteResult:
        """fsync and rename into place (or touch an existing copy); durable on return."""
        blob_id = self._hash.hexdigest()
        try:
            leaf, parents = dirs.ensure(blob_id)
            path = leaf / blob_id
            if touch(path):
                self._file.close()
                _unlink_quietly(self._name)
                written, deduplicated = 0, 1
            else:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
                os.rename(self._name, path)
                written, deduplicated = 1, 0
        except BaseException:
            self.abort()
            raise
        syncs = sync_dirs([leaf, *parents])
        dirs.mark(blob_id)
        return WriteResult((blob_id,), written, deduplicated, syncs, self.size)

    def abort(self) -> None:
        """Close and remove the temp file (idempotent)."""
        self._file.close()
        _unlink_quietly(self._name)
