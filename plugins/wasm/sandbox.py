"""The sandbox: compile rule modules once and run one call under hard limits.

:class:`Sandbox` owns one wasmtime ``Engine`` (fuel metering and epoch
interruption on), one ``Linker`` with the ABI's imports and nothing else (no
WASI: a module importing anything else is refused at load), and the ticker that
drives epoch deadlines. :meth:`Sandbox.compile` checks a module against the ABI;
:meth:`Sandbox.call` runs one entry point in a fresh ``Store`` and instance, so no
state survives between messages, and turns every failure into a
:class:`CallOutcome` with an ``error`` instead of an exception.

Resource handling: each call gets ``fuel`` units (about one per instruction), a
memory cap (``StoreLimits``: a ``memory.grow`` past it fails inside the guest,
an initial memory above it fails instantiation), at most one instance, four
tables of 10,000 elements, and a wall-clock deadline (``timeout``, by epoch
ticks of :data:`TICK` seconds) for time spent in the guest.

Error handling: traps, out-of-fuel, timeouts, guest faults (bad pointers), bad
entry returns and instantiation failures all become ``CallOutcome.error``; the
caller applies the module's ``on_error`` policy. This module must be called from
a worker thread (``trio.to_thread.run_sync``): a call blocks until the guest
returns or a limit stops it.

Implementation notes: the ticker is a daemon thread, not a trio task, because
wasmtime checks the epoch from the worker threads that run guests; it runs only
while calls do, and ends after a few idle seconds.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import final

import wasmtime

from plugins.wasm import calls
from plugins.wasm.abi import (
    ABI_VERSION_EXPORT,
    ALLOC_EXPORT,
    ENTRY_POINTS,
    IMPORT_MODULE,
    MEMORY_EXPORT,
    SUPPORTED_VERSIONS,
)
from plugins.wasm.actions import Action
from plugins.wasm.context import CallInput

__all__ = ["TICK", "CallOutcome", "CompiledModule", "Limits", "Sandbox"]

TICK = 0.005  # seconds per epoch tick
_IDLE_EXIT = 2.0  # seconds without calls after which the ticker thread ends
_TABLE_ELEMENTS = 10_000


@final
@dataclass(frozen=True, slots=True)
class Limits:
    """Per-call limits of one module.

    Args:
        fuel: wasmtime fuel units per call.
        memory: bytes of linear memory the module may have.
        timeout: seconds a call may run.
        max_actions: actions accepted per call (more answer ``TOO_MANY``).
    """

    fuel: int = 10_000_000
    memory: int = 16 * 2**20
    timeout: float = 1.0
    max_actions: int = 64


@final
@dataclass(frozen=True, slots=True)
class CompiledModule:
    """A module that passed the ABI checks.

    Args:
        module: the compiled wasmtime module.
        abi_version: what its ``abi_version`` export answered.
        stages: the stages it has an entry point for, in pipeline order.
    """

    module: wasmtime.Module
    abi_version: int
    stages: tuple[str, ...]


@final
@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What one call gave: the actions, or an error (kind and detail).

    ``error`` is one of ``out-of-fuel``, ``timeout``, ``trap``, ``guest-fault``,
    ``bad-return``, ``instantiate``, ``host-error``, ``load``, or None for success.
    """

    actions: tuple[Action, ...] = ()
    error: str | None = None
    detail: str = ""
    fuel_used: int = 0
    seconds: float = 0.0


class _Ticker:
    """Increments the engine's epoch every :data:`TICK` seconds while calls run."""

    def __init__(self, engine: wasmtime.Engine) -> None:
        self._engine = engine
        self._active = 0
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> None:
        with self._wake:
            self._active += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="wasm-epoch", daemon=True)
                self._thread.start()
            self._wake.notify()

    def __exit__(self, *exc: object) -> None:
        with self._wake:
            self._active -= 1

    def _run(self) -> None:
        while True:
            with self._wake:
                if self._active == 0:
                    self._wake.wait(timeout=_IDLE_EXIT)
                    if self._active == 0:
                        self._thread = None  # idle: the next call starts a new one
                        return
            time.sleep(TICK)
            self._engine.increment_epoch()


@final
class Sandbox:
    """One engine, its linker, and the epoch ticker; thread-safe."""

    def __init__(self) -> None:
        config = wasmtime.Config()
        config.consume_fuel = True
        config.epoch_interruption = True
        config.max_wasm_stack = 512 * 1024
        self.engine = wasmtime.Engine(config)
        self._linker = calls.build_linker(self.engine)
        self._ticker = _Ticker(self.engine)

    def compile(self, path: Path) -> CompiledModule:
        """Read and compile a ``.wasm`` (binary) or ``.wat`` (text) module.

        Raises:
            OSError: the file cannot be read.
            ValueError: it does not compile or does not follow the ABI (the
                message says what is wrong).
        """
        data = path.read_bytes()
        return self.compile_bytes(data, text=path.suffix.lower() == ".wat")

    def compile_bytes(self, data: bytes, *, text: bool = False) -> CompiledModule:
        """:meth:`compile` for module bytes (WAT text when ``text``)."""
        try:
            source: str | bytes = data.decode("utf-8") if text else data
            module = wasmtime.Module(self.engine, source)
        except (wasmtime.WasmtimeError, UnicodeDecodeError) as exc:
            raise ValueError(f"not a valid module: {_first_line(exc)}") from None
        for imp in module.imports:
            if imp.module != IMPORT_MODULE or imp.name not in calls.IMPORTS:
                raise ValueError(
                    f"imports {imp.module}.{imp.name}, which the host does not provide "
                    "(only the stalwart.* functions of ABI.md; there is no WASI)"
                )
        exports = {export.name: export.type for export in module.exports}
        if not isinstance(exports.get(MEMORY_EXPORT), wasmtime.MemoryType):
            raise ValueError(f"exports no memory named {MEMORY_EXPORT!r}")
        for name in (ABI_VERSION_EXPORT, ALLOC_EXPORT):
            if not isinstance(exports.get(name), wasmtime.FuncType):
                raise ValueError(f"exports no function {name!r}")
        stages = tuple(stage for stage, entry in ENTRY_POINTS.items() if entry in exports)
        for stage in stages:
            kind = exports[ENTRY_POINTS[stage]]
            if not isinstance(kind, wasmtime.FuncType) or not _returns_i32(kind, params=0):
                raise ValueError(f"{ENTRY_POINTS[stage]} must be a function () -> i32")
        if not _returns_i32(exports[ABI_VERSION_EXPORT], params=0):
            raise ValueError(f"{ABI_VERSION_EXPORT} must be a function () -> i32")
        if not _returns_i32(exports[ALLOC_EXPORT], params=1):
            raise ValueError(f"{ALLOC_EXPORT} must be a function (i32) -> i32")
        if not stages:
            raise ValueError(f"exports no entry point ({', '.join(ENTRY_POINTS.values())})")
        version = self._abi_version(module)
        if version not in SUPPORTED_VERSIONS:
            supported = ", ".join(map(str, sorted(SUPPORTED_VERSIONS)))
            raise ValueError(f"is built for ABI version {version}; this host runs {supported}")
        return CompiledModule(module, version, stages)

    def _abi_version(self, module: wasmtime.Module) -> int:
        store = self._store(Limits(fuel=100_000))
        try:
            instance = self._linker.instantiate(store, module)
            version = instance.exports(store)[ABI_VERSION_EXPORT](store)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
            raise ValueError(f"abi_version() failed: {_first_line(exc)}") from None
        if not isinstance(version, int):
            raise ValueError("abi_version() must return one i32")
        return version

    def _store(self, limits: Limits) -> wasmtime.Store:
        store = wasmtime.Store(self.engine)
        store.set_limits(
            memory_size=limits.memory,
            table_elements=_TABLE_ELEMENTS,
            instances=1,
            tables=4,
            memories=1,
        )
        store.set_fuel(limits.fuel)
        store.set_epoch_deadline(max(1, math.ceil(limits.timeout / TICK)))
        return store

    def call(
        self, compiled: CompiledModule, name: str, stage: str, data: CallInput, limits: Limits
    ) -> CallOutcome:
        """Run ``compiled``'s entry point for ``stage``; never raises for guest faults."""
        state = calls.CallState(data, name, limits.max_actions)
        store = self._store(limits)
        started = time.perf_counter()
        calls.bind(state)
        error: str | None = None
        detail = ""
        try:
            with self._ticker:
                instance = self._linker.instantiate(store, compiled.module)
                result = instance.exports(store)[ENTRY_POINTS[stage]](store)
            if result != 0:
                error, detail = "bad-return", f"on_{stage}() returned {result!r}, not 0"
        except wasmtime.Trap as exc:
            error, detail = _trap_kind(exc), _first_line(exc)
        except calls.GuestFault as exc:
            error, detail = "guest-fault", str(exc)
        except wasmtime.WasmtimeError as exc:
            error, detail = "instantiate", _first_line(exc)
        except Exception as exc:  # a host function's bug must not stop the delivery
            error, detail = "host-error", f"{type(exc).__name__}: {exc}"
        finally:
            calls.bind(None)
        fuel = limits.fuel - store.get_fuel()
        seconds = time.perf_counter() - started
        actions = () if error else tuple(state.actions)
        return CallOutcome(actions, error, detail, fuel, seconds)


def _returns_i32(kind: object, *, params: int) -> bool:
    """Whether ``kind`` is a function type ``(i32 x params) -> i32``."""
    if not isinstance(kind, wasmtime.FuncType):
        return False
    i32 = str(wasmtime.ValType.i32())
    return [str(p) for p in kind.params] == [i32] * params and [str(r) for r in kind.results] == [
        i32
    ]


def _trap_kind(trap: wasmtime.Trap) -> str:
    code = trap.trap_code
    if code == wasmtime.TrapCode.OUT_OF_FUEL:
        return "out-of-fuel"
    if code == wasmtime.TrapCode.INTERRUPT:
        return "timeout"
    return "trap"


def _first_line(exc: BaseException) -> str:
    """The cause of a wasmtime error on one line, without the backtrace."""
    text = str(exc)
    if "Caused by:" in text:
        text = text.split("Caused by:", 1)[1]
    lines = [re.sub(r"^\d+: ", "", line.strip()) for line in text.splitlines() if line.strip()]
    return "; ".join(lines[:3]) if lines else type(exc).__name__
