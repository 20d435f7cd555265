"""Compiling and running scripts off the trio thread, under a total time limit.

Delivery and the system scripts call :func:`compile_source` and :func:`run_script`;
both do their work in a worker thread (``trio.to_thread.run_sync``) so a large or
hostile script never stalls the event loop.

Implementation notes:

- Two clocks bound a run: the interpreter checks its own deadline between steps
  (``Limits.max_run_seconds``) and stops with :class:`~plugins.sieve.errors.SieveLimitExceeded`;
  the trio side waits at most that long plus :data:`GRACE` and then abandons the
  thread (a lookup blocked in the store, a regular expression in C code), telling the
  host through ``abandoned`` so the thread ends at its next lookup. An abandoned run
  is reported as ``None``: the caller keeps the message.
- Threads are limited by one :class:`trio.CapacityLimiter` per kernel
  (:func:`limiter_of`, :data:`CONCURRENT_RUNS`), so a burst of deliveries cannot start
  more than a few runs at once.
- The compiled form is cached as UTF-8 JSON (:func:`encode_compiled`); a cache that
  does not decode, is of another format version or names a handler this build does
  not have (:func:`runnable`) is recompiled from the source.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import trio

from kernel import StashKey
from plugins.sieve.compiled import CompiledScript
from plugins.sieve.compiler import compile_script
from plugins.sieve.host import Envelope, Host
from plugins.sieve.interpreter import Interpreter, Outcome
from plugins.sieve.limits import Limits
from plugins.sieve.registry import Registry

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel

__all__ = [
    "CONCURRENT_RUNS",
    "GRACE",
    "compile_source",
    "decode_compiled",
    "encode_compiled",
    "limiter_of",
    "run_script",
    "runnable",
]

#: How much longer than the interpreter's own budget the trio side waits.
GRACE: Final = 0.5
_BLOCK_KEYS: Final = frozenset({"if", "elsif", "else"})
#: Concurrent script runs and compilations per kernel.
CONCURRENT_RUNS: Final = 8
_LIMITER: Final = StashKey[trio.CapacityLimiter]()


def limiter_of(kernel: Kernel) -> trio.CapacityLimiter:
    """The kernel's limiter of Sieve worker threads (created on first use)."""
    limiter = kernel.stash.get(_LIMITER, None)
    if limiter is None:
        limiter = kernel.stash[_LIMITER] = trio.CapacityLimiter(CONCURRENT_RUNS)
    return limiter


def encode_compiled(script: CompiledScript) -> bytes:
    """The cache form of a compiled script (compact JSON, UTF-8)."""
    return json.dumps(script.to_json(), separators=(",", ":")).encode("utf-8")


def decode_compiled(data: bytes | None) -> CompiledScript | None:
    """A compiled script from its cache form; None when missing, corrupt or stale."""
    if not data:
        return None
    try:
        return CompiledScript.from_json(json.loads(data))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


async def _in_thread(
    fn: Callable[[], Any],
    timeout: float,
    abandoned: threading.Event,
    limiter: trio.CapacityLimiter | None,
) -> Any:
    """``fn()`` in a worker thread; raises TooSlowError after ``timeout`` seconds."""
    with trio.fail_after(timeout):
        try:
            return await trio.to_thread.run_sync(fn, abandon_on_cancel=True, limiter=limiter)
        except trio.Cancelled:
            abandoned.set()
            raise


async def compile_source(
    source: bytes,
    limits: Limits,
    *,
    name: str = "",
    limiter: trio.CapacityLimiter | None = None,
) -> CompiledScript:
    """Compile ``source`` in a worker thread (raises SieveCompileError, TooSlowError)."""
    return await _in_thread(
        lambda: compile_script(source, limits=limits, name=name),
        limits.max_run_seconds + GRACE,
        threading.Event(),
        limiter,
    )


async def run_script(
    interpreter: Interpreter,
    script: CompiledScript,
    message: bytes,
    envelope: Envelope,
    host: Host,
    *,
    abandoned: threading.Event | None = None,
    limiter: trio.CapacityLimiter | None = None,
) -> Outcome | None:
    """Run ``script`` in a worker thread; None when the run was abandoned (too slow).

    Args:
        interpreter: carries the limits (``max_run_seconds`` is the budget).
        script: the compiled script.
        message: the raw message.
        envelope: the Sieve envelope.
        host: answers lookups from the worker thread.
        abandoned: set when the trio side stops waiting (the host checks it).
        limiter: the worker-thread limiter (:func:`limiter_of`; None: trio's default).
    """
    flag = abandoned if abandoned is not None else threading.Event()
    try:
        outcome: Outcome = await _in_thread(
            lambda: interpreter.run(script, message, envelope, host),
            interpreter.limits.max_run_seconds + GRACE,
            flag,
            limiter,
        )
    except trio.TooSlowError:
        flag.set()
        return None
    return outcome


def runnable(script: CompiledScript, registry: Registry) -> bool:
    """Whether every command and test of ``script`` has a handler in ``registry`` (a
    cache written by an older build may name handlers that no longer exist: stale)."""
    pending = list(script.commands)
    while pending:
        node = pending.pop()
        key = node.key
        if key not in _BLOCK_KEYS and key not in registry.commands and key not in registry.tests:
            return False
        pending.extend(node.tests)
        pending.extend(node.block or ())
    return True
