"""Testsuite commands that compile and run scripts and inspect results (README §4.4-§4.9,
§4.14, §4.15).

Implementation notes:

- In files whose checks on Pigeonhole's error counts and wording cannot be mirrored
  (TSV flags ``error-count``/``error-text``), ``test_error`` runs in *portable* mode: a
  check that holds passes; a count check that fails only because the number differs
  (errors were reported when Pigeonhole reports some, none when it reports none) and any
  check of the wording end the block as skipped, with the reason; a count check that
  fails on whether errors happened at all still fails the block.
- ``test_binary_save``/``test_binary_load`` round-trip the compiled form through JSON.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, cast

from plugins.sieve.actions import Keep
from plugins.sieve.compiled import CompiledScript, Node
from plugins.sieve.compiler import compile_script
from plugins.sieve.errors import SieveCompileError
from plugins.sieve.testsuite.executor import execute_result
from plugins.sieve.testsuite.outcomes import CAPABILITY, CheckSkipped, state_of, sync
from plugins.sieve.testsuite.state import SuiteHost, SuiteState

if TYPE_CHECKING:
    from plugins.sieve.interpreter import Run

__all__ = ["COMMANDS", "TESTS"]

_RELATIONS = {
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
}


def _compile(state: SuiteState, run: Run, path: str) -> CompiledScript | None:
    state.errors.clear()
    host = cast(SuiteHost, run.host)
    try:
        source = (state.test_dir / path).read_bytes()
    except OSError as error:
        state.errors.append(f"cannot read script '{path}': {error}")
        return None
    try:
        return compile_script(
            source,
            registry=run.registry,
            limits=run.limits,
            name=path,
            resolver=host.include,
        )
    except SieveCompileError as error:
        state.errors.extend(str(d) for d in error.diagnostics)
        return None


def _test_script_compile(run: Run, node: Node) -> bool:
    state = state_of(run)
    compiled = _compile(state, run, run.string(node.args[0]))
    if compiled is None:
        return False
    state.compiled = compiled
    return True


def _run_sub(run: Run, state: SuiteState, script: CompiledScript) -> bool:
    state.result.begin_run()
    outcome = run.interpreter.run(
        script, state.result.message, state.envelope, run.host, result=state.result
    )
    sync(run, state)
    state.errors.extend(outcome.log)
    if outcome.error is not None:
        state.errors.append(str(outcome.error))
        state.run_failed = True
        return CAPABILITY in script.requires
    return True


def _test_script_run(run: Run, node: Node) -> bool:
    state = state_of(run)
    state.errors.clear()
    if state.compiled is None:
        state.errors.append("no script compiled")
        return False
    if not node.has("append_result"):
        state.reset_result(keep_queue=True)
        sync(run, state)
    return _run_sub(run, state, state.compiled)


def _test_multiscript(run: Run, node: Node) -> bool:
    state = state_of(run)
    state.errors.clear()
    scripts = []
    for path in run.strings(node.args[0]):
        compiled = _compile(state, run, path)
        if compiled is None:
            return False
        scripts.append(compiled)
    state.reset_result(keep_queue=True)
    sync(run, state)
    ok = True
    for script in scripts:
        before = len(state.result.actions)
        ok = _run_sub(run, state, script) and ok
        new = state.result.actions[before:]
        if not ok or not (state.result.implicit_keep or any(isinstance(a, Keep) for a in new)):
            break
        state.result.implicit_keep = True
    ok = execute_result(state) and ok
    return ok


def _test_result_execute(run: Run, node: Node) -> bool:
    state = state_of(run)
    state.errors.clear()
    return execute_result(state)


def _test_result_reset(run: Run, node: Node) -> None:
    state = state_of(run)
    state.reset_result()
    sync(run, state)


def _pick(values: list[str], node: Node) -> list[str]:
    index = node.tag("index")
    if isinstance(index, int) and not isinstance(index, bool):
        return [values[index - 1]] if 0 < index <= len(values) else []
    return values


def _test_result_action(run: Run, node: Node) -> bool:
    names = [action.name for action in state_of(run).result.actions]
    return run.match(node, _pick(names, node), run.strings(node.args[0]), "i;octet")


def _pigeonhole_count(node: Node, keys: list[str]) -> tuple[bool, bool] | None:
    """How Pigeonhole's own count fares in this check: ``(check holds, count > 0)``.

    The suite passes under Pigeonhole, so a positive check (``eq``, ``gt``, ...) holds
    for Pigeonhole's count and a ``ne`` check (used as ``if test_error :count "ne"``)
    does not.
    """
    relation = str(node.tag("count")).lower()
    expected = [int(k) for k in keys if k.isdigit()]
    if relation not in _RELATIONS or not expected:
        return None
    wanted = expected[0]
    positive = wanted > 0 or relation in ("gt", "ne")
    if relation in ("lt", "le"):
        positive = True
    return relation != "ne", positive


def _test_error(run: Run, node: Node) -> bool:
    state = state_of(run)
    keys = run.strings(node.args[0])
    values = _pick(list(state.errors), node)
    held = run.match(node, values, keys, "i;octet")
    if not state.portable_checks:
        return held
    if node.has("count"):
        reference = _pigeonhole_count(node, keys)
        if reference is None or held == reference[0]:
            return held
        if (len(state.errors) > 0) == reference[1]:
            raise CheckSkipped(
                f"error-count: Pigeonhole reports a count {node.tag('count')} {keys[0]}; "
                f"this implementation reported {len(state.errors)}"
            )
        return held
    if held:
        return held
    raise CheckSkipped("error-text: the check reads Pigeonhole's wording of an error")


def _test_binary_save(run: Run, node: Node) -> None:
    state = state_of(run)
    if state.compiled is None:
        raise run.error(node, "no compiled script to save")
    state.binaries[run.string(node.args[0])] = json.dumps(state.compiled.to_json())


def _test_binary_load(run: Run, node: Node) -> None:
    state = state_of(run)
    stored = state.binaries.get(run.string(node.args[0]))
    if stored is None:
        raise run.error(node, "no such saved script")
    state.compiled = CompiledScript.from_json(json.loads(stored))


COMMANDS = {
    "test_result_reset": _test_result_reset,
    "test_binary_save": _test_binary_save,
    "test_binary_load": _test_binary_load,
}
TESTS = {
    "test_script_compile": _test_script_compile,
    "test_script_run": _test_script_run,
    "test_multiscript": _test_multiscript,
    "test_result_execute": _test_result_execute,
    "test_result_action": _test_result_action,
    "test_error": _test_error,
}
