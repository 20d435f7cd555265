"""The ManageSieve driver: one trio task per connection, moving bytes between the socket
and :class:`~plugins.managesieve.proto.engine.SieveEngine` and running each command's op.

Implementation notes:

* One command at a time (RFC 5804 §2 allows pipelining; each command is
  answered in order). Responses are gathered and written when the engine has
  no complete command left, so a pipelined burst is answered in few writes.
* The greeting is the capability listing and OK (§1.7: "Server capabilities
  are sent automatically by the server upon a client connection").
* Timeouts (§1.2): before login ``login_timeout``, after it the listener's
  idle timeout (30 minutes by default); on expiry the client is told BYE.
* While the server drains for shutdown, a session that is not logged in is
  told ``BYE (TRYLATER)``; a logged-in one may finish its work.
"""

from __future__ import annotations

import contextlib
from typing import final

import trio

from kernel.net.connection import Connection, IdleTimeout
from plugins.managesieve import ops
from plugins.managesieve.compile import sieve_limits
from plugins.managesieve.config import SieveSettings
from plugins.managesieve.proto import codes, responses
from plugins.managesieve.proto.engine import (
    CLOSED,
    NEED_DATA,
    Refusal,
    SaslResponse,
    SieveEngine,
)
from plugins.managesieve.proto.receiver import Continue
from plugins.managesieve.proto.responses import Response
from plugins.managesieve.proto.state import State
from plugins.sieve import Limits

__all__ = ["ClientGone", "SieveSession", "serve"]

#: SASL responses may be this much longer than ``auth.max_response`` (base64).
_SASL_SLACK = 64
#: Text of the continuation request sent for a synchronising literal.
CONTINUE_TEXT = "Ready for literal data"


class ClientGone(Exception):
    """The client closed, broke the connection, or fell silent mid-exchange."""


@final
class SieveSession:
    """One client's session: the engine, the output buffer, the login.

    Attributes:
        account: the logged-in account's store id (None before login).
        owner: its login name (the OWNER capability).
        done: set by an op to end the session after its response.
    """

    def __init__(self, conn: Connection, settings: SieveSettings) -> None:
        self.conn = conn
        self.settings = settings
        max_response = int(conn.kernel.config["auth"]["max_response"])
        self.engine = SieveEngine(
            max_line=settings.max_line_length,
            max_literal=settings.max_script_size,
            max_discard=settings.max_discard,
            max_name=settings.max_name_length,
            max_literal_unauth=(max_response + 2) // 3 * 4 + _SASL_SLACK,
        )
        self.account: int | None = None
        self.owner: str | None = None
        self.auth_failures = 0
        self.done = False
        self._out = bytearray()

    # ---- output --------------------------------------------------------------

    def reply(self, response: Response) -> None:
        """Queue a completion response."""
        self._out += response.to_bytes()

    def write(self, data: bytes) -> None:
        """Queue raw bytes (capability lines, a script, a SASL challenge)."""
        self._out += data

    async def flush(self) -> None:
        """Send what is queued."""
        if self._out:
            data = bytes(self._out)
            self._out.clear()
            await self.conn.send_all(data)

    # ---- login state -----------------------------------------------------------

    def logged_in(self, account: int, owner: str) -> None:
        self.account = account
        self.owner = owner
        self.engine.authenticated()

    def logged_out(self) -> None:
        self.account = None
        self.owner = None
        self.engine.unauthenticated()

    def mechanisms(self) -> list[str]:
        """The SASL mechanisms enabled for ManageSieve (before the TLS filter)."""
        return self.settings.mechanisms(self.conn.kernel.config["auth"]["mechanisms"])

    def sieve_limits(self) -> Limits:
        """The Sieve limits uploads are checked against (the ``sieve`` section's, our size)."""
        kernel = self.conn.kernel
        return sieve_limits(kernel.config, kernel.hostname, self.settings.max_script_size)

    # ---- input ---------------------------------------------------------------

    async def receive(self) -> bool:
        """Read more from the client into the engine; False once it is gone or idle."""
        timeout = None
        if self.engine.state is State.NONAUTH and self.settings.login_timeout > 0:
            idle = self.conn.idle_timeout
            login = self.settings.login_timeout
            timeout = login if idle <= 0 else min(login, idle)
        try:
            data = await self.conn.receive_some(timeout=timeout)
        except IdleTimeout:
            self.conn.log.info("managesieve-idle-timeout", state=self.engine.state.value)
            self.reply(codes.IDLE_TIMEOUT)
            return False
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        self.engine.receive_data(data)
        return bool(data)

    async def read_sasl_response(self) -> SaslResponse:
        """The client's next SASL response.

        Raises:
            ClientGone: the client closed, went silent, or broke the framing.
        """
        while True:
            event = self.engine.next_sasl_response()
            if event is NEED_DATA:
                await self.flush()
                if not await self.receive():
                    raise ClientGone("closed during AUTHENTICATE")
            elif event is CLOSED:
                raise ClientGone("closed during AUTHENTICATE")
            elif isinstance(event, Continue):
                self.write(responses.continuation(CONTINUE_TEXT))
            elif isinstance(event, Refusal):
                self.reply(event.response)
                raise ClientGone("unreadable SASL response")
            else:
                assert isinstance(event, SaslResponse)
                return event

    # ---- the loop ----------------------------------------------------------------

    async def run(self) -> None:
        """Greet, then run commands until LOGOUT, a closing refusal, or the client leaves."""
        self.write(ops.capability_listing(self))
        self.reply(codes.OK)
        await self._loop()
        await self.flush()

    async def _loop(self) -> None:
        while not self.done:
            event = self.engine.next_event()
            if event is NEED_DATA:
                if self.conn.closing and self.engine.state is State.NONAUTH:
                    self.reply(codes.SHUTTING_DOWN)
                    return
                await self.flush()
                if not await self.receive():
                    return
            elif event is CLOSED:
                return
            elif isinstance(event, Continue):
                self.write(responses.continuation(CONTINUE_TEXT))
            elif isinstance(event, Refusal):
                self.reply(event.response)
                if event.close:
                    return
            else:
                await ops.DISPATCH[type(event)](self, event)


async def serve(conn: Connection) -> None:
    """Serve one connection (the ``ProtocolSpec.serve`` of ``protocol: managesieve``)."""
    settings = SieveSettings.from_section(conn.kernel.config["managesieve"])
    session = SieveSession(conn, settings)
    try:
        await session.run()
    except (ClientGone, trio.BrokenResourceError, trio.ClosedResourceError):
        conn.log.debug("managesieve-client-gone", state=session.engine.state.value)
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await session.flush()
