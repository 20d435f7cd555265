"""Structured logging and the per-kernel metrics registry.

Logs are one line per event, ``key=value`` or compact JSON (chosen by configuration).
:func:`get_logger` gives a :class:`StructuredLogger` for ``stalwart.<component>``, and
``bind`` adds fields such as a connection id (:func:`new_connection_id`) to later lines.
Each kernel owns one :class:`Metrics` registry; plugins register counters, gauges and
histograms on it, and the admin plugin serves :meth:`Metrics.render` to Prometheus.

Implementation notes:

- The only global state is the stdlib ``logging`` tree (and its switches that make each
  record look up its thread and process, turned off since no format shows them), and
  nothing is configured at import time. :func:`configure_logging` installs one private
  handler on ``stalwart`` that remembers which component levels it set, so a reload
  replaces it (never a second one) and resets components that were dropped.
- Events and fields travel through ``extra``; the formatter renders them. Plain stdlib
  records under ``stalwart.*`` render too, with their formatted message as the event.
- kv values that are empty or hold whitespace, ``"``, ``=`` or control characters are
  double-quoted with backslash escapes. ``None`` fields are left out in both formats;
  fields that would shadow ``ts``/``level``/``component``/``event`` get a ``_`` prefix.
- The registry is a private ``CollectorRegistry``, never prometheus_client's global
  ``REGISTRY``. Registration is idempotent per (name, type, labels, buckets); a counter's
  ``_total`` suffix is ignored when comparing names, as prometheus_client does.
"""

from __future__ import annotations

import json
import logging
import math
import re
import secrets
import sys
import time
from collections.abc import Mapping, Sequence
from typing import TextIO, TypeVar, cast, final

import prometheus_client
from prometheus_client import Counter, Gauge, Histogram

__all__ = ["Metrics", "StructuredLogger", "configure_logging", "get_logger", "new_connection_id"]

_ROOT = "stalwart"
_LEVELS = dict(debug=logging.DEBUG, info=logging.INFO, warning=logging.WARNING, error=logging.ERROR)
_LEVEL_NAMES = {number: name for name, number in _LEVELS.items()}
_FORMATS = ("kv", "json")
_RESERVED = frozenset({"ts", "level", "component", "event"})
# Attribute names carried on a LogRecord via `extra`.
_EVENT_ATTR = "stalwart_event"
_FIELDS_ATTR = "stalwart_fields"

_NEEDS_QUOTES = re.compile(r'[\s"=\x00-\x1f\x7f-\x9f]')
_TO_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f-\x9f\u2028\u2029]')
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _level_number(level: str) -> int:
    try:
        return _LEVELS[level.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"unknown log level {level!r}; expected one of {list(_LEVELS)}") from None


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def _kv_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text and not _NEEDS_QUOTES.search(text):
        return text
    return '"' + _TO_ESCAPE.sub(_escape_char, text) + '"'


def _json_value(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


class _Formatter(logging.Formatter):
    """Renders a record, structured or plain, as one kv or JSON line."""

    def __init__(self, format: str) -> None:
        super().__init__()
        self._json = format == "json"
        self._second = -1
        self._seconds = ""

    def format(self, record: logging.LogRecord) -> str:
        whole = int(record.created)
        if whole != self._second:
            # One strftime per second, not per line.
            self._second = whole
            self._seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        seconds = self._seconds
        name = record.name
        component = name[len(_ROOT) + 1 :] if name.startswith(_ROOT + ".") else name
        event = getattr(record, _EVENT_ATTR, None)
        fields: dict[str, object] = {
            "ts": f"{seconds}.{int(record.msecs):03d}Z",
            "level": _LEVEL_NAMES.get(record.levelno, record.levelname.lower()),
            "component": component,
            "event": record.getMessage() if event is None else event,
        }
        for key, value in getattr(record, _FIELDS_ATTR, {}).items():
            if value is not None:
                fields[f"_{key}" if key in _RESERVED else key] = value
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, exc, _ = record.exc_info
            fields["exc_type"] = exc_type.__qualname__
            fields["exc"] = str(exc)
            fields["traceback"] = self.formatException(record.exc_info)
        if record.stack_info:
            fields["stack"] = record.stack_info
        if self._json:
            rendered = {key: _json_value(value) for key, value in fields.items()}
            return json.dumps(rendered, separators=(",", ":"), ensure_ascii=False)
        return " ".join(f"{key}={_kv_value(value)}" for key, value in fields.items())


class _Handler(logging.StreamHandler[TextIO]):
    """The one handler configure_logging installs; remembers the component levels it set."""

    def __init__(self, stream: TextIO | None, components: frozenset[str]) -> None:
        super().__init__(stream)
        self.components = components


def configure_logging(
    *,
    format: str = "kv",
    level: str = "info",
    components: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> None:
    """(Re)configure the 'stalwart' logger tree.

    Idempotent: calling again (config reload) replaces the one handler it installed, never
    adds a second. Everything is validated before anything changes, so a bad reload keeps
    the old configuration.

    Args:
        format: ``"kv"`` or ``"json"``.
        level: default level, one of debug/info/warning/error (case-insensitive).
        components: component name (e.g. ``"net"``, ``"imap"``) to its own level, applied
            to logger ``stalwart.<component>``; components left out of a later call go
            back to inheriting.
        stream: where lines go; defaults to ``sys.stderr``.

    Raises:
        ValueError: unknown format or level name.
    """
    if format not in _FORMATS:
        raise ValueError(f"unknown log format {format!r}; expected one of {list(_FORMATS)}")
    root_level = _level_number(level)
    levels = {name: _level_number(value) for name, value in (components or {}).items()}

    # No line format shows the thread or process of a record: spare every record the
    # lookups of their names and ids (the logging HOWTO's "Optimization" switches).
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger(_ROOT)
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
        old.close()
        for name in old.components - levels.keys():
            logging.getLogger(f"{_ROOT}.{name}").setLevel(logging.NOTSET)
    handler = _Handler(stream if stream is not None else sys.stderr, frozenset(levels))
    handler.setFormatter(_Formatter(format))
    root.addHandler(handler)
    root.setLevel(root_level)
    root.propagate = False
    for name, number in levels.items():
        logging.getLogger(f"{_ROOT}.{name}").setLevel(number)


def get_logger(component: str, **fields: object) -> StructuredLogger:
    """Logger for 'stalwart.<component>' with fields bound to every line."""
    return StructuredLogger(logging.getLogger(f"{_ROOT}.{component}"), fields)


def new_connection_id() -> str:
    """A short unique connection id: 12 random hex characters, e.g. ``"c7f3a9e21b04"``."""
    return secrets.token_hex(6)


@final
class StructuredLogger:
    """A component logger with bound fields; each call writes one structured event."""

    __slots__ = ("_fields", "_logger")

    def __init__(self, logger: logging.Logger, fields: Mapping[str, object]) -> None:
        self._logger = logger
        self._fields = dict(fields)

    def bind(self, **fields: object) -> StructuredLogger:
        """A new logger for the same component with ``fields`` added to the bound ones."""
        return StructuredLogger(self._logger, {**self._fields, **fields})

    def is_enabled_for(self, level: str) -> bool:
        """Whether an event at ``level`` (debug/info/warning/error) would be emitted."""
        return self._logger.isEnabledFor(_level_number(level))

    def debug(self, event: str, /, **fields: object) -> None:
        """Log ``event`` at debug level with extra ``fields``."""
        self._log(logging.DEBUG, event, fields)

    def info(self, event: str, /, **fields: object) -> None:
        """Log ``event`` at info level with extra ``fields``."""
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, /, **fields: object) -> None:
        """Log ``event`` at warning level with extra ``fields``."""
        self._log(logging.WARNING, event, fields)

    def error(self, event: str, /, **fields: object) -> None:
        """Log ``event`` at error level with extra ``fields``."""
        self._log(logging.ERROR, event, fields)

    def exception(self, event: str, /, **fields: object) -> None:
        """Log ``event`` at error level with the exception being handled and its traceback."""
        self._log(logging.ERROR, event, fields, exc_info=True)

    def _log(
        self, level: int, event: str, fields: dict[str, object], exc_info: bool = False
    ) -> None:
        logger = self._logger
        if not logger.isEnabledFor(level):
            return
        extra = {_EVENT_ATTR: event, _FIELDS_ATTR: {**self._fields, **fields}}
        # The record is made here rather than by Logger.log, which would walk the
        # stack for a source file and line that no line format shows (a tenth of
        # the cost of a line).
        record = logger.makeRecord(
            logger.name, level, "", 0, event, (), sys.exc_info() if exc_info else None, None, extra
        )
        logger.handle(record)


_Metric = Counter | Gauge | Histogram
_Signature = tuple[type[_Metric], tuple[str, ...], tuple[float, ...] | None]
_M = TypeVar("_M", Counter, Gauge, Histogram)


@final
class Metrics:
    """One registry per kernel.

    Metric names get the namespace prefix (``stalwart_`` by default). Asking twice for
    the same name and type returns the same metric, so plugins may re-register on reload;
    the same name with a different type, labels or buckets raises ``ValueError``.
    """

    content_type: str = prometheus_client.CONTENT_TYPE_LATEST

    def __init__(self, namespace: str = "stalwart") -> None:
        self._namespace = namespace
        self._registry = prometheus_client.CollectorRegistry()
        self._metrics: dict[str, tuple[_Metric, _Signature]] = {}

    def counter(self, name: str, help: str, labels: Sequence[str] = ()) -> Counter:
        """The counter ``<namespace>_<name>`` (exposed with a ``_total`` suffix)."""
        return self._get(Counter, name, help, labels)

    def gauge(self, name: str, help: str, labels: Sequence[str] = ()) -> Gauge:
        """The gauge ``<namespace>_<name>``."""
        return self._get(Gauge, name, help, labels)

    def histogram(
        self,
        name: str,
        help: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] | None = None,
    ) -> Histogram:
        """The histogram ``<namespace>_<name>``; ``buckets`` default to prometheus_client's."""
        return self._get(Histogram, name, help, labels, buckets)

    def render(self) -> bytes:
        """Every metric in the Prometheus text exposition format (see ``content_type``)."""
        return prometheus_client.generate_latest(self._registry)

    def _get(
        self,
        kind: type[_M],
        name: str,
        help: str,
        labels: Sequence[str],
        buckets: Sequence[float] | None = None,
    ) -> _M:
        # prometheus_client drops a counter's "_total" suffix; compare names the same way.
        key = name.removesuffix("_total") if kind is Counter else name
        bounds = None if buckets is None else tuple(buckets)
        signature = (kind, tuple(labels), bounds)
        known = self._metrics.get(key)
        if known is not None:
            metric, old = known
            if old != signature:
                raise ValueError(
                    f"metric {self._namespace}_{name} is already registered as "
                    f"{_describe(*old)}; cannot register it as {_describe(*signature)}"
                )
            return cast(_M, metric)
        options = {} if bounds is None else {"buckets": bounds}
        try:
            metric = kind(
                name, help, labels, namespace=self._namespace, registry=self._registry, **options
            )
        except ValueError as exc:
            raise ValueError(f"metric {self._namespace}_{name}: {exc}") from None
        self._metrics[key] = (metric, signature)
        return metric


def _describe(kind: type, labels: tuple[str, ...], buckets: tuple[float, ...] | None) -> str:
    text = f"a {kind.__name__.lower()} with labels {list(labels)}"
    return text if buckets is None else f"{text} and buckets {list(buckets)}"
