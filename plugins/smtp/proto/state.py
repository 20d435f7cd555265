"""The SMTP dialogue states and which command each allows (RFC 5321 §4.1.4, §3.3).

Theory of operation::

    INIT --EHLO/HELO 250--> READY --MAIL 250--> MAIL --RCPT 250--> RCPT
      ^                      ^  ^                                 |   |
      |                      |  +--- end of DATA / BDAT LAST -----+   | BDAT (no LAST) 250
      |                      |                                        v
      |                      +-------------- RSET 250 ------------- BDAT
      |                                                         BDAT 4xx/5xx -> BDAT_FAILED
      +-- STARTTLS 220 (RFC 3207 §4.2: forget everything)

RSET and EHLO/HELO end a transaction from any state (RFC 5321 §4.1.1.5,
§4.1.4). The engine moves between states when the driver *sends* the reply to
a command, so the driver's policy (a refused MAIL) and the dialogue state can
never disagree.
"""

from __future__ import annotations

import enum

from plugins.smtp.proto.codes import (
    C503_BAD_SEQUENCE,
    C554_TRANSACTION_FAILED,
    ES_5_5_1_INVALID_COMMAND,
)
from plugins.smtp.proto.commands import (
    Auth,
    Bdat,
    Command,
    Data,
    Mail,
    Rcpt,
    StartTls,
)
from plugins.smtp.proto.responses import Reply

__all__ = ["IN_TRANSACTION", "State", "sequence_error"]


class State(enum.Enum):
    """Where the dialogue is (see the module docstring)."""

    INIT = "init"
    READY = "ready"
    MAIL = "mail"
    RCPT = "rcpt"
    BDAT = "bdat"
    BDAT_FAILED = "bdat-failed"


#: States inside a mail transaction (a reverse-path was accepted).
IN_TRANSACTION = frozenset({State.MAIL, State.RCPT, State.BDAT, State.BDAT_FAILED})


def _bad(text: str, code: int = C503_BAD_SEQUENCE) -> Reply:
    return Reply.of(code, ES_5_5_1_INVALID_COMMAND, text)


def sequence_error(
    state: State, command: Command, *, extended: bool, authenticated: bool, binary: bool
) -> Reply | None:
    """The reply refusing ``command`` in ``state``, or None if it may proceed.

    Args:
        state: the current state.
        command: the parsed command.
        extended: the client greeted with EHLO (service extensions are usable).
        authenticated: an AUTH command succeeded in this session.
        binary: the transaction declared BODY=BINARYMIME.
    """
    match command:
        case StartTls() | Auth() | Bdat() if state is not State.INIT and not extended:
            # RFC 5321 §2.2.1: extensions are used only after EHLO.
            return _bad("send EHLO to use service extensions")
        case StartTls():
            if state is State.INIT:
                return _bad("send EHLO first")
            # deviation(RFC 3207 §4): STARTTLS inside a transaction is refused, not reset.
            if state in IN_TRANSACTION:
                return _bad("STARTTLS is not allowed in a mail transaction")
            return None
        case Auth():
            if authenticated:
                # RFC 4954 §4: no AUTH after a successful one.
                return _bad("already authenticated")
            if state is State.INIT:
                return _bad("send EHLO first")
            # RFC 4954 §4: AUTH is not permitted during a mail transaction.
            if state in IN_TRANSACTION:
                return _bad("AUTH is not allowed in a mail transaction")
            return None
        case Mail():
            if state is State.INIT:
                return _bad("send EHLO or HELO first")
            return _bad("nested MAIL command") if state is not State.READY else None
        case Rcpt():
            return None if state in (State.MAIL, State.RCPT) else _bad("send MAIL first")
        case Data():
            if state is State.RCPT:
                # RFC 3030 §3: a BINARYMIME message must be sent with BDAT.
                return _bad("BODY=BINARYMIME requires BDAT") if binary else None
            if state is State.MAIL:
                # RFC 2920 §3.1: DATA after every RCPT failed gets 554.
                return _bad("no valid recipients", C554_TRANSACTION_FAILED)
            if state in (State.BDAT, State.BDAT_FAILED):
                # RFC 3030 §2: DATA and BDAT cannot be mixed in one transaction.
                return _bad("DATA after BDAT; send RSET")
            return _bad("send MAIL and RCPT first")
        case Bdat():
            if state in (State.RCPT, State.BDAT):
                return None
            if state is State.BDAT_FAILED:
                # RFC 3030 §2: after a failed BDAT the client must RSET.
                return _bad("the transaction failed; send RSET")
            if state is State.MAIL:
                return _bad("no valid recipients", C554_TRANSACTION_FAILED)
            return _bad("send MAIL and RCPT first")
        case _:
            return None
