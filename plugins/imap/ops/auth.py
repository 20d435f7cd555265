"""STARTTLS, LOGIN and AUTHENTICATE (RFC 9051 §6.2; RFC 4959 SASL-IR).

Implementation notes:

* Logins go through :mod:`kernel.login`, the same for every protocol; a temporary
  directory failure is ``NO [UNAVAILABLE]``, a refusal ``NO [AUTHENTICATIONFAILED]``
  (RFC 5530), and the dispatcher closes the connection once
  ``imap.max_auth_failures`` is reached.
* RFC 9051 §6.2.3: without TLS (and unless ``auth.allow_plaintext_without_tls``) LOGIN
  is refused with ``NO [PRIVACYREQUIRED]`` and LOGINDISABLED is advertised.
* RFC 9051 §6.2.2: a client that cancels the exchange with ``*`` (or answers with
  something that is not base64) gets a tagged BAD.
* A successful login's OK carries the new capability list (RFC 9051 §7.1 CAPABILITY).
"""

from __future__ import annotations

from kernel.login import LoginResult, login_password, login_sasl, plaintext_login_allowed
from kernel.sasl import MechanismNotAllowed, UnknownMechanism
from plugins.imap.capabilities import capabilities
from plugins.imap.context import LOGINS, Session, State
from plugins.imap.errors import Done, bad, no
from plugins.imap.proto import codes
from plugins.imap.proto import responses as r
from plugins.imap.proto.commands import Authenticate, Login, StartTls
from plugins.imap.proto.parser.auth import decode_base64

__all__ = ["authenticate", "login", "starttls"]


async def starttls(session: Session, cmd: StartTls) -> Done | None:
    """RFC 9051 §6.2.1: OK, then the handshake; buffered input is dropped first."""
    if not session.conn.can_start_tls or session.start_tls is None:
        raise bad("STARTTLS is not available here")
    await session.send(r.tagged(cmd.tag, "OK", "Begin TLS negotiation now"))
    await session.start_tls()
    return None


def _logged_in(session: Session, result: LoginResult) -> Done:
    if result.temporary:
        raise no("Authentication is unavailable, try again later", codes.UNAVAILABLE)
    if not result.ok or result.account_id is None:
        session.auth_failures += 1
        raise no("Authentication failed", codes.AUTHENTICATIONFAILED)
    logins = session.conn.kernel.stash.setdefault(LOGINS, {})
    if logins.get(result.account_id, 0) >= session.config.max_connections_per_account:
        raise no("Too many sessions for this account", codes.LIMIT)
    logins[result.account_id] = logins.get(result.account_id, 0) + 1
    session.account = result.account
    session.account_id = result.account_id
    session.state = State.AUTHENTICATED
    session.watch([result.account_id])
    caps = r.code_capability(capabilities(session))
    return Done("Logged in", caps)


async def login(session: Session, cmd: Login) -> Done:
    """RFC 9051 §6.2.3: user name and password."""
    if not plaintext_login_allowed(session.conn):
        raise no("Use STARTTLS first", codes.PRIVACYREQUIRED)
    result = await login_password(session.conn, cmd.username, cmd.password)
    return _logged_in(session, result)


async def authenticate(session: Session, cmd: Authenticate) -> Done:
    """RFC 9051 §6.2.2 with RFC 4959's initial response."""
    cancelled = False

    async def exchange(challenge: bytes) -> bytes | None:
        nonlocal cancelled
        await session.send(r.continuation_data(challenge))
        line = await session.read_line(None)
        if line is None:
            cancelled = True
            return None
        line = line.rstrip(b"\r\n")
        decoded = None if line == b"*" else decode_base64(line)
        if decoded is None:
            cancelled = True
        return decoded

    initial = cmd.initial_response
    try:
        result = await login_sasl(session.conn, cmd.mechanism, initial, exchange)
    except UnknownMechanism:
        raise no(f"Unsupported mechanism {cmd.mechanism}", codes.CANNOT) from None
    except MechanismNotAllowed:
        raise no(f"{cmd.mechanism} needs TLS", codes.PRIVACYREQUIRED) from None
    if cancelled and not result.ok:
        session.auth_failures += 1
        raise bad("Authentication cancelled")
    return _logged_in(session, result)
