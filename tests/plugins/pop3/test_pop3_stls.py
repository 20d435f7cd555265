"""STLS (RFC 2595 §4) and implicit TLS (RFC 8314 §3.1)."""

from __future__ import annotations

import poplib
from pathlib import Path

import trio
from pop3_support import PASSWORD, USER, insecure_context, message, pop3_server

from plugins.pop3.testing import Pop3Transcript

STARTTLS = {
    "listeners": {"pop3": {"tls": "starttls"}},
    "auth": {"allow_plaintext_without_tls": False},
}


async def test_stls_then_login(tmp_path: Path) -> None:
    async with pop3_server(tmp_path, STARTTLS) as server:
        await server.deliver(message(1))

        def session(client: poplib.POP3) -> tuple[int, int]:
            client.stls(insecure_context())
            client.user(USER)
            client.pass_(PASSWORD)
            stat = client.stat()
            client.quit()
            return stat

        assert await server.poplib(session, login=False) == (1, len(message(1)))


async def test_stls_discards_pipelined_commands(tmp_path: Path) -> None:
    # RFC 2595 §4; RFC 3207 §4.2: what was sent before the handshake is never run.
    async with pop3_server(tmp_path, STARTTLS) as server:
        tcp = await trio.open_tcp_stream(server.host, server.port)
        plain = Pop3Transcript(tcp)
        assert (await plain.line()).startswith(b"+OK")
        await plain.send(b"STLS\r\nCAPA\r\n")
        assert (await plain.line()).startswith(b"+OK Begin TLS")
        tls = trio.SSLStream(tcp, insecure_context(), server_hostname="localhost")
        t = Pop3Transcript(tls)
        await t.transact("NOOP", "err")  # the first reply is to this, not to CAPA
        await t.transact("STLS", "err")  # RFC 2595 §4: -ERR once TLS is active
        await t.transact(f"USER {USER}")
        await t.transact(f"PASS {PASSWORD}")
        await t.transact("QUIT")
        await trio.aclose_forcefully(tls)


async def test_stls_refused_where_not_available(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        await t.transact("STLS", "err")  # a tls: none listener
        await t.transact(f"USER {USER}")
        await t.transact(f"PASS {PASSWORD}")
        await t.transact("STLS", "err")  # RFC 2595 §4: only in AUTHORIZATION


async def test_implicit_tls(tmp_path: Path) -> None:
    config = {
        "listeners": {"pop3": {"tls": "implicit"}},
        "auth": {"allow_plaintext_without_tls": False},
    }
    async with pop3_server(tmp_path, config) as server:
        await server.deliver(message(1))

        def session() -> tuple[dict[str, list[str]], list[bytes]]:
            client = poplib.POP3_SSL(server.host, server.port, context=insecure_context())
            try:
                capa = client.capa()
                client.user(USER)
                client.pass_(PASSWORD)
                lines = client.retr(1)[1]
                client.quit()
                return capa, lines
            finally:
                client.close()

        capa, lines = await trio.to_thread.run_sync(session)
        assert "STLS" not in capa and "USER" in capa
        assert b"".join(line + b"\r\n" for line in lines) == message(1)
