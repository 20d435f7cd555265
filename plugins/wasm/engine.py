"""The WASM :class:`~kernel.rules.RuleEngine`: run a module outside SMTP, print its actions.

``rules test``, ``rules replay``, the golden tests and the benchmark use it. A
module is run at every stage it exports, in pipeline order, with the envelope
given and the message (connect, ehlo, mail and rcpt calls see no message, as in
SMTP; there is no client, so ehlo sees no HELO name and mail no recipient);
action lines carry their stage (``rcpt: reject 550 5.7.1 "..."``). A refusal
ends the run, as it ends the transaction. When no stage refused or chose where
the message goes, a last line says ``keep`` (the implicit keep, RFC 5228 §2.10.2).
A failed call prints ``<stage>: error <kind>: <detail>`` and then what the
``on_error`` policy does (``keep``; the engine has no policy of its own).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kernel.rules import RuleEngine, RuleEnvelope
from plugins.wasm.abi import EnvField
from plugins.wasm.actions import Discard, FileInto, Keep, Redirect, Reject, Tempfail, describe
from plugins.wasm.context import CallInput, MessageView, build_tables
from plugins.wasm.sandbox import CompiledModule, Limits, Sandbox

__all__ = ["SUFFIXES", "rule_engine", "run_module"]

SUFFIXES = (".wasm", ".wat")
_DISPOSITIONS = (Keep, FileInto, Discard, Redirect)


def stage_input(
    stage: str,
    message: bytes,
    envelope: RuleEnvelope,
    tables: Mapping[str, Mapping[str, str]],
    view: MessageView,
) -> CallInput:
    """What a stage's call sees when the rule runs outside a live transaction."""
    fields: dict[int, Any] = {EnvField.MAIL_FROM: envelope.mail_from}
    if envelope.rcpt_to and stage != "mail":  # at MAIL no recipient is known yet
        fields[EnvField.RCPT_TO] = (envelope.rcpt_to,)
    if stage == "delivery":
        fields[EnvField.ACCOUNT] = envelope.rcpt_to
        fields[EnvField.MAILBOX] = "INBOX"
    if stage in ("connect", "ehlo"):
        fields = {}
    has_message = stage in ("data", "delivery")
    return CallInput(stage, fields, view if has_message else None, tables)


def run_module(
    sandbox: Sandbox,
    compiled: CompiledModule,
    message: bytes,
    envelope: RuleEnvelope,
    *,
    tables: Mapping[str, Mapping[str, str]] | None = None,
    limits: Limits | None = None,
    name: str = "rule",
) -> list[str]:
    """The action lines of ``compiled`` run at each stage it exports."""
    view = MessageView(message, 1 << 20)
    lines: list[str] = []
    decided = False
    for stage in compiled.stages:
        data = stage_input(stage, message, envelope, tables or {}, view)
        outcome = sandbox.call(compiled, name, stage, data, limits or Limits())
        if outcome.error is not None:
            lines.append(f"{stage}: error {outcome.error}: {outcome.detail}")
            continue
        lines.extend(f"{stage}: {line}" for line in describe(outcome.actions))
        if any(isinstance(a, Reject | Tempfail) for a in outcome.actions):
            return lines
        decided = decided or any(isinstance(a, _DISPOSITIONS) for a in outcome.actions)
    if not decided:
        lines.append("keep")
    return lines


def rule_engine(
    tables: Mapping[str, Any] | None = None, limits: Limits | None = None
) -> RuleEngine:
    """A WASM rule engine with its own sandbox and the given lookup tables.

    Args:
        tables: ``wasm.tables``-shaped tables (lists or maps) for ``lookup``.
        limits: per-call limits (default: :class:`~plugins.wasm.sandbox.Limits`).
    """
    sandbox: list[Sandbox] = []  # created on first load: an Engine is not free
    built = build_tables(tables)

    def get_sandbox() -> Sandbox:
        if not sandbox:
            sandbox.append(Sandbox())
        return sandbox[0]

    def load(path: Path) -> CompiledModule:
        return get_sandbox().compile(path)

    def run(compiled: CompiledModule, message: bytes, envelope: RuleEnvelope) -> list[str]:
        return run_module(get_sandbox(), compiled, message, envelope, tables=built, limits=limits)

    return RuleEngine("wasm", SUFFIXES, load, run)
