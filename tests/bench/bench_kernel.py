"""Kernel benchmark: connection setup and line round trips through the kernel's listeners.

Starts ``stalwart-kernel`` (with the example ``echo`` protocol and the built-in
HTTP listener) as a child process, then drives it from this process over
loopback with N concurrent clients, and prints throughput and p50/p99 latency
for: connect + greeting (plain and implicit TLS), ECHO round trips on an open
connection, and HTTP ``GET /healthz`` on keep-alive connections.

Usage: ``python tests/bench/bench_kernel.py [--clients 50] [--seconds 5]
[--host H --port-echo P ...]`` (with ``--external`` it benchmarks an already
running server instead of starting one). A benchmark reports numbers; it
asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
config: {watch: false}
listeners:
  http: {bind: 127.0.0.1:0, protocol: http}
  echo: {bind: 127.0.0.1:0, protocol: echo}
  echos: {bind: 127.0.0.1:0, protocol: echo, tls: implicit}
"""

# The child serves the example echo protocol through the public Kernel API.
CHILD = """
import sys
from pathlib import Path
import trio
from kernel import Kernel
from kernel.testing.echo import plugin
kernel = Kernel(data_dir=sys.argv[2], layers=[Path(sys.argv[1])], plugins=["echo"],
                extra_plugins={"echo": plugin}, handle_signals=True)
trio.run(kernel.run)
"""


def start_server(workdir: Path) -> tuple[subprocess.Popen[str], dict[str, int]]:
    conf = workdir / "conf"
    conf.mkdir()
    (conf / "bench.yaml").write_text(CONFIG)
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(conf), str(workdir / "var")],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stderr is not None
    ports: dict[str, int] = {}
    pattern = re.compile(r"event=listening listener=(\w+) .*address=[^ ]*:(\d+)")
    for line in proc.stderr:
        if match := pattern.search(line):
            ports[match.group(1)] = int(match.group(2))
        if len(ports) == 3:
            break
    # Keep draining the server's log (one line per connection) so it never blocks.
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    return proc, ports


def report(name: str, latencies: list[float], elapsed: float) -> None:
    if not latencies:
        print(f"{name:<34} no samples")
        return
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    rate = len(latencies) / elapsed
    print(f"{name:<34} {rate:>10.0f} ops/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")


async def run_clients(
    clients: int, seconds: float, one: Callable[[list[float], float], Awaitable[None]]
) -> tuple[list[float], float]:
    latencies: list[float] = []
    start = time.perf_counter()
    deadline = start + seconds
    async with trio.open_nursery() as nursery:
        for _ in range(clients):
            nursery.start_soon(one, latencies, deadline)
    return latencies, time.perf_counter() - start


async def read_until(stream: trio.abc.Stream, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = await stream.receive_some(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


async def bench(host: str, ports: dict[str, int], clients: int, seconds: float) -> None:
    tls = ssl.create_default_context()
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE

    async def connect_plain(latencies: list[float], deadline: float) -> None:
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            stream = await trio.open_tcp_stream(host, ports["echo"])
            await read_until(stream, b"\n")
            latencies.append(time.perf_counter() - t)
            await stream.aclose()

    async def connect_tls(latencies: list[float], deadline: float) -> None:
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            stream = trio.SSLStream(
                await trio.open_tcp_stream(host, ports["echos"]), tls, server_hostname="localhost"
            )
            await read_until(stream, b"\n")
            latencies.append(time.perf_counter() - t)
            await trio.aclose_forcefully(stream)

    async def echo_lines(latencies: list[float], deadline: float) -> None:
        stream = await trio.open_tcp_stream(host, ports["echo"])
        await read_until(stream, b"\n")
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            await stream.send_all(b"ECHO hello world\r\n")
            await read_until(stream, b"\n")
            latencies.append(time.perf_counter() - t)
        await stream.aclose()

    async def http_get(latencies: list[float], deadline: float) -> None:
        stream = await trio.open_tcp_stream(host, ports["http"])
        request = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            await stream.send_all(request)
            await read_until(stream, b"ok\n")
            latencies.append(time.perf_counter() - t)
        await stream.aclose()

    print(f"{clients} clients, {seconds:g}s each, server on {host}")
    for name, fn in (
        ("connect+greeting (plain)", connect_plain),
        ("connect+greeting (implicit TLS)", connect_tls),
        ("ECHO round trip (open conn)", echo_lines),
        ("HTTP GET /healthz (keep-alive)", http_get),
    ):
        latencies, elapsed = await run_clients(clients, seconds, fn)
        report(name, latencies, elapsed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--external",
        action="store_true",
        help="benchmark a running server (give --host and the three ports)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port-echo", type=int)
    parser.add_argument("--port-echos", type=int)
    parser.add_argument("--port-http", type=int)
    args = parser.parse_args()
    if args.external:
        ports = {"echo": args.port_echo, "echos": args.port_echos, "http": args.port_http}
        trio.run(bench, args.host, ports, args.clients, args.seconds)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        proc, ports = start_server(Path(tmp))
        try:
            trio.run(bench, args.host, ports, args.clients, args.seconds)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
