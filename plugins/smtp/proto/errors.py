"""Protocol errors of the SMTP engine (STYLE.md §1.6).

:class:`RemoteProtocolError` is the client's mistake: the parser raises it with
the reply to send (``501 5.5.4 ...``), and the engine turns it into a
:class:`~plugins.smtp.proto.events.BadCommand` event; ``user_error`` is true, so
it is logged at debug level at most. :class:`LocalProtocolError` is the
driver's mistake (asking for an event while a reply is owed, sending a reply
nobody asked for) and is a bug.
"""

from __future__ import annotations

from plugins.smtp.proto.codes import C451_LOCAL_ERROR, ES_4_3_0_SYSTEM
from plugins.smtp.proto.responses import Reply

__all__ = ["LocalProtocolError", "ProtocolError", "RemoteProtocolError"]


class ProtocolError(Exception):
    """An SMTP protocol error, with the reply that reports it."""

    user_error: bool = False

    def __init__(self, reply: Reply) -> None:
        super().__init__(" ".join(reply.lines))
        self.reply = reply


class RemoteProtocolError(ProtocolError):
    """The client sent something invalid; ``reply`` tells it what."""

    user_error = True


class LocalProtocolError(ProtocolError):
    """The driver used the engine wrongly (a bug on our side)."""

    def __init__(self, message: str) -> None:
        super().__init__(Reply.of(C451_LOCAL_ERROR, ES_4_3_0_SYSTEM, "local error in processing"))
        self.args = (message,)
