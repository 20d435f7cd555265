"""Tests for kernel.telemetry: structured log lines and the per-kernel metrics registry."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from kernel.telemetry import Metrics, configure_logging, get_logger, new_connection_id

TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Put the 'stalwart' logger tree back as it was, so tests do not leak configuration."""
    root = logging.getLogger("stalwart")
    saved = (list(root.handlers), root.level, root.propagate)
    children = {
        name: logger.level
        for name, logger in logging.Logger.manager.loggerDict.items()
        if name.startswith("stalwart.") and isinstance(logger, logging.Logger)
    }
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    root.propagate = saved[2]
    for name, logger in logging.Logger.manager.loggerDict.items():
        if name.startswith("stalwart.") and isinstance(logger, logging.Logger):
            logger.setLevel(children.get(name, logging.NOTSET))


def _configure(**options: object) -> io.StringIO:
    stream = io.StringIO()
    configure_logging(stream=stream, **options)  # type: ignore[arg-type]
    return stream


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


# --- log lines ---------------------------------------------------------------------------


def test_logger_kv_line_with_bound_connection_id() -> None:
    stream = _configure(format="kv")
    log = get_logger("net", listener="imap").bind(conn="c7f3a9e21b04")
    log.info("listening", address="127.0.0.1:1143", tls=False)
    (line,) = _lines(stream)
    assert re.fullmatch(
        rf"ts={TS} level=info component=net event=listening listener=imap "
        r"conn=c7f3a9e21b04 address=127.0.0.1:1143 tls=false",
        line,
    ), line


def test_logger_json_line_with_bound_connection_id() -> None:
    stream = _configure(format="json")
    log = get_logger("imap").bind(conn="c7f3a9e21b04", listener="imap")
    log.warning("login failed", user="alice", attempts=3, secure=True)
    (line,) = _lines(stream)
    record = json.loads(line)
    assert list(record) == [
        *("ts", "level", "component", "event", "conn", "listener", "user", "attempts", "secure")
    ]
    assert re.fullmatch(TS, record["ts"])
    assert record["level"] == "warning"
    assert record["component"] == "imap"
    assert record["event"] == "login failed"
    assert (record["conn"], record["attempts"], record["secure"]) == ("c7f3a9e21b04", 3, True)
    assert ", " not in line and ": " not in line  # compact separators


def test_logger_kv_quotes_and_escapes_awkward_values() -> None:
    stream = _configure()
    get_logger("smtp").info(
        "rcpt",
        plain="a.b@c",
        spaced="two words",
        quoted='say "hi"',
        newline="one\ntwo\r\n",
        equals="a=b",
        empty="",
        tab="x\ty",
        backslash_only="C:\\dir",
        backslash_quoted="C:\\my dir",
        control="bell\x07",
        missing=None,
        number=4.5,
    )
    (line,) = _lines(stream)
    assert line.endswith(
        " event=rcpt plain=a.b@c "
        'spaced="two words" '
        r'quoted="say \"hi\"" '
        r'newline="one\ntwo\r\n" '
        'equals="a=b" '
        'empty="" '
        r'tab="x\ty" '
        r"backslash_only=C:\dir "
        r'backslash_quoted="C:\\my dir" '
        r'control="bell\u0007" '
        "number=4.5"
    ), line
    assert "missing" not in line


def test_logger_kv_escapes_event() -> None:
    stream = _configure()
    get_logger("config").error('bad key "x"\nhere')
    (line,) = _lines(stream)
    assert line.endswith(r'component=config event="bad key \"x\"\nhere"'), line


def test_logger_reserved_field_names_do_not_shadow_header() -> None:
    stream = _configure()
    get_logger("net").bind(level="high").info("x", component="other")
    (line,) = _lines(stream)
    assert " level=info component=net event=x _level=high _component=other" in line


def test_logger_json_stringifies_non_json_values() -> None:
    stream = _configure(format="json")
    get_logger("store").info("saved", path=io, items=[1, 2], skipped=None, ratio=float("nan"))
    record = json.loads(_lines(stream)[0])
    assert record["path"] == str(io)
    assert record["items"] == "[1, 2]"
    assert record["ratio"] == "nan"
    assert "skipped" not in record


def test_logger_call_fields_override_bound_fields() -> None:
    stream = _configure()
    get_logger("net", conn="a").info("x", conn="b")
    assert _lines(stream)[0].endswith(" event=x conn=b")


def test_logger_exception_kv_stays_on_one_line() -> None:
    stream = _configure()
    log = get_logger("imap", conn="c1")
    try:
        raise LookupError("no such\nmailbox")
    except LookupError:
        log.exception("command failed", command="SELECT")
    (line,) = _lines(stream)
    assert ' level=error component=imap event="command failed" conn=c1 command=SELECT ' in line
    assert r' exc_type=LookupError exc="no such\nmailbox" ' in line
    assert 'traceback="Traceback (most recent call last):\\n' in line
    assert "test_logger_exception_kv_stays_on_one_line" in line


def test_logger_exception_json_has_traceback() -> None:
    stream = _configure(format="json")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        get_logger("net").exception("accept failed")
    (line,) = _lines(stream)
    record = json.loads(line)
    assert (record["level"], record["exc_type"], record["exc"]) == ("error", "RuntimeError", "boom")
    assert record["traceback"].startswith("Traceback (most recent call last):\n")
    assert record["traceback"].rstrip().endswith("RuntimeError: boom")


def test_logger_exception_outside_handler_still_logs() -> None:
    stream = _configure()
    get_logger("net").exception("odd")
    (line,) = _lines(stream)
    assert line.endswith(" level=error component=net event=odd")


def test_logger_is_enabled_for_rejects_unknown_level() -> None:
    _configure()
    with pytest.raises(ValueError, match="verbose"):
        get_logger("net").is_enabled_for("verbose")


def test_stdlib_logging_under_stalwart_renders() -> None:
    stream = _configure()
    plain = logging.getLogger("stalwart.legacy")
    plain.info("loaded %d plugins from %s", 3, "conf d")
    plain.debug("hidden")
    (line,) = _lines(stream)
    assert re.fullmatch(
        rf'ts={TS} level=info component=legacy event="loaded 3 plugins from conf d"', line
    )


# --- configuration -----------------------------------------------------------------------


def test_configure_component_levels() -> None:
    stream = _configure(level="info", components={"net": "debug"})
    get_logger("net").debug("net detail")
    get_logger("imap").debug("imap detail")
    get_logger("imap").info("imap info")
    assert [line.split(" event=")[1] for line in _lines(stream)] == [
        '"net detail"',
        '"imap info"',
    ]
    assert get_logger("net").is_enabled_for("DEBUG")
    assert not get_logger("imap").is_enabled_for("debug")


def test_configure_component_can_be_quieter_than_default() -> None:
    stream = _configure(level="debug", components={"config": "error"})
    get_logger("config").warning("quiet")
    get_logger("net").debug("loud")
    assert [line.split(" event=")[1] for line in _lines(stream)] == ["loud"]


def test_configure_removed_component_inherits_again() -> None:
    _configure(level="info", components={"net": "debug"})
    assert get_logger("net").is_enabled_for("debug")
    _configure(level="info")
    assert not get_logger("net").is_enabled_for("debug")
    assert logging.getLogger("stalwart.net").level == logging.NOTSET


def test_configure_twice_does_not_duplicate_lines() -> None:
    first = _configure(format="kv")
    second = _configure(format="json")
    get_logger("net").info("once")
    assert first.getvalue() == ""
    (line,) = _lines(second)
    assert json.loads(line)["event"] == "once"
    # pytest attaches its own capture handlers to non-propagating loggers; count ours.
    ours = [
        h
        for h in logging.getLogger("stalwart").handlers
        if type(h).__module__ == "kernel.telemetry"
    ]
    assert len(ours) == 1


def test_configure_does_not_propagate_to_root() -> None:
    _configure()
    assert logging.getLogger("stalwart").propagate is False


def test_configure_level_is_case_insensitive() -> None:
    stream = _configure(level="WARNING", components={"net": "Debug"})
    get_logger("imap").info("hidden")
    get_logger("imap").warning("shown")
    get_logger("net").debug("shown too")
    assert len(_lines(stream)) == 2


def test_configure_defaults_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    get_logger("net").info("to stderr")
    assert 'event="to stderr"' in capsys.readouterr().err


@pytest.mark.parametrize(
    "options",
    [
        {"format": "xml"},
        {"level": "verbose"},
        {"level": "critical"},
        {"components": {"net": "trace"}},
    ],
)
def test_configure_rejects_invalid_options_and_keeps_old(options: dict[str, object]) -> None:
    stream = _configure(level="info")
    with pytest.raises(ValueError, match=r"xml|verbose|critical|trace"):
        _configure(**options)
    get_logger("net").info("still here")
    assert len(_lines(stream)) == 1


# --- connection ids ----------------------------------------------------------------------


def test_new_connection_id_is_12_hex_and_unique() -> None:
    ids = {new_connection_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{12}", cid) for cid in ids)


# --- metrics -----------------------------------------------------------------------------


def _render(metrics: Metrics) -> list[str]:
    return metrics.render().decode().splitlines()


def test_metrics_counter_renders_prometheus_text() -> None:
    metrics = Metrics()
    connections = metrics.counter("connections_total", "Accepted connections.", ["listener"])
    connections.labels(listener="imap").inc(3)
    connections.labels(listener="smtp").inc()
    lines = _render(metrics)
    assert "# HELP stalwart_connections_total Accepted connections." in lines
    assert "# TYPE stalwart_connections_total counter" in lines
    assert 'stalwart_connections_total{listener="imap"} 3.0' in lines
    assert 'stalwart_connections_total{listener="smtp"} 1.0' in lines


def test_metrics_gauge_and_histogram_render() -> None:
    metrics = Metrics()
    metrics.gauge("sessions", "Open sessions.", ["protocol"]).labels("imap").set(7)
    latency = metrics.histogram("command_seconds", "Command latency.", ["command"], [0.1, 1.0])
    latency.labels(command="FETCH").observe(0.5)
    latency.labels(command="FETCH").observe(2.0)
    lines = _render(metrics)
    assert "# TYPE stalwart_sessions gauge" in lines
    assert 'stalwart_sessions{protocol="imap"} 7.0' in lines
    assert "# TYPE stalwart_command_seconds histogram" in lines
    assert 'stalwart_command_seconds_bucket{command="FETCH",le="0.1"} 0.0' in lines
    assert 'stalwart_command_seconds_bucket{command="FETCH",le="1.0"} 1.0' in lines
    assert 'stalwart_command_seconds_bucket{command="FETCH",le="+Inf"} 2.0' in lines
    assert 'stalwart_command_seconds_count{command="FETCH"} 2.0' in lines
    assert 'stalwart_command_seconds_sum{command="FETCH"} 2.5' in lines


def test_metrics_namespace_prefixes_names() -> None:
    metrics = Metrics(namespace="test")
    metrics.gauge("up", "Up.").set(1)
    assert "test_up 1.0" in _render(metrics)


def test_metrics_content_type_is_prometheus_text() -> None:
    assert Metrics().content_type.startswith("text/plain; version=")


def test_metrics_reregistration_is_idempotent() -> None:
    metrics = Metrics()
    counter = metrics.counter("deliveries_total", "Deliveries.", ["result"])
    assert metrics.counter("deliveries_total", "Deliveries.", ("result",)) is counter
    gauge = metrics.gauge("queue", "Queue length.")
    assert metrics.gauge("queue", "Queue length.") is gauge
    histogram = metrics.histogram("size_bytes", "Sizes.", buckets=[1, 10])
    assert metrics.histogram("size_bytes", "Sizes.", buckets=(1, 10)) is histogram
    counter.labels("ok").inc()
    assert _render(metrics).count('stalwart_deliveries_total{result="ok"} 1.0') == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("counter", "jobs_total", ["a"]), ("gauge", "jobs_total", ["a"])),
        (("counter", "jobs_total", ["a"]), ("counter", "jobs_total", ["b"])),
        (("counter", "jobs", []), ("counter", "jobs_total", ["a"])),
        (("gauge", "jobs", []), ("histogram", "jobs", [])),
    ],
)
def test_metrics_conflicting_reregistration_raises(
    first: tuple[str, str, list[str]], second: tuple[str, str, list[str]]
) -> None:
    metrics = Metrics()
    getattr(metrics, first[0])(first[1], "Jobs.", first[2])
    with pytest.raises(ValueError, match=f"stalwart_{second[1]}"):
        getattr(metrics, second[0])(second[1], "Jobs.", second[2])


def test_metrics_histogram_with_different_buckets_raises() -> None:
    metrics = Metrics()
    metrics.histogram("size_bytes", "Sizes.", buckets=[1, 10])
    with pytest.raises(ValueError, match="stalwart_size_bytes"):
        metrics.histogram("size_bytes", "Sizes.", buckets=[1, 100])


def test_metrics_registry_collision_names_metric() -> None:
    metrics = Metrics()
    metrics.gauge("jobs_total", "Jobs.")
    with pytest.raises(ValueError, match="stalwart_jobs"):
        metrics.counter("jobs", "Jobs.")


def test_metrics_instances_are_independent() -> None:
    one, two = Metrics(), Metrics()
    one.counter("logins_total", "Logins.").inc(5)
    two.counter("logins_total", "Logins.").inc()
    assert "stalwart_logins_total 5.0" in _render(one)
    assert "stalwart_logins_total 1.0" in _render(two)


def test_metrics_do_not_touch_default_registry() -> None:
    from prometheus_client import REGISTRY

    Metrics().counter("isolated_total", "Isolated.").inc()
    assert REGISTRY.get_sample_value("stalwart_isolated_total") is None
