"""Hooks of the ``imap`` plugin: the protocol, its configuration section, its needs.

Everything here delegates: the session is :func:`plugins.imap.session.serve`, the
options are :data:`plugins.imap.config.SECTION`.
"""

from __future__ import annotations

from kernel import Config, Diagnostic, ProtocolSpec, Section, hookimpl
from plugins.imap.config import SECTION, validate
from plugins.imap.session import serve

__all__ = [
    "stalwart_config_validate",
    "stalwart_register_config_sections",
    "stalwart_register_protocols",
    "stalwart_required_backends",
]


@hookimpl
def stalwart_register_protocols() -> list[ProtocolSpec]:
    """``protocol: imap`` listeners (RFC 9051; implicit TLS per RFC 8314 §3.3)."""
    return [
        ProtocolSpec(
            name="imap",
            serve=serve,
            idle_timeout=1800.0,  # RFC 9051 §5.4; the session sets its own timers
            busy_reply=b"* BYE [UNAVAILABLE] Too many connections, try again later\r\n",
        )
    ]


@hookimpl
def stalwart_required_backends() -> list[str]:
    """IMAP serves the store's mail."""
    return ["store"]


@hookimpl
def stalwart_register_config_sections() -> list[Section]:
    """The ``imap`` section."""
    return [SECTION]


@hookimpl
def stalwart_config_validate(config: Config) -> list[Diagnostic]:
    """Rules the schema cannot express (time zone, RFC 9051 §5.4 floor)."""
    return validate(config)
