"""The serving process freezes what start-up allocated (kernel.lifecycle.freeze_startup_objects)."""

from __future__ import annotations

import argparse
import gc
from pathlib import Path

import pytest

from kernel import cli
from kernel.lifecycle import Kernel, freeze_startup_objects


def test_freeze_moves_tracked_objects_out_of_the_collected_generations() -> None:
    assert gc.get_freeze_count() == 0
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 1000  # this test process's modules, at least
        # Objects made afterwards are tracked (and collected) as usual.
        garbage: list[object] = []
        garbage.append(garbage)
        assert gc.is_tracked(garbage)
        assert any(garbage is tracked for tracked in gc.get_objects(generation=0))
    finally:
        gc.unfreeze()


def test_serve_freezes_after_the_kernel_is_built_and_before_it_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    steps: list[str] = []

    def run(fn: object) -> None:
        assert isinstance(getattr(fn, "__self__", None), Kernel)
        steps.append("run")

    monkeypatch.setattr(cli, "freeze_startup_objects", lambda: steps.append("freeze"))
    monkeypatch.setattr(cli.trio, "run", run)
    conf = tmp_path / "conf"
    conf.mkdir()
    args = argparse.Namespace(data=tmp_path / "var", config=conf, plugins="")
    assert cli._serve(args) == 0
    assert steps == ["freeze", "run"]
