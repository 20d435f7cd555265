"""Transport helpers of the IMAP driver: write coalescing and the drain watch.

Implementation notes:

* :func:`coalesce` joins runs of small response buffers into writes of about 16 KiB,
  so that ``FETCH 1:*`` does not make one system call per message, while large
  literals (``memoryview`` slices of a stored message) go out as they are.
* :class:`DrainWatch` lets the kernel's draining interrupt a read that waits for the
  client, so an idle session says ``BYE`` at once on shutdown instead of holding the
  shutdown until ``server.shutdown_timeout``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import final

import trio

from kernel.net.connection import Connection

__all__ = ["DrainWatch", "Drained", "coalesce"]

_COALESCE = 16384


def coalesce(chunks: Sequence[bytes | memoryview]) -> list[bytes | memoryview]:
    """Join runs of small buffers so that each ``send_all`` carries a useful amount."""
    out: list[bytes | memoryview] = []
    run: list[bytes | memoryview] = []
    size = 0
    for chunk in chunks:
        if len(chunk) >= _COALESCE:
            if run:
                out.append(b"".join(run))
                run, size = [], 0
            out.append(chunk)
            continue
        run.append(chunk)
        size += len(chunk)
        if size >= _COALESCE:
            out.append(b"".join(run))
            run, size = [], 0
    if run:
        out.append(b"".join(run))
    return out


@final
class Drained(trio.ClosedResourceError):
    """The kernel is shutting down: stop reading from the client."""


@final
class DrainWatch:
    """Interrupts the session's reads when the kernel starts draining."""

    def __init__(self) -> None:
        self._scope: trio.CancelScope | None = None
        self._draining = False

    async def run(self, conn: Connection) -> None:
        """Wait for the kernel to drain, then cancel the read in progress (if any)."""
        await conn.kernel.wait_draining()
        self._draining = True
        if self._scope is not None:
            self._scope.cancel()

    @contextmanager
    def watch(self) -> Iterator[None]:
        """Run a read that draining cancels (raising :class:`Drained`)."""
        with trio.CancelScope() as scope:
            self._scope = scope
            if self._draining:
                scope.cancel()
            try:
                yield
            finally:
                self._scope = None
        if scope.cancelled_caught:
            raise Drained
