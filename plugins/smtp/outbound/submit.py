"""What the end of DATA hands to the queue: relayed copies and notifications.

* :func:`queue_remote`: the message for a transaction's remote recipients
  (authenticated relaying), with our Received field and the pipeline's header
  edits, queued with the envelope's DSN parameters. Called *before* local
  delivery, so a failure to queue refuses the whole message (451) before any
  local copy exists.
* :func:`queue_local_retry`: local recipients whose copy failed temporarily
  after DATA while the message was accepted, retried by the queue manager.
* :func:`notify_local`: a DSN for local recipients whose delivery failed after
  DATA while the message as a whole was accepted (RFC 5321 §4.1.1.4 leaves one
  reply for every recipient; RFC 3464 reports the rest), and "delivered"
  notifications where NOTIFY=SUCCESS asked for them (RFC 3461 §5.2.2).

Both return once the queue entry is durable, so the 250 that follows is
truthful.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from plugins.smtp.outbound.clientproto import needs_8bit
from plugins.smtp.outbound.dsn import Notice, build_dsn, wants
from plugins.smtp.trace import compose
from plugins.smtp.transaction import RemoteRecipient

if TYPE_CHECKING:
    from plugins.smtp.delivery import Outcome
    from plugins.smtp.session import Session
    from plugins.smtp.transaction import Recipient, Transaction

__all__ = ["notify_local", "queue_local_retry", "queue_remote"]


async def queue_remote(session: Session, txn: Transaction, content: bytes, trace: bytes) -> int:
    """Queue ``content`` for ``txn.remote``; the queue message id."""
    return await _queue(session, txn, content, trace, txn.remote, "smtp-queued")


async def queue_local_retry(
    session: Session,
    txn: Transaction,
    content: bytes,
    trace: bytes,
    recipients: Sequence[Recipient],
) -> int:
    """Queue ``content`` for local ``recipients`` whose delivery failed temporarily.

    Once the message is accepted the server owns it (RFC 5321 §6.1): a local
    copy that could not be stored for now (a full mailbox, a store hiccup) is
    retried by the queue manager through local delivery, with the queue's
    backoff and lifetime, instead of being bounced at once.
    """
    queued = [RemoteRecipient(r.address, r.params) for r in recipients]
    return await _queue(session, txn, content, trace, queued, "smtp-local-deferred")


async def _queue(
    session: Session,
    txn: Transaction,
    content: bytes,
    trace: bytes,
    recipients: Sequence[RemoteRecipient],
    event: str,
) -> int:
    edits = txn.verdict
    stored = compose(
        content,
        sender=txn.sender,
        trace=trace,
        add=edits.add_headers,
        remove=edits.remove_headers,
    )
    # compose() starts with the Return-Path field, which only the final delivery adds
    # (RFC 5321 §4.4): drop that first line for a queued copy.
    raw = stored.split(b"\r\n", 1)[1]
    params = txn.mail.params
    body = params.body if params.body in ("8BITMIME", "BINARYMIME") else None
    queue_id = await session.kernel.store.queue.enqueue(
        raw,
        txn.sender,
        [r.address for r in recipients],
        rcpt_params=[(r.notify, r.orcpt) for r in recipients],
        env_id=params.envid,
        dsn_ret=params.ret,
        body_type=body or ("8BITMIME" if needs_8bit(raw) else None),
        smtputf8=params.smtputf8,
    )
    session.log.info(
        event,
        queue=txn.queue_id,
        outbound=queue_id,
        sender=txn.sender or "<>",
        recipients=",".join(r.address for r in recipients),
    )
    return queue_id


def _notify_text(notify: frozenset[str] | None) -> str | None:
    return ",".join(sorted(notify)) if notify else None


async def notify_local(
    session: Session, txn: Transaction, content: bytes, outcomes: list[Outcome]
) -> int | None:
    """Queue the DSN the local outcomes call for (None if none is due)."""
    now = time.time()
    hostname = session.settings.hostname
    groups: dict[str, list[Notice]] = {}
    for outcome in outcomes:
        params = outcome.recipient.params
        action = "delivered" if outcome.ok else "failed"
        if not wants(_notify_text(params.notify), txn.sender, action):
            continue
        reply = outcome.reply
        status = "2.0.0" if reply is None else (reply.status or f"{str(reply.code)[0]}.0.0")
        diagnostic = None if reply is None else f"{reply.code} {status} {' '.join(reply.lines)}"
        groups.setdefault(action, []).append(
            Notice(
                recipient=outcome.recipient.address,
                action=action,
                status=status,
                orcpt=f"{params.orcpt[0]};{params.orcpt[1]}" if params.orcpt else None,
                diagnostic=diagnostic,
                last_attempt=now,
            )
        )
    last: int | None = None
    for action, notices in groups.items():
        report = build_dsn(
            reporting_mta=hostname,
            return_path=txn.sender,
            notices=notices,
            original=content,
            arrival=now,
            env_id=txn.mail.params.envid,
            ret=txn.mail.params.ret,
            now=now,
        )
        last = await session.kernel.store.queue.enqueue(
            report,
            "",  # RFC 3461 §6.2: the null reverse-path, so a DSN is never bounced
            [txn.sender],
            body_type="8BITMIME" if needs_8bit(report) else None,
            smtputf8=not txn.sender.isascii(),
        )
        session.log.info(
            "smtp-dsn-queued",
            queue=txn.queue_id,
            outbound=last,
            action=action,
            recipients=",".join(n.recipient for n in notices),
        )
    return last
