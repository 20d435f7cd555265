"""Store benchmark: durable appends, then queries on one large mailbox, per backend.

For SQLite and PostgreSQL (``--backend``), it reports:

* appends/s of ~4 KB messages with 1 and 50 concurrent writers into one account
  and with 50 writers spread over 1,000 accounts, with appends per fsync (SQLite:
  per commit, each one fsync of the WAL; PostgreSQL: per WAL sync, counted
  server-wide) and the p50/p99 latency of one append;
* the build of one INBOX of ``--messages`` messages (default 100,000) by 50
  writers, and the database's size on disk afterwards. PostgreSQL builds it
  with ``synchronous_commit=off`` ("sync off"; durably, one account's appends
  run one at a time, at 100-150/s here: see ``_store_targets.py``), then runs
  ``VACUUM ANALYZE`` before the queries, as autovacuum would in time;
* p50/p99 latency over ``--runs`` calls (default 200, after 5 unmeasured ones;
  fewer, but at least 10, once a query has taken ``--query-seconds``, default
  20), each call with its own sender, word or change position where the query
  has one, of: IMAP ``UID SEARCH UNSEEN FROM x``; JMAP ``Email/query`` of the
  mailbox sorted by ``receivedAt`` descending, the first page of 50 with the
  total and the page at half the mailbox; ``Mailbox/changes`` and a mailbox's
  CHANGEDSINCE/VANISHED (:meth:`Emails.mailbox_changes`) 100-500 changes back;
  IMAP ``STATUS`` (:meth:`Emails.counts`); and a body search for one rare and
  one common word (the ``rows`` column is the mean number of results).

Each backend's table is printed as it runs, and all of them again at the end.

The issue's targets for SQLite on the 2-core machine: at least 1,000 durable
appends/s with 50 writers, and p99 under 50 ms for the queries on 100,000
messages; rows over 50 ms are marked ``!``. With ``--explain`` the plans of the
statements behind each marked query are printed (``_store_explain.py``).

Implementation notes:

* In-process: the store API is called directly from this process (trio tasks
  for concurrent writers), not loaded from a second process over loopback as
  the protocol benchmarks are, because no server in front of the store exists
  yet. The queries run one at a time on an idle store, so they measure latency,
  not throughput under load.
* Messages come from :mod:`_store_corpus` (seeded, so runs are comparable);
  generating them costs this process CPU, as parsing them does the store.
* Each append scenario and the mailbox get a fresh database (``_store_targets``):
  SQLite files under ``$TMPDIR``; PostgreSQL schemas in
  ``STALWART_TEST_POSTGRES_DSN``, dropped afterwards. An unreachable PostgreSQL
  is skipped with a note. A benchmark prints numbers; it asserts nothing.

Usage: ``python tests/bench/bench_store.py [--messages 100000] [--appends 2000]
[--runs 200] [--query-seconds 20] [--backend sqlite|postgres|both] [--explain]``;
a quick run: ``--messages 2000``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import argon2
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from _store_corpus import Corpus
from _store_explain import Recorder, explain
from _store_targets import PostgresTarget, SqliteTarget, postgres_unreachable

from kernel.store import Comparator, Store
from kernel.store.filters import All, Contains, HasKeyword, InMailbox, Not

CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
WRITERS = 50
TARGET_MS = 50.0
WARMUP = 5
MIN_RUNS = 10
FOUR_KB_LINES = 55  # a body of 55 corpus lines makes a message of about 4 KB


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(len(ordered) * fraction) - 1)]


async def add_accounts(store: Store, count: int, prefix: str) -> list[tuple[int, int]]:
    """``count`` accounts, created by 50 tasks; their ``(account, INBOX)`` ids."""
    await store.directory.add_domain("example.org")
    found: list[tuple[int, int]] = [(0, 0)] * count
    remaining = iter(range(count))

    async def creator() -> None:
        for a in remaining:
            account = await store.directory.add_account(f"{prefix}{a}@example.org", "pw")
            inbox = await store.mailboxes.by_path(account.id, "INBOX")
            assert inbox is not None
            found[a] = (account.id, inbox.id)

    async with trio.open_nursery() as nursery:
        for _ in range(min(WRITERS, count)):
            nursery.start_soon(creator)
    return found


async def append_all(
    store: Store, inboxes: list[tuple[int, int]], messages: Any, count: int, writers: int
) -> tuple[float, list[float]]:
    """Append ``count`` messages from the iterator ``messages`` round-robin into
    ``inboxes`` with ``writers`` tasks; returns the seconds taken and each latency."""
    latencies: list[float] = []
    progress = max(count // 10, 1)
    started = time.perf_counter()
    next_index = 0

    async def writer() -> None:
        nonlocal next_index
        while next_index < count:
            i = next_index
            next_index += 1
            account, inbox = inboxes[i % len(inboxes)]
            message = next(messages)
            keywords = ["$seen"] if message.seen else []
            t = time.perf_counter()
            await store.emails.append(
                account, message.raw, [inbox], keywords=keywords, received_at=message.received_at
            )
            latencies.append(time.perf_counter() - t)
            if count >= 20_000 and len(latencies) % progress == 0:
                rate = len(latencies) / (time.perf_counter() - started)
                print(f"    ... {len(latencies):,} appended, {rate:,.0f}/s", file=sys.stderr)

    async with trio.open_nursery() as nursery:
        for _ in range(writers):
            nursery.start_soon(writer)
    return time.perf_counter() - started, latencies


def append_row(label: str, count: int, seconds: float, fsyncs: int, lat: list[float]) -> str:
    per_fsync = f"{count / fsyncs:10.1f}" if fsyncs > 0 else f"{'-':>10}"
    return (
        f"  {label:<44}{count / seconds:10,.0f}{per_fsync}"
        f"{statistics.median(lat) * 1000:9.1f}{percentile(lat, 0.99) * 1000:9.1f}"
    )


async def bench_appends(target: Any, corpus: Corpus, count: int, lines: list[str]) -> None:
    header = (
        f"  {f'{count:,} appends of ~4 KB':<44}{'appends/s':>10}{target.fsync_label:>10}"
        f"{'p50 ms':>9}{'p99 ms':>9}"
    )
    lines += [header]
    print(header, flush=True)
    for writers, accounts in ((1, 1), (WRITERS, 1), (WRITERS, 1000)):
        backend = await target.open(f"a{writers}x{accounts}")
        try:
            inboxes = await add_accounts(Store(backend, hasher=CHEAP), accounts, "u")
            payloads = iter([corpus.message(FOUR_KB_LINES) for _ in range(count)])
            backend = await target.reopen(backend)
            before = await target.fsyncs(backend)
            store = Store(backend, hasher=CHEAP)
            seconds, latencies = await append_all(store, inboxes, payloads, count, writers)
            await backend.aclose()
            fsyncs = await target.fsyncs(backend) - before
        finally:
            await target.close(backend)
        label = f"{writers} writer{'s' * (writers > 1)}, {accounts:,} account{'s' * (accounts > 1)}"
        lines.append(append_row(label, count, seconds, fsyncs, latencies))
        print(lines[-1], flush=True)


Query = Callable[[], Awaitable[int]]


async def measure(runs: int, budget: float, make: Callable[[], Query]) -> tuple[list[float], float]:
    """Latencies of ``runs`` calls (after :data:`WARMUP`), or of fewer (at least
    :data:`MIN_RUNS`) once ``budget`` seconds are spent; and the mean result size."""
    samples: list[float] = []
    sizes: list[int] = []
    started = time.perf_counter()
    for i in range(WARMUP + runs):
        call = make()
        t = time.perf_counter()
        size = await call()
        if i >= WARMUP:
            samples.append(time.perf_counter() - t)
            sizes.append(size)
            if len(samples) >= MIN_RUNS and time.perf_counter() - started > budget:
                break
    return samples, statistics.fmean(sizes)


def queries(store: Store, corpus: Corpus, account: int, inbox: int, state: int, total: int) -> Any:
    """``(name, factory)`` pairs; each factory draws its parameters and returns a call."""
    newest = [Comparator("received", ascending=False)]

    def unseen_from() -> Query:
        where = All((Not(HasKeyword("$seen")), Contains("from", corpus.sender())))
        return lambda: _count(store.emails.search(account, inbox, where))

    def page(position: int) -> Callable[[], Query]:
        async def call() -> int:
            found = await store.emails.query(
                account, InMailbox(inbox), newest, position=position, limit=50, calculate_total=True
            )
            return len(found.ids)

        return lambda: call

    def mailbox_log() -> Query:
        since = state - corpus.randint(100, 500)

        async def call() -> int:
            changes = await store.mailboxes.changes(account, since)
            return len(changes.created) + len(changes.updated) + len(changes.destroyed)

        return call

    def members_changed() -> Query:
        since = state - corpus.randint(100, 500)

        async def call() -> int:
            changes = await store.emails.mailbox_changes(account, inbox, since)
            return len(changes.changed) + len(changes.expunged)

        return call

    def status(threads: bool) -> Callable[[], Query]:
        def make() -> Query:
            async def call() -> int:
                return (await store.emails.counts(account, inbox, threads=threads)).unseen

            return call

        return make

    def body_word(common: bool) -> Callable[[], Query]:
        def make() -> Query:
            where = Contains("body", corpus.body_word(common))
            return lambda: _count(store.emails.search(account, inbox, where))

        return make

    return [
        ("UID SEARCH UNSEEN FROM x", unseen_from),
        ("Email/query receivedAt desc, 0+50", page(0)),
        (f"Email/query receivedAt desc, {total // 2:,}+50", page(total // 2)),
        ("Mailbox/changes, 100-500 back", mailbox_log),
        ("CHANGEDSINCE/VANISHED, 100-500 back", members_changed),
        ("IMAP STATUS (counts, no threads)", status(False)),
        ("JMAP Mailbox counts (with threads)", status(True)),
        ("SEARCH BODY rare word (rank 2,000-30,000)", body_word(False)),
        ("SEARCH BODY common word (rank 50-2,000)", body_word(True)),
    ]


async def _count(results: Awaitable[list[Any]]) -> int:
    return len(await results)


async def bench_mailbox(target: Any, args: argparse.Namespace, lines: list[str]) -> None:
    corpus = Corpus(seed=2)
    backend = await target.open("mailbox", durable=target.durable_build)
    try:
        ((account, inbox),) = await add_accounts(Store(backend, hasher=CHEAP), 1, "big")
        backend = await target.reopen(backend, durable=target.durable_build)
        before = await target.fsyncs(backend)
        messages = iter(corpus.message, None)
        seconds, latencies = await append_all(
            Store(backend, hasher=CHEAP), [(account, inbox)], messages, args.messages, WRITERS
        )
        await backend.aclose()
        fsyncs = await target.fsyncs(backend) - before
        label = f"INBOX of {args.messages:,} by {WRITERS} writers{target.build_note}"
        lines.append(append_row(label, args.messages, seconds, fsyncs, latencies))
        backend = await target.reopen(backend)
        await target.settle(backend)
        lines.append(f"  database size: {await target.size(backend)}")
        print("\n".join(lines[-2:]), flush=True)
        recorder = Recorder(backend, enabled=args.explain)
        store = Store(recorder, hasher=CHEAP)  # type: ignore[arg-type]
        state = (await store.mailboxes.get(account, inbox)).modseq
        header = f"  {'query':<44}{'runs':>10}{'rows':>10}{'p50 ms':>9}{'p99 ms':>9}"
        lines.append(header)
        print(header, flush=True)
        plans: list[str] = []
        for name, make in queries(store, corpus, account, inbox, state, args.messages):
            recorder.log.clear()
            samples, rows = await measure(args.runs, args.query_seconds, make)
            p50, p99 = statistics.median(samples) * 1000, percentile(samples, 0.99) * 1000
            mark = " !" if p99 > TARGET_MS else ""
            lines.append(f"  {name:<44}{len(samples):10}{rows:10,.0f}{p50:9.1f}{p99:9.1f}{mark}")
            print(lines[-1], flush=True)
            if mark and args.explain:
                # The statements of the last call (each call makes the same ones).
                per_call = len(recorder.log) // (WARMUP + len(samples))
                plans.append(f"  {name}:")
                plans += await explain(backend, recorder.log[-per_call:])
        if plans:
            print(f"{target.name} query plans (--explain):", *plans, sep="\n", flush=True)
    finally:
        await target.close(backend)


async def bench(target: Any, args: argparse.Namespace) -> list[str]:
    lines = [f"{target.description}"]
    print(lines[0], flush=True)
    started = time.perf_counter()
    await bench_appends(target, Corpus(seed=1), args.appends, lines)
    await bench_mailbox(target, args, lines)
    lines.append(f"  ({time.perf_counter() - started:,.0f} s for this backend)")
    print(lines[-1], flush=True)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000, help="size of the INBOX")
    parser.add_argument("--appends", type=int, default=2000, help="appends per append scenario")
    parser.add_argument("--runs", type=int, default=200, help="measured calls per query")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--query-seconds", type=float, default=20.0, help="stop a query's runs after this"
    )
    parser.add_argument("--explain", action="store_true", help="plans of queries over 50 ms p99")
    args = parser.parse_args()
    if args.messages < 1000:
        parser.error("--messages must be at least 1000 (the change queries go 500 back)")
    targets: list[Any] = []
    if args.backend in ("sqlite", "both"):
        targets.append(SqliteTarget)
    if args.backend in ("postgres", "both"):
        reason = postgres_unreachable()
        if reason is None:
            targets.append(PostgresTarget)
        else:
            print(f"PostgreSQL skipped: not reachable ({reason})\n", flush=True)
    print(f"{args.appends:,} appends per scenario, INBOX of {args.messages:,} messages\n")
    report: list[str] = []
    for make in targets:
        target = make()
        try:
            report += [*trio.run(bench, target, args), ""]
        finally:
            target.cleanup()
        print()
    print("Summary (! marks a p99 over the 50 ms target)", *report, sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
