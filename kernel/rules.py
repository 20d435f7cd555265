"""Rule engines: what the ``stalwart-kernel rules`` command runs a rule file with.

A rule engine (Sieve, WebAssembly, ...) is contributed by a plugin through the
``stalwart_register_rule_engines`` hook as a :class:`RuleEngine`: the file
suffixes it understands, a ``load`` that compiles a rule file once, and a
``run`` that applies the compiled rule to one message and envelope and answers
printable action lines (``keep``, ``fileinto "Lists" :flags "$seen"``,
``reject 550 "go away"``...). The CLI (``rules test`` and ``rules replay``)
picks the engine by the file's suffix and prints those lines; it never carries
the actions out, so it is safe to run against a live store.

Implementation notes:

* ``run`` is synchronous and may block (a WASM call, a Sieve run under its own
  time limit); async callers reach it through ``trio.to_thread.run_sync``.
* Action lines are for people: one action per line, Sieve-like syntax, quoted
  strings with ``"`` and ``\\`` escaped. They are not a wire format; an
  engine's own API is the place for structured actions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, final

__all__ = ["RuleEngine", "RuleEnvelope", "engine_for", "quote"]


@final
@dataclass(frozen=True, slots=True)
class RuleEnvelope:
    """The envelope a rule sees when run outside a live SMTP transaction.

    Args:
        mail_from: the reverse-path address (``""`` for the null path).
        rcpt_to: the one recipient the rule runs for.
    """

    mail_from: str = ""
    rcpt_to: str = ""


@final
@dataclass(frozen=True, slots=True)
class RuleEngine:
    """A way to run rule files of some kind (Sieve scripts, WASM modules).

    Args:
        name: the engine's name (``sieve``, ``wasm``), shown by the CLI.
        suffixes: the file suffixes it takes, lower case with the dot
            (``(".sieve", ".siv")``).
        load: compile a rule file once; raises ``ValueError`` with a message
            (line and column where it applies) for a bad file, ``OSError`` for
            an unreadable one.
        run: apply a compiled rule to a message (raw RFC 5322 bytes) and an
            envelope; returns the printable action lines, ``["keep"]`` when the
            rule takes no explicit action.
    """

    name: str
    suffixes: tuple[str, ...]
    load: Callable[[Path], Any]
    run: Callable[[Any, bytes, RuleEnvelope], list[str]]


def engine_for(path: Path, engines: Iterable[RuleEngine]) -> RuleEngine:
    """Pick the engine whose suffixes match ``path`` (case-insensitive).

    Args:
        path: the rule file.
        engines: the registered engines.

    Returns:
        The first engine claiming the file's suffix.

    Raises:
        ValueError: no engine takes that suffix (the message lists those that exist).
    """
    suffix = path.suffix.lower()
    known: list[str] = []
    for engine in engines:
        if suffix in engine.suffixes:
            return engine
        known.extend(f"{s} ({engine.name})" for s in engine.suffixes)
    listed = ", ".join(known) or "none: no rule engine plugin is installed"
    raise ValueError(f"no rule engine takes {suffix or 'files without a suffix'}; known: {listed}")


def quote(text: str) -> str:
    """Quote ``text`` as a Sieve-style string for an action line."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
