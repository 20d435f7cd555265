"""The POP3 driver: one trio task per connection, moving bytes between the socket and
:class:`~plugins.pop3.proto.engine.Pop3Engine` and running each command's op.

Implementation notes:

* One command at a time (RFC 2449 §6.6: a pipelining server "MUST process
  each command in turn"). Replies are gathered in a buffer and written when
  the engine has no complete command left, so a pipelined burst is answered
  in few writes; message bodies are flushed every :data:`FLUSH_AT` bytes.
* RFC 1939 §3: on the idle timeout the connection is closed with no reply and
  without entering UPDATE; so is a connection that breaks or closes at any
  point. Only QUIT in TRANSACTION removes messages (RFC 1939 §6).
* The maildrop lease (:class:`~plugins.pop3.lease.MaildropLease`) is taken by
  the login op (:meth:`Pop3Session.hold_lease`), renewed by a task in the
  session's nursery, and released when the session ends, whatever ends it. If the lease is lost
  the session is cancelled, told ``-ERR [SYS/TEMP]`` and closed, unchanged.
* While the server drains for shutdown, a session still in AUTHORIZATION is
  told ``-ERR [SYS/TEMP]`` and closed; a TRANSACTION session may finish.
"""

from __future__ import annotations

import os
from typing import final

import trio

from kernel.net.connection import Connection, IdleTimeout
from kernel.store import MaildropEntry, MaildropListing
from plugins.pop3 import ops
from plugins.pop3.config import Pop3Settings
from plugins.pop3.lease import MaildropLease
from plugins.pop3.proto import responses
from plugins.pop3.proto.engine import CLOSED, NEED_DATA, Pop3Engine, Refusal
from plugins.pop3.proto.maildrop import MaildropView
from plugins.pop3.proto.responses import Reply
from plugins.pop3.proto.state import State

__all__ = ["FLUSH_AT", "ClientGone", "Pop3Session", "serve"]

#: Buffered output is written once it reaches this many bytes.
FLUSH_AT = 64 * 1024
#: SASL responses may be this much longer than ``auth.max_response`` (base64, CRLF).
_SASL_SLACK = 64


class ClientGone(Exception):
    """The client closed, broke the connection, or fell silent mid-exchange."""


@final
class Pop3Session:
    """One client's session: the engine, the output buffer, the login and the maildrop.

    Attributes:
        account: the logged-in account's store id (None before login).
        lease: the maildrop lease (held from login to the end of the session).
        listing: the maildrop as listed at login; ``view`` numbers and marks it.
        done: set by an op to end the session after its reply.
    """

    def __init__(self, conn: Connection, settings: Pop3Settings, nursery: trio.Nursery) -> None:
        self.conn = conn
        self.settings = settings
        self.engine = Pop3Engine(max_line=settings.max_command_length)
        self.account: int | None = None
        self.listing: MaildropListing | None = None
        self.view: MaildropView[MaildropEntry] = MaildropView(0, ())
        self.auth_failures = 0
        self.done = False
        self._nursery = nursery
        self._out = bytearray()
        self._aborted = False
        self._scope = trio.CancelScope()
        owner = f"{conn.kernel.hostname}:{os.getpid()}:{conn.id}"
        maildrop = conn.kernel.store.maildrop
        self.lease = MaildropLease(
            maildrop, owner, settings.lease_ttl, self._scope.cancel, conn.log
        )
        max_response = int(conn.kernel.config["auth"]["max_response"])
        self._sasl_limit = (max_response + 2) // 3 * 4 + _SASL_SLACK

    # ---- output --------------------------------------------------------------

    def reply(self, reply: Reply) -> None:
        """Queue a status line."""
        self._out += reply.to_bytes()

    def write(self, data: bytes) -> None:
        """Queue raw bytes (a multi-line body)."""
        self._out += data

    async def flush(self) -> None:
        """Send what is queued."""
        if self._out:
            data = bytes(self._out)
            self._out.clear()
            await self.conn.send_all(data)

    def abort(self) -> None:
        """End the session at once, sending nothing more (a failure mid-message)."""
        self._out.clear()
        self.done = True
        self._aborted = True

    async def write_streaming(self, data: bytes) -> None:
        """Queue ``data``, sending once the buffer is large (message bodies)."""
        self._out += data
        if len(self._out) >= FLUSH_AT:
            await self.flush()

    # ---- input ---------------------------------------------------------------

    async def receive(self) -> bool:
        """Read more from the client into the engine; False once it is gone."""
        try:
            data = await self.conn.receive_some()
        except IdleTimeout:
            self.conn.log.info("pop3-idle-timeout", state=self.engine.state.value)
            return False
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        self.engine.receive_data(data)
        return bool(data)

    async def read_sasl_line(self) -> bytes | None:
        """The client's next SASL response line; None if it was too long.

        Raises:
            ClientGone: the client closed or went silent.
        """
        while True:
            line = self.engine.next_sasl_line(self._sasl_limit)
            if line is NEED_DATA:
                await self.flush()
                if not await self.receive():
                    raise ClientGone("closed during AUTH")
                continue
            if line is CLOSED:
                raise ClientGone("closed during AUTH")
            return line if isinstance(line, bytes) else None  # None: TOO_LONG

    # ---- the maildrop and its lease --------------------------------------------

    async def hold_lease(self, account: int) -> bool:
        """Lock the maildrop and keep the lease renewed; False if another session holds it.

        Raises whatever the store raises (the caller answers ``[SYS/TEMP]``).
        """
        return await self.lease.acquire(account, self._nursery)

    def opened(self, account: int, listing: MaildropListing) -> None:
        """The login succeeded and the maildrop is locked and listed: enter TRANSACTION."""
        self.account = account
        self.listing = listing
        self.view = MaildropView(listing.uidvalidity, listing.entries)
        self.engine.authenticated()

    # ---- the loop ----------------------------------------------------------------

    async def run(self) -> None:
        """Greet, then run commands until QUIT, a closing refusal, or the client leaves."""
        host = self.conn.kernel.hostname
        self.reply(responses.ok(f"{host} {responses.GREETING}"))
        with self._scope:
            await self._loop()
        if self._aborted:
            return
        if self.lease.lost:
            self._out.clear()
            self.reply(responses.LEASE_LOST)
        await self.flush()

    async def _loop(self) -> None:
        while not self.done:
            event = self.engine.next_event()
            if event is NEED_DATA:
                if self.conn.closing and self.engine.state is State.AUTHORIZATION:
                    self.reply(responses.SHUTTING_DOWN)
                    return
                await self.flush()
                if not await self.receive():
                    return
            elif event is CLOSED:
                return
            elif isinstance(event, Refusal):
                self.reply(event.reply)
                if event.close:
                    return
            else:
                await ops.DISPATCH[type(event)](self, event)


async def serve(conn: Connection) -> None:
    """Serve one POP3 connection (the ``ProtocolSpec.serve`` of ``protocol: pop3``)."""
    settings = Pop3Settings.from_section(conn.kernel.config["pop3"])
    async with trio.open_nursery() as nursery:
        session = Pop3Session(conn, settings, nursery)
        try:
            await session.run()
        except (ClientGone, trio.BrokenResourceError, trio.ClosedResourceError):
            conn.log.debug("pop3-client-gone", state=session.engine.state.value)
        finally:
            nursery.cancel_scope.cancel()
            await session.lease.release()
