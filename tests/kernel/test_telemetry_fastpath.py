"""The cheap paths of kernel.telemetry: one strftime per second, no stack walk per line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from kernel.telemetry import configure_logging, get_logger


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger("stalwart")
    saved = (list(root.handlers), root.level, root.propagate)
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    root.propagate = saved[2]


def test_timestamp_follows_each_records_second(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    log = get_logger("smtp")
    # 2026-11-24T06:00:00Z, twice in one second, then the next second, then back.
    for now in (1795500000.25, 1795500000.75, 1795500001.5, 1795500000.0):
        monkeypatch.setattr("time.time", lambda now=now: now)
        log.info("tick")
    stamps = [line.split()[0] for line in stream.getvalue().splitlines()]
    assert stamps == [
        "ts=2026-11-24T06:00:00.250Z",
        "ts=2026-11-24T06:00:00.750Z",
        "ts=2026-11-24T06:00:01.500Z",
        "ts=2026-11-24T06:00:00.000Z",
    ]


def test_records_carry_no_caller_lookup() -> None:
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    configure_logging(stream=io.StringIO())
    logging.getLogger("stalwart").addHandler(Keep())
    get_logger("smtp", conn="c1").warning("odd", n=1)
    (record,) = seen
    assert record.name == "stalwart.smtp" and record.levelno == logging.WARNING
    assert record.getMessage() == "odd" and record.exc_info is None
    assert record.lineno == 0  # Logger.findCaller was not run
