"""The store contract suite, identity part: JMAP sending identities and their changes,
and the outbound queue's JMAP EmailSubmission methods.

Imported by each backend's contract test module beside :mod:`kernel.testing.store_suite`.
"""

from __future__ import annotations

import pytest

from kernel.errors import NoSuchItem, PreconditionFailed
from kernel.store import Store
from kernel.store.queue import Result


async def _account(store: Store, name: str = "ann@example.org") -> int:
    if "example.org" not in {d.name for d in await store.directory.domains()}:
        await store.directory.add_domain("example.org")
    return (await store.directory.add_account(name, "pw")).id


async def test_store_identities_default_is_created_once(store: Store) -> None:
    ann = await _account(store)
    assert await store.identities.list(ann) == []
    first = await store.identities.ensure_default(ann, "ann@example.org", "Ann")
    again = await store.identities.ensure_default(ann, "other@example.org")
    assert [i.id for i in again] == [i.id for i in first]
    [default] = first
    assert (default.email, default.name, default.may_delete) == ("ann@example.org", "Ann", False)
    assert (default.reply_to, default.bcc, default.text_signature) == (None, None, "")
    with pytest.raises(PreconditionFailed):
        await store.identities.delete(ann, default.id)


async def test_store_identities_create_update_delete_and_changes(store: Store) -> None:
    ann = await _account(store)
    bob = await _account(store, "bob@example.org")
    start = await store.backend.read(lambda ops: ops.current_modseq(ann))
    made = await store.identities.create(
        ann,
        "info@example.org",
        name="Info",
        reply_to=[{"name": None, "email": "help@example.org"}],
        text_signature="-- \nInfo",
    )
    assert made.may_delete and made.reply_to == ({"name": None, "email": "help@example.org"},)
    changed = await store.identities.update(
        ann, made.id, bcc=[{"name": "Arch", "email": "arch@example.org"}], html_signature="<b>I</b>"
    )
    assert changed.bcc == ({"name": "Arch", "email": "arch@example.org"},)
    assert changed.html_signature == "<b>I</b>" and changed.name == "Info"
    assert changed.modseq > made.modseq
    cleared = await store.identities.update(ann, made.id, reply_to=None)
    assert cleared.reply_to is None
    with pytest.raises(NoSuchItem):
        await store.identities.get(bob, made.id)  # another account's identity
    with pytest.raises(NoSuchItem):
        await store.identities.update(bob, made.id, name="x")
    with pytest.raises(ValueError):
        await store.identities.update(ann, made.id, email="x@example.org")
    page = await store.mailboxes.changes_page(ann, "identity", start)
    assert list(page.changes.created) == [made.id], page.changes
    assert not page.changes.destroyed
    await store.identities.delete(ann, made.id)
    with pytest.raises(NoSuchItem):
        await store.identities.get(ann, made.id)
    after = await store.mailboxes.changes_page(ann, "identity", cleared.modseq)
    assert list(after.changes.destroyed) == [made.id]
    # created and destroyed within the window: neither (RFC 8620 §5.2 allows omitting it)
    whole = await store.mailboxes.changes_page(ann, "identity", start)
    assert made.id not in whole.changes.created
    assert await store.identities.list(bob) == []


async def test_store_submissions_cancel_and_forget(store: Store) -> None:
    """The queue's JMAP EmailSubmission reads and writes (an account's queue messages)."""
    ann = await _account(store)
    bob = await _account(store, "bob@example.org")
    raw = b"From: ann@example.org\r\nTo: bob@example.org\r\n\r\nhi\r\n"
    start = await store.backend.read(lambda ops: ops.current_modseq(ann))
    later = await store.queue.enqueue(
        raw, "ann@example.org", ["bob@example.org"], account=ann, identity=1, email=2,
        thread=3, send_at=4_000_000_000.0,
    )  # fmt: skip
    other = await store.queue.enqueue(raw, "ann@example.org", ["x@example.net"], account=ann)
    anonymous = await store.queue.enqueue(raw, "", ["y@example.net"])
    mine = await store.queue.submissions(ann)
    assert [m.id for m in mine] == [later, other]
    assert (mine[0].identity, mine[0].email, mine[0].thread) == (1, 2, 3)
    assert [m.id for m in await store.queue.submissions(ann, [other, anonymous])] == [other]
    assert await store.queue.submissions(bob) == []
    with pytest.raises(NoSuchItem):
        await store.queue.cancel_submission(bob, later)

    assert await store.queue.cancel_submission(ann, later)
    [canceled] = await store.queue.submissions(ann, [later])
    assert canceled.undo_status == "canceled"
    assert [(r.status, r.next_attempt) for r in canceled.recipients] == [("failed", None)]
    assert await store.queue.cancel_submission(ann, later)  # again: still canceled

    # once an attempt was made, it cannot be canceled any more
    claimed = await store.queue.claim("node", lease=60.0, limit=10)
    assert {m.id for m in claimed} == {other, anonymous}
    assert not await store.queue.cancel_submission(ann, other)  # leased: in flight
    await store.queue.release(other, "node", ["x@example.net"])
    assert [m.id for m in await store.queue.claim("node", lease=60.0, limit=10)] == [other]
    await store.queue.record(other, "node", [Result("x@example.net", "deferred", 451,
                                                    next_attempt=1.0)])  # fmt: skip
    assert not await store.queue.cancel_submission(ann, other)

    await store.queue.delete_submission(ann, later)  # finished: leaves the queue
    with pytest.raises(NoSuchItem):
        await store.queue.get(later)
    await store.queue.delete_submission(ann, other)  # unfinished: stays queued, anonymous
    assert (await store.queue.get(other)).account is None
    with pytest.raises(NoSuchItem):
        await store.queue.delete_submission(ann, other)
    assert await store.queue.submissions(ann) == []
    page = await store.mailboxes.changes_page(ann, "submission", start)
    assert set(page.changes.destroyed) <= {later, other}
