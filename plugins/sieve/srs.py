"""The Sender Rewriting Scheme (SRS0/SRS1) for redirected mail.

A redirect re-sends mail from our host with somebody else's envelope sender, which
fails the sender domain's SPF check at the next hop. SRS rewrites the sender into an
address of our own domain that still encodes the original, so bounces can come back
and be forwarded (Shevek, "Sender Rewriting Scheme", 2004; the libsrs2 format):

    SRS0=HHHH=TT=orig-domain=orig-local@srs-domain
    SRS1=HHHH=first-srs-domain==HHHH=TT=orig-domain=orig-local@srs-domain

``HHHH`` is the first 4 characters of the base64 HMAC-SHA1 of the rest under the
configured secret (case-folded, so a mailer that lower-cases addresses keeps it valid);
``TT`` the day number modulo 1024 in two base32 characters.

Implementation notes:

- The null sender is never rewritten (a bounce must not get a bounce address), nor
  an address already in the SRS domain.
- :func:`reverse` checks the hash and the timestamp's age and gives back the
  original; a bounce-forwarding service can use it (none is wired to it yet).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Final

__all__ = ["SrsError", "forward", "reverse"]

_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_HASH_LENGTH: Final = 4
_DAY: Final = 86400
_PERIOD: Final = 1024


class SrsError(ValueError):
    """An SRS address that is malformed, forged or too old."""


def _hash(secret: str, *parts: str) -> str:
    data = "".join(parts).lower().encode("utf-8", "surrogateescape")
    digest = hmac.new(secret.encode("utf-8"), data, hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")[:_HASH_LENGTH]


def _timestamp(now: float) -> str:
    day = int(now // _DAY) % _PERIOD
    return _ALPHABET[day >> 5] + _ALPHABET[day & 31]


def forward(sender: str, secret: str, domain: str, *, now: float | None = None) -> str:
    """The SRS address for ``sender`` (``local@domain``) in ``domain``.

    Args:
        sender: the original envelope sender; ``""`` (null) comes back unchanged.
        secret: the HMAC key.
        domain: our SRS domain.
        now: the current time (for tests).

    Returns:
        The rewritten address, or ``sender`` itself when no rewrite applies.
    """
    if not sender or "@" not in sender:
        return sender
    local, _, host = sender.rpartition("@")
    if host.lower() == domain.lower():
        return sender
    upper = local[:5].upper()
    if upper in ("SRS0=", "SRS1="):
        # An SRS address being forwarded again: SRS1 keeps the first forwarder's domain.
        if upper == "SRS1=":
            pieces = local[5:].split("=", 2)
            if len(pieces) < 3:
                return _srs0(sender, secret, domain, now)
            first_host, rest = pieces[1], pieces[2].lstrip("=")
        else:
            first_host, rest = host, local[5:]
        tail = f"{first_host}=={rest}"
        return f"SRS1={_hash(secret, tail)}={tail}@{domain}"
    return _srs0(sender, secret, domain, now)


def _srs0(sender: str, secret: str, domain: str, now: float | None) -> str:
    local, _, host = sender.rpartition("@")
    stamp = _timestamp(time.time() if now is None else now)
    return f"SRS0={_hash(secret, stamp, host, local)}={stamp}={host}={local}@{domain}"


def reverse(
    address: str, secret: str, *, max_age: float = 21 * _DAY, now: float | None = None
) -> str:
    """The address an SRS0 address stands for (an SRS1 address gives its SRS0 one).

    Raises:
        SrsError: not an SRS address, a wrong hash, or a timestamp older than
            ``max_age``.
    """
    local = address.rpartition("@")[0]
    kind = local[:5].upper()
    if kind == "SRS1=":
        pieces = local[5:].split("=", 2)
        if len(pieces) < 3 or not pieces[2].startswith("="):
            raise SrsError(f"malformed SRS1 address {address!r}")
        digest, first_host, rest = pieces[0], pieces[1], pieces[2][1:]
        if not hmac.compare_digest(digest.lower(), _hash(secret, f"{first_host}=={rest}").lower()):
            raise SrsError("SRS1 hash does not match")
        return f"SRS0={rest}@{first_host}"
    if kind != "SRS0=":
        raise SrsError(f"{address!r} is not an SRS address")
    pieces = local[5:].split("=", 3)
    if len(pieces) != 4:
        raise SrsError(f"malformed SRS0 address {address!r}")
    digest, stamp, host, user = pieces
    if not hmac.compare_digest(digest.lower(), _hash(secret, stamp, host, user).lower()):
        raise SrsError("SRS0 hash does not match")
    if len(stamp) != 2 or any(c not in _ALPHABET for c in stamp.upper()):
        raise SrsError("malformed SRS0 timestamp")
    value = (_ALPHABET.index(stamp[0].upper()) << 5) | _ALPHABET.index(stamp[1].upper())
    today = int((time.time() if now is None else now) // _DAY) % _PERIOD
    age_days = (today - value) % _PERIOD
    if age_days * _DAY > max_age:
        raise SrsError("SRS0 address has expired")
    return f"{user}@{host}"
