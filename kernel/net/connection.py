"""The connection object the kernel hands to a protocol's ``serve(conn)``.

Implementation notes:

* ``receive_some`` enforces the listener's idle timeout and raises
  :class:`IdleTimeout`, which a protocol may catch to say goodbye (SMTP 421,
  IMAP ``* BYE``); if it does not, the kernel closes the connection. Either
  way, a session that ends right after a timeout (``timed_out``) is reported
  to ``stalwart_connection_closed`` as ``idle-timeout``.
* Bytes the kernel read past a PROXY protocol header are returned first.
* ``start_tls`` discards whatever the kernel still buffers from before the
  handshake (RFC 3207 §4.2; RFC 2595 §3.1; RFC 9051 §6.2.1): a protocol engine
  must likewise drop its own buffer before calling it, so that commands
  pipelined in clear text after STARTTLS are never executed as if protected.
"""

from __future__ import annotations

import contextlib
import math
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, final

import trio

from kernel.telemetry import StructuredLogger

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel
    from kernel.net.listener import ListenerConfig
    from kernel.specs import ProtocolSpec

__all__ = ["Connection", "IdleTimeout", "TLSHandshakeFailed", "TLSInfo", "close_stream"]


class IdleTimeout(trio.TooSlowError):
    """The client sent nothing for the listener's idle timeout."""


class TLSHandshakeFailed(trio.BrokenResourceError):
    """A STARTTLS handshake failed or timed out; the connection is unusable."""


@final
@dataclass(frozen=True, slots=True)
class TLSInfo:
    """The negotiated TLS parameters of a connection."""

    version: str
    cipher: str
    alpn: str | None

    @classmethod
    def of(cls, stream: trio.SSLStream[Any]) -> TLSInfo:
        cipher = stream.cipher()
        return cls(
            version=stream.version() or "",
            cipher=cipher[0] if cipher else "",
            alpn=stream.selected_alpn_protocol(),
        )


@final
class Connection:
    """One accepted client connection.

    Attributes:
        id: a short unique id, also on every log line of the connection.
        kernel: the running kernel (configuration, store, events, metrics).
        listener: the listener's configuration as it was when accepted.
        protocol: the protocol spec serving it.
        local, remote: ``(ip, port)`` of this end and of the client (the
            client's real address when a trusted PROXY header gave it).
        tls: the TLS parameters once TLS is active, else ``None``.
        timed_out: True if the last ``receive_some`` raised :class:`IdleTimeout`.
        log: a structured logger bound to this connection.

    Resource handling: the kernel owns the stream and closes it after
    ``serve(conn)`` returns or raises; a protocol may close earlier with
    :meth:`aclose`.
    """

    def __init__(
        self,
        *,
        id: str,
        kernel: Kernel,
        listener: ListenerConfig,
        protocol: ProtocolSpec,
        stream: trio.abc.Stream,
        local: tuple[str, int],
        remote: tuple[str, int],
        log: StructuredLogger,
        tls_context: ssl.SSLContext | None = None,
        handshake_timeout: float = 30.0,
        buffered: bytes = b"",
    ) -> None:
        self.id = id
        self.kernel = kernel
        self.listener = listener
        self.protocol = protocol
        self.stream = stream
        self.local = local
        self.remote = remote
        self.log = log
        self.tls: TLSInfo | None = (
            TLSInfo.of(stream) if isinstance(stream, trio.SSLStream) else None
        )
        self._tls_context = tls_context
        self._handshake_timeout = handshake_timeout
        self._buffered = bytearray(buffered)
        self.timed_out = False

    @property
    def idle_timeout(self) -> float:
        """Seconds of client silence allowed (listener setting or protocol default)."""
        return self.listener.idle_timeout or self.protocol.idle_timeout

    @property
    def closing(self) -> bool:
        """True once the kernel is shutting down: finish the session soon."""
        return self.kernel.draining

    @property
    def can_start_tls(self) -> bool:
        """True if STARTTLS may be offered now (listener allows it, not yet TLS)."""
        return self.tls is None and self._tls_context is not None

    async def receive_some(self, max_bytes: int = 65536, *, timeout: float | None = None) -> bytes:
        """Receive up to ``max_bytes``; ``b""`` when the client closed.

        Raises:
            IdleTimeout: nothing arrived within ``timeout`` (default: the idle
                timeout); ``math.inf`` waits forever.
            trio.BrokenResourceError: the connection broke.
        """
        self.timed_out = False
        if self._buffered:
            await trio.lowlevel.checkpoint()
            data = bytes(self._buffered[:max_bytes])
            del self._buffered[:max_bytes]
            return data
        limit = self.idle_timeout if timeout is None else timeout
        with trio.move_on_after(limit if limit > 0 else math.inf) as scope:
            return await self.stream.receive_some(max_bytes)
        assert scope.cancelled_caught
        self.timed_out = True
        raise IdleTimeout(f"no data for {limit:g}s")

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Send all of ``data``."""
        await self.stream.send_all(data)

    async def start_tls(self) -> None:
        """Upgrade to TLS (after the protocol's "go ahead" reply was sent).

        Discards any bytes still buffered from before the handshake (RFC 3207
        §4.2), then performs the server handshake.

        Raises:
            RuntimeError: the listener does not allow STARTTLS or TLS is active.
            TLSHandshakeFailed: the handshake failed or did not finish in time
                (a ``trio.BrokenResourceError``: the connection is unusable).
        """
        if not self.can_start_tls:
            raise RuntimeError("STARTTLS is not available on this connection")
        assert self._tls_context is not None
        if self._buffered:
            # RFC 3207 §4.2: data sent before the TLS handshake must be discarded.
            self.log.warning("starttls-discarded", bytes=len(self._buffered))
            self._buffered.clear()
        stream = trio.SSLStream(self.stream, self._tls_context, server_side=True)
        with trio.move_on_after(self._handshake_timeout) as scope:
            try:
                await stream.do_handshake()
            except trio.BrokenResourceError as exc:
                raise TLSHandshakeFailed(f"TLS handshake failed: {exc.__cause__ or exc}") from exc
        if scope.cancelled_caught:
            raise TLSHandshakeFailed("TLS handshake timed out")
        self.stream = stream
        self.tls = TLSInfo.of(stream)
        self.log = self.log.bind(tls=self.tls.version)
        self.log.debug("starttls", cipher=self.tls.cipher)

    async def aclose(self) -> None:
        """Close the connection (sending a TLS close_notify, for at most a second)."""
        await close_stream(self.stream)


async def close_stream(stream: trio.abc.Stream) -> None:
    """Close ``stream``; for TLS, try to send close_notify first (bounded, shielded)."""
    with trio.CancelScope(shield=True):
        if isinstance(stream, trio.SSLStream):
            closing_errors = (
                trio.BrokenResourceError,
                trio.ClosedResourceError,
                trio.BusyResourceError,
            )
            with trio.move_on_after(1), contextlib.suppress(*closing_errors):
                await stream.aclose()
            stream = stream.transport_stream  # closed by now unless aclose gave up
        await trio.aclose_forcefully(stream)
