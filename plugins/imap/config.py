"""The ``imap`` configuration section and its typed view.

Every option carries its unit (durations in seconds after loading, sizes in bytes);
:func:`imap_config` reads the loaded section into an immutable :class:`ImapConfig`,
which a session takes once at connect, so a reload applies to new connections.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kernel import Config, Diagnostic, Option, Section

__all__ = ["MIN_AUTOLOGOUT", "SECTION", "ImapConfig", "imap_config", "validate"]

#: RFC 9051 §5.4: an autologout timer after authentication is at least 30 minutes.
MIN_AUTOLOGOUT = 1800.0

SECTION = Section(
    "imap",
    "The IMAP server (RFC 9051 IMAP4rev2 and RFC 3501 IMAP4rev1).",
    (
        Option(
            "max_line_length",
            "size",
            "64KB",
            "Longest command line accepted, literals excluded (RFC 7162 §4 asks for at "
            "least 8192 octets); a longer one gets BAD.",
            schema={"minimum": 8192},
        ),
        Option(
            "max_literal_size",
            "size",
            "64KB",
            "Largest literal accepted in a command other than APPEND (mailbox names, "
            "search strings, metadata values).",
            schema={"minimum": 1024},
        ),
        Option(
            "append_limit",
            "size",
            "50MB",
            "Largest message APPEND accepts; advertised as APPENDLIMIT (RFC 7889).",
            schema={"minimum": 1024},
        ),
        Option(
            "max_command_size",
            "size",
            "64MB",
            "Largest command in total (a MULTIAPPEND of several messages included).",
            schema={"minimum": 65536},
        ),
        Option(
            "max_auth_failures",
            "integer",
            3,
            "Failed LOGIN/AUTHENTICATE attempts on one connection before it is closed.",
            schema={"minimum": 1},
        ),
        Option(
            "timeouts.authenticated",
            "duration",
            "30m",
            "Autologout after this much client silence once logged in (RFC 9051 §5.4: "
            "at least 30 minutes). IDLE is exempt up to timeouts.idle.",
        ),
        Option(
            "timeouts.unauthenticated",
            "duration",
            "60s",
            "Silence allowed before logging in.",
        ),
        Option(
            "timeouts.idle",
            "duration",
            "30m",
            "How long one IDLE may last with no client data (RFC 2177 §3: clients "
            "re-issue IDLE at least every 29 minutes).",
        ),
        Option(
            "max_connections_per_account",
            "integer",
            50,
            "Concurrent logged-in sessions per account on this node; more get NO [LIMIT].",
            schema={"minimum": 1},
        ),
        Option(
            "timezone",
            "string",
            "local",
            "The server time zone for SEARCH dates (BEFORE/ON/SINCE, RFC 9051 §6.4.4): "
            "``local`` or an IANA zone name such as ``Europe/Paris`` or ``UTC``.",
        ),
        Option(
            "server_name",
            "string",
            "stalwart-kernel",
            "The ``name`` sent in the ID response (RFC 2971).",
        ),
    ),
)


@final
@dataclass(frozen=True, slots=True)
class ImapConfig:
    """The ``imap`` section, loaded (see :data:`SECTION` for the meaning of each)."""

    max_line_length: int = 65536
    max_literal_size: int = 65536
    append_limit: int = 50 * 2**20
    max_command_size: int = 64 * 2**20
    max_auth_failures: int = 3
    authenticated_timeout: float = 1800.0
    unauthenticated_timeout: float = 60.0
    idle_timeout: float = 1800.0
    max_connections_per_account: int = 50
    timezone: dt.tzinfo = dt.UTC
    server_name: str = "stalwart-kernel"


def _zone(name: str) -> dt.tzinfo:
    """The zone called ``name``; ValueError if there is none."""
    if name == "local":
        local = dt.datetime.now().astimezone().tzinfo
        return local if local is not None else dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def validate(config: Config) -> list[Diagnostic]:
    """The rules the schema cannot express: a known time zone, RFC 9051 §5.4's floor."""
    if "imap" not in config:
        return []
    section = config["imap"]
    out = []
    try:
        _zone(str(section["timezone"]))
    except ValueError as exc:
        out.append(config.diagnostic("imap.timezone", str(exc)))
    if float(section["timeouts"]["authenticated"]) < MIN_AUTOLOGOUT:
        out.append(
            config.diagnostic(
                "imap.timeouts.authenticated",
                "must be at least 30m (RFC 9051 §5.4 autologout timer)",
            )
        )
    return out


def imap_config(section: dict[str, Any] | None) -> ImapConfig:
    """The typed view of a loaded ``imap`` section (``None``: the defaults)."""
    if not section:
        return ImapConfig()
    timeouts = section.get("timeouts") or {}
    return ImapConfig(
        max_line_length=int(section["max_line_length"]),
        max_literal_size=int(section["max_literal_size"]),
        append_limit=int(section["append_limit"]),
        max_command_size=int(section["max_command_size"]),
        max_auth_failures=int(section["max_auth_failures"]),
        authenticated_timeout=float(timeouts["authenticated"]),
        unauthenticated_timeout=float(timeouts["unauthenticated"]),
        idle_timeout=float(timeouts["idle"]),
        max_connections_per_account=int(section["max_connections_per_account"]),
        timezone=_zone(str(section["timezone"])),
        server_name=str(section["server_name"]),
    )
