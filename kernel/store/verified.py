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
* :meth:`VerifiedSecrets.check` runs one check for identical checks in flight at
  once: fifty connections of one client logging in together cost one argon2
  run, not fifty. The others wait for its answer; if the first check ends
  without one (cancelled, failed), each waiter runs its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import final

import trio

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
        self._pending: dict[bytes, _Pending] = {}

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

    async def check(
        self, stored: str, password: str, verify: Callable[[], Awaitable[bool]]
    ) -> bool:
        """Whether ``password`` verifies against ``stored``: remembered, or by
        awaiting ``verify`` (once for identical checks in flight together)."""
        if self.known(stored, password):
            return True
        key = self._digest(stored, password)
        pending = self._pending.get(key)
        if pending is not None:
            await pending.done.wait()
            if pending.ok is not None:
                return pending.ok
            return await self.check(stored, password, verify)  # no answer: check anew
        pending = self._pending[key] = _Pending()
        try:
            pending.ok = await verify()
        finally:
            del self._pending[key]
            pending.done.set()
        if pending.ok:
            self.remember(stored, password)
        return pending.ok

    def __len__(self) -> int:
        return len(self._entries)


@final
class _Pending:
    """A check in flight: its answer (None until it has one) and when it ended."""

    def __init__(self) -> None:
        self.ok: bool | None = None
        self.done = trio.Event()
