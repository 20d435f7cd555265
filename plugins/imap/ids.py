"""Object identifiers (RFC 8474): MAILBOXID, EMAILID and THREADID from store ids.

RFC 8474 §3 asks for ``objectid`` strings (1 to 255 of ``ALPHA / DIGIT / "_" / "-"``)
that stay the same for the life of the object: the store's integer ids qualify, so an
id is a one-letter kind prefix and the decimal store id (``M42`` is email 42). The
prefix keeps ids of different kinds apart, so an EMAILID given as a THREADID matches
nothing instead of another object.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "email_id",
    "mailbox_id",
    "parse_email_id",
    "parse_mailbox_id",
    "parse_thread_id",
    "thread_id",
]

_ID: Final = re.compile(r"([A-Z])([1-9][0-9]{0,17})")


def mailbox_id(mailbox: int) -> str:
    """The MAILBOXID of a store mailbox id."""
    return f"F{mailbox}"


def email_id(email: int) -> str:
    """The EMAILID of a store email id."""
    return f"M{email}"


def thread_id(thread: int) -> str:
    """The THREADID of a store thread id."""
    return f"T{thread}"


def _parse(value: str, prefix: str) -> int | None:
    match = _ID.fullmatch(value)
    if match is None or match.group(1) != prefix:
        return None
    return int(match.group(2))


def parse_mailbox_id(value: str) -> int | None:
    """The store id in a MAILBOXID, or None if it is not one of ours."""
    return _parse(value, "F")


def parse_email_id(value: str) -> int | None:
    """The store id in an EMAILID, or None if it is not one of ours."""
    return _parse(value, "M")


def parse_thread_id(value: str) -> int | None:
    """The store id in a THREADID, or None if it is not one of ours."""
    return _parse(value, "T")
