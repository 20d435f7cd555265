"""HTTP listeners: the kernel's accept loop feeding hypercorn's trio server.

The kernel owns accepting, connection limits, the PROXY protocol and TLS for
HTTP as for every protocol; each accepted connection is then handed to
hypercorn's per-connection ``TCPServer`` with the one quart-trio application
that plugins mount routes on (``stalwart_mount_http``).

Implementation notes:

* ``hypercorn.trio.tcp_server.TCPServer``, ``WorkerContext`` and ``Lifespan``
  are hypercorn internals (its ``serve()`` insists on binding sockets itself);
  the dependency is pinned to a tested range in ``pyproject.toml``.
* The stream handed to hypercorn is an adapter over
  :class:`~kernel.net.connection.Connection`, so the client address hypercorn
  puts into the ASGI scope is the PROXY-protocol address, and TLS is already
  negotiated (hypercorn sees a finished handshake and the ALPN result).
* Guarantees HTTP cannot have: an HTTP/2 connection multiplexes requests, so
  per-connection limits count connections, not requests; ``limits.idle_timeout``
  becomes hypercorn's keep-alive timeout (time between requests).
* Shutdown: when the kernel starts draining, hypercorn is told to terminate,
  which closes idle keep-alive connections and lets requests in flight finish.
"""

from __future__ import annotations

import copy
import math
import socket
from typing import TYPE_CHECKING, Any, final

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import (
    ASGIFramework,
    ASGIReceiveCallable,
    ASGISendCallable,
    ASGISendEvent,
    ConnectionState,
    Scope,
)
from hypercorn.utils import wrap_app
from quart_trio import QuartTrio

from kernel.stash import StashKey

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel
    from kernel.net.connection import Connection

__all__ = ["HTTP_SERVER", "HttpServer", "serve_http"]


@final
class HttpServer:
    """The shared HTTP application and hypercorn's per-connection machinery."""

    def __init__(self, kernel: Kernel) -> None:
        self._kernel = kernel
        self.app = QuartTrio("stalwart_kernel")
        # Quart's app-wide 16 MiB body cap is meant for forms; every route here
        # enforces its own (reloadable) limit while it reads, e.g. JMAP's
        # maxSizeUpload, so the app-wide one would only cut larger limits short.
        self.app.config["MAX_CONTENT_LENGTH"] = None
        self.app.add_url_rule("/healthz", "healthz", _healthz)
        kernel.pm.hook.stalwart_mount_http(app=self.app, kernel=kernel)
        self._config = HypercornConfig()
        self._config.include_server_header = False
        self._config.accesslog = None
        self._wrapped = wrap_app(
            _shield_final_send(self.app), self._config.wsgi_max_body_size, "asgi"
        )
        self._context = WorkerContext(None)
        self._state: dict[str, Any] = {}
        self._lifespan = Lifespan(self._wrapped, self._config, self._state)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the application's lifespan; tell hypercorn to wind down on drain."""
        async with trio.open_nursery() as nursery:
            await nursery.start(self._lifespan.handle_lifespan)
            await self._lifespan.wait_for_startup()
            task_status.started()
            await self._kernel.wait_draining()
            await self._context.terminated.set()
            await trio.sleep_forever()

    async def shutdown(self) -> None:
        """Run the application's lifespan shutdown (``after_serving``)."""
        with trio.move_on_after(self._kernel.config["server"]["shutdown_timeout"]):
            await self._lifespan.wait_for_shutdown()

    async def serve(self, conn: Connection) -> None:
        """Serve HTTP/1.1 or HTTP/2 (by ALPN) on ``conn`` until it closes."""
        config = copy.copy(self._config)
        config.keep_alive_timeout = conn.idle_timeout
        stream = _TLSAdapter(conn) if conn.tls else _PlainAdapter(conn)
        await TCPServer(
            self._wrapped, config, self._context, ConnectionState(self._state.copy()), stream
        )


HTTP_SERVER: StashKey[HttpServer] = StashKey()


async def serve_http(conn: Connection) -> None:
    """The ``http`` protocol's ``serve``: delegate to the kernel's HTTP server."""
    await conn.kernel.stash[HTTP_SERVER].serve(conn)


def _shield_final_send(app: ASGIFramework) -> ASGIFramework:
    """Let the response's last ``send`` finish even though quart-trio cancels it.

    hypercorn ends an exchange inside the application's final ``send``: it tells the
    application the stream closed, then either re-arms the keep-alive timer (which also
    closes idle connections on shutdown) or closes the connection. quart-trio reacts to
    that "disconnect" by cancelling the task still inside ``send``, so without a shield
    neither happens: idle keep-alive connections stay open past ``limits.idle_timeout``
    and until the shutdown deadline, and ``Connection: close`` is not honoured. The
    shield adds no new unbounded wait: its one blocking step, writing the body, is
    shielded by hypercorn already.
    """

    async def asgi(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        async def send_shielded_at_end(message: ASGISendEvent) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                with trio.CancelScope(shield=True):
                    await send(message)
            else:
                await send(message)

        await app(scope, receive, send_shielded_at_end)

    return asgi


async def _healthz() -> tuple[str, int, dict[str, str]]:
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


@final
class _SocketView:
    """The bits of a socket hypercorn reads: family and the two addresses."""

    def __init__(self, conn: Connection) -> None:
        self.family = socket.AF_INET6 if ":" in conn.remote[0] else socket.AF_INET
        self._remote, self._local = conn.remote, conn.local

    def getpeername(self) -> tuple[str, int]:
        return self._remote

    def getsockname(self) -> tuple[str, int]:
        return self._local


class _PlainAdapter:
    """Presents a kernel connection as the stream hypercorn's TCPServer expects."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.socket = _SocketView(conn)

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        return await self._conn.receive_some(max_bytes or 65536, timeout=math.inf)

    async def send_all(self, data: bytes) -> None:
        await self._conn.send_all(data)

    async def send_eof(self) -> None:
        await self._conn.stream.send_eof()  # AttributeError on TLS: hypercorn expects that

    async def aclose(self) -> None:
        await self._conn.aclose()


@final
class _TLSAdapter(_PlainAdapter):
    """A TLS connection: handshake already done by the kernel."""

    @property
    def transport_stream(self) -> _TLSAdapter:
        return self

    async def do_handshake(self) -> None:
        await trio.lowlevel.checkpoint()

    def selected_alpn_protocol(self) -> str:
        assert self._conn.tls is not None
        return self._conn.tls.alpn or "http/1.1"
