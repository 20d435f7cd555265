"""Framing: command lines, DATA content and BDAT chunks, with their limits.

Every reader works on the engine's one input buffer (a ``bytearray``) and
consumes from its front, so input may arrive split at any byte.

Implementation notes (the SMTP smuggling defences):

* Only CRLF ends a line (RFC 5321 §2.3.8). A command line longer than the
  limit (RFC 5321 §4.5.3.1.4: 512 octets with CRLF, plus a configured
  allowance for extensions) is discarded up to its CRLF without buffering it,
  then reported once, so the reply comes in order.
* DATA ends only at ``<CRLF>.<CRLF>`` (RFC 5321 §4.1.1.4: ``<LF>.<LF>`` MUST NOT
  end it); a leading dot is removed from every other line (RFC 5321 §4.5.2).
  Bare CR, bare LF and NUL inside the content are *defects*: with the
  ``reject`` policy the content is read to its real end and then refused; with
  ``normalise`` a bare CR or LF becomes CRLF (the end of data is still only
  ``<CRLF>.<CRLF>``). NUL is always refused (RFC 5321 §4.1.1.4 allows the 128
  ASCII codes but RFC 6152 §3 keeps NUL out of 8-bit text too). BINARYMIME
  content (BDAT only, RFC 3030 §3) is arbitrary octets and is not checked.
* Text lines longer than 1000 octets are accepted (RFC 5321 §4.5.3.1: "impose
  no limits ... to the maximum extent possible"); only the total size is limited.
* Past the size limit content is counted and dropped, never buffered, so a
  client that ignores SIZE cannot exhaust memory; the defect is reported at
  the end of the data or chunk.
"""

from __future__ import annotations

import enum
import re
from typing import final

__all__ = ["TOO_LONG", "ChunkReader", "ContentSink", "DataReader", "Defect", "LineReader"]

_END = b".\r\n"
_BARE_NEWLINE = re.compile(rb"\r(?!\n)|(?<!\r)\n")


def _has_bare_newline(data: bytes) -> bool:
    """True if ``data`` holds a CR not followed by LF or an LF not preceded by CR.

    Three counts in C beat a regex scan with look-behind on large content: every
    CRLF holds one CR and one LF, so any other CR or LF is a bare one.
    """
    pairs = data.count(b"\r\n")
    return data.count(b"\r") != pairs or data.count(b"\n") != pairs


class _TooLong(enum.Enum):
    TOO_LONG = "too-long"


#: What :meth:`LineReader.next_line` returns for an over-long line.
TOO_LONG = _TooLong.TOO_LONG


class Defect(enum.StrEnum):
    """Why message content cannot be accepted as sent."""

    TOO_LARGE = "too-large"
    BARE_NEWLINE = "bare-newline"
    NUL = "nul"


@final
class ContentSink:
    """Collects message content, enforcing the size limit and the newline policy.

    Args:
        max_size: the most octets accepted (more are counted and dropped).
        normalise: turn bare CR and bare LF into CRLF instead of refusing them.
        binary: BINARYMIME content: arbitrary octets, nothing checked.
    """

    def __init__(self, max_size: int, *, normalise: bool = False, binary: bool = False) -> None:
        self.max_size = max_size
        self.normalise = normalise
        self.binary = binary
        self.size = 0
        self.defects: set[Defect] = set()
        self._parts: list[bytes] = []
        self._pending_cr = False

    @property
    def refused(self) -> bool:
        """True once the content can no longer be accepted."""
        return bool(self.defects)

    def write(self, piece: bytes | bytearray) -> None:
        """Add ``piece`` (never split inside a CRLF the caller saw whole)."""
        self.size += len(piece)
        if self.size > self.max_size:
            self.defects.add(Defect.TOO_LARGE)
        if self.defects:
            self._parts.clear()  # refused: keep counting, stop storing
            return
        data = bytes(piece)
        if self.binary:
            self._parts.append(data)
            return
        if self._pending_cr:
            data = b"\r" + data
        self._pending_cr = data.endswith(b"\r")
        if self._pending_cr:
            data = data[:-1]  # a CR at the end may pair with an LF in the next piece
        self._check(data)

    def _check(self, data: bytes) -> None:
        if b"\x00" in data:
            self.defects.add(Defect.NUL)
        elif _has_bare_newline(data):
            if not self.normalise:
                self.defects.add(Defect.BARE_NEWLINE)
            else:
                data = _BARE_NEWLINE.sub(b"\r\n", data)
        if self.defects:
            self._parts.clear()
        else:
            self._parts.append(data)

    def finish(self) -> bytes:
        """The content collected (empty once refused)."""
        if self._pending_cr:
            self._pending_cr = False
            self._check(b"\r")
        return b"".join(self._parts)


@final
class LineReader:
    """Takes CRLF-terminated lines off the buffer, discarding over-long ones."""

    def __init__(self) -> None:
        self._discarding = False

    def next_line(self, buf: bytearray, limit: int) -> bytes | _TooLong | None:
        """The next line without CRLF, :data:`TOO_LONG`, or None if incomplete.

        ``limit`` counts the CRLF (RFC 5321 §4.5.3.1.4).
        """
        end = buf.find(b"\r\n")
        if end < 0:
            if len(buf) > limit:
                keep = 1 if buf.endswith(b"\r") else 0
                del buf[: len(buf) - keep]
                self._discarding = True
            return None
        line = bytes(buf[:end])
        del buf[: end + 2]
        if self._discarding or end + 2 > limit:
            self._discarding = False
            return TOO_LONG
        return line

    def reset(self) -> None:
        """Forget a partly discarded line (the buffer was dropped)."""
        self._discarding = False


@final
class DataReader:
    """Reads DATA content up to ``<CRLF>.<CRLF>``, removing dot-stuffing, into a sink."""

    def __init__(self, sink: ContentSink) -> None:
        self.sink = sink
        self._line_start = True  # the DATA command's CRLF begins the first line

    def feed_from(self, buf: bytearray) -> bool:
        """Consume what can be consumed; True once the end of data was consumed."""
        sink = self.sink
        if self._line_start:
            if len(buf) < len(_END) and _END.startswith(bytes(buf)):
                return False
            if buf.startswith(_END):
                del buf[: len(_END)]
                return True
            if buf.startswith(b"."):
                del buf[:1]  # RFC 5321 §4.5.2: remove the transparency dot
            self._line_start = False
        start = pos = 0
        while (found := buf.find(b"\r\n.", pos)) >= 0:
            tail = bytes(buf[found + 3 : found + 5])
            if tail == b"\r\n":
                # RFC 5321 §4.1.1.4: <CRLF>.<CRLF> ends the mail data.
                sink.write(buf[start : found + 2])
                del buf[: found + 5]
                return True
            if len(tail) < 2 and b"\r\n".startswith(tail):
                sink.write(buf[start : found + 2])
                del buf[: found + 2]
                self._line_start = True
                return False
            sink.write(buf[start : found + 2])
            start = pos = found + 3  # skip the transparency dot
        if buf.endswith(b"\r\n") and len(buf) - start >= 2:
            sink.write(buf[start:])
            buf.clear()
            self._line_start = True
            return False
        end = len(buf) - 1 if buf.endswith(b"\r") else len(buf)
        if end > start:
            sink.write(buf[start:end])
        del buf[: max(end, start)]
        return False


@final
class ChunkReader:
    """Reads exactly ``size`` octets of a BDAT chunk (RFC 3030 §2) into a sink, or drops them."""

    def __init__(self, size: int, sink: ContentSink | None) -> None:
        self.remaining = size
        self.sink = sink

    def feed_from(self, buf: bytearray) -> bool:
        """Consume up to the chunk's end; True once every octet was read."""
        take = min(self.remaining, len(buf))
        if take:
            if self.sink is not None:
                self.sink.write(buf[:take])
            del buf[:take]
            self.remaining -= take
        return self.remaining == 0
