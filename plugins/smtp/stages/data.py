"""The DATA stage: DATA and BDAT, then checks, the data hooks and local delivery.

Checks at the end of the message, each with its reply:

* over the size limit: ``552 5.3.4`` (RFC 1870 §6.3);
* bare CR, bare LF or NUL in the content (``smtp.bare_newlines: reject``):
  ``554 5.6.0`` (RFC 5321 §2.3.8, §4.1.1.4);
* more ``Received`` fields than ``smtp.max_received_headers``: ``554 5.4.6``
  (RFC 5321 §6.3);
* then the ``stalwart_inbound_data`` hooks, and delivery.

RFC 5321 §4.1.1.4 and §4.4 leave one reply for all recipients: ``250`` once every
local copy that could be delivered and the queue entry for the remote
recipients (authenticated relaying) are durable, even if some local recipients
failed. Those failures get a DSN through the outbound queue (RFC 3464; as their
NOTIFY allows, never to the null sender), also durable before the 250. If no
recipient succeeded and nothing was queued the message is refused: ``452
4.2.2`` when every mailbox was full, the hooks' or the store's permanent reply
when all failures were permanent, otherwise ``451 4.3.0``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from kernel.pipeline import run_stage
from plugins.smtp.delivery import Outcome, deliver
from plugins.smtp.outbound.submit import notify_local, queue_local_retry, queue_remote
from plugins.smtp.proto import codes
from plugins.smtp.proto.commands import Data
from plugins.smtp.proto.events import ChunkReceived, MessageReceived
from plugins.smtp.proto.receiver import Defect
from plugins.smtp.proto.responses import Reply
from plugins.smtp.trace import count_received, protocol_name, received_field

if TYPE_CHECKING:
    from plugins.smtp.session import Session

__all__ = ["chunk", "message", "start"]


def start(session: Session, cmd: Data) -> Reply:
    """DATA: the go-ahead (the engine checked the sequence)."""
    del session, cmd
    return Reply.of(codes.C354_START_INPUT, None, "end data with <CR><LF>.<CR><LF>")


def _defect_reply(session: Session, defects: frozenset[Defect]) -> Reply:
    if Defect.TOO_LARGE in defects:
        return Reply.of(
            codes.C552_STORAGE_EXCEEDED,
            codes.ES_5_3_4_TOO_BIG,
            f"message exceeds the limit of {session.settings.max_message_size} octets",
        )
    what = "NUL" if Defect.NUL in defects else "bare CR or LF"
    return Reply.of(
        codes.C554_TRANSACTION_FAILED, codes.ES_5_6_0_MEDIA_ERROR, f"{what} in message content"
    )


def chunk(session: Session, event: ChunkReceived) -> Reply:
    """A BDAT chunk without LAST (RFC 3030 §2): 250 per chunk, or the failure."""
    if event.defects:
        return _defect_reply(session, event.defects)
    return Reply.of(codes.C250_COMPLETED, codes.ES_2_0_0_OK, f"{event.size} octets received")


def _trace(session: Session) -> bytes:
    txn, info, settings = session.txn, session.info, session.settings
    assert txn is not None
    utf8 = txn.mail.params.smtputf8
    protocol = protocol_name(
        extended=session.engine.extended,
        tls=info.tls is not None,
        authenticated=info.account is not None,
        utf8=utf8,
    )
    return received_field(
        helo=info.helo,
        remote_ip=info.remote[0],
        hostname=settings.hostname,
        protocol=protocol,
        queue_id=txn.queue_id,
        recipient=txn.recipients[0].address if len(txn.recipients) == 1 else None,
        tls_cipher=info.tls.cipher if info.tls is not None and settings.trace_tls else None,
        account=info.account if settings.trace_user else None,
        when=datetime.now().astimezone(),
    )


def _summary(outcomes: list[Outcome], *, queued: bool) -> Reply:
    failed = [o.reply for o in outcomes if o.reply is not None]
    if len(failed) < len(outcomes) or queued:
        text = "message accepted" if queued else "message delivered"
        return Reply.of(codes.C250_COMPLETED, codes.ES_2_0_0_OK, text)
    if all(r.status == codes.ES_4_2_2_MAILBOX_FULL for r in failed):
        return failed[0]
    permanent = [r for r in failed if r.code >= 500]
    if len(permanent) == len(failed):
        return permanent[0]
    return Reply.of(
        codes.C451_LOCAL_ERROR, codes.ES_4_3_0_SYSTEM, "delivery failed; try again later"
    )


async def message(session: Session, event: MessageReceived) -> Reply:
    """The end of DATA or BDAT LAST: check, run the data hooks, deliver, reply."""
    txn = session.txn
    assert txn is not None
    if event.defects:
        session.log.info(
            "smtp-message-refused", queue=txn.queue_id, defects=",".join(sorted(event.defects))
        )
        return _defect_reply(session, event.defects)
    content = event.content
    if count_received(content) > session.settings.max_received_headers:
        # RFC 5321 §6.3: too many Received fields means a mail loop.
        return Reply.of(
            codes.C554_TRANSACTION_FAILED, codes.ES_5_4_6_ROUTING_LOOP, "mail loop detected"
        )
    verdict = await run_stage(
        session.kernel.pm.hook.stalwart_inbound_data,
        kernel=session.kernel,
        session=session.info,
        envelope=txn.envelope(),
        message=content,
    )
    if verdict.refused:
        return Reply.of(verdict.code, verdict.status, verdict.text)
    txn.add_verdict(verdict)
    trace = _trace(session)
    queued = None
    if txn.remote:
        # Queued first: if this fails the whole message is refused, before any local copy.
        queued = await queue_remote(session, txn, content, trace)
    outcomes = await deliver(session, txn, content, trace) if txn.recipients else []
    reply = _summary(outcomes, queued=queued is not None)
    failed = sum(1 for o in outcomes if not o.ok)
    if reply.positive and outcomes:
        # Accepted: a temporary local failure is retried from the queue, and the
        # permanently failed (and NOTIFY=SUCCESS) recipients get a DSN (RFC 3464);
        # both durable before the 250.
        deferred = [o for o in outcomes if o.reply is not None and o.reply.code < 500]
        if deferred:
            await queue_local_retry(session, txn, content, trace, [o.recipient for o in deferred])
        await notify_local(session, txn, content, [o for o in outcomes if o not in deferred])
    session.log.info(
        "smtp-message",
        queue=txn.queue_id,
        size=event.size,
        recipients=len(txn.recipients) + len(txn.remote),
        delivered=len(outcomes) - failed,
        queued=queued,
        code=reply.code,
    )
    return reply
