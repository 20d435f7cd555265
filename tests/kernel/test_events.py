"""Tests for kernel.events: the coalescing change-hint bus."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from kernel.events import BusStatistics, ChangeEvent, EventBus, LocalEventBus, Subscription


def ev(account: str = "alice", kind: str = "mail", modseq: int = 1) -> ChangeEvent:
    return ChangeEvent(account, kind, modseq)


def drain(sub: Subscription) -> list[ChangeEvent]:
    events = []
    while True:
        try:
            events.append(sub.next_nowait())
        except trio.WouldBlock:
            return events


async def test_subscription_receives_published_event() -> None:
    bus = LocalEventBus()
    with bus.subscribe() as sub:
        bus.publish(ev(modseq=7))
        assert await sub.next() == ev(modseq=7)


async def test_subscription_filters_by_account() -> None:
    bus = LocalEventBus()
    with bus.subscribe(accounts=["alice"]) as sub:
        bus.publish(ev("bob", modseq=1))
        bus.publish(ev("alice", modseq=2))
        assert drain(sub) == [ev("alice", modseq=2)]


async def test_subscription_filters_by_kind() -> None:
    bus = LocalEventBus()
    with bus.subscribe(kinds={"calendar", "mailbox"}) as sub:
        bus.publish(ev(kind="mail"))
        bus.publish(ev(kind="calendar"))
        bus.publish(ev("bob", kind="mailbox"))
        assert drain(sub) == [ev(kind="calendar"), ev("bob", kind="mailbox")]


async def test_subscription_filters_by_account_and_kind() -> None:
    bus = LocalEventBus()
    with bus.subscribe(accounts=["alice"], kinds=["mail"]) as sub:
        for account in ("alice", "bob"):
            for kind in ("mail", "sieve"):
                bus.publish(ev(account, kind))
        assert drain(sub) == [ev("alice", "mail")]


async def test_subscription_coalesces_same_key() -> None:
    bus = LocalEventBus()
    with bus.subscribe() as sub:
        for modseq in (1, 2, 3):
            bus.publish(ev(modseq=modseq))
        assert sub.pending == 1
        assert await sub.next() == ev(modseq=3)
        assert sub.pending == 0
        assert bus.statistics() == BusStatistics(subscribers=1, published=3, coalesced=2)


async def test_subscription_out_of_order_publish_keeps_max() -> None:
    bus = LocalEventBus()
    with bus.subscribe() as sub:
        bus.publish(ev(modseq=5))
        bus.publish(ev(modseq=3))
        assert drain(sub) == [ev(modseq=5)]


async def test_subscription_keeps_first_arrival_order() -> None:
    bus = LocalEventBus()
    with bus.subscribe() as sub:
        bus.publish(ev("alice", "mail", 1))
        bus.publish(ev("bob", "mail", 2))
        bus.publish(ev("alice", "mailbox", 3))
        bus.publish(ev("alice", "mail", 4))  # coalesced: stays first
        assert drain(sub) == [
            ev("alice", "mail", 4),
            ev("bob", "mail", 2),
            ev("alice", "mailbox", 3),
        ]


async def test_publish_slow_subscriber_memory_bounded() -> None:
    bus = LocalEventBus()
    with bus.subscribe() as slow, bus.subscribe(accounts=["a3"]) as filtered:
        for modseq in range(100_000):
            bus.publish(ev(f"a{modseq % 10}", ("mail", "mailbox")[modseq % 2], modseq))
        assert slow.pending == 10  # 10 accounts, each always with the same kind
        assert filtered.pending == 1
        assert bus.statistics().published == 100_000
        assert drain(filtered) == [ev("a3", "mailbox", 99_993)]


async def test_publish_fans_out_to_each_subscriber_independently() -> None:
    bus = LocalEventBus()
    with bus.subscribe() as first, bus.subscribe(accounts=["alice"]) as second:
        bus.publish(ev(modseq=1))
        assert first.next_nowait() == ev(modseq=1)
        bus.publish(ev(modseq=2))
        assert drain(first) == [ev(modseq=2)]
        assert drain(second) == [ev(modseq=2)]
        assert bus.statistics().coalesced == 1  # only `second` merged


async def test_subscription_next_wakes_on_publish() -> None:
    bus = LocalEventBus()
    received: list[ChangeEvent] = []
    with bus.subscribe() as sub:
        async with trio.open_nursery() as nursery:

            async def reader() -> None:
                received.append(await sub.next())

            nursery.start_soon(reader)
            await trio.testing.wait_all_tasks_blocked()
            assert received == []
            bus.publish(ev(modseq=9))
    assert received == [ev(modseq=9)]


async def test_subscription_next_always_checkpoints() -> None:
    bus = LocalEventBus()
    with bus.subscribe() as sub:
        bus.publish(ev())
        with trio.testing.assert_checkpoints():
            await sub.next()


async def test_subscription_next_cancelled_loses_nothing() -> None:
    bus = LocalEventBus()
    with bus.subscribe() as sub:
        with trio.move_on_after(0) as scope:
            await sub.next()
        assert scope.cancelled_caught
        bus.publish(ev())
        assert await sub.next() == ev()


async def test_subscription_close_ends_async_for() -> None:
    bus = LocalEventBus()
    received: list[ChangeEvent] = []
    sub = bus.subscribe()
    async with trio.open_nursery() as nursery:

        async def reader() -> None:
            async for event in sub:
                received.append(event)

        nursery.start_soon(reader)
        bus.publish(ev(modseq=1))
        await trio.testing.wait_all_tasks_blocked()
        sub.close()
    assert received == [ev(modseq=1)]


async def test_subscription_close_drops_pending_and_raises() -> None:
    bus = LocalEventBus()
    sub = bus.subscribe()
    bus.publish(ev())
    sub.close()
    sub.close()  # idempotent
    assert sub.pending == 0
    with pytest.raises(trio.ClosedResourceError):
        sub.next_nowait()
    with pytest.raises(trio.ClosedResourceError):
        await sub.next()
    with pytest.raises(trio.ClosedResourceError):
        sub.set_accounts(["alice"])


async def test_subscription_close_unsubscribes() -> None:
    bus = LocalEventBus()
    kept = bus.subscribe(accounts=["alice"])
    with bus.subscribe(accounts=["alice"]) as sub, bus.subscribe() as everything:
        assert bus.statistics().subscribers == 3
    assert bus.statistics().subscribers == 1
    bus.publish(ev())
    assert sub.pending == 0
    assert everything.pending == 0
    assert kept.pending == 1


async def test_subscription_aclose_unsubscribes() -> None:
    bus = LocalEventBus()
    sub = bus.subscribe()
    with trio.testing.assert_checkpoints():
        await sub.aclose()
    assert bus.statistics().subscribers == 0
    with pytest.raises(trio.ClosedResourceError):
        sub.next_nowait()


async def test_bus_close_wakes_waiters() -> None:
    bus = LocalEventBus()
    sub = bus.subscribe()
    outcome: list[str] = []
    async with trio.open_nursery() as nursery:

        async def waiter() -> None:
            with pytest.raises(trio.EndOfChannel):
                await sub.next()
            outcome.append("ended")

        async def iterator() -> None:
            async for _ in bus.subscribe():
                pass
            outcome.append("iteration ended")

        nursery.start_soon(waiter)
        nursery.start_soon(iterator)
        await trio.testing.wait_all_tasks_blocked()
        bus.close()
    assert sorted(outcome) == ["ended", "iteration ended"]
    assert bus.statistics().subscribers == 0


async def test_bus_close_ends_subscription_with_no_accounts() -> None:
    bus = LocalEventBus()
    sub = bus.subscribe(accounts=[])
    assert bus.statistics().subscribers == 1
    bus.close()
    with pytest.raises(trio.EndOfChannel):
        await sub.next()
    assert bus.statistics().subscribers == 0


async def test_bus_close_lets_pending_drain_then_ends() -> None:
    bus = LocalEventBus()
    sub = bus.subscribe()
    bus.publish(ev(modseq=4))
    bus.close()
    bus.close()  # idempotent
    assert [event async for event in sub] == [ev(modseq=4)]
    with pytest.raises(trio.EndOfChannel):
        sub.next_nowait()
    sub.close()  # still allowed after the bus closed


async def test_bus_closed_publish_is_noop_and_subscribe_is_ended() -> None:
    bus = LocalEventBus()
    bus.close()
    bus.publish(ev())
    sub = bus.subscribe()
    with pytest.raises(trio.EndOfChannel):
        await sub.next()
    sub.set_accounts(["alice"])  # harmless: nothing left to index
    assert bus.statistics() == BusStatistics(subscribers=0, published=0, coalesced=0)


async def test_subscription_set_accounts_changes_delivery() -> None:
    bus = LocalEventBus()
    with bus.subscribe(accounts=["alice"]) as sub:
        sub.set_accounts(["alice", "shared"])
        bus.publish(ev("shared", modseq=1))
        assert drain(sub) == [ev("shared", modseq=1)]
        sub.set_accounts(["bob"])
        bus.publish(ev("alice", modseq=2))
        bus.publish(ev("bob", modseq=3))
        assert drain(sub) == [ev("bob", modseq=3)]
        sub.set_accounts(None)
        bus.publish(ev("carol", modseq=4))
        assert drain(sub) == [ev("carol", modseq=4)]
        sub.set_accounts([])
        bus.publish(ev("carol", modseq=5))
        assert sub.pending == 0
        assert bus.statistics().subscribers == 1


async def test_subscription_set_accounts_drops_pending_for_removed_accounts() -> None:
    bus = LocalEventBus()
    with bus.subscribe() as sub:
        bus.publish(ev("alice"))
        bus.publish(ev("bob"))
        sub.set_accounts(["bob"])
        assert drain(sub) == [ev("bob")]


async def test_subscription_next_nowait_raises_wouldblock_when_empty() -> None:
    bus = LocalEventBus()
    with bus.subscribe() as sub, pytest.raises(trio.WouldBlock):
        sub.next_nowait()


def test_subscribe_rejects_bare_str_filter() -> None:
    bus = LocalEventBus()
    with pytest.raises(TypeError):
        bus.subscribe(accounts="alice")
    with pytest.raises(TypeError):
        bus.subscribe(kinds="mail")
    with bus.subscribe() as sub, pytest.raises(TypeError):
        sub.set_accounts("alice")


def test_local_bus_satisfies_event_bus_protocol() -> None:
    bus: EventBus = LocalEventBus()
    assert isinstance(bus, EventBus)


def test_change_event_is_frozen() -> None:
    event = ev()
    with pytest.raises(AttributeError):
        event.modseq = 2  # type: ignore[misc]


@given(
    st.lists(
        st.tuples(st.sampled_from("abc"), st.sampled_from(["mail", "sieve"]), st.integers(0, 9)),
        max_size=40,
    )
)
def test_subscription_coalescing_matches_model(published: list[tuple[str, str, int]]) -> None:
    bus = LocalEventBus()
    sub = bus.subscribe()
    model: dict[tuple[str, str], int] = {}  # insertion order = first arrival
    for account, kind, modseq in published:
        bus.publish(ChangeEvent(account, kind, modseq))
        key = (account, kind)
        model[key] = max(model.get(key, modseq), modseq)
    assert drain(sub) == [ChangeEvent(a, k, m) for (a, k), m in model.items()]
    assert bus.statistics().coalesced == len(published) - len(model)
