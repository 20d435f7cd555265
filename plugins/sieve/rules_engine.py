"""The Sieve engine of ``stalwart-kernel rules test|replay`` (:class:`kernel.rules.RuleEngine`).

``load`` compiles a ``.sieve`` file (every compile problem in the ``ValueError``, with
line and column); ``run`` runs it against one message with a
:class:`~plugins.sieve.host.StaticHost` (only INBOX exists, nothing was seen before)
and prints one Sieve-like line per action, ``keep`` last when the implicit keep is
due. Nothing is carried out: no message is stored or sent.
"""

from __future__ import annotations

from pathlib import Path

from kernel.rules import RuleEngine, RuleEnvelope, quote
from plugins.sieve.actions import (
    Action,
    Discard,
    DuplicateMark,
    Fcc,
    FileInto,
    Keep,
    Notify,
    Redirect,
    Reject,
    Vacation,
)
from plugins.sieve.compiled import CompiledScript
from plugins.sieve.compiler import compile_script
from plugins.sieve.errors import SieveCompileError
from plugins.sieve.host import Envelope, StaticHost
from plugins.sieve.interpreter import Interpreter
from plugins.sieve.verdicts import header_edits

__all__ = ["ENGINE", "action_line", "load", "run"]


def load(path: Path) -> CompiledScript:
    """Compile the script in ``path``; ValueError lists every problem (OSError: unreadable)."""
    source = path.read_bytes()
    try:
        return compile_script(source, name=path.name)
    except SieveCompileError as error:
        problems = "; ".join(str(d) for d in error.diagnostics)
        raise ValueError(f"{path}: {problems}") from error


def _flags(flags: tuple[str, ...] | None) -> str:
    if flags is None:
        return ""
    return " :flags [" + ", ".join(quote(f) for f in flags) + "]"


def _fcc(fcc: Fcc | None) -> str:
    """RFC 8580 §3.2: `` :fcc "mailbox"`` and its options, or nothing."""
    if fcc is None:
        return ""
    options = "".join(
        text
        for text, on in (
            (" :create", fcc.create),
            (f" :specialuse {quote(fcc.special_use or '')}", fcc.special_use),
            (f" :mailboxid {quote(fcc.mailbox_id or '')}", fcc.mailbox_id),
        )
        if on
    )
    return f" :fcc {quote(fcc.mailbox)}{options}{_flags(fcc.flags)}"


def action_line(action: Action) -> str:
    """One printable line for ``action``."""
    match action:
        case Keep():
            return "keep" + _flags(action.flags)
        case FileInto():
            tags = "".join(
                tag
                for tag, on in (
                    (" :copy", action.copy),
                    (" :create", action.create),
                    (f" :specialuse {quote(action.special_use or '')}", action.special_use),
                    (f" :mailboxid {quote(action.mailbox_id or '')}", action.mailbox_id),
                )
                if on
            )
            return f"fileinto{tags}{_flags(action.flags)} {quote(action.mailbox)}"
        case Redirect():
            return f"redirect{' :copy' if action.copy else ''} {quote(action.address)}"
        case Reject():
            return f"{'ereject' if action.extended else 'reject'} 550 {quote(action.reason)}"
        case Discard():
            return "discard"
        case Vacation():
            days = action.period / 86400
            period = f":days {days:g}" if days == int(days) else f":seconds {action.period}"
            subject = f" :subject {quote(action.subject)}" if action.subject else ""
            return f"vacation {period}{subject}{_fcc(action.fcc)} {quote(action.reason)}"
        case Notify():
            importance = f":importance {quote(action.importance)}"
            return f"notify {importance}{_fcc(action.fcc)} {quote(action.method)}"
        case DuplicateMark():
            return f"duplicate :seconds {action.seconds} (tracked)"
    return action.name


def run(compiled: CompiledScript, message: bytes, envelope: RuleEnvelope) -> list[str]:
    """The action lines of one run (header edits and errors included)."""
    outcome = Interpreter().run(
        compiled, message, Envelope(envelope.mail_from, envelope.rcpt_to), StaticHost()
    )
    lines: list[str] = []
    if outcome.error is not None:
        lines.append(f"error {quote(str(outcome.error))}")
    problems: list[str] = []
    adds, removes = header_edits(message, outcome.message, problems.append)
    lines.extend(f"deleteheader {quote(name)}" for name in removes)
    lines.extend(f"addheader {quote(name)} {quote(value)}" for name, value in adds)
    lines.extend(action_line(action) for action in outcome.actions)
    return lines or ["keep"]


ENGINE = RuleEngine(name="sieve", suffixes=(".sieve", ".siv"), load=load, run=run)
