"""Hooks of the ``smtp`` plugin: the ``smtp`` protocol, its configuration section, its checks.

Thin by design (STYLE.md §1.2): the protocol lives in :mod:`plugins.smtp.proto`,
the behaviour in :mod:`plugins.smtp.stages`, the I/O in :mod:`plugins.smtp.session`.
"""

from __future__ import annotations

from kernel import Config, Diagnostic, ProtocolSpec, Section, hookimpl
from plugins.smtp.config import ROLES, SECTION
from plugins.smtp.session import serve_connection

__all__ = [
    "stalwart_config_validate",
    "stalwart_register_config_sections",
    "stalwart_register_protocols",
    "stalwart_required_backends",
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
