"""Commands outside the mail transaction's stages: RSET, NOOP, VRFY, EXPN, HELP, QUIT.

Implementation notes:

* VRFY answers ``252`` (RFC 5321 §3.5.3: "cannot VRFY user, but will accept
  message"), so the directory cannot be enumerated through it; EXPN is not
  offered (``502``, RFC 5321 §3.5.2 allows disabling it).
* RSET ends the transaction (the engine moves the state when the 250 is sent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugins.smtp.proto import codes
from plugins.smtp.proto.commands import Expn, Help, Noop, Quit, Rset, Vrfy
from plugins.smtp.proto.responses import Reply

if TYPE_CHECKING:
    from plugins.smtp.session import Session

__all__ = ["simple"]

_HELP = (
    "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH",
    "See RFC 5321 for their syntax",
)


def simple(session: Session, cmd: Rset | Noop | Vrfy | Expn | Help | Quit) -> Reply:
    """The reply to a command that needs no store or pipeline."""
    match cmd:
        case Rset() | Noop():
            return Reply.of(codes.C250_COMPLETED, codes.ES_2_0_0_OK, "OK")
        case Vrfy():
            return Reply.of(
                codes.C252_CANNOT_VERIFY,
                codes.ES_2_0_0_OK,
                "cannot VRFY user, but will accept message and attempt delivery",
            )
        case Expn():
            return Reply.of(
                codes.C502_NOT_IMPLEMENTED, codes.ES_5_5_1_INVALID_COMMAND, "EXPN not available"
            )
        case Help():
            return Reply.of(codes.C214_HELP, codes.ES_2_0_0_OK, *_HELP)
        case Quit():
            return Reply.of(
                codes.C221_CLOSING, codes.ES_2_0_0_OK, f"{session.settings.hostname} closing"
            )
