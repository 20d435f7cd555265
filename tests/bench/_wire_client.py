"""Minimal async IMAP and POP3 clients for the load generators (trio, no parsing beyond framing).

They only frame responses (lines, IMAP literals, POP3 multi-line bodies) and check
completion results, so the client costs little next to the server being measured and
works against any server (ours, Dovecot).
"""

from __future__ import annotations

import re
import ssl
from typing import final

import trio

__all__ = ["ImapClient", "Pop3Client", "open_stream"]

_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")


async def open_stream(host: str, port: int, *, tls: bool = False) -> trio.abc.Stream:
    """A TCP stream, wrapped in TLS without certificate checks when ``tls``."""
    stream: trio.abc.Stream = await trio.open_tcp_stream(host, port)
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        stream = trio.SSLStream(stream, context, server_hostname=host)
        await stream.do_handshake()
    return stream


class _Framed:
    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.buffer = bytearray()

    async def _fill(self) -> None:
        chunk = await self.stream.receive_some(262144)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buffer += chunk

    async def line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            await self._fill()
        line = bytes(self.buffer[: end + 2])
        del self.buffer[: end + 2]
        return line

    async def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            await self._fill()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    async def aclose(self) -> None:
        await trio.aclose_forcefully(self.stream)


@final
class ImapClient(_Framed):
    """Tagged commands with literals; ``command`` returns the untagged responses."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        super().__init__(stream)
        self._next = 0

    @classmethod
    async def connect(cls, host: str, port: int, *, tls: bool = False) -> ImapClient:
        client = cls(await open_stream(host, port, tls=tls))
        greeting = await client.line()
        if not greeting.startswith(b"* OK"):
            raise ConnectionError(f"unexpected greeting {greeting!r}")
        return client

    async def response(self) -> bytes:
        """One response, literals included."""
        out = bytearray()
        while True:
            line = await self.line()
            out += line
            match = _LITERAL.search(line)
            if match is None:
                return bytes(out)
            out += await self.exactly(int(match.group(1)))

    def _tag(self) -> bytes:
        self._next += 1
        return b"b%d" % self._next

    async def command(self, text: str | bytes, literal: bytes | None = None) -> list[bytes]:
        """Send a command (with one synchronizing literal at its end if given)."""
        tag = self._tag()
        line = text.encode() if isinstance(text, str) else text
        if literal is None:
            await self.stream.send_all(tag + b" " + line + b"\r\n")
        else:
            await self.stream.send_all(tag + b" " + line + b" {%d}\r\n" % len(literal))
            ready = await self.response()
            if not ready.startswith(b"+"):
                raise RuntimeError(f"literal refused: {ready!r}")
            await self.stream.send_all(literal + b"\r\n")
        untagged = []
        while True:
            response = await self.response()
            if response.startswith(tag + b" "):
                if not response.startswith(tag + b" OK"):
                    raise RuntimeError(f"{line[:60]!r} failed: {response!r}")
                return untagged
            untagged.append(response)

    async def idle(self) -> bytes:
        """Start IDLE; returns the tag to finish it with :meth:`done`."""
        tag = self._tag()
        await self.stream.send_all(tag + b" IDLE\r\n")
        ready = await self.response()
        if not ready.startswith(b"+"):
            raise RuntimeError(f"IDLE refused: {ready!r}")
        return tag

    async def done(self, tag: bytes) -> None:
        await self.stream.send_all(b"DONE\r\n")
        while not (await self.response()).startswith(tag + b" "):
            pass


@final
class Pop3Client(_Framed):
    """POP3 commands; ``multi`` reads a dot-terminated multi-line response."""

    @classmethod
    async def connect(cls, host: str, port: int, *, tls: bool = False) -> Pop3Client:
        client = cls(await open_stream(host, port, tls=tls))
        greeting = await client.line()
        if not greeting.startswith(b"+OK"):
            raise ConnectionError(f"unexpected greeting {greeting!r}")
        return client

    async def command(self, text: str) -> bytes:
        await self.stream.send_all(text.encode() + b"\r\n")
        reply = await self.line()
        if not reply.startswith(b"+OK"):
            raise RuntimeError(f"{text.split()[0]} failed: {reply!r}")
        return reply

    async def multi(self, text: str) -> bytes:
        await self.command(text)
        while (end := self.buffer.find(b"\r\n.\r\n")) < 0 and not self.buffer.startswith(b".\r\n"):
            await self._fill()
        if self.buffer.startswith(b".\r\n"):
            del self.buffer[:3]
            return b""
        body = bytes(self.buffer[: end + 2])
        del self.buffer[: end + 5]
        return body
