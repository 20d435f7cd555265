"""Hooks of the ``managesieve`` plugin: the protocol, its config section, the store it needs."""

from __future__ import annotations

from kernel import Config, Diagnostic, ProtocolSpec, Section, hookimpl
from plugins.managesieve.config import MIN_IDLE_TIMEOUT, SECTION, validate
from plugins.managesieve.proto import codes
from plugins.managesieve.proto.responses import Response
from plugins.managesieve.session import serve

__all__ = [
    "stalwart_config_validate",
    "stalwart_register_config_sections",
    "stalwart_register_protocols",
    "stalwart_required_backends",
]


@hookimpl
def stalwart_register_protocols() -> list[ProtocolSpec]:
    return [
        ProtocolSpec(
            name="managesieve",
            serve=serve,
            # RFC 5804 §1.2: at least 30 minutes after login (before login the
            # section's login_timeout applies).
            idle_timeout=MIN_IDLE_TIMEOUT,
            busy_reply=Response(
                "BYE", codes.TRYLATER, text="Too many connections, try again later"
            ).to_bytes(),
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
