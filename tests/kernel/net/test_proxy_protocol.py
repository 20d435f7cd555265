"""End-to-end PROXY protocol v1/v2 on a real loopback socket, with the echo protocol.

The header parser itself is tested in ``test_proxy.py``; here the listener must read the
header only from trusted peers, take the client address from it, hand the bytes after
it to the protocol (or to the TLS handshake), and drop connections with bad headers.
"""

from __future__ import annotations

import ipaddress
import ssl
import struct
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
import trustme

from kernel import hookimpl
from kernel.testing import listener_address, read_until_closed, run_kernel
from kernel.testing.echo import plugin as echo

TIMEOUT = 10
SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V1_HEADER = b"PROXY TCP4 203.0.113.7 192.0.2.1 56324 4190\r\n"


def _v2(command: int, family: int, block: bytes) -> bytes:
    # proxy-protocol §2.2: signature, version 2 + command, family + transport, length.
    return SIGNATURE + bytes([0x20 | command, family]) + struct.pack("!H", len(block)) + block


def _v2_tcp(src: str, dst: str, sport: int, dport: int) -> bytes:
    src_ip, dst_ip = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    family = 0x11 if src_ip.version == 4 else 0x21  # AF_INET/AF_INET6 + STREAM
    return _v2(0x1, family, src_ip.packed + dst_ip.packed + struct.pack("!HH", sport, dport))


def _config(trusted: list[str], **listener: Any) -> dict[str, Any]:
    return {
        "listeners": {
            "e": {
                "bind": "127.0.0.1:0",
                "protocol": "echo",
                "proxy_protocol": {"trusted_networks": trusted},
                **listener,
            }
        }
    }


async def _session(kernel: Any, first_send: bytes) -> bytes:
    """Connect, send ``first_send`` (which should end in QUIT) and return the transcript."""
    stream = await trio.open_tcp_stream(*listener_address(kernel, "e"))
    async with stream:
        await stream.send_all(first_send)
        return await read_until_closed(stream)


@pytest.mark.parametrize(
    ("header", "address"),
    [
        pytest.param(V1_HEADER, "203.0.113.7", id="v1-tcp4"),
        pytest.param(
            b"PROXY TCP6 2001:db8::7 2001:db8::1 56324 4190\r\n", "2001:db8::7", id="v1-tcp6"
        ),
        pytest.param(_v2_tcp("203.0.113.7", "192.0.2.1", 56324, 4190), "203.0.113.7", id="v2-inet"),
        pytest.param(
            _v2_tcp("2001:db8::7", "2001:db8::1", 56324, 4190), "2001:db8::7", id="v2-inet6"
        ),
        pytest.param(_v2(0x0, 0x00, b""), "127.0.0.1", id="v2-local"),
        pytest.param(b"PROXY UNKNOWN\r\n", "127.0.0.1", id="v1-unknown"),
    ],
)
async def test_proxy_protocol_trusted_header_sets_client_address(
    tmp_path: Path, header: bytes, address: str
) -> None:
    with trio.fail_after(TIMEOUT):
        async with run_kernel(
            tmp_path, plugins={"echo": echo}, config=_config(["127.0.0.0/8"])
        ) as kernel:
            # The header and the first commands arrive in one segment: the bytes after
            # the header must reach the protocol.
            transcript = await _session(kernel, header + b"WHO\r\nQUIT\r\n")
    assert transcript == f"+OK e ready\r\n+OK {address} plain\r\n+OK bye\r\n".encode()


async def test_proxy_protocol_header_split_across_segments(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with run_kernel(
            tmp_path, plugins={"echo": echo}, config=_config(["127.0.0.0/8"])
        ) as kernel:
            stream = await trio.open_tcp_stream(*listener_address(kernel, "e"))
            async with stream:
                await stream.send_all(V1_HEADER[:10])
                await trio.testing.wait_all_tasks_blocked()  # the server waits for the rest
                await stream.send_all(V1_HEADER[10:])
                await stream.send_all(b"WHO\r\nQUIT\r\n")
                transcript = await read_until_closed(stream)
    assert transcript == b"+OK e ready\r\n+OK 203.0.113.7 plain\r\n+OK bye\r\n"


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(b"WHO\r\n", id="no-header"),
        pytest.param(b"PROXY TCP4 203.0.113.999 192.0.2.1 1 2\r\nWHO\r\n", id="bad-v1"),
        pytest.param(b"PROXY TCP4 203.0.113.7\nWHO\r\n", id="bare-lf"),
        pytest.param(SIGNATURE + b"\x31\x11\x00\x0c" + bytes(12), id="v2-version-3"),
    ],
)
async def test_proxy_protocol_malformed_header_closes_without_greeting(
    tmp_path: Path, garbage: bytes
) -> None:
    closed: list[str | None] = []

    class Recorder:
        @hookimpl
        def stalwart_connection_closed(self, error: str | None) -> None:
            closed.append(error)

    with trio.fail_after(TIMEOUT):
        async with run_kernel(
            tmp_path,
            plugins={"echo": echo, "recorder": Recorder()},
            config=_config(["127.0.0.0/8"]),
        ) as kernel:
            assert await _session(kernel, garbage) == b""
            # The server keeps serving well-behaved peers.
            transcript = await _session(kernel, V1_HEADER + b"QUIT\r\n")
            assert transcript == b"+OK e ready\r\n+OK bye\r\n"
    assert closed == ["proxy-header", None]


async def test_proxy_protocol_peer_that_never_sends_header_times_out(tmp_path: Path) -> None:
    config = _config(["127.0.0.0/8"])
    config["listeners"]["e"]["proxy_protocol"]["timeout"] = "100ms"
    with trio.fail_after(TIMEOUT):
        async with run_kernel(tmp_path, plugins={"echo": echo}, config=config) as kernel:
            stream = await trio.open_tcp_stream(*listener_address(kernel, "e"))
            async with stream:
                assert await read_until_closed(stream) == b""


async def test_proxy_protocol_untrusted_peer_header_is_a_plain_command(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with run_kernel(
            tmp_path, plugins={"echo": echo}, config=_config(["10.0.0.0/8"])
        ) as kernel:
            transcript = await _session(kernel, V1_HEADER + b"WHO\r\nQUIT\r\n")
    # Not interpreted: the greeting comes first, the PROXY line is an unknown command
    # and the real peer address stands.
    assert transcript == (
        b"+OK e ready\r\n-ERR unknown command\r\n+OK 127.0.0.1 plain\r\n+OK bye\r\n"
    )


def _tls_config(ca: trustme.CA) -> dict[str, Any]:
    cert = ca.issue_cert("localhost", "127.0.0.1")
    config = _config(["127.0.0.0/8"], tls="implicit")
    config["tls"] = {
        "certificates": {
            "main": {
                "cert": "".join(b.bytes().decode() for b in cert.cert_chain_pems),
                "key": cert.private_key_pem.bytes().decode(),
            }
        }
    }
    return config


class _HeaderFirst(trio.abc.Stream):
    """Prepends ``header`` to the first send, so it shares a segment with the ClientHello."""

    def __init__(self, stream: trio.SocketStream, header: bytes) -> None:
        self._stream = stream
        self._header = header

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        header, self._header = self._header, b""
        await self._stream.send_all(header + bytes(data))

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        return await self._stream.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self._stream.aclose()


@pytest.mark.parametrize("same_segment", [False, True], ids=["separate", "same-segment"])
@pytest.mark.parametrize(
    "header",
    [
        pytest.param(V1_HEADER, id="v1"),
        pytest.param(_v2_tcp("203.0.113.7", "192.0.2.1", 56324, 4190), id="v2"),
    ],
)
async def test_proxy_protocol_then_implicit_tls(
    tmp_path: Path, header: bytes, same_segment: bool
) -> None:
    ca = trustme.CA()
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    with trio.fail_after(TIMEOUT):
        async with run_kernel(tmp_path, plugins={"echo": echo}, config=_tls_config(ca)) as kernel:
            tcp = await trio.open_tcp_stream(*listener_address(kernel, "e"))
            transport: trio.abc.Stream = tcp
            if same_segment:
                transport = _HeaderFirst(tcp, header)
            else:
                await tcp.send_all(header)
            tls = trio.SSLStream(
                transport, client_ctx, server_hostname="localhost", https_compatible=True
            )
            async with tls:
                await tls.do_handshake()
                await tls.send_all(b"WHO\r\nQUIT\r\n")
                transcript = await read_until_closed(tls)
    assert transcript in (
        b"+OK e ready\r\n+OK 203.0.113.7 TLSv1.3\r\n+OK bye\r\n",
        b"+OK e ready\r\n+OK 203.0.113.7 TLSv1.2\r\n+OK bye\r\n",
    )
