"""Certificates reload like the rest of configuration; IPv6 and multiple binds work."""

from __future__ import annotations

import ssl
from pathlib import Path

import trio
import trustme

from kernel.testing import listener_address, run_kernel
from kernel.testing.echo import plugin as echo


def _write_cert(directory: Path, ca: trustme.CA, name: str) -> None:
    cert = ca.issue_cert(name, "localhost")
    (directory / "cert.pem").write_text("".join(b.bytes().decode() for b in cert.cert_chain_pems))
    (directory / "key.pem").write_text(cert.private_key_pem.bytes().decode())


async def _peer_names(address: tuple[str, int], ca: trustme.CA) -> list[str]:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    stream = trio.SSLStream(await trio.open_tcp_stream(*address), ctx, server_hostname="localhost")
    await stream.do_handshake()
    cert = stream.getpeercert()
    await stream.aclose()
    return [value for kind, value in cert["subjectAltName"] if kind == "DNS"]


async def test_replaced_certificate_file_is_served_after_reload(tmp_path: Path) -> None:
    ca = trustme.CA()
    certs = tmp_path / "certs"
    certs.mkdir()
    _write_cert(certs, ca, "first.example")
    config = {
        "config": {"watch": True, "poll_interval": "20ms"},
        "tls": {
            "certificates": {
                "main": {"cert": f"${{file:{certs}/cert.pem}}", "key": f"${{file:{certs}/key.pem}}"}
            }
        },
        "listeners": {"e": {"bind": "127.0.0.1:0", "protocol": "echo", "tls": "implicit"}},
    }
    async with run_kernel(tmp_path, plugins={"echo": echo}, config=config) as kernel:
        address = listener_address(kernel, "e")
        assert "first.example" in await _peer_names(address, ca)
        _write_cert(certs, ca, "second.example")  # e.g. a renewal by certbot
        with trio.fail_after(10):
            while "second.example" not in await _peer_names(address, ca):
                await trio.sleep(0.01)
        assert listener_address(kernel, "e") == address  # same socket, new certificate


async def test_listener_binds_ipv6_and_several_addresses(tmp_path: Path) -> None:
    config = {"listeners": {"e": {"bind": ["[::1]:0", "127.0.0.1:0"], "protocol": "echo"}}}
    async with run_kernel(tmp_path, plugins={"echo": echo}, config=config) as kernel:
        addresses = kernel.listeners["e"].addresses
        assert {host for host, _ in addresses} == {"::1", "127.0.0.1"}
        for host, port in addresses:
            stream = await trio.open_tcp_stream(host, port)
            await stream.send_all(b"WHO\r\nQUIT\r\n")
            data = b""
            while chunk := await stream.receive_some(4096):
                data += chunk
            assert f"+OK {host} plain".encode() in data
            await stream.aclose()
