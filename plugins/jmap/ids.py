"""JMAP Ids (RFC 8620 §1.2) for the store's integer keys.

An id is a one-letter type prefix followed by the integer in lower-case base 32
(``0-9a-v``), without leading zeros, so every integer has exactly one id and no
id is all digits, starts with ``-`` or reads ``NIL`` (the §1.2 SHOULDs). Decoding
is total: anything that is not a canonical id of the expected type gives
``None``, which a method reports as "not found", never as a crash.

Prefixes in use: ``M`` mailbox, ``E`` email, ``T`` thread, ``A`` account,
``P`` push subscription, ``I`` identity, ``S`` email submission, ``Z`` sieve
script. Blob ids are not built here (see :mod:`plugins.jmap.blobs`).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "ACCOUNT",
    "EMAIL",
    "IDENTITY",
    "MAILBOX",
    "PUSH",
    "SIEVE",
    "SUBMISSION",
    "THREAD",
    "decode_id",
    "encode_id",
    "is_valid_id",
]

MAILBOX: Final = "M"
EMAIL: Final = "E"
THREAD: Final = "T"
ACCOUNT: Final = "A"
PUSH: Final = "P"
IDENTITY: Final = "I"
SUBMISSION: Final = "S"
SIEVE: Final = "Z"

_DIGITS = "0123456789abcdefghijklmnopqrstuv"
_CANONICAL = re.compile(r"^[A-Z](0|[1-9a-v][0-9a-v]{0,24})$")
#: RFC 8620 §1.2: 1-255 octets of the URL-safe base64 alphabet.
_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def encode_id(prefix: str, number: int) -> str:
    """The id of store key ``number`` for the type ``prefix`` (e.g. ``MAILBOX``)."""
    if number < 0:
        raise ValueError("store keys are not negative")
    digits = []
    while True:
        number, rest = divmod(number, 32)
        digits.append(_DIGITS[rest])
        if not number:
            break
    return prefix + "".join(reversed(digits))


def decode_id(prefix: str, value: object) -> int | None:
    """The store key behind ``value``, or ``None`` if it is not a canonical id of ``prefix``."""
    if not isinstance(value, str) or not value.startswith(prefix) or not _CANONICAL.match(value):
        return None
    return int(value[1:], 32)


def is_valid_id(value: object) -> bool:
    """Whether ``value`` is syntactically a JMAP Id (RFC 8620 §1.2)."""
    return isinstance(value, str) and bool(_ID.match(value))
