"""CAPABILITY, NOOP, CHECK, LOGOUT, ID, NAMESPACE, ENABLE and COMPRESS.

RFC 9051 §6.1.1-§6.1.3, §6.3.1, §6.3.10; RFC 3501 §6.4.1 (CHECK); RFC 2971 (ID);
RFC 2342 (NAMESPACE); RFC 5161 (ENABLE); RFC 4978 (COMPRESS).
"""

from __future__ import annotations

from plugins.imap.capabilities import ENABLEABLE, capabilities
from plugins.imap.context import Session, State
from plugins.imap.errors import Done, bad
from plugins.imap.names import DELIMITER, SHARED_PREFIX
from plugins.imap.proto import responses as r
from plugins.imap.proto.commands import (
    Capability,
    Check,
    Compress,
    Enable,
    Id,
    Logout,
    Namespace,
    Noop,
)

__all__ = ["capability", "check", "compress", "enable", "id_", "logout", "namespace", "noop"]


async def capability(session: Session, cmd: Capability) -> Done:
    """RFC 9051 §6.1.1: the untagged CAPABILITY list."""
    await session.send(r.capability(capabilities(session)))
    return Done("CAPABILITY completed")


async def noop(session: Session, cmd: Noop) -> Done:
    """RFC 9051 §6.1.2: nothing, but a chance for updates (the dispatcher polls)."""
    return Done("NOOP completed")


async def check(session: Session, cmd: Check) -> Done:
    """RFC 3501 §6.4.1: a checkpoint; every write is durable already, so a NOOP."""
    return Done("CHECK completed")


async def logout(session: Session, cmd: Logout) -> Done:
    """RFC 9051 §6.1.3: ``* BYE`` then the tagged OK; the driver closes after it."""
    await session.send(r.bye("Logging out"))
    session.state = State.LOGOUT
    return Done("LOGOUT completed")


async def id_(session: Session, cmd: Id) -> Done:
    """RFC 2971 §3.1: log what the client says, answer with the server's name."""
    if cmd.params:
        described = "; ".join(f"{k[:30]}={(v or '')[:100]}" for k, v in cmd.params[:30])
        session.conn.log.info("imap-client-id", client=described)
    await session.send(r.id_response([("name", session.config.server_name)]))
    return Done("ID completed")


async def namespace(session: Session, cmd: Namespace) -> Done:
    """RFC 9051 §6.3.10; RFC 2342 §5: personal ``""``, other users ``Shared/``."""
    await session.send(
        r.namespace(
            [("", DELIMITER)],
            [(SHARED_PREFIX + DELIMITER, DELIMITER)],
            None,
            utf8=session.utf8,
        )
    )
    return Done("NAMESPACE completed")


_CANONICAL = {"IMAP4REV2": "IMAP4rev2"}


async def enable(session: Session, cmd: Enable) -> Done:
    """RFC 5161 §3.1: enable what we know, list what was newly enabled."""
    newly = []
    for name in cmd.capabilities:
        upper = name.upper()
        if upper in ENABLEABLE and upper not in session.enabled:
            session.enabled.add(upper)
            # RFC 7162 §3.2.3: enabling QRESYNC implies CONDSTORE (Session.condstore).
            newly.append(_CANONICAL.get(upper, upper))
    await session.send(r.enabled(newly))
    return Done("ENABLE completed")


async def compress(session: Session, cmd: Compress) -> Done | None:
    """RFC 4978 §3: OK, then DEFLATE both ways from the byte after the CRLF."""
    if cmd.mechanism != "DEFLATE":
        raise bad("Unknown compression mechanism")
    if session.compressed or session.start_compress is None:
        raise bad("Compression is already active")
    await session.send(r.tagged(cmd.tag, "OK", "DEFLATE active"))
    session.compressed = True
    await session.start_compress()
    return None
