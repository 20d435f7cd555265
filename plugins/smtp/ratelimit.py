"""Per-client-address rate limits: simple in-memory token buckets.

A bucket holds up to ``rate`` tokens and refills at ``rate`` per ``window``
seconds; each connection (or message) takes one. Buckets live in the kernel's
stash (one :class:`RateLimiter` per kernel), so they are per process: a restart
forgets them, and a cluster limits per node.

Implementation notes:

* Sans-IO: the caller passes the time (``trio.current_time()`` in the session),
  so tests drive it directly.
* Memory is bounded: past ``max_keys`` buckets the oldest one is forgotten (a
  forgotten bucket is a full one, which only errs towards letting a client in).
"""

from __future__ import annotations

from typing import final

__all__ = ["RateLimiter"]


@final
class RateLimiter:
    """Token buckets by key (``"conn:192.0.2.1"``, ``"msg:192.0.2.1"``)."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, key: str, rate: int, window: float, now: float) -> bool:
        """Take a token from ``key``'s bucket; False if it is empty.

        Args:
            key: the bucket.
            rate: tokens per window (the bucket's size); 0 or less means unlimited.
            window: seconds in which ``rate`` tokens refill.
            now: the current time in seconds (any monotonic clock).
        """
        if rate <= 0 or window <= 0:
            return True
        tokens, last = self._buckets.pop(key, (float(rate), now))
        tokens = min(float(rate), tokens + (now - last) * rate / window)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        if len(self._buckets) >= self._max_keys:
            del self._buckets[next(iter(self._buckets))]
        self._buckets[key] = (tokens, now)  # re-inserted: the dict stays in LRU order
        return allowed

    def __len__(self) -> int:
        return len(self._buckets)
