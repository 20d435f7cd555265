"""kernel.login: password and SASL logins through the directory, over a real socket.

A throwaway line protocol plays the part of IMAP/POP3/SMTP:
``MECHS`` lists what would be advertised, ``LOGIN user pass`` and ``AUTH mech [ir]``
log in, with challenges sent as ``+ base64`` lines and answered the same way.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from kernel import hookimpl
from kernel.login import login_password, login_sasl, plaintext_login_allowed, sasl_mechanisms
from kernel.net.connection import Connection
from kernel.sasl import MechanismNotAllowed, UnknownMechanism
from kernel.specs import ProtocolSpec
from kernel.stash import StashKey
from kernel.testing import listener_address, run_kernel
from kernel.testing.sasl_client import ScramClient, oauthbearer_response, plain_response


class _Lines:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.buffer = b""

    async def line(self) -> bytes | None:
        while b"\r\n" not in self.buffer:
            data = await self.conn.receive_some()
            if not data:
                return None
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line


async def serve(conn: Connection) -> None:
    lines = _Lines(conn)

    async def exchange(challenge: bytes) -> bytes | None:
        await conn.send_all(b"+ " + base64.b64encode(challenge) + b"\r\n")
        answer = await lines.line()
        if answer is None or answer == b"*":
            return None
        try:
            return base64.b64decode(answer, validate=True)
        except binascii.Error:
            return None

    while (line := await lines.line()) is not None:
        verb, *args = line.decode().split(" ")
        if verb == "MECHS":
            plain = "plain-ok" if plaintext_login_allowed(conn) else "plain-no"
            await conn.send_all(f"{' '.join(sasl_mechanisms(conn))} {plain}\r\n".encode())
            continue
        if verb == "LOGIN":
            result = await login_password(conn, args[0], args[1])
        else:
            initial = None
            if len(args) > 1:
                initial = b"" if args[1] == "=" else base64.b64decode(args[1])
            try:
                result = await login_sasl(conn, args[0], initial, exchange)
            except (UnknownMechanism, MechanismNotAllowed) as exc:
                await conn.send_all(f"ERR {type(exc).__name__}\r\n".encode())
                continue
        if result.ok:
            await conn.send_all(f"OK {result.account} {result.account_id}\r\n".encode())
        else:
            await conn.send_all(f"NO {result.reason}\r\n".encode())


class _Plugin:
    @hookimpl
    def stalwart_register_protocols(self) -> list[ProtocolSpec]:
        return [ProtocolSpec(name="logintest", serve=serve)]


CLIENTS: StashKey[list[Client]] = StashKey()


def config(**auth: Any) -> dict[str, Any]:
    return {
        "auth": auth,
        "directory": {"throttle": {"max_failures_per_account": 2}},
        "listeners": {"t": {"bind": "127.0.0.1:0", "protocol": "logintest", "tls": "none"}},
    }


class Client:
    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = b""

    async def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self.buffer += await self.stream.receive_some(4096)
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    async def ask(self, line: str) -> bytes:
        await self.stream.send_all(line.encode() + b"\r\n")
        return await self.line()

    async def answer(self, data: bytes) -> bytes:
        await self.stream.send_all(base64.b64encode(data) + b"\r\n")
        return await self.line()


async def connect(kernel: Any) -> Client:
    host, port = listener_address(kernel, "t")
    client = Client(await trio.open_tcp_stream(host, port))
    kernel.stash.setdefault(CLIENTS, []).append(client)
    return client


@asynccontextmanager
async def start(tmp_path: Path, **auth: Any) -> AsyncIterator[Any]:
    async with run_kernel(
        tmp_path,
        plugins={"logintest": _Plugin()},
        names=["directory", "logintest"],
        config=config(**auth),
    ) as kernel:
        yield kernel
        # Close the test's connections so the kernel's shutdown need not wait for them.
        for client in kernel.stash.get(CLIENTS, []):
            await client.stream.aclose()


async def add_ann(kernel: Any) -> int:
    await kernel.store.directory.add_domain("example.org")
    principal = await kernel.store.directory.add_account("ann@example.org", "s3cret")
    return principal.id


async def test_login_plaintext_needs_tls_unless_configured(tmp_path: Path) -> None:
    async with start(tmp_path) as kernel:
        await add_ann(kernel)
        client = await connect(kernel)
        # RFC 8314: without TLS only SCRAM (no secret on the wire) is offered.
        assert await client.ask("MECHS") == b"SCRAM-SHA-256 plain-no"
        assert await client.ask("LOGIN ann@example.org s3cret") == (
            b"NO password login requires TLS"
        )
        assert await client.ask("AUTH PLAIN") == b"ERR MechanismNotAllowed"
        assert await client.ask("AUTH CRAM-MD5") == b"ERR UnknownMechanism"


async def test_login_password_and_plain(tmp_path: Path) -> None:
    async with start(tmp_path, allow_plaintext_without_tls=True) as kernel:
        ann = await add_ann(kernel)
        client = await connect(kernel)
        assert await client.ask("MECHS") == b"SCRAM-SHA-256 PLAIN LOGIN OAUTHBEARER plain-ok"
        assert (
            await client.ask("LOGIN ann@example.org s3cret") == f"OK ann@example.org {ann}".encode()
        )
        assert await client.ask("LOGIN ann@example.org wrong") == b"NO invalid credentials"
        ir = base64.b64encode(plain_response("ann@example.org", "s3cret")).decode()
        assert await client.ask(f"AUTH PLAIN {ir}") == f"OK ann@example.org {ann}".encode()
        # No initial response: an empty challenge, then the message.
        assert await client.ask("AUTH PLAIN") == b"+ "
        reply = await client.answer(plain_response("ann@example.org", "s3cret"))
        assert reply == f"OK ann@example.org {ann}".encode()
        # An authorization identity other than the user's own is refused.
        other = base64.b64encode(plain_response("ann@example.org", "s3cret", "bob@example.org"))
        assert (await client.ask(f"AUTH PLAIN {other.decode()}")).startswith(b"NO ")
        # A cancelled exchange fails.
        assert await client.ask("AUTH LOGIN") == b"+ " + base64.b64encode(b"Username:")
        assert await client.ask("*") == b"NO authentication cancelled"


async def test_hook_stalwart_login_failed(tmp_path: Path) -> None:
    """A SCRAM login succeeds; wrong SCRAM proofs reach the directory's throttle."""
    async with start(tmp_path, mechanisms=["SCRAM-SHA-256", "PLAIN"]) as kernel:
        ann = await add_ann(kernel)
        client = await connect(kernel)
        assert await client.ask("MECHS") == b"SCRAM-SHA-256 plain-no"
        scram = ScramClient("ann@example.org", "s3cret")
        first = base64.b64encode(scram.first()).decode()
        server_first = base64.b64decode((await client.ask(f"AUTH SCRAM-SHA-256 {first}"))[2:])
        server_final = base64.b64decode((await client.answer(scram.final(server_first)))[2:])
        assert scram.verify(server_final)
        assert await client.answer(b"") == f"OK ann@example.org {ann}".encode()
        # Two wrong proofs are counted by the directory like wrong passwords...
        for _ in range(2):
            bad = ScramClient("ann@example.org", "guess")
            first = base64.b64encode(bad.first()).decode()
            server_first = base64.b64decode((await client.ask(f"AUTH SCRAM-SHA-256 {first}"))[2:])
            assert (await client.answer(bad.final(server_first))).startswith(b"NO ")
        # ...so the right password is now refused too (max_failures_per_account: 2).
        good = ScramClient("ann@example.org", "s3cret")
        first = base64.b64encode(good.first()).decode()
        server_first = base64.b64decode((await client.ask(f"AUTH SCRAM-SHA-256 {first}"))[2:])
        assert (await client.answer(good.final(server_first))).startswith(b"NO ")


async def test_login_oauthbearer_token_and_unknown_user(tmp_path: Path) -> None:
    async with start(tmp_path, allow_plaintext_without_tls=True) as kernel:
        ann = await add_ann(kernel)
        token = await kernel.store.directory.add_token("ann@example.org", "phone")
        client = await connect(kernel)
        ir = base64.b64encode(oauthbearer_response(token, "ann@example.org")).decode()
        assert await client.ask(f"AUTH OAUTHBEARER {ir}") == f"OK ann@example.org {ann}".encode()
        wrong = base64.b64encode(oauthbearer_response(token, "bob@example.org")).decode()
        reply = await client.ask(f"AUTH OAUTHBEARER {wrong}")
        assert reply.startswith(b"+ ")  # RFC 7628 §3.2.2: the error challenge first
        assert (await client.answer(b"\x01")).startswith(b"NO ")
        assert await client.ask("LOGIN ghost@example.org x") == b"NO unknown user"
