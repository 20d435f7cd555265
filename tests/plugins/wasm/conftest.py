"""Fixtures of the wasm plugin's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from wasm_support import LogCapture, build_c_examples, capture_wasm_log


@pytest.fixture(scope="session")
def c_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The C examples built with ``make -C wasm-filters`` into a scratch directory."""
    return build_c_examples(tmp_path_factory.mktemp("wasm-build"))


@pytest.fixture
def wasm_log() -> Iterator[LogCapture]:
    yield from capture_wasm_log()
