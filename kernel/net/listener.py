"""One configured listener: bound sockets, accept loops and the per-connection pipeline.

Theory of operation, per accepted connection (each its own task in the kernel's
session nursery, so stopping a listener never drops its live sessions):

1. count it against ``server.max_connections`` and the listener's
   ``limits.max_connections``; over a limit, send the protocol's busy reply (if
   the connection is not implicit TLS) and close;
2. if the peer is in ``proxy_protocol.trusted_networks``, read a PROXY v1/v2
   header (within ``proxy_protocol.timeout``) and take the client address from
   it; other peers are never asked for one, so they cannot spoof an address;
3. count it against ``limits.max_connections_per_ip`` for the client address;
4. for ``tls: implicit``, complete the TLS handshake;
5. run ``protocol.serve(conn)``; whatever happens, close the stream, release
   the counts, log one ``closed`` line and call ``stalwart_connection_closed``.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, final

import trio

from kernel.net.connection import Connection, IdleTimeout, TLSHandshakeFailed, close_stream
from kernel.net.proxy import ProxyHeaderReader, ProxyProtocolError, is_trusted
from kernel.telemetry import new_connection_id

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel
    from kernel.specs import ProtocolSpec

__all__ = ["Listener", "ListenerConfig", "parse_bind"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_ACCEPT_RESOURCE_ERRORS = {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}


def parse_bind(text: str) -> tuple[str | None, int]:
    """``"127.0.0.1:25"``, ``"[::1]:25"``, ``"*:25"`` -> ``(host or None, port)``.

    Raises:
        ValueError: malformed address or port.
    """
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r} is not HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        ipaddress.IPv6Address(host)
    elif ":" in host:
        raise ValueError(f"{text!r}: write IPv6 addresses in brackets, e.g. [::1]:25")
    return (None if host in ("", "*") else host), int(port_text)


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    """A listener's resolved options (from ``listeners.<name>``)."""

    name: str
    binds: tuple[tuple[str | None, int], ...]
    protocol: str
    tls: str
    role: str | None
    enabled: bool
    certificates: tuple[str, ...] | None
    trusted_networks: tuple[Network, ...]
    proxy_timeout: float
    max_connections: int
    max_connections_per_ip: int
    idle_timeout: float | None

    @classmethod
    def from_options(cls, name: str, options: Mapping[str, Any]) -> ListenerConfig:
        """Build from a resolved ``listeners.<name>`` mapping.

        Raises:
            ValueError: a bind address or network is malformed (message says which).
        """
        bind = options["bind"]
        binds = tuple(parse_bind(b) for b in ((bind,) if isinstance(bind, str) else bind))
        proxy = options["proxy_protocol"]
        limits = options["limits"]
        certs = options["certificates"]
        return cls(
            name=name,
            binds=binds,
            protocol=options["protocol"],
            tls=options["tls"],
            role=options["role"],
            enabled=options["enabled"],
            certificates=tuple(certs) if certs is not None else None,
            trusted_networks=tuple(
                ipaddress.ip_network(n, strict=False) for n in proxy["trusted_networks"]
            ),
            proxy_timeout=proxy["timeout"],
            max_connections=limits["max_connections"],
            max_connections_per_ip=limits["max_connections_per_ip"],
            idle_timeout=limits["idle_timeout"],
        )


@final
class Listener:
    """A bound listener. The kernel's listener set creates, updates and stops it.

    Resource handling: owns its sockets from construction; :meth:`serve` closes
    them when its scope is cancelled (``stop``); :meth:`close_unstarted` closes
    them if it was bound but never served (an aborted reload).
    """

    def __init__(
        self,
        kernel: Kernel,
        config: ListenerConfig,
        protocol: ProtocolSpec,
        sockets: list[trio.SocketListener],
        tls_context: ssl.SSLContext | None,
    ) -> None:
        self.kernel = kernel
        self.config = config
        self.protocol = protocol
        self.tls_context = tls_context
        self._sockets = sockets
        self._scope = trio.CancelScope()
        self.addresses: list[tuple[str, int]] = [s.socket.getsockname()[:2] for s in sockets]

    def update(
        self, config: ListenerConfig, protocol: ProtocolSpec, tls_context: ssl.SSLContext | None
    ) -> None:
        """Apply new options that keep the same sockets (limits, TLS, ...)."""
        self.config = config
        self.protocol = protocol
        self.tls_context = tls_context

    async def close_unstarted(self) -> None:
        for sock in self._sockets:
            await sock.aclose()

    def stop(self) -> None:
        """Stop accepting and close the sockets; live sessions carry on."""
        self._scope.cancel()

    async def serve(
        self,
        sessions: trio.Nursery,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Accept until stopped, spawning each connection into ``sessions``."""
        with self._scope:
            try:
                async with trio.open_nursery() as loops:
                    for sock in self._sockets:
                        loops.start_soon(self._accept_loop, sock, sessions)
                    task_status.started()
            finally:
                with trio.CancelScope(shield=True):
                    for sock in self._sockets:
                        await sock.aclose()

    async def _accept_loop(self, sock: trio.SocketListener, sessions: trio.Nursery) -> None:
        log = self.kernel.logger("net", listener=self.config.name)
        while True:
            try:
                stream = await sock.accept()
            except OSError as exc:
                if exc.errno not in _ACCEPT_RESOURCE_ERRORS:
                    raise
                log.error("accept-failed", error=exc.strerror)
                await trio.sleep(0.1)  # wait for a descriptor to be freed, as trio does
                continue
            sessions.start_soon(self._handle, stream)

    async def _handle(self, stream: trio.SocketStream) -> None:
        kernel, config, protocol = self.kernel, self.config, self.protocol
        conn_id = new_connection_id()
        peer = stream.socket.getpeername()
        remote: tuple[str, int] = (peer[0], peer[1])
        local: tuple[str, int] = tuple(stream.socket.getsockname()[:2])  # type: ignore[assignment]
        log = kernel.logger("net", conn=conn_id, listener=config.name)
        counter = kernel.connection_counter
        held: list[object] = []
        started = trio.current_time()
        error: str | None = None
        active: trio.abc.Stream = stream
        try:
            for key, limit in (
                (("server",), kernel.config["server"]["max_connections"]),
                (("listener", config.name), config.max_connections),
            ):
                if not counter.try_acquire(key, limit):
                    error = "limit"
                    await self._refuse(stream, log, key[0])
                    return
                held.append(key)
            buffered = b""
            if config.trusted_networks and is_trusted(remote[0], config.trusted_networks):
                try:
                    source, destination, buffered = await _read_proxy_header(
                        stream, config.proxy_timeout
                    )
                except (ProxyProtocolError, trio.TooSlowError, trio.BrokenResourceError) as exc:
                    error = "proxy-header"
                    log.warning("proxy-header-rejected", remote=remote[0], error=str(exc))
                    return
                if source is not None and destination is not None:
                    remote, local = source, destination
            log = log.bind(remote=remote[0])
            ip_key = ("ip", config.name, remote[0])
            if not counter.try_acquire(ip_key, config.max_connections_per_ip):
                error = "limit"
                await self._refuse(stream, log, "ip")
                return
            held.append(ip_key)
            if config.tls == "implicit":
                assert self.tls_context is not None
                # Bytes after a PROXY header are the start of the TLS handshake.
                transport = _PrefixedStream(stream, buffered) if buffered else stream
                buffered = b""
                active = trio.SSLStream(
                    transport,
                    self.tls_context,
                    server_side=True,
                    https_compatible=protocol.name == "http",
                )
                try:
                    with trio.fail_after(kernel.config["tls"]["handshake_timeout"]):
                        await active.do_handshake()  # type: ignore[attr-defined]
                except (trio.BrokenResourceError, trio.TooSlowError) as exc:
                    error = "tls-handshake"
                    log.info("tls-handshake-failed", error=str(exc.__cause__ or exc))
                    return
            conn = Connection(
                id=conn_id,
                kernel=kernel,
                listener=config,
                protocol=protocol,
                stream=active,
                local=local,
                remote=remote,
                log=log,
                tls_context=self.tls_context if config.tls == "starttls" else None,
                handshake_timeout=kernel.config["tls"]["handshake_timeout"],
                buffered=buffered,
            )
            log.info("connected", port=local[1], tls=conn.tls.version if conn.tls else None)
            kernel.metrics_connections.labels(config.name, protocol.name).inc()
            try:
                await protocol.serve(conn)
            finally:
                active = conn.stream
            if conn.timed_out:  # the protocol caught IdleTimeout to say goodbye
                error = "idle-timeout"
        except IdleTimeout:
            error = "idle-timeout"
        except TLSHandshakeFailed:
            error = "tls-handshake"
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            error = "disconnected"
        except Exception as exc:  # a protocol bug must not take the server down
            error = type(exc).__name__
            log.exception("session-failed")
        finally:
            await close_stream(active)
            for key in held:
                counter.release(key)
            duration = trio.current_time() - started
            log.info("closed", duration=round(duration, 3), error=error)
            kernel.pm.hook.stalwart_connection_closed(
                kernel=kernel,
                listener=config.name,
                protocol=protocol.name,
                remote=remote[0],
                duration=duration,
                error=error,
            )

    async def _refuse(self, stream: trio.SocketStream, log: Any, which: str) -> None:
        log.warning("connection-refused", limit=which)
        self.kernel.metrics_refused.labels(self.config.name, which).inc()
        reply = self.protocol.busy_reply
        if reply and self.config.tls != "implicit":
            with trio.move_on_after(1), contextlib.suppress(trio.BrokenResourceError):
                await stream.send_all(reply)
                # Closing with unread client bytes (an HTTP request) makes the OS send a
                # reset, which can destroy the reply before the client reads it:
                # half-close and drain until the client closes too (a lingering close).
                await stream.send_eof()
                while await stream.receive_some(4096):
                    pass


@final
class _PrefixedStream(trio.abc.Stream):
    """A stream that first returns ``prefix``, then reads from ``stream``."""

    def __init__(self, stream: trio.SocketStream, prefix: bytes) -> None:
        self.transport_stream = stream
        self.socket = stream.socket
        self._prefix = prefix

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._prefix:
            size = len(self._prefix) if max_bytes is None else max_bytes
            data, self._prefix = self._prefix[:size], self._prefix[size:]
            await trio.lowlevel.checkpoint()
            return data
        return await self.transport_stream.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.transport_stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.transport_stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self.transport_stream.send_eof()

    async def aclose(self) -> None:
        await self.transport_stream.aclose()


async def _read_proxy_header(
    stream: trio.SocketStream, timeout: float
) -> tuple[tuple[str, int] | None, tuple[str, int] | None, bytes]:
    """Read a PROXY header; returns (source, destination, bytes after it)."""
    reader = ProxyHeaderReader()
    with trio.fail_after(timeout):
        while True:
            data = await stream.receive_some(4096)
            if not data:
                raise trio.BrokenResourceError("closed before the PROXY header")
            header = reader.feed(data)
            if header is not None:
                return header.source, header.destination, reader.remainder
