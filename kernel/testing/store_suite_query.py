"""The store contract suite, query pages: collapsed threads, anchors and totals
(JMAP Email/query, RFC 8621 §4.4.3 and RFC 8620 §5.5) against a brute-force evaluation.

Import its tests into a backend's test module next to the main suite (``from
kernel.testing.store_suite_query import *``); the module must define a ``store``
fixture. The corpus is random (threads of several sizes, keywords, received dates
with ties, one or two mailboxes per email); the reference filters every email with
:func:`kernel.store.filters.matches`, sorts in Python, collapses each thread to its
first email and pages the whole list, and the store's answer must be the same, also
when :class:`kernel.store.query_walk.PageWalk` reads in chunks of a few rows.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from kernel.errors import NoSuchItem
from kernel.store import Store, query_walk
from kernel.store.filters import (
    All,
    Comparator,
    EmailFacts,
    Filter,
    HasKeyword,
    InMailbox,
    Not,
    ReceivedSince,
    matches,
)
from kernel.store.interfaces import ReadOps
from kernel.testing.store_suite_mail import _account, _boxes, _facts, _random_filter, _raw

__all__ = [
    "test_store_query_collapsed_pages_match_brute_force",
    "test_store_records_batch_memberships",
]

_BASE = 1_800_000_000.0
_KEYWORDS = ("$seen", "$flagged", "custom")
_SORTS = ("received", "sent", "size", "keyword", "thread_some_keyword", "thread_all_keyword", "id")


async def _random_corpus(store: Store, rng: random.Random) -> tuple[int, dict[str, int], list[int]]:
    """About 70 emails in threads of 1 to 8, appended in random order."""
    account = await _account(store)
    boxes = await _boxes(store, account)
    places = sorted(boxes.values())
    plan: list[int] = []  # thread group of each email, in append order
    for group in range(24):
        plan += [group] * rng.choice([1, 1, 1, 2, 3, 5, 8])
    rng.shuffle(plan)
    rooted: set[int] = set()
    ids = []
    for n, group in enumerate(plan):
        # A reply (same base subject, a reference to the root) joins the group's thread.
        reply = group in rooted
        raw = _raw(
            subject=("Re: " if reply else "") + f"Topic {group}",
            message_id=f"root-{group}@x" if not reply else f"m{n}@x",
            refs=f"<root-{group}@x>" if reply else "",
            body="x" * rng.randint(1, 300),
            date=f"Mon, 23 Nov 2026 10:{rng.randint(0, 5):02d}:00 +0000"
            if rng.random() < 0.7
            else "",
        )
        rooted.add(group)
        result = await store.emails.append(
            account,
            raw,
            rng.sample(places, rng.choice([1, 1, 2])),
            keywords=rng.sample(_KEYWORDS, rng.randint(0, 2)),
            # Few distinct times: many ties, broken by the email id.
            received_at=_BASE + rng.randint(0, 12) * 3600,
        )
        ids.append(result.email)
    return account, boxes, ids


def _sort_value(comparator: Comparator, facts: EmailFacts) -> object:
    keyword = comparator.keyword or ""
    match comparator.key:
        case "received":
            return facts.received_at
        case "sent":
            return facts.received_at if facts.sent_at is None else facts.sent_at
        case "size":
            return facts.size
        case "keyword":
            return keyword in facts.keywords
        case "thread_some_keyword":
            return any(keyword in k for k in facts.thread_keywords)
        case "thread_all_keyword":
            return all(keyword in k for k in facts.thread_keywords)
        case "id":
            return facts.id
    raise AssertionError(comparator)


def _brute_force(
    everyone: Sequence[EmailFacts], where: Filter, sort: Sequence[Comparator], collapse: bool
) -> list[int]:
    found = [f for f in everyone if matches(where, f)]
    # Ties by id in the direction of the last key (ascending without one), then
    # each key from the last to the first (a stable sort).
    found.sort(key=lambda f: f.id, reverse=bool(sort) and not sort[-1].ascending)
    for comparator in reversed(sort):
        found.sort(key=lambda f, c=comparator: _sort_value(c, f), reverse=not comparator.ascending)  # type: ignore[misc]
    ids, threads = [], set()
    for facts in found:
        if collapse and facts.thread in threads:
            continue
        threads.add(facts.thread)
        ids.append(facts.id)
    return ids


def _random_sort(rng: random.Random) -> list[Comparator]:
    sort = []
    for _ in range(rng.choice([0, 1, 1, 2])):
        key = rng.choice(_SORTS)
        keyword = rng.choice(_KEYWORDS) if "keyword" in key else None
        sort.append(Comparator(key, rng.random() < 0.5, keyword))  # type: ignore[arg-type]
    return sort


async def test_store_query_collapsed_pages_match_brute_force(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(8621)
    account, boxes, ids = await _random_corpus(store, rng)
    everyone = await _facts(store, account)
    assert len({f.thread for f in everyone}) < len(everyone)  # threads with several emails
    inbox = boxes["INBOX"]
    simple: list[Filter] = [
        All(),
        InMailbox(inbox),
        All((InMailbox(inbox), Not(HasKeyword("$seen")))),
        ReceivedSince(_BASE + 6 * 3600),
    ]
    for case in range(160):
        # Half the cases read in chunks of a few rows, to cross chunk boundaries.
        monkeypatch.setattr(query_walk, "_WALK_SLACK", 32 if case % 2 else 0)
        mixed = case % 3 == 0
        where = _random_filter(rng, sorted(boxes.values()), ids) if mixed else rng.choice(simple)
        sort = _random_sort(rng)
        collapse = rng.random() < 0.75
        expected = _brute_force(everyone, where, sort, collapse)
        limit = rng.choice([None, 0, 1, 3, 7, 50])
        total = rng.random() < 0.5
        anchor = None
        if rng.random() < 0.4:
            anchor = rng.choice([rng.choice(expected or ids), rng.choice(ids)])
        offset = rng.randint(-4, 4)
        position = rng.choice([0, 0, 1, 2, 5, 20, -1, -3, -30, 1000])
        got_error = None
        try:
            got = await store.emails.query(
                account,
                where,
                sort,
                position=position,
                anchor=anchor,
                anchor_offset=offset,
                limit=limit,
                calculate_total=total,
                collapse_threads=collapse,
            )
        except NoSuchItem as error:
            got_error = error
        context = (where, sort, collapse, position, anchor, offset, limit)
        if anchor is not None:
            if anchor not in expected:
                assert got_error is not None, context
                continue
            start = max(0, expected.index(anchor) + offset)
        else:
            start = position if position >= 0 else max(0, len(expected) + position)
        assert got_error is None, context
        if anchor is not None or position < 0 or collapse or limit is None:
            start = min(start, len(expected))
        end = len(expected) if limit is None else start + limit
        assert list(got.ids) == expected[start:end], context
        assert got.position == start, context
        assert got.total == (len(expected) if total else None), context


async def test_store_records_batch_memberships(store: Store) -> None:
    rng = random.Random(3)
    account, _, ids = await _random_corpus(store, rng)

    def read(ops: ReadOps) -> dict[int, tuple[object, ...]]:
        return {e: tuple(ops.memberships(e)) for e in ids}

    one_by_one = await store.backend.read(read)
    batch = await store.emails.records(account, [*ids[:40], -1, ids[0]])
    assert sorted(batch) == sorted(ids[:40])
    for email, record in batch.items():
        assert record.memberships == one_by_one[email]
