"""Hooks of the ``smtp`` plugin: the ``smtp`` protocol, its configuration section, its
checks, the outbound queue manager (a startup service) and the ``queue`` command.

Thin by design (STYLE.md §1.2): the protocol lives in :mod:`plugins.smtp.proto`,
the behaviour in :mod:`plugins.smtp.stages`, the I/O in :mod:`plugins.smtp.session`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from kernel import CommandSpec, Config, Diagnostic, Kernel, ProtocolSpec, Section, hookimpl
from plugins.smtp.config import ROLES, SECTION
from plugins.smtp.outbound.commands import COMMANDS
from plugins.smtp.outbound.manager import QUEUE_MANAGER, QueueManager
from plugins.smtp.session import serve_connection

__all__ = [
    "stalwart_config_validate",
    "stalwart_register_commands",
    "stalwart_register_config_sections",
    "stalwart_register_protocols",
    "stalwart_required_backends",
    "stalwart_startup",
]

#: Sent before closing a connection refused by a connection limit (RFC 5321 §3.8).
BUSY_REPLY = b"421 4.7.0 too many connections; try again later\r\n"


@hookimpl
def stalwart_register_config_sections() -> list[Section]:
    return [SECTION]


@hookimpl
def stalwart_register_protocols() -> list[ProtocolSpec]:
    return [
        ProtocolSpec(
            name="smtp",
            serve=serve_connection,
            roles=ROLES,
            # RFC 5321 §4.5.3.2.7: the server waits at least 5 minutes for a command.
            idle_timeout=300.0,
            busy_reply=BUSY_REPLY,
        )
    ]


@hookimpl
def stalwart_required_backends() -> list[str]:
    return ["store"]


@hookimpl
def stalwart_config_validate(config: Config) -> list[Diagnostic]:
    out = []
    for name, options in config.listeners.items():
        if options.get("protocol") != "smtp":
            continue
        if options.get("role") == "submissions" and options.get("tls") != "implicit":
            # RFC 8314 §3.3: port 465 submission is implicit TLS.
            out.append(
                config.diagnostic(
                    ("listeners", name, "tls"), "role submissions needs tls: implicit (RFC 8314)"
                )
            )
    return out


@hookimpl
def stalwart_register_commands() -> list[CommandSpec]:
    return COMMANDS


@hookimpl
def stalwart_startup(kernel: Kernel) -> Callable[..., Awaitable[None]]:
    manager = QueueManager(kernel)
    kernel.stash[QUEUE_MANAGER] = manager

    async def run(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await manager.run(task_status=task_status)

    return run
