"""Authentication-failure throttling, per client address and per account.

A sliding window of failure times per key; once a key reaches its limit, further
attempts are refused without checking the secret until old failures age out.
Counts live in memory (per process): a restart forgets them, which only ever
errs on the side of letting a user in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import final

__all__ = ["FailureThrottle"]


@final
class FailureThrottle:
    """Counts failures per key inside ``window`` seconds."""

    def __init__(self, window: float, clock: Callable[[], float], max_keys: int = 100_000) -> None:
        self._window = window
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        horizon = self._clock() - self._window
        while times and times[0] < horizon:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def blocked(self, key: str, limit: int) -> bool:
        """True if ``key`` has ``limit`` or more recent failures."""
        times = self._recent(key)
        return times is not None and len(times) >= limit

    def fail(self, key: str) -> None:
        """Record one failure for ``key``."""
        if key not in self._failures and len(self._failures) >= self._max_keys:
            # Bound memory under a spray of addresses: forget the oldest key.
            del self._failures[next(iter(self._failures))]
        self._failures.setdefault(key, deque()).append(self._clock())

    def succeed(self, key: str) -> None:
        """Forget ``key``'s failures (a successful login)."""
        self._failures.pop(key, None)
