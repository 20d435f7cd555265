"""``stalwart-kernel backup DIR`` and ``stalwart-kernel restore DIR``.

A backup directory holds the store's own copy (``store.sqlite3``,
``store.pgdump``...), the blob tree (``blobs/``) when the data directory has
one, and ``manifest.json``, written last, so a directory without it is an
unfinished backup. The manifest names the store backend, its schema version,
the time, and the size and SHA-256 of every file the backend wrote; restore
checks all of it before it touches anything.

Implementation notes:

* **Why the kernel owns these commands.** What to copy depends on the backend
  that ``store.backend`` selects, but a command name has one owner, and every
  store plugin is installed at once (registering ``backup`` from both
  ``store_sqlite`` and ``store_postgres`` would clash in the CLI). So the
  commands, the manifest and the blob copy are the kernel's, like ``config``,
  and each store backend says how to copy itself through the optional
  ``backup`` and ``restore`` fields of its :class:`~kernel.specs.BackendSpec`,
  the record that already ties it to ``store.backend``. A third-party backend
  opts in the same way; one that does not gets a clear "not supported".
* **Order.** Backup copies the store first and the blobs second: blob files are
  immutable and content-addressed, so every blob the copied store references
  already exists when the tree is copied. (A blob whose last reference went
  away after the store copy and that is deleted during the copy is missed; it
  is counted as ``vanished`` and reported.) Restore goes the other way: the
  blobs are in place before the store is swapped in. The store backend checks
  and stages first, so a refused restore touches nothing; blobs are only ever
  added (an existing file with the same name and size is kept), so a failed
  one leaves at most unreferenced blobs, which the blob backend collects.
* **Which blobs.** The tree copied is ``DATA/blobs`` (the ``fs`` blob
  backend's default place), without its ``tmp/`` (writes in progress, blobs
  being collected). A blob directory configured elsewhere (``blob_fs.path``) is
  not copied: the clean way to cover it is for the blob backend to provide
  ``backup``/``restore`` on its own ``BackendSpec``, as store backends do.
* The commands run with the configured plugins (``--plugins`` or the
  ``plugins`` list) so that ``store.backend`` and its options are the
  server's; no store is opened by the kernel itself.

Exit status: 0 on success, 1 when the backup or restore failed or was
refused (with a message on standard error), 2 for usage and configuration
errors.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import trio

from kernel.errors import StoreError
from kernel.pluginmanager import collect
from kernel.specs import BackendSpec, CommandSpec

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel

__all__ = ["COMMANDS", "FORMAT", "MANIFEST", "read_manifest"]

MANIFEST = "manifest.json"
#: The blob tree under the data directory, and its scratch subdirectory (the
#: layout of the ``fs`` blob backend, ``plugins/blob_fs/layout.py``).
BLOBS = "blobs"
BLOB_TMP = "tmp"
#: ``format`` in the manifest; bumped if the layout changes incompatibly.
FORMAT = "stalwart-kernel-backup/1"
_CHUNK = 1 << 20


def _server_version() -> str:
    try:
        return version("stalwart-kernel")
    except PackageNotFoundError:
        return "unknown"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _digest(path: Path) -> dict[str, Any]:
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return {"size": size, "sha256": sha.hexdigest()}


def _relative(name: object) -> PurePosixPath:
    path = PurePosixPath(str(name))
    if not isinstance(name, str) or path.is_absolute() or ".." in path.parts or not path.parts:
        raise StoreError(f"the manifest names an unsafe file {name!r}")
    return path


def _store_spec(kernel: Kernel) -> BackendSpec:
    name = kernel.backend_names.get("store")
    if name is None:
        loaded = ", ".join(kernel.plugin_names) or "none"
        raise StoreError(
            f"no loaded plugin uses a store (plugins: {loaded}); "
            "select the server's plugins with --plugins or the `plugins` list"
        )
    for _plugin, spec in collect(kernel.pm, "stalwart_register_backends"):
        if isinstance(spec, BackendSpec) and (spec.kind, spec.name) == ("store", name):
            return spec
    raise StoreError(f"no loaded plugin provides the store backend {name!r}")  # resolved at boot


# ---- backup ----------------------------------------------------------------


def _prepare_destination(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise StoreError(f"{dest} exists and is not an empty directory: choose a new one")
    dest.mkdir(parents=True, exist_ok=True)


def _walk_blobs(source: Path, dest: Path) -> Iterator[tuple[Path, Path]]:
    """(blob file, its place under ``dest``) for the tree at ``source``, ``tmp/`` skipped.

    Creates the directories under ``dest`` as it goes and fsyncs each once its
    entries are complete.
    """
    for root, dirs, names in os.walk(source):
        relative = Path(root).relative_to(source)
        if relative == Path("."):
            dirs[:] = [d for d in dirs if d != BLOB_TMP]  # writes in progress, collected blobs
        dirs.sort()
        here = dest / relative
        here.mkdir(parents=True, exist_ok=True)
        for name in dirs:
            (here / name).mkdir(exist_ok=True)
        for name in sorted(names):
            yield Path(root) / name, here / name
        _fsync_dir(here)


def _copy_file(source: Path, target: Path) -> int:
    """Copy ``source`` to ``target`` and fsync it; returns its size."""
    shutil.copyfile(source, target)
    with target.open("rb") as f:
        os.fsync(f.fileno())
        return os.fstat(f.fileno()).st_size


def _copy_blobs(source: Path, dest: Path) -> dict[str, int] | None:
    """Copy the blob tree (regular files only); None if the data directory has none."""
    if not source.is_dir():
        return None
    files = size = vanished = 0
    for blob, target in _walk_blobs(source, dest):
        if blob.is_symlink() or not blob.is_file():
            continue
        try:
            size += _copy_file(blob, target)
        except FileNotFoundError:
            vanished += 1  # collected while we copied (see the module notes)
            target.unlink(missing_ok=True)
            continue
        files += 1
    return {"files": files, "bytes": size, "vanished": vanished}


def _write_manifest(dest: Path, manifest: dict[str, Any]) -> None:
    partial = dest / f".{MANIFEST}.partial"
    with partial.open("w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, dest / MANIFEST)
    _fsync_dir(dest)


async def backup(kernel: Kernel, dest: Path) -> dict[str, Any]:
    """Back up the configured store, then the blob tree, into the new directory ``dest``.

    Returns:
        The manifest written to ``dest/manifest.json``.

    Raises:
        StoreError: the store backend cannot back up, or ``dest`` is not new.
        OSError: reading or writing files failed.
    """
    spec = _store_spec(kernel)
    if spec.backup is None:
        raise StoreError(f"the {spec.name!r} store backend does not support backup")
    await trio.to_thread.run_sync(_prepare_destination, dest)
    described = dict(await spec.backup(kernel, dest))
    names = [_relative(name) for name in described.get("files", ())]

    def finish() -> dict[str, Any]:
        described["files"] = {str(name): _digest(dest / name) for name in names}
        manifest = {
            "format": FORMAT,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "server_version": _server_version(),
            "store": {**described, "backend": spec.name},
            BLOBS: _copy_blobs(kernel.data_dir / BLOBS, dest / BLOBS),
        }
        _write_manifest(dest, manifest)
        return manifest

    return await trio.to_thread.run_sync(finish)


# ---- restore ---------------------------------------------------------------


def read_manifest(source: Path) -> dict[str, Any]:
    """Read and check ``source/manifest.json`` and the files it lists.

    Raises:
        StoreError: ``source`` is not a complete, intact backup.
    """
    path = source / MANIFEST
    if not source.is_dir():
        raise StoreError(f"{source} is not a directory")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StoreError(f"{source} is not a backup: it has no {MANIFEST}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(f"{path} is unreadable: {exc}") from None
    store = manifest.get("store") if isinstance(manifest, dict) else None
    if not isinstance(store, dict) or manifest.get("format") != FORMAT:
        raise StoreError(f"{path} is not a {FORMAT} manifest")
    files = store.get("files")
    if not isinstance(store.get("backend"), str) or not isinstance(files, dict) or not files:
        raise StoreError(f"{path} does not describe a store backup")
    for name, expected in files.items():
        copy = source / _relative(name)
        if not copy.is_file():
            raise StoreError(f"the backup is incomplete: {copy} is missing")
        if not isinstance(expected, dict) or _digest(copy) != expected:
            raise StoreError(f"the backup is damaged: {copy} does not match its checksum")
    return manifest


def _restore_blobs(source: Path, dest: Path) -> int:
    """Add the backup's blobs missing from ``dest``; returns how many were added.

    Each is written under ``dest/tmp/`` (the blob tree's own filesystem) and
    renamed into place, so a blob file is never seen half-written.
    """
    added = 0
    staging = dest / BLOB_TMP
    staging.mkdir(parents=True, exist_ok=True)
    for blob, target in _walk_blobs(source, dest):
        if target.is_file() and target.stat().st_size == blob.stat().st_size:
            continue  # content-addressed and immutable: already the same blob
        partial = staging / f"restore-{os.getpid()}-{blob.name}"
        _copy_file(blob, partial)
        os.replace(partial, target)
        added += 1
    return added


async def restore(kernel: Kernel, source: Path, *, force: bool = False) -> dict[str, Any]:
    """Restore the backup in ``source``: its blobs first, then the store, swapped in.

    Returns:
        The backup's manifest.

    Raises:
        StoreError: ``source`` is not an intact backup of this store backend,
            or the target holds data and ``force`` is false, or the store is in use.
        OSError: reading or writing files failed.
    """
    spec = _store_spec(kernel)
    if spec.restore is None:
        raise StoreError(f"the {spec.name!r} store backend does not support restore")
    manifest = await trio.to_thread.run_sync(read_manifest, source)
    store = manifest["store"]
    if store["backend"] != spec.name:
        raise StoreError(
            f"{source} holds a {store['backend']!r} store but store.backend is {spec.name!r}"
        )
    async with spec.restore(kernel, source, store, force):
        if (source / BLOBS).is_dir():
            await trio.to_thread.run_sync(_restore_blobs, source / BLOBS, kernel.data_dir / BLOBS)
    return manifest


# ---- the commands ----------------------------------------------------------


def _configure_backup(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", type=Path, metavar="DIR", help="a new (or empty) directory")


def _configure_restore(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", type=Path, metavar="DIR", help="a directory made by `backup`")
    parser.add_argument(
        "--force", action="store_true", help="replace a store that already holds data"
    )


async def _run_backup(args: argparse.Namespace, kernel: Kernel) -> int:
    try:
        manifest = await backup(kernel, args.dir)
    except (StoreError, OSError) as exc:
        print(f"error: backup failed: {exc}", file=sys.stderr)
        return 1
    _report("backed up", manifest, args.dir)
    return 0


async def _run_restore(args: argparse.Namespace, kernel: Kernel) -> int:
    try:
        manifest = await restore(kernel, args.dir, force=args.force)
    except (StoreError, OSError) as exc:
        print(f"error: restore failed: {exc}", file=sys.stderr)
        return 1
    _report("restored", manifest, args.dir)
    return 0


def _report(verb: str, manifest: Mapping[str, Any], where: Path) -> None:
    store = manifest["store"]
    print(
        f"{verb} the {store['backend']} store (schema version "
        f"{store.get('schema_version', '?')}, made {manifest['created']}) "
        f"{'to' if verb == 'backed up' else 'from'} {where}"
    )
    blobs = manifest.get(BLOBS)
    if blobs:
        print(f"blobs: {blobs['files']} files, {blobs['bytes']} bytes")
        if blobs.get("vanished"):
            print(f"warning: {blobs['vanished']} blob files were deleted while copying")


COMMANDS = [
    CommandSpec(
        "backup",
        "copy the store and blobs, consistently, even while serving",
        _configure_backup,
        _run_backup,
    ),
    CommandSpec(
        "restore",
        "restore a backup made by `backup` (server stopped)",
        _configure_restore,
        _run_restore,
    ),
]
