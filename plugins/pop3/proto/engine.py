"""The POP3 server engine: bytes in, commands (or refusals) out, session state kept.

The driver feeds what it reads to :meth:`Pop3Engine.receive_data` and calls
:meth:`Pop3Engine.next_event` until it says :data:`NEED_DATA`; each event is a
command to run (see :mod:`plugins.pop3.ops`), a :class:`Refusal` to send as is,
or :data:`CLOSED`. Replies are serialised by :mod:`plugins.pop3.proto.responses`.

Implementation notes:

* RFC 2449 §6.6 (PIPELINING): a client may send many commands at once; the
  engine hands them out one at a time, in order, and the driver answers each
  before taking the next.
* RFC 1939 §3: an unknown command, bad arguments, or a command not valid in
  the current state get ``-ERR``. After :data:`MAX_ERRORS` of those in a row
  the refusal asks the driver to close (a client that is not speaking POP3).
* PASS is accepted only after a USER that got ``+OK`` (RFC 1939 §7); any other
  authentication command forgets the pending USER.
* The line limit is the configured command length (at least the 255 octets of
  RFC 2449 §4); SASL responses have their own, larger limit
  (:meth:`next_sasl_line`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, final

from plugins.pop3.proto import responses
from plugins.pop3.proto.commands import (
    Apop,
    Auth,
    Command,
    Invalid,
    Pass,
    Stls,
    Unknown,
    User,
    parse_command,
)
from plugins.pop3.proto.receiver import NEED_DATA, TOO_LONG, LineReceiver, Signal
from plugins.pop3.proto.responses import Reply
from plugins.pop3.proto.state import ALLOWED, State

__all__ = ["CLOSED", "MAX_ERRORS", "MIN_LINE", "NEED_DATA", "Pop3Engine", "Refusal"]

#: Refused commands in a row before the session is closed.
MAX_ERRORS: Final = 20
#: RFC 2449 §4: servers supporting CAPA accept commands of 255 octets (with CRLF).
MIN_LINE: Final = 253


@final
class _Closed:
    """The client closed its side and every complete line was handed out."""

    def __repr__(self) -> str:
        return "CLOSED"


CLOSED: Final = _Closed()


@final
@dataclass(frozen=True, slots=True)
class Refusal:
    """A line the engine answers by itself; ``close``: end the session after sending it."""

    reply: Reply
    close: bool = False


@final
class Pop3Engine:
    """The state of one POP3 session, without I/O.

    Attributes:
        state: the RFC 1939 state.
        user: the login name a successful USER gave, waiting for PASS.
        utf8: UTF-8 mode is on (RFC 6856 §2.1).
    """

    def __init__(self, *, max_line: int = 1024, max_errors: int = MAX_ERRORS) -> None:
        self.state = State.AUTHORIZATION
        self.user: str | None = None
        self.utf8 = False
        self._receiver = LineReceiver(max(max_line, MIN_LINE))
        self._max_errors = max_errors
        self._errors = 0

    def receive_data(self, data: bytes) -> None:
        """Bytes from the client; ``b""`` when it closed its side."""
        self._receiver.receive_data(data)

    def next_event(self) -> Command | Refusal | Signal | _Closed:
        """The next command, a :class:`Refusal`, :data:`NEED_DATA` or :data:`CLOSED`."""
        line = self._receiver.next_line()
        if line is NEED_DATA:
            return CLOSED if self._receiver.closed else NEED_DATA
        if line is TOO_LONG:
            return self._refuse(responses.LINE_TOO_LONG)
        assert isinstance(line, bytes)
        command = parse_command(line)
        if isinstance(command, Unknown):
            return self._refuse(responses.UNKNOWN_COMMAND)
        if isinstance(command, Invalid):
            return self._refuse(responses.err(f"{command.keyword} {command.reason}".strip()))
        if type(command) not in ALLOWED[self.state]:
            return self._refuse(responses.WRONG_STATE)
        if isinstance(command, Pass):
            if self.user is None:
                return self._refuse(responses.PASS_NEEDS_USER)
        elif isinstance(command, User | Apop | Auth | Stls):
            self.user = None
        self._errors = 0
        return command

    def next_sasl_line(self, limit: int) -> bytes | Signal | _Closed:
        """The client's next SASL response line (up to ``limit`` bytes), or a signal.

        Returns:
            the line, :data:`~plugins.pop3.proto.receiver.TOO_LONG`,
            :data:`NEED_DATA` or :data:`CLOSED`.
        """
        line = self._receiver.next_line(limit)
        if line is NEED_DATA and self._receiver.closed:
            return CLOSED
        return line

    def authenticated(self) -> None:
        """PASS or AUTH succeeded and the maildrop is locked: enter TRANSACTION."""
        self.state = State.TRANSACTION
        self.user = None

    def enter_update(self) -> None:
        """QUIT in TRANSACTION: enter UPDATE (RFC 1939 §6)."""
        self.state = State.UPDATE

    def drop_buffer(self) -> int:
        """Forget buffered input before a TLS handshake (RFC 2595 §4; RFC 3207 §4.2)."""
        return self._receiver.drop_buffer()

    def _refuse(self, reply: Reply) -> Refusal:
        self._errors += 1
        if self._errors >= self._max_errors:
            return Refusal(responses.TOO_MANY_ERRORS, close=True)
        return Refusal(reply)
