"""The store contract suite, part two: copy and move, queries, counts, QRESYNC
changes, log pruning, sharing (RFC 4314) and annotations (RFC 5464).

Imported by :mod:`kernel.testing.store_suite`; see there for how a backend runs it.
Queries are checked against :func:`kernel.store.filters.matches`, the reference
evaluation, over a corpus built to exercise every condition.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from kernel.errors import NoSuchItem, PreconditionFailed, QuotaExceeded
from kernel.events import LocalEventBus
from kernel.store import Store
from kernel.store.email_text import facts_from
from kernel.store.filters import (
    All,
    AnyOf,
    Comparator,
    Contains,
    EmailFacts,
    EmailIds,
    Filter,
    HasAttachment,
    HasKeyword,
    HeaderContains,
    InMailbox,
    InMailboxOtherThan,
    ModseqAtLeast,
    Not,
    ReceivedBefore,
    ReceivedSince,
    SentBefore,
    SentSince,
    SizeAtLeast,
    SizeBelow,
    ThreadIds,
    ThreadKeyword,
    Uids,
    matches,
)
from kernel.store.interfaces import ReadOps
from kernel.store.metadata import MetadataTooLarge

__all__: list[str] = []  # filled at the end


async def _account(store: Store, name: str = "ann@example.org", quota: int = 0) -> int:
    if not await store.directory.is_local_domain("example.org"):
        await store.directory.add_domain("example.org")
    return (await store.directory.add_account(name, "pw", quota=quota)).id


async def _used(store: Store, name: str) -> int:
    principal = await store.directory.principal(name)
    assert principal is not None
    return principal.used


async def _boxes(store: Store, account: int) -> dict[str, int]:
    return {m.name: m.id for m in await store.mailboxes.list(account)}


def _raw(
    subject: str = "Hello",
    message_id: str = "a@x",
    *,
    sender: str = "Ann <ann@example.org>",
    to: str = "bob@example.org",
    cc: str = "",
    extra: str = "",
    body: str = "Hi there",
    date: str = "Mon, 23 Nov 2026 10:00:00 +0000",
    refs: str = "",
    attachment: bool = False,
) -> bytes:
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Message-ID: <{message_id}>"]
    if date:
        lines.append(f"Date: {date}")
    if cc:
        lines.append(f"Cc: {cc}")
    if refs:
        lines.append(f"References: {refs}")
    if extra:
        lines.append(extra)
    if attachment:
        lines += ["MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="b"']
        text = (
            f"--b\r\nContent-Type: text/plain\r\n\r\n{body}\r\n--b\r\n"
            "Content-Type: application/pdf\r\nContent-Disposition: attachment; "
            'filename="x.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n'
        )
        return ("\r\n".join(lines) + "\r\n\r\n" + text).encode()
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


# ---- copy, move, mailboxIds, destroy -------------------------------------------


async def test_store_copy_adds_memberships_or_new_emails(store: Store) -> None:
    account = await _account(store)
    boxes = await _boxes(store, account)
    a = await store.emails.append(account, _raw(message_id="1@x"), [boxes["INBOX"]])
    b = await store.emails.append(account, _raw(message_id="2@x"), [boxes["INBOX"], boxes["Sent"]])
    used = await _used(store, "ann@example.org")
    result = await store.emails.copy(
        account, [a.email, b.email], boxes["Sent"], source=boxes["INBOX"]
    )
    target = await store.mailboxes.get(account, boxes["Sent"])
    assert result.uidvalidity == target.uidvalidity
    assert result.pairs == ((1, 2), (2, 3))  # COPYUID: source UIDs to new target UIDs
    # a was not in Sent: the same email gains a membership; b was: a new email.
    assert result.emails[0] == a.email
    assert result.emails[1] != b.email
    assert (await store.emails.get(account, a.email)).mailboxes == {
        boxes["INBOX"]: 1,
        boxes["Sent"]: 2,
    }
    copied = await store.emails.get(account, result.emails[1])
    assert copied.mailboxes == {boxes["Sent"]: 3}
    assert copied.row.blob == b.blob and copied.row.thread == b.thread
    assert await store.emails.raw(account, copied.id) == _raw(message_id="2@x")
    assert await _used(store, "ann@example.org") == used + b.size
    # The shared blob outlives the original.
    await store.emails.destroy(account, [b.email])
    assert await store.emails.raw(account, copied.id) == _raw(message_id="2@x")
    with pytest.raises(NoSuchItem):
        await store.emails.copy(account, [a.email], boxes["Trash"], source=boxes["Drafts"])
    with pytest.raises(NoSuchItem):
        await store.emails.copy(account, [999999], boxes["Trash"])


async def test_store_copy_respects_the_quota(store: Store) -> None:
    raw = _raw(body="x" * 500)
    account = await _account(store, quota=len(raw) + 10)
    boxes = await _boxes(store, account)
    first = await store.emails.append(account, raw, [boxes["INBOX"]])
    await store.emails.copy(account, [first.email], boxes["Archive"])  # a membership: free
    with pytest.raises(QuotaExceeded):
        await store.emails.copy(account, [first.email], boxes["INBOX"])  # a second email
    assert len(await store.emails.in_mailbox(account, boxes["INBOX"])) == 1


async def test_store_move_is_atomic_and_leaves_a_tombstone(store: Store) -> None:
    account = await _account(store)
    boxes = await _boxes(store, account)
    a = await store.emails.append(account, _raw(message_id="1@x"), [boxes["INBOX"]])
    b = await store.emails.append(account, _raw(message_id="2@x"), [boxes["INBOX"]])
    before = (await store.mailboxes.get(account, boxes["INBOX"])).modseq
    moved = await store.emails.move(account, boxes["INBOX"], [b.email], boxes["Archive"])
    assert moved.pairs == ((2, 1),) and moved.emails == (b.email,)
    assert [m.email for m in await store.emails.in_mailbox(account, boxes["INBOX"])] == [a.email]
    assert (await store.emails.get(account, b.email)).mailboxes == {boxes["Archive"]: 1}
    changes = await store.emails.mailbox_changes(account, boxes["INBOX"], before)
    assert changes.expunged == (2,) and changes.changed == ()
    assert changes.highest_modseq == moved.modseq
    with pytest.raises(ValueError):
        await store.emails.copy(account, [a.email], boxes["Trash"], move=True)


async def test_store_copy_into_another_accounts_mailbox(store: Store) -> None:
    ann = await _account(store)
    bob = await _account(store, "bob@example.org")
    ann_boxes, bob_boxes = await _boxes(store, ann), await _boxes(store, bob)
    sent = await store.emails.append(ann, _raw(), [ann_boxes["INBOX"]], keywords=["$seen"])
    result = await store.emails.copy(
        ann, [sent.email], bob_boxes["INBOX"], source=ann_boxes["INBOX"], target_account=bob
    )
    theirs = await store.emails.get(bob, result.emails[0])
    assert theirs.row.account == bob and theirs.keywords == {"$seen"}
    assert await _used(store, "bob@example.org") == sent.size
    with pytest.raises(NoSuchItem):
        await store.emails.get(ann, result.emails[0])


async def test_store_set_mailboxes_and_destroy(store: Store) -> None:
    account = await _account(store)
    boxes = await _boxes(store, account)
    a = await store.emails.append(account, _raw(), [boxes["INBOX"]])
    await store.emails.set_mailboxes(
        account, a.email, add=[boxes["Archive"]], remove=[boxes["INBOX"]]
    )
    assert (await store.emails.get(account, a.email)).mailboxes == {boxes["Archive"]: 1}
    with pytest.raises(PreconditionFailed):
        await store.emails.set_mailboxes(account, a.email, remove=[boxes["Archive"]])
    assert await store.emails.destroy(account, [a.email, 424242]) == [a.email]
    with pytest.raises(NoSuchItem):
        await store.emails.get(account, a.email)
    assert await _used(store, "ann@example.org") == 0


# ---- QRESYNC changes and the log's retention -----------------------------------


async def test_store_mailbox_changes_report_flags_and_expunges(store: Store) -> None:
    account = await _account(store)
    inbox = (await _boxes(store, account))["INBOX"]
    emails = [
        (await store.emails.append(account, _raw(message_id=f"{i}@x"), [inbox])).email
        for i in range(4)
    ]
    mark = (await store.mailboxes.get(account, inbox)).modseq
    flagged = await store.emails.set_keywords(account, [emails[1]], add=["$flagged"])
    await store.emails.remove(account, inbox, [emails[2]])
    changes = await store.emails.mailbox_changes(account, inbox, mark)
    assert [(m.uid, m.email, m.modseq) for m in changes.changed] == [(2, emails[1], flagged)]
    assert changes.expunged == (3,)
    assert not changes.cannot_calculate
    assert (await store.emails.mailbox_changes(account, inbox, 0)).expunged == (3,)
    everything = await store.emails.mailbox_changes(account, inbox, 0)
    assert [m.uid for m in everything.changed] == [1, 2, 4]


async def test_store_bulk_reads_for_a_client_view(store: Store) -> None:
    """snapshot, rows, keywords_of, changes with keywords: what IMAP SELECT and FETCH read."""
    account = await _account(store)
    other = await _account(store, "bob@example.org")
    inbox = (await _boxes(store, account))["INBOX"]
    emails = [
        (await store.emails.append(account, _raw(f"s{i}", f"{i}@x"), [inbox])).email
        for i in range(3)
    ]
    mark = (await store.mailboxes.get(account, inbox)).modseq
    await store.emails.set_keywords(account, [emails[0], emails[2]], add=["$seen"])
    await store.emails.set_keywords(account, [emails[2]], add=["work"])
    snap = await store.emails.snapshot(account, inbox)
    assert snap.mailbox.id == inbox and snap.mailbox.modseq > mark
    assert [(m.uid, m.email, k) for m, k in snap.members] == [
        (1, emails[0], frozenset({"$seen"})),
        (2, emails[1], frozenset()),
        (3, emails[2], frozenset({"$seen", "work"})),
    ]
    with pytest.raises(NoSuchItem):
        await store.emails.snapshot(other, inbox)  # not bob's mailbox
    rows = await store.emails.rows(account, [emails[2], emails[0], 999_999])
    assert sorted(rows) == [emails[0], emails[2]] and rows[emails[2]].subject == "s2"
    assert isinstance(rows[emails[0]].has_attachment, bool)
    assert await store.emails.rows(other, emails) == {}  # someone else's emails
    assert await store.emails.keywords_of(account, [emails[1], emails[2]]) == {
        emails[1]: frozenset(),
        emails[2]: frozenset({"$seen", "work"}),
    }
    changes = await store.emails.mailbox_changes(account, inbox, mark)
    assert [m.email for m in changes.changed] == [emails[0], emails[2]]
    assert changes.keywords == {emails[0]: {"$seen"}, emails[2]: {"$seen", "work"}}
    assert changes.current is None
    assert await store.emails.raws(account, [emails[1], 999_999]) == {
        emails[1]: await store.emails.raw(account, emails[1])
    }
    assert await store.emails.raws(other, emails) == {}
    assert await store.directory.names([account, other, 999_999]) == {
        account: "ann@example.org",
        other: "bob@example.org",
    }


async def test_store_pruned_log_cannot_calculate(store: Store) -> None:
    account = await _account(store)
    inbox = (await _boxes(store, account))["INBOX"]
    first = await store.emails.append(account, _raw(message_id="1@x"), [inbox])
    await store.emails.remove(account, inbox, [first.email])
    await store.prune_change_log(before=float("inf"))  # forget everything so far
    changes = await store.mailboxes.changes(account, 0)
    assert changes.cannot_calculate
    pruned = await store.emails.mailbox_changes(account, inbox, 0)
    assert pruned.cannot_calculate and pruned.current == ()  # the mailbox is empty now
    # Changes since the current state are still known.
    state = (await store.mailboxes.changes(account, 0)).state
    later = await store.emails.append(account, _raw(message_id="2@x"), [inbox])
    assert (await store.mailboxes.changes(account, state)).updated == (inbox,)
    recent = await store.emails.mailbox_changes(account, inbox, state)
    assert [m.email for m in recent.changed] == [later.email] and not recent.cannot_calculate
    # Pruning at a time before anything was logged forgets nothing.
    await store.prune_change_log(before=0.0)
    assert not (await store.mailboxes.changes(account, state)).cannot_calculate


# ---- counts ------------------------------------------------------------------


async def test_store_mailbox_counts(store: Store) -> None:
    account = await _account(store)
    boxes = await _boxes(store, account)
    inbox, trash = boxes["INBOX"], boxes["Trash"]
    seen = await store.emails.append(account, _raw(message_id="1@x"), [inbox], keywords=["$seen"])
    draft = await store.emails.append(account, _raw("Other", "2@x"), [inbox], keywords=["$draft"])
    await store.emails.append(account, _raw("Third", "3@x"), [inbox], keywords=["$deleted"])
    # A reply in the same thread, unread, only in the trash.
    await store.emails.append(account, _raw("Re: Hello", "4@x", refs="<1@x>"), [trash])
    counts = await store.emails.counts(account, inbox)
    assert (counts.total, counts.unseen, counts.unread, counts.deleted) == (3, 2, 1, 1)
    assert counts.size == sum(
        len(r) for r in (_raw(message_id="1@x"), _raw("Other", "2@x"), _raw("Third", "3@x"))
    )
    assert counts.threads == 3
    # RFC 8621 §2: the unread reply in the trash does not make Hello unread here.
    assert counts.unread_threads == 1  # only "Third"
    trash_counts = await store.emails.counts(account, trash)
    assert (trash_counts.total, trash_counts.threads, trash_counts.unread_threads) == (1, 1, 1)
    status = await store.emails.counts(account, inbox, threads=False)
    assert (status.total, status.unseen, status.threads, status.unread_threads) == (
        3,
        2,
        None,
        None,
    )
    empty = await store.emails.counts(account, boxes["Archive"])
    assert (empty.total, empty.size, empty.threads, empty.unread_threads) == (0, 0, 0, 0)
    assert seen.thread != draft.thread


async def test_store_thread_counts_follow_changes(store: Store) -> None:
    """Thread counts are remembered per account state; each change must show at once."""
    account = await _account(store)
    boxes = await _boxes(store, account)
    inbox, trash = boxes["INBOX"], boxes["Trash"]

    async def both() -> tuple[int | None, int | None]:
        counts = await store.emails.counts(account, inbox)
        uncached = Store(store.backend, blobs=store.blobs)  # an empty cache
        fresh = await uncached.emails.counts(account, inbox)
        assert (counts.threads, counts.unread_threads) == (fresh.threads, fresh.unread_threads)
        return counts.threads, counts.unread_threads

    first = await store.emails.append(account, _raw(message_id="1@x"), [inbox])
    assert await both() == (1, 1)
    assert await both() == (1, 1)  # served from the remembered counts
    await store.emails.set_keywords(account, [first.email], add=["$seen"])
    assert await both() == (1, 0)
    reply = await store.emails.append(account, _raw("Re: Hello", "2@x", refs="<1@x>"), [trash])
    assert await both() == (1, 0)  # an unread reply in the trash does not count here
    await store.emails.move(account, trash, [reply.email], inbox)
    assert await both() == (1, 1)
    await store.emails.append(account, _raw("Other", "3@x"), [inbox], keywords=["$seen"])
    assert await both() == (2, 1)
    await store.emails.destroy(account, [first.email, reply.email])
    assert await both() == (1, 0)


async def test_store_thread_log(store: Store) -> None:
    """Threads are logged when an email joins or leaves them (JMAP Thread/changes)."""
    account = await _account(store)
    boxes = await _boxes(store, account)
    inbox, archive = boxes["INBOX"], boxes["Archive"]

    async def log(since: int) -> list[tuple[int, bool, bool]]:
        rows = await store.backend.read(lambda ops: ops.changes_since(account, "thread", since))
        return [(item, created, destroyed) for _, item, created, destroyed in rows]

    first = await store.emails.append(account, _raw(message_id="1@x"), [inbox])
    reply = await store.emails.append(account, _raw("Re: Hello", "2@x", refs="<1@x>"), [inbox])
    assert first.thread == reply.thread == first.email
    assert await log(0) == [(first.thread, True, False), (first.thread, False, False)]
    mark = reply.modseq
    await store.emails.set_keywords(account, [reply.email], add=["$seen"])
    await store.emails.copy(account, [reply.email], archive)  # a membership, same email
    assert await log(mark) == []
    await store.emails.destroy(account, [reply.email])
    assert await log(mark) == [(first.thread, False, False)]
    mark = await store.backend.read(lambda ops: ops.current_modseq(account))
    await store.emails.destroy(account, [first.email])
    assert await log(mark) == [(first.thread, False, True)]


async def test_store_mailbox_counters_follow_every_change(store: Store) -> None:
    ann = await _account(store)
    bob = await _account(store, "bob@example.org")
    boxes = sorted((await _boxes(store, ann)).values())
    rng = random.Random(11)
    flags = ["$seen", "$draft", "$deleted", "$flagged"]
    emails: list[int] = []
    for step in range(120):
        action = rng.choice(
            ["append", "append", "copy", "move", "flags", "remove", "set", "destroy"]
        )
        try:
            if action == "append" or not emails:
                result = await store.emails.append(
                    ann,
                    _raw(message_id=f"{step}@x", body="x" * rng.randint(1, 300)),
                    rng.sample(boxes, rng.randint(1, 2)),
                    keywords=rng.sample(flags, rng.randint(0, 3)),
                )
                emails.append(result.email)
                continue
            email = rng.choice(emails)
            current = (await store.emails.get(ann, email)).mailboxes
            if action == "copy":
                copied = await store.emails.copy(ann, [email], rng.choice(boxes))
                emails.extend(e for e in copied.emails if e not in emails)
            elif action == "move":
                await store.emails.move(ann, rng.choice(list(current)), [email], rng.choice(boxes))
            elif action == "flags":
                await store.emails.set_keywords(
                    ann, [email], add=rng.sample(flags, 1), remove=rng.sample(flags, 1)
                )
            elif action == "remove":
                await store.emails.remove(ann, rng.choice(list(current)), [email])
            elif action == "set":
                await store.emails.set_mailboxes(ann, email, add=[rng.choice(boxes)])
            else:
                await store.emails.destroy(ann, [email])
        except NoSuchItem:
            emails.remove(email)  # destroyed by an earlier removal
    bob_inbox = (await _boxes(store, bob))["INBOX"]
    for mailbox in [*boxes, bob_inbox]:
        owner = bob if mailbox == bob_inbox else ann
        members = await store.emails.in_mailbox(owner, mailbox)
        loaded = [await store.emails.get(owner, m.email) for m in members]
        counts = await store.emails.counts(owner, mailbox, threads=False)
        assert counts.total == len(loaded)
        assert counts.size == sum(e.row.size for e in loaded)
        assert counts.unseen == sum("$seen" not in e.keywords for e in loaded)
        assert counts.unread == sum(not {"$seen", "$draft"} & e.keywords for e in loaded)
        assert counts.deleted == sum("$deleted" in e.keywords for e in loaded)


# ---- queries against the reference evaluation --------------------------------

_DAY = 86_400.0
_BASE = 1_790_000_000.0
_CORPUS = [
    dict(subject="Quarterly report", sender='"Zoë Ärger" <zoe@example.com>', body="Numbers"),
    dict(subject="Re: Quarterly report", sender="bob@example.org", body="Looks GOOD to me"),
    dict(subject="=?utf-8?q?Stra=C3=9Fe?= plans", sender="carl@example.net", body="Die Straße"),
    dict(subject="Lunch", sender="Dana <dana@example.com>", cc="ann@example.org", body="50% off"),
    dict(subject="Invoice 100_2", sender="billing@shop.example", attachment=True, body="PDF"),
    dict(subject="", sender="", to="", body="no headers to speak of", date=""),
    dict(subject="Mixed CASE Subject", sender="eve@example.org", extra="X-Spam: yes, very"),
    dict(
        subject="html",
        sender="fay@example.org",
        extra="Content-Type: text/html; charset=utf-8",
        body="<p>Hello <b>World</b></p>",
    ),
    dict(subject="quote \"it\" 'x'", sender="gus@example.org", body='say "hi" \\ back'),
    dict(subject="Lunch", sender="hal@example.org", to="a@b.c, d@e.f", body="tomorrow?"),
]


async def _corpus(store: Store) -> tuple[int, dict[str, int], list[int]]:
    account = await _account(store)
    boxes = await _boxes(store, account)
    rng = random.Random(7)
    ids = []
    for i, spec in enumerate(_CORPUS * 2):
        spec = dict(spec)
        refs = "<m0@x>" if spec["subject"].startswith("Re:") else ""
        raw = _raw(message_id=f"m{i}@x", refs=refs, **spec)  # type: ignore[arg-type]
        places = rng.sample(sorted(boxes.values()), rng.choice([1, 1, 2]))
        keywords = rng.sample(["$seen", "$flagged", "$draft", "custom"], rng.randint(0, 3))
        result = await store.emails.append(
            account, raw, places, keywords=keywords, received_at=_BASE + i * _DAY
        )
        ids.append(result.email)
    # Give some emails later modseqs.
    await store.emails.set_keywords(account, ids[::5], add=["$answered"])
    return account, boxes, ids


async def _facts(store: Store, account: int, mailbox: int | None = None) -> list[EmailFacts]:
    def read(ops: ReadOps) -> list[EmailFacts]:
        emails = sorted(
            {m.email for box in ops.mailboxes(account) for m in ops.mailbox_members(box.id)}
        )
        rows = {e: ops.email_row(e) for e in emails}
        keywords = {e: ops.keywords(e) for e in emails}
        found = []
        for email in emails:
            row = rows[email]
            assert row is not None
            memberships = ops.memberships(email)
            if mailbox is not None and mailbox not in {m.mailbox for m in memberships}:
                continue
            if mailbox is None:
                modseq = max([row.modseq, *(m.modseq for m in memberships)])
            else:
                modseq = next(m.modseq for m in memberships if m.mailbox == mailbox)
            text = ops.email_text(email)
            assert text is not None
            thread = tuple(keywords[e] for e in emails if rows[e].thread == row.thread)  # type: ignore[union-attr]
            found.append(
                facts_from(
                    email=email,
                    thread=row.thread,
                    received_at=row.received_at,
                    sent_at=row.sent_at,
                    size=row.size,
                    modseq=modseq,
                    has_attachment=row.has_attachment,
                    keywords=keywords[email],
                    mailboxes={m.mailbox: m.uid for m in memberships},
                    text=text,
                    thread_keywords=thread,
                )
            )
        return found

    return await store.backend.read(read)


_NEEDLES = [
    "quarterly", "QUARTERLY", "report", "zoë", "ärger", "strasse", "straße", "50%", "%", "_",
    "100_2", "good", "to", "o", "", "example.com", "ann@example.org", "world", "<b>", "hello",
    '"it"', "'x'", "\\", "nothing-like-this", "lunch", "x-spam", "very", "spam: yes",
]  # fmt: skip


_FIELDS = ["from", "to", "cc", "bcc", "subject", "body", "text", "message"]
_HEADERS = ["subject", "X-Spam", "from", "cc", "date", "nope"]


def _random_filter(
    rng: random.Random, boxes: Sequence[int], ids: Sequence[int], depth: int = 0
) -> Filter:
    if depth < 2 and rng.random() < 0.3:
        kind = rng.choice([All, AnyOf, Not])
        if kind is Not:
            return Not(_random_filter(rng, boxes, ids, depth + 1))
        return kind(
            tuple(_random_filter(rng, boxes, ids, depth + 1) for _ in range(rng.randint(0, 3)))
        )
    when = _BASE + rng.randint(-1, 21) * _DAY + rng.choice([0, 1, -1])
    keyword = rng.choice(["$seen", "$flagged", "$draft", "custom", "$answered", "none"])
    options: list[Filter] = [
        InMailbox(rng.choice(boxes)),
        InMailboxOtherThan(frozenset(rng.sample(list(boxes), rng.randint(0, 3)))),
        Uids(rng.choice(boxes), ((rng.randint(1, 4), rng.randint(1, 8)), (6, rng.randint(6, 100)))),
        EmailIds(frozenset(rng.sample(list(ids), 3))),
        ThreadIds(frozenset(rng.sample(list(ids), 3))),
        HasKeyword(keyword),
        ThreadKeyword(keyword, rng.choice(["all", "some", "none"])),
        ReceivedBefore(when),
        ReceivedSince(when),
        SentBefore(when),
        SentSince(when),
        SizeAtLeast(rng.randint(100, 500)),
        SizeBelow(rng.randint(100, 500)),
        ModseqAtLeast(rng.randint(1, 40)),
        HasAttachment(rng.random() < 0.5),
        Contains(rng.choice(_FIELDS), rng.choice(_NEEDLES)),
        HeaderContains(rng.choice(_HEADERS), rng.choice(_NEEDLES)),
    ]
    return rng.choice(options)


async def test_store_query_matches_the_reference_evaluation(store: Store) -> None:
    account, boxes, ids = await _corpus(store)
    everyone = await _facts(store, account)
    rng = random.Random(2026)
    for _ in range(150):
        where = _random_filter(rng, sorted(boxes.values()), ids)
        expected = [f.id for f in everyone if matches(where, f)]
        got = await store.emails.query(account, where, [Comparator("id")])
        assert list(got.ids) == expected, where
    mailbox = boxes["INBOX"]
    scoped = await _facts(store, account, mailbox)
    for _ in range(100):
        where = _random_filter(rng, sorted(boxes.values()), ids)
        expected_uids = sorted(f.mailboxes[mailbox] for f in scoped if matches(where, f))
        found = await store.emails.search(account, mailbox, where)
        assert [uid for uid, _ in found] == expected_uids, where


async def test_store_query_text_semantics(store: Store) -> None:
    account, _, ids = await _corpus(store)

    async def hits(where: Filter) -> set[int]:
        return {ids.index(e) % len(_CORPUS) for e in (await store.emails.query(account, where)).ids}

    assert await hits(Contains("subject", "STRASSE")) == {2}  # RFC 2047 decoded, case-folded
    assert await hits(Contains("from", "zoë ärger")) == {0}
    assert await hits(Contains("body", "good")) == {1}
    assert await hits(Contains("body", "world")) == {7}  # HTML reduced to text
    assert await hits(Contains("body", "<b>")) == set()
    assert await hits(Contains("body", "50%")) == {3}  # LIKE wildcards are literal
    assert await hits(Contains("subject", "100_2")) == {4}
    assert await hits(Contains("cc", "ann@")) == {3}
    assert await hits(HeaderContains("x-spam", "yes")) == {6}
    assert await hits(HeaderContains("X-SPAM")) == {6}
    assert await hits(HeaderContains("subject", "very")) == set()  # not in that field
    assert await hits(Contains("message", "x-spam: yes")) == {6}
    assert await hits(HasAttachment(True)) == {4}


async def test_store_query_sorts(store: Store) -> None:
    account, _, _ids = await _corpus(store)
    everyone = {f.id: f for f in await _facts(store, account)}

    def key(name: str, facts: EmailFacts) -> object:
        texts = facts.texts
        return {
            "received": facts.received_at,
            "size": facts.size,
            "sent": facts.sent_at if facts.sent_at is not None else facts.received_at,
        }.get(name, texts.get(name, ""))

    for name in ("received", "size", "sent"):
        for ascending in (True, False):
            got = await store.emails.query(account, All(), [Comparator(name, ascending)])  # type: ignore[arg-type]
            values = [key(name, everyone[e]) for e in got.ids]
            assert values == sorted(values, reverse=not ascending)  # type: ignore[type-var]
    texts = await _sort_keys(store, sorted(everyone))
    for name in ("from", "to", "cc", "display_from", "display_to", "subject"):
        got = await store.emails.query(account, All(), [Comparator(name)])  # type: ignore[arg-type]
        expected = sorted(everyone, key=lambda e, n=name: (texts[e][n].encode(), e))
        assert list(got.ids) == expected, name
    flagged = await store.emails.query(
        account, All(), [Comparator("keyword", False, "$flagged"), Comparator("id")]
    )
    marks = ["$flagged" in everyone[e].keywords for e in flagged.ids]
    assert marks == sorted(marks, reverse=True)
    with pytest.raises(ValueError):
        await store.emails.query(account, All(), [Comparator("keyword")])
    with pytest.raises(ValueError):
        await store.emails.query(account, All(), [Comparator("uid")])


async def _sort_keys(store: Store, emails: list[int]) -> dict[int, dict[str, str]]:
    def read(ops: ReadOps) -> dict[int, dict[str, str]]:
        keys = {}
        for email in emails:
            text, row = ops.email_text(email), ops.email_row(email)
            assert text is not None and row is not None
            keys[email] = {
                "from": text.sort_from,
                "to": text.sort_to,
                "cc": text.sort_cc,
                "display_from": text.display_from,
                "display_to": text.display_to,
                "subject": row.base_subject,
            }
        return keys

    return await store.backend.read(read)


async def test_store_query_paging(store: Store) -> None:
    account, boxes, _ids = await _corpus(store)
    newest = [Comparator("received", ascending=False)]
    full = (await store.emails.query(account, All(), newest, calculate_total=True)).ids
    assert len(full) == 2 * len(_CORPUS)
    page = await store.emails.query(
        account, All(), newest, position=3, limit=4, calculate_total=True
    )
    assert page.ids == full[3:7] and page.position == 3 and page.total == len(full)
    tail = await store.emails.query(account, All(), newest, position=-3)
    assert tail.ids == full[-3:] and tail.position == len(full) - 3
    assert (await store.emails.query(account, All(), newest, position=-100)).position == 0
    anchored = await store.emails.query(
        account, All(), newest, anchor=full[5], anchor_offset=-2, limit=3
    )
    assert anchored.ids == full[3:6] and anchored.position == 3
    clamped = await store.emails.query(account, All(), newest, anchor=full[1], anchor_offset=-5)
    assert clamped.position == 0 and clamped.ids == full
    past = await store.emails.query(account, All(), newest, position=1000, limit=5)
    assert past.ids == () and past.total is None
    with pytest.raises(NoSuchItem):
        await store.emails.query(account, InMailbox(boxes["INBOX"]), newest, anchor=-1)
    for where in (
        InMailbox(boxes["INBOX"]),
        All((InMailbox(boxes["INBOX"]), HasKeyword("$seen"))),
        All((InMailbox(boxes["INBOX"]), ModseqAtLeast(5))),
    ):
        every = (await store.emails.query(account, where, newest)).ids
        counted = await store.emails.query(account, where, newest, limit=2, calculate_total=True)
        assert counted.total == len(every) and counted.ids == every[:2]
    collapsed = await store.emails.query(account, All(), newest, collapse_threads=True)
    threads = [(await store.emails.get(account, e)).row.thread for e in collapsed.ids]
    assert len(threads) == len(set(threads)) < len(full)
    assert page.state == (await store.mailboxes.changes(account, 0)).state


# ---- sharing (RFC 4314) ------------------------------------------------------


async def test_store_mailbox_sharing(store: Store) -> None:
    ann = await _account(store)
    bob = await _account(store, "bob@example.org")
    archive = (await _boxes(store, ann))["Archive"]
    assert await store.mailboxes.rights(ann, archive) == "lrswipkxtea"
    assert await store.mailboxes.rights(bob, archive) == ""
    assert await store.mailboxes.shared_with(bob) == []
    await store.mailboxes.set_rights(ann, archive, bob, "rl")
    assert await store.mailboxes.rights(bob, archive) == "lr"
    assert await store.mailboxes.acl(ann, archive) == {bob: "lr"}
    [(shared, rights)] = await store.mailboxes.shared_with(bob)
    assert (shared.id, shared.account, rights) == (archive, ann, "lr")
    await store.mailboxes.set_rights(ann, archive, bob, "r")  # no lookup: not listed
    assert await store.mailboxes.shared_with(bob) == []
    await store.mailboxes.set_rights(ann, archive, bob, "")
    assert await store.mailboxes.acl(ann, archive) == {}
    with pytest.raises(ValueError):
        await store.mailboxes.set_rights(ann, archive, bob, "lz")
    with pytest.raises(PreconditionFailed):
        await store.mailboxes.set_rights(ann, archive, ann, "l")
    with pytest.raises(NoSuchItem):
        await store.mailboxes.set_rights(bob, archive, ann, "l")  # not bob's to share


async def test_store_shared_changes_reach_the_grantee(store: Store) -> None:
    ann = await _account(store)
    bob = await _account(store, "bob@example.org")
    archive = (await _boxes(store, ann))["Archive"]
    await store.mailboxes.set_rights(ann, archive, bob, "lr")
    bus = LocalEventBus()
    shared = Store(store.backend, events=bus)
    with bus.subscribe(accounts=[str(bob)]) as subscription:
        result = await shared.emails.append(ann, _raw(), [archive])
        event = subscription.next_nowait()
    assert (event.account, event.kind, event.modseq) == (str(bob), "shared", result.modseq)
    # The change is in the owner's log.
    assert archive in (await shared.mailboxes.changes(ann, result.modseq - 1)).updated


# ---- annotations (RFC 5464) --------------------------------------------------


async def test_store_metadata(store: Store) -> None:
    ann = await _account(store)
    bob = await _account(store, "bob@example.org")
    inbox = (await _boxes(store, ann))["INBOX"]
    meta = store.metadata
    await meta.set(ann, inbox, {"/shared/Comment": b"team inbox", "/private/comment": b"mine"})
    await meta.set(ann, inbox, {"/private/vendor/x/a": b"1", "/private/vendor/x/a/b": b"2"})
    assert await meta.get(ann, inbox, ["/shared/comment"]) == {"/shared/comment": b"team inbox"}
    assert await meta.get(bob, inbox, ["/shared/comment", "/private/comment"]) == {
        "/shared/comment": b"team inbox"
    }  # private entries are per principal
    assert await meta.get(ann, inbox, ["/private/vendor"], depth=1) == {}
    assert await meta.get(ann, inbox, ["/private/vendor/x"], depth=1) == {
        "/private/vendor/x/a": b"1"
    }
    assert len(await meta.get(ann, inbox, ["/private/vendor"], depth="infinity")) == 2
    await meta.set(ann, None, {"/shared/admin": b"mailto:postmaster@example.org"})
    assert await meta.get(bob, None, ["/shared/admin"]) == {
        "/shared/admin": b"mailto:postmaster@example.org"
    }
    await meta.set(ann, inbox, {"/shared/comment": None})
    assert await meta.get(ann, inbox, ["/shared/comment"]) == {}
    for bad in (
        "comment",
        "/shared",
        "/shared//x",
        "/shared/x/",
        "/shared/*",
        "/private/é",
        "/other/x",
    ):
        with pytest.raises(ValueError):
            await meta.set(ann, inbox, {bad: b"x"})
    with pytest.raises(MetadataTooLarge):
        await meta.set(ann, inbox, {"/shared/big": b"x" * (64 * 1024 + 1)})
    with pytest.raises(NoSuchItem):
        await meta.get(ann, 999999, ["/shared/comment"])
    folder = await store.mailboxes.create(ann, "Projects")
    await meta.set(ann, folder.id, {"/shared/comment": b"gone soon"})
    await store.mailboxes.delete(ann, folder.id)
    assert (
        await store.backend.read(lambda ops: ops.metadata_entries(folder.id, 0, "/shared/comment"))
        == []
    )


__all__ = sorted(name for name in globals() if name.startswith("test_"))
