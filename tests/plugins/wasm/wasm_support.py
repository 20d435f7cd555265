"""Shared helpers of the wasm plugin's tests: module paths, the C build, log capture."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FILTERS = ROOT / "wasm-filters"
EXAMPLES = FILTERS / "examples"
GOLDEN = FILTERS / "tests"
EXAMPLE_NAMES = (
    "block_senders",
    "list_folder",
    "body_score",
    "block_executables",
    "helo_policy",
)

#: The smallest module of ABI version 1: a memory, the version, an allocator.
PRELUDE = """
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "abi_version") (result i32) (i32.const 1))
  (func (export "alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (local.get $p))
"""

IMPORT_ACTION = (
    '(import "stalwart" "action" (func $action (param i32 i32 i32 i32 i32 i32) (result i32)))'
)


def wat(body: str, *, imports: str = IMPORT_ACTION, prelude: str = PRELUDE) -> str:
    """A module in WAT with the ABI prelude and ``body``."""
    return f"(module {imports} {prelude} {body})"


def build_c_examples(build: Path) -> Path:
    """``make -C wasm-filters BUILD=build``; skips when clang or wasm-ld is missing."""
    missing = [tool for tool in ("clang", "wasm-ld", "make") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install -y clang lld)")
    result = subprocess.run(
        ["make", "-s", "-C", str(FILTERS), f"BUILD={build}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return build


@dataclass
class LogCapture:
    """Structured events of the ``stalwart.wasm`` logger: (level, event, fields)."""

    records: list[tuple[str, str, dict]] = field(default_factory=list)

    def events(self, name: str) -> list[dict]:
        return [fields for _level, event, fields in self.records if event == name]


class _Handler(logging.Handler):
    def __init__(self, capture: LogCapture) -> None:
        super().__init__(logging.DEBUG)
        self.capture = capture

    def emit(self, record: logging.LogRecord) -> None:
        self.capture.records.append(
            (
                record.levelname.lower(),
                getattr(record, "stalwart_event", record.getMessage()),
                dict(getattr(record, "stalwart_fields", {})),
            )
        )


def capture_wasm_log() -> Iterator[LogCapture]:
    """Collect the wasm logger's events for the duration of a fixture."""
    capture = LogCapture()
    logger = logging.getLogger("stalwart.wasm")
    handler = _Handler(capture)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
