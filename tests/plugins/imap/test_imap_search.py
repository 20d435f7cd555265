"""SEARCH through the store equals a brute-force evaluation of IMAP semantics.

Hypothesis builds random mailboxes (headers, bodies, dates, flags, sizes, expunged
gaps in the UIDs) and random search programs; each program is translated by
:func:`plugins.imap.search.to_filter`, run by the SQLite store, and compared with
:func:`brute_force`, which reads RFC 9051 §6.4.4 directly off the test's own message
data (not through the store's filter model).

The server time zone is UTC here and generated Date fields carry ``+0000``: the store
keeps the Date as an instant, so SENT* keys use the server's zone (the deviation noted
in :mod:`plugins.imap.search`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import argon2
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel.store import Store
from plugins.imap import ids, storeview
from plugins.imap.flags import SYSTEM_FLAGS
from plugins.imap.proto import search_keys as k
from plugins.imap.proto.sequence import STAR, SequenceSet
from plugins.imap.search import SearchContext, to_filter, uses_modseq, uses_sequence_numbers
from plugins.imap.selected import RecentTracker, SelectedMailbox
from plugins.store_sqlite.connection import SqliteBackend

CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
WORDS = ["alpha", "Beta", "gamma", "café", "report", "Q3", "x"]
NAMES = ["ann", "Bob", "carol", "dave"]
KEYWORDS = ["$seen", "$flagged", "$answered", "$deleted", "$draft", "$forwarded", "work"]
DAY0 = datetime(2024, 3, 10, tzinfo=UTC)
NOW = (DAY0 + timedelta(days=4)).timestamp()


@dataclass(frozen=True)
class Msg:
    """A message as the test knows it."""

    sender: str
    to: str | None
    cc: str | None
    bcc: str | None
    subject: str
    body: str
    tag: str | None  # an X-Tag header field
    sent: datetime | None
    received: float
    keywords: frozenset[str]
    later_keywords: bool  # set with STORE after APPEND (a later MODSEQ)
    expunged: bool

    def raw(self) -> bytes:
        lines = [f"From: {self.sender}@example.org"]
        for name, value in (("To", self.to), ("Cc", self.cc), ("Bcc", self.bcc)):
            if value is not None:
                lines.append(f"{name}: {value}@example.net")
        lines.append(f"Subject: {self.subject}")
        if self.tag is not None:
            lines.append(f"X-Tag: {self.tag}")
        if self.sent is not None:
            lines.append(f"Date: {format_datetime(self.sent)}")
        lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
        lines += ["Content-Transfer-Encoding: 8bit", "", self.body, ""]
        return "\r\n".join(lines).encode()

    def headers(self) -> list[tuple[str, str]]:
        out = [("from", f"{self.sender}@example.org")]
        for name, value in (("to", self.to), ("cc", self.cc), ("bcc", self.bcc)):
            if value is not None:
                out.append((name, f"{value}@example.net"))
        out.append(("subject", self.subject))
        if self.tag is not None:
            out.append(("x-tag", self.tag))
        if self.sent is not None:
            out.append(("date", format_datetime(self.sent)))
        out += [("mime-version", "1.0"), ("content-type", "text/plain; charset=utf-8")]
        out.append(("content-transfer-encoding", "8bit"))
        return out


@dataclass(frozen=True)
class Stored:
    """A message in the mailbox after the store assigned its numbers."""

    msg: Msg
    seq: int
    uid: int
    email: int
    thread: int
    modseq: int
    recent: bool
    saved: bool


words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)
maybe_name = st.none() | st.sampled_from(NAMES)
sent_at = st.none() | st.integers(-3 * 86400, 3 * 86400).map(
    lambda s: (DAY0 + timedelta(seconds=s)).replace(microsecond=0)
)
messages = st.builds(
    Msg,
    sender=st.sampled_from(NAMES),
    to=maybe_name,
    cc=maybe_name,
    bcc=maybe_name,
    subject=words,
    body=st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join),
    tag=st.none() | words,
    sent=sent_at,
    received=st.integers(-3 * 86400, 3 * 86400).map(lambda s: DAY0.timestamp() + s),
    keywords=st.frozensets(st.sampled_from(KEYWORDS)),
    later_keywords=st.booleans(),
    expunged=st.booleans(),
)

needles = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(WORDS).map(str.upper),
    st.sampled_from(NAMES),
    st.sampled_from(["", "example", "ph", "subject: ", "@example.org", "CAFÉ", "zzz"]),
)
numbers = st.integers(1, 14) | st.just(STAR)
sequence_sets = st.one_of(
    st.lists(st.tuples(numbers, numbers), min_size=1, max_size=3).map(
        lambda r: SequenceSet(tuple(r))
    ),
    st.just(SequenceSet(saved=True)),
)
days = st.integers(-4, 4).map(lambda n: DAY0.date() + timedelta(days=n))
leaves = st.one_of(
    st.builds(
        k.FlagKey,
        st.sampled_from(["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "\\Recent"]),
        st.booleans(),
    ),
    st.builds(k.KeywordKey, st.sampled_from([*KEYWORDS, "WORK", "absent"]), st.booleans()),
    st.builds(
        k.DateKey,
        st.sampled_from(["internal", "sent"]),
        st.sampled_from(["before", "on", "since"]),
        days,
    ),
    st.builds(k.WithinKey, st.sampled_from(["older", "younger"]), st.integers(0, 6 * 86400)),
    st.builds(k.SizeKey, st.sampled_from(["larger", "smaller"]), st.integers(150, 400)),
    st.builds(
        k.TextKey,
        st.sampled_from(["bcc", "body", "cc", "from", "subject", "text", "to"]),
        needles,
    ),
    st.builds(k.HeaderKey, st.sampled_from(["Subject", "x-tag", "FROM", "Nothing"]), needles),
    st.builds(k.SeqSetKey, sequence_sets),
    st.builds(k.UidKey, sequence_sets),
    st.builds(k.ModSeqKey, st.integers(0, 40)),
    st.builds(k.EmailIdKey, st.integers(1, 14).map(ids.email_id) | st.just("bogus")),
    st.builds(k.ThreadIdKey, st.integers(1, 14).map(ids.thread_id) | st.just("M1")),
    st.just(k.All()),
)
programs = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(k.NotKey, inner),
        st.builds(k.AnyOf, inner, inner),
        st.lists(inner, max_size=3).map(lambda keys: k.All(tuple(keys))),
    ),
    max_leaves=6,
)


def resolve(sequence: SequenceSet, largest: int, saved: set[int]) -> set[int]:
    if sequence.saved:
        return saved
    out: set[int] = set()
    for low, high in sequence.ranges:
        a = largest if low == STAR else low
        b = largest if high == STAR else high
        out.update(range(min(a, b), max(a, b) + 1))
    return out


def brute_force(key: k.SearchKey, m: Stored, box: list[Stored]) -> bool:
    """RFC 9051 §6.4.4 evaluated on the test's own data."""
    msg = m.msg

    def has(text: str | None, needle: str) -> bool:
        return text is not None and needle.casefold() in text.casefold()

    def day_of(instant: float) -> date:
        return datetime.fromtimestamp(instant, UTC).date()

    match key:
        case k.All(keys):
            return all(brute_force(child, m, box) for child in keys)
        case k.AnyOf(left, right):
            return brute_force(left, m, box) or brute_force(right, m, box)
        case k.NotKey(child):
            return not brute_force(child, m, box)
        case k.FlagKey(flag, present):
            if flag == "\\Recent":
                return m.recent == present
            return (SYSTEM_FLAGS[flag.lower()] in msg.keywords) == present
        case k.KeywordKey(keyword, present):
            return (keyword.lower() in msg.keywords) == present
        case k.DateKey(field, op, day):
            # A message without Date is compared by INTERNALDATE (search.py's choice).
            when = msg.sent.date() if field == "sent" and msg.sent else day_of(msg.received)
            return {"before": when < day, "on": when == day, "since": when >= day}[op]
        case k.WithinKey(op, seconds):
            age = NOW - msg.received
            return age > seconds if op == "older" else age <= seconds
        case k.SizeKey(op, size):
            length = len(msg.raw())
            return length > size if op == "larger" else length < size
        case k.TextKey(field, value):
            fields = {
                "from": f"{msg.sender}@example.org",
                "to": msg.to and f"{msg.to}@example.net",
                "cc": msg.cc and f"{msg.cc}@example.net",
                "bcc": msg.bcc and f"{msg.bcc}@example.net",
                "subject": msg.subject,
                "body": msg.body,
            }
            if not value:
                return True
            if field == "text":
                header = "\n".join(f"{n}: {v}" for n, v in msg.headers())
                return has(header, value) or has(msg.body, value)
            return has(fields[field], value)
        case k.HeaderKey(name, value):
            return any(n == name.lower() and has(v, value) for n, v in msg.headers())
        case k.SeqSetKey(sequence):
            saved = {s.seq for s in box if s.saved}
            return m.seq in resolve(sequence, len(box), saved)
        case k.UidKey(uids):
            saved = {s.uid for s in box if s.saved}
            return m.uid in resolve(uids, max(s.uid for s in box), saved)
        case k.ModSeqKey(modseq):
            return m.modseq >= modseq
        case k.EmailIdKey(value):
            return value == ids.email_id(m.email)
        case k.ThreadIdKey(value):
            return value == ids.thread_id(m.thread)
    raise AssertionError(key)


async def _check(
    directory: Path, msgs: list[Msg], keys: list[k.SearchKey], claimed: int, saved: list[bool]
) -> None:
    backend = await SqliteBackend.open(directory / "store.sqlite3")
    store = Store(backend, hasher=CHEAP)
    try:
        await store.directory.add_domain("example.org")
        account = (await store.directory.add_account("ann@example.org", "pw")).id
        inbox = (await store.mailboxes.list(account))[0].id
        appended = []
        for msg in msgs:
            result = await store.emails.append(
                account,
                msg.raw(),
                [inbox],
                keywords=() if msg.later_keywords else msg.keywords,
                received_at=msg.received,
            )
            appended.append(result)
        for msg, result in zip(msgs, appended, strict=True):
            if msg.later_keywords and msg.keywords:
                await store.emails.set_keywords(account, [result.email], add=msg.keywords)
        gone = [r.email for m, r in zip(msgs, appended, strict=True) if m.expunged]
        await store.emails.remove(account, inbox, gone)
        tracker = RecentTracker()
        tracker.claim(inbox, range(1, claimed + 1))
        snap = await storeview.snapshot(store, account, inbox)
        view = SelectedMailbox(snap, recent=tracker)
        members = {membership.uid: membership for membership, _ in snap.members}
        box = []
        for msg, result in zip(msgs, appended, strict=True):
            if msg.expunged:
                continue
            uid = result.uids[inbox]
            seq = len(box) + 1
            box.append(
                Stored(
                    msg,
                    seq,
                    uid,
                    result.email,
                    result.thread,
                    members[uid].modseq,
                    view.is_recent(uid),
                    saved[seq % len(saved)],
                )
            )
        ctx = SearchContext(
            view=view,
            saved=frozenset(s.uid for s in box if s.saved),
            tz=UTC,
            now=NOW,
        )
        for key in keys:
            found = await store.emails.search(account, inbox, to_filter(key, ctx))
            expected = {s.uid for s in box if brute_force(key, s, box)} if box else set()
            assert {uid for uid, _ in found} == expected, key
    finally:
        await backend.aclose()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.lists(messages, min_size=1, max_size=10),
    st.lists(programs, min_size=1, max_size=12),
    st.integers(0, 10),
    st.lists(st.booleans(), min_size=1, max_size=10),
)
def test_search_matches_brute_force(
    msgs: list[Msg], keys: list[k.SearchKey], claimed: int, saved: list[bool]
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        trio.run(_check, Path(directory), msgs, keys, claimed, saved)


def test_search_detects_sequence_numbers_and_modseq() -> None:
    seq = k.SeqSetKey(SequenceSet(((1, 2),)))
    assert uses_sequence_numbers(k.NotKey(k.AnyOf(k.All(), seq)))
    assert not uses_sequence_numbers(k.UidKey(SequenceSet(((1, 2),))))
    assert uses_modseq(k.All((k.ModSeqKey(3),)))
    assert not uses_modseq(seq)
