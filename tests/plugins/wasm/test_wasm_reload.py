"""The module registry: compile once, recompile when the file changes, keep the last
good module when a new version is broken."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from wasm_support import LogCapture, wat

from plugins.wasm.actions import Score
from plugins.wasm.config import ModuleSpec
from plugins.wasm.context import CallInput
from plugins.wasm.registry import ModuleRegistry
from plugins.wasm.sandbox import Limits


def scoring(points: int) -> str:
    return wat(
        f"""(func (export "on_connect") (result i32)
             (drop (call $action (i32.const 12) (i32.const {points}) (i32.const 0)
                                 (i32.const 0) (i32.const 0) (i32.const 0)))
             (i32.const 0))"""
    )


def run(registry: ModuleRegistry, path: Path) -> tuple:
    spec = ModuleSpec("r", path, None, Limits(), "keep", "X-Rule-Score")
    [(_spec, outcome)] = registry.run_stage([spec], "connect", CallInput("connect", {}))
    return outcome.error or outcome.actions


def test_wasm_reload_compiles_once_and_recompiles_on_change(tmp_path: Path) -> None:
    path = tmp_path / "rule.wat"
    path.write_text(scoring(1))
    registry = ModuleRegistry()
    assert run(registry, path) == (Score(1),)
    assert run(registry, path) == (Score(1),)
    assert registry.compiles == 1
    # Atomic replacement (a new inode) is picked up by the next call.
    (tmp_path / "rule.tmp").write_text(scoring(2))
    os.replace(tmp_path / "rule.tmp", path)
    assert run(registry, path) == (Score(2),)
    # So is a rewrite in place that changes the size.
    path.write_text(scoring(300))
    assert run(registry, path) == (Score(300),)
    assert registry.compiles == 3


def test_wasm_reload_broken_update_keeps_last_good(tmp_path: Path, wasm_log: LogCapture) -> None:
    path = tmp_path / "rule.wat"
    path.write_text(scoring(1))
    registry = ModuleRegistry()
    assert run(registry, path) == (Score(1),)
    path.write_text("(module (this is not wat")
    assert run(registry, path) == (Score(1),)
    assert run(registry, path) == (Score(1),)
    [invalid] = wasm_log.events("wasm-module-invalid")  # logged once per file version
    assert "not a valid module" in invalid["error"]
    path.write_text(scoring(7))
    assert run(registry, path) == (Score(7),)


def test_wasm_reload_missing_or_invalid_module_is_a_load_error(tmp_path: Path) -> None:
    registry = ModuleRegistry()
    assert run(registry, tmp_path / "missing.wasm") == "load"
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"not wasm")
    assert run(registry, bad) == "load"
    with pytest.raises(ValueError, match="not a valid module"):
        registry.get(bad)


def test_wasm_reload_stage_named_but_not_exported_is_a_load_error(tmp_path: Path) -> None:
    path = tmp_path / "rule.wat"
    path.write_text(scoring(1))
    registry = ModuleRegistry()
    spec = ModuleSpec("r", path, ("rcpt",), Limits(), "keep", "X-Rule-Score")
    [(_spec, outcome)] = registry.run_stage([spec], "rcpt", CallInput("rcpt", {}))
    assert outcome.error == "load" and "no on_rcpt" in outcome.detail
    unnamed = ModuleSpec("r", path, None, Limits(), "keep", "X-Rule-Score")
    assert registry.run_stage([unnamed], "rcpt", CallInput("rcpt", {})) == []
    assert registry.cached_stages(path) == ("connect",)
