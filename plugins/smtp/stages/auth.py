"""The AUTH stage (RFC 4954): a SASL exchange through :mod:`kernel.login`.

Replies (RFC 4954 §4, §6): ``235 2.7.0`` success; ``535 5.7.8`` bad credentials;
``454 4.7.0`` the directory failed; ``504 5.5.4`` unknown mechanism; ``538 5.7.11``
the mechanism needs TLS; ``501 5.7.0`` the client cancelled with ``*``; ``501
5.5.2`` invalid base64; ``500 5.5.6`` an over-long response line. AUTH where it is
not offered (an MTA listener) is ``502 5.5.1``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from typing import TYPE_CHECKING, final

from kernel.login import login_sasl, plaintext_login_allowed
from kernel.sasl import MechanismNotAllowed, UnknownMechanism
from plugins.smtp.proto import codes
from plugins.smtp.proto.commands import Auth
from plugins.smtp.proto.events import AuthResponse
from plugins.smtp.proto.responses import Reply

if TYPE_CHECKING:
    from plugins.smtp.session import Session

__all__ = ["authenticate"]

_PROBLEMS = {
    "cancelled": (codes.C501_ARGUMENT_ERROR, codes.ES_5_7_0_SECURITY, "authentication cancelled"),
    "invalid": (codes.C501_ARGUMENT_ERROR, codes.ES_5_5_2_SYNTAX_ERROR, "invalid base64"),
    "too-long": (
        codes.C500_SYNTAX_ERROR,
        codes.ES_5_5_6_AUTH_LINE_TOO_LONG,
        "authentication exchange line is too long",
    ),
}


@final
class _Exchange:
    """One SASL round at a time (RFC 4954 §4): send ``334 base64``, return the decoded answer.

    Returns None when the client cancelled (``*``), sent invalid base64 or an
    over-long line, or went away; :attr:`problem` says which.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.problem: str | None = None

    async def __call__(self, challenge: bytes) -> bytes | None:
        session = self.session
        challenge_text = base64.b64encode(challenge).decode()
        session.reply(Reply.of(codes.C334_AUTH_CHALLENGE, None, challenge_text))
        event = await session.next_event()
        if not isinstance(event, AuthResponse):
            self.problem = "closed"
        elif event.line is None:
            self.problem = "too-long"
        elif event.line.strip() == b"*":
            self.problem = "cancelled"
        else:
            try:
                return base64.b64decode(event.line.strip(), validate=True)
            except (binascii.Error, ValueError):
                self.problem = "invalid"
        return None


async def authenticate(session: Session, cmd: Auth) -> Reply | None:
    """Run the exchange and say how it ended."""
    conn = session.conn
    if session.role == "mta" and not session.settings.auth_on_mta:
        return Reply.of(
            codes.C502_NOT_IMPLEMENTED, codes.ES_5_5_1_INVALID_COMMAND, "AUTH not available"
        )
    if not plaintext_login_allowed(conn):
        # RFC 4954 §4, §6; RFC 8314 §3: no credentials before TLS.
        return Reply.of(
            codes.C538_ENCRYPTION_REQUIRED,
            codes.ES_5_7_11_ENCRYPTION_REQUIRED,
            "encryption required: use STARTTLS first",
        )
    initial: bytes | None = None
    if cmd.initial is not None:
        try:
            # RFC 4954 §4: "=" is an empty initial response.
            initial = b"" if cmd.initial == "=" else base64.b64decode(cmd.initial, validate=True)
        except (binascii.Error, ValueError):
            return Reply.of(*_PROBLEMS["invalid"])
    exchange = _Exchange(session)
    try:
        result = await login_sasl(conn, cmd.mechanism, initial, exchange)
    except UnknownMechanism:
        return Reply.of(
            codes.C504_PARAMETER_NOT_IMPLEMENTED,
            codes.ES_5_5_4_INVALID_ARGUMENTS,
            "unknown authentication mechanism",
        )
    except MechanismNotAllowed:
        return Reply.of(
            codes.C538_ENCRYPTION_REQUIRED,
            codes.ES_5_7_11_ENCRYPTION_REQUIRED,
            "encryption required for this mechanism",
        )
    if result.ok and result.account is not None:
        session.account_id = result.account_id
        session.info = dataclasses.replace(session.info, account=result.account)
        return Reply.of(
            codes.C235_AUTH_SUCCEEDED, codes.ES_2_7_0_AUTH_OK, "authentication succeeded"
        )
    problem = exchange.problem
    if problem == "closed" or session.engine.closed:
        return None
    if problem in _PROBLEMS:
        return Reply.of(*_PROBLEMS[problem])
    if result.temporary:
        return Reply.of(
            codes.C454_TEMPORARY_FAILURE,
            codes.ES_4_7_0_SECURITY,
            "temporary authentication failure",
        )
    return Reply.of(
        codes.C535_AUTH_INVALID, codes.ES_5_7_8_AUTH_INVALID, "authentication credentials invalid"
    )
