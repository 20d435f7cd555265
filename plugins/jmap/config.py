"""The ``jmap`` configuration section and the settings the plugin reads from it.

Every option is reloadable: each request reads a :class:`JmapSettings`
snapshot of the running config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, final

from kernel import Config, Option, Section

__all__ = ["SECTION", "JmapSettings", "settings_of"]

SECTION: Final = Section(
    "jmap",
    "JMAP (RFC 8620, RFC 8621, RFC 8887) on `protocol: http` listeners.",
    (
        Option(
            "base_url",
            "string",
            "",
            "Absolute URL prefix for the session's apiUrl, downloadUrl, uploadUrl, "
            "eventSourceUrl and WebSocket url (e.g. `https://mail.example.org`); empty: "
            "built from each request's scheme and Host.",
        ),
        Option("max_size_upload", "size", "50MiB", "RFC 8620 §2 maxSizeUpload."),
        Option(
            "max_concurrent_upload",
            "integer",
            4,
            "RFC 8620 §2 maxConcurrentUpload (per user and server process).",
            schema={"minimum": 1},
        ),
        Option("max_size_request", "size", "10MiB", "RFC 8620 §2 maxSizeRequest."),
        Option(
            "max_concurrent_requests",
            "integer",
            4,
            "RFC 8620 §2 maxConcurrentRequests (per user and server process).",
            schema={"minimum": 1},
        ),
        Option(
            "max_calls_in_request",
            "integer",
            16,
            "RFC 8620 §2 maxCallsInRequest.",
            schema={"minimum": 1},
        ),
        Option(
            "max_objects_in_get",
            "integer",
            500,
            "RFC 8620 §2 maxObjectsInGet.",
            schema={"minimum": 1},
        ),
        Option(
            "max_objects_in_set",
            "integer",
            500,
            "RFC 8620 §2 maxObjectsInSet.",
            schema={"minimum": 1},
        ),
        Option(
            "max_changes",
            "integer",
            5000,
            "Most changes one /changes or /queryChanges answer carries when the "
            "client asks for more (or sets no maxChanges).",
            schema={"minimum": 1},
        ),
        Option(
            "upload_expiry",
            "duration",
            "24h",
            "How long an uploaded blob not yet used is kept (RFC 8620 §6.1 asks for at "
            "least 1 hour).",
        ),
        Option(
            "event_source_min_ping",
            "duration",
            "5s",
            "Smallest EventSource ping interval honoured (RFC 8620 §7.3 lets the server "
            "raise a client's too-small ping).",
        ),
        Option(
            "push_max_expiry",
            "duration",
            "7d",
            "Longest PushSubscription lifetime; later `expires` values are clamped "
            "(RFC 8620 §7.2).",
        ),
        Option(
            "push_allow_http",
            "boolean",
            False,
            "Accept http:// PushSubscription URLs (tests only; RFC 8620 §7.2 requires https).",
        ),
        Option(
            "push_timeout",
            "duration",
            "10s",
            "Timeout of one push POST to a PushSubscription URL.",
        ),
        Option(
            "submission_retention",
            "duration",
            "7d",
            "How long an EmailSubmission is kept once nothing is left to attempt "
            "(counted from its last delivery attempt, or its send time when canceled); "
            "then it is destroyed and /changes reports it (RFC 8621 §7 lets the server "
            "delete submissions after some time).",
        ),
    ),
)


@final
@dataclass(frozen=True, slots=True)
class JmapSettings:
    """A snapshot of the ``jmap`` section (sizes in bytes, durations in seconds)."""

    base_url: str = ""
    max_size_upload: int = 50 * 1024 * 1024
    max_concurrent_upload: int = 4
    max_size_request: int = 10 * 1024 * 1024
    max_concurrent_requests: int = 4
    max_calls_in_request: int = 16
    max_objects_in_get: int = 500
    max_objects_in_set: int = 500
    max_changes: int = 5000
    upload_expiry: float = 86400.0
    event_source_min_ping: float = 5.0
    push_max_expiry: float = 7 * 86400.0
    push_allow_http: bool = False
    push_timeout: float = 10.0
    submission_retention: float = 7 * 86400.0

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> JmapSettings:
        """Settings from the validated ``jmap`` section."""
        return cls(
            base_url=str(section["base_url"] or "").rstrip("/"),
            max_size_upload=int(section["max_size_upload"]),
            max_concurrent_upload=int(section["max_concurrent_upload"]),
            max_size_request=int(section["max_size_request"]),
            max_concurrent_requests=int(section["max_concurrent_requests"]),
            max_calls_in_request=int(section["max_calls_in_request"]),
            max_objects_in_get=int(section["max_objects_in_get"]),
            max_objects_in_set=int(section["max_objects_in_set"]),
            max_changes=int(section["max_changes"]),
            upload_expiry=float(section["upload_expiry"]),
            event_source_min_ping=float(section["event_source_min_ping"]),
            push_max_expiry=float(section["push_max_expiry"]),
            push_allow_http=bool(section["push_allow_http"]),
            push_timeout=float(section["push_timeout"]),
            submission_retention=float(section["submission_retention"]),
        )


def settings_of(config: Config) -> JmapSettings:
    """The settings of a running config (defaults when the section is absent)."""
    return JmapSettings.from_section(config["jmap"]) if "jmap" in config else JmapSettings()
