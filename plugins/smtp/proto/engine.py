"""The sans-IO SMTP server engine: bytes in, events out, replies to bytes.

API (STYLE.md §1.4): :meth:`SmtpEngine.receive_data` feeds bytes (``b""`` for
EOF); :meth:`SmtpEngine.next_event` returns a command or event, :data:`NEED_DATA`
or :data:`CLOSED`; :meth:`SmtpEngine.send` turns the reply to the last event
into bytes and moves the dialogue state (:mod:`plugins.smtp.proto.state`).

Implementation notes:

* Every event owes exactly one reply; asking for the next event first is a
  :class:`LocalProtocolError`. A 334 reply keeps an AUTH exchange open: the
  next event is then an :class:`AuthResponse`, answered by another 334 or by
  the outcome.
* PIPELINING (RFC 2920 §3): commands are taken from the buffer one at a time
  and answered in order; the driver flushes its replies whenever the engine
  needs data, so a whole batch is answered in one write.
* STARTTLS (RFC 3207 §4.2): sending the 220 go-ahead drops every buffered byte
  (commands pipelined in clear text after STARTTLS are never executed) and
  forgets the EHLO, the transaction and any authentication.
* BDAT (RFC 3030 §2): the chunk is always read, even when the command is out of
  sequence ("the receiver-SMTP MUST accept and discard the associated message
  data before sending the appropriate 5XX or 4XX code").
* Framing and limits live in :mod:`plugins.smtp.proto.receiver`; the grammar in
  :mod:`plugins.smtp.proto.parser`. The engine never raises on client input.
"""

from __future__ import annotations

import enum
from typing import final

from plugins.smtp.proto.codes import (
    C500_SYNTAX_ERROR,
    ES_5_5_2_SYNTAX_ERROR,
)
from plugins.smtp.proto.commands import Auth, Bdat, Data, Ehlo, Mail, Rcpt, Rset, StartTls
from plugins.smtp.proto.errors import LocalProtocolError, RemoteProtocolError
from plugins.smtp.proto.events import (
    CLOSED,
    NEED_DATA,
    AuthResponse,
    BadCommand,
    ChunkReceived,
    Event,
    MessageReceived,
    Sentinel,
)
from plugins.smtp.proto.parser import parse_command
from plugins.smtp.proto.receiver import (
    TOO_LONG,
    ChunkReader,
    ContentSink,
    DataReader,
    LineReader,
)
from plugins.smtp.proto.responses import Reply
from plugins.smtp.proto.state import IN_TRANSACTION, State, sequence_error

__all__ = ["COMMAND_LINE", "SmtpEngine"]

#: RFC 5321 §4.5.3.1.4: a command line is at most 512 octets with its CRLF.
COMMAND_LINE = 512
#: RFC 4954 §4: 12288 octets suffice for deployed mechanisms; leave room.
AUTH_LINE = 16384


class _Mode(enum.Enum):
    COMMAND = "command"
    DATA = "data"
    CHUNK = "chunk"
    AUTH = "auth"
    CLOSED = "closed"


@final
class SmtpEngine:
    """One server-side SMTP connection's protocol state.

    Args:
        max_line: the longest command line accepted, CRLF included.
        max_message_size: the most octets of message content accepted.
        normalise_newlines: turn bare CR/LF in content into CRLF instead of
            refusing the message (receiver module notes).
        max_auth_line: the longest AUTH response line.
    """

    def __init__(
        self,
        *,
        max_line: int = COMMAND_LINE,
        max_message_size: int,
        normalise_newlines: bool = False,
        max_auth_line: int = AUTH_LINE,
    ) -> None:
        self.max_line = max_line
        self.max_message_size = max_message_size
        self.normalise_newlines = normalise_newlines
        self.max_auth_line = max_auth_line
        self.state = State.INIT
        #: The client greeted with EHLO (not HELO).
        self.extended = False
        #: An AUTH exchange succeeded (235) since the last STARTTLS.
        self.authenticated = False
        #: The accepted MAIL command of the current transaction.
        self.mail: Mail | None = None
        #: Octets dropped by the last STARTTLS (for the log).
        self.dropped = 0
        self._buffer = bytearray()
        self._eof = False
        self._mode = _Mode.COMMAND
        self._pending: Event | None = None
        self._lines = LineReader()
        self._data: DataReader | None = None
        self._chunk: ChunkReader | None = None
        self._chunk_command: Bdat | None = None
        self._chunk_error: Reply | None = None
        self._sink: ContentSink | None = None

    # ---- input -----------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed bytes received from the client; ``b""`` means it closed its side."""
        if not data:
            self._eof = True
        elif self._mode is not _Mode.CLOSED:
            self._buffer += data

    @property
    def buffered(self) -> int:
        """Octets received and not consumed yet."""
        return len(self._buffer)

    @property
    def in_transaction(self) -> bool:
        """True between an accepted MAIL and the end of the transaction."""
        return self.state in IN_TRANSACTION or self._mode in (_Mode.DATA, _Mode.CHUNK)

    @property
    def closed(self) -> bool:
        """True once the dialogue is over (QUIT, 421, EOF)."""
        return self._mode is _Mode.CLOSED

    def next_event(self) -> Event | Sentinel:
        """The next command or event, :data:`NEED_DATA` or :data:`CLOSED`.

        Raises:
            LocalProtocolError: the reply to the previous event was not sent.
        """
        if self._pending is not None:
            raise LocalProtocolError(f"a reply to {self._pending!r} is still owed")
        while True:
            event = self._step()
            if event is None:
                continue
            if not isinstance(event, Sentinel):
                self._pending = event
            elif event is CLOSED:
                self._mode = _Mode.CLOSED
            return event

    def _step(self) -> Event | Sentinel | None:
        mode = self._mode
        if mode is _Mode.CLOSED:
            return CLOSED
        if mode is _Mode.DATA:
            assert self._data is not None
            if not self._data.feed_from(self._buffer):
                return self._starved()
            self._mode = _Mode.COMMAND
            sink = self._data.sink
            self._data = None
            content = sink.finish()
            return MessageReceived(content, sink.size, frozenset(sink.defects), chunked=False)
        if mode is _Mode.CHUNK:
            assert self._chunk is not None
            if not self._chunk.feed_from(self._buffer):
                return self._starved()
            self._mode = _Mode.COMMAND
            return self._chunk_done()
        if mode is _Mode.AUTH:
            line = self._lines.next_line(self._buffer, self.max_auth_line)
            if line is None:
                return self._starved()
            return AuthResponse(None if line is TOO_LONG else line)  # type: ignore[arg-type]
        return self._command()

    def _starved(self) -> Sentinel:
        return CLOSED if self._eof else NEED_DATA

    def _command(self) -> Event | Sentinel | None:
        line = self._lines.next_line(self._buffer, self.max_line)
        if line is None:
            return self._starved()
        if line is TOO_LONG:
            # RFC 5321 §4.5.3.1.9: "500 Line too long".
            return BadCommand(Reply.of(C500_SYNTAX_ERROR, ES_5_5_2_SYNTAX_ERROR, "line too long"))
        assert isinstance(line, bytes)
        verb = line.split(b" ", 1)[0][:16].decode("ascii", "replace").upper()
        try:
            command = parse_command(line)
        except RemoteProtocolError as exc:
            return BadCommand(exc.reply, verb)
        binary = self.mail is not None and self.mail.params.body == "BINARYMIME"
        error = sequence_error(
            self.state,
            command,
            extended=self.extended,
            authenticated=self.authenticated,
            binary=binary,
        )
        if isinstance(command, Bdat):
            self._start_chunk(command, error, binary)
            return None
        if error is not None:
            return BadCommand(error, verb)
        return command

    def _start_chunk(self, command: Bdat, error: Reply | None, binary: bool) -> None:
        if error is None and self._sink is None:
            self._sink = ContentSink(
                self.max_message_size, normalise=self.normalise_newlines, binary=binary
            )
        sink = self._sink if error is None else None
        self._chunk = ChunkReader(command.size, sink)
        self._chunk_command = command
        self._chunk_error = error
        self._mode = _Mode.CHUNK

    def _chunk_done(self) -> Event:
        command, error, sink = self._chunk_command, self._chunk_error, self._sink
        assert command is not None
        self._chunk = self._chunk_command = self._chunk_error = None
        if error is not None or sink is None:
            assert error is not None  # a sink exists whenever the chunk was accepted
            return BadCommand(error, "BDAT")
        if command.last:
            content = sink.finish()
            return MessageReceived(content, sink.size, frozenset(sink.defects), chunked=True)
        return ChunkReceived(command.size, sink.size, frozenset(sink.defects))

    # ---- output ----------------------------------------------------------

    def send(self, reply: Reply) -> bytes:
        """The bytes of ``reply`` to the pending event, moving the state accordingly.

        A reply with no pending event is allowed only for the greeting and for
        a closing 421/554 (timeout, shutdown, refusal).
        """
        event, self._pending = self._pending, None
        if event is None and reply.code not in (220, 421, 554):
            raise LocalProtocolError(f"unsolicited reply {reply.code}")
        self._transition(event, reply)
        if reply.closes:
            self._mode = _Mode.CLOSED
        return reply.serialize()

    def _transition(self, event: Event | None, reply: Reply) -> None:
        ok = reply.positive
        match event:
            case Ehlo() if ok:
                self._end_transaction()
                self.state, self.extended = State.READY, event.extended
            case Mail() if ok:
                self.state, self.mail = State.MAIL, event
            case Rcpt() if ok:
                self.state = State.RCPT
            case Data() if reply.code == 354:
                sink = ContentSink(self.max_message_size, normalise=self.normalise_newlines)
                self._data = DataReader(sink)
                self._mode = _Mode.DATA
            case ChunkReceived():
                self.state = State.BDAT if ok else State.BDAT_FAILED
                if not ok:
                    self._sink = None
            case MessageReceived():
                self._end_transaction()
            case Rset() if ok:
                self._end_transaction()
            case StartTls() if reply.code == 220:
                # RFC 3207 §4.2: discard buffered input and all knowledge from before.
                self.dropped = len(self._buffer)
                self._buffer.clear()
                self._lines.reset()
                self._end_transaction()
                self.state, self.extended, self.authenticated = State.INIT, False, False
            case Auth() | AuthResponse():
                self._mode = _Mode.AUTH if reply.code == 334 else _Mode.COMMAND
                if reply.code == 235:
                    self.authenticated = True
            case _:
                pass

    def _end_transaction(self) -> None:
        self.mail = None
        self._sink = None
        self._data = None
        if self.state is not State.INIT:
            self.state = State.READY
