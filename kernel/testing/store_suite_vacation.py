"""The store contract suite, vacation part: the JMAP VacationResponse singleton.

Imported by each backend's contract test module beside :mod:`kernel.testing.store_suite`.
"""

from __future__ import annotations

from kernel.store import Store
from kernel.store.vacation import VacationResponse

T0 = 1_700_000_000.0


async def _account(store: Store, name: str = "ann@example.org") -> int:
    if "example.org" not in {d.name for d in await store.directory.domains()}:
        await store.directory.add_domain("example.org")
    return (await store.directory.add_account(name, "pw")).id


async def test_store_vacation_default_put_replace(store: Store) -> None:
    ann = await _account(store)
    bob = await _account(store, "bob@example.org")
    assert await store.vacation.get(ann) == VacationResponse()
    first = await store.vacation.put(
        ann,
        VacationResponse(True, T0, T0 + 86400, "Away", "I am away.", "<p>Away</p>"),
    )
    assert first.modseq > 0
    got = await store.vacation.get(ann)
    assert got == first
    assert (got.is_enabled, got.from_date, got.to_date) == (True, T0, T0 + 86400)
    assert (got.subject, got.text_body, got.html_body) == ("Away", "I am away.", "<p>Away</p>")
    assert await store.vacation.get(bob) == VacationResponse()  # per account
    second = await store.vacation.put(ann, VacationResponse(False, None, None, None, "x", None))
    assert second.modseq > first.modseq
    assert await store.vacation.get(ann) == second


async def test_store_vacation_changes_are_logged(store: Store) -> None:
    ann = await _account(store)
    before = await store.backend.read(lambda ops: ops.current_modseq(ann))
    stored = await store.vacation.put(ann, VacationResponse(is_enabled=True))
    from kernel.store.mailboxes import changes

    logged = await store.backend.read(lambda ops: changes(ops, ann, "vacation", before))
    assert (logged.updated, logged.state) == ((0,), stored.modseq)


def test_store_vacation_active_at() -> None:
    always = VacationResponse(is_enabled=True)
    assert always.active_at(T0) and not VacationResponse().active_at(T0)
    window = VacationResponse(True, T0, T0 + 10)
    assert not window.active_at(T0 - 1)
    assert window.active_at(T0) and window.active_at(T0 + 9.9)
    assert not window.active_at(T0 + 10)  # toDate is exclusive (RFC 8621 §8)
