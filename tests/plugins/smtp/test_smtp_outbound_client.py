"""The SMTP client against scripted servers on real sockets: pipelining, HELO fallback,
per-recipient replies, SIZE, and hostile or broken servers."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
import trio

from plugins.smtp.outbound.client import Envelope, HostFailed, Timeouts, deliver_to_host

Script = Callable[["Peer"], Awaitable[None]]
RAW = b"Subject: t\r\n\r\n.dot\r\nbody\r\n"


class Peer:
    """The server side of one scripted connection."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = b""
        self.received: list[bytes] = []

    async def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            data = await self.stream.receive_some(65536)
            if not data:
                raise EOFError
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        self.received.append(line)
        return line

    async def until_dot(self) -> bytes:
        lines = []
        while (line := await self.line()) != b".":
            lines.append(line)
        return b"\r\n".join(lines)

    async def say(self, text: bytes) -> None:
        await self.stream.send_all(text)


@asynccontextmanager
async def scripted(script: Script) -> AsyncIterator[tuple[int, list[Peer]]]:
    peers: list[Peer] = []

    async def handler(stream: trio.SocketStream) -> None:
        peer = Peer(stream)
        peers.append(peer)
        try:
            await script(peer)
        except (EOFError, trio.BrokenResourceError):
            pass
        finally:
            await stream.aclose()

    async with trio.open_nursery() as nursery:
        serve = functools.partial(trio.serve_tcp, handler, 0, host="127.0.0.1")
        [listener] = await nursery.start(serve)
        yield listener.socket.getsockname()[1], peers
        nursery.cancel_scope.cancel()


def envelope(*recipients: str, raw: bytes = RAW) -> Envelope:
    return Envelope("a@example.org", [(r, None, None) for r in recipients], raw)


async def send(port: int, env: Envelope) -> object:
    timeouts = Timeouts(connect=5, command=5, data=5)
    return await deliver_to_host(
        "127.0.0.1", port, env, host="mx.test", helo="me.test", timeouts=timeouts
    )


async def test_smtp_outbound_client_pipelines_and_reports_per_recipient() -> None:
    async def script(peer: Peer) -> None:
        await peer.say(b"220 mx.test ESMTP\r\n")
        assert (await peer.line()).startswith(b"EHLO me.test")
        await peer.say(b"250-mx.test\r\n250-PIPELINING\r\n250 SIZE 100000\r\n")
        # Every command of the batch arrives before any reply is sent (RFC 2920 §3.1).
        batch = [await peer.line() for _ in range(4)]
        assert batch == [
            b"MAIL FROM:<a@example.org> SIZE=%d" % len(RAW),
            b"RCPT TO:<ok@x.test>",
            b"RCPT TO:<no@x.test>",
            b"DATA",
        ]
        await peer.say(b"250 ok\r\n250 ok\r\n550 5.1.1 unknown\r\n354 go\r\n")
        assert await peer.until_dot() == b"Subject: t\r\n\r\n..dot\r\nbody"
        await peer.say(b"250 2.0.0 queued as X\r\n")
        assert await peer.line() == b"QUIT"
        await peer.say(b"221 bye\r\n")

    async with scripted(script) as (port, _):
        with trio.fail_after(10):
            result = await send(port, envelope("ok@x.test", "no@x.test"))
    replies = {k: (v.code, v.enhanced) for k, v in result.replies.items()}  # type: ignore[attr-defined]
    assert replies == {"ok@x.test": (250, "2.0.0"), "no@x.test": (550, "5.1.1")}


async def test_smtp_outbound_client_helo_fallback_without_pipelining() -> None:
    async def script(peer: Peer) -> None:
        await peer.say(b"220 old server\r\n")
        await peer.line()
        await peer.say(b"500 what is EHLO\r\n")
        assert await peer.line() == b"HELO me.test"
        await peer.say(b"250 hi\r\n")
        assert await peer.line() == b"MAIL FROM:<a@example.org>"  # no SIZE: not offered
        await peer.say(b"250 ok\r\n")
        assert await peer.line() == b"RCPT TO:<r@x.test>"
        await peer.say(b"451 4.2.1 later\r\n")
        assert await peer.line() == b"RSET"  # nobody accepted: no DATA
        await peer.say(b"250 ok\r\n")
        await peer.line()
        await peer.say(b"221 bye\r\n")

    async with scripted(script) as (port, peers):
        result = await send(port, envelope("r@x.test"))
    assert result.replies["r@x.test"].transient  # type: ignore[attr-defined]
    assert b"DATA" not in peers[0].received


async def test_smtp_outbound_client_size_limit_fails_permanently() -> None:
    async def script(peer: Peer) -> None:
        await peer.say(b"220 mx\r\n")
        await peer.line()
        await peer.say(b"250-mx\r\n250 SIZE 10\r\n")
        assert await peer.line() == b"QUIT"
        await peer.say(b"221 bye\r\n")

    async with scripted(script) as (port, _):
        result = await send(port, envelope("r@x.test"))
    reply = result.replies["r@x.test"]  # type: ignore[attr-defined]
    assert (reply.code, reply.enhanced) == (552, "5.3.4")


@pytest.mark.parametrize(
    ("greeting", "reason"),
    [
        (b"554 5.7.1 go away\r\n", "greeting"),
        (b"421 4.3.2 busy\r\n", "greeting"),
        (b"hello there\r\n", "ReplyError"),
        (b"220-" + b"x" * 10000 + b"\r\n", "ReplyError"),
        (b"", "closed"),
    ],
)
async def test_smtp_outbound_client_bad_greetings_try_next_host(
    greeting: bytes, reason: str
) -> None:
    async def script(peer: Peer) -> None:
        await peer.say(greeting)

    async with scripted(script) as (port, _):
        with pytest.raises(HostFailed) as info:
            await send(port, envelope("r@x.test"))
    assert reason in info.value.text


async def test_smtp_outbound_client_connection_lost_after_dot_is_temporary() -> None:
    async def script(peer: Peer) -> None:
        await peer.say(b"220 mx\r\n")
        await peer.line()
        await peer.say(b"250 mx\r\n")
        for _ in range(3):
            line = await peer.line()
            await peer.say(b"354 go\r\n" if line == b"DATA" else b"250 ok\r\n")
        await peer.until_dot()
        # Gone without a reply: the message may or may not have been taken.

    async with scripted(script) as (port, _):
        with pytest.raises(HostFailed, match="closed"):
            await send(port, envelope("r@x.test"))


async def test_smtp_outbound_client_mail_refused() -> None:
    async def script(code: bytes, peer: Peer) -> None:
        await peer.say(b"220 mx\r\n")
        await peer.line()
        await peer.say(b"250-mx\r\n250 PIPELINING\r\n")
        for _ in range(3):
            await peer.line()
        await peer.say(code + b"\r\n503 5.5.1 no MAIL\r\n503 5.5.1 no MAIL\r\n")
        assert await peer.line() == b"QUIT"  # a 4xx closes without it (EOFError)
        await peer.say(b"221 bye\r\n")

    async with scripted(lambda p: script(b"550 5.7.1 sender refused", p)) as (port, _):
        result = await send(port, envelope("r@x.test"))
    assert result.replies["r@x.test"].enhanced == "5.7.1"  # type: ignore[attr-defined]
    async with scripted(lambda p: script(b"451 4.7.1 greylisted", p)) as (port, _):
        with pytest.raises(HostFailed, match="greylisted"):
            await send(port, envelope("r@x.test"))


async def test_smtp_outbound_client_connect_refused() -> None:
    async with scripted(lambda peer: peer.say(b"")) as (port, _):
        pass
    with pytest.raises(HostFailed, match="connect"):
        await send(port, envelope("r@x.test"))
