"""The store contract suite, Sieve part: scripts, the active script, tracking.

Imported by each backend's contract test module beside :mod:`kernel.testing.store_suite`.
"""

from __future__ import annotations

import pytest
import trio

from kernel.errors import DuplicateUid, NoSuchItem, PreconditionFailed, QuotaExceeded
from kernel.store import Store

T0 = 1_700_000_000.0


async def _account(store: Store, name: str = "ann@example.org") -> int:
    if "example.org" not in {d.name for d in await store.directory.domains()}:
        await store.directory.add_domain("example.org")
    return (await store.directory.add_account(name, "pw")).id


async def test_store_sieve_put_get_list_replace(store: Store) -> None:
    ann = await _account(store)
    bob = await _account(store, "bob@example.org")
    first = await store.sieve.put(ann, "main", b"keep;\r\n", b"C1", now=T0)
    assert (first.name, first.size, first.is_active) == ("main", 7, False)
    await store.sieve.put(ann, "Other", b"discard;", None)
    assert [s.name for s in await store.sieve.list(ann)] == ["Other", "main"]  # bytewise order
    assert await store.sieve.list(bob) == []
    script, source = await store.sieve.get(ann, "main")
    assert (script.id, source) == (first.id, b"keep;\r\n")
    replaced = await store.sieve.put(ann, "main", b"stop;", None, now=T0 + 5)
    assert (replaced.id, replaced.size, replaced.updated) == (first.id, 5, T0 + 5)
    assert replaced.modseq > first.modseq
    assert (await store.sieve.get_by_id(ann, first.id))[1] == b"stop;"
    with pytest.raises(NoSuchItem):
        await store.sieve.get(ann, "MAIN")  # names compare bytewise
    with pytest.raises(NoSuchItem):
        await store.sieve.get_by_id(bob, first.id)
    assert await store.sieve.usage(ann) == (2, 13)


async def test_store_sieve_limits(store: Store) -> None:
    ann = await _account(store)
    await store.sieve.put(ann, "a", b"keep;", None, max_scripts=1)
    with pytest.raises(QuotaExceeded):
        await store.sieve.put(ann, "b", b"keep;", None, max_scripts=1)
    await store.sieve.put(ann, "a", b"stop;", None, max_scripts=1)  # a replacement is not new
    with pytest.raises(QuotaExceeded):
        await store.sieve.put(ann, "a", b"x" * 11, None, max_size=10)


async def test_store_sieve_active_script(store: Store) -> None:
    ann = await _account(store)
    assert await store.sieve.active(ann) is None
    await store.sieve.put(ann, "one", b"keep;", b"compiled-1")
    await store.sieve.put(ann, "two", b"discard;", None)
    await store.sieve.set_active(ann, "one")
    script, source, compiled = await store.sieve.active(ann) or (None, b"", None)
    assert script is not None and script.name == "one" and script.is_active
    assert (source, compiled) == (b"keep;", b"compiled-1")
    await store.sieve.set_active(ann, "two")  # switches in one transaction
    assert [(s.name, s.is_active) for s in await store.sieve.list(ann)] == [
        ("one", False),
        ("two", True),
    ]
    with pytest.raises(PreconditionFailed):
        await store.sieve.delete(ann, "two")
    with pytest.raises(NoSuchItem):
        await store.sieve.set_active(ann, "three")
    active = await store.sieve.active(ann)
    assert active is not None and active[2] is None
    await store.sieve.set_compiled(active[0].id, b"compiled-2")
    active = await store.sieve.active(ann)
    assert active is not None and active[2] == b"compiled-2"
    await store.sieve.set_active(ann, None)
    assert await store.sieve.active(ann) is None
    await store.sieve.delete(ann, "two")
    assert [s.name for s in await store.sieve.list(ann)] == ["one"]


async def test_store_sieve_rename(store: Store) -> None:
    ann = await _account(store)
    one = await store.sieve.put(ann, "one", b"keep;", None)
    await store.sieve.put(ann, "two", b"keep;", None)
    await store.sieve.set_active(ann, "one")
    with pytest.raises(DuplicateUid):
        await store.sieve.rename(ann, "one", "two")
    with pytest.raises(NoSuchItem):
        await store.sieve.rename(ann, "nope", "three")
    await store.sieve.rename(ann, "one", "uno")
    active = await store.sieve.active(ann)
    assert active is not None and (active[0].id, active[0].name) == (one.id, "uno")


async def test_store_sieve_changes_are_logged_and_published(store: Store) -> None:
    ann = await _account(store)
    script = await store.sieve.put(ann, "one", b"keep;", None)
    await store.sieve.set_active(ann, "one")

    rows = await store.backend.read(lambda ops: ops.changes_since(ann, "sieve", 0))
    assert {item for _, item, _, _ in rows} == {script.id}
    assert any(created for _, _, created, _ in rows)


async def test_store_sieve_tracking(store: Store) -> None:
    ann = await _account(store)
    assert not await store.sieve.track(ann, "duplicate", b"d1", 60, now=T0)
    assert await store.sieve.track(ann, "duplicate", b"d1", 60, now=T0 + 30)
    assert not await store.sieve.track(ann, "vacation", b"d1", 60, now=T0 + 30)  # per kind
    assert not await store.sieve.track(ann, "duplicate", b"d1", 60, now=T0 + 61)  # expired
    await store.sieve.forget_tracking(ann, "duplicate", b"d1")
    assert not await store.sieve.track(ann, "duplicate", b"d1", 60, now=T0 + 62)
    assert await store.sieve.sweep_tracking(now=T0 + 1000) == 2


async def test_store_sieve_concurrent_tracking_answers_new_once(store: Store) -> None:
    ann = await _account(store)
    answers: list[bool] = []

    async def one() -> None:
        answers.append(await store.sieve.track(ann, "duplicate", b"same", 60, now=T0))

    async with trio.open_nursery() as nursery:
        for _ in range(10):
            nursery.start_soon(one)
    assert sorted(answers) == [False] + [True] * 9


async def test_store_sieve_create_only_and_update(store: Store) -> None:
    ann = await _account(store)
    first = await store.sieve.put(ann, "main", b"keep;", None, create_only=True, now=T0)
    with pytest.raises(DuplicateUid):
        await store.sieve.put(ann, "main", b"stop;", None, create_only=True)
    assert (await store.sieve.get(ann, "main"))[1] == b"keep;"  # left alone
    other = await store.sieve.put(ann, "other", b"discard;", None)
    updated = await store.sieve.update(
        ann, first.id, name="renamed", content=(b"stop;", b"C"), now=T0 + 1
    )
    assert (updated.id, updated.name, updated.size, updated.updated) == (
        first.id,
        "renamed",
        5,
        T0 + 1,
    )
    assert (await store.sieve.get(ann, "renamed"))[1] == b"stop;"
    with pytest.raises(NoSuchItem):
        await store.sieve.get(ann, "main")
    with pytest.raises(DuplicateUid):
        await store.sieve.update(ann, first.id, name="other", content=(b"keep;", None))
    # All or nothing: the refused rename did not replace the source either.
    assert (await store.sieve.get(ann, "renamed"))[1] == b"stop;"
    assert (await store.sieve.get_by_id(ann, other.id))[1] == b"discard;"
    with pytest.raises(NoSuchItem):
        await store.sieve.update(ann, 10**9, name="x")
    with pytest.raises(QuotaExceeded):
        await store.sieve.update(ann, first.id, content=(b"x" * 11, None), max_size=10)


async def test_store_sieve_concurrent_creates_of_one_name(store: Store) -> None:
    ann = await _account(store)
    outcomes: list[str] = []

    async def create(i: int) -> None:
        try:
            await store.sieve.put(ann, "same", b"keep; # %d" % i, None, create_only=True)
            outcomes.append("created")
        except DuplicateUid:
            outcomes.append("exists")

    async with trio.open_nursery() as nursery:
        for i in range(8):
            nursery.start_soon(create, i)
    assert sorted(outcomes) == ["created"] + ["exists"] * 7
    assert [s.name for s in await store.sieve.list(ann)] == ["same"]


__all__ = sorted(name for name in globals() if name.startswith("test_"))
