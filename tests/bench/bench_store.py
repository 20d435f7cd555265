"""Store benchmark: durable appends of 4 KB messages (SQLite).

Reports appends/s with 1 and 50 concurrent writers into one account and with
50 writers spread over 100 accounts, plus appends per commit (group commit:
each commit is one fsync of the WAL). A benchmark prints numbers; it asserts
nothing. Query latency and PostgreSQL come with search and the PG backend.

Usage: ``python tests/bench/bench_store.py [--messages 2000]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import argon2
import trio

from kernel.store import Store
from plugins.store_sqlite.connection import SqliteBackend

CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def message(i: int) -> bytes:
    body = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 70)[:3800]
    return (
        f"From: Sender {i} <s{i}@example.net>\r\nTo: user@example.org\r\n"
        f"Subject: Benchmark message {i}\r\nMessage-ID: <{i}.bench@example.net>\r\n"
        f"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n{body}\r\n"
    ).encode()


async def run(messages: int, writers: int, accounts: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        backend = await SqliteBackend.open(Path(tmp) / "bench.sqlite3")
        store = Store(backend, hasher=CHEAP)
        await store.directory.add_domain("example.org")
        inboxes = []
        for a in range(accounts):
            account = await store.directory.add_account(f"u{a}@example.org", "pw")
            inboxes.append((account.id, (await store.mailboxes.by_path(account.id, "INBOX")).id))
        payloads = [message(i) for i in range(messages)]
        commits_before = backend.statistics.commits
        latencies: list[float] = []
        next_index = 0

        async def writer() -> None:
            nonlocal next_index
            while next_index < messages:
                i = next_index
                next_index += 1
                account, inbox = inboxes[i % accounts]
                t = time.perf_counter()
                await store.emails.append(account, payloads[i], [inbox])
                latencies.append(time.perf_counter() - t)

        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(writers):
                nursery.start_soon(writer)
        elapsed = time.perf_counter() - start
        commits = backend.statistics.commits - commits_before
        ordered = sorted(latencies)
        p99 = ordered[int(len(ordered) * 0.99) - 1]
        print(
            f"{writers:>3} writers, {accounts:>4} accounts: {messages / elapsed:8.0f} appends/s"
            f"  {messages / commits:6.1f} appends/commit"
            f"  p50 {statistics.median(ordered) * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms"
        )
        await backend.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    print(f"SQLite, {args.messages} durable appends of ~4 KB (WAL, synchronous=FULL)")
    for writers, accounts in ((1, 1), (50, 1), (50, 100)):
        trio.run(run, args.messages, writers, accounts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
