"""Hostile and broken input: every case ends in NO or BYE, never a crash or a hang."""

from __future__ import annotations

from pathlib import Path

from managesieve_support import managesieve_server

from plugins.managesieve.proto.engine import MAX_ERRORS

SMALL = {"managesieve": {"max_script_size": 1024, "max_line_length": 1024}}


async def test_huge_literal_is_refused_without_reading_it(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path, SMALL) as server, server.client(login=True) as client:
        await client.send(b'PUTSCRIPT "big" {4000000000+}\r\n')
        reply = await client.response()
        assert (reply.status, reply.code) == ("BYE", "QUOTA/MAXSIZE")
        assert await client.until_closed() == b""
    # The server is still up for others (checked inside the block above by the BYE).


async def test_oversized_literal_is_discarded_and_the_session_goes_on(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path, SMALL) as server, server.client(login=True) as client:
        body = b"#" * 2000 + b"\r\nkeep;\r\n"
        reply = await client.command(b'PUTSCRIPT "big" {%d+}\r\n' % len(body) + body)
        assert (reply.status, reply.code) == ("NO", "QUOTA/MAXSIZE")
        await client.transact("NOOP")
        assert (await client.transact("LISTSCRIPTS")).lines == []


async def test_oversized_synchronising_literal_gets_no_continuation(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path, SMALL) as server, server.client(login=True) as client:
        reply = await client.command(b'PUTSCRIPT "big" {5000}')
        assert (reply.status, reply.code) == ("NO", "QUOTA/MAXSIZE")
        await client.transact("NOOP")


async def test_overlong_line_is_bye(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path, SMALL) as server, server.client() as client:
        await client.send(b"NOOP " + b"A" * 5000)
        reply = await client.response()
        assert reply.status == "BYE"
        assert await client.until_closed() == b""


async def test_binary_garbage_is_refused_then_closed(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client() as client:
        await client.send(b"\x00\x01\x02\xff\xfe\r\n" * MAX_ERRORS)
        statuses = [(await client.response()).status for _ in range(MAX_ERRORS)]
        assert statuses == ["NO"] * (MAX_ERRORS - 1) + ["BYE"]
        assert await client.until_closed() == b""


async def test_bad_syntax_variants_get_no(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client(login=True) as client:
        for line in [
            b'PUTSCRIPT "unterminated',
            b'GETSCRIPT "bad \\x escape"',
            b'HAVESPACE "a" 99999999999',
            b'HAVESPACE "a" -1',
            b'RENAMESCRIPT "a"',
            b"(",
            b"",
        ]:
            reply = await client.command(line)
            assert reply.status == "NO", line
        await client.transact("NOOP")


async def test_literal_broken_by_close_does_not_hang(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server:
        async with server.client(login=True) as client:
            await client.send(b'PUTSCRIPT "half" {100+}\r\nkeep;')
        # The server notices the close; the script was not stored.
        async with server.client(login=True) as client:
            assert (await client.transact("LISTSCRIPTS")).lines == []


async def test_sasl_exchange_broken_by_close(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server:
        async with server.client() as client:
            await client.send(b'AUTHENTICATE "PLAIN"\r\n')
            assert await client.tokens() == [b""]
        async with server.client() as client:
            await client.transact("NOOP")


async def test_login_timeout_says_bye(tmp_path: Path) -> None:
    config = {"managesieve": {"login_timeout": "200ms"}}
    async with managesieve_server(tmp_path, config) as server, server.client() as client:
        # Waits for the server to give up (a condition, not a sleep).
        reply = await client.response()
        assert reply.status == "BYE" and "inactivity" in (reply.text or "")
        assert await client.until_closed() == b""


async def test_literals_before_login_are_sasl_sized(tmp_path: Path) -> None:
    config = {"auth": {"max_response": "1KiB"}}
    async with managesieve_server(tmp_path, config) as server, server.client() as client:
        # A script-sized literal before login is refused without a continuation.
        reply = await client.command(b'PUTSCRIPT "x" {100000}')
        assert reply.status == "NO" and "too large" in (reply.text or "")
        assert (await client.authenticate_plain("ann@example.org", "correct horse")).status == "OK"
        # After login the same size is fine (under max_script_size).
        body = b"# " + b"x" * 5000 + b"\r\nkeep;\r\n"
        assert (await client.putscript("x", body)).status == "OK"
