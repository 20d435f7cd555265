"""Connection counting for the listeners' limits.

One :class:`ConnectionCounter` per kernel counts open connections under
arbitrary keys: the whole server, each listener, each (listener, client
address). Counts outlive listener reloads, so a listener re-bound elsewhere
still knows how many of its sessions are open.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import final

__all__ = ["ConnectionCounter"]


@final
class ConnectionCounter:
    """Open-connection counts by key; never blocks."""

    def __init__(self) -> None:
        self._counts: dict[Hashable, int] = {}

    def count(self, key: Hashable) -> int:
        """Connections currently counted under ``key``."""
        return self._counts.get(key, 0)

    def try_acquire(self, key: Hashable, limit: int) -> bool:
        """Count one more under ``key`` unless that would exceed ``limit``."""
        current = self._counts.get(key, 0)
        if current >= limit:
            return False
        self._counts[key] = current + 1
        return True

    def release(self, key: Hashable) -> None:
        """Count one fewer under ``key`` (forgetting keys that reach zero)."""
        current = self._counts.get(key, 0) - 1
        if current > 0:
            self._counts[key] = current
        else:
            self._counts.pop(key, None)
