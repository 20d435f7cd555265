"""The store contract suite, message-count quota and ``anyone`` grants.

RFC 9208 §5.2 (a limit on an account's emails, kept exactly as emails come and
go) and RFC 4314 §2 (``anyone``: grantee :data:`~kernel.store.mailboxes.ANYONE`,
whose rights join every account's own). Imported by each backend's contract test
module beside :mod:`kernel.testing.store_suite`.
"""

from __future__ import annotations

import pytest

from kernel.errors import QuotaExceeded
from kernel.store import Store
from kernel.store.mailboxes import ANYONE

_RAW = b"From: a@example.net\r\nSubject: %d\r\nMessage-ID: <%d@x>\r\n\r\nbody\r\n"


async def _account(store: Store, name: str) -> int:
    if "example.org" not in {d.name for d in await store.directory.domains()}:
        await store.directory.add_domain("example.org")
    return (await store.directory.add_account(name, "pw")).id


async def _mailbox(store: Store, account: int, path: str) -> int:
    found = await store.mailboxes.by_path(account, path)
    assert found is not None
    return found.id


async def test_store_quota_messages_counted_and_enforced(store: Store) -> None:
    ann = await _account(store, "ann@example.org")
    inbox = await _mailbox(store, ann, "INBOX")
    archive = await _mailbox(store, ann, "Archive")
    await store.directory.update("ann@example.org", quota_messages=2)
    first = await store.emails.append(ann, _RAW % (1, 1), [inbox, archive])
    principal = await store.directory.principal("ann@example.org")
    assert principal is not None
    assert (principal.quota_messages, principal.used_messages) == (2, 1)  # once per email
    await store.emails.append(ann, _RAW % (2, 2), [inbox])
    with pytest.raises(QuotaExceeded):
        await store.emails.append(ann, _RAW % (3, 3), [inbox])
    with pytest.raises(QuotaExceeded):  # a copy into a mailbox holding it is a new email
        await store.emails.copy(ann, [first.email], inbox, source=inbox)
    await store.emails.destroy(ann, [first.email])
    principal = await store.directory.principal("ann@example.org")
    assert principal is not None and principal.used_messages == 1
    await store.emails.append(ann, _RAW % (4, 4), [inbox])
    created = await store.directory.add_account("bob@example.org", "pw", quota_messages=7)
    assert (created.quota_messages, created.used_messages) == (7, 0)


async def test_store_acl_anyone(store: Store) -> None:
    ann = await _account(store, "ann@example.org")
    bob = await _account(store, "bob@example.org")
    carol = await _account(store, "carol@example.org")
    archive = await _mailbox(store, ann, "Archive")
    await store.mailboxes.set_rights(ann, archive, ANYONE, "lr")
    await store.mailboxes.set_rights(ann, archive, bob, "w")
    assert await store.mailboxes.acl(ann, archive) == {ANYONE: "lr", bob: "w"}
    assert await store.mailboxes.rights(bob, archive) == "lrw"  # the union
    assert await store.mailboxes.rights(carol, archive) == "lr"
    for grantee, rights in ((bob, "lrw"), (carol, "lr")):
        [(mailbox, got)] = await store.mailboxes.shared_with(grantee)
        assert (mailbox.id, got) == (archive, rights)
    assert await store.mailboxes.shared_with(ann) == []  # not shared with its owner
    await store.directory.delete_account("bob@example.org")
    assert await store.mailboxes.acl(ann, archive) == {ANYONE: "lr"}
    await store.mailboxes.set_rights(ann, archive, ANYONE, "")
    assert await store.mailboxes.shared_with(carol) == []
