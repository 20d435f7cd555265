"""Where blobs live on disk, and the directory fsyncs that make them durable.

Layout under the root (``DATA_DIR/blobs`` by default)::

    ab/cd/abcdef0123...      a blob, named by the SHA-256 hex of its bytes
    tmp/put-XXXXXXXX         a write in progress (or left by a crash)
    tmp/gc-<id>-XXXXXXXX     a blob the garbage collector is removing

Implementation notes:

* Ids are checked against ``[0-9a-f]{64}`` before any path is built from them,
  so no id can name a file outside its fan-out directory (``../``, ``/``).
* ``tmp/`` is on the same filesystem as the blobs, so ``os.rename`` from it is
  atomic. Temp files are never fsynced as directory entries: a temp file lost
  in a crash was never acknowledged.
* Fan-out directories are never removed (at most 256 + 65,536 of them):
  removing one would race with a put that has just created it.
* :class:`DurableDirs` remembers the fan-out directories whose own directory
  entry this process has fsynced. A directory that merely exists may have been
  created by a concurrent writer that has not fsynced its parent yet, so each
  one costs its parent's fsync once per process; after that only the leaf
  directory holding a new entry is fsynced.
* Blocking functions only: :mod:`plugins.blob_fs.store` runs them in worker
  threads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import final

__all__ = [
    "GC_PREFIX",
    "PUT_PREFIX",
    "TMP_DIR",
    "DurableDirs",
    "blob_path",
    "fsync_dir",
    "is_blob_id",
    "prepare_root",
    "recover_trash",
    "sync_dirs",
    "touch",
    "validate_id",
]

TMP_DIR = "tmp"
PUT_PREFIX = "put-"
GC_PREFIX = "gc-"

_ID = re.compile(r"[0-9a-f]{64}")
_FANOUT = re.compile(r"[0-9a-f]{2}")


def is_blob_id(name: str) -> bool:
    """Whether ``name`` is a blob id (64 lowercase hex characters)."""
    return _ID.fullmatch(name) is not None


def validate_id(blob_id: str) -> str:
    """Return ``blob_id`` unchanged.

    Raises:
        ValueError: it is not 64 lowercase hex characters (which also rules out
            path traversal through an id).
    """
    if not isinstance(blob_id, str) or not is_blob_id(blob_id):
        raise ValueError(f"not a blob id (SHA-256 lowercase hex): {blob_id!r}")
    return blob_id


def blob_path(root: Path, blob_id: str) -> Path:
    """``root/ab/cd/abcd...`` for a valid id (raises ValueError otherwise)."""
    validate_id(blob_id)
    return root / blob_id[:2] / blob_id[2:4] / blob_id


def is_fanout(name: str) -> bool:
    """Whether ``name`` is a fan-out directory name (two lowercase hex digits)."""
    return _FANOUT.fullmatch(name) is not None


def fsync_dir(path: Path) -> None:
    """fsync a directory, making the entries created or renamed in it durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_dirs(dirs: Iterable[Path]) -> int:
    """fsync each directory once, deepest first; returns how many."""
    unique = sorted(set(dirs), key=lambda p: (-len(p.parts), str(p)))
    for directory in unique:
        fsync_dir(directory)
    return len(unique)


def touch(path: Path) -> bool:
    """Set ``path``'s mtime to now; False if it does not exist.

    The touch is what protects an existing blob that a new write is about to
    reference from a concurrent garbage collection (see :mod:`.gc`).
    """
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    return True


def prepare_root(root: Path) -> None:
    """Create ``root`` and ``root/tmp``, fsyncing the parents of what was created."""
    created = []
    probe = root
    while not probe.exists():
        created.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    root.mkdir(parents=True, exist_ok=True)
    (root / TMP_DIR).mkdir(exist_ok=True)
    sync_dirs(path.parent for path in created)


def recover_trash(root: Path) -> int:
    """Put back blobs a garbage collection was removing when it stopped.

    A ``tmp/gc-<id>-*`` file is a blob renamed out of place by a collection
    that did not finish (killed between its rename and its unlink). Putting it
    back is always safe: if it is garbage, a later collection removes it.
    Returns how many were put back.
    """
    tmp = root / TMP_DIR
    restored = 0
    synced: set[Path] = set()
    with os.scandir(tmp) as it:
        entries = [e for e in it if e.name.startswith(GC_PREFIX)]
    for entry in entries:
        blob_id = entry.name[len(GC_PREFIX) :].split("-", 1)[0]
        if not is_blob_id(blob_id):
            continue
        path = blob_path(root, blob_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Replacing a copy written since is harmless: the same bytes.
            os.rename(entry.path, path)
        except FileNotFoundError:
            continue  # another collection finished with it meanwhile
        restored += 1
        synced.update((path.parent, path.parent.parent, root))
    sync_dirs(synced)
    return restored


@final
class DurableDirs:
    """The fan-out directories whose own entries this process has made durable.

    Args:
        root: the blob root.

    Thread safety: membership tests and additions on a ``set`` are atomic
    under the GIL; a race only costs a redundant fsync.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._known: set[str] = set()

    def ensure(self, blob_id: str) -> tuple[Path, list[Path]]:
        """Create the blob's fan-out directories if needed.

        Returns:
            (the leaf directory, the directories to fsync so that the fan-out
            directories themselves are durable). Call :meth:`mark` once those
            are fsynced.
        """
        top, sub = blob_id[:2], blob_id[:2] + "/" + blob_id[2:4]
        leaf = self.root / blob_id[:2] / blob_id[2:4]
        if sub in self._known:
            return leaf, []
        leaf.mkdir(parents=True, exist_ok=True)
        parents = [self.root / top]
        if top not in self._known:
            parents.append(self.root)
        return leaf, parents

    def mark(self, blob_id: str) -> None:
        """Record that the blob's fan-out directories are durable."""
        self._known.add(blob_id[:2])
        self._known.add(blob_id[:2] + "/" + blob_id[2:4])
