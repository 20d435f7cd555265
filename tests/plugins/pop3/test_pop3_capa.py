"""CAPA (RFC 2449 §5) in both states, on plain, STLS and implicit-TLS listeners."""

from __future__ import annotations

import poplib
from pathlib import Path

from pop3_support import PASSWORD, USER, insecure_context, pop3_server

PLAIN_LISTENER = {"listeners": {"pop3": {"tls": "starttls"}}}


async def test_capa_lists_every_capability(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        await t.transact("CAPA")
        before = await t.multiline()
        assert before == [
            b"TOP",
            b"UIDL",
            b"RESP-CODES",
            b"AUTH-RESP-CODE",
            b"PIPELINING",
            b"USER",
            b"SASL SCRAM-SHA-256 PLAIN LOGIN OAUTHBEARER",
            b"LOGIN-DELAY 0",
            b"EXPIRE NEVER",
            b"UTF8 USER",
            b"IMPLEMENTATION stalwart-kernel",
        ]
        await t.transact(f"USER {USER}")
        await t.transact(f"PASS {PASSWORD}")
        # RFC 2449 §5: what is announced in AUTHORIZATION is announced in both states.
        await t.transact("CAPA")
        assert await t.multiline() == before


async def test_capa_follows_configuration(tmp_path: Path) -> None:
    config = {
        "pop3": {"expire": "0", "login_delay": "15m", "implementation": ""},
        "auth": {"mechanisms": ["PLAIN"]},
    }
    async with pop3_server(tmp_path, config) as server:
        capa = await server.poplib(lambda c: c.capa(), login=False)
        assert capa["EXPIRE"] == ["0"]
        assert capa["LOGIN-DELAY"] == ["900"]
        assert capa["SASL"] == ["PLAIN"]
        assert "IMPLEMENTATION" not in capa


async def test_capa_before_and_after_stls(tmp_path: Path) -> None:
    config = {**PLAIN_LISTENER, "auth": {"allow_plaintext_without_tls": False}}
    async with pop3_server(tmp_path, config) as server:

        def session(client: poplib.POP3) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
            before = client.capa()
            client.stls(insecure_context())
            after = client.capa()
            client.user(USER)
            client.pass_(PASSWORD)
            # RFC 2595 §4: STLS is announced only where it is permitted.
            assert "STLS" not in client.capa()
            client.quit()
            return before, after

        before, after = await server.poplib(session, login=False)
        # Clear-text mechanisms and USER only over TLS (RFC 2595 §2.3, RFC 5034 §4).
        assert "STLS" in before and "USER" not in before
        assert before["SASL"] == ["SCRAM-SHA-256"]
        assert "STLS" not in after and "USER" in after
        assert after["SASL"] == ["SCRAM-SHA-256", "PLAIN", "LOGIN", "OAUTHBEARER"]


async def test_capa_after_utf8_has_no_stls(tmp_path: Path) -> None:
    async with pop3_server(tmp_path, PLAIN_LISTENER) as server, server.transcript() as t:
        await t.transact("UTF8")
        await t.transact("CAPA")
        assert b"STLS" not in await t.multiline()
        # RFC 6856 §2.1: servers MAY refuse STLS after UTF8.
        await t.transact("STLS", "err")
