"""The ``smtp`` configuration section and the settings a session reads from it.

Listeners are configured in the kernel's ``listeners`` section (``protocol:
smtp`` with a ``role``); this section holds what every SMTP listener shares.
A session takes one :class:`SmtpSettings` snapshot when it starts, so a reload
applies to new connections and never changes a dialogue half-way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, final

from kernel import Option, Section
from plugins.smtp.outbound.settings import QUEUE_OPTIONS

if TYPE_CHECKING:
    from kernel import Kernel

__all__ = ["ROLES", "SECTION", "SmtpSettings"]

#: Listener roles: inbound MTA (port 25), submission with STARTTLS (587, RFC 6409),
#: submission over implicit TLS (465, RFC 8314 §3.3).
ROLES = frozenset({"mta", "submission", "submissions"})

SECTION = Section(
    "smtp",
    "SMTP server: the settings every `protocol: smtp` listener shares.",
    (
        Option(
            "hostname",
            "string",
            None,
            "Name in the greeting, the EHLO reply and Received fields (default: server.hostname).",
        ),
        Option(
            "greeting_delay",
            "duration",
            "0s",
            "Wait this long before the greeting; a client that sends anything first "
            "(an early talker, RFC 5321 §4.3.1) is refused. 0 disables the check.",
        ),
        Option(
            "max_message_size",
            "size",
            "50MB",
            "Largest message accepted, advertised with SIZE (RFC 1870).",
            schema={"minimum": 1},
        ),
        Option(
            "max_recipients",
            "integer",
            100,
            "Recipients per transaction; more get 452 4.5.3 (RFC 5321 §4.5.3.1.8 asks "
            "for at least 100).",
            schema={"minimum": 1},
        ),
        Option(
            "max_received_headers",
            "integer",
            100,
            "A message with more Received fields is refused as a loop, 554 5.4.6 "
            "(RFC 5321 §6.3 suggests at least 100).",
            schema={"minimum": 1},
        ),
        Option(
            "max_errors",
            "integer",
            20,
            "Rejected commands per session before it is closed with 421.",
            schema={"minimum": 1},
        ),
        Option(
            "command_line_allowance",
            "size",
            512,
            "Octets a command line may run over the 512 of RFC 5321 §4.5.3.1.4, "
            "for extension parameters (ORCPT, ENVID, AUTH=).",
        ),
        Option(
            "bare_newlines",
            "string",
            "reject",
            "Bare CR or LF in message content: `reject` the message (554 5.6.0), or "
            "`normalise` them to CRLF. Either way only <CRLF>.<CRLF> ends DATA.",
            choices=("reject", "normalise"),
        ),
        Option("smtputf8", "boolean", True, "Offer SMTPUTF8 (RFC 6531)."),
        Option(
            "dsn",
            "boolean",
            False,
            "Offer DSN (RFC 3461) and accept its parameters (NOTIFY, ORCPT, RET, ENVID). "
            "Failure notifications are sent through the outbound queue either way; "
            "this only lets clients ask for more (success, delay) or for none.",
        ),
        Option(
            "auth_on_mta",
            "boolean",
            False,
            "Offer AUTH on `role: mta` listeners too (always offered on submission).",
        ),
        Option(
            "sender_must_own",
            "boolean",
            True,
            "An authenticated client may only use MAIL FROM addresses delivered to "
            "its own account (RFC 6409 §6.1).",
        ),
        Option(
            "trace.tls",
            "boolean",
            True,
            "Record the TLS cipher in Received fields (RFC 8314 §4.3).",
        ),
        Option(
            "trace.authenticated_user",
            "boolean",
            False,
            "Record the authenticated account in Received fields (a comment).",
        ),
        Option(
            "rate_limit.window",
            "duration",
            "1m",
            "The window of the per-address rate limits.",
        ),
        Option(
            "rate_limit.connections_per_ip",
            "integer",
            0,
            "Connections per client address per window; 0 is unlimited.",
            schema={"minimum": 0},
        ),
        Option(
            "rate_limit.messages_per_ip",
            "integer",
            0,
            "Transactions (MAIL commands) per client address per window; 0 is unlimited.",
            schema={"minimum": 0},
        ),
        *QUEUE_OPTIONS,
    ),
)


@final
@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """A snapshot of the ``smtp`` section and what it derives from."""

    hostname: str
    greeting_delay: float
    max_message_size: int
    max_recipients: int
    max_received_headers: int
    max_errors: int
    command_line_allowance: int
    normalise_newlines: bool
    smtputf8: bool
    dsn: bool
    auth_on_mta: bool
    sender_must_own: bool
    trace_tls: bool
    trace_user: bool
    rate_window: float
    connections_per_ip: int
    messages_per_ip: int

    @classmethod
    def from_kernel(cls, kernel: Kernel) -> SmtpSettings:
        """The settings of ``kernel``'s current configuration."""
        smtp = kernel.config["smtp"]
        rate = smtp["rate_limit"]
        return cls(
            hostname=smtp["hostname"] or kernel.hostname,
            greeting_delay=smtp["greeting_delay"],
            max_message_size=smtp["max_message_size"],
            max_recipients=smtp["max_recipients"],
            max_received_headers=smtp["max_received_headers"],
            max_errors=smtp["max_errors"],
            command_line_allowance=smtp["command_line_allowance"],
            normalise_newlines=smtp["bare_newlines"] == "normalise",
            smtputf8=smtp["smtputf8"],
            dsn=smtp["dsn"],
            auth_on_mta=smtp["auth_on_mta"],
            sender_must_own=smtp["sender_must_own"],
            trace_tls=smtp["trace"]["tls"],
            trace_user=smtp["trace"]["authenticated_user"],
            rate_window=rate["window"],
            connections_per_ip=rate["connections_per_ip"],
            messages_per_ip=rate["messages_per_ip"],
        )
