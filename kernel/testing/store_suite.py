"""The store contract suite: every backend must pass these.

A backend's test module provides a function-scoped async fixture named
``store`` yielding a :class:`kernel.store.Store` over a fresh, empty backend,
then imports the tests::

    from kernel.testing.store_suite import *  # noqa: F403

so third-party backends run exactly what the built-in ones run.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio

from kernel.errors import DuplicateUid, NoSuchItem, PreconditionFailed, QuotaExceeded
from kernel.store import InvalidName, Store

__all__ = [name for name in dir() if name.startswith("test_")]  # filled at the end


async def test_store_domains_add_list_delete(store: Store) -> None:
    d = store.directory
    await d.add_domain("Example.ORG")
    await d.add_domain("example.net")
    assert [x.name for x in await d.domains()] == ["example.net", "example.org"]
    assert await d.is_local_domain("EXAMPLE.org.")
    with pytest.raises(DuplicateUid):
        await d.add_domain("example.org")
    for bad in ("", "localhost", "-x.org", "a..b", "x" * 300 + ".org"):
        with pytest.raises(InvalidName):
            await d.add_domain(bad)
    await d.delete_domain("example.net")
    assert [x.name for x in await d.domains()] == ["example.org"]
    with pytest.raises(NoSuchItem):
        await d.delete_domain("example.net")


async def test_store_account_needs_local_domain(store: Store) -> None:
    d = store.directory
    with pytest.raises(InvalidName, match="not a local domain"):
        await d.add_account("ann@example.org", "pw")
    await d.add_domain("example.org")
    ann = await d.add_account("Ann@Example.org", "pw", quota=1000)
    assert (ann.name, ann.kind, ann.role, ann.quota, ann.enabled) == (
        "ann@example.org",
        "individual",
        "user",
        1000,
        True,
    )
    admin = await d.add_account("admin", "pw", role="admin")
    assert admin.is_admin
    with pytest.raises(DuplicateUid):
        await d.add_account("ann@example.org", "other")
    for bad in ("a b@example.org", ".a@example.org", "a..b@example.org", "UP PER", "-x"):
        with pytest.raises(InvalidName):
            await d.add_account(bad, "pw")
    with pytest.raises(DuplicateUid, match="still has principals"):
        await d.delete_domain("example.org")
    assert [p.name for p in await d.principals()] == ["admin", "ann@example.org"]


async def test_store_authenticate_password(store: Store) -> None:
    d = store.directory
    await d.add_domain("example.org")
    await d.add_account("ann@example.org", "correct horse")
    ok = await d.authenticate("ANN@example.org", "correct horse")
    assert ok is not None and ok.ok and ok.account == "ann@example.org"
    bad = await d.authenticate("ann@example.org", "wrong")
    assert bad is not None and not bad.ok
    assert await d.authenticate("nobody@example.org", "x") is None
    await d.set_password("ann@example.org", "new one")
    assert not (await d.authenticate("ann@example.org", "correct horse")).ok
    assert (await d.authenticate("ann@example.org", "new one")).ok
    await d.update("ann@example.org", enabled=False)
    disabled = await d.authenticate("ann@example.org", "new one")
    assert disabled is not None and not disabled.ok and disabled.reason == "account disabled"


def _counting_hasher() -> Any:
    """A cheap argon2 hasher that counts its ``verify`` calls in ``.calls``."""
    import argon2

    class Counting(argon2.PasswordHasher):
        calls = 0

        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            self.calls += 1
            return super().verify(hash, password)

    return Counting(time_cost=1, memory_cost=1024, parallelism=1)


async def test_store_verified_logins_are_remembered_until_anything_changes(
    store: Store,
) -> None:
    hasher = _counting_hasher()
    d = Store(store.backend, hasher=hasher).directory
    await d.add_domain("example.org")
    await d.add_account("ann@example.org", "secret one")
    assert (await d.authenticate("ann@example.org", "secret one")).ok
    calls = hasher.calls
    assert (await d.authenticate("ann@example.org", "secret one")).ok
    assert hasher.calls == calls  # remembered: no argon2 this time
    for _ in range(2):  # failures are never remembered
        assert not (await d.authenticate("ann@example.org", "guess")).ok
    assert hasher.calls == calls + 2
    app = await d.add_app_password("ann@example.org", "phone")
    assert (await d.authenticate("ann@example.org", app)).ok
    calls = hasher.calls
    app_login = await d.authenticate("ann@example.org", app)
    assert app_login.ok and app_login.attributes == {"app_password": "phone"}
    assert hasher.calls == calls
    await d.revoke_app_password("ann@example.org", "phone")
    assert not (await d.authenticate("ann@example.org", app)).ok
    await d.set_password("ann@example.org", "secret two")
    assert not (await d.authenticate("ann@example.org", "secret one")).ok
    assert (await d.authenticate("ann@example.org", "secret two")).ok
    await d.update("ann@example.org", enabled=False)
    assert not (await d.authenticate("ann@example.org", "secret two")).ok


async def test_store_concurrent_identical_logins_share_one_check(store: Store) -> None:
    hasher = _counting_hasher()
    d = Store(store.backend, hasher=hasher).directory
    await d.add_domain("example.org")
    # U+00AD is mapped to nothing by SASLprep: the remembered form is the prepared one.
    await d.add_account("ann@example.org", "pass\u00adword")
    results: list[bool] = []

    async def login() -> None:
        result = await d.authenticate("ann@example.org", "pass\u00adword")
        results.append(bool(result and result.ok))

    async with trio.open_nursery() as nursery:
        for _ in range(10):
            nursery.start_soon(login)
    assert results == [True] * 10
    assert hasher.calls == 1  # one argon2 run for ten logins in flight together
    assert (await d.authenticate("ann@example.org", "password")).ok  # SASLprep'd form
    assert hasher.calls == 1  # remembered under the prepared password


async def test_store_account_without_password_cannot_log_in(store: Store) -> None:
    await store.directory.add_domain("example.org")
    await store.directory.add_account("shared@example.org", None, kind="group")
    result = await store.directory.authenticate("shared@example.org", "")
    assert result is not None and not result.ok
    assert await store.directory.scram_secret("shared@example.org") is None


async def test_store_scram_keys_match_the_password(store: Store) -> None:
    from kernel.sasl import derive_scram_keys

    await store.directory.add_domain("example.org")
    await store.directory.add_account("ann@example.org", "pencil")
    secret = await store.directory.scram_secret("ann@example.org")
    assert secret is not None
    again = derive_scram_keys("pencil", salt=secret.salt, iterations=secret.iterations)
    assert (again.stored_key, again.server_key) == (secret.stored_key, secret.server_key)
    assert "stored_key" not in repr(secret) or secret.stored_key.hex() not in repr(secret)


async def test_store_app_passwords(store: Store) -> None:
    d = store.directory
    await d.add_domain("example.org")
    await d.add_account("ann@example.org", "main")
    phone = await d.add_app_password("ann@example.org", "phone")
    result = await d.authenticate("ann@example.org", phone)
    assert result is not None and result.ok and result.attributes == {"app_password": "phone"}
    [listed] = await d.app_passwords("ann@example.org")
    assert listed.name == "phone" and listed.last_used is not None
    with pytest.raises(DuplicateUid):
        await d.add_app_password("ann@example.org", "phone")
    await d.revoke_app_password("ann@example.org", "phone")
    assert not (await d.authenticate("ann@example.org", phone)).ok
    with pytest.raises(NoSuchItem):
        await d.revoke_app_password("ann@example.org", "phone")


async def test_store_tokens(store: Store) -> None:
    d = store.directory
    await d.add_domain("example.org")
    await d.add_account("ann@example.org", "pw")
    await d.add_account("bob@example.org", "pw")
    token = await d.add_token("ann@example.org", "cli")
    assert (await d.verify_token(token)).account == "ann@example.org"
    assert (await d.verify_token(token, "ann@example.org")).ok
    assert await d.verify_token(token, "bob@example.org") is None
    assert await d.verify_token("not-a-token") is None
    expired = await d.add_token("ann@example.org", "old", lifetime=-1)
    result = await d.verify_token(expired)
    assert result is not None and not result.ok and result.reason == "token expired"
    assert [t.name for t in await d.tokens("ann@example.org")] == ["cli", "old"]
    await d.revoke_token("ann@example.org", "cli")
    assert await d.verify_token(token) is None


async def test_store_recipient_resolution(store: Store) -> None:
    d = store.directory
    await d.add_domain("example.org")
    await d.add_domain("example.net")
    await d.add_account("boss", "pw", role="admin")
    await d.add_account("ann@example.org", "pw")
    await d.add_account("bob@example.org", "pw")
    await d.add_alias("sales@example.org", "ann@example.org")

    async def who(address: str) -> str | None:
        principal = await d.resolve_recipient(address)
        return principal.name if principal else None

    assert await who("ANN@example.org") == "ann@example.org"
    assert await who("ann+lists@example.org") == "ann@example.org"  # RFC 5233 subaddress
    assert await who("sales@example.org") == "ann@example.org"
    assert await who("sales+x@example.org") == "ann@example.org"
    assert await who("nobody@example.org") is None
    assert await who("ann@elsewhere.example") is None
    assert await who("postmaster@example.net") == "boss"  # RFC 5321 §4.5.1
    assert await who("not-an-address") is None
    await d.add_alias("@example.org", "bob@example.org")  # catch-all
    assert await who("nobody@example.org") == "bob@example.org"
    assert await who("ann@example.org") == "ann@example.org"
    assert await d.aliases() == [
        ("@example.org", "bob@example.org"),
        ("sales@example.org", "ann@example.org"),
    ]
    with pytest.raises(DuplicateUid):
        await d.add_alias("bob@example.org", "ann@example.org")
    with pytest.raises(NoSuchItem):
        await d.add_alias("x@example.org", "ghost@example.org")
    with pytest.raises(InvalidName):
        await d.add_alias("x@elsewhere.example", "ann@example.org")
    await d.delete_alias("sales@example.org")
    assert await who("sales@example.org") == "bob@example.org"
    await d.delete_account("bob@example.org")
    assert await who("nobody@example.org") is None  # its aliases went with it


async def test_store_concurrent_writes_all_commit(store: Store) -> None:
    names = [f"d{i}.example" for i in range(300)]

    async def add(name: str) -> None:
        await store.directory.add_domain(name)

    async def add_duplicate() -> None:
        with pytest.raises(DuplicateUid):
            await store.directory.add_domain("d0.example")

    async with trio.open_nursery() as nursery:
        for name in names:
            nursery.start_soon(add, name)
    async with trio.open_nursery() as nursery:  # failures in a batch do not spoil the rest
        for i in range(20):
            nursery.start_soon(add_duplicate)
            nursery.start_soon(add, f"late{i}.example")
    domains = {d.name for d in await store.directory.domains()}
    assert domains == set(names) | {f"late{i}.example" for i in range(20)}


async def _account(store: Store, name: str = "ann@example.org") -> int:
    if not await store.directory.is_local_domain("example.org"):
        await store.directory.add_domain("example.org")
    return (await store.directory.add_account(name, "pw")).id


async def test_store_new_account_gets_default_mailboxes(store: Store) -> None:
    account = await _account(store)
    boxes = await store.mailboxes.list(account)
    assert [(m.name, m.role) for m in boxes] == [
        ("INBOX", "inbox"),
        ("Drafts", "drafts"),
        ("Sent", "sent"),
        ("Junk", "junk"),
        ("Trash", "trash"),
        ("Archive", "archive"),
    ]
    assert all(m.parent is None and m.subscribed and m.uidnext == 1 for m in boxes)
    group = await store.directory.add_account("team@example.org", None, kind="group")
    assert await store.mailboxes.list(group.id) == []


async def test_store_mailbox_hierarchy_and_names(store: Store) -> None:
    account = await _account(store)
    boxes = store.mailboxes
    work = await boxes.create(account, "Work")
    y2024 = await boxes.create(account, "2024", parent=work.id)
    assert (await boxes.by_path(account, "Work/2024")).id == y2024.id
    assert (await boxes.by_path(account, "inbox")).role == "inbox"
    assert await boxes.by_path(account, "Nope") is None
    with pytest.raises(DuplicateUid):
        await boxes.create(account, "Work")
    with pytest.raises(DuplicateUid):
        await boxes.create(account, "inbox")  # INBOX is case-insensitive at the top
    await boxes.create(account, "inbox", parent=work.id)  # but not below it
    with pytest.raises(DuplicateUid):
        await boxes.create(account, "Other Sent", role="sent")  # one mailbox per role
    for bad in ("", "a/b", "tab\there", "x" * 256):
        with pytest.raises(ValueError):
            await boxes.create(account, bad)
    with pytest.raises(ValueError):
        await boxes.create(account, "X", role="not-a-role")
    with pytest.raises(NoSuchItem):
        await boxes.create(account, "X", parent=999_999)
    other = await _account(store, "bob@example.org")
    with pytest.raises(NoSuchItem):
        await boxes.get(other, work.id)  # never another account's mailbox


async def test_store_mailbox_rename_moves_children(store: Store) -> None:
    account = await _account(store)
    boxes = store.mailboxes
    work = await boxes.create(account, "Work")
    child = await boxes.create(account, "Reports", parent=work.id)
    await boxes.update(account, work.id, name="Job")
    assert (await boxes.by_path(account, "Job/Reports")).id == child.id
    archive = await boxes.by_path(account, "Archive")
    await boxes.update(account, work.id, parent=archive.id)
    assert (await boxes.by_path(account, "Archive/Job/Reports")).id == child.id
    with pytest.raises(PreconditionFailed):
        await boxes.update(account, work.id, parent=child.id)  # under itself
    inbox = await boxes.by_path(account, "INBOX")
    with pytest.raises(PreconditionFailed):
        await boxes.update(account, inbox.id, name="Old")
    updated = await boxes.update(account, child.id, subscribed=False, sort_order=5)
    assert (updated.subscribed, updated.sort_order) == (False, 5)


async def test_store_mailbox_delete_rules(store: Store) -> None:
    account = await _account(store)
    boxes = store.mailboxes
    parent = await boxes.create(account, "P")
    await boxes.create(account, "C", parent=parent.id)
    with pytest.raises(DuplicateUid, match="children"):
        await boxes.delete(account, parent.id)
    inbox = await boxes.by_path(account, "INBOX")
    with pytest.raises(PreconditionFailed):
        await boxes.delete(account, inbox.id)
    old = await boxes.create(account, "Temp")
    await boxes.delete(account, old.id)
    again = await boxes.create(account, "Temp")
    assert again.uidvalidity > old.uidvalidity  # RFC 9051 §2.3.1.1: never reused
    assert again.id != old.id  # ids are never reused either
    with pytest.raises(NoSuchItem):
        await boxes.delete(account, old.id)


async def test_store_mailbox_changes_from_the_log(store: Store) -> None:
    account = await _account(store)
    boxes = store.mailboxes
    start = await boxes.changes(account, 0)
    assert len(start.created) == 6 and not start.updated and not start.destroyed
    state = start.state
    a = await boxes.create(account, "A")
    b = await boxes.create(account, "B")
    await boxes.update(account, a.id, name="A2")
    inbox = (await boxes.by_path(account, "INBOX")).id
    await boxes.update(account, inbox, subscribed=False)
    await boxes.delete(account, b.id)  # created and destroyed since: not reported
    changes = await boxes.changes(account, state)
    assert changes.created == (a.id,)
    assert changes.updated == (inbox,)
    assert changes.destroyed == ()
    assert changes.state == state + 5
    later = await boxes.changes(account, changes.state)
    assert (later.created, later.updated, later.destroyed) == ((), (), ())
    await boxes.delete(account, a.id)
    assert (await boxes.changes(account, changes.state)).destroyed == (a.id,)
    assert (await boxes.changes(account, changes.state + 100)).cannot_calculate


async def test_store_mailbox_changes_are_published(store: Store) -> None:
    from kernel.events import LocalEventBus

    bus = LocalEventBus()
    published = Store(store.backend, events=bus)
    account = await _account(store)
    with bus.subscribe(accounts=[str(account)]) as subscription:
        created = await published.mailboxes.create(account, "News")
        event = subscription.next_nowait()
    assert (event.kind, event.modseq) == ("mailbox", created.modseq)


def _message(
    subject: str = "Hello", message_id: str = "a@x", refs: str = "", body: str = "Hi there"
) -> bytes:
    lines = [
        "From: Ann <ann@example.org>",
        "To: bob@example.org",
        f"Subject: {subject}",
        f"Message-ID: <{message_id}>",
        "Date: Mon, 23 Nov 2026 10:00:00 +0000",
    ]
    if refs:
        lines.append(f"References: {refs}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


async def _boxes(store: Store, account: int) -> dict[str, int]:
    return {m.name: m.id for m in await store.mailboxes.list(account)}


async def test_store_email_append_and_read(store: Store) -> None:
    account = await _account(store)
    boxes = await _boxes(store, account)
    raw = _message()
    result = await store.emails.append(
        account,
        raw,
        [boxes["INBOX"], boxes["Archive"]],
        keywords=["$Seen", "$Flagged"],
        received_at=1000.0,
    )
    assert result.uids == {boxes["INBOX"]: 1, boxes["Archive"]: 1}
    assert result.size == len(raw)
    email = await store.emails.get(account, result.email)
    assert email.keywords == {"$seen", "$flagged"}
    assert email.mailboxes == result.uids
    assert (email.row.subject, email.row.sender, email.row.received_at) == (
        "Hello",
        "ann@example.org",
        1000.0,
    )
    assert email.row.preview.startswith("Hi there")
    assert email.modseq == result.modseq
    assert await store.emails.raw(account, result.email) == raw
    structure = email.structure()
    assert structure.subject == "Hello" and structure.size == len(raw)
    second = await store.emails.append(account, _message(message_id="b@x"), [boxes["INBOX"]])
    assert second.uids == {boxes["INBOX"]: 2}
    members = await store.emails.in_mailbox(account, boxes["INBOX"])
    assert [(m.uid, m.email) for m in members] == [(1, result.email), (2, second.email)]
    inbox = await store.mailboxes.get(account, boxes["INBOX"])
    assert inbox.uidnext == 3 and inbox.modseq == second.modseq
    [principal] = [p for p in await store.directory.principals() if p.id == account]
    assert principal.used == result.size + second.size  # each email counted once


async def test_store_email_same_bytes_are_two_emails_one_blob(store: Store) -> None:
    account = await _account(store)
    inbox = (await _boxes(store, account))["INBOX"]
    raw = _message()
    first = await store.emails.append(account, raw, [inbox])
    second = await store.emails.append(account, raw, [inbox])
    assert first.email != second.email and first.blob == second.blob
    assert await store.emails.remove(account, inbox, [first.email]) == [1]
    assert await store.emails.raw(account, second.email) == raw  # blob still referenced
    assert await store.emails.remove(account, inbox, [second.email]) == [2]
    with pytest.raises(NoSuchItem):
        await store.emails.raw(account, second.email)


async def test_store_email_expunge_keeps_email_in_other_mailboxes(store: Store) -> None:
    account = await _account(store)
    boxes = await _boxes(store, account)
    result = await store.emails.append(account, _message(), [boxes["INBOX"], boxes["Archive"]])
    assert await store.emails.remove(account, boxes["INBOX"], [result.email]) == [1]
    assert await store.emails.remove(account, boxes["INBOX"], [result.email]) == []
    email = await store.emails.get(account, result.email)
    assert email.mailboxes == {boxes["Archive"]: 1}
    await store.emails.remove(account, boxes["Archive"], [result.email])
    with pytest.raises(NoSuchItem):
        await store.emails.get(account, result.email)
    [principal] = [p for p in await store.directory.principals() if p.id == account]
    assert principal.used == 0
    uid = (await store.emails.append(account, _message(), [boxes["INBOX"]])).uids
    assert uid == {boxes["INBOX"]: 2}  # UIDs are never reused


async def test_store_email_keywords(store: Store) -> None:
    account = await _account(store)
    inbox = (await _boxes(store, account))["INBOX"]
    result = await store.emails.append(account, _message(), [inbox], keywords=["$seen"])
    modseq = await store.emails.set_keywords(
        account, [result.email], add=["$Flagged"], remove=["$seen"]
    )
    email = await store.emails.get(account, result.email)
    assert email.keywords == {"$flagged"}
    assert email.modseq == modseq > result.modseq
    unchanged = await store.emails.set_keywords(account, [result.email], add=["$flagged"])
    assert (await store.emails.get(account, result.email)).modseq == modseq < unchanged
    for bad in ("", "has space", "(paren", "x" * 256):
        with pytest.raises(ValueError):
            await store.emails.set_keywords(account, [result.email], add=[bad])


async def test_store_email_checks_ownership_and_quota(store: Store) -> None:
    account = await _account(store)
    other = await _account(store, "bob@example.org")
    theirs = (await _boxes(store, other))["INBOX"]
    with pytest.raises(NoSuchItem):
        await store.emails.append(account, _message(), [theirs])
    with pytest.raises(ValueError):
        await store.emails.append(account, _message(), [])
    mine = (await _boxes(store, account))["INBOX"]
    result = await store.emails.append(account, _message(), [mine])
    with pytest.raises(NoSuchItem):
        await store.emails.get(other, result.email)
    raw = _message()
    await store.directory.update("bob@example.org", quota=len(raw) + 10)
    await store.emails.append(other, raw, [theirs])
    with pytest.raises(QuotaExceeded):
        await store.emails.append(other, raw, [theirs])
    assert len(await store.emails.in_mailbox(other, theirs)) == 1  # nothing partial stored


async def test_store_email_threads(store: Store) -> None:
    account = await _account(store)
    inbox = (await _boxes(store, account))["INBOX"]
    first = await store.emails.append(account, _message("Plans", "1@x"), [inbox])
    reply = await store.emails.append(account, _message("Re: Plans", "2@x", "<1@x>"), [inbox])
    other = await store.emails.append(account, _message("Lunch", "3@x", "<1@x>"), [inbox])
    fresh = await store.emails.append(account, _message("Plans", "4@x"), [inbox])
    assert reply.thread == first.thread
    assert other.thread != first.thread  # references it, but the subject differs
    assert fresh.thread not in (first.thread, other.thread)  # same subject, no reference


async def test_store_email_changes_in_the_log(store: Store) -> None:
    from kernel.store.mailboxes import changes as fold

    account = await _account(store)
    inbox = (await _boxes(store, account))["INBOX"]
    state = (await store.mailboxes.changes(account, 0)).state
    a = await store.emails.append(account, _message(message_id="a@x"), [inbox])
    b = await store.emails.append(account, _message(message_id="b@x"), [inbox])
    await store.emails.set_keywords(account, [a.email], add=["$seen"])
    await store.emails.remove(account, inbox, [b.email])
    email_changes = await store.backend.read(lambda ops: fold(ops, account, "email", state))
    assert email_changes.created == (a.email,) and email_changes.destroyed == ()
    mailbox_changes = await store.mailboxes.changes(account, state)
    assert mailbox_changes.updated == (inbox,)


async def test_store_email_concurrent_appends_get_distinct_uids(store: Store) -> None:
    account = await _account(store)
    inbox = (await _boxes(store, account))["INBOX"]
    results = []

    async def append(i: int) -> None:
        results.append(await store.emails.append(account, _message(message_id=f"{i}@x"), [inbox]))

    async with trio.open_nursery() as nursery:
        for i in range(100):
            nursery.start_soon(append, i)
    assert sorted(r.uids[inbox] for r in results) == list(range(1, 101))
    assert len({r.modseq for r in results}) == 100  # one change-log position each


async def test_store_deleting_a_mailbox_removes_its_emails(store: Store) -> None:
    account = await _account(store)
    boxes = await _boxes(store, account)
    only_here = await store.emails.append(account, _message(message_id="1@x"), [boxes["Archive"]])
    also_inbox = await store.emails.append(
        account, _message(message_id="2@x"), [boxes["Archive"], boxes["INBOX"]]
    )
    with pytest.raises(DuplicateUid, match="has emails"):
        await store.mailboxes.delete(account, boxes["Archive"], remove_emails=False)
    await store.mailboxes.delete(account, boxes["Archive"])  # RFC 9051 §6.3.5
    with pytest.raises(NoSuchItem):
        await store.emails.get(account, only_here.email)
    assert (await store.emails.get(account, also_inbox.email)).mailboxes == {boxes["INBOX"]: 1}
    [principal] = [p for p in await store.directory.principals() if p.id == account]
    assert principal.used == also_inbox.size


async def test_store_deleting_an_account_releases_its_blobs(store: Store) -> None:
    ann = await _account(store)
    bob = await _account(store, "bob@example.org")
    raw = _message()
    await store.emails.append(ann, raw, [(await _boxes(store, ann))["INBOX"]])
    kept = await store.emails.append(bob, raw, [(await _boxes(store, bob))["INBOX"]])
    gone = await store.emails.append(
        ann, _message(message_id="only-ann@x"), [(await _boxes(store, ann))["Sent"]]
    )
    await store.directory.delete_account("ann@example.org")
    assert await store.emails.raw(bob, kept.email) == raw  # shared blob still there
    assert await store.backend.read(lambda ops: ops.existing_blobs([gone.blob])) == set()
    assert await store.mailboxes.list(ann) == []


from kernel.testing.store_suite_mail import *  # noqa: E402, F403 (part two of the suite)

__all__ = sorted(name for name in globals() if name.startswith("test_"))
