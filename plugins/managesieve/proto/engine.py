"""The ManageSieve server engine: bytes in, commands (or refusals) out, state kept.

The driver feeds what it reads to :meth:`SieveEngine.receive_data` and calls
:meth:`SieveEngine.next_event` until it says :data:`NEED_DATA`. Each event is
a command to run (see :mod:`plugins.managesieve.ops`), a :class:`Refusal` to
send as is, a :class:`~plugins.managesieve.proto.receiver.Continue` (send a
continuation request), or :data:`CLOSED`. During AUTHENTICATE the driver
reads the client's responses with :meth:`SieveEngine.next_sasl_response`.

Implementation notes:

* RFC 5804 §2: clients may pipeline; commands are handed out one at a time,
  in order, and the driver answers each before taking the next.
* Commands not valid in the current state get NO (§2: "Servers MUST reject
  all other commands with a NO response"). After :data:`MAX_ERRORS`
  unusable commands in a row the refusal closes the connection with BYE (a
  client that is not speaking ManageSieve).
* Before login a literal can only be a SASL response or a NOOP tag, so its
  limit is the SASL one; after login it is the script size limit.
* A literal over the limit in PUTSCRIPT is answered ``NO (QUOTA/MAXSIZE)``
  (§1.5); elsewhere with a plain NO.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Final, final

from plugins.managesieve.proto import codes
from plugins.managesieve.proto.commands import BadArguments, Command, Unknown, parse_command
from plugins.managesieve.proto.receiver import (
    NEED_DATA,
    Atom,
    CommandReceiver,
    Continue,
    Line,
    Malformed,
    Signal,
    String,
)
from plugins.managesieve.proto.responses import Response
from plugins.managesieve.proto.state import ALLOWED, State

__all__ = ["CLOSED", "MAX_ERRORS", "NEED_DATA", "Refusal", "SaslResponse", "SieveEngine"]

#: The client closed its side and nothing complete is left.
CLOSED: Final = Signal("CLOSED")
#: Unusable commands in a row before the connection is closed.
MAX_ERRORS: Final = 10


@final
@dataclass(frozen=True, slots=True)
class Refusal:
    """A response the driver sends as is; with ``close`` it then ends the session."""

    response: Response
    close: bool = False


@final
@dataclass(frozen=True, slots=True)
class SaslResponse:
    """A client's answer to a SASL challenge (§2.1).

    Attributes:
        data: the decoded response; None when cancelled or not base64.
        cancelled: the client sent ``"*"``.
    """

    data: bytes | None
    cancelled: bool = False


def decode_base64(value: bytes) -> bytes | None:
    """Strict base64 (no whitespace, correct padding), or None."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


@final
class SieveEngine:
    """Framing, command parsing and the state table for one connection.

    Args:
        max_line: most octets of a command outside its literals.
        max_literal: largest literal accepted after login (the script size limit).
        max_discard: largest over-limit literal read and thrown away.
        max_name: longest script name in characters (at least 128, §1.6).
        max_literal_unauth: largest literal before login (a SASL response);
            default ``max_literal``.
    """

    def __init__(
        self,
        *,
        max_line: int,
        max_literal: int,
        max_discard: int,
        max_name: int,
        max_literal_unauth: int | None = None,
    ) -> None:
        self.max_literal = max_literal
        self.max_literal_unauth = max_literal if max_literal_unauth is None else max_literal_unauth
        self.receiver = CommandReceiver(
            max_line=max_line, max_literal=self.max_literal_unauth, max_discard=max_discard
        )
        self.max_name = max_name
        self.state = State.NONAUTH
        self.errors = 0
        self._eof = False

    # ---- input -----------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add bytes read from the client; ``b""`` means it closed its side."""
        if not data:
            self._eof = True
        self.receiver.receive_data(data)

    def drop_buffer(self) -> int:
        """Forget buffered input (before the TLS handshake; RFC 3207 §4.2)."""
        return self.receiver.drop_buffer()

    # ---- state -----------------------------------------------------------------

    def authenticated(self) -> None:
        """Login succeeded: the script commands and script-sized literals are allowed."""
        self.state = State.AUTH
        self.receiver.max_literal = self.max_literal

    def unauthenticated(self) -> None:
        """Back to the start (UNAUTHENTICATE): literals are SASL-sized again."""
        self.state = State.NONAUTH
        self.receiver.max_literal = self.max_literal_unauth

    # ---- events ----------------------------------------------------------------

    def _pending(self) -> Line | Continue | Malformed | Signal:
        event = self.receiver.next_event()
        if event is NEED_DATA and self._eof:
            return CLOSED
        return event

    def _refuse(self, response: Response, close: bool = False) -> Refusal:
        self.errors += 1
        if self.errors >= MAX_ERRORS:
            return Refusal(codes.TOO_MANY_ERRORS, close=True)
        return Refusal(response, close)

    def _malformed(self, event: Malformed) -> Refusal:
        if event.too_large and event.first_atom == "PUTSCRIPT":
            base = codes.SCRIPT_TOO_LARGE
        else:
            base = Response("BYE" if event.close else "NO")
        response = base if base.text else base.with_text(event.reason)
        if event.close:
            return Refusal(Response("BYE", base.code, text=response.text), close=True)
        return self._refuse(response)

    def next_event(self) -> Command | Refusal | Continue | Signal:
        """The next command, refusal, continuation request, :data:`NEED_DATA` or :data:`CLOSED`."""
        event = self._pending()
        if isinstance(event, Signal | Continue):
            return event
        if isinstance(event, Malformed):
            return self._malformed(event)
        command = parse_command(event.tokens, max_name=self.max_name)
        if isinstance(command, Unknown):
            return self._refuse(codes.UNKNOWN_COMMAND.with_text(f"Unknown command {command.name}"))
        if isinstance(command, BadArguments):
            name = f"{command.name}: " if command.name else ""
            return self._refuse(Response("NO", text=f"{name}{command.reason}"))
        if type(command) not in ALLOWED[self.state]:
            if self.state is State.NONAUTH:
                return self._refuse(codes.NEED_AUTH)
            if type(command) in ALLOWED[State.NONAUTH]:
                return self._refuse(codes.ALREADY_AUTHENTICATED)
            return self._refuse(codes.UNKNOWN_COMMAND)
        self.errors = 0
        return command

    def next_sasl_response(self) -> SaslResponse | Refusal | Continue | Signal:
        """The client's next SASL response line (a single string, §2.1)."""
        event = self._pending()
        if isinstance(event, Signal | Continue):
            return event
        if isinstance(event, Malformed):
            if event.close:
                return self._malformed(event)
            return SaslResponse(None)  # fails the exchange (NO)
        tokens = event.tokens
        if len(tokens) != 1:
            return SaslResponse(None)
        token = tokens[0]
        # §2.1: 'If the client wishes to cancel ... it issues a string containing a single "*".'
        if (isinstance(token, String) and token.value == b"*") or token == Atom("*"):
            return SaslResponse(None, cancelled=True)
        if not isinstance(token, String):
            return SaslResponse(None)
        return SaslResponse(decode_base64(token.value))
