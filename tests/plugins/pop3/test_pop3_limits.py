"""Bad input and limits: long lines, unknown commands, pipelining, busy listeners, garbage."""

from __future__ import annotations

import random
from pathlib import Path

import trio
from pop3_support import PASSWORD, USER, message, pop3_server

from plugins.pop3.proto.engine import MAX_ERRORS


async def test_limits_overlong_line_gets_one_error(tmp_path: Path) -> None:
    config = {"pop3": {"max_command_length": 300}}
    async with pop3_server(tmp_path, config) as server, server.transcript() as t:
        await t.send(b"USER " + b"x" * 100_000 + b"\r\nCAPA\r\n")
        assert await t.line() == b"-ERR Line too long\r\n"
        assert (await t.line()).startswith(b"+OK")  # CAPA still answered
        await t.multiline()
        # RFC 2449 §4: 255 octets with CRLF are always accepted.
        await t.transact("USER " + "a" * 248)


async def test_limits_unknown_and_malformed_commands(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        for command in ("HELO there", "", "LIST x", "\x00\x01\x02", "RETR", "TOP 1"):
            await t.transact(command, "err")
        await t.send(b"USER \xff\xfe\r\n")
        assert (await t.line()).startswith(b"-ERR")
        await t.transact(f"USER {USER}")
        await t.transact(f"PASS {PASSWORD}")


async def test_limits_too_many_errors_close_the_session(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        await t.send(b"BOGUS\r\n" * (MAX_ERRORS + 5))
        replies = (await t.until_closed()).split(b"\r\n")
        assert replies[MAX_ERRORS - 1].startswith(b"-ERR Too many errors")
        assert replies[MAX_ERRORS:] == [b""]


async def test_limits_pipelining(tmp_path: Path) -> None:
    # RFC 2449 §6.6: many commands at once, answered in order.
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        for n in (1, 2, 3):
            await server.deliver(message(n))
        await t.send(
            f"USER {USER}\r\nPASS {PASSWORD}\r\nSTAT\r\nUIDL\r\nRETR 1\r\nDELE 1\r\n"
            "RETR 2\r\nDELE 2\r\nLIST\r\nQUIT\r\n".encode()
        )
        assert (await t.line()).startswith(b"+OK send your password")
        assert (await t.line()).startswith(b"+OK maildrop has 3 messages")
        assert await t.line() == b"+OK 3 %d\r\n" % (3 * len(message(1)))
        assert (await t.line()).startswith(b"+OK") and len(await t.multiline()) == 3
        for n in (1, 2):
            assert (await t.line()).startswith(b"+OK %d octets" % len(message(n)))
            assert b"".join(line + b"\r\n" for line in await t.multiline()) == message(n)
            assert await t.line() == b"+OK message %d deleted\r\n" % n
        assert (await t.line()).startswith(b"+OK 1 messages")
        assert await t.multiline() == [b"3 %d" % len(message(3))]
        assert await t.line() == b"+OK Bye (1 message left)\r\n"
        assert await t.until_closed() == b""
        assert len(await server.inbox_emails()) == 1


async def test_limits_busy_listener(tmp_path: Path) -> None:
    config = {"listeners": {"pop3": {"limits": {"max_connections": 1}}}}
    async with pop3_server(tmp_path, config) as server, server.transcript():
        stream = await trio.open_tcp_stream(server.host, server.port)
        data = b""
        while chunk := await stream.receive_some(1024):
            data += chunk
        await stream.aclose()
        assert data == b"-ERR [SYS/TEMP] Too many connections, try again later\r\n"


async def test_limits_garbage_never_breaks_the_server(tmp_path: Path) -> None:
    rng = random.Random(1939)
    async with pop3_server(tmp_path) as server:
        await server.deliver(message(1))
        for _ in range(5):
            async with server.transcript() as t:
                noise = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000)))
                await t.send(f"USER {USER}\r\nPASS {PASSWORD}\r\n".encode() + noise + b"\r\n")
                await t.send(b"NOOP\r\n" * MAX_ERRORS + b"QUIT\r\n")
                data = await t.until_closed()
                assert data.endswith(b"+OK Bye (1 message left)\r\n") or b"Too many errors" in data
        # Nothing was removed, and the server still works.
        assert await server.poplib(lambda c: c.stat()) == (1, len(message(1)))


async def test_limits_shutdown_ends_unauthenticated_sessions(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        server.kernel.request_stop()
        await server.kernel.wait_draining()
        await t.send(b"CAPA\r\n")
        assert (await t.line()).startswith(b"+OK")
        await t.multiline()
        # After the command in progress, a session still in AUTHORIZATION is told to
        # come back later, and closed.
        assert (
            await t.until_closed() == b"-ERR [SYS/TEMP] Server shutting down, try again later\r\n"
        )
