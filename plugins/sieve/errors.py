"""The Sieve error tree: syntax and validation errors with positions, runtime errors.

Implementation notes:

- Every error that a script author can fix carries a 1-based line and column, so an
  upload (ManageSieve PUTSCRIPT, JMAP) can answer with a useful message.
- :class:`SieveCompileError` holds every problem the validator found, not only the first
  (RFC 5804 clients show them all); its ``str`` is the first one, ``line:column: text``.
- :class:`SieveRuntimeError` ends a run. The caller keeps the message (RFC 5228 §2.10.6:
  "if an error occurs in the execution of a script, the implicit keep is performed").
  :class:`SieveLimitExceeded` is the runtime error for a safety limit: steps, actions,
  redirects, include depth, regex time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

__all__ = [
    "Diagnostic",
    "SieveCompileError",
    "SieveError",
    "SieveLimitExceeded",
    "SieveRuntimeError",
    "SieveSyntaxError",
]


@final
@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One compile problem: where (1-based line and column) and what."""

    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


class SieveError(Exception):
    """Base class of every error the Sieve package raises."""


class SieveCompileError(SieveError):
    """A script failed to parse or validate; ``diagnostics`` lists every problem found."""

    def __init__(self, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> None:
        self.diagnostics = tuple(diagnostics)
        first = self.diagnostics[0] if self.diagnostics else Diagnostic(1, 1, "invalid script")
        self.line = first.line
        self.column = first.column
        super().__init__(str(first))


class SieveSyntaxError(SieveCompileError):
    """The lexer or the parser gave up (RFC 5228 §8): one diagnostic."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__([Diagnostic(line, column, message)])


class SieveRuntimeError(SieveError):
    """A run failed; the message is kept (RFC 5228 §2.10.6)."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        self.line = line
        self.column = column
        where = f"line {line}, column {column}: " if line else ""
        super().__init__(f"{where}{message}")
        self.reason = message


class SieveLimitExceeded(SieveRuntimeError):
    """A safety limit was reached during a run (never a hang)."""
