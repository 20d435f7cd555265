"""The garbage collector's blocking steps: scan, reap, sweep temp files.

Reference counts live in the store's database; the collector asks it, through
a callback, which of the old blobs are still referenced by committed rows
(:meth:`plugins.blob_fs.store.FsBlobStore.collect_garbage` drives these steps
and awaits that callback between them).

Why this is safe. The invariant it relies on: **a blob is written (or, if it
already exists, touched: its mtime set to now) before the row that
references it commits**, and the time from that put to that commit is shorter
than the grace period (default one hour: longer than any write transaction).

1. Scan: a blob whose mtime is at or after ``cutoff = now - grace`` is kept
   without asking (``kept_young``). ``now`` is the start of the collection.
2. Ask: the other blob ids are passed to ``referenced(ids)``, which must
   answer from the committed state *at the time it is called*; those it
   returns are kept (``kept_referenced``).
3. Reap each remaining blob: rename it to ``tmp/gc-<id>-*`` (atomic), stat it
   there, and delete it only if its mtime is still before the cutoff;
   otherwise a put touched it since the scan, and it is renamed back.

Take a row that references blob B and commits at time C, its put having
touched or written B at time P, with ``C - P < grace``. If C came before the
ask, ``referenced`` reports B and it is kept. If C came after the ask, then
``P > C - grace > now - grace = cutoff``: B is young, so either the scan kept
it (put before the scan) or the reap's re-check sees the fresh mtime (put
after the scan, before the rename) and puts it back. A put whose touch comes
after the rename finds no file and writes a new copy itself. So a blob is
deleted only if no committed row referenced it when asked and nothing touched
it for the whole grace period.

Implementation notes:

* The rename before the re-check closes the gap between "stat" and "unlink"
  that a plain re-check would leave: the touch either reaches the file before
  the rename (and the re-check sees it) or fails (and the put writes anew).
  The only cost is a moment, between the rename and the rename back, when a
  blob that a put has just touched is not at its path.
* Temp files: ``tmp/put-*`` older than the cutoff are writes that died (a
  crash between write and rename) and are deleted; their bytes were never
  acknowledged, nor visible as a blob. ``tmp/gc-*`` files are a collection
  that died mid-reap and are put back (:func:`~.layout.recover_trash`).
* Clocks: mtimes and ``now`` are wall-clock time; a clock stepped backwards
  by more than the margin between grace and the longest transaction weakens
  the guarantee, so keep the grace generous.
* Blocking: each function is one worker-thread call.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import final

from plugins.blob_fs.layout import (
    GC_PREFIX,
    PUT_PREFIX,
    TMP_DIR,
    blob_path,
    fsync_dir,
    is_blob_id,
    is_fanout,
    recover_trash,
)

__all__ = ["GcReport", "Reaped", "Scanned", "list_top_dirs", "reap", "scan_top", "sweep_temp"]


@final
@dataclass(frozen=True, slots=True)
class GcReport:
    """What one garbage collection did.

    Args:
        scanned: blob files looked at.
        deleted: blobs deleted.
        kept_young: blobs kept because written or touched within the grace
            period (at the scan, or by a put during the collection).
        kept_referenced: blobs kept because a committed row references them.
        bytes_freed: total size of the deleted blobs.
        temp_removed: stale temp files deleted (writes that never finished).
    """

    scanned: int = 0
    deleted: int = 0
    kept_young: int = 0
    kept_referenced: int = 0
    bytes_freed: int = 0
    temp_removed: int = 0


@final
@dataclass(frozen=True, slots=True)
class Scanned:
    """One top-level fan-out directory scanned: old blob ids, and counts."""

    candidates: tuple[str, ...]
    scanned: int
    young: int


@final
@dataclass(frozen=True, slots=True)
class Reaped:
    """The outcome of :func:`reap`."""

    deleted: int
    kept_young: int
    bytes_freed: int


def list_top_dirs(root: Path) -> list[str]:
    """The top-level fan-out directory names, sorted."""
    with os.scandir(root) as it:
        return sorted(e.name for e in it if is_fanout(e.name) and e.is_dir(follow_symlinks=False))


def scan_top(root: Path, top: str, cutoff: float) -> Scanned:
    """Blobs under ``root/top`` whose mtime is before ``cutoff``.

    Files that are not named like blobs, or not where their name says, are
    ignored (neither counted nor touched).
    """
    candidates: list[str] = []
    scanned = young = 0
    with os.scandir(root / top) as it:
        subs = sorted((e for e in it if is_fanout(e.name)), key=lambda e: e.name)
    for sub in subs:
        if not sub.is_dir(follow_symlinks=False):
            continue
        with os.scandir(sub.path) as it:
            entries = list(it)
        for entry in entries:
            name = entry.name
            if not (is_blob_id(name) and name[:2] == top and name[2:4] == sub.name):
                continue
            try:
                mtime = entry.stat(follow_symlinks=False).st_mtime
            except FileNotFoundError:
                continue  # deleted meanwhile
            scanned += 1
            if mtime >= cutoff:
                young += 1
            else:
                candidates.append(name)
    return Scanned(tuple(sorted(candidates)), scanned, young)


def reap(root: Path, ids: Sequence[str], cutoff: float) -> Reaped:
    """Delete the blobs ``ids`` unless a put touched them since ``cutoff``.

    Each is renamed to ``tmp/gc-<id>-*`` first, then checked, then deleted or
    renamed back (see the module docstring for why in that order).
    """
    tmp = root / TMP_DIR
    deleted = kept = freed = 0
    restored_dirs: set[Path] = set()
    for blob_id in ids:
        path = blob_path(root, blob_id)
        trash = tmp / f"{GC_PREFIX}{blob_id}-{secrets.token_hex(4)}"
        try:
            os.rename(path, trash)
        except FileNotFoundError:
            continue  # deleted meanwhile (delete() or another collection)
        try:
            stat = os.stat(trash)
            if stat.st_mtime >= cutoff:
                os.rename(trash, path)  # touched since the scan: a write references it
                restored_dirs.add(path.parent)
                kept += 1
                continue
            os.unlink(trash)
        except FileNotFoundError:
            continue  # put back meanwhile (recover_trash from another process)
        deleted += 1
        freed += stat.st_size
    for directory in sorted(restored_dirs):
        fsync_dir(directory)
    return Reaped(deleted, kept, freed)


def sweep_temp(root: Path, cutoff: float) -> int:
    """Delete ``tmp/put-*`` files older than ``cutoff``; put back ``tmp/gc-*``.

    Returns how many temp files were deleted.
    """
    removed = 0
    with os.scandir(root / TMP_DIR) as it:
        entries = list(it)
    for entry in entries:
        if not entry.name.startswith(PUT_PREFIX):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            continue  # renamed into place or removed meanwhile
    recover_trash(root)
    return removed
