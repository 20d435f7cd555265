"""USER, PASS (RFC 1939 §7) and APOP (refused)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.login import login_password, plaintext_login_allowed
from kernel.sasl import saslprep
from plugins.pop3.ops.login import finish_login, login_failed
from plugins.pop3.proto import responses
from plugins.pop3.proto.commands import Apop, Pass, User

if TYPE_CHECKING:
    from plugins.pop3.session import Pop3Session

__all__ = ["apop", "pass_", "user"]


def _prepare(text: str) -> str | None:
    """RFC 6856 §2.2: SASLprep a UTF-8 USER or PASS argument as a query string."""
    if text.isascii():
        return text
    try:
        return saslprep(text, allow_unassigned=True) or None
    except ValueError:
        return None


async def user(session: Pop3Session, cmd: User) -> None:
    """Remember the login name for PASS."""
    if not plaintext_login_allowed(session.conn):
        # RFC 1939 §7: "-ERR ... if mailbox exists, but does not permit plaintext
        # password authentication"; RFC 8314 §3: not without TLS.
        session.reply(responses.PLAINTEXT_DISABLED)
        return
    # RFC 1939 §7: "+OK" even for a name that does not exist, so USER reveals nothing.
    session.engine.user = cmd.name
    session.reply(responses.USER_OK)


async def pass_(session: Pop3Session, cmd: Pass) -> None:
    """Check the password for the name USER gave; on success open the maildrop."""
    name = session.engine.user
    session.engine.user = None  # RFC 1939 §7: after a failed PASS, USER comes again
    assert name is not None  # the engine refuses PASS without a pending USER
    if not plaintext_login_allowed(session.conn):
        session.reply(responses.PLAINTEXT_DISABLED)
        return
    login, password = _prepare(name), _prepare(cmd.password)
    if login is None or password is None:
        await login_failed(session, responses.INVALID_CREDENTIALS)
        return
    await finish_login(session, await login_password(session.conn, login, password))


async def apop(session: Pop3Session, cmd: Apop) -> None:
    """Refused: APOP needs the clear-text secret, and the store keeps only hashes.

    The greeting carries no timestamp, which tells clients APOP is not offered
    (RFC 2449 §6: APOP support is announced by the greeting, not by CAPA).
    """
    session.reply(responses.APOP_UNAVAILABLE)
