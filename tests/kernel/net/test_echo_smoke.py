"""Smoke test: a test kernel serves the example echo protocol over a real socket."""

from __future__ import annotations

from pathlib import Path

import trio

from kernel.testing import listener_address, run_kernel
from kernel.testing.echo import plugin as echo


async def test_echo_serves_over_real_socket(tmp_path: Path) -> None:
    config = {"listeners": {"e": {"bind": "127.0.0.1:0", "protocol": "echo"}}}
    async with run_kernel(tmp_path, plugins={"echo": echo}, config=config) as kernel:
        host, port = listener_address(kernel, "e")
        stream = await trio.open_tcp_stream(host, port)
        assert await stream.receive_some(100) == b"+OK e ready\r\n"
        await stream.send_all(b"ECHO hi\r\nQUIT\r\n")
        data = b""
        while b"bye" not in data:
            data += await stream.receive_some(100)
        assert data == b"+OK hi\r\n+OK bye\r\n"
        await stream.aclose()
