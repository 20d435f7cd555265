"""The trio driver of one IMAP connection (STYLE.md §1.4).

It moves bytes between the kernel's connection and the sans-IO
:class:`plugins.imap.proto.receiver.Receiver`, hands each command to
:func:`plugins.imap.dispatch.dispatch`, and ends the session.

Implementation notes:

* One command at a time (STYLE.md §1.4): pipelined commands wait in the receiver
  until the previous one answered, which RFC 9051 §5.5 allows ("execute commands to
  completion in the order given"). The receiver holds at most one command plus one
  read, and replies are written with ``send_all`` as they are produced, so neither a
  flood of commands nor a client that does not read makes the server buffer without
  bound.
* Timers (RFC 9051 §5.4): ``imap.timeouts.unauthenticated`` before login, the
  autologout ``imap.timeouts.authenticated`` (at least 30 minutes) after it, and
  ``imap.timeouts.idle`` while in IDLE; each ends with ``* BYE`` and closing.
* STARTTLS (RFC 9051 §6.2.1): the tagged OK goes out in clear, then everything the
  receiver read ahead is dropped and the handshake runs.
* NOTIFY (RFC 5465): :func:`plugins.imap.notifier.run_notifications` runs beside the
  read loop and writes notifications between commands; the loop holds
  ``session.busy`` while it answers anything, so they never split a command's
  responses.
* The connection ends after LOGOUT, after ``imap.max_auth_failures`` failed logins,
  when the client closes, when the receiver asks to (a literal too big to skip), when
  the selected mailbox is deleted, and when the kernel drains: a read waiting for the
  client is interrupted at once and the session says ``* BYE [UNAVAILABLE]``, while a
  command being executed finishes first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import trio

from kernel.net.connection import Connection, IdleTimeout
from plugins.imap.capabilities import capabilities
from plugins.imap.config import imap_config
from plugins.imap.context import SelectionLost, Session
from plugins.imap.deflate import Deflate
from plugins.imap.dispatch import dispatch
from plugins.imap.notifier import after_command, run_notifications
from plugins.imap.proto import codes
from plugins.imap.proto import responses as r
from plugins.imap.proto.commands import Command
from plugins.imap.proto.receiver import (
    CLOSED,
    NEED_DATA,
    CommandError,
    RawLine,
    Receiver,
    SendContinuation,
)
from plugins.imap.proto.state import State
from plugins.imap.transport import Drained, DrainWatch, coalesce

__all__ = ["serve"]

_READ = 65536


async def serve(conn: Connection) -> None:
    """Serve one IMAP connection until it ends (see the module docstring)."""
    config = imap_config(conn.kernel.config.get("imap"))
    receiver = Receiver(
        max_line=config.max_line_length,
        max_literal=config.append_limit,
        max_short_literal=config.max_literal_size,
        max_command=config.max_command_size,
        literal_mode="LITERAL+",
    )

    deflate: Deflate | None = None

    async def write(chunks: Sequence[bytes | memoryview]) -> None:
        if deflate is not None:
            await conn.send_all(deflate.compress(chunks))
            return
        for chunk in coalesce(chunks):
            await conn.send_all(chunk)

    def timeout() -> float:
        if session.state is State.NOT_AUTHENTICATED:
            return config.unauthenticated_timeout
        return config.authenticated_timeout

    async def fill(limit: float | None = None) -> None:
        if deflate is not None and deflate.has_input:
            inflated = deflate.take(_READ)
            if inflated:
                receiver.receive_data(inflated)
                return
        with drain.watch():
            data = await conn.receive_some(_READ, timeout=timeout() if limit is None else limit)
        if deflate is None or not data:
            receiver.receive_data(data)
        else:
            deflate.feed(data)
            inflated = deflate.take(_READ)
            if inflated:
                receiver.receive_data(inflated)

    async def read_line(limit: float | None) -> bytes | None:
        receiver.expect_line()
        while True:
            event = receiver.next_event()
            if event is NEED_DATA:
                await fill(limit)
            elif isinstance(event, RawLine):
                return event.line
            else:
                return None

    async def start_tls() -> None:
        receiver.take_buffered()  # RFC 9051 §6.2.1: never run plaintext read ahead
        await conn.start_tls()

    async def start_compress() -> None:
        nonlocal deflate
        deflate = Deflate()
        deflate.feed(receiver.take_buffered())  # the client compresses from now on

    session = Session(conn, config, write, read_line)
    session.start_tls = start_tls
    session.start_compress = start_compress
    drain = DrainWatch()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(drain.run, conn)
        nursery.start_soon(run_notifications, session)  # RFC 5465: between commands
        await _serve(session, receiver, fill)
        nursery.cancel_scope.cancel()


async def _serve(session: Session, receiver: Receiver, fill: Callable[[], Awaitable[None]]) -> None:
    """Greet, run the loop, and end the session whichever way it ends."""
    try:
        await session.send(
            r.untagged("OK", "IMAP server ready", code=r.code_capability(capabilities(session)))
        )
        await _loop(session, receiver, fill)
    except Drained:
        await _bye(session, "Server shutting down", codes.UNAVAILABLE.encode())
    except IdleTimeout:
        await _bye(session, "Autologout: idle for too long")
    except SelectionLost:
        await _bye(session, "Selected mailbox was deleted, have to disconnect")
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    except ValueError:  # a corrupt COMPRESS stream: nothing more can be read
        await _bye(session, "Corrupt compressed data")
    finally:
        session.close()


async def _bye(session: Session, text: str, code: bytes | None = None) -> None:
    """Send ``* BYE`` if the connection still takes it."""
    try:
        with trio.move_on_after(5):
            await session.send(r.bye(text, code=code))
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass


async def _loop(session: Session, receiver: Receiver, fill: Callable[[], Awaitable[None]]) -> None:
    """Read, dispatch and answer until the session ends."""
    while True:
        if session.conn.closing:
            raise Drained
        receiver.utf8 = session.utf8
        event = receiver.next_event()
        if event is NEED_DATA:
            await fill()
        elif event is CLOSED:
            return
        else:
            async with session.busy:  # NOTIFY's notifications wait (plugins.imap.notifier)
                if not await _handle(session, event):
                    return


async def _handle(
    session: Session, event: SendContinuation | CommandError | RawLine | Command
) -> bool:
    """Answer one receiver event; False when the session ends."""
    if isinstance(event, SendContinuation):
        await session.send(r.continuation(event.text))
    elif isinstance(event, CommandError):
        code = event.code.encode() if event.code else None
        if event.close:
            await _bye(session, event.text, code)
            return False
        status = "NO" if event.status == "NO" else "BAD"
        if event.tag is None:
            await session.send(r.untagged(status, event.text, code=code))
        else:
            await session.send(r.tagged(event.tag, status, event.text, code=code))
    elif isinstance(event, RawLine):
        return True
    else:
        await dispatch(session, event)
        if session.state is State.LOGOUT:
            return False
        if session.auth_failures >= session.config.max_auth_failures:
            await _bye(session, "Too many authentication failures")
            return False
        await after_command(session, event)
    return True
