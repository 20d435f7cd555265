"""POP3 benchmark: N clients each download and delete their whole maildrop.

Each client logs in as its own account (a maildrop admits one session at a
time), lists it (STAT), then for every message sends ``RETR n``, reads the
whole reply, and sends ``DELE n``; at the end ``QUIT`` removes them all (the
UPDATE state). It prints the messages retrieved per second over all clients,
the p50/p99 latency of one RETR (request sent to last byte read), and the
times of the login and of the QUIT. The second throughput figure counts from
the first client's first RETR to the last client's last DELE, leaving out the
logins (argon2 password checks, CPU-bound by design).

Two modes:

* ``--host H --port P --user U --password W``: the load generator, against a
  running server. ``U`` may hold ``{n}`` (``bench{n}@example.org``), replaced by
  the client's number 0..N-1, so each client gets its own account.
* no ``--host``: starts a server of its own in a temporary directory
  (``stalwart-kernel`` with the ``pop3`` plugin, SQLite store, blob_fs),
  fills ``--clients`` INBOXes with ``--messages`` messages of ``--size``
  bytes each through the store API (before the server starts, as the CLI
  does), then runs the load generator in a second process against it.

Usage: ``python tests/bench/bench_pop3.py [--clients 10] [--messages 1000]
[--size 4096]``. To compare with Dovecot, start one with ``python
tests/bench/_dovecot.py --pop3-accounts 10`` and point this at it with ``--host``.
A benchmark reports numbers; it asserts nothing.

Implementation notes:

* The client is a plain trio line reader written for speed (poplib would
  measure itself): the end of a RETR reply is found by searching the
  received bytes for ``CRLF.CRLF``.
* Messages are generated from a seed; one line in ten starts with ``.`` so
  byte-stuffing is exercised.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password"
CONFIG = """
config: {watch: false}
auth: {allow_plaintext_without_tls: true}
listeners:
  pop3: {bind: 127.0.0.1:0, protocol: pop3, tls: none}
pop3: {auth_failure_delay: 0}
"""

# The child serves POP3 through the public Kernel API (the pop3 plugin passed
# explicitly, so this works whether or not its entry point is installed).
CHILD = """
import sys
from pathlib import Path
import trio
from kernel import Kernel
import plugins.pop3.plugin as pop3
kernel = Kernel(data_dir=sys.argv[2], layers=[Path(sys.argv[1])], plugins=["directory", "pop3"],
                extra_plugins={"pop3": pop3}, handle_signals=True)
trio.run(kernel.run)
"""

_WORDS = ("mail", "server", "post", "office", "protocol", "message", "drop", "lease", "trio")


def make_message(rng: random.Random, n: int, size: int) -> bytes:
    """A plain-text message of about ``size`` bytes."""
    head = (
        f"From: sender{n % 97}@example.net\r\nTo: bench@example.org\r\n"
        f"Subject: benchmark message {n}\r\nMessage-ID: <{n}.{rng.random()}@bench>\r\n"
        "Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n\r\n"
    ).encode()
    lines = [head]
    total = len(head)
    while total < size:
        line = " ".join(rng.choice(_WORDS) for _ in range(10))
        if rng.random() < 0.1:
            line = "." + line
        data = line.encode() + b"\r\n"
        lines.append(data)
        total += len(data)
    return b"".join(lines)


# ---- the load generator ---------------------------------------------------------------


class Client:
    """A minimal POP3 client over a trio stream."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.buffer = bytearray()

    async def _fill(self) -> None:
        data = await self.stream.receive_some(1 << 16)
        if not data:
            raise ConnectionError("server closed the connection")
        self.buffer += data

    async def line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            await self._fill()
        out = bytes(self.buffer[: end + 2])
        del self.buffer[: end + 2]
        return out

    async def command(self, text: str) -> bytes:
        await self.stream.send_all(text.encode() + b"\r\n")
        status = await self.line()
        if not status.startswith(b"+OK"):
            raise RuntimeError(f"{text.split()[0]}: {status!r}")
        return status

    async def body(self) -> int:
        """Read a multi-line body after its status line; returns its length."""
        start = 0
        while (end := self.buffer.find(b"\r\n.\r\n", start)) < 0 and not self.buffer.startswith(
            b".\r\n"
        ):
            start = max(0, len(self.buffer) - 4)
            await self._fill()
        cut = 3 if end < 0 else end + 5
        del self.buffer[:cut]
        return cut


async def one_client(
    host: str, port: int, user: str, password: str, results: dict[str, list[float]]
) -> None:
    stream = await trio.open_tcp_stream(host, port)
    client = Client(stream)
    try:
        await client.line()
        started = time.perf_counter()
        await client.command(f"USER {user}")
        await client.command(f"PASS {password}")
        results["login"].append(time.perf_counter() - started)
        count = int((await client.command("STAT")).split()[1])
        results["first"].append(time.perf_counter())
        for n in range(1, count + 1):
            started = time.perf_counter()
            await client.command(f"RETR {n}")
            await client.body()
            results["retr"].append(time.perf_counter() - started)
            await client.command(f"DELE {n}")
        results["last"].append(time.perf_counter())
        started = time.perf_counter()
        await client.command("QUIT")
        results["quit"].append(time.perf_counter() - started)
    finally:
        await stream.aclose()


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def report(name: str, samples: list[float]) -> None:
    if not samples:
        print(f"  {name:<28} no samples")
        return
    p50 = statistics.median(samples) * 1000
    p99 = percentile(samples, 0.99) * 1000
    print(f"  {name:<28} n={len(samples):<7} p50 {p50:8.2f} ms   p99 {p99:8.2f} ms")


async def load(host: str, port: int, user: str, password: str, clients: int) -> None:
    results: dict[str, list[float]] = {"login": [], "retr": [], "quit": [], "first": [], "last": []}
    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for n in range(clients):
            nursery.start_soon(one_client, host, port, user.format(n=n), password, results)
    elapsed = time.perf_counter() - started
    retrieved = len(results["retr"])
    print(f"{clients} clients against {host}:{port}: {retrieved:,} messages in {elapsed:.2f} s")
    print(f"  {'throughput, whole run':<28} {retrieved / elapsed:,.0f} messages/s")
    if results["first"]:
        window = max(results["last"]) - min(results["first"])
        rate = retrieved / window if window > 0 else 0.0
        label = "throughput, RETR+DELE phase"
        print(f"  {label:<28} {rate:,.0f} messages/s (first RETR to last DELE)")
    report("RETR (send to last byte)", results["retr"])
    report("USER+PASS", results["login"])
    report("QUIT (UPDATE: expunge all)", results["quit"])


# ---- the self-hosted mode -------------------------------------------------------------


async def fill(workdir: Path, clients: int, messages: int, size: int) -> None:
    """Create the accounts and their INBOXes through the store API."""
    import plugins.pop3.plugin as pop3
    from kernel import Kernel

    kernel = Kernel(
        data_dir=workdir / "var",
        layers=[workdir / "conf"],
        plugins=["directory", "pop3"],
        extra_plugins={"pop3": pop3},
        environ={},
    )
    rng = random.Random(1939)
    async with kernel.open_backends():
        store = kernel.store
        await store.directory.add_domain("example.org")
        inboxes = []
        for n in range(clients):
            account = await store.directory.add_account(f"bench{n}@example.org", PASSWORD)
            inbox = await store.mailboxes.by_path(account.id, "INBOX")
            assert inbox is not None
            inboxes.append((account.id, inbox.id))
        payloads = [make_message(rng, i, size) for i in range(messages)]
        jobs = iter([(a, i, p) for (a, i) in inboxes for p in payloads])
        started = time.perf_counter()

        async def writer() -> None:
            for account, inbox, raw in jobs:
                await store.emails.append(account, raw, [inbox])

        async with trio.open_nursery() as nursery:
            for _ in range(50):
                nursery.start_soon(writer)
        total = clients * messages
        seconds = time.perf_counter() - started
        print(f"filled {clients} INBOXes with {messages:,} messages of ~{size:,} bytes", end="")
        print(f" ({total:,} appends in {seconds:.1f} s)", flush=True)


def start_server(workdir: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(workdir / "conf"), str(workdir / "var")],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stderr is not None
    pattern = re.compile(r"event=listening listener=pop3 .*address=[^ ]*:(\d+)")
    port = 0
    for line in proc.stderr:
        if match := pattern.search(line):
            port = int(match.group(1))
            break
    if not port:
        raise RuntimeError("the server did not start")
    # Keep draining the server's log (lines per connection) so it never blocks.
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    return proc, port


def self_hosted(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "conf").mkdir()
        (workdir / "conf" / "bench.yaml").write_text(CONFIG)
        trio.run(fill, workdir, args.clients, args.messages, args.size)
        proc, port = start_server(workdir)
        try:
            generator = [sys.executable, __file__, "--host", "127.0.0.1", "--port", str(port)]
            generator += ["--user", "bench{n}@example.org", "--password", PASSWORD]
            generator += ["--clients", str(args.clients)]
            return subprocess.run(generator, check=False).returncode
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--messages", type=int, default=1000, help="per client (self-hosted)")
    parser.add_argument("--size", type=int, default=4096, help="message size (self-hosted)")
    parser.add_argument("--host", help="a running server: run only the load generator")
    parser.add_argument("--port", type=int, default=110)
    parser.add_argument("--user", default="bench{n}@example.org")
    parser.add_argument("--password", default=PASSWORD)
    args = parser.parse_args()
    if args.host:
        trio.run(load, args.host, args.port, args.user, args.password, args.clients)
        return 0
    return self_hosted(args)


if __name__ == "__main__":
    sys.exit(main())
