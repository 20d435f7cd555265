"""End-to-end HTTP through the kernel's hypercorn bridge on real loopback sockets.

httpx runs on trio (through anyio), so the tests drive real HTTP clients; raw sockets
are used where the client must send something httpx cannot (a PROXY header).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx
import quart
import trio
import trustme

from kernel import hookimpl
from kernel.lifecycle import Kernel
from kernel.testing import listener_address, run_kernel

TIMEOUT = 10


def _listener(**options: Any) -> dict[str, Any]:
    return {"listeners": {"web": {"bind": "127.0.0.1:0", "protocol": "http", **options}}}


def _url(kernel: Kernel, path: str, scheme: str = "http", host: str | None = None) -> str:
    address, port = listener_address(kernel, "web")
    return f"{scheme}://{host or address}:{port}{path}"


def _tls_config(ca: trustme.CA) -> dict[str, Any]:
    cert = ca.issue_cert("localhost", "127.0.0.1")
    config = _listener(tls="implicit")
    config["tls"] = {
        "certificates": {
            "main": {
                "cert": "".join(b.bytes().decode() for b in cert.cert_chain_pems),
                "key": cert.private_key_pem.bytes().decode(),
            }
        }
    }
    return config


class _WhoAmI:
    """A throwaway plugin mounting ``/whoami``: the client address hypercorn saw."""

    def __init__(self) -> None:
        self.kernels: list[Kernel] = []

    @hookimpl
    def stalwart_mount_http(self, app: quart.Quart, kernel: Kernel) -> None:
        self.kernels.append(kernel)

        @app.route("/whoami")
        async def whoami() -> str:
            return f"{quart.request.remote_addr} {quart.request.scheme}"


async def _raw_http(kernel: Kernel, payload: bytes) -> bytes:
    """Send ``payload`` on a raw connection and read the response until close."""
    stream = await trio.open_tcp_stream(*listener_address(kernel, "web"))
    async with stream:
        await stream.send_all(payload)
        data = b""
        while chunk := await stream.receive_some(4096):
            data += chunk
    return data


async def test_http_healthz_plain(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with (
            run_kernel(tmp_path, config=_listener()) as kernel,
            httpx.AsyncClient() as client,
        ):
            response = await client.get(_url(kernel, "/healthz"))
            assert response.status_code == 200
            assert response.text == "ok\n"
            assert response.headers["content-type"].startswith("text/plain")
            assert "server" not in response.headers
            missing = await client.get(_url(kernel, "/no-such-page"))
            assert missing.status_code == 404


async def test_http_healthz_implicit_tls(tmp_path: Path) -> None:
    ca = trustme.CA()
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    with trio.fail_after(TIMEOUT):
        async with (
            run_kernel(tmp_path, config=_tls_config(ca)) as kernel,
            httpx.AsyncClient(verify=ctx) as client,
        ):
            response = await client.get(_url(kernel, "/healthz", "https", "localhost"))
            assert response.status_code == 200
            assert response.text == "ok\n"
            assert response.http_version == "HTTP/1.1"


async def test_http_implicit_tls_negotiates_http2_by_alpn(tmp_path: Path) -> None:
    ca = trustme.CA()
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    with trio.fail_after(TIMEOUT):
        async with (
            run_kernel(tmp_path, plugins={"whoami": _WhoAmI()}, config=_tls_config(ca)) as kernel,
            httpx.AsyncClient(verify=ctx, http2=True) as client,
        ):
            for path, body in (("/healthz", "ok\n"), ("/whoami", "127.0.0.1 https")):
                response = await client.get(_url(kernel, path, "https", "localhost"))
                assert response.http_version == "HTTP/2"
                assert response.text == body
            assert kernel.connection_counter.count(("listener", "web")) == 1


async def test_http_tls_route_sees_https_scheme(tmp_path: Path) -> None:
    ca = trustme.CA()
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    with trio.fail_after(TIMEOUT):
        async with (
            run_kernel(tmp_path, plugins={"whoami": _WhoAmI()}, config=_tls_config(ca)) as kernel,
            httpx.AsyncClient(verify=ctx) as client,
        ):
            response = await client.get(_url(kernel, "/whoami", "https", "localhost"))
            assert response.text == "127.0.0.1 https"


async def test_hook_stalwart_mount_http(tmp_path: Path) -> None:
    plugin = _WhoAmI()
    config = _listener(proxy_protocol={"trusted_networks": ["127.0.0.0/8"]})
    with trio.fail_after(TIMEOUT):
        async with run_kernel(tmp_path, plugins={"whoami": plugin}, config=config) as kernel:
            assert plugin.kernels == [kernel]
            response = await _raw_http(
                kernel,
                b"PROXY TCP4 203.0.113.7 192.0.2.1 56324 80\r\n"
                b"GET /whoami HTTP/1.1\r\nHost: example.org\r\nConnection: close\r\n\r\n",
            )
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert body == b"203.0.113.7 http"


async def test_http_untrusted_proxy_header_is_not_interpreted(tmp_path: Path) -> None:
    config = _listener(proxy_protocol={"trusted_networks": ["10.0.0.0/8"]})
    with trio.fail_after(TIMEOUT):
        async with run_kernel(tmp_path, plugins={"whoami": _WhoAmI()}, config=config) as kernel:
            response = await _raw_http(
                kernel,
                b"PROXY TCP4 203.0.113.7 192.0.2.1 56324 80\r\n"
                b"GET /whoami HTTP/1.1\r\nHost: example.org\r\nConnection: close\r\n\r\n",
            )
            assert response.startswith(b"HTTP/1.1 400")
            async with httpx.AsyncClient() as client:
                ok = await client.get(_url(kernel, "/whoami"))
                assert ok.text == "127.0.0.1 http"


async def test_http_keep_alive_reuses_connection(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with (
            run_kernel(tmp_path, config=_listener()) as kernel,
            httpx.AsyncClient() as client,
        ):
            for _ in range(3):
                response = await client.get(_url(kernel, "/healthz"))
                assert response.status_code == 200
            metrics = kernel.metrics.render().decode()
            assert 'stalwart_connections_total{listener="web",protocol="http"} 1.0' in metrics
            assert kernel.connection_counter.count(("listener", "web")) == 1


async def test_http_busy_reply_when_over_limit(tmp_path: Path) -> None:
    config = _listener(limits={"max_connections": 1})
    with trio.fail_after(TIMEOUT):
        async with (
            run_kernel(tmp_path, config=config) as kernel,
            httpx.AsyncClient() as client,
        ):
            assert (await client.get(_url(kernel, "/healthz"))).status_code == 200
            # The pooled keep-alive connection holds the only slot.
            response = await _raw_http(kernel, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert response.startswith(b"HTTP/1.1 503 ")


async def test_http_shutdown_closes_idle_keep_alive_promptly(tmp_path: Path) -> None:
    # server.shutdown_timeout is 5s in test kernels: finishing well within 3s shows the
    # idle keep-alive connection was closed at once rather than cancelled at the deadline.
    async with httpx.AsyncClient() as client:
        with trio.fail_after(3):
            async with run_kernel(tmp_path, config=_listener()) as kernel:
                response = await client.get(_url(kernel, "/healthz"))
                assert response.status_code == 200
                assert kernel.connection_counter.count(("listener", "web")) == 1
            assert kernel.connection_counter.count(("listener", "web")) == 0


async def test_http_idle_keep_alive_closed_after_idle_timeout(tmp_path: Path) -> None:
    config = _listener(limits={"idle_timeout": "200ms"})
    with trio.fail_after(TIMEOUT):
        async with run_kernel(tmp_path, config=config) as kernel:
            stream = await trio.open_tcp_stream(*listener_address(kernel, "web"))
            async with stream:
                for _ in range(2):  # the timer is re-armed after each exchange
                    await stream.send_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    response = b""
                    while not response.endswith(b"\r\n\r\nok\n"):
                        chunk = await stream.receive_some(4096)
                        assert chunk, f"closed early after {response!r}"
                        response += chunk
                    assert response.startswith(b"HTTP/1.1 200 ")
                # Then silence: the kernel closes the idle keep-alive connection.
                assert await stream.receive_some(4096) == b""
            while kernel.connection_counter.count(("listener", "web")):
                await trio.sleep(0.01)
