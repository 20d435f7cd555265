"""The store contract suite, outbound queue part: enqueue, claim with leases, results.

Imported by each backend's contract test module beside :mod:`kernel.testing.store_suite`.
"""

from __future__ import annotations

import pytest
import trio

from kernel.errors import NoSuchItem
from kernel.store import Store
from kernel.store.queue import DEFAULT_LIFETIME, Result

T0 = 1_700_000_000.0
RAW = b"From: a@example.org\r\nSubject: queued\r\n\r\n" + b"body line\r\n" * 20


async def _blob_rows(store: Store, blob: str) -> int:
    return len(await store.backend.read(lambda ops: ops.existing_blobs([blob])))


async def test_store_queue_enqueue_get_raw(store: Store) -> None:
    qid = await store.queue.enqueue(
        RAW,
        "a@example.org",
        ["x@remote.test", "y@remote.test", "x@remote.test"],
        env_id="env-1",
        dsn_ret="HDRS",
        notify="FAILURE,DELAY",
        orcpt="rfc822;x@remote.test",
        now=T0,
    )
    message = await store.queue.get(qid)
    assert (message.return_path, message.env_id, message.dsn_ret) == (
        "a@example.org",
        "env-1",
        "HDRS",
    )
    assert message.size == len(RAW) and message.created == T0 == message.send_at
    assert message.expires == T0 + DEFAULT_LIFETIME and message.account is None
    assert [r.recipient for r in message.recipients] == ["x@remote.test", "y@remote.test"]
    first = message.recipients[0]
    assert (first.status, first.attempts, first.next_attempt) == ("pending", 0, T0)
    assert (first.notify, first.orcpt, first.domain) == (
        "FAILURE,DELAY",
        "rfc822;x@remote.test",
        "remote.test",
    )
    assert await store.queue.raw(qid) == RAW
    assert [m.id for m in await store.queue.list()] == [qid]
    assert await store.queue.next_due() == T0
    with pytest.raises(NoSuchItem):
        await store.queue.get(qid + 1000)
    with pytest.raises(ValueError):
        await store.queue.enqueue(RAW, "", [])


async def test_store_queue_claim_leases_and_due_times(store: Store) -> None:
    later = await store.queue.enqueue(RAW, "", ["l@remote.test"], send_at=T0 + 100, now=T0)
    qid = await store.queue.enqueue(RAW, "", ["a@one.test", "b@two.test"], now=T0)
    claimed = await store.queue.claim("node-a", lease=60, now=T0 + 1)
    assert [(m.id, [r.recipient for r in m.recipients]) for m in claimed] == [
        (qid, ["a@one.test", "b@two.test"])
    ]
    assert all(
        r.lease_owner == "node-a" and r.lease_until == T0 + 61 for r in claimed[0].recipients
    )
    # Leased: another node gets nothing until the lease passes or the time comes.
    assert await store.queue.claim("node-b", lease=60, now=T0 + 2) == []
    again = await store.queue.claim("node-b", lease=60, now=T0 + 101)
    assert sorted(m.id for m in again) == sorted([qid, later])
    # node-a's lease has passed, so its results no longer apply.
    ok = await store.queue.record(qid, "node-a", [Result("a@one.test", "delivered")], now=T0 + 102)
    assert ok == []
    assert (await store.queue.get(qid)).recipients[0].status == "pending"


async def test_store_queue_claim_limit(store: Store) -> None:
    for i in range(5):
        await store.queue.enqueue(RAW, "", [f"r{i}@remote.test"], now=T0 + i)
    first = await store.queue.claim("n", lease=60, limit=2, now=T0 + 10)
    second = await store.queue.claim("n", lease=60, limit=10, now=T0 + 10)
    assert len(first) == 2 and len(second) == 3
    assert not {m.id for m in first} & {m.id for m in second}


async def test_store_queue_concurrent_claims_never_overlap(store: Store) -> None:
    for i in range(12):
        await store.queue.enqueue(RAW, "", [f"r{i}@remote.test", f"s{i}@remote.test"], now=T0)
    got: dict[str, list[tuple[int, str]]] = {}

    async def claimer(name: str) -> None:
        mine = got.setdefault(name, [])
        while batch := await store.queue.claim(name, lease=60, limit=3, now=T0 + 1):
            mine += [(m.id, r.recipient) for m in batch for r in m.recipients]

    async with trio.open_nursery() as nursery:
        for name in ("a", "b", "c"):
            nursery.start_soon(claimer, name)
    every = [item for items in got.values() for item in items]
    assert len(every) == len(set(every)) == 24


async def test_store_queue_results_and_removal(store: Store) -> None:
    qid = await store.queue.enqueue(
        RAW, "s@example.org", ["a@r.test", "b@r.test", "c@r.test"], now=T0
    )
    [message] = await store.queue.claim("n", lease=60, now=T0)
    blob = message.blob
    done = await store.queue.record(
        qid,
        "n",
        [
            Result("a@r.test", "delivered", 250, "2.0.0", "ok", "mx.r.test"),
            Result(
                "b@r.test", "deferred", 451, "4.3.0", "later", "mx.r.test", next_attempt=T0 + 60
            ),
            Result("c@r.test", "failed", 550, "5.1.1", "no such user", "mx.r.test"),
        ],
        now=T0 + 1,
    )
    assert sorted(done) == ["a@r.test", "b@r.test", "c@r.test"]
    states = {r.recipient: r for r in (await store.queue.get(qid)).recipients}
    assert states["a@r.test"].status == "delivered" and states["a@r.test"].next_attempt is None
    b = states["b@r.test"]
    assert (b.status, b.attempts, b.next_attempt, b.last_code, b.last_status) == (
        "deferred", 1, T0 + 60, 451, "4.3.0"
    )  # fmt: skip
    assert b.lease_owner is None and b.last_attempt == T0 + 1
    assert states["c@r.test"].last_error == "no such user"
    assert await store.queue.claim("n", lease=60, now=T0 + 30) == []
    [again] = await store.queue.claim("n", lease=60, now=T0 + 60)
    assert [r.recipient for r in again.recipients] == ["b@r.test"]
    await store.queue.record(qid, "n", [Result("b@r.test", "delivered", 250)], now=T0 + 61)
    with pytest.raises(NoSuchItem):
        await store.queue.get(qid)  # every recipient final: gone, blob released
    assert await _blob_rows(store, blob) == 0
    assert await store.queue.next_due() is None
    with pytest.raises(ValueError):
        Result("x@r.test", "deferred")


async def test_store_queue_shared_blob_is_reference_counted(store: Store) -> None:
    one = await store.queue.enqueue(RAW, "", ["a@r.test"], now=T0)
    two = await store.queue.enqueue(RAW, "", ["b@r.test"], now=T0)
    blob = (await store.queue.get(one)).blob
    await store.queue.cancel(one)
    assert await store.queue.raw(two) == RAW and await _blob_rows(store, blob) == 1
    await store.queue.cancel(two)
    assert await _blob_rows(store, blob) == 0
    with pytest.raises(NoSuchItem):
        await store.queue.cancel(two)


async def test_store_queue_retry_cancel_release(store: Store) -> None:
    qid = await store.queue.enqueue(RAW, "", ["a@r.test", "b@r.test"], now=T0)
    await store.queue.claim("n", lease=600, now=T0)
    await store.queue.record(
        qid, "n", [Result("a@r.test", "deferred", 421, next_attempt=T0 + 3600)], now=T0
    )
    await store.queue.release(qid, "n", ["b@r.test"])
    assert [
        r.recipient
        for m in await store.queue.claim("n", lease=60, now=T0 + 1)
        for r in m.recipients
    ] == ["b@r.test"]
    assert await store.queue.retry(qid, now=T0 + 2) == 2
    states = {r.recipient: r.next_attempt for r in (await store.queue.get(qid)).recipients}
    assert states == {"a@r.test": T0 + 2, "b@r.test": T0 + 2}
    with pytest.raises(NoSuchItem):
        await store.queue.retry(qid + 99)
    await store.queue.cancel(qid, "a@r.test")
    assert [r.recipient for r in (await store.queue.get(qid)).recipients] == ["b@r.test"]
    with pytest.raises(NoSuchItem):
        await store.queue.cancel(qid, "a@r.test")
    await store.queue.cancel(qid, "b@r.test")  # the last recipient takes the message along
    assert await store.queue.list() == []


async def test_store_queue_submission_keeps_record_and_logs_changes(store: Store) -> None:
    await store.directory.add_domain("example.org")
    ann = (await store.directory.add_account("ann@example.org", "pw")).id
    before = await store.backend.read(lambda ops: ops.current_modseq(ann))
    qid = await store.queue.enqueue(
        RAW, "ann@example.org", ["x@r.test"], account=ann, identity=7, email=8, thread=9, now=T0
    )
    message = await store.queue.get(qid)
    assert (message.account, message.identity, message.email, message.thread) == (ann, 7, 8, 9)
    assert message.modseq > before
    await store.queue.claim("n", lease=60, now=T0)
    await store.queue.record(qid, "n", [Result("x@r.test", "delivered", 250)], now=T0)
    kept = await store.queue.get(qid)  # an account's submission stays until deleted
    assert kept.recipients[0].status == "delivered" and kept.modseq > message.modseq
    changes = await store.backend.read(lambda ops: ops.changes_since(ann, "submission", before))
    assert {item for _, item, _, _ in changes} == {qid}
    await store.queue.delete(qid)
    with pytest.raises(NoSuchItem):
        await store.queue.get(qid)


async def test_store_queue_finished_submissions(store: Store) -> None:
    await store.directory.add_domain("example.org")
    ann = (await store.directory.add_account("ann@example.org", "pw")).id
    done = await store.queue.enqueue(RAW, "ann@example.org", ["x@r.test"], account=ann, now=T0)
    pending = await store.queue.enqueue(RAW, "ann@example.org", ["y@r.test"], account=ann, now=T0)
    relayed = await store.queue.enqueue(RAW, "ann@example.org", ["z@r.test"], now=T0)  # no account
    claimed = await store.queue.claim("n", lease=60, now=T0)
    assert {c.id for c in claimed} >= {done, pending, relayed}
    await store.queue.record(done, "n", [Result("x@r.test", "delivered", 250)], now=T0 + 10)
    await store.queue.record(relayed, "n", [Result("z@r.test", "delivered", 250)], now=T0 + 10)
    # Only the account's submission with every recipient final, by its last attempt.
    assert await store.queue.finished_submissions(T0 + 11) == [(ann, done)]
    assert await store.queue.finished_submissions(T0 + 10) == []
    await store.queue.delete_submission(ann, done)
    assert await store.queue.finished_submissions(T0 + 11) == []


async def test_store_queue_large_message_round_trip(store: Store) -> None:
    big = b"Subject: big\r\n\r\n" + b"y" * 200_000 + b"\r\n"
    qid = await store.queue.enqueue(big, "", ["a@r.test"], now=T0)
    assert await store.queue.raw(qid) == big
    await store.queue.cancel(qid)
