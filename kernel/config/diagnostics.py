"""Configuration diagnostics: every problem found, reported together.

The loader and the validator never stop at the first problem (STYLE.md §1.7):
they collect :class:`Diagnostic` records, each pointing at ``file:line`` and a
dotted key path, and the caller decides what is fatal (any error) and what is
only logged (warnings).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import final

__all__ = ["Diagnostic", "Location", "Severity", "format_path"]


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"


@final
@dataclass(frozen=True, slots=True)
class Location:
    """Where a configuration value was written: a file and a 1-based line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


def format_path(path: tuple[str | int, ...]) -> str:
    """Render a key path as ``listeners.imap.bind[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"


@final
@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in the configuration."""

    severity: Severity
    message: str
    path: tuple[str | int, ...] = ()
    location: Location | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        where = str(self.location) if self.location else "<config>"
        prefix = "" if self.is_error else "warning: "
        return f"{where}: {format_path(self.path)}: {prefix}{self.message}"
