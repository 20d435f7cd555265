"""CAPABILITY, STARTTLS, LOGOUT and NOOP (RFC 5804 §1.7, §2.2, §2.3, §2.4, §2.13).

Implementation notes:

* §1.7: IMPLEMENTATION, SIEVE and VERSION always; SASL (the mechanisms the
  kernel allows on this connection now: none that send a password in the
  clear before TLS, unless ``auth.allow_plaintext_without_tls``); STARTTLS
  only while it can be used and not after login; NOTIFY with the enotify
  methods (``mailto``); MAXREDIRECTS; OWNER only after login; LANGUAGE when
  configured; UNAUTHENTICATE (§2.14.1).
* §2.2: after the handshake the capabilities are sent again, then OK.
  Everything the client sent after STARTTLS and before the handshake is
  thrown away (RFC 3207 §4.2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.login import sasl_mechanisms
from plugins.managesieve.proto import codes
from plugins.managesieve.proto.commands import Capability, Logout, Noop, StartTls
from plugins.managesieve.proto.responses import Response, capability_lines
from plugins.managesieve.proto.state import State
from plugins.sieve import capabilities

if TYPE_CHECKING:
    from plugins.managesieve.session import SieveSession

__all__ = ["capability", "capability_listing", "logout", "noop", "starttls"]

#: RFC 5804 §1.7: "For servers compliant with this document, the capability value is ... "1.0"".
VERSION = "1.0"
#: RFC 5435 §3.8 / RFC 5436: the notification methods the Sieve engine implements.
NOTIFY_METHODS = ("mailto",)


def capability_listing(session: SieveSession) -> bytes:
    """The capability lines for this connection's current state (§1.7)."""
    conn = session.conn
    extensions = capabilities()
    items: list[tuple[str, str | None]] = [
        ("IMPLEMENTATION", session.settings.implementation),
        ("SASL", " ".join(sasl_mechanisms(conn, session.mechanisms()))),
        ("SIEVE", " ".join(extensions)),
    ]
    authenticated = session.engine.state is State.AUTH
    # §1.7: STARTTLS "SHOULD NOT be advertised once STARTTLS or AUTHENTICATE completes".
    if conn.can_start_tls and not authenticated:
        items.append(("STARTTLS", None))
    if "enotify" in extensions:
        # §1.7: NOTIFY "MUST be specified if the Sieve implementation supports enotify".
        items.append(("NOTIFY", " ".join(NOTIFY_METHODS)))
    limits = session.sieve_limits()
    items.append(("MAXREDIRECTS", str(limits.max_redirects)))
    if authenticated and session.owner is not None:
        # §1.7: OWNER "MUST NOT be returned in unauthenticated state".
        items.append(("OWNER", session.owner))
    if session.settings.language:
        items.append(("LANGUAGE", session.settings.language))
    items.append(("UNAUTHENTICATE", None))
    items.append(("VERSION", VERSION))
    return capability_lines(items)


async def capability(session: SieveSession, cmd: Capability) -> None:
    session.write(capability_listing(session))
    session.reply(codes.CAPABILITY_DONE)


async def starttls(session: SieveSession, cmd: StartTls) -> None:
    """Start TLS, then re-issue the capabilities (§2.2)."""
    conn = session.conn
    if not conn.can_start_tls:
        session.reply(codes.STARTTLS_UNAVAILABLE)
        return
    session.reply(codes.STARTTLS_GO)
    await session.flush()
    # RFC 3207 §4.2; RFC 5804 §2.2: nothing sent before the handshake is acted on after it.
    dropped = session.engine.drop_buffer()
    if dropped:
        conn.log.warning("managesieve-starttls-discarded", bytes=dropped)
    await conn.start_tls()
    # §2.2: "After the TLS layer is established, the server MUST re-issue the
    # capability results, followed by an OK response."
    session.write(capability_listing(session))
    session.reply(codes.OK)


async def logout(session: SieveSession, cmd: Logout) -> None:
    # §2.3: "The server MUST ignore commands issued by the client after the LOGOUT command."
    session.reply(codes.LOGOUT_DONE)
    session.done = True


async def noop(session: SieveSession, cmd: Noop) -> None:
    # §2.13: OK "followed by the TAG response code together with the supplied string".
    if cmd.tag is None:
        session.reply(codes.NOOP_DONE)
    else:
        session.reply(Response("OK", codes.TAG, cmd.tag, "Done"))
