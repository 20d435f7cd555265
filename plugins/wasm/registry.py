"""Compiled modules, cached by file and recompiled when the file changes.

:class:`ModuleRegistry` answers "the compiled module at this path" and runs one
stage's configured modules in order (:meth:`ModuleRegistry.run_stage`). Both are
synchronous and run in worker threads.

Implementation notes:

* Hot reload: every lookup stats the file (a cheap syscall next to a module
  call); a changed ``(mtime_ns, size, inode)`` triggers a recompile. A file that
  no longer compiles keeps the last good module running, and the error is logged
  once per file version; a module that never compiled fails its calls
  (``load`` error, the module's ``on_error`` applies).
* The cache is shared by threads behind one lock; compiling happens outside it,
  so a slow compile does not stall calls of other modules (two threads may
  compile the same new version once each; the last one is kept).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import final

from kernel.telemetry import get_logger
from plugins.wasm.actions import Reject, Tempfail
from plugins.wasm.config import ModuleSpec
from plugins.wasm.context import CallInput
from plugins.wasm.sandbox import CallOutcome, CompiledModule, Sandbox

__all__ = ["ModuleRegistry"]

_log = get_logger("wasm")


@dataclass
class _Entry:
    version: tuple[int, int, int]
    compiled: CompiledModule | None
    error: str | None


@final
class ModuleRegistry:
    """A sandbox and the modules compiled in it."""

    def __init__(self, sandbox: Sandbox | None = None) -> None:
        self.sandbox = sandbox or Sandbox()
        self._lock = threading.Lock()
        self._entries: dict[Path, _Entry] = {}
        self.compiles = 0  # how many compiles happened (tests and statistics)

    def get(self, path: Path) -> CompiledModule:
        """The compiled module at ``path``, recompiled if the file changed.

        Raises:
            OSError: the file cannot be read (and no version ever compiled).
            ValueError: it never compiled (the message says why).
        """
        path = path.resolve()
        try:
            stat = os.stat(path)
            version = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except OSError:
            with self._lock:
                entry = self._entries.get(path)
            if entry is not None and entry.compiled is not None:
                return entry.compiled  # removed while running: keep the last good one
            raise
        with self._lock:
            entry = self._entries.get(path)
        if entry is None or entry.version != version:
            entry = self._compile(path, version, entry)
        if entry.compiled is None:
            raise ValueError(entry.error or "does not compile")
        return entry.compiled

    def cached_stages(self, path: Path) -> tuple[str, ...] | None:
        """The stages of the module last compiled from ``path``; None if unknown.

        No file access: a cheap check for hooks deciding whether to run at all.
        """
        with self._lock:
            entry = self._entries.get(path.resolve())
        return entry.compiled.stages if entry is not None and entry.compiled else None

    def _compile(self, path: Path, version: tuple[int, int, int], old: _Entry | None) -> _Entry:
        try:
            compiled, error = self.sandbox.compile(path), None
            self.compiles += 1
            _log.info("wasm-module-loaded", path=str(path), stages=",".join(compiled.stages))
        except (OSError, ValueError) as exc:
            compiled, error = None, f"{path}: {exc}"
            _log.error("wasm-module-invalid", path=str(path), error=str(exc))
            if old is not None and old.compiled is not None:
                compiled = old.compiled  # keep the last good version running
        entry = _Entry(version, compiled, error)
        with self._lock:
            self._entries[path] = entry
        return entry

    def run_stage(
        self, specs: list[ModuleSpec], stage: str, data: CallInput
    ) -> list[tuple[ModuleSpec, CallOutcome]]:
        """Run the modules configured for ``stage`` in order, until one refuses.

        A module that does not export the stage's entry point is skipped, unless
        its ``stages`` name the stage (then that is a ``load`` error).
        """
        out: list[tuple[ModuleSpec, CallOutcome]] = []
        for spec in specs:
            if spec.stages is not None and stage not in spec.stages:
                continue
            try:
                compiled = self.get(spec.path)
            except (OSError, ValueError) as exc:
                out.append((spec, CallOutcome(error="load", detail=str(exc))))
                continue
            if stage not in compiled.stages:
                if spec.stages is not None:
                    detail = f"{spec.path} has no on_{stage} entry point"
                    out.append((spec, CallOutcome(error="load", detail=detail)))
                continue
            outcome = self.sandbox.call(compiled, spec.name, stage, data, spec.limits)
            out.append((spec, outcome))
            if any(isinstance(action, Reject | Tempfail) for action in outcome.actions):
                break
        return out
