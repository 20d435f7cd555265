"""The ``sieve`` configuration section and the settings delivery reads from it.

Every option is reloadable: delivery takes a :class:`SieveConfig` snapshot from the
running configuration at each message, and system scripts are recompiled when a
reload changes them (:mod:`plugins.sieve.system`).

Implementation notes:

* Vacation periods are durations (``"7d"``, ``"12h"``); RFC 5230 §4.1 asks for a
  minimum of one day, RFC 6131 §2 lets a site allow less with ``:seconds``; the
  validator only checks ``min <= default <= max``.
* ``redirect.sender: srs`` needs ``srs.secret``: a rewrite that cannot be verified
  later is worse than none (the validator says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, final

from kernel import Config, Diagnostic, Option, Section, Severity
from plugins.sieve.limits import Limits
from plugins.sieve.settings import Settings

__all__ = ["SECTION", "SieveConfig", "validate"]

SECTION: Final = Section(
    "sieve",
    "Sieve filtering (RFC 5228) at local delivery and in administrators' system scripts.",
    (
        Option(
            "enabled",
            "boolean",
            True,
            "Run each recipient's active script at local delivery.",
        ),
        Option(
            "max_run_time",
            "duration",
            "5s",
            "Wall-clock budget of one script run, lookups included; a run over it is "
            "abandoned and the message kept in INBOX (RFC 5228 §2.10.6).",
        ),
        Option(
            "max_script_size",
            "size",
            "1MiB",
            "Largest script compiled at delivery (larger ones are kept out and logged).",
        ),
        Option(
            "max_actions",
            "integer",
            32,
            "Most actions one run may take; more is a run-time error (the message is kept).",
            schema={"minimum": 1, "maximum": 1024},
        ),
        Option(
            "max_redirects",
            "integer",
            4,
            "Most redirect actions one run may take (RFC 5228 §4.2 asks for a limit).",
            schema={"minimum": 0, "maximum": 64},
        ),
        Option(
            "recipient_delimiter",
            "string",
            "+",
            "Characters that separate user and detail in an address (RFC 5233 §4).",
        ),
        Option(
            "postmaster",
            "string",
            None,
            "Address generated messages (notifications) come from; default "
            "postmaster@<server.hostname>.",
        ),
        Option(
            "global_dir",
            "string",
            None,
            "Directory holding the scripts `include :global` finds (RFC 6609 §3.2), "
            "as NAME.sieve; unset: global includes fail.",
        ),
        Option(
            "vacation.min_period",
            "duration",
            "1d",
            "Shortest vacation response interval a script may ask for (RFC 5230 §4.1, "
            "RFC 6131 §2).",
        ),
        Option(
            "vacation.default_period",
            "duration",
            "7d",
            "Vacation response interval when the script gives no :days or :seconds.",
        ),
        Option(
            "vacation.max_period",
            "duration",
            "90d",
            "Longest vacation response interval a script may ask for.",
        ),
        Option(
            "redirect.sender",
            "string",
            "keep",
            "Envelope sender of redirected copies: the original one (`keep`) or an "
            "SRS0 rewrite of it in `srs.domain` (`srs`), so SPF passes at the next hop.",
            choices=("keep", "srs"),
        ),
        Option(
            "srs.secret",
            "string",
            None,
            "Secret key of the SRS hash (required with `redirect.sender: srs`); use "
            "${file:...} or ${env:...} rather than writing it here.",
        ),
        Option(
            "srs.domain",
            "string",
            None,
            "Domain of SRS addresses; default server.hostname.",
        ),
        Option(
            "srs.max_age",
            "duration",
            "21d",
            "How long an SRS address stays valid for bounces (its timestamp's age).",
        ),
        Option(
            "system.rcpt",
            "string",
            None,
            "Path of a system script run at each RCPT of a local recipient "
            "(reject refuses the recipient; see docs/sieve.md for the other actions).",
        ),
        Option(
            "system.data",
            "string",
            None,
            "Path of a system script run once per message at the end of DATA "
            "(reject refuses the message, editheader edits every copy).",
        ),
    ),
)


@final
@dataclass(frozen=True, slots=True)
class SieveConfig:
    """A delivery's view of the ``sieve`` section (durations in seconds)."""

    enabled: bool = True
    max_run_time: float = 5.0
    max_script_size: int = 1024 * 1024
    max_actions: int = 32
    max_redirects: int = 4
    recipient_delimiter: str = "+"
    postmaster: str = "postmaster@localhost"
    global_dir: str | None = None
    vacation_min_period: int = 86400
    vacation_default_period: int = 7 * 86400
    vacation_max_period: int = 90 * 86400
    redirect_sender: str = "keep"
    srs_secret: str | None = None
    srs_domain: str = "localhost"
    srs_max_age: float = 21 * 86400.0
    system_rcpt: str | None = None
    system_data: str | None = None

    @classmethod
    def from_config(cls, config: Config | Mapping[str, Any], hostname: str) -> SieveConfig:
        """Settings from the validated configuration (``sieve`` section) and host name."""
        section: Mapping[str, Any] = config.get("sieve") or {}
        if not section:
            return cls(postmaster=f"postmaster@{hostname}", srs_domain=hostname)
        vacation, redirect = section["vacation"], section["redirect"]
        srs, system = section["srs"], section["system"]
        return cls(
            enabled=bool(section["enabled"]),
            max_run_time=float(section["max_run_time"]),
            max_script_size=int(section["max_script_size"]),
            max_actions=int(section["max_actions"]),
            max_redirects=int(section["max_redirects"]),
            recipient_delimiter=str(section["recipient_delimiter"]),
            postmaster=section["postmaster"] or f"postmaster@{hostname}",
            global_dir=section["global_dir"],
            vacation_min_period=int(vacation["min_period"]),
            vacation_default_period=int(vacation["default_period"]),
            vacation_max_period=int(vacation["max_period"]),
            redirect_sender=str(redirect["sender"]),
            srs_secret=srs["secret"],
            srs_domain=srs["domain"] or hostname,
            srs_max_age=float(srs["max_age"]),
            system_rcpt=system["rcpt"],
            system_data=system["data"],
        )

    def limits(self) -> Limits:
        """The interpreter's safety limits under this configuration."""
        return Limits(
            max_script_size=self.max_script_size,
            max_actions=self.max_actions,
            max_redirects=self.max_redirects,
            max_run_seconds=self.max_run_time,
            regex_timeout=min(1.0, self.max_run_time),
        )

    def settings(self, user_email: str | None = None) -> Settings:
        """The interpreter's policy settings for one recipient (``None``: system scripts)."""
        return Settings(
            recipient_delimiter=self.recipient_delimiter,
            vacation_min_period=self.vacation_min_period,
            vacation_default_period=self.vacation_default_period,
            vacation_max_period=self.vacation_max_period,
            user_email=user_email,
            postmaster=self.postmaster,
        )


def validate(config: Config) -> list[Diagnostic]:
    """Check what the schema cannot: vacation period order, SRS needing a secret."""
    section = config.get("sieve")
    if not section:
        return []
    problems: list[Diagnostic] = []
    vacation = section["vacation"]
    if not vacation["min_period"] <= vacation["default_period"] <= vacation["max_period"]:
        path = ("sieve", "vacation", "default_period")
        problems.append(
            Diagnostic(
                Severity.ERROR,
                "vacation periods must satisfy min_period <= default_period <= max_period",
                path,
                config.location(path),
            )
        )
    if section["redirect"]["sender"] == "srs" and not section["srs"]["secret"]:
        path = ("sieve", "srs", "secret")
        problems.append(
            Diagnostic(
                Severity.ERROR,
                "redirect.sender is srs but srs.secret is not set",
                path,
                config.location(path),
            )
        )
    for stage in ("rcpt", "data"):
        value = section["system"][stage]
        if value is not None and not value.strip():
            path = ("sieve", "system", stage)
            problems.append(
                Diagnostic(Severity.ERROR, "empty script path", path, config.location(path))
            )
    return problems
