"""RETR and TOP (RFC 1939 §5, §7): stream a message, CRLF-normalised and byte-stuffed.

Implementation notes:

* The message is read from the store in chunks (``store.maildrop.open_message``)
  and encoded by :class:`~plugins.pop3.proto.message.MessageEncoder` as it
  goes; output is flushed every ``FLUSH_AT`` bytes, so memory stays bounded
  whatever the message's size. TOP stops reading once its lines are sent.
* RFC 6856 §2.1: outside UTF-8 mode a message whose header holds UTF-8 is
  refused with ``-ERR [UTF8]`` (``utf8_messages: refuse``, the default) or
  sent as is (``send``). Deciding needs the header before ``+OK``, so up to
  :data:`HEADER_PEEK` bytes are read ahead.
* Once ``+OK`` is sent a failure cannot be reported in the protocol (the
  client would take an ``-ERR`` for message text): the session is aborted,
  the connection closed, and the maildrop left unchanged.
* RETR of a whole message is remembered for ``EXPIRE 0`` (RFC 2449 §6.7).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import trio

from kernel.errors import NoSuchItem
from kernel.store import MessageReader
from plugins.pop3.ops.listing import lookup_error
from plugins.pop3.proto import responses
from plugins.pop3.proto.commands import Retr, Top
from plugins.pop3.proto.maildrop import AlreadyDeleted, NoSuchMessage
from plugins.pop3.proto.message import MessageEncoder, header_needs_utf8

if TYPE_CHECKING:
    from plugins.pop3.session import Pop3Session

__all__ = ["HEADER_PEEK", "retr", "top"]

#: How far ahead a message is read to find the end of its header (UTF8 check).
HEADER_PEEK: Final = 256 * 1024


async def retr(session: Pop3Session, cmd: Retr) -> None:
    """The whole message."""
    if await _send(session, cmd.msg, None):
        session.view.retrieved(cmd.msg)


async def top(session: Pop3Session, cmd: Top) -> None:
    """The header, the blank line, and ``cmd.lines`` lines of the body."""
    await _send(session, cmd.msg, cmd.lines)


async def _peek(session: Pop3Session, reader: MessageReader) -> tuple[list[bytes], bool]:
    """The chunks read ahead, and whether the message needs UTF-8 mode to be sent."""
    if session.engine.utf8 or session.settings.utf8_messages == "send":
        return [], False
    chunks: list[bytes] = []
    prefix = b""
    while len(prefix) < HEADER_PEEK:
        chunk = await reader.read_chunk()
        if not chunk:
            break
        chunks.append(chunk)
        prefix += chunk
        needs = header_needs_utf8(prefix)
        if needs is not None:
            return chunks, needs
    # No header end seen: all of it (or all we read) is header.
    return chunks, not prefix.isascii()


async def _send(session: Pop3Session, number: int, lines: int | None) -> bool:
    """Send message ``number`` (cut to ``lines`` body lines); True if it was sent."""
    try:
        entry = session.view.get(number)
    except (NoSuchMessage, AlreadyDeleted) as exc:
        session.reply(lookup_error(exc))
        return False
    conn = session.conn
    assert session.account is not None
    try:
        reader = await conn.kernel.store.maildrop.open_message(session.account, entry.email)
        async with reader:
            try:
                ahead, needs_utf8 = await _peek(session, reader)
            except Exception as exc:  # the store's own errors vary by backend: translate them all
                conn.log.error("pop3-read-failed", email=entry.email, error=repr(exc))
                session.reply(responses.STORE_UNAVAILABLE)
                return False
            if needs_utf8:
                session.reply(responses.NEEDS_UTF8)
                return False
            session.reply(responses.message_follows(entry.size))
            try:
                await _stream(session, reader, ahead, MessageEncoder(lines))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                raise  # the client left: the session ends
            except Exception as exc:  # after +OK nothing can be said: close the session
                conn.log.error("pop3-stream-failed", email=entry.email, error=repr(exc))
                session.abort()
                return False
    except NoSuchItem:
        session.reply(responses.MESSAGE_GONE)  # destroyed by another client since login
        return False
    except Exception as exc:  # the store's own errors vary by backend: translate them all
        conn.log.error("pop3-open-failed", email=entry.email, error=repr(exc))
        session.reply(responses.STORE_UNAVAILABLE)
        return False
    return True


async def _stream(
    session: Pop3Session, reader: MessageReader, ahead: list[bytes], encoder: MessageEncoder
) -> None:
    for chunk in ahead:
        await session.write_streaming(encoder.feed(chunk))
        if encoder.done:
            break
    while not encoder.done:
        chunk = await reader.read_chunk()
        if not chunk:
            break
        await session.write_streaming(encoder.feed(chunk))
    session.write(encoder.finish())
