"""The MAIL stage: who may start a transaction, with which reverse-path and parameters.

Checks, in order, each with its reply:

* submission listeners require AUTH first: ``530 5.7.0`` (RFC 4954 §6; RFC 6409 §4.3);
* parameters of extensions not offered (after HELO, or SMTPUTF8/DSN switched
  off): ``555 5.5.4`` (RFC 5321 §4.1.1.11);
* ``SIZE=`` over the limit: ``552 5.3.4`` (RFC 1870 §6.1);
* a UTF-8 reverse-path without ``SMTPUTF8``: ``550 5.6.7`` (RFC 6531 §3.5);
* an authenticated client using an address its account does not receive
  (``smtp.sender_must_own``, RFC 6409 §6.1): ``553 5.7.1``;
* the per-address message rate: ``451 4.7.0``;
* then the ``stalwart_inbound_mail`` hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from kernel.pipeline import run_stage
from plugins.smtp.proto import codes
from plugins.smtp.proto.commands import Mail
from plugins.smtp.proto.responses import Reply
from plugins.smtp.stages.connect import limiter
from plugins.smtp.transaction import Transaction, combine, new_queue_id

if TYPE_CHECKING:
    from plugins.smtp.session import Session

__all__ = ["mail", "unoffered_parameter"]

_DSN = frozenset({"RET", "ENVID", "NOTIFY", "ORCPT"})


def unoffered_parameter(session: Session, keywords: set[str]) -> Reply | None:
    """``555`` for a parameter of an extension this session did not offer."""
    settings = session.settings
    offered: set[str] = set()
    if session.engine.extended:  # RFC 5321 §2.2.1: no extensions after HELO
        offered = {"SIZE", "BODY", "AUTH"}
        if settings.smtputf8:
            offered.add("SMTPUTF8")
        if settings.dsn:
            offered |= _DSN
    extra = sorted(keywords - offered)
    if extra:
        return Reply.of(
            codes.C555_PARAMETERS_NOT_RECOGNIZED,
            codes.ES_5_5_4_INVALID_ARGUMENTS,
            f"parameter {extra[0]} not offered",
        )
    return None


async def _owns(session: Session, address: str) -> bool:
    principal = await session.kernel.store.directory.resolve_recipient(address)
    return principal is not None and principal.id == session.account_id


async def mail(session: Session, cmd: Mail) -> Reply:
    """MAIL FROM: start a transaction or say why not."""
    settings, params = session.settings, cmd.params
    if session.role != "mta" and session.account_id is None:
        return Reply.of(
            codes.C530_AUTH_REQUIRED, codes.ES_5_7_0_SECURITY, "authentication required"
        )
    unoffered = unoffered_parameter(session, {keyword for keyword, _ in params.raw})
    if unoffered is not None:
        return unoffered
    if params.size is not None and params.size > settings.max_message_size:
        # RFC 1870 §6.1: a declared size over the fixed limit is a permanent failure.
        return Reply.of(
            codes.C552_STORAGE_EXCEEDED,
            codes.ES_5_3_4_TOO_BIG,
            f"message size exceeds the limit of {settings.max_message_size} octets",
        )
    if cmd.sender is not None and cmd.sender.utf8 and not params.smtputf8:
        # RFC 6531 §3.5: a UTF-8 reverse-path needs SMTPUTF8; 550 for MAIL.
        return Reply.of(
            codes.C550_MAILBOX_UNAVAILABLE,
            codes.ES_5_6_7_NON_ASCII_ADDRESS,
            "non-ASCII sender address requires SMTPUTF8",
        )
    sender = str(cmd.sender) if cmd.sender is not None else ""
    owner_check = session.account_id is not None and settings.sender_must_own
    if owner_check and (not sender or not await _owns(session, sender)):
        return Reply.of(
            codes.C553_MAILBOX_NAME_NOT_ALLOWED,
            codes.ES_5_7_1_NOT_AUTHORIZED,
            f"sender <{sender}> is not an address of the authenticated account",
        )
    if not limiter(session).allow(
        f"msg:{session.conn.remote[0]}",
        settings.messages_per_ip,
        settings.rate_window,
        trio.current_time(),
    ):
        session.log.warning("smtp-rate-limited", limit="messages")
        return Reply.of(
            codes.C451_LOCAL_ERROR, codes.ES_4_7_0_SECURITY, "message rate exceeded; try later"
        )
    txn = Transaction(queue_id=new_queue_id(), sender=sender, mail=cmd)
    verdict = await run_stage(
        session.kernel.pm.hook.stalwart_inbound_mail,
        kernel=session.kernel,
        session=session.info,
        envelope=txn.envelope(),
    )
    if verdict.refused:
        return Reply.of(verdict.code, verdict.status, verdict.text)
    txn.verdict = combine(combine(session.verdict, session.ehlo_verdict), verdict)
    session.txn = txn
    return Reply.of(codes.C250_COMPLETED, codes.ES_2_1_0_SENDER_OK, f"sender <{sender}> OK")
