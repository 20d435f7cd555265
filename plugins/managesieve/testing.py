"""A small ManageSieve client for tests and debugging (STYLE.md §1.10).

:class:`SieveClient` speaks ManageSieve over any trio stream: it reads the
server's data lines (strings quoted or as ``{n}`` literals, atoms) up to the
completion response, and builds commands with ``{n+}`` literals. ``await
client.transact("LISTSCRIPTS")`` fails the test on any answer but OK.
``sieve-connect`` is the client of record for end-to-end tests; this one is
for what it cannot do (raw bytes, hostile input, pipelining).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import final

import trio

from kernel.testing import read_until_closed

__all__ = ["Reply", "SieveClient", "arg"]


def arg(value: str | bytes) -> bytes:
    """A non-synchronising literal for ``value`` (safe for any octets)."""
    data = value.encode() if isinstance(value, str) else value
    return b"{%d+}\r\n" % len(data) + data


@final
@dataclass
class Reply:
    """A completion response and the data lines before it.

    Attributes:
        status: ``OK``, ``NO`` or ``BYE``.
        code: the response code (without its argument), or None.
        code_arg: the code's string argument (TAG, SASL), or None.
        text: the human-readable text, or None.
        lines: the data lines, each a list of tokens (bytes for strings, str for atoms).
    """

    status: str
    code: str | None = None
    code_arg: bytes | None = None
    text: str | None = None
    lines: list[list[bytes | str]] = field(default_factory=list)


@final
class SieveClient:
    """A ManageSieve client over ``stream``."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self._buffer = bytearray()

    async def _fill(self) -> None:
        data = await self.stream.receive_some(65536)
        if not data:
            raise EOFError(f"closed; unterminated: {bytes(self._buffer)!r}")
        self._buffer += data

    async def _take(self, n: int) -> bytes:
        while len(self._buffer) < n:
            await self._fill()
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out

    async def _line(self) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            await self._fill()
        out = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return out

    async def tokens(self) -> list[bytes | str | list[bytes | str]]:
        """One server line's tokens; a parenthesised response code is a nested list."""
        out: list[bytes | str | list[bytes | str]] = []
        stack: list[list[bytes | str | list[bytes | str]]] = [out]
        line = await self._line()
        i = 0
        while True:
            if i >= len(line):
                return out
            ch = line[i : i + 1]
            if ch == b" ":
                i += 1
            elif ch == b"(":
                inner: list[bytes | str | list[bytes | str]] = []
                stack[-1].append(inner)  # type: ignore[arg-type]
                stack.append(inner)
                i += 1
            elif ch == b")":
                stack.pop()
                i += 1
            elif ch == b'"':
                j, value = i + 1, bytearray()
                while line[j : j + 1] != b'"':
                    if line[j : j + 1] == b"\\":
                        j += 1
                    value += line[j : j + 1]
                    j += 1
                stack[-1].append(bytes(value))
                i = j + 1
            elif ch == b"{" and line.endswith(b"}"):
                size = int(line[i + 1 : -1].rstrip(b"+"))
                stack[-1].append(await self._take(size))
                line, i = await self._line(), 0
            else:
                j = i
                while j < len(line) and line[j : j + 1] not in b" ()":
                    j += 1
                stack[-1].append(line[i:j].decode())
                i = j

    async def response(self) -> Reply:
        """Data lines up to and including the completion response."""
        lines: list[list[bytes | str]] = []
        while True:
            tokens = await self.tokens()
            first = tokens[0] if tokens else None
            if isinstance(first, str) and first.upper() in ("OK", "NO", "BYE"):
                reply = Reply(first.upper(), lines=lines)
                for token in tokens[1:]:
                    if isinstance(token, list):
                        reply.code = str(token[0])
                        if len(token) > 1 and isinstance(token[1], bytes):
                            reply.code_arg = token[1]
                    elif isinstance(token, bytes):
                        reply.text = token.decode()
                return reply
            lines.append([t for t in tokens if not isinstance(t, list)])

    async def send(self, data: bytes) -> None:
        """Send raw bytes."""
        await self.stream.send_all(data)

    async def command(self, command: str | bytes) -> Reply:
        """Send one command (CRLF added) and read its response."""
        data = command.encode() if isinstance(command, str) else command
        await self.send(data + b"\r\n")
        return await self.response()

    async def transact(
        self, command: str | bytes, expect: str = "OK", *, code: str | None = None
    ) -> Reply:
        """Run a command and check its status (and response code)."""
        reply = await self.command(command)
        assert reply.status == expect, f"{command!r}: expected {expect}, got {reply}"
        if code is not None:
            assert reply.code == code, f"{command!r}: expected ({code}), got {reply}"
        return reply

    async def authenticate_plain(self, user: str, password: str) -> Reply:
        """AUTHENTICATE "PLAIN" with an initial response."""
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        return await self.command(f'AUTHENTICATE "PLAIN" "{token}"')

    async def putscript(self, name: str, script: str | bytes) -> Reply:
        """PUTSCRIPT with both arguments as literals."""
        return await self.command(b"PUTSCRIPT " + arg(name) + b" " + arg(script))

    async def until_closed(self) -> bytes:
        """Everything the server sends until it closes the connection."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data + await read_until_closed(self.stream)
