"""Change detection for hot reload: a cheap snapshot of configuration files.

Polling keeps this portable and dependency-free: every ``config.poll_interval``
the kernel stats the ``*.yaml`` fragments of each layer and every included
file; any difference in the set of files, their size, modification time or
inode (an editor's atomic replace) triggers a reload.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["snapshot_files"]

Snapshot = frozenset[tuple[str, int, int, int]]


def snapshot_files(layers: Iterable[Path], files: Iterable[Path]) -> Snapshot:
    """(path, size, mtime_ns, inode) of every fragment in ``layers`` and of ``files``."""
    paths = set(files)
    for layer in layers:
        if layer.is_dir():
            paths.update(p for p in layer.iterdir() if p.suffix in (".yaml", ".yml"))
    out = set()
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        out.add((str(path), st.st_size, st.st_mtime_ns, st.st_ino))
    return frozenset(out)
