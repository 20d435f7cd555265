"""Framing: bytes in, one command's tokens out (atoms, numbers, quoted and literal strings).

RFC 5804 §4 (client to server)::

    atom        = 1*1024ATOM-CHAR
    ATOM-CHAR   = "!" / %x23-27 / %x2A-5B / %x5D-7A / %x7C-7E
    number      = (NZDIGIT *DIGIT) / "0"        ; 32-bit unsigned
    quoted      = DQUOTE *1024QUOTED-CHAR DQUOTE
    QUOTED-CHAR = SAFE-UTF8-CHAR / "\\" QUOTED-SPECIALS
    literal-c2s = "{" number "+}" CRLF *OCTET

Implementation notes:

* A command is one or more line segments: a segment that ends in a literal
  marker (``{n+}`` or ``{n}``) is followed by ``n`` octets and then the rest
  of the command. Quoted strings never span lines, so each segment is
  tokenised on its own.
* ``{n}`` (the synchronising form ACAP and IMAP use; RFC 5804 lists it for
  the server only) is accepted too: the receiver answers it with a
  :class:`Continue` event, on which the driver sends a continuation request
  (``+ "..."``, the ACAP form §1.2 refers to) before the client sends the octets.
* Limits: the non-literal part of a command is at most ``max_line`` octets;
  past that the stream cannot be resynchronised and the receiver gives up
  (:class:`Malformed` with ``close``). A literal over ``max_literal`` is
  refused: a synchronising one at once (the client never sends it), a
  non-synchronising one is read and thrown away, at most
  ``max_discard`` octets, else the connection is closed.
* A syntax error in a segment is reported after the whole command (its
  literals included) has been read, so the stream stays in step.
* A bare LF ends a line too (lenient towards hand-typed sessions); a CR
  elsewhere is a syntax error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, final

__all__ = [
    "MAX_NUMBER",
    "MAX_TOKENS",
    "NEED_DATA",
    "Atom",
    "CommandReceiver",
    "Continue",
    "Line",
    "Malformed",
    "Number",
    "Signal",
    "String",
    "Token",
]

#: RFC 5804 §4: numbers are 32-bit unsigned.
MAX_NUMBER: Final = 2**32 - 1
#: No command takes more than three arguments; a few more are tolerated and ignored.
MAX_TOKENS: Final = 16
#: RFC 5804 §4: at most 1024 characters in an atom.
MAX_ATOM: Final = 1024


@final
class Signal:
    """A sentinel event."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: More bytes are needed before anything can be returned.
NEED_DATA: Final = Signal("NEED_DATA")


@final
@dataclass(frozen=True, slots=True)
class Atom:
    """An atom (a command name, ``ACTIVE``, a bare ``*``)."""

    value: str


@final
@dataclass(frozen=True, slots=True)
class Number:
    """A number (HAVESPACE's size)."""

    value: int


@final
@dataclass(frozen=True, slots=True)
class String:
    """A quoted or literal string, as octets."""

    value: bytes


Token = Atom | Number | String


@final
@dataclass(frozen=True, slots=True)
class Line:
    """One complete command (or SASL response): its tokens in order."""

    tokens: tuple[Token, ...]


@final
@dataclass(frozen=True, slots=True)
class Continue:
    """The client sent ``{n}``: send a continuation request, then it sends the octets."""

    size: int


@final
@dataclass(frozen=True, slots=True)
class Malformed:
    """The command could not be read.

    Attributes:
        reason: what was wrong (for the reply).
        close: the stream cannot be resynchronised: answer BYE and close.
        too_large: a literal was over the limit (PUTSCRIPT answers QUOTA/MAXSIZE).
        first_atom: the command name, if one was read.
    """

    reason: str
    close: bool = False
    too_large: bool = False
    first_atom: str | None = None


# A literal marker at the very end of a segment.
_LITERAL = re.compile(rb"\{([0-9]{1,20})(\+?)\}\Z")
# ATOM-CHAR (RFC 5804 §4).
_ATOM = re.compile(rb"[!#-'*-\[\]-z|-~]+")


class _SyntaxError(Exception):
    pass


def _tokenize(segment: bytes, out: list[Token]) -> None:
    """Append the tokens of ``segment`` (no literal marker) to ``out``.

    Raises:
        _SyntaxError: not atoms, numbers and quoted strings separated by spaces.
    """
    i, n = 0, len(segment)
    while i < n:
        if segment[i] == 0x20:
            i += 1
            continue
        if segment[i] == 0x22:  # DQUOTE
            value = bytearray()
            i += 1
            while True:
                if i >= n:
                    raise _SyntaxError("unterminated quoted string")
                c = segment[i]
                if c == 0x22:
                    i += 1
                    break
                if c == 0x5C:  # backslash: only \" and \\ (QUOTED-SPECIALS)
                    if i + 1 >= n or segment[i + 1] not in b'"\\':
                        raise _SyntaxError("bad escape in quoted string")
                    value.append(segment[i + 1])
                    i += 2
                    continue
                if c in (0x00, 0x0D, 0x0A):
                    raise _SyntaxError("control character in quoted string")
                value.append(c)
                i += 1
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                raise _SyntaxError("quoted string is not UTF-8") from None
            out.append(String(bytes(value)))
        else:
            match = _ATOM.match(segment, i)
            if match is None:
                raise _SyntaxError(f"unexpected character {segment[i : i + 1]!r}")
            text = match.group()
            if len(text) > MAX_ATOM:
                raise _SyntaxError("atom too long")
            i = match.end()
            if text.isdigit():
                value_int = int(text)
                if value_int > MAX_NUMBER:
                    raise _SyntaxError("number out of range")
                out.append(Number(value_int))
            else:
                out.append(Atom(text.decode("ascii")))
        if i < n and segment[i] != 0x20:
            raise _SyntaxError("missing space between arguments")
        if len(out) > MAX_TOKENS:
            raise _SyntaxError("too many arguments")


@final
class CommandReceiver:
    """Turns a byte stream into :class:`Line`, :class:`Continue` and :class:`Malformed` events.

    Args:
        max_line: most octets of a command outside its literals.
        max_literal: largest literal accepted.
        max_discard: largest over-limit literal read and discarded (larger: close).
    """

    def __init__(self, *, max_line: int, max_literal: int, max_discard: int) -> None:
        self.max_line = max_line
        self.max_literal = max_literal
        self.max_discard = max_discard
        self._buffer = bytearray()
        self._scanned = 0
        self._reset()

    def _reset(self) -> None:
        self._tokens: list[Token] = []
        self._used = 0  # non-literal octets of the current command
        self._literal_left = 0
        self._literal = bytearray()
        self._discarding = False
        self._error: Malformed | None = None

    # ---- input -----------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add bytes read from the client."""
        self._buffer += data

    def drop_buffer(self) -> int:
        """Forget everything buffered (STARTTLS); how many octets were dropped."""
        dropped = len(self._buffer)
        self._buffer.clear()
        self._scanned = 0
        self._reset()
        return dropped

    @property
    def buffered(self) -> int:
        """Octets received and not yet consumed."""
        return len(self._buffer)

    # ---- output ----------------------------------------------------------------

    def next_event(self) -> Line | Continue | Malformed | Signal:
        """The next event, or :data:`NEED_DATA`."""
        while True:
            if self._literal_left:
                take = min(self._literal_left, len(self._buffer))
                if not self._discarding:
                    self._literal += self._buffer[:take]
                del self._buffer[:take]
                self._literal_left -= take
                if self._literal_left:
                    return NEED_DATA
                if not self._discarding:
                    self._tokens.append(String(bytes(self._literal)))
                    self._literal.clear()
                    if len(self._tokens) > MAX_TOKENS and self._error is None:
                        self._error = self._malformed("too many arguments")
                self._discarding = False
            end = self._buffer.find(b"\n", self._scanned)
            if end < 0:
                self._scanned = len(self._buffer)
                if self._used + len(self._buffer) > self.max_line:
                    return self._give_up("command line too long")
                return NEED_DATA
            self._scanned = 0
            segment = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if segment.endswith(b"\r"):
                segment = segment[:-1]
            self._used += len(segment) + 2
            if self._used > self.max_line:
                return self._give_up("command line too long")
            event = self._segment(segment)
            if event is not None:
                return event

    def _segment(self, segment: bytes) -> Line | Continue | Malformed | None:
        """Handle one line segment; None to keep reading (a literal follows)."""
        literal = _LITERAL.search(segment)
        body = segment[: literal.start()] if literal else segment
        if self._error is None:
            try:
                _tokenize(body, self._tokens)
            except _SyntaxError as exc:
                self._error = self._malformed(str(exc))
        if literal is None:
            return self._finish()
        size = int(literal.group(1))
        synchronising = not literal.group(2)
        if size > MAX_NUMBER:
            return self._give_up("literal size out of range")
        if self._error is None and size > self.max_literal:
            self._error = self._malformed("literal too large", too_large=True)
        if self._error is not None:
            if synchronising:
                return self._finish()  # the client waits for "+" and never sends it
            if size > self.max_discard:
                return self._give_up("literal too large", too_large=True)
            self._discarding = True
            self._literal_left = size
            return None
        self._literal_left = size
        if not size:
            self._tokens.append(String(b""))
        if synchronising:
            return Continue(size)
        return None

    def _first_atom(self) -> str | None:
        first = self._tokens[0] if self._tokens else None
        return first.value.upper() if isinstance(first, Atom) else None

    def _malformed(self, reason: str, *, too_large: bool = False) -> Malformed:
        return Malformed(reason, too_large=too_large, first_atom=self._first_atom())

    def _finish(self) -> Line | Malformed:
        error, tokens = self._error, tuple(self._tokens)
        self._reset()
        return error if error is not None else Line(tokens)

    def _give_up(self, reason: str, *, too_large: bool = False) -> Malformed:
        first = self._first_atom()
        self._buffer.clear()
        self._scanned = 0
        self._reset()
        return Malformed(reason, close=True, too_large=too_large, first_atom=first)
