"""IMAP load generator: N clients on one 10,000-message mailbox, per-command latency.

All clients log in and SELECT the mailbox at once (that latency is reported on its
own), then each runs a weighted mix until the time is up: UID FETCH of FLAGS (50
messages), ENVELOPE (20), a full body, UID SEARCH (unseen, a sender, a date), UID
STORE of a flag and its removal, APPEND of a 4 KB message.
Separately it measures ``UID FETCH 1:* (FLAGS)`` on the whole mailbox and IDLE
wake-ups (one client IDLEs, another APPENDs; the time until ``EXISTS`` arrives).

Without ``--host`` it starts our server (``stalwart-kernel`` with the ``imap``
plugin) as a child process in a temporary directory; with ``--host/--port/--user/
--password`` it measures any IMAP server, e.g. Dovecot (``python
tests/bench/_dovecot.py`` starts one from Debian's packages on a spare port). The
mailbox is filled by APPEND first when it holds fewer than ``--messages``.

Usage: ``python tests/bench/bench_imap.py [--clients 1,10,50] [--seconds 10]
[--messages 10000] [--host H --port P --user U --password P [--tls]]``. It reports
numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio
from _child_server import start_server as start_child
from _wire_client import ImapClient

USER, PASSWORD = "bench@example.org", "bench-password"

CONFIG = """
config: {watch: false}
auth: {allow_plaintext_without_tls: true}
listeners:
  imap: {bind: 127.0.0.1:0, protocol: imap, tls: none}
"""


def start_server(workdir: Path) -> tuple[subprocess.Popen[str], int]:
    return start_child(workdir, CONFIG, ["directory", "imap"], "imap", USER, PASSWORD)


def message(n: int) -> bytes:
    """A ~4 KB message with a varying sender, subject and date."""
    sender = f"sender{n % 97}@example.net"
    day = 1 + n % 28
    body = (f"Line {n} of a benchmark message, padded to a realistic size.\r\n" * 64)[:3800]
    return (
        f"From: Sender {n % 97} <{sender}>\r\nTo: {USER}\r\n"
        f"Subject: benchmark message {n}\r\nDate: {day:02d} Oct 2026 10:{n % 60:02d}:00 +0000\r\n"
        f"Message-ID: <bench-{n}-{random.getrandbits(40)}@example.net>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()


class Target:
    def __init__(self, args: argparse.Namespace, port: int) -> None:
        self.host, self.port, self.tls = args.host or "127.0.0.1", port, args.tls
        self.user, self.password, self.mailbox = args.user, args.password, args.mailbox

    async def login(self) -> ImapClient:
        client = await ImapClient.connect(self.host, self.port, tls=self.tls)
        await client.command(f'LOGIN "{self.user}" "{self.password}"')
        return client

    async def select(self) -> tuple[ImapClient, int]:
        client = await self.login()
        untagged = await client.command(f'SELECT "{self.mailbox}"')
        exists = next(int(r.split()[1]) for r in untagged if r.endswith(b" EXISTS\r\n"))
        return client, exists


async def populate(target: Target, messages: int) -> int:
    client, exists = await target.select()
    await client.aclose()
    missing = messages - exists
    if missing <= 0:
        return exists
    print(f"appending {missing} messages to {target.mailbox} ...", flush=True)
    start = time.perf_counter()

    async def writer(numbers: range) -> None:
        conn = await target.login()
        for n in numbers:
            await conn.command(f'APPEND "{target.mailbox}" (\\Seen)', message(n))
        await conn.aclose()

    async with trio.open_nursery() as nursery:
        for w in range(8):
            nursery.start_soon(writer, range(exists + w, messages, 8))
    elapsed = time.perf_counter() - start
    print(f"  {missing} APPENDs in {elapsed:.1f}s ({missing / elapsed:.0f}/s)")
    return messages


def report(name: str, samples: list[float], elapsed: float | None = None) -> None:
    if not samples:
        print(f"  {name:<28} no samples")
        return
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    rate = f"{len(samples) / elapsed:>9.0f} ops/s" if elapsed else f"{len(samples):>6} runs"
    print(f"  {name:<28} {rate}   p50 {p50:8.2f} ms   p99 {p99:8.2f} ms")


def _mix(
    exists: int, mailbox: str
) -> list[tuple[str, int, Callable[[ImapClient], Awaitable[object]]]]:
    def uid_range(width: int) -> str:
        low = random.randint(1, max(1, exists - width))
        return f"{low}:{low + width - 1}"

    async def flag_toggle(c: ImapClient) -> None:
        uid = random.randint(1, exists)
        await c.command(f"UID STORE {uid} +FLAGS (\\Flagged)")
        await c.command(f"UID STORE {uid} -FLAGS (\\Flagged)")

    return [
        ("UID FETCH 50 (FLAGS)", 30, lambda c: c.command(f"UID FETCH {uid_range(50)} (FLAGS)")),
        ("UID FETCH 20 (ENVELOPE)", 20, lambda c: c.command(f"UID FETCH {uid_range(20)} ENVELOPE")),
        (
            "UID FETCH 1 BODY.PEEK[]",
            15,
            lambda c: c.command(f"UID FETCH {uid_range(1)} BODY.PEEK[]"),
        ),
        ("UID SEARCH UNSEEN", 5, lambda c: c.command("UID SEARCH UNSEEN")),
        (
            "UID SEARCH FROM",
            5,
            lambda c: c.command(f"UID SEARCH FROM sender{random.randint(0, 96)}@"),
        ),
        ("UID SEARCH SINCE", 5, lambda c: c.command("UID SEARCH SINCE 20-Oct-2026")),
        ("UID STORE +/-FLAGS (x2)", 15, flag_toggle),
        (
            "APPEND 4 KB",
            5,
            lambda c: c.command(f'APPEND "{mailbox}"', message(random.getrandbits(30))),
        ),
    ]


async def run_mix(target: Target, clients: int, seconds: float, exists: int) -> None:
    """Log every client in and SELECT (timed apart), then run the mix for ``seconds``."""
    samples: dict[str, list[float]] = defaultdict(list)
    mix = _mix(exists, target.mailbox)
    weights = [weight for _, weight, _ in mix]
    sessions: list[ImapClient] = []

    async def connect() -> None:
        t = time.perf_counter()
        client, _ = await target.select()
        samples["LOGIN+SELECT"].append(time.perf_counter() - t)
        sessions.append(client)

    async with trio.open_nursery() as nursery:
        for _ in range(clients):
            nursery.start_soon(connect)
    deadline = time.perf_counter() + seconds
    start = time.perf_counter()

    async def one(client: ImapClient) -> None:
        while time.perf_counter() < deadline:
            name, _, op = random.choices(mix, weights)[0]
            t = time.perf_counter()
            await op(client)
            samples[name].append(time.perf_counter() - t)
        await client.command("LOGOUT")
        await client.aclose()

    async with trio.open_nursery() as nursery:
        for client in sessions:
            nursery.start_soon(one, client)
    elapsed = time.perf_counter() - start
    total = sum(len(samples[name]) for name, _, _ in mix)
    print(f"N={clients}: {total / elapsed:.0f} operations/s over {elapsed:.1f}s")
    report("LOGIN+SELECT (all at once)", samples["LOGIN+SELECT"])
    for name, _, _ in mix:
        report(name, samples[name], elapsed)


async def run_fetch_all(target: Target, runs: int) -> None:
    client, _ = await target.select()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        await client.command("UID FETCH 1:* (FLAGS)")
        samples.append(time.perf_counter() - t)
    await client.aclose()
    report("UID FETCH 1:* (FLAGS)", samples)


async def run_idle(target: Target, wakeups: int) -> None:
    idler, _ = await target.select()
    writer = await target.login()
    samples = []
    for n in range(wakeups):
        tag = await idler.idle()
        t = time.perf_counter()
        await writer.command(f'APPEND "{target.mailbox}"', message(1_000_000 + n))
        while not (await idler.response()).endswith(b" EXISTS\r\n"):
            pass
        samples.append(time.perf_counter() - t)
        await idler.done(tag)
    await idler.aclose()
    await writer.aclose()
    report("IDLE wake-up after APPEND", samples)


async def bench(args: argparse.Namespace, port: int) -> None:
    target = Target(args, port)
    exists = await populate(target, args.messages)
    print(f"server {target.host}:{port}, mailbox {target.mailbox} with {exists} messages")
    await run_fetch_all(target, 20)
    await run_idle(target, 20)
    for clients in args.clients:
        await run_mix(target, clients, args.seconds, exists)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clients", default="1,10,50", type=lambda s: [int(n) for n in s.split(",")]
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--mailbox", default="INBOX")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int, default=143)
    parser.add_argument("--user", default=USER)
    parser.add_argument("--password", default=PASSWORD)
    parser.add_argument("--tls", action="store_true", help="implicit TLS (certificate not checked)")
    args = parser.parse_args()
    if args.host:
        trio.run(bench, args, args.port)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_server(Path(tmp))
        try:
            trio.run(bench, args, port)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
