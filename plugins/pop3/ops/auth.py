"""AUTH (RFC 5034 §4): a SASL exchange through the shared ``kernel.login``.

Implementation notes:

* Challenges are ``+ `` and base64 (an empty one is ``+ `` alone); a response
  of ``*`` cancels, and a response that is not strict base64 fails the
  exchange (RFC 5034 §4); both end with ``-ERR``.
* POP3 has no room for data in its success reply (RFC 5034 §4), so SCRAM's
  final message is sent as one more challenge, answered by an empty line.
* A bare ``AUTH`` lists the mechanisms (the form before RFC 5034, still sent by
  some clients to probe).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.login import login_sasl, sasl_mechanisms
from kernel.sasl import MechanismNotAllowed, UnknownMechanism
from plugins.pop3.ops.login import finish_login
from plugins.pop3.proto import responses
from plugins.pop3.proto.commands import Auth, parse_sasl_response

if TYPE_CHECKING:
    from plugins.pop3.session import Pop3Session

__all__ = ["auth"]


async def auth(session: Pop3Session, cmd: Auth) -> None:
    """Run the exchange; on success open the maildrop."""
    if cmd.mechanism is None:
        mechanisms = sasl_mechanisms(session.conn)
        session.write(responses.multiline(responses.MECHANISMS_FOLLOW, mechanisms))
        return
    cancelled = False

    async def exchange(challenge: bytes) -> bytes | None:
        nonlocal cancelled
        session.write(responses.continuation(challenge))
        line = await session.read_sasl_line()
        if line is None:
            return None  # too long: fails the exchange
        response = parse_sasl_response(line)
        cancelled = response.cancelled
        return response.data

    try:
        result = await login_sasl(session.conn, cmd.mechanism, cmd.initial_response, exchange)
    except UnknownMechanism:
        session.reply(responses.UNKNOWN_MECHANISM)
        return
    except MechanismNotAllowed:
        session.reply(responses.MECHANISM_NEEDS_TLS)
        return
    if cancelled:
        # RFC 5034 §4: "If the server receives such a response, it MUST reject the
        # AUTH command by sending an -ERR reply."
        session.reply(responses.AUTH_CANCELLED)
        return
    await finish_login(session, result)
