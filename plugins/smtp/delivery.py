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

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, final

import trio

from kernel import DuplicateUid, KernelError, NoSuchItem, QuotaExceeded, StoreError
from kernel.pipeline import (
    DeliveryTarget,
    Envelope,
    Filing,
    SessionInfo,
    Verdict,
    VerdictAction,
    original_address,
    run_stage,
)
from kernel.store import Mailbox, Mailboxes
from plugins.smtp.proto import codes
from plugins.smtp.proto.commands import RcptParams
from plugins.smtp.proto.responses import Reply
from plugins.smtp.trace import compose
from plugins.smtp.transaction import Recipient, combine

if TYPE_CHECKING:
    from kernel.boot import Kernel
    from plugins.smtp.session import Session
    from plugins.smtp.transaction import Transaction

__all__ = ["Outcome", "deliver", "deliver_queued"]

_Edits = tuple[tuple[str, str], ...]


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
    inbox = folded.lower() == "inbox"
    for mailbox in mailboxes:
        if inbox and mailbox.role == "inbox":
            return mailbox
        # A full path ends with the mailbox's own name: only those are worth building.
        if folded.endswith(mailbox.name) and Mailboxes.path(mailboxes, mailbox) == folded:
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


def _choose(mailboxes: list[Mailbox], filing: Filing, default: str, default_role: str) -> Mailbox:
    """The mailbox one filing lands in among ``mailboxes`` (RFC 5228 §4.1: a
    mailbox that cannot be used falls back to the default, so the message is
    never lost)."""
    chosen: Mailbox | None = None
    if filing.mailbox_id is not None:
        chosen = next((m for m in mailboxes if m.id == filing.mailbox_id), None)
    if chosen is None and filing.special_use is not None:
        chosen = next((m for m in mailboxes if m.role == filing.special_use), None)
    if chosen is None and filing.mailbox is not None:
        chosen = _find(mailboxes, filing.mailbox)
    if chosen is None:
        chosen = _find(mailboxes, default) or next(
            (m for m in mailboxes if m.role == default_role), None
        )
    if chosen is None:
        chosen = next((m for m in mailboxes if m.role == "inbox" or m.name == "INBOX"), None)
    if chosen is None:
        raise StoreError("the account has no INBOX")
    return chosen


def _creates(mailboxes: list[Mailbox], filing: Filing) -> bool:
    """Whether ``filing`` asks for a mailbox that must be created first."""
    if not filing.create or filing.mailbox is None:
        return False
    if filing.mailbox_id is not None and any(m.id == filing.mailbox_id for m in mailboxes):
        return False
    if filing.special_use is not None and any(m.role == filing.special_use for m in mailboxes):
        return False
    return _find(mailboxes, filing.mailbox) is None


async def _resolve(
    kernel: Kernel, account: int, filing: Filing, default: str, default_role: str
) -> tuple[int, str]:
    """The mailbox one filing lands in, and its path, creating it if the filing asks."""
    mailboxes = await kernel.store.mailboxes.list(account)
    if _creates(mailboxes, filing):
        assert filing.mailbox is not None
        created: Mailbox | None = None
        with contextlib.suppress(ValueError, KernelError):
            created = await _create_path(kernel, account, filing.mailbox)
        mailboxes = await kernel.store.mailboxes.list(account)
        if created is not None:
            return created.id, Mailboxes.path(mailboxes, created)
    chosen = _choose(mailboxes, filing, default, default_role)
    return chosen.id, Mailboxes.path(mailboxes, chosen)


@final
class _Picker:
    """Picks a copy's mailboxes inside the append's transaction.

    Resolving the filings against the mailboxes as that transaction sees them
    spares the delivery a store read of its own, and a mailbox renamed or
    deleted meanwhile cannot be picked. ``emails.append`` hands it the account's
    mailboxes as that transaction sees them. Called again if a backend retries the
    transaction, so it starts afresh each time.
    """

    __slots__ = ("default", "filings", "paths", "role")

    def __init__(self, filings: list[Filing], default: str, role: str) -> None:
        self.filings = filings
        self.default = default
        self.role = role
        self.paths: dict[int, str] = {}

    def __call__(self, mailboxes: list[Mailbox]) -> list[int]:
        self.paths = {}
        for filing in self.filings:
            chosen = _choose(mailboxes, filing, filing.mailbox or self.default, self.role)
            self.paths[chosen.id] = Mailboxes.path(mailboxes, chosen)
        return list(self.paths)


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
        # RFC 3461 §4.2: the ORCPT the client gave, for Sieve's original recipient.
        original_address(*recipient.params.orcpt) if recipient.params.orcpt else None,
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
    edits = combine(txn_verdict, verdict)
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
    # in several mailboxes, and each distinct keyword set is an Email of its own;
    # so is a copy with header edits of its own (RFC 5293 §7, Filing.add_headers).
    groups: dict[tuple[frozenset[str], _Edits, tuple[str, ...]], list[Filing]] = {}
    for filing in filings:
        key = (frozenset(filing.keywords), filing.add_headers, filing.remove_headers)
        groups.setdefault(key, []).append(filing)
    stored: list[str] = []
    for (keywords, add, remove), group in groups.items():
        copy = raw
        if add or remove:
            copy = compose(
                message,
                sender=ctx.sender,
                trace=trace,
                add=edits.add_headers + add,
                remove=edits.remove_headers + remove,
            )
        if any(filing.create for filing in group):
            # Sieve :create may need a mailbox created first (its own transaction).
            paths: dict[int, str] = {}
            for filing in group:
                mailbox, path = await _resolve(
                    kernel, recipient.account_id, filing, filing.mailbox or default, role
                )
                paths[mailbox] = path
            await kernel.store.emails.append(
                recipient.account_id, copy, list(paths), keywords=sorted(keywords), delivered=True
            )
        else:
            # The common case: the mailboxes are picked inside the append's transaction.
            picker = _Picker(group, default, role)
            await kernel.store.emails.append(
                recipient.account_id, copy, picker, keywords=sorted(keywords), delivered=True
            )
            paths = picker.paths
        stored.extend(paths.values())
    return Outcome(recipient, ",".join(stored))


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

    if len(unique) == 1:
        await one(unique[0])  # the common case needs no nursery
    else:
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
