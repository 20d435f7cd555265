"""Local delivery: one message, appended to each local recipient's mailbox through the store.

Theory of operation: for each distinct account among the recipients (an alias
and its target get one copy), the ``stalwart_before_delivery`` hooks run; a
refusal fails that recipient only. The copy is composed (Return-Path, the
Received field, header edits) and appended with ``kernel.store.emails.append``,
which returns once the copy is durable (committed, blob fsynced). Appends run
concurrently, so the store can group-commit them. Identical bytes share one
blob (content addressing), which is why the Received field names a recipient
only when there is one (:mod:`plugins.smtp.trace`).

Error handling: each recipient's failure is caught and classified (a full
mailbox or a store failure is temporary, a vanished account permanent) and
logged on that recipient's ``delivery`` line; it never cancels the other
deliveries. The caller turns the outcomes into the one reply SMTP allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, final

import trio

from kernel import KernelError, NoSuchItem, QuotaExceeded
from kernel.pipeline import DeliveryTarget, Verdict, VerdictAction, merge_verdicts, run_stage
from kernel.store import Mailboxes
from plugins.smtp.proto import codes
from plugins.smtp.proto.responses import Reply
from plugins.smtp.trace import compose

if TYPE_CHECKING:
    from plugins.smtp.session import Session
    from plugins.smtp.transaction import Recipient, Transaction

__all__ = ["Outcome", "deliver"]


@final
@dataclass(frozen=True, slots=True)
class Outcome:
    """How one recipient's delivery ended; ``reply`` is None on success."""

    recipient: Recipient
    mailbox: str
    reply: Reply | None = None

    @property
    def ok(self) -> bool:
        return self.reply is None


async def _mailbox_id(session: Session, account: int, path: str, role: str) -> tuple[int, str]:
    mailboxes = await session.kernel.store.mailboxes.list(account)
    for mailbox in mailboxes:
        if Mailboxes.path(mailboxes, mailbox).lower() == path.lower():
            return mailbox.id, Mailboxes.path(mailboxes, mailbox)
    for mailbox in mailboxes:
        if mailbox.role == role:
            return mailbox.id, Mailboxes.path(mailboxes, mailbox)
    inbox = next(m for m in mailboxes if m.role == "inbox" or m.name == "INBOX")
    return inbox.id, "INBOX"


async def _deliver_one(
    session: Session, txn: Transaction, recipient: Recipient, message: bytes, trace: bytes
) -> Outcome:
    quarantined = txn.verdict.action is VerdictAction.QUARANTINE
    target = DeliveryTarget(
        recipient.address,
        recipient.account,
        recipient.account_id,
        "Junk" if quarantined else "INBOX",
    )
    kernel = session.kernel
    verdict: Verdict = await run_stage(
        kernel.pm.hook.stalwart_before_delivery,
        kernel=kernel,
        session=session.info,
        envelope=txn.envelope(),
        delivery=target,
        message=message,
    )
    if verdict.refused:
        return Outcome(
            recipient, target.mailbox, Reply.of(verdict.code, verdict.status, verdict.text)
        )
    edits = merge_verdicts(txn.verdict, verdict)
    role = "junk" if edits.action is VerdictAction.QUARANTINE else "inbox"
    path = edits.mailbox or ("Junk" if role == "junk" else "INBOX")
    raw = compose(
        message,
        sender=txn.sender,
        trace=trace,
        add=edits.add_headers,
        remove=edits.remove_headers,
    )
    mailbox, path = await _mailbox_id(session, recipient.account_id, path, role)
    await kernel.store.emails.append(recipient.account_id, raw, [mailbox])
    return Outcome(recipient, path)


def _failure(exc: Exception) -> Reply:
    if isinstance(exc, QuotaExceeded):
        return Reply.of(
            codes.C452_INSUFFICIENT_STORAGE, codes.ES_4_2_2_MAILBOX_FULL, "mailbox full"
        )
    if isinstance(exc, NoSuchItem):
        return Reply.of(codes.C550_MAILBOX_UNAVAILABLE, codes.ES_5_1_1_BAD_MAILBOX, "no such user")
    return Reply.of(codes.C451_LOCAL_ERROR, codes.ES_4_3_0_SYSTEM, "local error in delivery")


async def deliver(
    session: Session, txn: Transaction, message: bytes, trace: bytes
) -> list[Outcome]:
    """Deliver ``message`` to every local recipient of ``txn``; one outcome each."""
    first: dict[int, Recipient] = {}
    for recipient in txn.recipients:
        first.setdefault(recipient.account_id, recipient)
    unique = list(first.values())
    outcomes: dict[int, Outcome] = {}

    async def one(recipient: Recipient) -> None:
        try:
            outcome = await _deliver_one(session, txn, recipient, message, trace)
        except Exception as exc:  # classified per recipient; never cancels the others
            if not isinstance(exc, KernelError):
                session.log.exception("smtp-delivery-failed", queue=txn.queue_id)
            outcome = Outcome(recipient, "INBOX", _failure(exc))
        outcomes[recipient.account_id] = outcome
        session.log.info(
            "delivery",
            queue=txn.queue_id,
            sender=txn.sender or "<>",
            recipient=recipient.address,
            account=recipient.account,
            result="delivered" if outcome.ok else "failed",
            mailbox=outcome.mailbox,
            reason=None if outcome.reply is None else " ".join(outcome.reply.lines),
        )

    async with trio.open_nursery() as nursery:
        for recipient in unique:
            nursery.start_soon(one, recipient)
    return [outcomes[r.account_id] for r in unique]
