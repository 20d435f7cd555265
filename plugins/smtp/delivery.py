"""Local delivery: one message, appended to each local recipient's mailbox through the store.

Theory of operation: for each distinct account among the recipients (an alias
and its target get one copy), the ``stalwart_before_delivery`` hooks run; a
refusal fails that recipient only, and their filings (Sieve keep/fileinto,
rules) say which copies to store: none for a discard, one Email per distinct
keyword set otherwise, each in every mailbox its filings named. The copy is
composed (Return-Path, the
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

from kernel import DuplicateUid, KernelError, NoSuchItem, QuotaExceeded
from kernel.pipeline import (
    DeliveryTarget,
    Envelope,
    Filing,
    SessionInfo,
    Verdict,
    VerdictAction,
    merge_verdicts,
    run_stage,
)
from kernel.store import Mailbox, Mailboxes
from plugins.smtp.proto import codes
from plugins.smtp.proto.commands import RcptParams
from plugins.smtp.proto.responses import Reply
from plugins.smtp.trace import compose
from plugins.smtp.transaction import Recipient

if TYPE_CHECKING:
    from kernel.boot import Kernel
    from plugins.smtp.session import Session
    from plugins.smtp.transaction import Transaction

__all__ = ["Outcome", "deliver", "deliver_queued"]


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


def _find(mailboxes: list[Mailbox], path: str) -> Mailbox | None:
    folded = path.lower() if path.upper() == "INBOX" else path
    for mailbox in mailboxes:
        name = Mailboxes.path(mailboxes, mailbox)
        if name == folded or (folded.lower() == "inbox" and mailbox.role == "inbox"):
            return mailbox
    return None


async def _create_path(kernel: Kernel, account: int, path: str) -> Mailbox:
    """Create ``path`` and any missing superior level (Sieve ``fileinto :create``)."""
    parent: int | None = None
    mailbox: Mailbox | None = None
    parts = [p for p in path.split("/") if p]
    for depth in range(len(parts)):
        mailboxes = await kernel.store.mailboxes.list(account)
        mailbox = _find(mailboxes, "/".join(parts[: depth + 1]))
        if mailbox is None:
            try:
                mailbox = await kernel.store.mailboxes.create(account, parts[depth], parent=parent)
            except DuplicateUid:  # created concurrently by another delivery
                mailboxes = await kernel.store.mailboxes.list(account)
                mailbox = _find(mailboxes, "/".join(parts[: depth + 1]))
                assert mailbox is not None
        parent = mailbox.id
    if mailbox is None:
        raise ValueError(f"{path!r} is not a mailbox name")
    return mailbox


async def _resolve(
    kernel: Kernel, account: int, filing: Filing, default: str, default_role: str
) -> tuple[int, str]:
    """The mailbox one filing lands in, and its path (RFC 5228 §4.1: a mailbox that
    cannot be used falls back to the default, so the message is never lost)."""
    mailboxes = await kernel.store.mailboxes.list(account)
    chosen: Mailbox | None = None
    if filing.mailbox_id is not None:
        chosen = next((m for m in mailboxes if m.id == filing.mailbox_id), None)
    if chosen is None and filing.special_use is not None:
        chosen = next((m for m in mailboxes if m.role == filing.special_use), None)
    if chosen is None and filing.mailbox is not None:
        chosen = _find(mailboxes, filing.mailbox)
        if chosen is None and filing.create:
            try:
                chosen = await _create_path(kernel, account, filing.mailbox)
            except (ValueError, KernelError):
                chosen = None
            mailboxes = await kernel.store.mailboxes.list(account)
    if chosen is None:
        chosen = _find(mailboxes, default) or next(
            (m for m in mailboxes if m.role == default_role), None
        )
    if chosen is None:
        chosen = next(m for m in mailboxes if m.role == "inbox" or m.name == "INBOX")
    return chosen.id, Mailboxes.path(mailboxes, chosen)


@final
@dataclass(frozen=True, slots=True)
class _Context:
    """What one delivery needs from its origin (an SMTP transaction or the queue)."""

    kernel: Kernel
    info: SessionInfo
    envelope: Envelope
    verdict: Verdict
    sender: str


async def _deliver_one(
    ctx: _Context, recipient: Recipient, message: bytes, trace: bytes
) -> Outcome:
    txn_verdict = ctx.verdict
    quarantined = txn_verdict.action is VerdictAction.QUARANTINE
    target = DeliveryTarget(
        recipient.address,
        recipient.account,
        recipient.account_id,
        "Junk" if quarantined else "INBOX",
    )
    kernel = ctx.kernel
    verdict: Verdict = await run_stage(
        kernel.pm.hook.stalwart_before_delivery,
        kernel=kernel,
        session=ctx.info,
        envelope=ctx.envelope,
        delivery=target,
        message=message,
    )
    if verdict.refused:
        return Outcome(
            recipient, target.mailbox, Reply.of(verdict.code, verdict.status, verdict.text)
        )
    edits = merge_verdicts(txn_verdict, verdict)
    role = "junk" if edits.action is VerdictAction.QUARANTINE else "inbox"
    default = "Junk" if role == "junk" else "INBOX"
    filings = edits.filings if edits.filings is not None else (Filing(),)
    if not filings:
        return Outcome(recipient, "(discarded)")
    raw = compose(
        message,
        sender=ctx.sender,
        trace=trace,
        add=edits.add_headers,
        remove=edits.remove_headers,
    )
    # Keywords live on the Email, so copies with the same keywords are one Email
    # in several mailboxes, and each distinct keyword set is an Email of its own.
    groups: dict[frozenset[str], dict[int, str]] = {}
    for filing in filings:
        mailbox, path = await _resolve(
            kernel, recipient.account_id, filing, filing.mailbox or default, role
        )
        groups.setdefault(frozenset(filing.keywords), {})[mailbox] = path
    for keywords, targets in groups.items():
        await kernel.store.emails.append(
            recipient.account_id, raw, list(targets), keywords=sorted(keywords)
        )
    return Outcome(recipient, ",".join(p for t in groups.values() for p in t.values()))


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
    ctx = _Context(session.kernel, session.info, txn.envelope(), txn.verdict, txn.sender)

    async def one(recipient: Recipient) -> None:
        try:
            outcome = await _deliver_one(ctx, recipient, message, trace)
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


async def deliver_queued(
    kernel: Kernel, address: str, message: bytes, *, sender: str, queue_id: str
) -> Outcome:
    """Deliver a queued message (a DSN, a redirect) to one local ``address``.

    The outbound queue calls this for recipients in local domains, so that
    notifications to local senders never leave the server. The delivery hooks
    run as for SMTP, with a session named ``queue``.

    Raises:
        NoSuchItem: the address is not (any more) a local account.
    """
    principal = await kernel.store.directory.resolve_recipient(address)
    if principal is None or principal.kind != "individual" or not principal.enabled:
        raise NoSuchItem(f"no local mailbox {address}")
    recipient = Recipient(address, principal.name, principal.id, RcptParams())
    info = SessionInfo(
        id=f"queue-{queue_id}",
        protocol="smtp",
        listener="queue",
        role=None,
        remote=("127.0.0.1", 0),
        local=("127.0.0.1", 0),
    )
    envelope = Envelope(queue_id=queue_id, sender=sender, recipients=(address,))
    ctx = _Context(kernel, info, envelope, Verdict(), sender)
    return await _deliver_one(ctx, recipient, message, b"")
