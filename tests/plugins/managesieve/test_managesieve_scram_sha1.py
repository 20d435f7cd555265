"""SCRAM-SHA-1 on ManageSieve (RFC 5804 §2.1: "Servers MUST implement" it), over a socket.

Offered by default on top of ``auth.mechanisms`` (which leaves it out for the other
protocols); ``managesieve.sasl_mechanisms`` overrides the list. An account whose
password predates the SHA-1 keys (store migration 11) gets them at its next PLAIN login.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import trio
from managesieve_support import PASSWORD, USER, Server, capabilities, managesieve_server

import plugins.pop3.plugin
from kernel.testing import listener_address
from kernel.testing.sasl_client import ScramClient
from plugins.managesieve.testing import Reply, SieveClient


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def scram_login(
    client: SieveClient, password: str, *, hash_name: str = "sha1"
) -> tuple[Reply, ScramClient]:
    scram = ScramClient(USER, password, hash_name=hash_name)
    first = b64(scram.first())
    await client.send(f'AUTHENTICATE "{scram.mechanism}" "{first}"\r\n'.encode())
    [server_first] = await client.tokens()
    assert isinstance(server_first, bytes)
    final = scram.final(base64.b64decode(server_first))
    await client.send(f'"{b64(final)}"\r\n'.encode())
    return await client.response(), scram


async def sasl_capability(server: Server) -> list[str]:
    async with server.client() as client:
        reply = await client.transact("CAPABILITY")
        value = capabilities(reply.lines)["SASL"]
        assert value is not None
        return value.split()


async def test_managesieve_offers_scram_sha1_by_default(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server:
        assert await sasl_capability(server) == [
            "SCRAM-SHA-256",
            "SCRAM-SHA-1",
            "PLAIN",
            "LOGIN",
            "OAUTHBEARER",
        ]


async def test_managesieve_adds_scram_sha1_to_a_configured_auth_list(tmp_path: Path) -> None:
    config: dict[str, Any] = {"auth": {"mechanisms": ["PLAIN", "SCRAM-SHA-256"]}}
    async with managesieve_server(tmp_path, config) as server:
        assert await sasl_capability(server) == ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-1"]


async def test_managesieve_sasl_mechanisms_option_overrides(tmp_path: Path) -> None:
    config: dict[str, Any] = {"managesieve": {"sasl_mechanisms": ["SCRAM-SHA-256", "PLAIN"]}}
    async with managesieve_server(tmp_path, config) as server:
        assert await sasl_capability(server) == ["SCRAM-SHA-256", "PLAIN"]
        async with server.client() as client:
            reply = await client.command(f'AUTHENTICATE "SCRAM-SHA-1" "{b64(b"n,,n=a,r=b")}"')
            assert reply.status == "NO"
            assert "Unsupported" in reply.text


async def test_managesieve_scram_sha1_login_with_final_data(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client() as client:
        reply, scram = await scram_login(client, PASSWORD)
        # RFC 5804 §2.1: the server-final message travels in OK (SASL "...").
        assert reply.status == "OK" and reply.code == "SASL"
        assert reply.code_arg is not None and scram.verify(base64.b64decode(reply.code_arg))
        await client.transact("LISTSCRIPTS")


async def test_managesieve_scram_sha1_wrong_password_fails(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client() as client:
        reply, _ = await scram_login(client, "wrong")
        assert reply.status == "NO"
        await client.transact("LISTSCRIPTS", "NO")


async def test_managesieve_scram_sha256_still_works(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server, server.client() as client:
        reply, scram = await scram_login(client, PASSWORD, hash_name="sha256")
        assert reply.status == "OK" and reply.code_arg is not None
        assert scram.verify(base64.b64decode(reply.code_arg))


async def test_managesieve_old_account_gets_sha1_keys_at_plain_login(tmp_path: Path) -> None:
    async with managesieve_server(tmp_path) as server:
        directory = server.kernel.store.directory
        sha256 = await directory.scram_secret(USER)
        assert sha256 is not None

        def forget_sha1(ops: Any) -> None:  # as if set before store migration 11
            ops.set_secret(server.account, ops.secret_hash(server.account), [sha256])

        await server.kernel.store.backend.write(forget_sha1)
        async with server.client() as client:
            reply, _ = await scram_login(client, PASSWORD)
            assert reply.status == "NO"  # no SHA-1 keys yet: fails like a wrong password
        async with server.client() as client:
            assert (await client.authenticate_plain(USER, PASSWORD)).status == "OK"
        assert await directory.scram_secret(USER, "sha1") is not None
        async with server.client() as client:
            reply, scram = await scram_login(client, PASSWORD)
            assert reply.status == "OK" and reply.code_arg is not None
            assert scram.verify(base64.b64decode(reply.code_arg))


async def test_managesieve_default_leaves_other_protocols_lists_alone(tmp_path: Path) -> None:
    # The same kernel serving POP3 keeps auth.mechanisms as configured (no SCRAM-SHA-1).
    pop3 = {"bind": "127.0.0.1:0", "protocol": "pop3", "tls": "none"}
    config: dict[str, Any] = {"listeners": {"pop3": pop3}}
    extra = {"pop3": plugins.pop3.plugin}
    async with managesieve_server(tmp_path, config, extra=extra) as server:
        assert "SCRAM-SHA-1" in await sasl_capability(server)
        host, port = listener_address(server.kernel, "pop3")
        stream = await trio.open_tcp_stream(host, port)
        try:
            received = b""
            with trio.fail_after(10):
                while not received.endswith(b"\r\n"):
                    received += await stream.receive_some(4096)
                await stream.send_all(b"CAPA\r\n")
                received = b""
                while not received.endswith(b"\r\n.\r\n"):
                    received += await stream.receive_some(4096)
        finally:
            await trio.aclose_forcefully(stream)
        [sasl] = [line for line in received.split(b"\r\n") if line.startswith(b"SASL ")]
        assert sasl.split()[1:] == [b"SCRAM-SHA-256", b"PLAIN", b"LOGIN", b"OAUTHBEARER"]
