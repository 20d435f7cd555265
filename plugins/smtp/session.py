"""The trio driver of one SMTP connection (STYLE.md §1.4).

It moves bytes between the kernel's :class:`~kernel.Connection` and the sans-IO
:class:`~plugins.smtp.proto.engine.SmtpEngine`, hands each event to
:mod:`plugins.smtp.stages`, and writes the replies.

Implementation notes:

* PIPELINING (RFC 2920 §3.2): replies are collected and written when the engine
  needs more input, so a pipelined batch is answered in one write, in order.
  One command is handled at a time.
* STARTTLS: the engine drops its buffer when the 220 is produced, the reply is
  flushed, then ``conn.start_tls()`` (which drops the kernel's buffer) runs; the
  session forgets the EHLO name, the transaction and any login (RFC 3207 §4.2).
* Timeouts: ``conn.receive_some`` applies the listener's idle timeout (default
  5 minutes, RFC 5321 §4.5.3.2.7); on expiry the client gets ``421 4.4.2``.
* Shutdown: when the kernel starts draining, a session waiting for a command
  outside a transaction is told ``421 4.3.2`` at once; one inside a transaction
  may finish it (until the kernel's shutdown deadline).
* A failure inside a stage (store down, a plugin raising) is logged and answered
  ``451 4.3.0``: a temporary failure the client will retry, never a false 250.
* After ``smtp.max_errors`` refused commands the session ends with ``421 4.7.0``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING, final

import trio

from kernel import IdleTimeout
from kernel.pipeline import SessionInfo, Verdict
from plugins.smtp import stages
from plugins.smtp.config import SmtpSettings
from plugins.smtp.proto import codes
from plugins.smtp.proto.commands import Quit, StartTls
from plugins.smtp.proto.engine import COMMAND_LINE, SmtpEngine
from plugins.smtp.proto.events import CLOSED, NEED_DATA, BadCommand, Event, Sentinel
from plugins.smtp.proto.responses import Reply

if TYPE_CHECKING:
    from kernel import Connection, Kernel, StructuredLogger
    from plugins.smtp.transaction import Transaction

__all__ = ["Session", "serve_connection"]

_GONE = (IdleTimeout, trio.BrokenResourceError, trio.ClosedResourceError)


class _Shutdown(Exception):
    """The kernel is draining and this session is idle."""


async def serve_connection(conn: Connection) -> None:
    """Serve one SMTP connection until QUIT, EOF, a timeout or shutdown."""
    session = Session(conn)
    failure: Exception | None = None
    async with trio.open_nursery() as nursery:
        nursery.start_soon(session.watch_drain)
        try:
            await session.run()
        except Exception as exc:  # re-raised below, outside the nursery's exception group
            failure = exc
        finally:
            nursery.cancel_scope.cancel()
    if failure is not None:
        # The kernel tells disconnects and TLS failures apart by type.
        raise failure


@final
class Session:
    """One SMTP session's state outside the engine: settings, login, transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.kernel: Kernel = conn.kernel
        self.settings = settings = SmtpSettings.from_kernel(conn.kernel)
        self.role = conn.listener.role or "mta"
        self.engine = SmtpEngine(
            max_line=COMMAND_LINE + settings.command_line_allowance,
            max_message_size=settings.max_message_size,
            normalise_newlines=settings.normalise_newlines,
        )
        self.info = SessionInfo(
            id=conn.id,
            protocol="smtp",
            listener=conn.listener.name,
            role=self.role,
            remote=conn.remote,
            local=conn.local,
            tls=conn.tls,
        )
        self.txn: Transaction | None = None
        #: Accepting verdicts of the connect and EHLO stages, merged into each transaction.
        self.verdict = self.ehlo_verdict = Verdict()
        self.account_id: int | None = None
        #: RFC 5321 §3.1: after a 554 greeting only QUIT is served (503 otherwise).
        self.refused = False
        self.errors = 0
        self._out = bytearray()
        self._idle: trio.CancelScope | None = None

    @property
    def log(self) -> StructuredLogger:
        """The connection's logger."""
        return self.conn.log

    def reply(self, reply: Reply) -> None:
        """Queue ``reply`` to the pending event (written at the next flush)."""
        self._out += self.engine.send(reply)
        if not self.engine.in_transaction:
            self.txn = None

    async def flush(self) -> None:
        """Write the queued replies."""
        if self._out:
            data, self._out = bytes(self._out), bytearray()
            await self.conn.send_all(data)

    async def next_event(self) -> Event | Sentinel:
        """The engine's next event, reading (and flushing first) as needed."""
        while (event := self.engine.next_event()) is NEED_DATA:
            await self.flush()
            self.engine.receive_data(await self._receive())
        return event

    async def _receive(self) -> bytes:
        if self.engine.in_transaction:
            # Draining lets a transaction finish: no scope for watch_drain to cancel.
            return await self.conn.receive_some()
        if self.kernel.draining:
            raise _Shutdown
        with trio.CancelScope() as scope:
            self._idle = scope
            try:
                return await self.conn.receive_some()
            finally:
                self._idle = None
        raise _Shutdown

    async def watch_drain(self) -> None:
        """Interrupt an idle wait for a command when the kernel starts draining."""
        await self.kernel.wait_draining()
        if self._idle is not None:
            self._idle.cancel()

    async def run(self) -> None:
        """The read-dispatch-reply loop."""
        try:
            self.reply(await stages.greet(self))
            while not self.engine.closed:
                event = await self.next_event()
                if event is CLOSED:
                    break
                assert not isinstance(event, Sentinel)
                reply = await self._handle(event)
                if reply is None:
                    break
                self.reply(reply)
                if isinstance(event, StartTls) and reply.code == codes.C220_READY:
                    await self._start_tls()
                elif isinstance(event, BadCommand) or reply.code >= 500:
                    self._count_error()
            await self.flush()
        except IdleTimeout:
            await self._goodbye(codes.ES_4_4_2_BAD_CONNECTION, "timeout: closing connection")
        except _Shutdown:
            await self._goodbye(codes.ES_4_3_2_NOT_ACCEPTING, "server shutting down")

    def _count_error(self) -> None:
        self.errors += 1
        if self.errors >= self.settings.max_errors and not self.engine.closed:
            text = "too many errors"
            self.reply(Reply.of(codes.C421_SERVICE_UNAVAILABLE, codes.ES_4_7_0_SECURITY, text))

    async def _handle(self, event: Event) -> Reply | None:
        if self.refused and not isinstance(event, Quit):
            return Reply.of(
                codes.C503_BAD_SEQUENCE, codes.ES_5_5_1_INVALID_COMMAND, "no service; send QUIT"
            )
        try:
            return await stages.dispatch(self, event)
        except (*_GONE, _Shutdown):
            raise
        except Exception:
            self.log.exception("smtp-stage-failed", event=type(event).__name__)
            return Reply.of(
                codes.C451_LOCAL_ERROR, codes.ES_4_3_0_SYSTEM, "local error; try again later"
            )

    async def _start_tls(self) -> None:
        await self.flush()
        await self.conn.start_tls()
        if self.engine.dropped:
            self.log.warning("starttls-pipelined-input-dropped", bytes=self.engine.dropped)
        self.account_id = None
        self.ehlo_verdict = Verdict()
        self.info = dataclasses.replace(self.info, tls=self.conn.tls, helo=None, account=None)

    async def _goodbye(self, status: str, text: str) -> None:
        self._out += self.engine.send(Reply.of(codes.C421_SERVICE_UNAVAILABLE, status, text))
        with trio.move_on_after(5, shield=True):
            with contextlib.suppress(*_GONE):
                await self.flush()
