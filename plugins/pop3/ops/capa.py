"""CAPA (RFC 2449 §5): the capabilities, as announced in the session's current state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.login import plaintext_login_allowed, sasl_mechanisms
from plugins.pop3.proto import responses
from plugins.pop3.proto.capabilities import capability_lines
from plugins.pop3.proto.commands import Capa
from plugins.pop3.proto.state import State

if TYPE_CHECKING:
    from plugins.pop3.session import Pop3Session

__all__ = ["capa"]


async def capa(session: Pop3Session, cmd: Capa) -> None:
    """``+OK`` and one capability per line."""
    conn, settings, engine = session.conn, session.settings, session.engine
    lines = capability_lines(
        # RFC 2595 §2.3; RFC 8314 §3: USER only where a clear-text password may go.
        user=plaintext_login_allowed(conn),
        mechanisms=sasl_mechanisms(conn),
        # RFC 2595 §4: STLS only in AUTHORIZATION; RFC 6856 §2.1: not after UTF8.
        stls=conn.can_start_tls and engine.state is State.AUTHORIZATION and not engine.utf8,
        login_delay=int(settings.login_delay),
        expire=settings.expire,
        implementation=settings.implementation,
    )
    session.write(responses.multiline(responses.CAPA_FOLLOWS, lines))
