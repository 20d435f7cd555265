"""The kernel's own hook implementations, registered in every plugin manager.

They make the kernel's built-in services look like any plugin's: the ``http``
protocol (served by :mod:`kernel.net.http`) and the in-process ``local`` event
bus (:mod:`kernel.events`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import trio

from kernel.events import LocalEventBus
from kernel.hookspecs import hookimpl
from kernel.net.http import HTTP_SERVER, HttpServer, serve_http
from kernel.specs import BackendSpec, ProtocolSpec

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel

# RFC 9110 §15.6.4: 503 tells the client (or balancer) to come back later.
_HTTP_BUSY = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


@hookimpl
def stalwart_register_protocols() -> list[ProtocolSpec]:
    return [
        ProtocolSpec(
            name="http",
            serve=serve_http,
            tls_modes=frozenset({"none", "implicit"}),
            idle_timeout=60.0,
            busy_reply=_HTTP_BUSY,
            alpn=("h2", "http/1.1"),
        )
    ]


@asynccontextmanager
async def _open_local_bus(kernel: Kernel) -> AsyncIterator[LocalEventBus]:
    bus = LocalEventBus()
    try:
        yield bus
    finally:
        bus.close()


@hookimpl
def stalwart_register_backends() -> list[BackendSpec]:
    return [BackendSpec(kind="events", name="local", open=_open_local_bus)]


@hookimpl
def stalwart_startup(kernel: Kernel) -> Callable[..., Awaitable[None]]:
    server = HttpServer(kernel)
    kernel.stash[HTTP_SERVER] = server

    async def run(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await server.run(task_status=task_status)

    return run


@hookimpl
def stalwart_shutdown(kernel: Kernel) -> Callable[[], Awaitable[None]] | None:
    server = kernel.stash.get(HTTP_SERVER, None)
    return server.shutdown if server is not None else None
