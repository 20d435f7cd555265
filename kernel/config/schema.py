"""Option records and the JSON Schema assembled from them.

Each plugin describes its configuration section as a :class:`Section` of
:class:`Option` records (key, type, default, help, since, reloadable). The kernel
assembles one JSON Schema from its own sections and every installed plugin's,
validates the merged tree against it (unknown keys are errors), then fills in
defaults and converts units (durations to seconds, sizes to bytes).

Implementation notes:

* ``Option.key`` may be dotted (``limits.idle_timeout``): the section nests it.
* A section with ``entries=True`` is a map from free-form names to objects made
  of its options (``listeners.<name>.bind``), so later files can add, change or
  remove one entry by name.
* Durations accept a number of seconds or ``"500ms"``, ``"30s"``, ``"10m"``,
  ``"2h"``, ``"7d"``; sizes accept a number of bytes or ``"512KB"``, ``"50MB"``
  (binary multiples: 1 KB = 1024 bytes; ``KiB``/``MiB`` are accepted too).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, final

import jsonschema

from kernel.config.diagnostics import Diagnostic, Severity

__all__ = [
    "REQUIRED",
    "Option",
    "Section",
    "build_json_schema",
    "parse_duration",
    "parse_size",
    "resolve",
    "validate",
]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: Marks an option that has no default and must be set.
REQUIRED: Any = _Required()

# Patterns written without inline flags: they are also JSON Schema (ECMA 262) patterns.
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mM][sS]|[sSmMhHdD])?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bB]|[kKmMgGtT](?:[iI]?[bB])?)?\s*$")
_SIZE_UNITS = {"b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}

_BASE_TYPES = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "duration": {
        "anyOf": [
            {"type": "number", "minimum": 0},
            {"type": "string", "pattern": _DURATION.pattern},
        ],
        "x-unit": "duration",
    },
    "size": {
        "anyOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "pattern": _SIZE.pattern},
        ],
        "x-unit": "size",
    },
    "string-list": {"type": "array", "items": {"type": "string"}},
    "string-map": {"type": "object", "additionalProperties": {"type": "string"}},
}


def parse_duration(value: float | str) -> float:
    """Seconds in ``value`` (a number of seconds or ``"10m"``); ValueError if malformed."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"not a duration: {value!r}")
    unit = match.group(2).lower() if match.group(2) else None
    return float(match.group(1)) * _DURATION_UNITS[unit]


def parse_size(value: int | str) -> int:
    """Bytes in ``value`` (a number of bytes or ``"50MB"``); ValueError if malformed."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"not a size: {value!r}")
    unit = (match.group(2) or "b")[0].lower()
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


@final
@dataclass(frozen=True, slots=True)
class Option:
    """One configuration option.

    Args:
        key: name inside the section, dotted for nesting (``limits.idle_timeout``).
        type: ``string``, ``integer``, ``number``, ``boolean``, ``duration``,
            ``size``, ``string-list``, ``string-map``, or ``json`` with ``schema``.
        default: the value when unset (before conversion); ``REQUIRED`` if it
            must be set; ``None`` means "unset" and resolves to ``None``.
        help: one or two sentences for the generated reference.
        since: the version that introduced it.
        reloadable: whether a change applies on hot reload (otherwise a restart
            is needed, and reload warns).
        choices: allowed values, if any.
        schema: extra JSON Schema merged into the generated one (``minimum``...),
            or the whole schema for ``type="json"``.
    """

    key: str
    type: str
    default: Any
    help: str
    since: str = "0.1"
    reloadable: bool = True
    choices: tuple[Any, ...] = ()
    schema: Mapping[str, Any] = field(default_factory=dict)

    def json_schema(self) -> dict[str, Any]:
        if self.type == "json":
            out = dict(self.schema)
        else:
            out = {**_BASE_TYPES[self.type], **self.schema}
        if self.choices:
            out["enum"] = list(self.choices)
        out["description"] = self.help
        if self.default is not REQUIRED and self.default is not None:
            out["default"] = self.default
        return out


@final
@dataclass(frozen=True, slots=True)
class Section:
    """A top-level configuration section, owned by the kernel or one plugin."""

    name: str
    help: str
    options: tuple[Option, ...]
    #: True if the section maps free-form entry names to objects of ``options``.
    entries: bool = False
    #: The plugin that contributed it (``None`` for the kernel); set by the kernel.
    plugin: str | None = None

    def object_schema(self) -> dict[str, Any]:
        """JSON Schema of one object made of the options (nesting dotted keys)."""
        root: dict[str, Any] = _object()
        for option in self.options:
            *parents, leaf = option.key.split(".")
            node = root
            for parent in parents:
                node = node["properties"].setdefault(parent, _object())
            node["properties"][leaf] = option.json_schema()
            if option.default is REQUIRED:
                node.setdefault("required", []).append(leaf)
        return root

    def json_schema(self) -> dict[str, Any]:
        if self.entries:
            return {
                "type": "object",
                "description": self.help,
                "additionalProperties": self.object_schema(),
            }
        return {**self.object_schema(), "description": self.help}


def _object() -> dict[str, Any]:
    return {"type": "object", "properties": {}, "additionalProperties": False}


def build_json_schema(sections: Iterable[Section]) -> dict[str, Any]:
    """The whole-configuration JSON Schema (draft 2020-12)."""
    properties: dict[str, Any] = {}
    for section in sections:
        properties[section.name] = section.json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://stalwart-kernel.invalid/config.schema.json",
        "title": "stalwart-kernel configuration",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }


def validate(
    data: Mapping[str, Any],
    schema: Mapping[str, Any],
    locate: Any,
    redact: Collection[tuple[str | int, ...]] = (),
) -> list[Diagnostic]:
    """Validate ``data`` against ``schema``; one diagnostic per problem.

    Args:
        locate: ``locate(path) -> Location | None`` for a key path.
        redact: paths whose values must not appear in messages (they came from
            ``${env:...}`` or ``${file:...}`` and may be secrets).

    An unknown key is reported at the key itself (its own file and line), not at
    the mapping that holds it. Diagnostics come in file and line order.
    """
    validator = jsonschema.Draft202012Validator(schema)
    out: list[Diagnostic] = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set(error.schema.get("properties", {}))
            for key in error.instance:
                if key not in known:
                    sub = (*path, key)
                    out.append(Diagnostic(Severity.ERROR, "unknown key", sub, locate(sub)))
            continue
        message = _message(error, shown="the substituted value" if path in redact else None)
        out.append(Diagnostic(Severity.ERROR, message, path, locate(path)))
    return sorted(out, key=_position)


def _position(diagnostic: Diagnostic) -> tuple[str, int]:
    where = diagnostic.location
    return (where.file, where.line) if where else ("", 0)


def _message(error: jsonschema.ValidationError, *, shown: str | None = None) -> str:
    value = shown or repr(error.instance)
    if error.validator == "anyOf" and "x-unit" in error.schema:
        return f"{value} is not a valid {error.schema['x-unit']}"
    if error.validator == "type":
        return f"expected {error.validator_value}, got {type(error.instance).__name__}"
    if error.validator == "enum":
        return f"{value} is not one of {', '.join(map(repr, error.validator_value))}"
    if shown is not None:
        return f"{shown} does not satisfy `{error.validator}: {error.validator_value!r}`"
    return error.message


def resolve(section: Section, value: Mapping[str, Any] | None) -> dict[str, Any]:
    """Fill defaults and convert units for a validated section value."""
    if section.entries:
        entries = (value or {}).items()
        return {name: _resolve_object(section.options, entry) for name, entry in entries}
    return _resolve_object(section.options, value or {})


def _resolve_object(options: Sequence[Option], value: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for option in options:
        *parents, leaf = option.key.split(".")
        src: Any = value
        dst = out
        for parent in parents:
            src = src.get(parent, {}) if isinstance(src, Mapping) else {}
            dst = dst.setdefault(parent, {})
        raw = src.get(leaf, option.default) if isinstance(src, Mapping) else option.default
        dst[leaf] = _convert(option, raw)
    return out


def _convert(option: Option, raw: Any) -> Any:
    if raw is None or raw is REQUIRED:
        return None
    if option.type == "duration":
        return parse_duration(raw)
    if option.type == "size":
        return parse_size(raw)
    return copy.deepcopy(raw)  # never hand out the Option's own (mutable) default
