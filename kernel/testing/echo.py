"""``echo``: a minimal line protocol for tests and as an example for plugin authors.

It shows the shape every protocol plugin takes (STYLE.md §1.2, §1.4): a sans-IO
engine that owns framing and limits, a thin trio driver, and a hook returning a
:class:`~kernel.specs.ProtocolSpec`. Commands (one per CRLF-terminated line):

* ``ECHO <text>`` -> ``+OK <text>``
* ``WHO`` -> ``+OK <remote ip> <tls version or "plain">``
* ``STARTTLS`` -> ``+OK begin TLS`` and the TLS handshake (RFC 3207 §4.2: bytes
  the client pipelined after the command are discarded, never executed)
* ``QUIT`` -> ``+OK bye`` and close; anything else -> ``-ERR unknown command``.

The greeting is ``+OK <listener name> ready``; a line longer than
:data:`MAX_LINE` gets ``-ERR line too long`` and is skipped.
"""

from __future__ import annotations

from typing import final

from kernel.hookspecs import hookimpl
from kernel.net.connection import Connection, IdleTimeout
from kernel.specs import ProtocolSpec

__all__ = ["MAX_LINE", "EchoEngine", "plugin"]

MAX_LINE = 1000


@final
class EchoEngine:
    """Sans-IO framing: bytes in, complete lines (or ``None`` for "too long") out."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._discarding = False

    def receive_data(self, data: bytes) -> None:
        self._buffer += data

    def next_line(self) -> bytes | bool | None:
        """A line without CRLF; ``None`` for an overlong line; ``False`` if incomplete."""
        end = self._buffer.find(b"\n")
        if end < 0:
            if len(self._buffer) > MAX_LINE:
                self._buffer.clear()
                self._discarding = True
            return False
        line = bytes(self._buffer[:end]).rstrip(b"\r")
        del self._buffer[: end + 1]
        if self._discarding or len(line) > MAX_LINE:
            self._discarding = False
            return None
        return line

    def drop_buffer(self) -> int:
        """Forget buffered bytes (before a TLS handshake); returns how many."""
        size = len(self._buffer)
        self._buffer.clear()
        return size


async def serve(conn: Connection) -> None:
    """Drive :class:`EchoEngine` over ``conn``."""
    engine = EchoEngine()
    await conn.send_all(f"+OK {conn.listener.name} ready\r\n".encode())
    while True:
        line = engine.next_line()
        if line is False:
            try:
                data = await conn.receive_some()
            except IdleTimeout:
                await conn.send_all(b"-ERR idle timeout\r\n")
                return
            if not data:
                return
            engine.receive_data(data)
            continue
        if line is None:
            await conn.send_all(b"-ERR line too long\r\n")
            continue
        verb, _, arg = bytes(line).partition(b" ")
        verb = verb.upper()
        if verb == b"ECHO":
            await conn.send_all(b"+OK " + arg + b"\r\n")
        elif verb == b"WHO":
            tls = conn.tls.version if conn.tls else "plain"
            await conn.send_all(f"+OK {conn.remote[0]} {tls}\r\n".encode())
        elif verb == b"STARTTLS" and conn.can_start_tls:
            await conn.send_all(b"+OK begin TLS\r\n")
            # RFC 3207 §4.2: discard what the client sent before the handshake.
            engine.drop_buffer()
            await conn.start_tls()
        elif verb == b"QUIT":
            await conn.send_all(b"+OK bye\r\n")
            return
        else:
            await conn.send_all(b"-ERR unknown command\r\n")


@final
class _EchoPlugin:
    @hookimpl
    def stalwart_register_protocols(self) -> list[ProtocolSpec]:
        return [
            ProtocolSpec(
                name="echo",
                serve=serve,
                idle_timeout=60.0,
                busy_reply=b"-ERR too many connections\r\n",
            )
        ]


#: The plugin object; tests pass ``{"echo": plugin}`` to ``run_kernel``.
plugin = _EchoPlugin()
