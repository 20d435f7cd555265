"""The lease keeper: renewals on schedule, retries, loss (fake store, autojump clock)."""

from __future__ import annotations

import trio
import trio.testing

from kernel.errors import StoreError
from kernel.telemetry import get_logger
from plugins.pop3.lease import keep_lease, release_quietly

LOG = get_logger("test")


class FakeLeases:
    """Answers renewals from a script: True, False, or an exception to raise."""

    def __init__(self, answers: list[object]) -> None:
        self.answers = answers
        self.renewals: list[float] = []
        self.released: list[tuple[int, str]] = []

    async def renew(self, account: int, owner: str, ttl: float) -> bool:
        self.renewals.append(trio.current_time())
        await trio.lowlevel.checkpoint()
        answer = self.answers.pop(0) if self.answers else True
        if isinstance(answer, Exception):
            raise answer
        return bool(answer)

    async def release(self, account: int, owner: str) -> bool:
        self.released.append((account, owner))
        if self.answers and isinstance(self.answers[0], Exception):
            raise self.answers.pop(0)  # type: ignore[misc]
        await trio.lowlevel.checkpoint()
        return True


async def test_lease_renewed_every_third_of_its_life(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = FakeLeases([])
    lost: list[bool] = []
    start = trio.current_time()
    with trio.move_on_after(100):
        async with trio.open_nursery() as nursery:
            await nursery.start(keep_lease, store, 1, "me", 30.0, lambda: lost.append(True), LOG)
    assert [round(t - start) for t in store.renewals] == list(range(10, 100, 10))
    assert not lost


async def test_lease_lost_to_another_owner(autojump_clock: trio.testing.MockClock) -> None:
    store = FakeLeases([True, False])
    lost: list[float] = []
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        await nursery.start(
            keep_lease, store, 1, "me", 30.0, lambda: lost.append(trio.current_time()), LOG
        )
    assert [round(t - start) for t in lost] == [20]  # the task returned after reporting


async def test_lease_store_failures_retried_until_it_may_have_expired(
    autojump_clock: trio.testing.MockClock,
) -> None:
    failure = StoreError("database unreachable")
    # One failure is retried; failures until the lease may have run out lose it.
    store = FakeLeases([failure, True, failure, failure])
    lost: list[float] = []
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        await nursery.start(
            keep_lease, store, 1, "me", 30.0, lambda: lost.append(trio.current_time()), LOG
        )
    # Confirmed at 20 (valid to 50): the failure at 30 is retried at 40; after the
    # failure at 40 the next try (50) would come too late, so the lease is lost.
    assert [round(t - start) for t in store.renewals] == [10, 20, 30, 40]
    assert [round(t - start) for t in lost] == [40]


async def test_lease_release_is_shielded_and_quiet(autojump_clock: trio.testing.MockClock) -> None:
    store = FakeLeases([StoreError("down")])
    with trio.CancelScope() as scope:
        scope.cancel()
        await release_quietly(store, 1, "me", LOG)  # runs despite the cancellation
    assert store.released == [(1, "me")]
