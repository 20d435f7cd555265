"""AUTHENTICATE and UNAUTHENTICATE (RFC 5804 §2.1, §2.14.1) through the shared ``kernel.login``.

Implementation notes:

* Challenges are strings holding base64 (an empty one is ``""``); the client
  answers each with a string; ``"*"`` cancels (NO). A response that is not
  strict base64 fails the exchange.
* The optional second argument is the initial response, base64 (``""`` is an
  empty one). The SASL engine refuses it for a mechanism where the server
  speaks first (§2.1: "MUST reject").
* SCRAM's server-final message goes in ``OK (SASL "...")`` (§1.3), so the
  exchange needs no extra round trip.
* Mechanisms are ``managesieve.sasl_mechanisms``, by default those of the
  kernel ``auth`` section plus SCRAM-SHA-1 (§2.1: servers MUST implement it);
  PLAIN, LOGIN and OAUTHBEARER need TLS unless
  ``auth.allow_plaintext_without_tls`` (NO ``(ENCRYPT-NEEDED)``).
* SCRAM-SHA-1 needs SHA-1 keys, which an account whose password was set before
  store migration 11 gets at its next PLAIN/LOGIN login; until then its
  SCRAM-SHA-1 attempts fail like a wrong password.
* A failed login is answered after ``auth_failure_delay``; after
  ``max_auth_failures`` the server says BYE and closes (§1.2). A directory
  or store failure is ``NO (TRYLATER)`` and does not count.
* No SASL security layer is ever negotiated, so capabilities are not
  re-issued after login (§2.1).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import trio

from kernel.login import login_sasl
from kernel.sasl import MechanismNotAllowed, UnknownMechanism
from plugins.managesieve.proto import codes
from plugins.managesieve.proto.commands import Authenticate, Unauthenticate
from plugins.managesieve.proto.engine import decode_base64
from plugins.managesieve.proto.responses import Response, string_line

if TYPE_CHECKING:
    from plugins.managesieve.session import SieveSession

__all__ = ["authenticate", "unauthenticate"]


async def _failed(session: SieveSession) -> None:
    session.auth_failures += 1
    if session.settings.auth_failure_delay > 0:
        await trio.sleep(session.settings.auth_failure_delay)
    if session.auth_failures >= session.settings.max_auth_failures:
        session.reply(codes.TOO_MANY_FAILURES)
        session.done = True
        return
    session.reply(codes.AUTH_FAILED)


async def authenticate(session: SieveSession, cmd: Authenticate) -> None:
    """Run the SASL exchange; on success enter the authenticated state."""
    initial: bytes | None = None
    if cmd.initial_response is not None:
        initial = decode_base64(cmd.initial_response)
        if initial is None:
            session.reply(codes.BAD_BASE64)
            return
    cancelled = False

    async def exchange(challenge: bytes) -> bytes | None:
        nonlocal cancelled
        session.write(string_line(base64.b64encode(challenge)))
        response = await session.read_sasl_response()
        cancelled = response.cancelled
        return response.data

    try:
        result = await login_sasl(
            session.conn,
            cmd.mechanism,
            initial,
            exchange,
            success_data=True,
            mechanisms=session.mechanisms(),
        )
    except UnknownMechanism:
        session.reply(codes.UNKNOWN_MECHANISM)
        return
    except MechanismNotAllowed:
        session.reply(codes.MECHANISM_NEEDS_TLS)
        return
    if cancelled:
        session.reply(codes.AUTH_CANCELLED)
        return
    if result.temporary:
        session.reply(codes.AUTH_TEMPORARY)
        return
    if not result.ok or result.account_id is None or result.account is None:
        await _failed(session)
        return
    session.logged_in(result.account_id, result.account)
    if result.additional_data:
        # §1.3 SASL: "the optional final server response data".
        data = base64.b64encode(result.additional_data)
        session.reply(Response("OK", codes.SASL, data, codes.AUTH_DONE.text))
    else:
        session.reply(codes.AUTH_DONE)


async def unauthenticate(session: SieveSession, cmd: Unauthenticate) -> None:
    # §2.14.1: "When issued in the authenticated state, the UNAUTHENTICATE
    # command MUST NOT fail".
    session.logged_out()
    session.reply(codes.UNAUTH_DONE)
