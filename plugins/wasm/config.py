"""The ``wasm`` configuration section and the records built from it.

::

    wasm:
      tables:
        blocked_domains: [spam.example, junk.example]      # a set: values ""
        list_folders: {python-list.python.org: Lists/Python}
      modules:
        blocklist:
          path: /etc/stalwart/rules/block_senders.wasm
          stages: [rcpt]            # default: every stage the module exports
          fuel: 5000000             # defaults: the section's fuel, memory, ...
          on_error: tempfail        # keep (default) or tempfail

Implementation notes: module entries are a ``json`` option so that a module can
be added or removed by name in a later conf.d file; sizes and durations inside
entries are converted here with the kernel's own parsers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, final

from kernel.config import Option, Section
from kernel.config.schema import parse_duration, parse_size
from plugins.wasm.abi import STAGES
from plugins.wasm.sandbox import Limits

__all__ = ["SECTION", "ModuleSpec", "module_specs"]

_MAX_MEMORY = 2**30  # keeps packed (ptr << 32 | len) answers positive
_SIZE = {"anyOf": [{"type": "integer", "minimum": 65536}, {"type": "string"}]}
_DURATION = {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "string"}]}
_MODULE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {
        "path": {"type": "string", "minLength": 1, "description": "the .wasm or .wat file"},
        "stages": {"type": "array", "items": {"enum": list(STAGES)}, "uniqueItems": True},
        "fuel": {"type": "integer", "minimum": 1000},
        "memory": _SIZE,
        "timeout": _DURATION,
        "max_actions": {"type": "integer", "minimum": 1, "maximum": 1000},
        "on_error": {"enum": ["keep", "tempfail"]},
        "score_header": {"type": "string", "pattern": "^[!-9;-~]{1,76}$"},
        "enabled": {"type": "boolean"},
    },
}

SECTION = Section(
    "wasm",
    "Sandboxed WebAssembly mail rules (wasm-filters/ABI.md, docs/wasm-rules.md).",
    (
        Option(
            "modules",
            "json",
            {},
            "Rule modules by name: {path, stages, fuel, memory, timeout, max_actions, "
            "on_error, score_header, enabled}; they run in this order at each stage.",
            schema={"type": "object", "additionalProperties": _MODULE_SCHEMA},
        ),
        Option(
            "tables",
            "json",
            {},
            "Lookup tables for the modules' lookup import: a list of keys (values are "
            "empty) or a map of key to value; keys match without regard to case.",
            schema={
                "type": "object",
                "additionalProperties": {
                    "anyOf": [
                        {"type": "array", "items": {"type": "string"}},
                        {"type": "object", "additionalProperties": {"type": "string"}},
                    ]
                },
            },
        ),
        Option(
            "fuel",
            "integer",
            10_000_000,
            "Default fuel per call (about one unit per instruction).",
            schema={"minimum": 1000},
        ),
        Option("memory", "size", "16MB", "Default cap on a module's linear memory (at most 1GB)."),
        Option("timeout", "duration", "1s", "Default wall-clock limit of one call."),
        Option(
            "max_actions",
            "integer",
            64,
            "Default number of actions one call may return.",
            schema={"minimum": 1, "maximum": 1000},
        ),
        Option(
            "on_error",
            "string",
            "keep",
            "Default answer when a module fails (trap, "
            "out of fuel, timeout, bad return): keep the message or tempfail.",
            choices=("keep", "tempfail"),
        ),
        Option(
            "score_header",
            "string",
            "X-Rule-Score",
            "Default header that carries a module's score.",
        ),
        Option(
            "max_text", "size", "1MB", "Longest decoded text of one body part handed to a module."
        ),
        Option(
            "max_concurrent_calls",
            "integer",
            4,
            "Module calls run at once in worker threads.",
            schema={"minimum": 1},
        ),
    ),
)


@final
@dataclass(frozen=True, slots=True)
class ModuleSpec:
    """One configured module.

    Args:
        name: its name in ``wasm.modules``.
        path: the file (relative paths are taken from the working directory).
        stages: the stages to run it at; None is every stage it exports.
        limits: fuel, memory, timeout, action limit.
        on_error: ``keep`` or ``tempfail``.
        score_header: the header its score goes to.
    """

    name: str
    path: Path
    stages: tuple[str, ...] | None
    limits: Limits
    on_error: str
    score_header: str


def module_specs(section: Mapping[str, Any]) -> list[ModuleSpec]:
    """The enabled modules of a resolved ``wasm`` section, in configuration order."""
    out = []
    for name, entry in (section.get("modules") or {}).items():
        if not entry.get("enabled", True):
            continue
        memory = min(parse_size(entry.get("memory", section["memory"])), _MAX_MEMORY)
        limits = Limits(
            fuel=int(entry.get("fuel", section["fuel"])),
            memory=memory,
            timeout=parse_duration(entry.get("timeout", section["timeout"])),
            max_actions=int(entry.get("max_actions", section["max_actions"])),
        )
        stages = entry.get("stages")
        out.append(
            ModuleSpec(
                name=str(name),
                path=Path(entry["path"]),
                stages=tuple(stages) if stages is not None else None,
                limits=limits,
                on_error=str(entry.get("on_error", section["on_error"])),
                score_header=str(entry.get("score_header", section["score_header"])),
            )
        )
    return out
