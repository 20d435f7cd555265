"""Hooks of the ``pop3`` plugin: the ``pop3`` protocol, its config section, the store it needs."""

from __future__ import annotations

from kernel import Config, Diagnostic, ProtocolSpec, Section, hookimpl
from plugins.pop3.config import MIN_IDLE_TIMEOUT, SECTION, validate
from plugins.pop3.session import serve

__all__ = [
    "stalwart_config_validate",
    "stalwart_register_config_sections",
    "stalwart_register_protocols",
    "stalwart_required_backends",
]

#: The default idle timeout: RFC 1939 §3's minimum for the autologout timer.
IDLE_TIMEOUT = MIN_IDLE_TIMEOUT


@hookimpl
def stalwart_register_protocols() -> list[ProtocolSpec]:
    return [
        ProtocolSpec(
            name="pop3",
            serve=serve,
            idle_timeout=IDLE_TIMEOUT,
            busy_reply=b"-ERR [SYS/TEMP] Too many connections, try again later\r\n",
        )
    ]


@hookimpl
def stalwart_register_config_sections() -> list[Section]:
    return [SECTION]


@hookimpl
def stalwart_config_validate(config: Config) -> list[Diagnostic]:
    return validate(config)


@hookimpl
def stalwart_required_backends() -> list[str]:
    return ["store"]
