"""Run one Pigeonhole ``.svtest`` file and report the outcome of each ``test`` block.

Implementation notes:

- A file runs once, top to bottom, as one script (README §3); blocks share all state.
  The blocks are listed statically first (top-level ``test`` commands; blocks under
  ``if false`` are dead and not listed), then matched by line with what ran.
- A file that does not compile fails every block. A run-time error fails the block it
  happened in, and blocks after it never ran (they fail as "not reached"). After
  ``stop`` the remaining blocks are reported as skipped ("not reached").
- Expect-failure mode (README §3, the ``failures/`` files): the file passes when the
  failures (a compile failure or an abort counting as one) are at least the blocks
  started; every block then reports the file's result.
- ``skip_blocks`` maps block names to a skip reason; those blocks do not run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import final

from plugins.sieve.compiler import compile_script
from plugins.sieve.errors import SieveCompileError, SieveError
from plugins.sieve.interpreter import Interpreter
from plugins.sieve.limits import Limits
from plugins.sieve.parser import StringArg, parse
from plugins.sieve.registry import default_registry
from plugins.sieve.testsuite.commands import TESTSUITE, BlockOutcome, TestFailed
from plugins.sieve.testsuite.state import SuiteHost, SuiteState

__all__ = ["FileReport", "list_blocks", "run_file"]


@final
@dataclass
class FileReport:
    """The outcome of every listed block of one file."""

    path: Path
    blocks: list[BlockOutcome] = field(default_factory=list)
    error: str = ""


def list_blocks(source: bytes) -> list[tuple[str, int]]:
    """The live top-level ``test`` blocks of a file: (name, line)."""
    try:
        commands = parse(source)
    except SieveError:
        return []
    found = []
    for command in commands:
        if command.name == "test" and command.arguments:
            argument = command.arguments[0]
            name = argument.value if isinstance(argument, StringArg) else ""
            found.append((name, command.line))
    return found


def run_file(
    path: Path,
    *,
    expect_failure: bool = False,
    portable_checks: bool = False,
    skip_blocks: dict[str, str] | None = None,
    limits: Limits | None = None,
) -> FileReport:
    """Run ``path`` and report each block.

    Args:
        path: the ``.svtest`` file.
        expect_failure: run in expect-failure mode (README §3).
        portable_checks: mirror only the portable part of ``test_error`` checks.
        skip_blocks: block name to skip reason.
        limits: interpreter limits (default :class:`Limits`).
    """
    source = path.read_bytes()
    listed = list_blocks(source)
    report = FileReport(path)
    registry = default_registry().with_extensions(TESTSUITE)
    interpreter = Interpreter(registry, limits=limits or Limits())
    state = SuiteState(path, interpreter)
    state.portable_checks = portable_checks
    state.skip_blocks = dict(skip_blocks or {})
    host = SuiteHost(state)
    aborted = ""
    stopped = False
    try:
        script = compile_script(source, registry=registry, name=path.name, resolver=host.include)
    except SieveCompileError as error:
        script = None
        aborted = f"test file does not compile: {error}"
    if script is not None:
        try:
            outcome = interpreter.run(
                script, state.result.message, state.envelope, host, result=state.result
            )
        except TestFailed as failure:
            aborted = f"test_fail outside a block: {failure}"
        else:
            if outcome.error is not None:
                aborted = f"run-time error: {outcome.error}"
            else:
                stopped = len(state.blocks) < len(listed)
    report.error = aborted
    ran = {block.line: block for block in state.blocks}
    for name, line in listed:
        block = ran.get(line)
        if block is None:
            if stopped and not aborted:
                block = BlockOutcome(name, line, "skipped", "not reached: the script stopped")
            else:
                block = BlockOutcome(name, line, "failed", f"not reached: {aborted}")
        report.blocks.append(block)
    if expect_failure:
        failures = sum(1 for b in state.blocks if b.status == "failed") + bool(aborted)
        passed = failures >= max(len(state.blocks), 1)
        for block in report.blocks:
            block.status = "passed" if passed else "failed"
            block.reason = "" if passed else f"expected failures; got {failures}"
    return report
