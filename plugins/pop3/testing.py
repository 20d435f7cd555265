"""A small POP3 transcript client for tests and debugging (STYLE.md §1.10).

:class:`Pop3Transcript` speaks POP3 over any trio stream: send a command,
read its status line, read a multi-line body (un-stuffed), or send raw bytes
to test framing. ``await t.transact("DELE 1", expect="ok")`` fails the test
on any other answer. Python's ``poplib`` is the client of record for
end-to-end tests; this one is for what poplib cannot do (pipelining, raw
bytes, broken lines, reading what the server sends unasked).
"""

from __future__ import annotations

from typing import Literal, final

import trio

from kernel.testing import read_until_closed

__all__ = ["Pop3Transcript"]


@final
class Pop3Transcript:
    """A line-oriented POP3 client over ``stream``."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self._buffer = bytearray()

    async def line(self) -> bytes:
        """The next line with its CRLF.

        Raises:
            EOFError: the server closed first.
        """
        while (end := self._buffer.find(b"\r\n")) < 0:
            data = await self.stream.receive_some(65536)
            if not data:
                raise EOFError(f"closed; unterminated: {bytes(self._buffer)!r}")
            self._buffer += data
        out = bytes(self._buffer[: end + 2])
        del self._buffer[: end + 2]
        return out

    async def send(self, data: bytes) -> None:
        """Send raw bytes."""
        await self.stream.send_all(data)

    async def command(self, text: str | bytes) -> bytes:
        """Send one command line; return the status line."""
        data = text.encode() if isinstance(text, str) else text
        await self.send(data + b"\r\n")
        return await self.line()

    async def multiline(self) -> list[bytes]:
        """The lines of a multi-line body, byte-stuffing removed, without the ``.``."""
        lines = []
        while (line := await self.line()) != b".\r\n":
            lines.append(line[1:-2] if line.startswith(b".") else line[:-2])
        return lines

    async def transact(
        self, text: str | bytes, expect: Literal["ok", "err"] = "ok", *, code: str | None = None
    ) -> bytes:
        """Run a command and check its status (and response code, for ``-ERR [CODE]``)."""
        status = await self.command(text)
        prefix = b"+OK" if expect == "ok" else b"-ERR"
        assert status.startswith(prefix), f"{text!r}: expected {expect}, got {status!r}"
        if code is not None:
            assert status.startswith(prefix + b" [" + code.encode() + b"]"), status
        return status

    async def until_closed(self) -> bytes:
        """Everything the server sends until it closes the connection."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data + await read_until_closed(self.stream)
