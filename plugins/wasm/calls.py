"""The host functions a guest imports (``stalwart.*``), and the state of one call.

Each import checks its arguments against the guest's memory, answers from the
:class:`~plugins.wasm.context.CallInput`, and records accepted actions on the
:class:`CallState`. Strings given to the guest go into memory the guest's ``alloc``
export hands out; getters answer ``(ptr << 32) | len`` as an i64, or a negative
:class:`~plugins.wasm.abi.Status`.

Implementation notes:

* A pointer/length pair outside the guest's memory is a :class:`GuestFault`: it
  aborts the call (wasmtime carries the exception out of the guest), and the
  module's ``on_error`` policy applies. Wrong values that are not memory errors
  (an unknown action kind, a 3xx reject code, a bad flag) answer ``INVALID`` so a
  guest can recover.
* The call's state reaches the functions through a thread-local, set for the
  duration of one call in one worker thread; the linker is built once per engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import wasmtime

from kernel.pipeline import Filing, Verdict
from kernel.store.keywords import flag_to_keyword
from kernel.telemetry import get_logger
from plugins.wasm.abi import ALLOC_EXPORT, IMPORT_MODULE, MEMORY_EXPORT, ActionKind, Status
from plugins.wasm.actions import (
    STAGE_ACTIONS,
    Action,
    AddFlags,
    AddHeader,
    DeleteHeader,
    Discard,
    FileInto,
    Keep,
    Redirect,
    Reject,
    RemoveFlags,
    Score,
    SetFlags,
    Tempfail,
)
from plugins.wasm.context import CallInput

__all__ = ["CallState", "GuestFault", "build_linker", "current"]

MAX_STRING = 65536  # longest string a guest may hand the host
MAX_LOG_LINES = 20  # log lines one call may write; more are dropped
_LOG_LEVELS = {0: "debug", 1: "info", 2: "warning", 3: "error"}
_log = get_logger("wasm")
_local = threading.local()


class GuestFault(Exception):
    """The guest broke the ABI (bad memory access, a bad allocation); the call fails."""


@dataclass
class CallState:
    """One module call: its input, limits and the actions accepted so far."""

    input: CallInput
    module: str
    max_actions: int
    actions: list[Action] = field(default_factory=list)
    #: The instance's memory and alloc export, looked up once per call.
    memory: wasmtime.Memory | None = None
    alloc: wasmtime.Func | None = None
    log_lines: int = 0


def current() -> CallState:
    """The state of the call running on this thread."""
    state: CallState | None = getattr(_local, "state", None)
    if state is None:
        raise GuestFault("a host function was called outside a rule call")
    return state


def bind(state: CallState | None) -> None:
    """Make ``state`` this thread's current call (None: no call)."""
    _local.state = state


# ---- guest memory ----------------------------------------------------------


def _memory(caller: wasmtime.Caller) -> wasmtime.Memory:
    state = current()
    if state.memory is None:
        memory = caller.get(MEMORY_EXPORT)
        if not isinstance(memory, wasmtime.Memory):
            raise GuestFault("the module exports no memory")
        state.memory = memory
    return state.memory


def _alloc(caller: wasmtime.Caller) -> wasmtime.Func:
    state = current()
    if state.alloc is None:
        alloc = caller.get(ALLOC_EXPORT)
        if not isinstance(alloc, wasmtime.Func):
            raise GuestFault(f"the module exports no {ALLOC_EXPORT} function")
        state.alloc = alloc
    return state.alloc


def read_bytes(caller: wasmtime.Caller, ptr: int, length: int) -> bytes:
    """The ``length`` bytes at ``ptr`` (GuestFault outside memory or too long)."""
    if length == 0:
        return b""
    memory = _memory(caller)
    if ptr < 0 or length < 0 or length > MAX_STRING or ptr + length > memory.data_len(caller):
        raise GuestFault(f"string at {ptr}+{length} is outside the module's memory")
    return bytes(memory.read(caller, ptr, ptr + length))


def read_string(caller: wasmtime.Caller, ptr: int, length: int) -> str:
    """The UTF-8 string at ``ptr`` (GuestFault outside memory, ValueError if not UTF-8)."""
    return read_bytes(caller, ptr, length).decode("utf-8")


def give_string(caller: wasmtime.Caller, value: str | None) -> int:
    """Copy ``value`` into guest memory from ``alloc``; the packed i64 answer."""
    if value is None:
        return Status.ABSENT
    data = value.encode("utf-8")
    if not data:
        return 0
    ptr = _alloc(caller)(caller, len(data))
    memory = _memory(caller)
    if not isinstance(ptr, int) or ptr <= 0:
        return Status.NO_MEMORY
    if ptr + len(data) > memory.data_len(caller):
        raise GuestFault(f"{ALLOC_EXPORT} returned {ptr}, outside the module's memory")
    memory.write(caller, data, ptr)
    return (ptr << 32) | len(data)


# ---- the imports -----------------------------------------------------------


def _envelope(caller: wasmtime.Caller, which: int, index: int) -> int:
    return give_string(caller, current().input.envelope_field(which, index))


def _header(caller: wasmtime.Caller, name_ptr: int, name_len: int, index: int) -> int:
    message = current().input.message
    name = _text_arg(caller, name_ptr, name_len)
    if message is None or name is None:
        return Status.ABSENT if name is not None else Status.INVALID
    return give_string(caller, message.header(name, index))


def _header_count(caller: wasmtime.Caller, name_ptr: int, name_len: int) -> int:
    message = current().input.message
    name = _text_arg(caller, name_ptr, name_len)
    if name is None:
        return Status.INVALID
    return 0 if message is None else message.header_count(name)


def _part_count(caller: wasmtime.Caller) -> int:
    message = current().input.message
    return 0 if message is None else len(message.parts)


def _part(caller: wasmtime.Caller, index: int, which: int) -> int:
    message = current().input.message
    return give_string(caller, None if message is None else message.part_field(index, which))


def _part_text(caller: wasmtime.Caller, index: int) -> int:
    message = current().input.message
    return give_string(caller, None if message is None else message.part_text(index))


def _auth_result(caller: wasmtime.Caller, method_ptr: int, method_len: int) -> int:
    method = _text_arg(caller, method_ptr, method_len)
    if method is None:
        return Status.INVALID
    return give_string(caller, current().input.auth_results.get(method.lower()))


def _lookup(caller: wasmtime.Caller, tp: int, tl: int, kp: int, kl: int) -> int:
    table, key = _text_arg(caller, tp, tl), _text_arg(caller, kp, kl)
    if table is None or key is None:
        return Status.INVALID
    return give_string(caller, current().input.lookup(table, key))


def _log_message(caller: wasmtime.Caller, level: int, ptr: int, length: int) -> None:
    state = current()
    text = read_bytes(caller, ptr, length).decode("utf-8", "replace")[:1000]
    state.log_lines += 1
    if state.log_lines > MAX_LOG_LINES:
        return  # a chatty module must not flood the log
    method = getattr(_log, _LOG_LEVELS.get(level, "info"))
    method("wasm-guest-log", module=state.module, stage=state.input.stage, text=text)


def _text_arg(caller: wasmtime.Caller, ptr: int, length: int) -> str | None:
    """A string argument, None if it is not UTF-8 (a fault if outside memory)."""
    try:
        return read_string(caller, ptr, length)
    except UnicodeDecodeError:
        return None


def _keywords(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(flag_to_keyword(flag) for flag in text.split()))


def _action(
    caller: wasmtime.Caller, kind: int, num: int, p1: int, l1: int, p2: int, l2: int
) -> int:
    state = current()
    s1 = _text_arg(caller, p1, l1) if l1 else ""
    s2 = _text_arg(caller, p2, l2) if l2 else ""
    if s1 is None or s2 is None or kind not in ActionKind.__members__.values():
        return Status.INVALID
    if ActionKind(kind) not in STAGE_ACTIONS[state.input.stage]:
        return Status.WRONG_STAGE
    if len(state.actions) >= state.max_actions:
        return Status.TOO_MANY
    try:
        action = _make_action(ActionKind(kind), num, s1, s2)
    except ValueError:
        return Status.INVALID
    state.actions.append(action)
    return Status.OK


def _make_action(kind: ActionKind, num: int, s1: str, s2: str) -> Action:
    """The record for one ``action`` call; ValueError for bad arguments.

    The checks are those of the verdicts the action becomes (reply codes, header
    names, keywords), run here so that the guest learns of a bad value at once.
    """
    if kind is ActionKind.KEEP:
        return Keep()
    if kind is ActionKind.FILEINTO:
        if not s1:
            raise ValueError("fileinto needs a mailbox")
        flags = _keywords(s2) if num & 2 else None
        Filing(s1, flags or ())
        return FileInto(s1, bool(num & 1), flags)
    if kind is ActionKind.DISCARD:
        return Discard()
    if kind in (ActionKind.REJECT, ActionKind.TEMPFAIL):
        refuse = kind is ActionKind.REJECT
        code = num or (550 if refuse else 451)
        status = s2 or ("5.7.1" if refuse else "4.7.1")
        text = s1 or ("rejected by rule" if refuse else "deferred by rule")
        (Verdict.reject if refuse else Verdict.tempfail)(text, code=code, status=status)
        return (Reject if refuse else Tempfail)(code, status, text)
    if kind is ActionKind.REDIRECT:
        if "@" not in s1 or any(c in s1 for c in "\r\n <>"):
            raise ValueError("redirect needs an address")
        return Redirect(s1, bool(num & 1))
    if kind is ActionKind.ADD_HEADER:
        Verdict.accept(add_headers=((s1, s2),))
        return AddHeader(s1, s2)
    if kind is ActionKind.DELETE_HEADER:
        Verdict.accept(remove_headers=(s1,))
        return DeleteHeader(s1)
    if kind is ActionKind.SCORE:
        return Score(num)
    flags = _keywords(s1)
    Filing(None, flags)
    return {ActionKind.SET_FLAGS: SetFlags, ActionKind.ADD_FLAGS: AddFlags}.get(kind, RemoveFlags)(
        flags
    )


_I32, _I64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
#: name -> (params, results, function); the ABI.md import table.
IMPORTS: dict[str, tuple[list[Any], list[Any], Callable[..., Any]]] = {
    "envelope": ([_I32, _I32], [_I64], _envelope),
    "header": ([_I32, _I32, _I32], [_I64], _header),
    "header_count": ([_I32, _I32], [_I32], _header_count),
    "part_count": ([], [_I32], _part_count),
    "part": ([_I32, _I32], [_I64], _part),
    "part_text": ([_I32], [_I64], _part_text),
    "auth_result": ([_I32, _I32], [_I64], _auth_result),
    "lookup": ([_I32, _I32, _I32, _I32], [_I64], _lookup),
    "log": ([_I32, _I32, _I32], [], _log_message),
    "action": ([_I32] * 6, [_I32], _action),
}


def build_linker(engine: wasmtime.Engine) -> wasmtime.Linker:
    """A linker defining every import of the ABI, and nothing else (no WASI)."""
    linker = wasmtime.Linker(engine)
    for name, (params, results, fn) in IMPORTS.items():
        linker.define_func(
            IMPORT_MODULE, name, wasmtime.FuncType(params, results), fn, access_caller=True
        )
    return linker
