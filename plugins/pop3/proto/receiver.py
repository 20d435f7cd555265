"""Framing: bytes in, complete lines out, with a length limit.

Implementation notes:

* Lines end with LF; a CR before it is dropped. A bare LF is accepted, as
  most POP3 servers do, because some clients send it.
* A line longer than the limit is not buffered: its bytes are dropped as they
  arrive and, once its end arrives, :data:`TOO_LONG` is returned in its place,
  so the client gets exactly one reply per line it sent and memory stays
  bounded by the limit.
* The limit can change between lines: a SASL response line may be far longer
  than a command (RFC 5034 §4: "these BASE64 strings may be of arbitrary
  length").
"""

from __future__ import annotations

import enum
from typing import Final, final

__all__ = ["NEED_DATA", "TOO_LONG", "LineReceiver", "Signal"]


class Signal(enum.Enum):
    """What :meth:`LineReceiver.next_line` returns instead of a line."""

    NEED_DATA = "need-data"
    TOO_LONG = "too-long"


#: No complete line is buffered yet.
NEED_DATA: Final = Signal.NEED_DATA
#: The next line was longer than the limit (its bytes were discarded).
TOO_LONG: Final = Signal.TOO_LONG


@final
class LineReceiver:
    """Splits a byte stream into lines of at most ``limit`` bytes (without the line end)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._buffer = bytearray()
        self._discarding = False
        self.closed = False

    def receive_data(self, data: bytes) -> None:
        """Add bytes from the client; ``b""`` means the client closed its side."""
        if not data:
            self.closed = True
            return
        self._buffer += data

    def next_line(self, limit: int | None = None) -> bytes | Signal:
        """The next line, :data:`TOO_LONG`, or :data:`NEED_DATA`."""
        limit = self.limit if limit is None else limit
        end = self._buffer.find(b"\n")
        if end < 0:
            if len(self._buffer) > limit + 1:  # + 1: room for a CR
                self._buffer.clear()
                self._discarding = True
            return NEED_DATA
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        if line.endswith(b"\r"):
            line = line[:-1]
        if self._discarding or len(line) > limit:
            self._discarding = False
            return TOO_LONG
        return line

    @property
    def buffered(self) -> int:
        """How many bytes wait in the buffer."""
        return len(self._buffer)

    def drop_buffer(self) -> int:
        """Forget everything buffered (before a TLS handshake); returns how many bytes."""
        size = len(self._buffer)
        self._buffer.clear()
        self._discarding = False
        return size
