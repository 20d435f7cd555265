"""The ``pop3`` configuration section and the settings a session reads from it.

Every option is reloadable: a session takes a :class:`Pop3Settings` snapshot
when it starts, so a reload applies to the sessions that start after it. The
idle timeout is the listener's ``limits.idle_timeout`` (default 10 minutes,
the minimum RFC 1939 §3 allows).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, final

from kernel import Config, Diagnostic, Option, Section, Severity

__all__ = ["MIN_IDLE_TIMEOUT", "SECTION", "Pop3Settings", "validate"]

#: RFC 1939 §3: an autologout timer "MUST be of at least 10 minutes' duration".
MIN_IDLE_TIMEOUT: Final = 600.0

SECTION: Final = Section(
    "pop3",
    "POP3 (RFC 1939) sessions on `protocol: pop3` listeners.",
    (
        Option(
            "max_command_length",
            "size",
            "8KiB",
            "Longest command line accepted, without its line end (RFC 2449 §4 asks for "
            "at least 255 octets with CRLF, the floor applied to smaller values; "
            "OAUTHBEARER initial responses need more).",
        ),
        Option(
            "max_auth_failures",
            "integer",
            3,
            "Failed logins on one connection before it is closed.",
            schema={"minimum": 1},
        ),
        Option(
            "auth_failure_delay",
            "duration",
            "1s",
            "Pause before answering a failed login (slows password guessing; 0 in tests).",
        ),
        Option(
            "login_delay",
            "duration",
            0,
            "Minimum time between two logins of one account, announced as LOGIN-DELAY "
            "(RFC 2449 §6.5) and enforced per server process; 0 announces no delay.",
        ),
        Option(
            "expire",
            "string",
            "NEVER",
            "Announced retention (RFC 2449 §6.7): NEVER, or days. 0 means clients may not "
            "leave mail on the server: every message sent by RETR is removed at QUIT.",
            schema={"pattern": "^(NEVER|[0-9]+)$"},
        ),
        Option(
            "deleted_to_trash",
            "boolean",
            False,
            "Messages deleted through POP3 move to the account's Trash at QUIT instead "
            "of being removed for good.",
        ),
        Option(
            "lease_ttl",
            "duration",
            "60s",
            "Lifetime of the maildrop lock in the store, renewed every third of it while "
            "the session lives; a crashed server's lock frees itself after this long "
            "(at least 1s).",
        ),
        Option(
            "utf8_messages",
            "string",
            "refuse",
            "RETR/TOP of a message with UTF-8 in its header by a client that did not "
            "send UTF8: refuse with -ERR [UTF8] (RFC 6856 §2.1) or send it as is.",
            choices=("refuse", "send"),
        ),
        Option(
            "implementation",
            "string",
            "stalwart-kernel",
            "The IMPLEMENTATION capability's value (RFC 2449 §6.9); empty to omit it.",
        ),
    ),
)


@final
@dataclass(frozen=True, slots=True)
class Pop3Settings:
    """A session's view of the ``pop3`` section (durations in seconds)."""

    max_command_length: int = 8192
    max_auth_failures: int = 3
    auth_failure_delay: float = 1.0
    login_delay: float = 0.0
    expire: str = "NEVER"
    deleted_to_trash: bool = False
    lease_ttl: float = 60.0
    utf8_messages: str = "refuse"
    implementation: str = "stalwart-kernel"

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> Pop3Settings:
        """Settings from the validated ``pop3`` section."""
        return cls(
            max_command_length=int(section["max_command_length"]),
            max_auth_failures=int(section["max_auth_failures"]),
            auth_failure_delay=float(section["auth_failure_delay"]),
            login_delay=float(section["login_delay"]),
            expire=str(section["expire"]),
            deleted_to_trash=bool(section["deleted_to_trash"]),
            lease_ttl=max(1.0, float(section["lease_ttl"])),
            utf8_messages=str(section["utf8_messages"]),
            implementation=str(section["implementation"]),
        )


def validate(config: Config) -> list[Diagnostic]:
    """Warn about ``pop3`` listeners whose idle timeout is shorter than RFC 1939 §3 allows."""
    warnings = []
    for name, listener in config["listeners"].items():
        timeout = listener["limits"]["idle_timeout"] if listener.get("limits") else None
        if listener["protocol"] == "pop3" and timeout is not None and timeout < MIN_IDLE_TIMEOUT:
            path = ("listeners", name, "limits", "idle_timeout")
            warnings.append(
                Diagnostic(
                    Severity.WARNING,
                    f"{timeout:g}s is shorter than the 10 minutes RFC 1939 §3 requires of "
                    "a POP3 autologout timer",
                    path,
                    config.location(path),
                )
            )
    return warnings
