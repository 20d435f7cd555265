"""WASM rules benchmark: calls per second and per-message overhead of the example rules.

In-process, no server: for each example rule (the WAT module, and the C-built one
when ``make -C wasm-filters`` can run) it measures

* **calls/s**: :meth:`Sandbox.call` in a loop on one prepared input (a fresh
  store and instance per call, as in production; the message is parsed once);
* **per message**: what one message costs the pipeline for that rule: a new
  :class:`CallInput` (the message parsed again), the registry's stat check, the
  call and the verdict, and the same through ``trio.to_thread.run_sync`` (the
  thread hop every stage pays);

plus a baseline: an empty module (instantiate + call, no host imports).

Each figure is the best of three rounds (the machine may be shared). Usage:
``python tests/bench/bench_wasm.py [--seconds 1.0]``. It prints numbers and asserts
nothing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from plugins.wasm.abi import EnvField  # noqa: E402
from plugins.wasm.config import ModuleSpec  # noqa: E402
from plugins.wasm.context import CallInput, MessageView, build_tables  # noqa: E402
from plugins.wasm.registry import ModuleRegistry  # noqa: E402
from plugins.wasm.sandbox import Limits  # noqa: E402
from plugins.wasm.verdicts import stage_verdict  # noqa: E402

FILTERS = ROOT / "wasm-filters"
GOLDEN = FILTERS / "tests"
CASES = {  # rule -> (stage, golden message)
    "block_senders": ("rcpt", "block_senders_blocked"),
    "list_folder": ("delivery", "list_folder_known"),
    "body_score": ("data", "body_score_spammy"),
    "block_executables": ("data", "block_executables_exe"),
}
TABLES = build_tables(
    {
        "blocked_domains": [f"spam{i}.example" for i in range(10_000)] + ["spam.example"],
        "list_folders": {"python-list.python.org": "Lists/Python"},
    }
)
EMPTY = """(module (memory (export "memory") 1)
  (func (export "abi_version") (result i32) (i32.const 1))
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "on_data") (result i32) (i32.const 0)))"""


def rate(fn: Callable[[], object], seconds: float, rounds: int = 3) -> tuple[float, float]:
    """(calls per second, microseconds per call) of ``fn``: the best of ``rounds``
    rounds of ``seconds / rounds`` each (the machine may be shared)."""
    fn()  # warm up
    best = float("inf")
    for _ in range(rounds):
        count, started = 0, time.perf_counter()
        deadline = started + seconds / rounds
        while True:
            for _ in range(20):
                fn()
            count += 20
            now = time.perf_counter()
            if now >= deadline:
                break
        best = min(best, (now - started) / count)
    return 1 / best, best * 1e6


def make_input(stage: str, message: bytes) -> CallInput:
    envelope = {
        EnvField.MAIL_FROM: "promo@mail.spam.example",
        EnvField.RCPT_TO: ("ann@example.org",),
        EnvField.ACCOUNT: "ann@example.org",
        EnvField.MAILBOX: "INBOX",
    }
    view = MessageView(message, 1 << 20) if stage in ("data", "delivery") else None
    return CallInput(stage, envelope, view, TABLES)


def build_c(build: Path) -> Path | None:
    if shutil.which("clang") is None or shutil.which("wasm-ld") is None:
        return None
    result = subprocess.run(
        ["make", "-s", "-C", str(FILTERS), f"BUILD={build}"], capture_output=True, text=True
    )
    return build if result.returncode == 0 else None


def bench_module(registry: ModuleRegistry, name: str, path: Path, seconds: float) -> None:
    stage, case = CASES[name]
    message = (GOLDEN / f"{case}.eml").read_bytes()
    compiled = registry.get(path)
    spec = ModuleSpec(name, path, None, Limits(), "keep", "X-Rule-Score")
    prepared = make_input(stage, message)
    probe = registry.sandbox.call(compiled, name, stage, prepared, Limits())
    calls, per_call = rate(
        lambda: registry.sandbox.call(compiled, name, stage, prepared, Limits()), seconds
    )

    def one_message() -> object:
        return stage_verdict(stage, registry.run_stage([spec], stage, make_input(stage, message)))

    _, per_message = rate(one_message, seconds)

    async def threaded() -> float:
        limiter = trio.CapacityLimiter(4)
        best = float("inf")
        for _ in range(3):
            count, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds / 3:
                await trio.to_thread.run_sync(one_message, limiter=limiter)
                count += 1
            best = min(best, (time.perf_counter() - started) / count)
        return best * 1e6

    per_threaded = trio.run(threaded)
    print(
        f"{name + path.suffix:<24} {stage:<9} {calls:>9.0f} {per_call:>9.1f} "
        f"{per_message:>10.1f} {per_threaded:>10.1f} {probe.fuel_used:>8}  "
        f"{'; '.join(a.line() for a in probe.actions) or '-'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args()
    registry = ModuleRegistry()
    with tempfile.TemporaryDirectory() as scratch:
        empty = Path(scratch) / "empty.wat"
        empty.write_text(EMPTY)
        compiled = registry.get(empty)
        data = make_input("data", b"Subject: x\r\n\r\n")
        calls, per_call = rate(
            lambda: registry.sandbox.call(compiled, "empty", "data", data, Limits()), args.seconds
        )
        print(f"baseline: empty module {calls:.0f} calls/s, {per_call:.1f} us/call")
        c_build = build_c(Path(scratch) / "build")
        print(
            f"{'rule':<24} {'stage':<9} {'calls/s':>9} {'us/call':>9} "
            f"{'us/msg':>10} {'us/msg+thr':>10} {'fuel':>8}  actions"
        )
        for name in CASES:
            bench_module(registry, name, FILTERS / "examples" / f"{name}.wat", args.seconds)
            if c_build is not None:
                bench_module(registry, name, c_build / f"{name}.wasm", args.seconds)
        if c_build is None:
            print("(C examples skipped: clang or wasm-ld not installed)")


if __name__ == "__main__":
    main()
