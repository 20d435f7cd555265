"""The sandbox's limits and fault handling: fuel, time, memory, traps, bad returns,
bad pointers, and the ABI checks at load. Every failure is a logged "keep" (or a
tempfail when the module says so), never an exception."""

from __future__ import annotations

from pathlib import Path

import pytest
from wasm_support import IMPORT_ACTION, PRELUDE, LogCapture, wat

from kernel.pipeline import VerdictAction
from plugins.wasm.abi import EnvField, Status
from plugins.wasm.actions import AddHeader, Keep, Score
from plugins.wasm.config import ModuleSpec
from plugins.wasm.context import CallInput, MessageView
from plugins.wasm.sandbox import CallOutcome, Limits, Sandbox
from plugins.wasm.verdicts import stage_verdict


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox()


def call(
    sandbox: Sandbox,
    source: str,
    stage: str = "data",
    limits: Limits | None = None,
    message: bytes | None = b"Subject: hi\r\n\r\nbody\r\n",
    envelope: dict | None = None,
    tables: dict | None = None,
) -> CallOutcome:
    compiled = sandbox.compile_bytes(source.encode(), text=True)
    view = MessageView(message, 1000) if message is not None else None
    data = CallInput(stage, envelope or {}, view, tables or {})
    return sandbox.call(compiled, "test", stage, data, limits or Limits())


def spec(on_error: str = "keep") -> ModuleSpec:
    return ModuleSpec("test", Path("test.wat"), None, Limits(), on_error, "X-Rule-Score")


LOOP = wat('(func (export "on_data") (result i32) (loop $l (br $l)) (i32.const 0))')


def test_wasm_sandbox_infinite_loop_runs_out_of_fuel(sandbox: Sandbox, wasm_log: LogCapture):
    outcome = call(sandbox, LOOP, limits=Limits(fuel=100_000, timeout=60))
    assert outcome.error == "out-of-fuel" and outcome.actions == ()
    assert outcome.fuel_used == 100_000
    # As a verdict: no opinion (the message is kept), and a log line says why.
    assert stage_verdict("data", [(spec(), outcome)], "Q1") is None
    [failed] = wasm_log.events("wasm-call-failed")
    assert failed["error"] == "out-of-fuel" and failed["policy"] == "keep"
    assert failed["module"] == "test" and failed["queue_id"] == "Q1"


def test_wasm_sandbox_slow_call_hits_the_timeout(sandbox: Sandbox) -> None:
    outcome = call(sandbox, LOOP, limits=Limits(fuel=10**15, timeout=0.05))
    assert outcome.error == "timeout"
    assert 0.04 < outcome.seconds < 5


GROW = wat(
    """(func (export "on_data") (result i32)
         (if (i32.eq (memory.grow (i32.const 100)) (i32.const -1))
           (then (i32.store (i32.const 300000) (i32.const 1))))
         (drop (call $action (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0)
                             (i32.const 0) (i32.const 0)))
         (i32.const 0))"""
)


def test_wasm_sandbox_memory_grow_past_the_cap_fails(sandbox: Sandbox) -> None:
    capped = call(sandbox, GROW, limits=Limits(memory=4 * 65536))
    # The grow answered -1; the store past the end trapped; no action survives.
    assert capped.error == "trap" and "out of bounds" in capped.detail
    assert stage_verdict("data", [(spec(), capped)]) is None
    roomy = call(sandbox, GROW, limits=Limits(memory=128 * 65536))
    assert roomy.error is None and roomy.actions == (Keep(),)


def test_wasm_sandbox_initial_memory_above_the_cap_fails(sandbox: Sandbox) -> None:
    big = wat(
        '(func (export "on_data") (result i32) (i32.const 0))',
        prelude=PRELUDE.replace('(memory (export "memory") 1)', '(memory (export "memory") 64)'),
    )
    outcome = call(sandbox, big, limits=Limits(memory=16 * 65536))
    assert outcome.error == "instantiate" and "memory" in outcome.detail


TRAP = wat(
    """(func (export "on_data") (result i32)
         (drop (call $action (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0)
                             (i32.const 0) (i32.const 0)))
         unreachable)"""
)


def test_wasm_sandbox_trap_is_keep_by_default(sandbox: Sandbox, wasm_log: LogCapture) -> None:
    outcome = call(sandbox, TRAP)
    assert outcome.error == "trap" and "unreachable" in outcome.detail
    assert outcome.actions == ()  # actions before the trap are dropped
    assert stage_verdict("data", [(spec("keep"), outcome)]) is None
    assert wasm_log.events("wasm-call-failed")[0]["error"] == "trap"


def test_wasm_sandbox_trap_is_tempfail_when_configured(sandbox: Sandbox) -> None:
    outcome = call(sandbox, TRAP)
    verdict = stage_verdict("data", [(spec("tempfail"), outcome)])
    assert verdict is not None and verdict.action is VerdictAction.TEMPFAIL
    assert (verdict.code, verdict.status) == (451, "4.3.0")
    at_connect = stage_verdict("connect", [(spec("tempfail"), outcome)])
    assert at_connect is not None and at_connect.code == 421


def test_wasm_sandbox_bad_return_is_keep(sandbox: Sandbox) -> None:
    bad = wat(
        """(func (export "on_data") (result i32)
             (drop (call $action (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0)
                                 (i32.const 0) (i32.const 0)))
             (i32.const 7))"""
    )
    outcome = call(sandbox, bad)
    assert outcome.error == "bad-return" and "returned 7" in outcome.detail
    assert outcome.actions == ()  # the discard is not trusted
    assert stage_verdict("delivery", [(spec(), outcome)]) is None


def test_wasm_sandbox_entry_with_wrong_signature_is_refused_at_load(sandbox: Sandbox) -> None:
    bad = wat('(func (export "on_data") (param i32) (result i32) (i32.const 0))')
    with pytest.raises(ValueError, match=r"on_data must be a function \(\) -> i32"):
        call(sandbox, bad)


def test_wasm_sandbox_pointer_outside_memory_is_a_guest_fault(sandbox: Sandbox) -> None:
    bad = wat(
        """(func (export "on_data") (result i32)
             (drop (call $action (i32.const 2) (i32.const 0) (i32.const 65530) (i32.const 100)
                                 (i32.const 0) (i32.const 0)))
             (i32.const 0))"""
    )
    outcome = call(sandbox, bad)
    assert outcome.error == "guest-fault" and "outside" in outcome.detail


HEADER_IMPORTS = IMPORT_ACTION + (
    '(import "stalwart" "header" (func $header (param i32 i32 i32) (result i64)))'
)


def _alloc_prelude(alloc_body: str) -> str:
    return f"""
      (memory (export "memory") 1)
      (data (i32.const 16) "Subject")
      (func (export "abi_version") (result i32) (i32.const 1))
      (func (export "alloc") (param $n i32) (result i32) {alloc_body})
    """


SUBJECT_SCORE = """(func (export "on_data") (result i32)
     ;; score = the header getter's answer when negative, else its length
     (local $v i64)
     (local.set $v (call $header (i32.const 16) (i32.const 7) (i32.const 0)))
     (drop (call $action (i32.const 12)
                 (if (result i32) (i64.lt_s (local.get $v) (i64.const 0))
                   (then (i32.wrap_i64 (local.get $v)))
                   (else (i32.wrap_i64 (local.get $v))))
                 (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
     (i32.const 0))"""


def test_wasm_sandbox_alloc_outside_memory_is_a_guest_fault(sandbox: Sandbox) -> None:
    source = wat(SUBJECT_SCORE, imports=HEADER_IMPORTS, prelude=_alloc_prelude("(i32.const 65535)"))
    outcome = call(sandbox, source)
    assert outcome.error == "guest-fault" and "alloc" in outcome.detail


def test_wasm_sandbox_alloc_failure_answers_no_memory(sandbox: Sandbox) -> None:
    source = wat(SUBJECT_SCORE, imports=HEADER_IMPORTS, prelude=_alloc_prelude("(i32.const 0)"))
    assert call(sandbox, source).actions == (Score(Status.NO_MEMORY),)
    working = wat(SUBJECT_SCORE, imports=HEADER_IMPORTS, prelude=_alloc_prelude("(i32.const 512)"))
    assert call(sandbox, working).actions == (Score(len("hi")),)
    assert call(sandbox, working, message=None).actions == (Score(Status.ABSENT),)


def _status_of(sandbox: Sandbox, kind: int, num: int, s1: str = "", s2: str = "", **kw) -> int:
    """Call ``action`` once and report its answer as a score (the next action)."""
    source = wat(
        f"""(data (i32.const 64) "{s1}") (data (i32.const 512) "{s2}")
           (func (export "on_{kw.get("stage", "data")}") (result i32)
             (local $r i32)
             (local.set $r (call $action (i32.const {kind}) (i32.const {num})
                                 (i32.const 64) (i32.const {len(s1)})
                                 (i32.const 512) (i32.const {len(s2)})))
             (drop (call $action (i32.const 12) (local.get $r) (i32.const 0) (i32.const 0)
                                 (i32.const 0) (i32.const 0)))
             (i32.const 0))"""
    )
    outcome = call(sandbox, source, stage=kw.get("stage", "data"))
    assert outcome.error is None
    return outcome.actions[-1].points


def test_wasm_sandbox_action_arguments_are_checked(sandbox: Sandbox) -> None:
    assert _status_of(sandbox, 4, 550, "go away", "5.7.1") == Status.OK
    assert _status_of(sandbox, 4, 250, "not a refusal") == Status.INVALID
    assert _status_of(sandbox, 5, 451, "later", "5.0.0") == Status.INVALID
    assert _status_of(sandbox, 7, 0, "Bad Name", "v") == Status.INVALID
    assert _status_of(sandbox, 8, 0, "Received") == Status.INVALID  # trace fields stay
    assert _status_of(sandbox, 99, 0) == Status.INVALID
    assert _status_of(sandbox, 2, 0, "Archive", stage="data") == Status.WRONG_STAGE
    assert _status_of(sandbox, 2, 2, "Archive", "\\\\Recent", stage="delivery") == Status.INVALID
    assert _status_of(sandbox, 6, 0, "not an address", stage="delivery") == Status.INVALID


def test_wasm_sandbox_action_limit(sandbox: Sandbox) -> None:
    source = wat(
        """(data (i32.const 64) "X-A")
           (func (export "on_data") (result i32) (local $i i32) (local $r i32)
             (loop $l
               (local.set $r (call $action (i32.const 7) (i32.const 0) (i32.const 64)
                                   (i32.const 3) (i32.const 64) (i32.const 3)))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get $i) (i32.const 10))))
             (i32.ne (local.get $r) (i32.const -5)))"""
    )
    outcome = call(sandbox, source, limits=Limits(max_actions=4))
    assert outcome.error is None  # the last answer was TOO_MANY, so it returned 0
    assert outcome.actions == (AddHeader("X-A", "X-A"),) * 4


def test_wasm_sandbox_no_state_survives_between_calls(sandbox: Sandbox) -> None:
    source = wat(
        """(global $calls (mut i32) (i32.const 0))
           (func (export "on_data") (result i32)
             (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
             (drop (call $action (i32.const 12) (global.get $calls) (i32.const 0) (i32.const 0)
                                 (i32.const 0) (i32.const 0)))
             (i32.const 0))"""
    )
    assert [call(sandbox, source).actions for _ in range(3)] == [(Score(1),)] * 3


ENVELOPE = IMPORT_ACTION + (
    '(import "stalwart" "envelope" (func $envelope (param i32 i32) (result i64)))'
    '(import "stalwart" "auth_result" (func $auth (param i32 i32) (result i64)))'
)


def test_wasm_sandbox_envelope_and_auth_placeholder(sandbox: Sandbox) -> None:
    source = wat(
        """(data (i32.const 64) "dkim")
           (func $score (param $v i64)
             (drop (call $action (i32.const 12)
                   (if (result i32) (i64.lt_s (local.get $v) (i64.const 0))
                     (then (i32.wrap_i64 (local.get $v)))
                     (else (i32.wrap_i64 (local.get $v))))
                   (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))))
           (func (export "on_rcpt") (result i32)
             (call $score (call $envelope (i32.const 0) (i32.const 0)))   ;; a@b.example: 11
             (call $score (call $envelope (i32.const 1) (i32.const 1)))   ;; second rcpt: 9
             (call $score (call $envelope (i32.const 1) (i32.const 2)))   ;; none: -1
             (call $score (call $envelope (i32.const 9) (i32.const 0)))   ;; "rcpt": 4
             (call $score (call $envelope (i32.const 77) (i32.const 0)))  ;; unknown: -1
             (call $score (call $auth (i32.const 64) (i32.const 4)))      ;; placeholder: -1
             (i32.const 0))""",
        imports=ENVELOPE,
    )
    envelope = {EnvField.MAIL_FROM: "a@b.example", EnvField.RCPT_TO: ("x@y.example", "z@y.exam")}
    outcome = call(sandbox, source, stage="rcpt", message=None, envelope=envelope)
    assert [a.points for a in outcome.actions] == [11, 8, -1, 4, -1, -1]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (b"\x00asm\x01\x00\x00\x00garbage", "not a valid module"),
        (
            wat(
                '(func (export "on_data") (result i32) (i32.const 0))',
                imports='(import "wasi_snapshot_preview1" "fd_write" '
                "(func (param i32 i32 i32 i32) (result i32)))",
            ).encode(),
            "there is no WASI",
        ),
        (
            b'(module (memory (export "memory") 1) (func (export "on_data") (result i32) '
            b"(i32.const 0)))",
            "abi_version",
        ),
        (wat("").encode(), "no entry point"),
        (
            wat(
                '(func (export "on_data") (result i32) (i32.const 0))',
                imports='(import "stalwart" "from_the_future" (func (param i32)))',
            ).encode(),
            "imports stalwart.from_the_future",
        ),
        (
            wat(
                '(func (export "on_data") (result i32) (i32.const 0))',
                prelude=PRELUDE.replace("(i32.const 1))", "(i32.const 2))", 1),
            ).encode(),
            "ABI version 2",
        ),
        (
            wat(
                '(func (export "on_data") (result i32) (i32.const 0))',
                prelude=PRELUDE.replace('(export "memory")', ""),
            ).encode(),
            "no memory",
        ),
    ],
    ids=["garbage", "wasi", "no-version", "no-entry", "unknown-import", "version-2", "no-memory"],
)
def test_wasm_sandbox_load_checks_the_abi(sandbox: Sandbox, source: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sandbox.compile_bytes(source, text=source.startswith(b"(module"))


def test_wasm_sandbox_guest_log_is_capped(sandbox: Sandbox, wasm_log: LogCapture) -> None:
    source = wat(
        """(data (i32.const 64) "hello from the rule")
           (func (export "on_data") (result i32) (local $i i32)
             (loop $l
               (call $log (i32.const 2) (i32.const 64) (i32.const 19))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
             (i32.const 0))""",
        imports='(import "stalwart" "log" (func $log (param i32 i32 i32)))',
    )
    assert call(sandbox, source).error is None
    lines = wasm_log.events("wasm-guest-log")
    assert len(lines) == 20
    assert lines[0]["text"] == "hello from the rule" and lines[0]["module"] == "test"
    levels = {level for level, event, _ in wasm_log.records if event == "wasm-guest-log"}
    assert levels == {"warning"}
