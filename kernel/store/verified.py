"""Recently verified passwords, so a client that logs in again skips argon2.

Mail clients log in often (each IMAP connection, each POP3 poll, each SMTP
submission), and argon2 is slow on purpose: about 100 ms of CPU per check
here, which caps a 2-core server near 20 logins/s. Like Dovecot's auth cache,
this remembers a *successful* check for a while, keyed by the stored hash and
the password, so:

* a password change, an app-password revocation or a disabled account takes
  effect at once: the caller reads the principal, its hash and its app
  passwords from the store on every login, and a new hash is a new key;
* failures are never remembered, so guessing stays as slow as argon2 makes it.

Implementation notes:

* The key is an HMAC-SHA-256 under a random per-process key of the stored
  hash and the prepared password; the password itself is never kept.
* Entries live ``ttl`` seconds (default 10 minutes) and at most ``capacity``
  are kept, oldest first out. Process-local: nodes do not share it.
* Called from the trio thread only (the directory's async methods).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import final

__all__ = ["VerifiedSecrets"]


@final
class VerifiedSecrets:
    """A bounded, expiring set of (stored hash, password) pairs that verified."""

    def __init__(
        self,
        *,
        ttl: float = 600.0,
        capacity: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = secrets.token_bytes(32)
        self._ttl = ttl
        self._capacity = capacity
        self._clock = clock
        self._entries: OrderedDict[bytes, float] = OrderedDict()

    def _digest(self, stored: str, password: str) -> bytes:
        message = stored.encode() + b"\x00" + password.encode("utf-8", "surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def known(self, stored: str, password: str) -> bool:
        """Whether ``password`` verified against ``stored`` less than ``ttl`` ago."""
        key = self._digest(stored, password)
        expires = self._entries.get(key)
        if expires is None:
            return False
        if expires <= self._clock():
            del self._entries[key]
            return False
        return True

    def remember(self, stored: str, password: str) -> None:
        """Record that ``password`` verified against ``stored`` just now."""
        key = self._digest(stored, password)
        self._entries[key] = self._clock() + self._ttl
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
