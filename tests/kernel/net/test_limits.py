"""End-to-end connection limits and idle timeouts on real loopback sockets.

Refused connections get the protocol's busy reply and are closed; a slot is freed when
a session ends, which the tests observe through ``kernel.connection_counter`` (polling a
condition under ``fail_after``, never sleeping for a fixed time). Also the hooks a
protocol plugin and an observer plugin implement: ``stalwart_register_protocols`` and
``stalwart_connection_closed``.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import trio

from kernel import hookimpl
from kernel.lifecycle import Kernel
from kernel.net.connection import Connection
from kernel.specs import ProtocolSpec
from kernel.testing import listener_address, read_until_closed, run_kernel
from kernel.testing.echo import plugin as echo

TIMEOUT = 10
BUSY = b"-ERR too many connections\r\n"


def _listener(**options: Any) -> dict[str, Any]:
    return {"bind": "127.0.0.1:0", "protocol": "echo", **options}


async def _connect(kernel: Kernel, name: str = "e") -> trio.SocketStream:
    return await trio.open_tcp_stream(*listener_address(kernel, name))


async def _greeted(kernel: Kernel, name: str = "e") -> trio.SocketStream:
    """A connection that got past every limit (its greeting arrived)."""
    stream = await _connect(kernel, name)
    assert await _line(stream) == f"+OK {name} ready\r\n".encode()
    return stream


async def _line(stream: trio.SocketStream) -> bytes:
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = await stream.receive_some(1)
        assert chunk, f"EOF after {data!r}"
        data += chunk
    return data


async def _refused(kernel: Kernel, name: str = "e") -> bytes:
    stream = await _connect(kernel, name)
    async with stream:
        return await read_until_closed(stream)


async def _wait_count(kernel: Kernel, key: Hashable, expected: int) -> None:
    """Wait until the kernel counts ``expected`` connections under ``key``."""
    while kernel.connection_counter.count(key) != expected:
        await trio.sleep(0.01)


async def test_limits_max_connections_per_ip(tmp_path: Path) -> None:
    config = {"listeners": {"e": _listener(limits={"max_connections_per_ip": 2})}}
    key = ("ip", "e", "127.0.0.1")
    with trio.fail_after(TIMEOUT):
        async with run_kernel(tmp_path, plugins={"echo": echo}, config=config) as kernel:
            first = await _greeted(kernel)
            second = await _greeted(kernel)
            assert kernel.connection_counter.count(key) == 2
            assert await _refused(kernel) == BUSY
            await first.aclose()
            await _wait_count(kernel, key, 1)
            third = await _greeted(kernel)
            await third.send_all(b"WHO\r\n")
            assert await _line(third) == b"+OK 127.0.0.1 plain\r\n"
            assert await _refused(kernel) == BUSY
            await second.aclose()
            await third.aclose()
            await _wait_count(kernel, key, 0)
            metrics = kernel.metrics.render().decode()
    assert "stalwart_connections_refused_total" in metrics
    assert 'stalwart_connections_refused_total{limit="ip",listener="e"} 2.0' in metrics


async def test_limits_listener_max_connections(tmp_path: Path) -> None:
    config = {
        "listeners": {
            "e": _listener(limits={"max_connections": 1}),
            "other": _listener(),
        }
    }
    key = ("listener", "e")
    with trio.fail_after(TIMEOUT):
        async with run_kernel(tmp_path, plugins={"echo": echo}, config=config) as kernel:
            first = await _greeted(kernel)
            assert await _refused(kernel) == BUSY
            # The limit is per listener: another listener still accepts.
            other = await _greeted(kernel, "other")
            await first.send_all(b"QUIT\r\n")
            assert await read_until_closed(first) == b"+OK bye\r\n"
            await _wait_count(kernel, key, 0)
            second = await _greeted(kernel)
            for stream in (first, second, other):
                await stream.aclose()
            metrics = kernel.metrics.render().decode()
    assert 'stalwart_connections_refused_total{limit="listener",listener="e"} 1.0' in metrics


async def test_limits_server_max_connections_spans_listeners(tmp_path: Path) -> None:
    config = {
        "server": {"max_connections": 2},
        "listeners": {"a": _listener(), "b": _listener()},
    }
    with trio.fail_after(TIMEOUT):
        async with run_kernel(tmp_path, plugins={"echo": echo}, config=config) as kernel:
            on_a = await _greeted(kernel, "a")
            on_b = await _greeted(kernel, "b")
            assert await _refused(kernel, "a") == BUSY
            assert await _refused(kernel, "b") == BUSY
            await on_a.aclose()
            await _wait_count(kernel, ("server",), 1)
            again = await _greeted(kernel, "a")
            await on_b.aclose()
            await again.aclose()
            metrics = kernel.metrics.render().decode()
    assert 'stalwart_connections_refused_total{limit="server",listener="a"} 1.0' in metrics


async def test_limits_idle_timeout_says_goodbye_and_closes(tmp_path: Path) -> None:
    config = {"listeners": {"e": _listener(limits={"idle_timeout": "200ms"})}}
    with trio.fail_after(TIMEOUT):
        async with run_kernel(tmp_path, plugins={"echo": echo}, config=config) as kernel:
            stream = await _greeted(kernel)
            async with stream:
                # Activity keeps the session alive; then silence ends it.
                await stream.send_all(b"ECHO still here\r\n")
                assert await _line(stream) == b"+OK still here\r\n"
                assert await read_until_closed(stream) == b"-ERR idle timeout\r\n"
            await _wait_count(kernel, ("ip", "e", "127.0.0.1"), 0)


class _ClosedRecorder:
    """Records every ``stalwart_connection_closed`` call."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.changed = trio.Event()

    @hookimpl
    def stalwart_connection_closed(
        self,
        kernel: Kernel,
        listener: str,
        protocol: str,
        remote: str,
        duration: float,
        error: str | None,
    ) -> None:
        self.calls.append(
            {
                "kernel": kernel,
                "listener": listener,
                "protocol": protocol,
                "remote": remote,
                "duration": duration,
                "error": error,
            }
        )
        self.changed.set()

    async def wait_calls(self, count: int) -> None:
        while len(self.calls) < count:
            self.changed = trio.Event()
            await self.changed.wait()


async def test_hook_stalwart_connection_closed(tmp_path: Path) -> None:
    recorder = _ClosedRecorder()
    config = {
        "listeners": {
            "e": _listener(limits={"max_connections_per_ip": 1}),
            "slow": _listener(limits={"idle_timeout": "200ms"}),
        }
    }
    plugins = {"echo": echo, "recorder": recorder}
    with trio.fail_after(TIMEOUT):
        async with run_kernel(tmp_path, plugins=plugins, config=config) as kernel:
            stream = await _greeted(kernel)
            async with stream:
                await stream.send_all(b"QUIT\r\n")
                assert await read_until_closed(stream) == b"+OK bye\r\n"
            await recorder.wait_calls(1)
            quit_call = recorder.calls[0]
            assert quit_call["kernel"] is kernel
            assert {k: quit_call[k] for k in ("listener", "protocol", "remote", "error")} == {
                "listener": "e",
                "protocol": "echo",
                "remote": "127.0.0.1",
                "error": None,
            }
            assert quit_call["duration"] >= 0

            idle = await _greeted(kernel, "slow")
            async with idle:
                assert await read_until_closed(idle) == b"-ERR idle timeout\r\n"
            await recorder.wait_calls(2)
            assert recorder.calls[1]["listener"] == "slow"
            assert recorder.calls[1]["error"] == "idle-timeout"
            assert recorder.calls[1]["duration"] >= 0.2

            held = await _greeted(kernel)
            assert await _refused(kernel) == BUSY
            await recorder.wait_calls(3)
            assert recorder.calls[2]["listener"] == "e"
            assert recorder.calls[2]["error"] == "limit"
            await held.aclose()
            await recorder.wait_calls(4)
            assert recorder.calls[3]["error"] is None  # the client simply went away


class _HelloPlugin:
    """A throwaway protocol: greets with the client address and hangs up."""

    @staticmethod
    async def serve(conn: Connection) -> None:
        await conn.send_all(f"hello {conn.remote[0]} on {conn.listener.name}\r\n".encode())

    @hookimpl
    def stalwart_register_protocols(self) -> list[ProtocolSpec]:
        return [ProtocolSpec(name="hello", serve=self.serve, tls_modes=frozenset({"none"}))]


async def test_hook_stalwart_register_protocols(tmp_path: Path) -> None:
    config = {"listeners": {"h": {"bind": "127.0.0.1:0", "protocol": "hello"}}}
    with trio.fail_after(TIMEOUT):
        async with run_kernel(tmp_path, plugins={"hello": _HelloPlugin()}, config=config) as kernel:
            assert kernel.listeners["h"].protocol.name == "hello"
            stream = await _connect(kernel, "h")
            async with stream:
                assert await read_until_closed(stream) == b"hello 127.0.0.1 on h\r\n"
