"""Sieve benchmark: scripts compiled per second and messages filtered per second.

The script has ``--rules`` rules (default 50) of the kinds users write: header
and address tests with ``:contains``/``:is``/``:matches``, a body test, a size
test, ``fileinto`` with ``:flags``, ``addflag``; none of them matches the
message except the last, so every test runs each time. It reports:

* **compile**: ``compile_script`` of the source, as at a ManageSieve PUTSCRIPT
  (parse, validate, build the compiled form) and its JSON serialisation;
* **load**: ``CompiledScript.from_json`` of the stored form, as delivery does
  when it reads the compiled cache;
* **filter**: ``Interpreter.run`` of the compiled script against a ~4 KB
  message with a fresh parse of the message each time (as at delivery).

In-process and single-threaded: the interpreter is sans-IO, so this is its
cost alone; delivery adds a store read and a thread hop (see docs/sieve.md).

Usage: ``python tests/bench/bench_sieve.py [--rules 50] [--seconds 5]``. It
reports numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

from plugins.sieve import (
    CompiledScript,
    Envelope,
    Interpreter,
    StaticHost,
    compile_script,
)

HEADER = (
    'require ["fileinto", "imap4flags", "body", "relational", "comparator-i;ascii-numeric",'
    ' "variables", "envelope"];\n'
)
MESSAGE = (
    b"From: Newsletter <news@lists.example.com>\r\nTo: ann@example.org\r\n"
    b"Subject: Weekly digest number 42\r\nList-Id: <weekly.lists.example.com>\r\n"
    b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <digest-42@example.com>\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    + b"This week's news in brief: nothing happened, at length.\r\n"
    * 70
)


def script(rules: int) -> str:
    kinds = [
        'if header :contains "subject" "invoice {n}" {{ fileinto "Bills/{n}"; stop; }}',
        'if address :is :domain "from" "vendor{n}.example" '
        '{{ fileinto :flags "\\\\Seen" "V{n}"; }}',
        'if header :matches "list-id" "*project-{n}.example.org*" {{ fileinto "Lists/{n}"; }}',
        'if body :text :contains "unsubscribe-code-{n}" {{ addflag "$promo{n}"; }}',
        'if size :over {big}K {{ fileinto "Large"; }}',
        'if envelope :is "from" "bounce{n}@example.net" {{ discard; stop; }}',
        'if header :value "gt" :comparator "i;ascii-numeric" "x-priority" "{n}" {{ keep; }}',
    ]
    lines = [HEADER]
    for n in range(rules - 1):
        lines.append(kinds[n % len(kinds)].format(n=n, big=10_000 + n) + "\n")
    lines.append('if header :contains "list-id" "weekly" { fileinto "Newsletters"; }\n')
    return "".join(lines)


def measure(fn: Callable[[], object], seconds: float) -> list[float]:
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(samples) < 10:
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return samples


def report(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    rate = len(samples) / sum(samples)
    print(f"  {name:<10} {rate:>9.0f}/s   p50 {p50:7.3f} ms   p99 {p99:7.3f} ms", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    source = script(args.rules)
    compiled = compile_script(source)
    stored = compiled.to_json()
    interpreter = Interpreter()
    host = StaticHost()
    envelope = Envelope("news@lists.example.com", "ann@example.org")
    outcome = interpreter.run(compiled, MESSAGE, envelope, host)
    assert outcome.error is None, outcome.error
    print(
        f"{args.rules}-rule script ({len(source.encode())} bytes), "
        f"{len(MESSAGE)}-byte message; actions: {[type(a).__name__ for a in outcome.actions]}"
    )
    report("compile", measure(lambda: compile_script(source).to_json(), args.seconds))
    report("load", measure(lambda: CompiledScript.from_json(stored), args.seconds))
    report(
        "filter",
        measure(lambda: interpreter.run(compiled, MESSAGE, envelope, host), args.seconds),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
