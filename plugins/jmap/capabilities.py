"""Capability URIs (RFC 8620 §2, RFC 8621 §1.3.1, RFC 8887 §4, RFC 9425, RFC 9661)."""

from __future__ import annotations

from typing import Final

__all__ = [
    "BLOB",
    "CORE",
    "MAIL",
    "QUOTA",
    "SIEVE",
    "SUBMISSION",
    "VACATION",
    "WEBSOCKET",
]

CORE: Final = "urn:ietf:params:jmap:core"
MAIL: Final = "urn:ietf:params:jmap:mail"
SUBMISSION: Final = "urn:ietf:params:jmap:submission"
VACATION: Final = "urn:ietf:params:jmap:vacationresponse"
WEBSOCKET: Final = "urn:ietf:params:jmap:websocket"
QUOTA: Final = "urn:ietf:params:jmap:quota"
SIEVE: Final = "urn:ietf:params:jmap:sieve"
BLOB: Final = "urn:ietf:params:jmap:blob"
