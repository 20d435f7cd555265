"""AUTHENTICATE (PLAIN, LOGIN, SCRAM-SHA-256, OAUTHBEARER), STARTTLS and the failure paths."""

from __future__ import annotations

import base64
from pathlib import Path

import trio
from managesieve_support import (
    PASSWORD,
    STARTTLS_CONFIG,
    USER,
    capabilities,
    insecure_context,
    managesieve_server,
)

from kernel.testing.sasl_client import ScramClient, oauthbearer_response, plain_response
from plugins.managesieve.testing import SieveClient


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_plain_without_initial_response(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client() as client:
        await client.send(b'AUTHENTICATE "PLAIN"\r\n')
        assert await client.tokens() == [b""]  # §2.1: an empty challenge is ""
        await client.send(f'"{b64(plain_response(USER, PASSWORD))}"\r\n'.encode())
        assert (await client.response()).status == "OK"
        await client.transact("LISTSCRIPTS")


async def test_plain_response_as_literal(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client() as client:
        token = b64(plain_response(USER, PASSWORD)).encode()
        reply = await client.command(b'AUTHENTICATE "PLAIN" {%d+}\r\n' % len(token) + token)
        assert reply.status == "OK"


async def test_login_mechanism(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client() as client:
        await client.send(b'AUTHENTICATE "LOGIN"\r\n')
        await client.tokens()
        await client.send(f'"{b64(USER.encode())}"\r\n'.encode())
        await client.tokens()
        await client.send(f'"{b64(PASSWORD.encode())}"\r\n'.encode())
        assert (await client.response()).status == "OK"


async def test_scram_sha_256_final_message_in_sasl_code(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client() as client:
        scram = ScramClient(USER, PASSWORD)
        await client.send(f'AUTHENTICATE "SCRAM-SHA-256" "{b64(scram.first())}"\r\n'.encode())
        [server_first] = await client.tokens()
        assert isinstance(server_first, bytes)
        final = scram.final(base64.b64decode(server_first))
        await client.send(f'"{b64(final)}"\r\n'.encode())
        reply = await client.response()
        # RFC 5804 §1.3 SASL: the server's final data rides in the OK.
        assert reply.status == "OK" and reply.code == "SASL"
        assert reply.code_arg is not None and scram.verify(base64.b64decode(reply.code_arg))


async def test_scram_wrong_password_fails(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client() as client:
        scram = ScramClient(USER, "wrong")
        await client.send(f'AUTHENTICATE "SCRAM-SHA-256" "{b64(scram.first())}"\r\n'.encode())
        [server_first] = await client.tokens()
        assert isinstance(server_first, bytes)
        await client.send(f'"{b64(scram.final(base64.b64decode(server_first)))}"\r\n'.encode())
        assert (await client.response()).status == "NO"
        await client.transact("LISTSCRIPTS", "NO")


async def test_oauthbearer(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client() as client:
        token = await server.kernel.store.directory.add_token(USER, "sieve")
        initial = b64(oauthbearer_response(token, USER))
        await client.transact(f'AUTHENTICATE "OAUTHBEARER" "{initial}"')
        await client.transact("LISTSCRIPTS")


async def test_cancel_with_star(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client() as client:
        await client.send(b'AUTHENTICATE "PLAIN"\r\n')
        await client.tokens()
        await client.send(b'"*"\r\n')
        # §2.1: "the server ... MUST reject the AUTHENTICATE command by sending a NO reply".
        reply = await client.response()
        assert reply.status == "NO" and "cancel" in (reply.text or "").lower()
        assert (await client.authenticate_plain(USER, PASSWORD)).status == "OK"


async def test_unknown_mechanism_and_bad_base64(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client() as client:
        await client.transact('AUTHENTICATE "GSSAPI"', "NO")
        await client.transact('AUTHENTICATE "PLAIN" "!!notbase64"', "NO")
        assert (await client.authenticate_plain(USER, PASSWORD)).status == "OK"
        # §2.1: "a server MUST reject any further AUTHENTICATE commands with a NO reply".
        assert (await client.authenticate_plain(USER, PASSWORD)).status == "NO"


async def test_too_many_failures_bye(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client() as client:
        assert (await client.authenticate_plain(USER, "bad1")).status == "NO"
        assert (await client.authenticate_plain(USER, "bad2")).status == "NO"
        reply = await client.authenticate_plain(USER, "bad3")
        assert reply.status == "BYE"
        assert await client.until_closed() == b""


async def test_plaintext_refused_without_tls(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path, STARTTLS_CONFIG) as server, server.client() as client:
        caps = capabilities((await client.transact("CAPABILITY")).lines)
        assert "STARTTLS" in caps
        assert "PLAIN" not in (caps["SASL"] or "").split()
        reply = await client.authenticate_plain(USER, PASSWORD)
        assert (reply.status, reply.code) == ("NO", "ENCRYPT-NEEDED")


async def test_starttls_then_plain(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path, STARTTLS_CONFIG) as server:
        tcp = await trio.open_tcp_stream(server.host, server.port)
        plain = SieveClient(tcp)
        greeting = await plain.response()
        assert "STARTTLS" in capabilities(greeting.lines)
        # Commands pipelined after STARTTLS are thrown away (RFC 3207 §4.2).
        await plain.send(b'STARTTLS\r\nAUTHENTICATE "PLAIN" "AGFubgB4"\r\n')
        assert (await plain.response()).status == "OK"
        tls = trio.SSLStream(tcp, insecure_context(), server_hostname="localhost")
        client = SieveClient(tls)
        # §2.2: the capabilities again, without STARTTLS.
        after = await client.response()
        caps = capabilities(after.lines)
        assert after.status == "OK" and "STARTTLS" not in caps
        assert "PLAIN" in (caps["SASL"] or "").split()
        await client.transact("STARTTLS", "NO")
        assert (await client.authenticate_plain(USER, PASSWORD)).status == "OK"
        assert "STARTTLS" not in capabilities((await client.transact("CAPABILITY")).lines)
        await client.transact("LOGOUT")
        await trio.aclose_forcefully(tls)


async def test_sasl_response_as_synchronising_literal(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client() as client:
        await client.send(b'AUTHENTICATE "PLAIN"\r\n')
        assert await client.tokens() == [b""]
        token = b64(plain_response(USER, PASSWORD)).encode()
        await client.send(b"{%d}\r\n" % len(token))
        assert (await client.tokens())[0] == "+"  # the continuation request
        await client.send(token + b"\r\n")
        assert (await client.response()).status == "OK"
