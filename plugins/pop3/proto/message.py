"""A message as a POP3 multi-line body: CRLF line ends, byte-stuffed, optionally cut (TOP).

:class:`MessageEncoder` is fed the stored bytes chunk by chunk and returns
what to send, so a message of any size streams through a small buffer.

Implementation notes:

* RFC 1939 §3: every line that starts with ``.`` gets one more ``.``; the
  body ends with ``CRLF.CRLF``, so a message not ending in a line end gets one.
* RFC 1939 §11 and RFC 5322 §2.1: lines end in CRLF on the wire. A bare LF or
  a bare CR becomes CRLF. A CR at the end of a chunk is held back until the
  next chunk shows whether an LF follows, so a CRLF split between chunks is
  never doubled.
* RFC 1939 §7 (TOP): the header, the blank line after it, then at most
  ``lines`` lines of the body. A message with no blank line is all header and
  is sent whole. Once the limit is reached :attr:`MessageEncoder.done` is set
  and the rest of the message need not be read.
* Byte-stuffing and line counting work on whole chunks with ``bytes``
  methods (C speed); only the header is walked line by line, for TOP.
"""

from __future__ import annotations

import re
from typing import Final, final

__all__ = ["MessageEncoder", "header_needs_utf8"]

_LINE_END: Final = re.compile(rb"\r\n|\r|\n")
_HEADER_END: Final = re.compile(rb"\r?\n\r?\n|\r\r")


@final
class MessageEncoder:
    """Turns stored message bytes into a POP3 multi-line body.

    Args:
        body_lines: TOP's line count, or None for the whole message (RETR).
    """

    def __init__(self, body_lines: int | None = None) -> None:
        self._limit = body_lines
        self._in_header = body_lines is not None
        self._line_start = True
        self._pending_cr = False
        self.done = False

    def feed(self, chunk: bytes) -> bytes:
        """The bytes to send for the next ``chunk`` of the stored message."""
        if self.done:
            return b""
        data = b"\r" + chunk if self._pending_cr else chunk
        self._pending_cr = data.endswith(b"\r")
        if self._pending_cr:
            data = data[:-1]
        if not data:
            return b""
        data = _LINE_END.sub(b"\r\n", data)
        if self._limit is not None:
            data = self._cut(data)
        return self._stuff(data)

    def finish(self) -> bytes:
        """The last bytes: a held-back line end, a missing final CRLF, and ``.CRLF``."""
        out = b""
        if self._pending_cr and not self.done:
            out = b"\r\n"
            self._line_start = True
        self._pending_cr = False
        if not self._line_start:
            out += b"\r\n"
        self.done = True
        return out + b".\r\n"

    def _stuff(self, data: bytes) -> bytes:
        stuffed = data.replace(b"\r\n.", b"\r\n..")
        if self._line_start and data.startswith(b"."):
            stuffed = b"." + stuffed
        self._line_start = data.endswith(b"\r\n")
        return stuffed

    def _cut(self, data: bytes) -> bytes:
        """Keep the header and ``self._limit`` more lines of ``data`` (CRLF-normalised)."""
        assert self._limit is not None
        pos = 0
        line_start = self._line_start
        while self._in_header and pos < len(data):
            if line_start and data.startswith(b"\r\n", pos):
                self._in_header = False  # the blank line; it is sent
                pos += 2
                break
            end = data.find(b"\r\n", pos)
            if end < 0:
                return data
            pos, line_start = end + 2, True
        if self._in_header:
            return data
        if self._limit == 0:
            self.done = True
            return data[:pos]
        rest = data.count(b"\r\n", pos)
        if rest < self._limit:
            self._limit -= rest
            return data
        end = pos
        for _ in range(self._limit):
            end = data.index(b"\r\n", end) + 2
        self._limit = 0
        self.done = True
        return data[:end]


def header_needs_utf8(prefix: bytes) -> bool | None:
    """Whether the header in ``prefix`` (the message's first bytes) holds 8-bit octets.

    RFC 6856 §2.1 and §5: such a message (RFC 6532 UTF-8 headers) needs UTF-8
    mode. Returns None while ``prefix`` does not yet hold the end of the header.
    """
    if prefix.startswith((b"\n", b"\r")):
        return False  # an empty header
    match = _HEADER_END.search(prefix)
    if match is None:
        return None
    return not prefix[: match.start()].isascii()
