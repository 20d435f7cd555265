"""Helpers shared by the Sieve unit tests: compile and run a script in one call."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from plugins.sieve import (
    CompiledScript,
    Envelope,
    Interpreter,
    Limits,
    Outcome,
    Settings,
    SieveCompileError,
    StaticHost,
    compile_script,
)

MESSAGE = (
    b"From: Alice Example <alice@example.org>\r\n"
    b"To: bob+lists@example.com, Carol <carol@example.net>\r\n"
    b"Subject: Hello there\r\n"
    b"Date: Mon, 20 Jul 2009 21:44:43 +0300\r\n"
    b"Message-ID: <msg1@example.org>\r\n"
    b"\r\n"
    b"Just a short note.\r\n"
)
ENVELOPE = Envelope("alice@example.org", "bob+lists@example.com")
NOW = datetime(2024, 3, 1, 12, 30, 45, tzinfo=UTC)


def host(**changes: object) -> StaticHost:
    """A :class:`StaticHost` with a fixed clock."""
    made = StaticHost(clock=NOW)
    for name, value in changes.items():
        setattr(made, name, value)
    return made


def compiled(source: str) -> CompiledScript:
    """Compile ``source`` (failing the test on a compile error)."""
    return compile_script(source)


def run(
    source: str,
    message: bytes = MESSAGE,
    envelope: Envelope = ENVELOPE,
    *,
    static: StaticHost | None = None,
    settings: Settings | None = None,
    limits: Limits | None = None,
) -> Outcome:
    """Compile and run ``source`` against ``message``."""
    interpreter = Interpreter(limits=limits, settings=settings)
    return interpreter.run(compiled(source), message, envelope, static or host())


def compile_error(source: str | bytes) -> SieveCompileError:
    """The compile error ``source`` raises."""
    with pytest.raises(SieveCompileError) as caught:
        compile_script(source)
    return caught.value


def names(outcome: Outcome) -> list[str]:
    """The action names of an outcome (the implicit keep as ``implicit-keep``)."""
    return ["implicit-keep" if getattr(a, "implicit", False) else a.name for a in outcome.actions]
