"""A session's maildrop lease (RFC 1939 §4: the exclusive-access lock), kept alive.

:class:`MaildropLease` takes the lease in the store for a session and starts
:func:`keep_lease` in the session's nursery, which renews it every third of
its lifetime until the session releases it.

Implementation notes:

* A failed renewal (the store is unreachable) is retried at the next interval
  if that comes before the lease the store last confirmed runs out; otherwise
  another session might hold the maildrop by then, so the session is told the
  lease is lost. A renewal that finds another owner is lost at once.
* The lease is released when the session ends, in a shielded scope,
  whatever ended it (:func:`release_quietly`); a login that fails after taking
  it releases it before its ``-ERR`` (RFC 1939 §4).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, final

import trio

from kernel.errors import KernelError
from kernel.telemetry import StructuredLogger

__all__ = ["LeaseStore", "MaildropLease", "keep_lease", "release_quietly"]

#: How long releasing a lease may take at the end of a session.
RELEASE_TIMEOUT = 5.0


class LeaseStore(Protocol):
    """What this module needs of ``kernel.store.maildrop``."""

    async def acquire(self, account: int, owner: str, ttl: float) -> bool: ...

    async def renew(self, account: int, owner: str, ttl: float) -> bool: ...

    async def release(self, account: int, owner: str) -> bool: ...


async def keep_lease(
    store: LeaseStore,
    account: int,
    owner: str,
    ttl: float,
    lost: Callable[[], None],
    log: StructuredLogger,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Renew ``owner``'s lease every ``ttl / 3`` seconds; call ``lost()`` and return if it
    is lost. Runs until cancelled."""
    interval = ttl / 3
    valid_until = trio.current_time() + ttl
    task_status.started()
    while True:
        await trio.sleep(interval)
        asked = trio.current_time()  # the store's expiry counts from no later than this
        try:
            renewed = await store.renew(account, owner, ttl)
        except (KernelError, OSError) as exc:
            if trio.current_time() + interval < valid_until:
                log.warning("pop3-lease-renew-failed", error=f"{type(exc).__name__}: {exc}")
                continue
            renewed = False
        if not renewed:
            log.error("pop3-lease-lost", account=account)
            lost()
            return
        valid_until = asked + ttl


async def release_quietly(
    store: LeaseStore, account: int, owner: str, log: StructuredLogger
) -> None:
    """Release the lease, shielded and bounded; a failure is logged (the lease expires)."""
    with trio.CancelScope(shield=True), trio.move_on_after(RELEASE_TIMEOUT):
        try:
            await store.release(account, owner)
        except (KernelError, OSError) as exc:
            log.warning("pop3-lease-release-failed", error=f"{type(exc).__name__}: {exc}")


@final
class MaildropLease:
    """One session's hold on a maildrop: take it, keep it, check it, let it go.

    Args:
        store: ``kernel.store.maildrop``.
        owner: the session's unique owner string (``host:pid:connection``).
        ttl: the lease's lifetime in seconds.
        lost: called if the renewal task finds the lease lost.
        log: the session's logger.
    """

    def __init__(
        self,
        store: LeaseStore,
        owner: str,
        ttl: float,
        lost: Callable[[], None],
        log: StructuredLogger,
    ) -> None:
        self._store = store
        self._owner = owner
        self._ttl = ttl
        self._on_lost = lost
        self._log = log
        self._account: int | None = None
        self._renewal = trio.CancelScope()
        self.lost = False

    async def acquire(self, account: int, nursery: trio.Nursery) -> bool:
        """Lock ``account``'s maildrop and start renewing; False if another owner holds it.

        Raises whatever the store raises.
        """
        if not await self._store.acquire(account, self._owner, self._ttl):
            return False
        self._account = account
        self._renewal = trio.CancelScope()
        await nursery.start(self._renew, account)
        return True

    async def _renew(
        self, account: int, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        with self._renewal:
            await keep_lease(
                self._store,
                account,
                self._owner,
                self._ttl,
                self._lost,
                self._log,
                task_status=task_status,
            )

    def _lost(self) -> None:
        self.lost = True
        self._on_lost()

    async def confirm(self) -> bool:
        """Renew once more (as the UPDATE state begins); False if the lease is lost."""
        if self._account is None or self.lost:
            return False
        return await self._store.renew(self._account, self._owner, self._ttl)

    async def release(self) -> None:
        """Stop renewing and release the lease, if held (shielded; never raises)."""
        if self._account is not None:
            account, self._account = self._account, None
            self._renewal.cancel()
            await release_quietly(self._store, account, self._owner, self._log)
