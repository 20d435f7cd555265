"""A minimal IMAP client for transcripts in tests (STYLE.md §1.10, after mox's tc.transactf).

Usage::

    async with await Transcript.connect(kernel) as t:
        await t.transact("LOGIN ann@example.org secret")
        res = await t.transact("SELECT INBOX")
        assert b"* 0 EXISTS" in res.untagged
        await t.transact("FETCH 99 FLAGS", expect="bad")

Implementation notes: commands are tagged ``t1``, ``t2``... in order. A command may
hold synchronizing literals written as ``{n}\\r\\n`` followed by the octets: the
helper sends up to each literal, waits for the ``+`` continuation, then goes on.
Responses are read whole, literals included (a line ending in ``{n}`` continues after
``n`` octets). Every read is bounded by ``timeout`` so a broken server fails the test
instead of hanging it.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar, final

import trio

from kernel.lifecycle import Kernel
from kernel.testing import listener_address, run_kernel

__all__ = [
    "PASSWORD",
    "USER",
    "Result",
    "Transcript",
    "imap_server",
    "imaplib_session",
    "message",
]

T = TypeVar("T")

_LITERAL = re.compile(rb"~?\{(\d+)\+?\}\r\n")
_TAIL_LITERAL = re.compile(rb"~?\{(\d+)\+?\}$")


@final
@dataclass
class Result:
    """The responses to one command."""

    tagged: bytes
    untagged: list[bytes] = field(default_factory=list)
    continuations: list[bytes] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``OK``, ``NO`` or ``BAD``."""
        return self.tagged.split(b" ", 2)[1].decode()

    def lines(self, prefix: bytes) -> list[bytes]:
        """The untagged responses starting with ``prefix`` (after ``* ``)."""
        return [u for u in self.untagged if u[2:].startswith(prefix)]


@final
class Transcript:
    """A scripted IMAP client over one stream."""

    def __init__(self, stream: trio.abc.Stream, *, timeout: float = 10.0) -> None:
        self.stream = stream
        self.timeout = timeout
        self._buffer = bytearray()
        self._tag = 0
        self.greeting = b""

    @classmethod
    async def connect(cls, kernel: Kernel, listener: str = "imap") -> Transcript:
        """Open a TCP connection to ``listener`` and read the greeting."""
        host, port = listener_address(kernel, listener)
        stream = await trio.open_tcp_stream(host, port)
        transcript = cls(stream)
        transcript.greeting = await transcript.read_response()
        return transcript

    async def __aenter__(self) -> Transcript:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stream.aclose()

    async def _fill(self) -> None:
        with trio.fail_after(self.timeout):
            data = await self.stream.receive_some(65536)
        if not data:
            raise EOFError("the server closed the connection")
        self._buffer += data

    async def read_line(self) -> bytes:
        """One CRLF-terminated line, without the CRLF."""
        while (end := self._buffer.find(b"\r\n")) < 0:
            await self._fill()
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    async def read_exactly(self, size: int) -> bytes:
        """``size`` octets."""
        while len(self._buffer) < size:
            await self._fill()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def read_response(self) -> bytes:
        """One response with its literals inlined (``{n}\\r\\n`` kept before each)."""
        out = b""
        while True:
            line = await self.read_line()
            out += line
            match = _TAIL_LITERAL.search(line)
            if match is None:
                return out
            out += b"\r\n" + await self.read_exactly(int(match.group(1)))

    async def send(self, data: bytes) -> None:
        """Send raw bytes."""
        await self.stream.send_all(data)

    def next_tag(self) -> str:
        """The tag the next :meth:`transact` uses."""
        return f"t{self._tag + 1}"

    async def transact(
        self,
        command: str | bytes,
        expect: Literal["ok", "no", "bad", None] = "ok",
    ) -> Result:
        """Send ``command`` tagged, read until its tagged response; check the status."""
        self._tag += 1
        tag = f"t{self._tag}".encode()
        data = command.encode() if isinstance(command, str) else command
        data = tag + b" " + data + b"\r\n"
        result = Result(tagged=b"")
        position = 0
        for match in _LITERAL.finditer(data):
            synchronizing = not match.group(0).endswith(b"+}\r\n")
            if not synchronizing:
                continue
            await self.send(data[position : match.end()])
            position = match.end()
            while True:
                response = await self.read_response()
                if response.startswith(b"+"):
                    result.continuations.append(response)
                    break
                if response.startswith(tag + b" "):
                    result.tagged = response
                    return self._check(result, expect)
                result.untagged.append(response)
        await self.send(data[position:])
        while True:
            response = await self.read_response()
            if response.startswith(tag + b" "):
                result.tagged = response
                return self._check(result, expect)
            if response.startswith(b"+"):
                result.continuations.append(response)
            else:
                result.untagged.append(response)

    @staticmethod
    def _check(result: Result, expect: str | None) -> Result:
        if expect is not None and result.status != expect.upper():
            raise AssertionError(
                f"expected {expect.upper()}, got {result.tagged!r} after {result.untagged!r}"
            )
        return result


#: The account :func:`imap_server` creates, and its password.
USER = "ann@example.org"
PASSWORD = "secret-pw"


@asynccontextmanager
async def imap_server(
    tmp_path: Path,
    *,
    imap: dict[str, Any] | None = None,
    users: tuple[str, ...] = (USER,),
    plaintext: bool = True,
    tls: str = "none",
) -> AsyncIterator[Kernel]:
    """A kernel serving IMAP on ``127.0.0.1:0`` (listener ``imap``), with the domain
    ``example.org`` and ``users`` (password :data:`PASSWORD`).

    Args:
        imap: the ``imap`` configuration section, if not the defaults.
        users: accounts to create.
        plaintext: ``auth.allow_plaintext_without_tls``.
        tls: the listener's ``tls`` mode.
    """
    import plugins.imap.plugin

    config: dict[str, Any] = {
        "auth": {"allow_plaintext_without_tls": plaintext},
        "listeners": {"imap": {"bind": "127.0.0.1:0", "protocol": "imap", "tls": tls}},
    }
    if imap:
        config["imap"] = imap
    async with run_kernel(
        tmp_path,
        plugins={"imap": plugins.imap.plugin},
        names=["directory", "imap"],
        config=config,
    ) as kernel:
        await kernel.store.directory.add_domain("example.org")
        for user in users:
            await kernel.store.directory.add_account(user, PASSWORD)
        yield kernel


def message(
    subject: str = "hello", body: str = "Hi there.", sender: str = "bob@example.net"
) -> bytes:
    """A small RFC 5322 message for tests."""
    return (
        f"From: Bob <{sender}>\r\nTo: {USER}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 4 Mar 2024 10:00:00 +0000\r\nMessage-ID: <{subject.replace(' ', '.')}@x>\r\n"
        f"\r\n{body}\r\n"
    ).encode()


async def imaplib_session(kernel: Kernel, fn: Callable[[imaplib.IMAP4], T]) -> T:
    """Run ``fn`` with a logged-in :mod:`imaplib` client in a worker thread."""
    host, port = listener_address(kernel, "imap")

    def run() -> T:
        client = imaplib.IMAP4(host, port, timeout=15)
        try:
            client.login(USER, PASSWORD)
            return fn(client)
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    return await trio.to_thread.run_sync(run)
