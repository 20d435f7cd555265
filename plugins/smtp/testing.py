"""A minimal raw SMTP client for tests and transcripts (STYLE.md §1.2 ``testing.py``).

smtplib covers well-behaved clients; hostile input (bare LF, early talk,
pipelined garbage, split writes) needs byte-level control, which this gives::

    async with await SmtpClient.connect("127.0.0.1", port) as client:
        await client.expect(220)
        await client.transact("EHLO client.example", 250)
        await client.send(b"MAIL FROM:<a@example.org>\\r\\n")
        code, lines = await client.reply()

Every read is bounded by ``timeout`` seconds (a safety net, never a timing
assumption): a test that would hang fails instead.
"""

from __future__ import annotations

import ssl
from types import TracebackType
from typing import final

import trio

from kernel.testing import read_until_closed

__all__ = ["SmtpClient"]


@final
class SmtpClient:
    """Line-level SMTP over any trio stream."""

    def __init__(self, stream: trio.abc.Stream, *, timeout: float = 10.0) -> None:
        self.stream = stream
        self.timeout = timeout
        self._buffer = bytearray()

    @classmethod
    async def connect(cls, host: str, port: int, *, timeout: float = 10.0) -> SmtpClient:
        """Open a TCP connection."""
        return cls(await trio.open_tcp_stream(host, port), timeout=timeout)

    async def __aenter__(self) -> SmtpClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await trio.aclose_forcefully(self.stream)

    async def send(self, data: bytes) -> None:
        """Send raw bytes."""
        await self.stream.send_all(data)

    async def _line(self) -> bytes:
        with trio.fail_after(self.timeout):
            while b"\r\n" not in self._buffer:
                data = await self.stream.receive_some(65536)
                if not data:
                    raise EOFError(f"connection closed; buffered {bytes(self._buffer)!r}")
                self._buffer += data
        end = self._buffer.index(b"\r\n")
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    async def reply(self) -> tuple[int, list[str]]:
        """One complete (possibly multi-line) reply: its code and text lines."""
        lines: list[str] = []
        while True:
            line = await self._line()
            lines.append(line[4:].decode("utf-8", "replace"))
            if line[3:4] != b"-":
                return int(line[:3]), lines

    async def expect(self, code: int) -> list[str]:
        """Read a reply and check its code."""
        got, lines = await self.reply()
        assert got == code, f"expected {code}, got {got} {lines}"
        return lines

    async def transact(self, command: str | bytes, code: int) -> list[str]:
        """Send one command line (CRLF added) and check the reply's code."""
        data = command.encode() if isinstance(command, str) else command
        await self.send(data + b"\r\n")
        return await self.expect(code)

    async def until_closed(self) -> bytes:
        """Everything received until the server closes the connection."""
        out = bytes(self._buffer)
        self._buffer.clear()
        with trio.fail_after(self.timeout):
            return out + await read_until_closed(self.stream)

    async def starttls(self, context: ssl.SSLContext, server_hostname: str = "localhost") -> None:
        """Wrap the stream in TLS (after the server's 220 to STARTTLS)."""
        assert not self._buffer, "bytes after the STARTTLS reply"
        tls = trio.SSLStream(self.stream, context, server_hostname=server_hostname)
        with trio.fail_after(self.timeout):
            await tls.do_handshake()
        self.stream = tls
