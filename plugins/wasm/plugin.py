"""Hooks of the ``wasm`` plugin: sandboxed WebAssembly rules in the message pipeline.

Configured modules (``wasm.modules``) run at the SMTP stages connect, ehlo, mail,
rcpt and data and before each local delivery; their actions become verdicts
(:mod:`plugins.wasm.verdicts`). Calls run in worker threads under a capacity
limiter, so a slow module never blocks the trio loop. The plugin also provides
the WASM rule engine and the ``rules`` command.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio

from kernel import CommandSpec, Kernel, Section, hookimpl
from kernel.pipeline import DeliveryTarget, Envelope, SessionInfo, Verdict
from kernel.rules import RuleEngine
from kernel.stash import StashKey
from kernel.telemetry import get_logger
from plugins.wasm.abi import EnvField
from plugins.wasm.commands import COMMANDS
from plugins.wasm.config import SECTION, ModuleSpec, module_specs
from plugins.wasm.context import CallInput, MessageView, build_tables
from plugins.wasm.engine import rule_engine
from plugins.wasm.redirects import queue_of, send_redirects
from plugins.wasm.registry import ModuleRegistry
from plugins.wasm.verdicts import stage_verdict

REGISTRY: StashKey[ModuleRegistry] = StashKey()
LIMITER: StashKey[trio.CapacityLimiter] = StashKey()
TABLES: StashKey[tuple[object, dict[str, dict[str, str]]]] = StashKey()
SPECS: StashKey[tuple[object, list[ModuleSpec]]] = StashKey()
_log = get_logger("wasm")

VerdictFn = Callable[[], Awaitable[Verdict | None]]


@hookimpl
def stalwart_register_config_sections() -> list[Section]:
    return [SECTION]


@hookimpl
def stalwart_required_backends() -> list[str]:
    # ``rules replay`` reads mail through the store.
    return ["store"]


@hookimpl
def stalwart_register_commands() -> list[CommandSpec]:
    return COMMANDS


@hookimpl
def stalwart_register_rule_engines() -> list[RuleEngine]:
    return [rule_engine()]


def registry(kernel: Kernel) -> ModuleRegistry:
    """The kernel's module registry (one sandbox per kernel)."""
    found = kernel.stash.get(REGISTRY, None)
    if found is None:
        found = ModuleRegistry()
        kernel.stash[REGISTRY] = found
    return found


def _all_specs(kernel: Kernel) -> list[ModuleSpec]:
    """The configured modules, built once per configuration (reload gives a new one)."""
    if "wasm" not in kernel.config:
        return []
    section = kernel.config["wasm"]
    cached = kernel.stash.get(SPECS, None)
    if cached is None or cached[0] is not section:
        cached = (section, module_specs(section))
        kernel.stash[SPECS] = cached
    return cached[1]


def _specs(kernel: Kernel, stage: str) -> list[ModuleSpec]:
    modules = registry(kernel)
    out = []
    for spec in _all_specs(kernel):
        if spec.stages is not None:
            if stage in spec.stages:
                out.append(spec)
            continue
        # Every stage it exports: skip the thread hop when it is known not to.
        known = modules.cached_stages(spec.path)
        if known is None or stage in known:
            out.append(spec)
    return out


@hookimpl
def stalwart_startup(kernel: Kernel) -> Callable[..., Awaitable[None]] | None:
    specs = _all_specs(kernel)
    if not specs:
        return None

    async def precompile(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        modules = registry(kernel)

        def compile_all() -> None:
            for spec in specs:
                try:
                    modules.get(spec.path)
                except (OSError, ValueError) as exc:
                    # Logged; its calls fail with the module's on_error policy.
                    _log.error("wasm-module-unavailable", module=spec.name, error=str(exc))

        await trio.to_thread.run_sync(compile_all)
        task_status.started()

    return precompile


def _stage(
    kernel: Kernel, stage: str, fields: dict[int, Any], message: bytes | None, queue_id: str = ""
) -> VerdictFn | None:
    specs = _specs(kernel, stage)
    if not specs:
        return None
    section = kernel.config["wasm"]

    async def judge() -> Verdict | None:
        view = MessageView(message, section["max_text"]) if message is not None else None
        data = CallInput(stage, fields, view, _tables(kernel, section["tables"]))
        limiter = kernel.stash.get(LIMITER, None)
        if limiter is None:
            limiter = trio.CapacityLimiter(section["max_concurrent_calls"])
            kernel.stash[LIMITER] = limiter
        limiter.total_tokens = section["max_concurrent_calls"]  # follows reloads
        modules = registry(kernel)
        outcomes = await trio.to_thread.run_sync(
            modules.run_stage, specs, stage, data, limiter=limiter
        )
        queue = queue_of(kernel) if stage == "delivery" else None
        verdict = stage_verdict(stage, outcomes, queue_id, redirects=queue is not None)
        if queue is not None and message is not None and not (verdict and verdict.refused):
            sender = fields.get(EnvField.MAIL_FROM) or ""
            await send_redirects(queue, kernel.hostname, outcomes, message, sender, queue_id)
        return verdict

    return judge


def _tables(kernel: Kernel, raw: Any) -> dict[str, dict[str, str]]:
    """The configured tables, lower-cased once per configuration (not per call)."""
    cached = kernel.stash.get(TABLES, None)
    if cached is None or cached[0] is not raw:
        cached = (raw, build_tables(raw))
        kernel.stash[TABLES] = cached
    return cached[1]


def _session_fields(session: SessionInfo) -> dict[int, Any]:
    return {
        EnvField.REMOTE_IP: session.remote[0],
        EnvField.HELO: session.helo,
        EnvField.AUTH_ACCOUNT: session.account,
        EnvField.LISTENER: session.listener,
    }


def _envelope_fields(envelope: Envelope, recipients: tuple[str, ...]) -> dict[int, Any]:
    return {
        EnvField.MAIL_FROM: envelope.sender,
        EnvField.RCPT_TO: recipients,
        EnvField.QUEUE_ID: envelope.queue_id,
    }


@hookimpl
def stalwart_inbound_connect(kernel: Kernel, session: SessionInfo) -> VerdictFn | None:
    return _stage(kernel, "connect", _session_fields(session), None)


@hookimpl
def stalwart_inbound_ehlo(kernel: Kernel, session: SessionInfo, helo: str) -> VerdictFn | None:
    fields = _session_fields(session)
    fields[EnvField.HELO] = helo  # the name being judged, not the previous one
    return _stage(kernel, "ehlo", fields, None)


@hookimpl
def stalwart_inbound_mail(
    kernel: Kernel, session: SessionInfo, envelope: Envelope
) -> VerdictFn | None:
    fields = _session_fields(session)
    fields.update(_envelope_fields(envelope, envelope.recipients))
    return _stage(kernel, "mail", fields, None, envelope.queue_id)


@hookimpl
def stalwart_inbound_rcpt(
    kernel: Kernel, session: SessionInfo, envelope: Envelope, recipient: str
) -> VerdictFn | None:
    fields = _session_fields(session)
    fields.update(_envelope_fields(envelope, (recipient, *envelope.recipients)))
    return _stage(kernel, "rcpt", fields, None, envelope.queue_id)


@hookimpl
def stalwart_inbound_data(
    kernel: Kernel, session: SessionInfo, envelope: Envelope, message: bytes
) -> VerdictFn | None:
    fields = _session_fields(session)
    fields.update(_envelope_fields(envelope, envelope.recipients))
    return _stage(kernel, "data", fields, message, envelope.queue_id)


@hookimpl
def stalwart_before_delivery(
    kernel: Kernel,
    session: SessionInfo,
    envelope: Envelope,
    delivery: DeliveryTarget,
    message: bytes,
) -> VerdictFn | None:
    fields = _session_fields(session)
    fields.update(_envelope_fields(envelope, (delivery.recipient,)))
    fields[EnvField.ACCOUNT] = delivery.account
    fields[EnvField.MAILBOX] = delivery.mailbox
    return _stage(kernel, "delivery", fields, message, envelope.queue_id)
