"""End-to-end STARTTLS on a real loopback socket, with the example echo protocol.

The kernel's ``Connection.start_tls`` and echo's engine must both discard bytes the client
pipelined behind ``STARTTLS`` (RFC 3207 §4.2), so a man in the middle cannot inject
commands that would run as if they had arrived over TLS.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

import trio
import trustme

from kernel.testing import listener_address, run_kernel
from kernel.testing.echo import plugin as echo

TIMEOUT = 10


def _tls_config(ca: trustme.CA, tls: str = "starttls") -> dict[str, Any]:
    cert = ca.issue_cert("localhost", "127.0.0.1")
    return {
        "tls": {
            "certificates": {
                "main": {
                    "cert": "".join(b.bytes().decode() for b in cert.cert_chain_pems),
                    "key": cert.private_key_pem.bytes().decode(),
                }
            }
        },
        "listeners": {"e": {"bind": "127.0.0.1:0", "protocol": "echo", "tls": tls}},
    }


def _client_context(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


def _ssl_stream(tcp: trio.SocketStream, ca: trustme.CA) -> trio.SSLStream[trio.SocketStream]:
    # A strict client: the kernel ends TLS sessions with a close_notify.
    return trio.SSLStream(tcp, _client_context(ca), server_hostname="localhost")


class _Lines:
    """A CRLF line client over any trio stream."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.buffer = bytearray()
        self.seen = bytearray()  # every byte ever received, for "never appears" checks

    async def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            data = await self.stream.receive_some(4096)
            assert data, f"EOF while waiting for a line; have {bytes(self.buffer)!r}"
            self.buffer += data
            self.seen += data
        end = self.buffer.index(b"\r\n") + 2
        out = bytes(self.buffer[:end])
        del self.buffer[:end]
        return out

    async def command(self, text: str) -> bytes:
        await self.stream.send_all(text.encode() + b"\r\n")
        return await self.line()

    async def until_eof(self) -> bytes:
        while data := await self.stream.receive_some(4096):
            self.buffer += data
            self.seen += data
        out = bytes(self.buffer)
        self.buffer.clear()
        return out


def _blocking_starttls_session(port: int, ctx: ssl.SSLContext) -> list[bytes]:
    """Plain greeting, STARTTLS, handshake and WHO with the stdlib's blocking ssl client."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
        plain = raw.makefile("rb")
        greeting = plain.readline()
        raw.sendall(b"STARTTLS\r\n")
        go_ahead = plain.readline()
        plain.close()  # buffered reader is empty: the server sends nothing before our hello
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"WHO\r\n")
            reader = tls.makefile("rb")
            who = reader.readline()
            tls.sendall(b"QUIT\r\n")
            bye = reader.readline()
            reader.close()
            return [greeting, go_ahead, who, bye, tls.version().encode()]


async def test_starttls_with_stdlib_blocking_client(tmp_path: Path) -> None:
    ca = trustme.CA()
    with trio.fail_after(TIMEOUT):
        async with run_kernel(tmp_path, plugins={"echo": echo}, config=_tls_config(ca)) as kernel:
            _host, port = listener_address(kernel, "e")
            greeting, go_ahead, who, bye, version = await trio.to_thread.run_sync(
                _blocking_starttls_session, port, _client_context(ca)
            )
    assert greeting == b"+OK e ready\r\n"
    assert go_ahead == b"+OK begin TLS\r\n"
    assert version in (b"TLSv1.3", b"TLSv1.2")
    assert who == b"+OK 127.0.0.1 " + version + b"\r\n"
    assert bye == b"+OK bye\r\n"


async def test_starttls_with_trio_client_reports_tls_version(tmp_path: Path) -> None:
    ca = trustme.CA()
    with trio.fail_after(TIMEOUT):
        async with run_kernel(tmp_path, plugins={"echo": echo}, config=_tls_config(ca)) as kernel:
            tcp = await trio.open_tcp_stream(*listener_address(kernel, "e"))
            plain = _Lines(tcp)
            assert await plain.line() == b"+OK e ready\r\n"
            assert await plain.command("WHO") == b"+OK 127.0.0.1 plain\r\n"
            assert await plain.command("STARTTLS") == b"+OK begin TLS\r\n"
            tls_stream = _ssl_stream(tcp, ca)
            await tls_stream.do_handshake()
            tls = _Lines(tls_stream)
            who = await tls.command("WHO")
            assert who in (b"+OK 127.0.0.1 TLSv1.3\r\n", b"+OK 127.0.0.1 TLSv1.2\r\n")
            # RFC 3207 §4.2: once TLS is active, STARTTLS is not offered again.
            assert await tls.command("STARTTLS") == b"-ERR unknown command\r\n"
            assert await tls.command("QUIT") == b"+OK bye\r\n"
            await tls_stream.aclose()


async def test_starttls_discards_commands_pipelined_before_handshake(tmp_path: Path) -> None:
    ca = trustme.CA()
    with trio.fail_after(TIMEOUT):
        async with run_kernel(tmp_path, plugins={"echo": echo}, config=_tls_config(ca)) as kernel:
            tcp = await trio.open_tcp_stream(*listener_address(kernel, "e"))
            plain = _Lines(tcp)
            assert await plain.line() == b"+OK e ready\r\n"
            # RFC 3207 §4.2: a command injected behind STARTTLS, in the same segment, must
            # be discarded rather than executed once TLS is up.
            await tcp.send_all(b"STARTTLS\r\nECHO injected\r\n")
            assert await plain.line() == b"+OK begin TLS\r\n"
            assert not plain.buffer
            tls_stream = _ssl_stream(tcp, ca)
            await tls_stream.do_handshake()
            tls = _Lines(tls_stream)
            assert await tls.command("ECHO after") == b"+OK after\r\n"
            await tls_stream.send_all(b"QUIT\r\n")
            assert await tls.until_eof() == b"+OK bye\r\n"
            await tls_stream.aclose()
    assert b"injected" not in plain.seen
    assert b"injected" not in tls.seen


async def test_starttls_unavailable_on_plain_listener(tmp_path: Path) -> None:
    ca = trustme.CA()
    with trio.fail_after(TIMEOUT):
        async with run_kernel(
            tmp_path, plugins={"echo": echo}, config=_tls_config(ca, tls="none")
        ) as kernel:
            tcp = await trio.open_tcp_stream(*listener_address(kernel, "e"))
            client = _Lines(tcp)
            assert await client.line() == b"+OK e ready\r\n"
            assert await client.command("STARTTLS") == b"-ERR unknown command\r\n"
            assert await client.command("WHO") == b"+OK 127.0.0.1 plain\r\n"
            await tcp.aclose()
