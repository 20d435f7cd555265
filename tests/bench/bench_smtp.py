"""SMTP load generator: messages/s and per-message latency of local delivery.

Each client opens one connection, sends EHLO, then loops ``MAIL``/``RCPT``/``DATA``
(pipelined when the server offers PIPELINING, RFC 2920) and waits for the 250 that
acknowledges the message; the latency of a message is from its ``MAIL`` to that 250.
It runs 1 KB and 100 KB messages at each concurrency in ``--clients``.

Without ``--host`` it starts our server (``stalwart-kernel`` with the ``smtp``
plugin, an ``mta`` listener) as a child process in a temporary directory and
delivers to a local account; with ``--host/--port/--rcpt`` it measures any SMTP
server, e.g. Postfix from Debian's packages delivering to a local mailbox.

Usage: ``python tests/bench/bench_smtp.py [--clients 1,20] [--seconds 10]
[--sizes 1024,102400] [--host H --port P --rcpt user@domain]``. It reports numbers
and asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio
from _child_server import start_server as start_child

RCPT = "bench@example.org"

CONFIG = """
config: {watch: false}
listeners:
  smtp: {bind: 127.0.0.1:0, protocol: smtp, tls: none, role: mta}
"""


def start_server(workdir: Path) -> tuple[subprocess.Popen[str], int]:
    return start_child(workdir, CONFIG, ["directory", "smtp"], "smtp", RCPT, "bench-password")


def message(size: int, rcpt: str) -> bytes:
    """A message of about ``size`` bytes, already dot-stuffed and CRLF-terminated."""
    head = (
        f"From: Bench <load@bench.example>\r\nTo: <{rcpt}>\r\nSubject: load test\r\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <load@bench.example>\r\n\r\n"
    ).encode()
    line = b"The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
    body = line * max(1, (size - len(head)) // len(line))
    return head + body


class Client:
    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = bytearray()

    async def reply(self) -> bytes:
        """One (possibly multi-line) reply, all its lines."""
        lines = b""
        while True:
            end = self.buffer.find(b"\r\n")
            while end < 0:
                chunk = await self.stream.receive_some(65536)
                if not chunk:
                    raise ConnectionError("server closed the connection")
                self.buffer += chunk
                end = self.buffer.find(b"\r\n")
            line = bytes(self.buffer[: end + 2])
            del self.buffer[: end + 2]
            lines += line
            if line[3:4] != b"-":
                return lines

    async def expect(self, code: bytes) -> None:
        reply = await self.reply()
        if not reply.startswith(code):
            raise RuntimeError(f"expected {code!r}, got {reply!r}")


async def one_client(
    host: str, port: int, rcpt: str, data: bytes, deadline: float, samples: list[float]
) -> None:
    client = Client(await trio.open_tcp_stream(host, port))
    await client.expect(b"220")
    await client.stream.send_all(b"EHLO bench.example\r\n")
    ehlo = await client.reply()
    pipelining = b"PIPELINING" in ehlo.upper()
    while time.perf_counter() < deadline:
        t = time.perf_counter()
        envelope = f"MAIL FROM:<load@bench.example>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n".encode()
        if pipelining:
            await client.stream.send_all(envelope)
            for code in (b"250", b"250", b"354"):
                await client.expect(code)
        else:
            for command, code in zip(envelope.splitlines(), (b"250", b"250", b"354"), strict=True):
                await client.stream.send_all(command + b"\r\n")
                await client.expect(code)
        await client.stream.send_all(data + b".\r\n")
        await client.expect(b"250")
        samples.append(time.perf_counter() - t)
    await client.stream.send_all(b"QUIT\r\n")
    await trio.aclose_forcefully(client.stream)


def report(name: str, samples: list[float], elapsed: float) -> None:
    if not samples:
        print(f"  {name:<24} no samples")
        return
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    rate = len(samples) / elapsed
    print(f"  {name:<24} {rate:>8.0f} msg/s   p50 {p50:8.2f} ms   p99 {p99:8.2f} ms")


async def bench(args: argparse.Namespace, host: str, port: int) -> None:
    print(f"server {host}:{port}, recipient {args.rcpt}")
    for size in args.sizes:
        data = message(size, args.rcpt)
        for clients in args.clients:
            samples: list[float] = []
            start = time.perf_counter()
            deadline = start + args.seconds
            async with trio.open_nursery() as nursery:
                for _ in range(clients):
                    nursery.start_soon(one_client, host, port, args.rcpt, data, deadline, samples)
            report(f"{size // 1024} KB x {clients} clients", samples, time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,20", type=lambda s: [int(n) for n in s.split(",")])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--sizes", default="1024,102400", type=lambda s: [int(n) for n in s.split(",")]
    )
    parser.add_argument("--host")
    parser.add_argument("--port", type=int, default=25)
    parser.add_argument("--rcpt", default=RCPT)
    args = parser.parse_args()
    if args.host:
        trio.run(bench, args, args.host, args.port)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_server(Path(tmp))
        try:
            trio.run(bench, args, "127.0.0.1", port)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
