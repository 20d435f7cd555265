"""kernel.store.verified: remembered password checks and checks shared while in flight."""

from __future__ import annotations

import trio
import trio.testing

from kernel.store.verified import VerifiedSecrets


async def test_verified_concurrent_checks_run_once_and_share_the_answer() -> None:
    secrets = VerifiedSecrets()
    calls = 0
    release = trio.Event()

    async def verify() -> bool:
        nonlocal calls
        calls += 1
        await release.wait()
        return False

    answers: list[bool] = []

    async def check() -> None:
        answers.append(await secrets.check("hash", "guess", verify))

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(check)
        await trio.testing.wait_all_tasks_blocked()
        release.set()
    assert (calls, answers) == (1, [False] * 5)
    assert not secrets.known("hash", "guess")  # failures are never remembered
    release = trio.Event()
    release.set()
    assert await secrets.check("hash", "guess", verify) is False
    assert calls == 2  # nothing in flight any more: checked again


async def test_verified_waiters_check_themselves_when_the_first_check_fails() -> None:
    secrets = VerifiedSecrets()
    started = trio.Event()
    first = trio.CancelScope()
    calls = 0

    async def hanging() -> bool:
        started.set()
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def working() -> bool:
        nonlocal calls
        calls += 1
        return True

    async def leader() -> None:
        with first:
            await secrets.check("hash", "pw", hanging)

    answers: list[bool] = []

    async def waiter() -> None:
        answers.append(await secrets.check("hash", "pw", working))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(leader)
        await started.wait()
        nursery.start_soon(waiter)
        await trio.testing.wait_all_tasks_blocked()
        first.cancel()  # the first check ends without an answer
    assert (answers, calls) == ([True], 1)
    assert secrets.known("hash", "pw")
