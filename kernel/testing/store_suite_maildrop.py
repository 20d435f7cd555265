"""The store contract suite, maildrop part: POP3 leases, listing, streamed reads, expunge.

A backend's test module runs it like the rest of the suite (see
:mod:`kernel.testing.store_suite`), with the same ``store`` fixture::

    from kernel.testing.store_suite_maildrop import *  # noqa: F403
"""

from __future__ import annotations

import pytest
import trio

from kernel.errors import NoSuchItem
from kernel.store import Store

__all__: list[str] = []  # filled at the end

T0 = 1_800_000_000.0


async def _account(store: Store, name: str = "ann@example.org") -> int:
    if not await store.directory.is_local_domain("example.org"):
        await store.directory.add_domain("example.org")
    return (await store.directory.add_account(name, "pw")).id


async def _box(store: Store, account: int, role: str) -> int:
    return next(m.id for m in await store.mailboxes.list(account) if m.role == role)


def _raw(n: int, body: bytes = b"hello\r\n") -> bytes:
    return b"Subject: message %d\r\nMessage-ID: <m%d@x>\r\n\r\n" % (n, n) + body


async def test_maildrop_lease_acquire_renew_release(store: Store) -> None:
    ann = await _account(store)
    m = store.maildrop
    assert await m.acquire(ann, "a", 60, now=T0)
    assert await m.acquire(ann, "a", 60, now=T0 + 1)  # the holder may take it again
    assert not await m.acquire(ann, "b", 60, now=T0 + 30)  # [IN-USE]
    assert await m.renew(ann, "a", 60, now=T0 + 50)  # now runs to T0 + 110
    assert not await m.acquire(ann, "b", 60, now=T0 + 100)
    assert not await m.renew(ann, "b", 60, now=T0 + 100)  # b never held it
    assert not await m.release(ann, "b")
    assert await m.release(ann, "a")
    assert not await m.release(ann, "a")  # already gone
    assert await m.acquire(ann, "b", 60, now=T0 + 100)


async def test_maildrop_lease_expires_and_is_taken_over(store: Store) -> None:
    ann = await _account(store)
    bob = await _account(store, "bob@example.org")
    m = store.maildrop
    assert await m.acquire(ann, "crashed", 60, now=T0)
    assert await m.acquire(bob, "other", 60, now=T0)  # leases are per account
    assert not await m.acquire(ann, "next", 60, now=T0 + 59)
    assert await m.acquire(ann, "next", 60, now=T0 + 61)  # the crashed holder's ran out
    assert not await m.renew(ann, "crashed", 60, now=T0 + 62)  # it lost the lease
    assert not await m.release(ann, "crashed")
    assert not await m.acquire(ann, "third", 60, now=T0 + 62)  # "next" holds it


async def test_maildrop_lease_needs_an_account_and_goes_with_it(store: Store) -> None:
    with pytest.raises(NoSuchItem):
        await store.maildrop.acquire(999_999, "a", 60, now=T0)
    ann = await _account(store)
    assert await store.maildrop.acquire(ann, "a", 60, now=T0)
    await store.directory.delete_account("ann@example.org")
    again = await _account(store)
    assert await store.maildrop.acquire(again, "b", 60, now=T0 + 1)


async def test_maildrop_lease_concurrent_acquires_one_wins(store: Store) -> None:
    ann = await _account(store)
    winners: list[str] = []

    async def contender(owner: str) -> None:
        if await store.maildrop.acquire(ann, owner, 60, now=T0):
            winners.append(owner)

    async with trio.open_nursery() as nursery:
        for i in range(8):
            nursery.start_soon(contender, f"session-{i}")
    assert len(winners) == 1


async def test_maildrop_listing_is_the_inbox_by_membership(store: Store) -> None:
    ann = await _account(store)
    inbox, sent = await _box(store, ann, "inbox"), await _box(store, ann, "sent")
    first = await store.emails.append(ann, _raw(1), [inbox])
    await store.emails.append(ann, _raw(2), [sent])  # not in the maildrop
    twin = await store.emails.append(ann, _raw(1), [inbox])  # same bytes: a second message
    listing = await store.maildrop.listing(ann)
    assert listing.inbox == inbox
    assert listing.uidvalidity == (await store.mailboxes.get(ann, inbox)).uidvalidity
    assert [(e.email, e.uid, e.size) for e in listing.entries] == [
        (first.email, first.uids[inbox], len(_raw(1))),
        (twin.email, twin.uids[inbox], len(_raw(1))),
    ]
    assert listing.entries[0].uid != listing.entries[1].uid
    # Stable across reads; a later delivery only shows in a later listing.
    third = await store.emails.append(ann, _raw(3), [inbox])
    again = await store.maildrop.listing(ann)
    assert again.entries[:2] == listing.entries
    assert again.entries[2].email == third.email


async def test_maildrop_open_message_streams_the_bytes(store: Store) -> None:
    ann = await _account(store)
    inbox = await _box(store, ann, "inbox")
    big = _raw(1, b"".join(b"line %06d of a long body\r\n" % i for i in range(20_000)))
    small = _raw(2)
    stored = [await store.emails.append(ann, raw, [inbox]) for raw in (big, small)]
    for raw, result in zip((big, small), stored, strict=True):
        reader = await store.maildrop.open_message(ann, result.email)
        assert reader.size == len(raw)
        chunks = []
        async with reader:
            while chunk := await reader.read_chunk(50_000):
                assert len(chunk) <= 50_000
                chunks.append(chunk)
        assert b"".join(chunks) == raw
    with pytest.raises(NoSuchItem):
        await store.maildrop.open_message(ann, 999_999)
    bob = await _account(store, "bob@example.org")
    with pytest.raises(NoSuchItem):
        await store.maildrop.open_message(bob, stored[0].email)  # not bob's


async def test_maildrop_expunge_removes_only_what_was_listed(store: Store) -> None:
    ann = await _account(store)
    inbox, archive = await _box(store, ann, "inbox"), await _box(store, ann, "archive")
    kept = await store.emails.append(ann, _raw(1), [inbox])
    gone = await store.emails.append(ann, _raw(2), [inbox])
    moved = await store.emails.append(ann, _raw(3), [inbox])
    listing = await store.maildrop.listing(ann)
    before = (await store.emails.mailbox_changes(ann, inbox, 0)).highest_modseq
    # Another client moves one message out and back: a new UID, a new message.
    await store.emails.move(ann, inbox, [moved.email], archive)
    await store.emails.move(ann, archive, [moved.email], inbox)
    late = await store.emails.append(ann, _raw(4), [inbox])  # arrived after the listing
    removed = await store.maildrop.expunge(ann, listing, listing.entries[1:])
    assert removed == 1
    left = [m.email for m in await store.emails.in_mailbox(ann, inbox)]
    assert left == [kept.email, moved.email, late.email]
    changes = await store.emails.mailbox_changes(ann, inbox, before)
    assert gone.uids[inbox] in changes.expunged
    with pytest.raises(NoSuchItem):
        await store.emails.get(ann, gone.email)  # its last membership: destroyed
    assert await store.maildrop.expunge(ann, listing, listing.entries[1:]) == 0


async def test_maildrop_expunge_to_trash(store: Store) -> None:
    ann = await _account(store)
    inbox, trash = await _box(store, ann, "inbox"), await _box(store, ann, "trash")
    first = await store.emails.append(ann, _raw(1), [inbox])
    second = await store.emails.append(ann, _raw(2), [inbox])
    listing = await store.maildrop.listing(ann)
    assert await store.maildrop.expunge(ann, listing, listing.entries[:1], trash=True) == 1
    assert [m.email for m in await store.emails.in_mailbox(ann, inbox)] == [second.email]
    assert [m.email for m in await store.emails.in_mailbox(ann, trash)] == [first.email]
    # Without a Trash, one is created.
    await store.mailboxes.delete(ann, trash)
    listing = await store.maildrop.listing(ann)
    assert await store.maildrop.expunge(ann, listing, listing.entries, trash=True) == 1
    [new_trash] = [m for m in await store.mailboxes.list(ann) if m.role == "trash"]
    assert new_trash.name == "Trash"
    assert [m.email for m in await store.emails.in_mailbox(ann, new_trash.id)] == [second.email]


async def test_maildrop_listing_needs_an_inbox(store: Store) -> None:
    await store.directory.add_domain("example.org")
    group = await store.directory.add_account("team@example.org", None, kind="group")
    with pytest.raises(NoSuchItem):
        await store.maildrop.listing(group.id)


__all__ = sorted(name for name in globals() if name.startswith("test_"))
