"""What :meth:`~plugins.smtp.proto.engine.SmtpEngine.next_event` returns.

Besides the commands themselves (:mod:`plugins.smtp.proto.commands`), the engine
returns these events and the two sentinels :data:`NEED_DATA` and
:data:`CLOSED`. Every event except the sentinels owes the client exactly one
reply, which the driver gives with :meth:`~plugins.smtp.proto.engine.SmtpEngine.send`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import final

from plugins.smtp.proto.commands import Command
from plugins.smtp.proto.receiver import Defect
from plugins.smtp.proto.responses import Reply

__all__ = [
    "CLOSED",
    "NEED_DATA",
    "AuthResponse",
    "BadCommand",
    "ChunkReceived",
    "Event",
    "MessageReceived",
    "Sentinel",
]


class Sentinel(enum.Enum):
    """The engine needs more bytes, or the connection is over."""

    NEED_DATA = "need-data"
    CLOSED = "closed"


NEED_DATA = Sentinel.NEED_DATA
CLOSED = Sentinel.CLOSED


@final
@dataclass(frozen=True, slots=True)
class BadCommand:
    """Input the engine refused by itself; send ``reply`` (a syntax or sequence error).

    ``verb`` is the upper-cased first word when there was one.
    """

    reply: Reply
    verb: str = ""


@final
@dataclass(frozen=True, slots=True)
class MessageReceived:
    """The end of DATA, or the chunk of ``BDAT ... LAST``, was read.

    Args:
        content: the message as received (dot-stuffing removed; empty when refused).
        size: octets received, the refused ones included.
        defects: why the content cannot be accepted as sent (empty: it can).
        chunked: it came by BDAT.
    """

    content: bytes
    size: int
    defects: frozenset[Defect]
    chunked: bool


@final
@dataclass(frozen=True, slots=True)
class ChunkReceived:
    """A BDAT chunk without LAST was read (RFC 3030 §2); ``defects`` as in MessageReceived."""

    size: int
    total: int
    defects: frozenset[Defect]


@final
@dataclass(frozen=True, slots=True)
class AuthResponse:
    """A client line during an AUTH exchange (RFC 4954 §4): base64 text or ``*``.

    ``line`` is None when the line was longer than the limit (``500 5.5.6``).
    """

    line: bytes | None


Event = Command | BadCommand | MessageReceived | ChunkReceived | AuthResponse
