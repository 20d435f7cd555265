"""The IMAP command receiver: bytes in, one event at a time out (sans-IO, STYLE.md §1.4).

The driver feeds what it reads with :meth:`Receiver.receive_data` and then calls
:meth:`Receiver.next_event` until it returns :data:`NEED_DATA` (read more) or
:data:`CLOSED` (the client is gone). The events are:

* a parsed command (a dataclass of :mod:`plugins.imap.proto.commands`);
* :class:`SendContinuation`: the command has a synchronizing literal; send
  ``+ <text>`` and read on (RFC 9051 §4.3, §7.6);
* :class:`CommandError`: the command (or the line) is rejected; send
  ``<tag> BAD [<code>] <text>`` (``* BAD`` without a tag); with ``close`` set, send
  ``* BYE [<code>] <text>`` and close the connection instead;
* :class:`RawLine`: after :meth:`Receiver.expect_line`, the next line as sent (an
  AUTHENTICATE response, RFC 9051 §6.2.2, or IDLE's ``DONE``, RFC 9051 §6.3.13).

Implementation notes:

* **One command at a time.** The receiver assembles one complete command (its lines
  and literals) and parses it only when asked; the driver calls ``receive_data`` only
  after ``NEED_DATA`` (as with h11), so the buffer never holds more than one read
  beyond the current command. Pipelined commands wait in the buffer.
* **Literals.** ``{n}`` (synchronizing), ``{n+}`` (non-synchronizing, RFC 7888 §3;
  with ``literal_mode="LITERAL-"`` only up to 4096 octets, RFC 7888 §5 and RFC 9051
  §4.3; with ``"none"`` not at all) and ``~{n}``/``~{n+}`` (literal8, RFC 3516 §7,
  the non-synchronizing form per RFC 7888 §6).
* **Limits.** ``max_line`` bounds the command text outside literals (and every raw
  line); ``max_literal`` bounds each literal of APPEND, ``max_short_literal`` each
  literal of any other command (RFC 7888 §4: "Implementations can generally impose
  much lower limits on literal sizes for all commands other than APPEND");
  ``max_command`` bounds the whole command (a MULTIAPPEND). Memory per connection is
  therefore at most ``max_command`` plus one read.
* **Oversized literals** are answered ``BAD [TOOBIG]`` (RFC 7888 §5: "the tagged BAD
  response MUST contain the TOOBIG response code"). For a synchronizing literal no
  continuation is sent, so the client sends nothing more of that command. For a
  non-synchronizing one the client sends the octets anyway: of the two choices of
  RFC 7888 §4 we pick the first, reading and discarding the literal and the rest of
  the command (the error is reported at once, which §4 allows), unless the announced
  size exceeds ``max_discard``, where we pick the second: ``close=True`` (BYE
  [TOOBIG] and close) rather than read gigabytes.
* **Resynchronisation.** After any error nothing of the failed command is executed;
  an over-long line is discarded up to its end (and, if it ends in a
  non-synchronizing literal header, that literal and the rest of the command too),
  and reading starts again at the next line.
* **Early rejection.** The first line of a command that announces a synchronizing
  literal is checked for a valid tag and a known command name first, so that a BAD
  goes out instead of an invitation to send data (RFC 9051 §2.2.1, note).
* **Line ends.** CRLF; a bare LF is accepted as a line end too (a liberty shared by
  most servers; the parser sees the line normalised to CRLF). A bare CR inside a
  line is a CTL and fails to parse.
* **Mode switches** the driver makes between commands: :meth:`expect_line` (SASL and
  IDLE), the ``utf8`` attribute (after ``ENABLE UTF8=ACCEPT`` or ``IMAP4rev2``), and
  :meth:`take_buffered` (STARTTLS must not run the plaintext read ahead, RFC 9051
  §6.2.1; COMPRESS hands the read-ahead to the decompressor, RFC 4978 §3).

Theory of operation: the receiver is in one of five modes: ``command`` (reading a
command line), ``literal`` (copying literal octets into the command), ``raw`` (reading
one line for :meth:`expect_line`), ``discard-line`` and ``discard-literal`` (skipping
what is left of a rejected command). ``command`` is the rest state; a command is
complete at a line that does not end in a literal header.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Final, Literal, final

from plugins.imap.proto.codes import BAD, TOOBIG
from plugins.imap.proto.commands import Command
from plugins.imap.proto.parser import COMMAND_NAMES, ParseError, parse_command, parse_tag

__all__ = [
    "CLOSED",
    "NEED_DATA",
    "CommandError",
    "Event",
    "RawLine",
    "Receiver",
    "SendContinuation",
    "Sentinel",
]


class Sentinel(enum.Enum):
    """The two events that are not data."""

    NEED_DATA = "NEED_DATA"
    CLOSED = "CLOSED"


#: Read more bytes and call :meth:`Receiver.receive_data`.
NEED_DATA: Final = Sentinel.NEED_DATA
#: The client closed the connection (or must be disconnected); nothing more will come.
CLOSED: Final = Sentinel.CLOSED


@final
@dataclass(frozen=True, slots=True)
class SendContinuation:
    """Send ``+ <text>``: the client waits for it before sending a synchronizing literal."""

    text: str = "Ready for literal data"


@final
@dataclass(frozen=True, slots=True)
class CommandError:
    """A rejected command or line: nothing of it is executed.

    Attributes:
      tag: the command's tag if it could be read, else ``None`` (answer ``* BAD``).
      status: ``BAD`` (syntax, limits) or ``NO`` (e.g. ``[BADCHARSET ...]``).
      code: the response code text without brackets (``TOOBIG``), or ``None``.
      text: human-readable text (ASCII).
      close: send ``* BYE`` with the code and text and close the connection.
    """

    tag: str | None
    status: str
    code: str | None
    text: str
    close: bool = False


@final
@dataclass(frozen=True, slots=True)
class RawLine:
    """One line read after :meth:`Receiver.expect_line`, without its line end."""

    line: bytes


Event = Command | SendContinuation | CommandError | RawLine | Sentinel
"""What :meth:`Receiver.next_event` returns."""

_Mode = Literal["command", "literal", "raw", "discard-line", "discard-literal"]

#: RFC 7888 §5; RFC 9051 §4.3: the largest non-synchronizing literal under LITERAL-.
LITERAL_MINUS_MAX: Final = 4096

_HEADER = re.compile(rb"(~?)\{([0-9]+)(\+?)\}")
_TAIL: Final = 48  # enough to hold "~{" + 19 digits + "+}" after a discarded line


def _literal_header(line: bytes) -> tuple[int, bool] | None:
    """``(size, synchronizing)`` if ``line`` ends in a literal header; size -1 if absurd."""
    if not line.endswith(b"}"):
        return None
    start = line.rfind(b"{")
    if start > 0 and line[start - 1] == 0x7E:  # "~"
        start -= 1
    m = _HEADER.fullmatch(line, start if start >= 0 else 0)
    if start < 0 or m is None:
        return None
    digits = m.group(2)
    size = int(digits) if len(digits) <= 19 else -1
    return size, not m.group(3)


@final
class Receiver:
    """Frames and parses IMAP commands from a byte stream.

    Args:
      max_line: the longest command text outside literals, and the longest raw line.
      max_literal: the largest literal accepted in APPEND (advertise it as APPENDLIMIT,
        RFC 7889).
      max_short_literal: the largest literal accepted in any other command.
      max_command: the largest whole command, literals included.
      max_discard: the largest oversized non-synchronizing literal read and thrown
        away; above it the connection is closed. Defaults to ``2 * max_literal``.
      literal_mode: ``"LITERAL+"`` (RFC 7888 §3), ``"LITERAL-"`` (RFC 7888 §5, the
        IMAP4rev2 default) or ``"none"`` (non-synchronizing literals refused).
      utf8: allow UTF-8 in quoted strings; the driver may set :attr:`utf8` later.

    Resource handling: holds at most one command plus one read of look-ahead.
    Error handling: malformed input becomes :class:`CommandError` events, never an
    exception; only driver misuse raises ``RuntimeError``.
    """

    def __init__(
        self,
        *,
        max_line: int = 64 * 1024,
        max_literal: int = 64 * 1024 * 1024,
        max_short_literal: int = 64 * 1024,
        max_command: int = 128 * 1024 * 1024,
        max_discard: int | None = None,
        literal_mode: Literal["LITERAL+", "LITERAL-", "none"] = "LITERAL+",
        utf8: bool = False,
    ) -> None:
        self.max_line = max_line
        self.max_literal = max_literal
        self.max_short_literal = max_short_literal
        self.max_command = max_command
        self.max_discard = 2 * max_literal if max_discard is None else max_discard
        self.literal_mode = literal_mode
        self.utf8 = utf8
        self._buf = bytearray()
        self._scan = 0  # the buffer before this offset holds no LF
        self._eof = False
        self._closed = False
        self._mode: _Mode = "command"
        self._cmd = bytearray()
        self._line_total = 0  # command text outside literals so far
        self._name = ""  # the current command's name, once its first line is in
        self._left = 0  # literal octets still to copy or discard
        self._tail = b""  # the end of a line being discarded

    # ------------------------------------------------------------------ driver API

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the client; ``b""`` means the client closed its side.

        Raises:
          RuntimeError: data after the end of the stream.
        """
        if self._eof:
            if data:
                raise RuntimeError("receive_data() after the end of the stream")
            return
        if data:
            self._buf += data
        else:
            self._eof = True

    def expect_line(self) -> None:
        """Make the next event a :class:`RawLine` (AUTHENTICATE responses, IDLE's DONE).

        Raises:
          RuntimeError: called in the middle of a command.
        """
        self._between_commands("expect_line")
        self._mode = "raw"

    def take_buffered(self) -> bytes:
        """Remove and return the bytes read but not yet consumed.

        After STARTTLS the driver throws them away or hands them to the TLS handshake
        (RFC 9051 §6.2.1 allows exactly these two; never run them as commands); after
        COMPRESS it decompresses them and feeds them back (RFC 4978 §3: the client
        compresses from the first command after COMPRESS).
        """
        self._between_commands("take_buffered")
        data = bytes(self._buf)
        self._buf.clear()
        self._scan = 0
        return data

    def next_event(self) -> Event:
        """The next event; see the module docstring."""
        while True:
            if self._closed:
                return CLOSED
            if self._mode == "literal":
                if not self._copy_literal():
                    return self._starved()
                continue
            if self._mode == "discard-literal":
                if not self._discard_literal():
                    return self._starved()
                continue
            line = self._next_line()
            if line is None:
                return self._overflow() or self._starved()
            event = self._on_line(line)
            if event is not None:
                return event

    # ------------------------------------------------------------------ internals

    def _between_commands(self, what: str) -> None:
        if self._mode != "command" or self._cmd:
            raise RuntimeError(f"{what}() in the middle of a command")

    def _starved(self) -> Sentinel:
        if self._eof:
            self._closed = True
            return CLOSED
        return NEED_DATA

    def _next_line(self) -> bytes | None:
        idx = self._buf.find(b"\n", self._scan)
        if idx < 0:
            self._scan = len(self._buf)
            return None
        end = idx - 1 if idx > 0 and self._buf[idx - 1] == 0x0D else idx
        line = bytes(self._buf[:end])
        del self._buf[: idx + 1]
        self._scan = 0
        return line

    def _overflow(self) -> CommandError | None:
        """An error if the unfinished line in the buffer is already too long."""
        if self._mode == "discard-line":
            self._tail = (self._tail + bytes(self._buf))[-_TAIL:]
            self._buf.clear()
            self._scan = 0
            return None
        if self._line_total + len(self._buf) <= self.max_line:
            return None
        tag = self._tag() if self._mode == "command" else None
        self._tail = bytes(self._buf[-_TAIL:])
        self._buf.clear()
        self._scan = 0
        self._reset("discard-line")
        return CommandError(tag, BAD, TOOBIG, "Line too long")

    def _tag(self, line: bytes = b"") -> str | None:
        head = bytes(self._cmd[:256]) if self._cmd else (line or bytes(self._buf))[:256]
        return parse_tag(head.split(b" ", 1)[0])

    def _reset(self, mode: _Mode = "command") -> None:
        self._cmd = bytearray()
        self._line_total = 0
        self._name = ""
        self._mode = mode

    def _on_line(self, line: bytes) -> Event | None:
        if self._mode == "raw":
            self._mode = "command"
            if len(line) > self.max_line:
                return CommandError(None, BAD, TOOBIG, "Line too long")
            return RawLine(line)
        if self._mode == "discard-line":
            full = self._tail + line
            if not line and full.endswith(b"\r"):  # the CR came in an earlier read
                full = full[:-1]
            header = _literal_header(full)
            self._tail = b""
            self._mode = "command"
            return self._skip_literal(header, None)
        return self._command_line(line)

    def _command_line(self, line: bytes) -> Event | None:
        first = not self._cmd
        tag = self._tag(line)
        header = _literal_header(line)
        if self._line_total + len(line) > self.max_line:
            self._reset()
            return self._skip_literal(header, CommandError(tag, BAD, TOOBIG, "Line too long"))
        if first and header is not None:
            error = self._check_start(line, tag)
            if error is not None:
                return self._skip_literal(header, error)
        self._cmd += line
        self._line_total += len(line)
        if header is None:
            return self._complete()
        size, sync = header
        limit = self.max_literal if self._name == "APPEND" else self.max_short_literal
        too_big = size < 0 or size > limit or len(self._cmd) + size > self.max_command
        if not sync and self.literal_mode != "LITERAL+":
            too_big = too_big or self.literal_mode == "none" or size > LITERAL_MINUS_MAX
        if too_big:
            self._reset()
            return self._skip_literal(header, CommandError(tag, BAD, TOOBIG, "Literal too big"))
        self._cmd += b"\r\n"
        self._line_total += 2
        self._left = size
        self._mode = "literal"
        if sync and not self._buf:
            return SendContinuation()
        return None

    def _check_start(self, line: bytes, tag: str | None) -> CommandError | None:
        """Tag and command name of a command's first line, before any literal."""
        if tag is None:
            return CommandError(None, BAD, None, "Missing or invalid tag")
        words = line.split(b" ", 3)
        name = words[1].upper().decode("ascii", "replace") if len(words) > 1 else ""
        if name == "UID" and len(words) > 2:
            name = words[2].upper().decode("ascii", "replace")
        if name not in COMMAND_NAMES:
            return CommandError(tag, BAD, None, "Unknown command")
        self._name = name
        return None

    def _skip_literal(
        self, header: tuple[int, bool] | None, error: CommandError | None
    ) -> CommandError | None:
        """After a rejected line: discard a non-synchronizing literal that follows it."""
        self._reset()
        if header is None or header[1]:
            # No literal, or a synchronizing one the client will not send: done.
            return error
        size = header[0]
        if size < 0 or size > self.max_discard:
            self._closed = True
            tag = error.tag if error else None
            return CommandError(tag, BAD, TOOBIG, "Literal too big", close=True)
        self._left = size
        self._mode = "discard-literal"
        return error

    def _copy_literal(self) -> bool:
        take = min(self._left, len(self._buf))
        if take:
            self._cmd += self._buf[:take]
            del self._buf[:take]
            self._left -= take
        if self._left:
            return False
        self._mode = "command"
        return True

    def _discard_literal(self) -> bool:
        take = min(self._left, len(self._buf))
        del self._buf[:take]
        self._left -= take
        if self._left:
            return False
        self._mode = "discard-line"
        self._tail = b""
        return True

    def _complete(self) -> Command | CommandError:
        data = self._cmd  # parsed in place: literals are copied out once
        self._reset()
        try:
            return parse_command(data, utf8=self.utf8)
        except ParseError as e:
            return CommandError(e.tag, e.status, e.code, e.text)
        except RecursionError:
            return CommandError(parse_tag(data.split(b" ", 1)[0]), BAD, None, "Too complex")
