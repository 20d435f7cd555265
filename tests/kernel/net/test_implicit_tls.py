"""End-to-end implicit TLS on real loopback sockets, with the example echo protocol.

Certificates come from a trustme CA (the kernel is configured with PEM text); one test
uses the self-signed certificate the kernel generates when none is configured.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import trio
import trustme

from kernel.lifecycle import Kernel
from kernel.testing import listener_address, read_until_closed, run_kernel
from kernel.testing.echo import plugin as echo

TIMEOUT = 10
TLS_VERSIONS = (b"TLSv1.3", b"TLSv1.2")


def _entry(ca: trustme.CA, *names: str) -> dict[str, str]:
    cert = ca.issue_cert(*names)
    return {
        "cert": "".join(b.bytes().decode() for b in cert.cert_chain_pems),
        "key": cert.private_key_pem.bytes().decode(),
    }


def _config(certificates: dict[str, Any], **tls: Any) -> dict[str, Any]:
    return {
        "tls": {"certificates": certificates, **tls},
        "listeners": {"e": {"bind": "127.0.0.1:0", "protocol": "echo", "tls": "implicit"}},
    }


def _client_context(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


async def _tls_connect(
    kernel: Kernel, ctx: ssl.SSLContext, server_hostname: str = "localhost"
) -> trio.SSLStream[trio.SocketStream]:
    tcp = await trio.open_tcp_stream(*listener_address(kernel, "e"))
    stream = trio.SSLStream(tcp, ctx, server_hostname=server_hostname)
    await stream.do_handshake()
    return stream


async def _who(stream: trio.abc.Stream) -> bytes:
    """Send WHO and QUIT; return the WHO reply line's TLS version after checking the rest."""
    await stream.send_all(b"WHO\r\nQUIT\r\n")
    greeting, who, bye, rest = (await read_until_closed(stream)).split(b"\r\n")
    assert (greeting, bye, rest) == (b"+OK e ready", b"+OK bye", b"")
    ok, address, version = who.split(b" ")
    assert (ok, address) == (b"+OK", b"127.0.0.1")
    return version


async def test_implicit_tls_session_reports_tls(tmp_path: Path) -> None:
    ca = trustme.CA()
    config = _config({"main": _entry(ca, "localhost", "127.0.0.1")})
    with trio.fail_after(TIMEOUT):
        async with run_kernel(tmp_path, plugins={"echo": echo}, config=config) as kernel:
            stream = await _tls_connect(kernel, _client_context(ca))
            async with stream:
                version = stream.version()
                assert version is not None
                assert await _who(stream) == version.encode()
            # The IP address SAN verifies too.
            stream = await _tls_connect(kernel, _client_context(ca), "127.0.0.1")
            async with stream:
                assert await _who(stream) in TLS_VERSIONS


def _peer_dns_names(stream: trio.SSLStream[trio.SocketStream]) -> list[str]:
    peer = stream.getpeercert()
    assert peer is not None
    return [value for kind, value in peer["subjectAltName"] if kind == "DNS"]


async def test_implicit_tls_sni_selects_certificate(tmp_path: Path) -> None:
    ca = trustme.CA()
    config = _config({"a": _entry(ca, "a.example"), "b": _entry(ca, "b.example")})
    with trio.fail_after(TIMEOUT):
        async with run_kernel(tmp_path, plugins={"echo": echo}, config=config) as kernel:
            for name in ("b.example", "a.example"):
                # check_hostname is on: the handshake itself fails on the wrong certificate.
                stream = await _tls_connect(kernel, _client_context(ca), name)
                async with stream:
                    assert _peer_dns_names(stream) == [name]
                    assert await _who(stream) in TLS_VERSIONS
            # No or an unknown server name: the first certificate is the default.
            ctx = _client_context(ca)
            ctx.check_hostname = False
            stream = await _tls_connect(kernel, ctx, "unknown.example")
            async with stream:
                assert _peer_dns_names(stream) == ["a.example"]


async def test_implicit_tls_plaintext_client_is_dropped(tmp_path: Path) -> None:
    ca = trustme.CA()
    config = _config({"main": _entry(ca, "localhost")})
    with trio.fail_after(TIMEOUT):
        async with run_kernel(tmp_path, plugins={"echo": echo}, config=config) as kernel:
            plain = await trio.open_tcp_stream(*listener_address(kernel, "e"))
            async with plain:
                await plain.send_all(b"WHO\r\nECHO hello\r\n")
                # At most a TLS alert comes back, never a protocol reply.
                reply = await read_until_closed(plain)
            assert b"+OK" not in reply
            assert b"hello" not in reply
            # The listener keeps serving other clients.
            stream = await _tls_connect(kernel, _client_context(ca))
            async with stream:
                assert await _who(stream) in TLS_VERSIONS


async def test_implicit_tls_min_version_refuses_older_client(tmp_path: Path) -> None:
    ca = trustme.CA()
    config = _config({"main": _entry(ca, "localhost")}, min_version="1.3")
    with trio.fail_after(TIMEOUT):
        async with run_kernel(tmp_path, plugins={"echo": echo}, config=config) as kernel:
            old = _client_context(ca)
            old.maximum_version = ssl.TLSVersion.TLSv1_2
            try:
                stream = await _tls_connect(kernel, old)
            except trio.BrokenResourceError as exc:
                assert isinstance(exc.__cause__, ssl.SSLError)
            else:
                await stream.aclose()
                raise AssertionError("a TLS 1.2-only client completed a handshake")
            stream = await _tls_connect(kernel, _client_context(ca))
            async with stream:
                assert stream.version() == "TLSv1.3"
                assert await _who(stream) == b"TLSv1.3"


async def test_implicit_tls_generates_self_signed_certificate(tmp_path: Path) -> None:
    config = {
        "server": {"hostname": "mail.test"},
        "listeners": {"e": {"bind": "127.0.0.1:0", "protocol": "echo", "tls": "implicit"}},
    }
    with trio.fail_after(TIMEOUT):
        async with run_kernel(tmp_path, plugins={"echo": echo}, config=config) as kernel:
            cert_path = tmp_path / "var" / "tls" / "selfsigned.crt"
            assert cert_path.is_file()
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname and CERT_REQUIRED
            ctx.load_verify_locations(cafile=str(cert_path))
            for name in ("localhost", "mail.test", "127.0.0.1"):
                stream = await _tls_connect(kernel, ctx, name)
                async with stream:
                    assert await _who(stream) in TLS_VERSIONS


async def test_implicit_tls_session_ends_with_close_notify(tmp_path: Path) -> None:
    ca = trustme.CA()
    async with run_kernel(
        tmp_path, plugins={"echo": echo}, config=_config({"main": _entry(ca, "localhost")})
    ) as kernel:
        # A strict client (not https_compatible): EOF without close_notify would raise.
        stream = await _tls_connect(kernel, _client_context(ca))
        await stream.send_all(b"QUIT\r\n")
        data = b""
        with trio.fail_after(TIMEOUT):
            while chunk := await stream.receive_some(4096):
                data += chunk
        assert data == b"+OK e ready\r\n+OK bye\r\n"
        await stream.aclose()
