"""Hot reload: only a fully valid configuration is swapped in; live sessions survive."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import trio

from kernel.testing import listener_address, run_kernel, write_config
from kernel.testing.echo import plugin as echo


class LineClient:
    """A tiny line client over a trio stream."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = b""

    @classmethod
    async def connect(cls, address: tuple[str, int]) -> LineClient:
        client = cls(await trio.open_tcp_stream(*address))
        assert (await client.readline()).startswith(b"+OK")
        return client

    async def readline(self) -> bytes:
        while b"\n" not in self.buffer:
            data = await self.stream.receive_some(4096)
            if not data:
                return b""
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"

    async def command(self, line: bytes) -> bytes:
        await self.stream.send_all(line + b"\r\n")
        return await self.readline()


def echo_config(bind: str, **extra: object) -> dict[str, object]:
    return {"listeners": {"e": {"bind": bind, "protocol": "echo"}}, **extra}


async def test_reload_moves_listener_without_dropping_live_session(tmp_path: Path) -> None:
    async with run_kernel(tmp_path, plugins={"echo": echo}, config=echo_config("127.0.0.1:0")) as k:
        old_address = listener_address(k, "e")
        session = await LineClient.connect(old_address)

        write_config(tmp_path / "conf", echo_config("127.0.0.2:0"))
        result = await k.reload()
        assert result.ok, result.diagnostics
        new_address = listener_address(k, "e")
        assert new_address[0] == "127.0.0.2"

        # The session on the old port still works...
        assert await session.command(b"ECHO still here") == b"+OK still here\r\n"
        # ...the new port accepts new sessions...
        other = await LineClient.connect(new_address)
        assert await other.command(b"ECHO new") == b"+OK new\r\n"
        # ...and the old port no longer does.
        with pytest.raises(OSError):
            await trio.open_tcp_stream(*old_address)
        assert await session.command(b"QUIT") == b"+OK bye\r\n"
        assert await session.readline() == b""
        await other.stream.aclose()
        await session.stream.aclose()


async def test_reload_with_broken_file_keeps_old_config_serving(tmp_path: Path) -> None:
    async with run_kernel(tmp_path, plugins={"echo": echo}, config=echo_config("127.0.0.1:0")) as k:
        before = k.config
        address = listener_address(k, "e")
        bad = tmp_path / "conf" / "60-bad.yaml"
        bad.write_text("server:\n  max_connections: lots\n  colour: blue\n")
        result = await k.reload()
        assert not result.ok
        rendered = [str(d) for d in result.diagnostics]
        assert f"{bad}:2: server.max_connections: expected integer, got str" in rendered
        assert f"{bad}:3: server.colour: unknown key" in rendered
        assert k.config is before
        client = await LineClient.connect(address)
        assert await client.command(b"ECHO ok") == b"+OK ok\r\n"
        await client.stream.aclose()
        assert b'stalwart_config_reloads_total{result="refused"} 1.0' in k.metrics.render()


async def test_reload_refused_when_new_address_cannot_bind(tmp_path: Path) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    taken = blocker.getsockname()[1]
    try:
        async with run_kernel(
            tmp_path, plugins={"echo": echo}, config=echo_config("127.0.0.1:0")
        ) as k:
            address = listener_address(k, "e")
            write_config(
                tmp_path / "conf",
                {
                    "listeners": {
                        "e": {"bind": "127.0.0.3:0", "protocol": "echo"},
                        "f": {"bind": f"127.0.0.1:{taken}", "protocol": "echo"},
                    }
                },
            )
            result = await k.reload()
            assert not result.ok
            assert any("listeners.f.bind: cannot bind" in str(d) for d in result.diagnostics)
            # Nothing changed: e was not moved (its new socket was closed again).
            assert listener_address(k, "e") == address
            assert "f" not in k.listeners
            client = await LineClient.connect(address)
            await client.stream.aclose()
    finally:
        blocker.close()


async def test_reload_removes_listener_with_null(tmp_path: Path) -> None:
    async with run_kernel(tmp_path, plugins={"echo": echo}, config=echo_config("127.0.0.1:0")) as k:
        address = listener_address(k, "e")
        (tmp_path / "conf" / "60-remove.yaml").write_text("listeners:\n  e: null\n")
        assert (await k.reload()).ok
        assert "e" not in k.listeners
        with pytest.raises(OSError):
            await trio.open_tcp_stream(*address)


async def test_reload_changes_limits_in_place(tmp_path: Path) -> None:
    async with run_kernel(tmp_path, plugins={"echo": echo}, config=echo_config("127.0.0.1:0")) as k:
        address = listener_address(k, "e")
        limited = echo_config("127.0.0.1:0")
        limited["listeners"]["e"]["limits"] = {"max_connections_per_ip": 1}  # type: ignore[index]
        write_config(tmp_path / "conf", limited)
        assert (await k.reload()).ok
        assert listener_address(k, "e") == address  # same sockets, new limits
        first = await LineClient.connect(address)
        second = await trio.open_tcp_stream(*address)
        assert await second.receive_some(100) == b"-ERR too many connections\r\n"
        await second.aclose()
        await first.stream.aclose()


async def test_reload_on_file_change_when_watching(tmp_path: Path) -> None:
    config = echo_config("127.0.0.1:0", config={"watch": True, "poll_interval": "20ms"})
    async with run_kernel(tmp_path, plugins={"echo": echo}, config=config) as k:
        before = k.config
        (tmp_path / "conf" / "60-new.yaml").write_text("server: {shutdown_timeout: 7s}\n")
        with trio.fail_after(10):
            while k.config is before:
                await trio.sleep(0.01)
        assert k.config["server"]["shutdown_timeout"] == 7.0


async def test_reload_on_included_file_change(tmp_path: Path) -> None:
    secret = tmp_path / "hostname.txt"
    secret.write_text("one.example")
    config = echo_config(
        "127.0.0.1:0",
        config={"watch": True, "poll_interval": "20ms"},
        server={"hostname": f"${{file:{secret}}}"},
    )
    async with run_kernel(tmp_path, plugins={"echo": echo}, config=config) as k:
        assert k.hostname == "one.example"
        secret.write_text("two.example.org")
        with trio.fail_after(10):
            while k.hostname != "two.example.org":
                await trio.sleep(0.01)
