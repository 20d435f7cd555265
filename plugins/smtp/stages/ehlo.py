"""The hello stage: EHLO/HELO with the extension list, and STARTTLS.

Implementation notes:

* EHLO lists only what applies on this connection now (RFC 5321 §4.1.1.1): STARTTLS
  while the listener allows it and TLS is not active yet (RFC 3207 §4); AUTH on
  submission listeners (or MTA ones with ``smtp.auth_on_mta``) once passwords may
  be sent, i.e. under TLS unless ``auth.allow_plaintext_without_tls`` (RFC 4954 §4,
  RFC 8314 §3), and not after a successful AUTH.
* HELO gets the plain one-line reply (RFC 5321 §3.2: never the EHLO-style list).
* Replies to EHLO/HELO carry no enhanced status code (RFC 2034 §3), refusals too.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from kernel.login import plaintext_login_allowed, sasl_mechanisms
from kernel.pipeline import run_stage
from plugins.smtp.proto import codes
from plugins.smtp.proto.commands import Ehlo, StartTls
from plugins.smtp.proto.responses import Reply

if TYPE_CHECKING:
    from plugins.smtp.session import Session

__all__ = ["auth_mechanisms", "extensions", "hello", "starttls"]


def auth_mechanisms(session: Session) -> list[str]:
    """The SASL mechanisms to offer now (empty: no AUTH)."""
    if session.role == "mta" and not session.settings.auth_on_mta:
        return []
    if session.engine.authenticated or not plaintext_login_allowed(session.conn):
        return []
    return sasl_mechanisms(session.conn)


def extensions(session: Session) -> list[str]:
    """The EHLO keywords for this connection, in the order advertised."""
    settings = session.settings
    # RFC 2920 §3; RFC 1870 §4; RFC 6152 §2; RFC 2034 §3; RFC 3030 §2-3.
    out = ["PIPELINING", f"SIZE {settings.max_message_size}", "8BITMIME"]
    if settings.smtputf8:
        out.append("SMTPUTF8")  # RFC 6531 §3.2
    out += ["ENHANCEDSTATUSCODES", "CHUNKING", "BINARYMIME"]
    if settings.dsn:
        out.append("DSN")  # RFC 3461 §4
    if session.conn.can_start_tls:
        out.append("STARTTLS")  # RFC 3207 §4
    mechanisms = auth_mechanisms(session)
    if mechanisms:
        out.append("AUTH " + " ".join(mechanisms))  # RFC 4954 §3
    return out


async def hello(session: Session, cmd: Ehlo) -> Reply:
    """EHLO or HELO: run the ehlo hooks, then greet with the extension list."""
    verdict = await run_stage(
        session.kernel.pm.hook.stalwart_inbound_ehlo,
        kernel=session.kernel,
        session=session.info,
        helo=cmd.domain,
    )
    if verdict.refused:
        return Reply.of(verdict.code, None, verdict.text)
    session.ehlo_verdict = verdict
    session.info = dataclasses.replace(session.info, helo=cmd.domain)
    hostname = session.settings.hostname
    if not cmd.extended:
        return Reply.of(codes.C250_COMPLETED, None, hostname)
    return Reply.of(
        codes.C250_COMPLETED, None, f"{hostname} greets {cmd.domain}", *extensions(session)
    )


def starttls(session: Session, cmd: StartTls) -> Reply:
    """STARTTLS (RFC 3207 §4): the go-ahead; the session performs the handshake."""
    del cmd
    if session.conn.tls is not None:
        # RFC 3207 §4.2: no second TLS negotiation.
        return Reply.of(
            codes.C503_BAD_SEQUENCE, codes.ES_5_5_1_INVALID_COMMAND, "TLS is already active"
        )
    if not session.conn.can_start_tls:
        return Reply.of(
            codes.C502_NOT_IMPLEMENTED, codes.ES_5_5_1_INVALID_COMMAND, "STARTTLS not available"
        )
    return Reply.of(codes.C220_READY, codes.ES_2_0_0_OK, "ready to start TLS")
