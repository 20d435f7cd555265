"""In-process publish/subscribe bus for the store's change hints.

After each commit the store publishes a :class:`ChangeEvent`; IMAP IDLE, JMAP push and
webhooks subscribe. An event is a *hint*: the subscriber re-reads the store's change log
to learn what changed (ARCHITECTURE.md, "One change log per account").

Implementation notes:

- ``publish()`` is synchronous and never checkpoints, so a commit never waits for a
  subscriber. It costs O(matching subscribers): subscriptions are indexed by account,
  plus one set of "all accounts" subscriptions.
- Coalescing bounds memory: a subscription holds at most one pending entry per
  (account, kind); a newer event raises its modseq in place (never lowers it), and
  entries come out in order of first arrival.
- Closing follows trio's channels. ``Subscription.close()`` closes the receiving end:
  pending entries are dropped and ``next()`` raises ``trio.ClosedResourceError``.
  ``LocalEventBus.close()`` closes the sending end: pending entries stay readable, then
  ``next()`` raises ``trio.EndOfChannel``. ``async for`` ends quietly either way.
- ``publish()`` on a closed bus is a no-op, not an error: the commit it reports has
  already happened, and a hint carries nothing a reader cannot re-read.
- A cluster bus (Redis pub/sub, a plugin) implements :class:`EventBus` by composing a
  ``LocalEventBus`` for local fan-out: its ``publish()`` forwards to Redis and a receiver
  task publishes remote events locally. Hence :class:`Subscription` is one concrete
  ``@final`` class rather than part of the Protocol.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, final, runtime_checkable

import trio

__all__ = ["BusStatistics", "ChangeEvent", "EventBus", "LocalEventBus", "Subscription"]


@final
@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """A change hint: ``account``'s ``kind`` data is at ``modseq`` after a commit."""

    account: str  # account id
    kind: str  # "mail", "mailbox", "calendar", "addressbook", "sieve", "principal", ...
    modseq: int  # the account's change-log position after the commit


@final
@dataclass(frozen=True, slots=True)
class BusStatistics:
    """A bus's counters."""

    subscribers: int  # live subscriptions
    published: int  # events accepted by publish()
    coalesced: int  # events merged into an already pending entry, once per subscription


@runtime_checkable
class EventBus(Protocol):
    """What every bus implements (local, Redis...)."""

    def publish(self, event: ChangeEvent) -> None:
        """Hand ``event`` to matching subscriptions; never blocks, never raises for slow
        or closed subscribers. Call it from the trio thread."""

    def subscribe(
        self, *, accounts: Iterable[str] | None = None, kinds: Iterable[str] | None = None
    ) -> Subscription:
        """Return a new subscription to ``accounts`` and ``kinds`` (``None``: all)."""

    def statistics(self) -> BusStatistics:
        """Return the bus's counters."""


def _as_filter(values: Iterable[str] | None) -> frozenset[str] | None:
    if isinstance(values, str):  # a bare "alice" would otherwise mean {"a", "l", ...}
        raise TypeError("expected an iterable of names or None, not a str")
    return None if values is None else frozenset(values)


@final
class Subscription:
    """Coalesced change events for one subscriber; create through ``bus.subscribe()``.

    An async iterator (``async for event in sub``) and a sync context manager
    (``with bus.subscribe(...) as sub:``).

    Resource handling:
        Registered with its bus, holding at most one pending entry per (account, kind),
        until ``close()``, ``aclose()``, the ``with`` block's exit, or the bus's
        ``close()``. ``close()`` is idempotent and wakes every task blocked in ``next()``.

    Error handling:
        ``next()``, ``next_nowait()`` and ``set_accounts()`` raise
        ``trio.ClosedResourceError`` after ``close()``; ``next()`` and ``next_nowait()``
        raise ``trio.EndOfChannel`` once the bus is closed and nothing is pending.
        Iteration turns both into ``StopAsyncIteration``.
    """

    def __init__(
        self, bus: LocalEventBus, accounts: frozenset[str] | None, kinds: frozenset[str] | None
    ) -> None:
        self._bus = bus
        self._accounts = accounts
        self._kinds = kinds
        self._pending: OrderedDict[tuple[str, str], ChangeEvent] = OrderedDict()
        self._lot = trio.lowlevel.ParkingLot()
        self._closed = False  # closed by the subscriber
        self._ended = False  # closed by the bus

    @property
    def pending(self) -> int:
        """Number of coalesced entries waiting to be read."""
        return len(self._pending)

    def next_nowait(self) -> ChangeEvent:
        """Pop the oldest pending entry (by first arrival), carrying its highest modseq.

        Raises ``trio.WouldBlock`` when nothing is pending (see also "Error handling").
        """
        if self._closed:
            raise trio.ClosedResourceError("subscription was closed")
        if self._pending:
            return self._pending.popitem(last=False)[1]
        if self._ended:
            raise trio.EndOfChannel
        raise trio.WouldBlock

    async def next(self) -> ChangeEvent:
        """Wait until an entry is pending and pop it; always a checkpoint, and
        cancelling a waiting ``next()`` loses nothing."""
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            try:
                event = self.next_nowait()
            except trio.WouldBlock:
                await self._lot.park()
                continue
            await trio.lowlevel.cancel_shielded_checkpoint()
            return event

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> ChangeEvent:
        try:
            return await self.next()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None

    def set_accounts(self, accounts: Iterable[str] | None) -> None:
        """Change the account filter live (``None``: all); drops pending entries of
        accounts no longer matched."""
        if self._closed:
            raise trio.ClosedResourceError("subscription was closed")
        new = self._bus._refilter(self, _as_filter(accounts))
        if new is not None:
            for key in [key for key in self._pending if key[0] not in new]:
                del self._pending[key]

    def close(self) -> None:
        """Unsubscribe, drop pending entries and wake waiting ``next()`` calls."""
        if self._closed:
            return
        self._closed = True
        self._pending.clear()
        self._bus._unregister(self)
        self._lot.unpark_all()

    async def aclose(self) -> None:
        """``close()``, then a checkpoint (trio's ``AsyncResource`` contract)."""
        self.close()
        await trio.lowlevel.checkpoint()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _offer(self, event: ChangeEvent) -> bool:
        """Called by the bus: coalesce ``event`` in; True if merged into an entry."""
        if self._kinds is not None and event.kind not in self._kinds:
            return False
        key = (event.account, event.kind)
        current = self._pending.get(key)
        if current is None:
            self._pending[key] = event
            self._lot.unpark_all()
            return False
        if event.modseq > current.modseq:
            self._pending[key] = event  # an existing key keeps its position
        return True

    def _end(self) -> None:
        self._ended = True
        self._lot.unpark_all()


@final
class LocalEventBus:
    """The in-process :class:`EventBus`.

    Resource handling:
        ``close()`` (idempotent) ends every subscription: pending entries stay
        readable, then iteration ends, and waiting ``next()`` calls wake. Afterwards
        ``publish()`` does nothing and ``subscribe()`` returns an ended subscription.
    """

    def __init__(self) -> None:
        self._subs: set[Subscription] = set()  # every live subscription, indexed or not
        self._by_account: dict[str, set[Subscription]] = {}
        self._all_accounts: set[Subscription] = set()
        self._published = 0
        self._coalesced = 0
        self._closed = False

    def publish(self, event: ChangeEvent) -> None:
        """Coalesce ``event`` into each matching subscription and wake its waiters;
        synchronous, O(matching subscribers), from the trio thread only."""
        if self._closed:
            return
        self._published += 1
        coalesced = 0
        for sub in self._all_accounts:
            coalesced += sub._offer(event)
        for sub in self._by_account.get(event.account, ()):
            coalesced += sub._offer(event)
        self._coalesced += coalesced

    def subscribe(
        self, *, accounts: Iterable[str] | None = None, kinds: Iterable[str] | None = None
    ) -> Subscription:
        """Subscribe to ``accounts`` and ``kinds`` (``None``: all); a bare ``str``
        filter raises ``TypeError``."""
        sub = Subscription(self, _as_filter(accounts), _as_filter(kinds))
        if self._closed:
            sub._end()
        else:
            self._subs.add(sub)
            self._index(sub)
        return sub

    def close(self) -> None:
        """End every subscription."""
        if self._closed:
            return
        self._closed = True
        subs, self._subs = self._subs, set()
        self._all_accounts.clear()
        self._by_account.clear()
        for sub in subs:
            sub._end()

    def statistics(self) -> BusStatistics:
        """Return live subscriptions, events published and events coalesced."""
        return BusStatistics(len(self._subs), self._published, self._coalesced)

    def _unregister(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
            self._unindex(sub)

    def _refilter(
        self, sub: Subscription, accounts: frozenset[str] | None
    ) -> frozenset[str] | None:
        registered = sub in self._subs
        if registered:
            self._unindex(sub)
        sub._accounts = accounts
        if registered:
            self._index(sub)
        return accounts

    def _index(self, sub: Subscription) -> None:
        if sub._accounts is None:
            self._all_accounts.add(sub)
        else:
            for account in sub._accounts:
                self._by_account.setdefault(account, set()).add(sub)

    def _unindex(self, sub: Subscription) -> None:
        if sub._accounts is None:
            self._all_accounts.discard(sub)
            return
        for account in sub._accounts:
            subs = self._by_account[account]
            subs.discard(sub)
            if not subs:
                del self._by_account[account]
