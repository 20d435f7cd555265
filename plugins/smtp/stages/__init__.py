"""Behaviour by dialogue stage (STYLE.md §1.2: SMTP splits by stage, not by command).

:func:`dispatch` hands each engine event to its stage: ``connect`` (greeting),
``ehlo`` (EHLO/HELO, STARTTLS), ``auth``, ``mail``, ``rcpt``, ``data`` (DATA,
BDAT chunks, end of message and local delivery) and ``basic`` (RSET, NOOP, VRFY,
EXPN, HELP, QUIT). Each returns the reply, or None when the client went away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugins.smtp.proto import codes
from plugins.smtp.proto.commands import (
    Auth,
    Data,
    Ehlo,
    Expn,
    Help,
    Mail,
    Noop,
    Quit,
    Rcpt,
    Rset,
    StartTls,
    Vrfy,
)
from plugins.smtp.proto.events import (
    AuthResponse,
    BadCommand,
    ChunkReceived,
    Event,
    MessageReceived,
)
from plugins.smtp.proto.responses import Reply
from plugins.smtp.stages import auth, basic, data, ehlo, mail, rcpt
from plugins.smtp.stages.connect import greet

if TYPE_CHECKING:
    from plugins.smtp.session import Session

__all__ = ["dispatch", "greet"]


async def dispatch(session: Session, event: Event) -> Reply | None:
    """The reply to ``event`` (None: the connection is gone)."""
    match event:
        case BadCommand():
            return event.reply
        case Ehlo():
            return await ehlo.hello(session, event)
        case StartTls():
            return ehlo.starttls(session, event)
        case Auth():
            return await auth.authenticate(session, event)
        case Mail():
            return await mail.mail(session, event)
        case Rcpt():
            return await rcpt.rcpt(session, event)
        case Data():
            return data.start(session, event)
        case ChunkReceived():
            return data.chunk(session, event)
        case MessageReceived():
            return await data.message(session, event)
        case Rset() | Noop() | Vrfy() | Expn() | Help() | Quit():
            return basic.simple(session, event)
        case AuthResponse():  # only ever read inside an exchange
            return Reply.of(
                codes.C503_BAD_SEQUENCE, codes.ES_5_5_1_INVALID_COMMAND, "no AUTH exchange"
            )
    raise AssertionError(f"unexpected event {event!r}")  # pragma: no cover
