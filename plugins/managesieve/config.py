"""The ``managesieve`` configuration section and the settings a session reads from it.

Every option is reloadable: a session takes a :class:`SieveSettings`
snapshot when it starts, so a reload applies to sessions that start after it.
The idle timeout after login is the listener's ``limits.idle_timeout``
(default 30 minutes, the minimum RFC 5804 §1.2 allows); before login the
shorter ``login_timeout`` applies (§1.2: "MAY be less before authentication").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, final

from kernel import Config, Diagnostic, Option, Section, Severity

__all__ = ["MIN_IDLE_TIMEOUT", "SECTION", "SieveSettings", "validate"]

#: Every SASL mechanism the kernel implements (``kernel.sasl.MECHANISMS``).
_MECHANISMS: Final = ("SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "LOGIN", "OAUTHBEARER")

#: RFC 5804 §1.2: an autologout timer "MUST be no less than 30 minutes after
#: successful authentication".
MIN_IDLE_TIMEOUT: Final = 1800.0

SECTION: Final = Section(
    "managesieve",
    "ManageSieve (RFC 5804) sessions on `protocol: managesieve` listeners.",
    (
        Option(
            "max_scripts",
            "integer",
            32,
            "Most scripts one account may store (QUOTA/MAXSCRIPTS); 0 for no limit.",
            schema={"minimum": 0},
        ),
        Option(
            "max_script_size",
            "size",
            "128KiB",
            "Largest script accepted, in octets (QUOTA/MAXSIZE); also the largest "
            "literal a client may send.",
            schema={"minimum": 1},
        ),
        Option(
            "max_line_length",
            "size",
            "8KiB",
            "Most octets of a command outside its literals; a longer line closes the "
            "connection with BYE.",
            schema={"minimum": 1024},
        ),
        Option(
            "max_name_length",
            "integer",
            128,
            "Longest script name, in characters (RFC 5804 §1.6 requires at least 128; "
            "smaller values count as 128).",
            schema={"minimum": 1},
        ),
        Option(
            "max_auth_failures",
            "integer",
            3,
            "Failed AUTHENTICATE commands on one connection before BYE.",
            schema={"minimum": 1},
        ),
        Option(
            "auth_failure_delay",
            "duration",
            "1s",
            "Pause before answering a failed login (slows password guessing; 0 in tests).",
        ),
        Option(
            "login_timeout",
            "duration",
            "3m",
            "Client silence allowed before login (after login the listener's idle "
            "timeout applies, at least 30 minutes by RFC 5804 §1.2).",
        ),
        Option(
            "sasl_mechanisms",
            "string-list",
            None,
            "SASL mechanisms offered on ManageSieve, in this order of preference. Unset: "
            "`auth.mechanisms` with SCRAM-SHA-1 added after SCRAM-SHA-256 (RFC 5804 §2.1 "
            "requires SCRAM-SHA-1).",
            schema={"items": {"enum": list(_MECHANISMS)}, "uniqueItems": True},
        ),
        Option(
            "implementation",
            "string",
            "stalwart-kernel",
            "The IMPLEMENTATION capability's value (RFC 5804 §1.7).",
        ),
        Option(
            "language",
            "string",
            "",
            "The LANGUAGE capability (a BCP 47 language tag) for response texts; empty omits it "
            "(i-default). The texts are English either way.",
        ),
    ),
)


@final
@dataclass(frozen=True, slots=True)
class SieveSettings:
    """A session's view of the ``managesieve`` section (durations in seconds)."""

    max_scripts: int = 32
    max_script_size: int = 128 * 1024
    max_line_length: int = 8192
    max_name_length: int = 128
    max_auth_failures: int = 3
    auth_failure_delay: float = 1.0
    login_timeout: float = 180.0
    implementation: str = "stalwart-kernel"
    language: str = ""
    sasl_mechanisms: tuple[str, ...] | None = None

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> SieveSettings:
        """Settings from the validated ``managesieve`` section."""
        return cls(
            max_scripts=int(section["max_scripts"]),
            max_script_size=int(section["max_script_size"]),
            max_line_length=int(section["max_line_length"]),
            max_name_length=int(section["max_name_length"]),
            max_auth_failures=int(section["max_auth_failures"]),
            auth_failure_delay=float(section["auth_failure_delay"]),
            login_timeout=float(section["login_timeout"]),
            implementation=str(section["implementation"]),
            language=str(section["language"]),
            sasl_mechanisms=(
                None if section["sasl_mechanisms"] is None else tuple(section["sasl_mechanisms"])
            ),
        )

    def mechanisms(self, auth_mechanisms: Sequence[str]) -> list[str]:
        """The SASL mechanisms ManageSieve enables, given the kernel's ``auth.mechanisms``.

        RFC 5804 §2.1: "Servers MUST implement" SCRAM-SHA-1, so unless configured
        otherwise it joins the kernel's list, right after SCRAM-SHA-256 (or first).
        """
        if self.sasl_mechanisms is not None:
            return list(self.sasl_mechanisms)
        names = [str(name).upper() for name in auth_mechanisms]
        if "SCRAM-SHA-1" not in names:
            at = names.index("SCRAM-SHA-256") + 1 if "SCRAM-SHA-256" in names else 0
            names.insert(at, "SCRAM-SHA-1")
        return names

    @property
    def max_discard(self) -> int:
        """Largest over-limit literal read and thrown away (larger: BYE)."""
        return 4 * self.max_script_size + 64 * 1024


def validate(config: Config) -> list[Diagnostic]:
    """Warn about listeners whose idle timeout is shorter than RFC 5804 §1.2 allows, and
    about an upload size limit over the one delivery compiles (``sieve.max_script_size``).
    """
    warnings = []
    ours, theirs = config.get("managesieve"), config.get("sieve")
    if ours and theirs and ours["max_script_size"] > theirs["max_script_size"]:
        path = ("managesieve", "max_script_size")
        warnings.append(
            Diagnostic(
                Severity.WARNING,
                f"scripts up to {ours['max_script_size']} octets may be uploaded but delivery "
                f"runs only those up to sieve.max_script_size ({theirs['max_script_size']})",
                path,
                config.location(path),
            )
        )
    for name, listener in config["listeners"].items():
        timeout = listener["limits"]["idle_timeout"] if listener.get("limits") else None
        if (
            listener["protocol"] == "managesieve"
            and timeout is not None
            and timeout < MIN_IDLE_TIMEOUT
        ):
            path = ("listeners", name, "limits", "idle_timeout")
            warnings.append(
                Diagnostic(
                    Severity.WARNING,
                    f"{timeout:g}s is shorter than the 30 minutes RFC 5804 §1.2 requires "
                    "of a ManageSieve autologout timer",
                    path,
                    config.location(path),
                )
            )
    return warnings
