"""Hooks of the ``sieve`` plugin: filtering at local delivery, system scripts, the rule engine.

Thin hook implementations that delegate: :mod:`plugins.sieve.delivery` (the
recipient's active script at ``stalwart_before_delivery``), :mod:`plugins.sieve.system`
(administrators' scripts at RCPT and DATA), :mod:`plugins.sieve.rules_engine`
(``stalwart-kernel rules``) and :mod:`plugins.sieve.config` (the ``sieve`` section).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from kernel import Config, Diagnostic, Section, hookimpl
from plugins.sieve.config import SECTION, SieveConfig, validate

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel
    from kernel.pipeline import DeliveryTarget, Envelope, SessionInfo, Verdict
    from kernel.rules import RuleEngine

__all__ = [
    "stalwart_before_delivery",
    "stalwart_config_changed",
    "stalwart_config_validate",
    "stalwart_inbound_data",
    "stalwart_inbound_rcpt",
    "stalwart_register_config_sections",
    "stalwart_register_rule_engines",
    "stalwart_required_backends",
    "stalwart_startup",
]

VerdictCallable = Callable[[], Awaitable["Verdict | None"]]


def _conf(kernel: Kernel) -> SieveConfig:
    return SieveConfig.from_config(kernel.config, kernel.hostname)


async def _never_fails(
    kernel: Kernel, stage: str, judge: Callable[[], Awaitable[Verdict | None]]
) -> Verdict | None:
    """Run ``judge``; an unexpected failure is logged and counts as no opinion, so a
    problem of this plugin never refuses or delays mail (RFC 5228 §2.10.6)."""
    try:
        return await judge()
    except Exception:
        kernel.logger("sieve").exception("sieve-error", stage=stage, result="no opinion")
        return None


@hookimpl
def stalwart_register_config_sections() -> list[Section]:
    return [SECTION]


@hookimpl
def stalwart_config_validate(config: Config) -> list[Diagnostic]:
    return validate(config)


@hookimpl
def stalwart_required_backends() -> list[str]:
    return ["store"]


@hookimpl
def stalwart_startup(kernel: Kernel) -> Callable[..., Awaitable[None]]:
    from plugins.sieve.system import load_scripts

    async def start(task_status: Any) -> None:
        await load_scripts(kernel, _conf(kernel), strict=True)
        task_status.started()

    return start


@hookimpl
def stalwart_config_changed(
    kernel: Kernel, old: Config, new: Config
) -> Callable[[], Awaitable[None]]:
    from plugins.sieve.system import load_scripts

    del old

    async def reload() -> None:
        await load_scripts(kernel, SieveConfig.from_config(new, kernel.hostname), strict=False)

    return reload


@hookimpl
def stalwart_inbound_rcpt(
    kernel: Kernel, session: SessionInfo, envelope: Envelope, recipient: str
) -> VerdictCallable | None:
    from plugins.sieve.system import SCRIPTS, run_stage_script

    scripts = kernel.stash.get(SCRIPTS, None)
    if scripts is None or "rcpt" not in scripts.scripts:
        return None

    async def judge() -> Verdict | None:
        return await _never_fails(
            kernel,
            "rcpt",
            lambda: run_stage_script(
                kernel, "rcpt", session, envelope, recipient, b"", _conf(kernel)
            ),
        )

    return judge


@hookimpl
def stalwart_inbound_data(
    kernel: Kernel, session: SessionInfo, envelope: Envelope, message: bytes
) -> VerdictCallable | None:
    from plugins.sieve.system import SCRIPTS, run_stage_script

    scripts = kernel.stash.get(SCRIPTS, None)
    if scripts is None or "data" not in scripts.scripts:
        return None
    first = envelope.recipients[0] if envelope.recipients else ""

    async def judge() -> Verdict | None:
        return await _never_fails(
            kernel,
            "data",
            lambda: run_stage_script(
                kernel, "data", session, envelope, first, message, _conf(kernel)
            ),
        )

    return judge


@hookimpl
def stalwart_before_delivery(
    kernel: Kernel,
    session: SessionInfo,
    envelope: Envelope,
    delivery: DeliveryTarget,
    message: bytes,
) -> VerdictCallable | None:
    from plugins.sieve.delivery import filter_delivery

    conf = _conf(kernel)
    if not conf.enabled:
        return None

    async def judge() -> Verdict | None:
        return await _never_fails(
            kernel,
            "delivery",
            lambda: filter_delivery(kernel, session, envelope, delivery, message, conf),
        )

    return judge


@hookimpl
def stalwart_register_rule_engines() -> list[RuleEngine]:
    from plugins.sieve.rules_engine import ENGINE

    return [ENGINE]
