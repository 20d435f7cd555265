"""USER/PASS, AUTH (PLAIN, LOGIN, SCRAM-SHA-256, OAUTHBEARER), APOP, and the failure codes.

End to end over loopback: ``poplib`` where it can, the transcript client where
the exchange needs raw lines.
"""

from __future__ import annotations

import base64
import poplib
from pathlib import Path

import pytest
import trio
from pop3_support import PASSWORD, USER, message, pop3_server

from kernel.errors import StoreError
from kernel.testing.sasl_client import ScramClient, oauthbearer_response, plain_response


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_auth_user_pass(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server:
        await server.deliver(message(1))
        greeting = await server.poplib(lambda c: c.getwelcome(), login=False)
        # RFC 2449 §6: no "<timestamp>" in the greeting, so no client tries APOP.
        assert greeting.startswith(b"+OK ") and b"<" not in greeting
        assert await server.poplib(lambda c: c.stat()) == (1, len(message(1)))


async def test_auth_wrong_password_gets_auth_code(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        await t.transact(f"USER {USER}")
        await t.transact("PASS wrong", "err", code="AUTH")
        # RFC 1939 §7: after a failed PASS, start again with USER.
        await t.transact(f"PASS {PASSWORD}", "err")
        await t.transact(f"USER {USER}")
        status = await t.transact(f"PASS {PASSWORD}")
        assert status == b"+OK maildrop has 0 messages (0 octets)\r\n"


async def test_auth_unknown_user_looks_like_a_wrong_password(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        await t.transact("USER nobody@example.org")  # RFC 1939 §7: USER reveals nothing
        await t.transact("PASS x", "err", code="AUTH")


async def test_auth_too_many_failures_close_the_connection(tmp_path: Path) -> None:
    config = {"pop3": {"max_auth_failures": 2}}
    async with pop3_server(tmp_path, config) as server, server.transcript() as t:
        await t.transact(f"USER {USER}")
        await t.transact("PASS bad", "err", code="AUTH")
        await t.transact("AUTH PLAIN " + b64(plain_response(USER, "bad")), "err", code="AUTH")
        assert await t.until_closed() == b""


async def test_auth_throttled_by_the_directory(tmp_path: Path) -> None:
    config = {"directory": {"throttle": {"max_failures_per_account": 2}}}
    async with pop3_server(tmp_path, config) as server:
        async with server.transcript() as t:
            for _ in range(2):
                await t.transact(f"USER {USER}")
                await t.transact("PASS guess", "err", code="AUTH")
        async with server.transcript() as t:
            await t.transact(f"USER {USER}")
            await t.transact(f"PASS {PASSWORD}", "err", code="AUTH")  # refused unchecked


async def test_auth_directory_unavailable_is_sys_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:

        async def down(credentials: object) -> None:
            await trio.lowlevel.checkpoint()
            raise StoreError("the directory's database is unreachable")

        monkeypatch.setattr(server.kernel, "authenticate", down)
        await t.transact(f"USER {USER}")
        await t.transact(f"PASS {PASSWORD}", "err", code="SYS/TEMP")
        await t.transact(
            "AUTH PLAIN " + b64(plain_response(USER, PASSWORD)), "err", code="SYS/TEMP"
        )


async def test_auth_plaintext_needs_tls(tmp_path: Path) -> None:
    config = {"auth": {"allow_plaintext_without_tls": False}}
    async with pop3_server(tmp_path, config) as server, server.transcript() as t:
        # RFC 8314 §3; RFC 5034 §4: no clear-text password mechanisms without TLS.
        await t.transact(f"USER {USER}", "err", code="AUTH")
        await t.transact("AUTH PLAIN " + b64(plain_response(USER, PASSWORD)), "err", code="AUTH")
        await t.transact("AUTH LOGIN", "err", code="AUTH")
        await t.send(b"AUTH\r\n")
        assert (await t.line()).startswith(b"+OK")
        assert await t.multiline() == [b"SCRAM-SHA-256"]


async def test_auth_plain_with_and_without_initial_response(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server:
        async with server.transcript() as t:
            await t.transact("AUTH PLAIN " + b64(plain_response(USER, PASSWORD)))
            await t.transact("STAT")
        async with server.transcript() as t:
            # RFC 5034 §4: without an initial response the server sends "+ " alone.
            assert await t.command("AUTH PLAIN") == b"+ \r\n"
            await t.transact(b64(plain_response(USER, PASSWORD)))


async def test_auth_login(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        prompt = await t.command("AUTH LOGIN")
        assert prompt.startswith(b"+ ") and base64.b64decode(prompt[2:]) == b"Username:"
        prompt = await t.command(b64(USER.encode()))
        assert base64.b64decode(prompt[2:]) == b"Password:"
        await t.transact(b64(PASSWORD.encode()))


async def test_auth_scram_sha_256(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        client = ScramClient(USER, PASSWORD)
        server_first = await t.command("AUTH SCRAM-SHA-256 " + b64(client.first()))
        assert server_first.startswith(b"+ ")
        server_final = await t.command(b64(client.final(base64.b64decode(server_first[2:]))))
        # RFC 5034 §4: no data in the success reply, so the final message is a challenge.
        assert server_final.startswith(b"+ ")
        assert client.verify(base64.b64decode(server_final[2:]))
        await t.transact("")


async def test_auth_scram_wrong_password(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        client = ScramClient(USER, "not it")
        server_first = await t.command("AUTH SCRAM-SHA-256 " + b64(client.first()))
        await t.transact(b64(client.final(base64.b64decode(server_first[2:]))), "err", code="AUTH")


async def test_auth_oauthbearer(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        token = await server.kernel.store.directory.add_token(USER, "phone")
        await t.transact("AUTH OAUTHBEARER " + b64(oauthbearer_response(token, USER)))
        await t.transact("STAT")


async def test_auth_cancel_and_bad_base64(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        assert await t.command("AUTH PLAIN") == b"+ \r\n"
        # RFC 5034 §4: "*" cancels and gets -ERR; the session goes on.
        await t.transact("*", "err")
        assert await t.command("AUTH PLAIN") == b"+ \r\n"
        await t.transact("not*base64", "err")
        await t.transact("AUTH PLAIN not*base64", "err")
        await t.transact("AUTH PLAIN " + b64(plain_response(USER, PASSWORD)))


async def test_auth_unknown_mechanism_and_listing(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        await t.transact("AUTH CRAM-MD5", "err")
        await t.transact("AUTH X" * 100, "err")
        await t.send(b"AUTH\r\n")
        assert (await t.line()).startswith(b"+OK")
        assert await t.multiline() == [b"SCRAM-SHA-256", b"PLAIN", b"LOGIN", b"OAUTHBEARER"]


async def test_auth_only_once(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        await t.transact("AUTH PLAIN " + b64(plain_response(USER, PASSWORD)))
        # RFC 5034 §4: after a successful AUTH, any further AUTH gets -ERR.
        await t.transact("AUTH PLAIN " + b64(plain_response(USER, PASSWORD)), "err")
        await t.transact(f"USER {USER}", "err")


async def test_auth_sasl_response_limit(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        assert await t.command("AUTH PLAIN") == b"+ \r\n"
        await t.transact("A" * 100_000, "err")  # longer than auth.max_response allows
        await t.transact("NOOP", "err")  # back in AUTHORIZATION: one reply per line
        await t.transact("AUTH PLAIN " + b64(plain_response(USER, PASSWORD)))


async def test_auth_apop_refused(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        await t.transact(f"APOP {USER} c4c9334bac560ecc979e58001b3e22fb", "err")
        with pytest.raises(poplib.error_proto, match="APOP"):
            await server.poplib(lambda c: c.apop(USER, PASSWORD), login=False)


async def test_auth_utf8_password(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        await server.kernel.store.directory.set_password(USER, "pässwörd")
        await t.transact(f"USER {USER}")
        # RFC 6856 §2.2: UTF-8 in PASS, SASLprep-ed; NFD input matches the NFC password.
        await t.transact("PASS pa\u0308sswo\u0308rd".encode())


async def test_auth_login_delay(tmp_path: Path) -> None:
    config = {"pop3": {"login_delay": "1h"}}
    async with pop3_server(tmp_path, config) as server:
        capa = await server.poplib(lambda c: c.capa(), login=False)
        assert capa["LOGIN-DELAY"] == ["3600"]
        await server.poplib(lambda c: c.quit())
        async with server.transcript() as t:
            await t.transact(f"USER {USER}")
            await t.transact(f"PASS {PASSWORD}", "err", code="LOGIN-DELAY")


async def test_auth_pass_needs_user(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        await t.transact(f"PASS {PASSWORD}", "err")
        await t.transact("QUIT")
        assert await t.until_closed() == b""
