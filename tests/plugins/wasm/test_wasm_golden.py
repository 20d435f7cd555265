"""Golden tests of the example rules: ``wasm-filters/tests/<case>.eml`` in, the actions
of ``<case>.expected.yaml`` out, for the WAT module and the C-built module alike."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from wasm_support import EXAMPLE_NAMES, EXAMPLES, GOLDEN

from kernel.rules import RuleEnvelope
from plugins.wasm.engine import rule_engine

CASES = sorted(path.name.removesuffix(".expected.yaml") for path in GOLDEN.glob("*.yaml"))


def _expected(case: str) -> dict:
    return yaml.safe_load((GOLDEN / f"{case}.expected.yaml").read_text(encoding="utf-8"))


def _run(module: Path, case: str) -> list[str]:
    expected = _expected(case)
    engine = rule_engine(expected.get("tables"))
    envelope = RuleEnvelope(expected["envelope"]["from"], expected["envelope"]["to"])
    message = (GOLDEN / f"{case}.eml").read_bytes()
    return engine.run(engine.load(module), message, envelope)


def test_wasm_golden_every_example_has_cases() -> None:
    rules = {_expected(case)["rule"] for case in CASES}
    assert rules == set(EXAMPLE_NAMES)
    for name in EXAMPLE_NAMES:
        assert (EXAMPLES / f"{name}.wat").is_file() and (EXAMPLES / f"{name}.c").is_file()
    assert all((GOLDEN / f"{case}.eml").is_file() for case in CASES)


@pytest.mark.parametrize("case", CASES)
def test_wasm_golden_wat(case: str) -> None:
    module = EXAMPLES / f"{_expected(case)['rule']}.wat"
    assert _run(module, case) == _expected(case)["actions"]


@pytest.mark.parametrize("case", CASES)
def test_wasm_golden_c(case: str, c_modules: Path) -> None:
    module = c_modules / f"{_expected(case)['rule']}.wasm"
    assert _run(module, case) == _expected(case)["actions"]
