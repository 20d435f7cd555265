"""STLS (RFC 2595 §4) and UTF8 (RFC 6856 §2.1): the two AUTHORIZATION-state switches."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugins.pop3.proto import responses
from plugins.pop3.proto.commands import Stls, Utf8

if TYPE_CHECKING:
    from plugins.pop3.session import Pop3Session

__all__ = ["stls", "utf8"]


async def stls(session: Pop3Session, cmd: Stls) -> None:
    """Start TLS; the session stays in AUTHORIZATION (RFC 2595 §4)."""
    conn = session.conn
    if conn.tls is not None:
        # RFC 2595 §4: "A -ERR response MAY result if a security layer is already active."
        session.reply(responses.STLS_ACTIVE)
    elif session.engine.utf8:
        # RFC 6856 §2.1: servers MAY reject STLS after UTF8.
        session.reply(responses.STLS_AFTER_UTF8)
    elif not conn.can_start_tls:
        session.reply(responses.STLS_UNAVAILABLE)
    else:
        session.reply(responses.STLS_GO)
        await session.flush()
        # RFC 2595 §4; RFC 3207 §4.2: nothing the client sent before the
        # handshake may be acted on after it.
        dropped = session.engine.drop_buffer()
        if dropped:
            conn.log.warning("pop3-stls-discarded", bytes=dropped)
        await conn.start_tls()


async def utf8(session: Pop3Session, cmd: Utf8) -> None:
    """Enter UTF-8 mode (RFC 6856 §2.1): messages with UTF-8 headers are sent as they are."""
    session.engine.utf8 = True
    session.reply(responses.UTF8_ON)
