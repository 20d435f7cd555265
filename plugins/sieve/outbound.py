"""Messages that Sieve actions send (redirect, vacation, notify), handed to the outbound queue.

:func:`send_actions` carries out the sending actions of one delivery's outcome: it
composes each message with the pure functions of :mod:`plugins.sieve.compose` and
:func:`~plugins.sieve.extensions.vacation.vacation_reply`, applies the site's policy
(SRS, vacation response tracking) and enqueues it with ``kernel.store.queue.enqueue``,
which returns once the message is durable.

Implementation notes:

- Redirect (RFC 5228 §4.2): the copy keeps the envelope sender, or gets its SRS0
  rewrite when ``sieve.redirect.sender`` is ``srs`` (:mod:`plugins.sieve.srs`); a null
  sender stays null.
- Vacation (RFC 5230 §4.2): at most one reply per sender and ``:handle`` within the
  period; the tracking is recorded only for a reply that is actually due and
  queued (a list message or a missing queue does not use up the period).
  §4.5/§4.6 (no reply to the null sender, lists, bulk, auto-submitted mail, own
  addresses) are decided by :func:`vacation_reply`.
- Notify (RFC 5435, mailto per RFC 5436): one message per recipient per delivery.
- ``:fcc`` (RFC 8580 §3): a vacation reply or notification that was queued is also
  filed, unchanged (§5, §6: both are MIME messages), with the ``:flags`` given
  (RFC 8580 §3.1.1; without them, ``\\Seen``). The mailbox (§3.1): the one with the
  ``:mailboxid`` (RFC 9042 §5), else the ``:specialuse`` one (RFC 8579 §4: the named
  mailbox when it has that use, else another that has it), else the named one,
  created with ``:create`` (RFC 5490 §3.2; with ``:specialuse`` it gets that use,
  RFC 8579 §4.1), else the Sent mailbox (RFC 8580 §3 lets a missing mailbox go to
  an implementation-defined one).
- Without an outbound queue (``kernel.store.queue`` missing), every sending action
  is logged as ``sieve-queue-unavailable`` and skipped. A redirect that is not
  queued (no queue, a mail loop, a queue error) is reported to the caller, which
  keeps a local copy instead (:mod:`plugins.sieve.delivery`): nothing is lost.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from kernel import DuplicateUid, KernelError
from kernel.store import Mailbox, Mailboxes
from plugins.sieve.actions import Action, Fcc, Notify, Redirect, Vacation
from plugins.sieve.compose import OutgoingMessage, notify_messages, redirect_message
from plugins.sieve.extensions.vacation import vacation_reply
from plugins.sieve.message import MessageView
from plugins.sieve.srs import forward
from plugins.sieve.store_host import parse_mailbox_id
from plugins.sieve.verdicts import keywords

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel
    from kernel.telemetry import StructuredLogger
    from plugins.sieve.config import SieveConfig
    from plugins.sieve.host import Envelope
    from plugins.sieve.settings import Settings

__all__ = ["SENDING", "queue_of", "send_actions"]

#: The action types that send a message.
SENDING = (Redirect, Vacation, Notify)


def queue_of(kernel: Kernel) -> Any | None:
    """The store's outbound queue (with ``enqueue``), or None when there is none."""
    queue = getattr(kernel.store, "queue", None)
    return queue if queue is not None and hasattr(queue, "enqueue") else None


async def _enqueue(
    kernel: Kernel, message: OutgoingMessage, kind: str, log: StructuredLogger
) -> bool:
    queue = queue_of(kernel)
    if queue is None:
        log.warning(
            "sieve-queue-unavailable",
            action=kind,
            recipients=",".join(message.recipients),
            result="logged and kept",
        )
        return False
    addresses = (message.mail_from, *message.recipients)
    queue_id = await queue.enqueue(
        message.data,
        message.mail_from,
        list(message.recipients),
        # RFC 6152 §3, RFC 6531 §3.4: what MAIL FROM must declare for these octets.
        body_type=None if message.data.isascii() else "8BITMIME",
        smtputf8=not all(address.isascii() for address in addresses),
    )
    log.info(
        "sieve-sent",
        action=kind,
        sender=message.mail_from or "<>",
        recipients=",".join(message.recipients),
        queued=queue_id,
    )
    return True


def _named(mailboxes: list[Mailbox], path: str) -> Mailbox | None:
    """The mailbox at ``path`` (INBOX in any case, RFC 9051 §5.1)."""
    head, sep, rest = path.partition("/")
    wanted = ("INBOX" if head.upper() == "INBOX" else head) + sep + rest
    return next((m for m in mailboxes if Mailboxes.path(mailboxes, m) == wanted), None)


async def _create(kernel: Kernel, account: int, path: str, role: str | None) -> Mailbox | None:
    """Create ``path`` and its missing superiors (RFC 5490 §3.2); the last level gets
    ``role`` when the store knows it (RFC 8579 §4.1: SHOULD assign the special use).
    None when the name cannot be a mailbox."""
    store = kernel.store
    parts = [part for part in path.split("/") if part]
    parent: Mailbox | None = None
    for depth in range(len(parts)):
        mailboxes = await store.mailboxes.list(account)
        level = "/".join(parts[: depth + 1])
        found = _named(mailboxes, level)
        if found is None:
            last = depth == len(parts) - 1
            parent_id = parent.id if parent is not None else None
            try:
                try:
                    found = await store.mailboxes.create(
                        account, parts[depth], parent=parent_id, role=role if last else None
                    )
                except ValueError:
                    if not (last and role):
                        raise
                    found = await store.mailboxes.create(account, parts[depth], parent=parent_id)
            except DuplicateUid:  # created concurrently by another delivery
                found = _named(await store.mailboxes.list(account), level)
            except (ValueError, KernelError):
                return None
            if found is None:
                return None
        parent = found
    return parent


async def _fcc_mailbox(kernel: Kernel, account: int, fcc: Fcc) -> Mailbox | None:
    """The mailbox an ``:fcc`` copy goes to (see the module notes)."""
    mailboxes = await kernel.store.mailboxes.list(account)
    named = _named(mailboxes, fcc.mailbox)
    if fcc.mailbox_id is not None:
        # RFC 9042 §5: the mailbox with this id if there is one, else the :fcc target.
        wanted = parse_mailbox_id(fcc.mailbox_id)
        by_id = next((m for m in mailboxes if m.id == wanted), None)
        if by_id is not None:
            return by_id
    role = fcc.special_use.lstrip("\\").lower() if fcc.special_use else None
    if role:
        # RFC 8579 §4: the named mailbox MUST be used when it has the special use.
        if named is not None and named.role == role:
            return named
        special = next((m for m in mailboxes if m.role == role), None)
        if special is not None:
            return special
    if named is not None:
        return named
    if fcc.create:
        created = await _create(kernel, account, fcc.mailbox, role)
        if created is not None:
            return created
    return next((m for m in mailboxes if m.role == "sent"), None)


async def _fcc(kernel: Kernel, account: int, fcc: Fcc, data: bytes, log: StructuredLogger) -> None:
    """RFC 8580 §3: file a copy of a sent message (see the module notes)."""
    target = await _fcc_mailbox(kernel, account, fcc)
    if target is None:
        log.warning("sieve-warning", problem=f":fcc mailbox {fcc.mailbox!r} does not exist")
        return

    def report(problem: str) -> None:
        log.warning("sieve-warning", problem=f":fcc {problem}")

    # RFC 8580 §3.1.1: the :flags given are set on the filed copy.
    words = keywords(fcc.flags, report) if fcc.flags is not None else ("$seen",)
    await kernel.store.emails.append(account, data, [target.id], keywords=list(words))
    log.info("sieve-fcc", mailbox=target.name, mailbox_id=target.id)


def _message_id(kernel: Kernel) -> str:
    return f"{uuid.uuid4().hex}.sieve@{kernel.hostname}"


def _trace(kernel: Kernel, action: Redirect, now: datetime) -> bytes:
    # RFC 5321 §4.4: a relayed message gets our Received field (loop detection counts it).
    stamp = format_datetime(now)
    return f"Received: by {kernel.hostname} for <{action.address}>; {stamp}\r\n".encode()


def vacation_digest(action: Vacation, sender: str) -> bytes:
    """RFC 5230 §4.2: the tracking key of one (handle, sender) pair."""
    return hashlib.sha256(f"{action.handle}\0{sender.lower()}".encode()).digest()


async def send_actions(
    kernel: Kernel,
    *,
    account: int | None,
    actions: Sequence[Action],
    messages: Sequence[bytes | None],
    original: bytes,
    envelope: Envelope,
    settings: Settings,
    conf: SieveConfig,
    log: StructuredLogger,
    aliases: Sequence[str] = (),
) -> tuple[list[str], bool]:
    """Carry out the sending actions.

    Returns:
        The problems met (also logged), one line each, and whether every redirect
        was queued (when one was not, the caller keeps a local copy).

    Args:
        kernel: the running kernel (store, queue, host name).
        account: the account whose vacation state is tracked (None: no vacation).
        actions: the outcome's actions (others than the sending ones are ignored).
        messages: per action, the message as editheader left it (None: ``original``).
        original: the message as received.
        envelope: the Sieve envelope.
        settings: the interpreter settings (user's addresses, postmaster, ...).
        conf: the plugin configuration (SRS).
        log: the delivery's logger.
        aliases: the account's other addresses (RFC 5230 §4.5: never reply to them,
            and a message sent to them is addressed to the user).
    """
    problems: list[str] = []
    redirected = True
    notified: set[str] = set()
    view = MessageView(original)
    now = datetime.now(UTC).astimezone()
    for action, edited in zip(actions, messages, strict=False):
        try:
            if isinstance(action, Redirect):
                out = redirect_message(action, envelope, edited or original, settings)
                if out is None:
                    problems.append(f"redirect to {action.address} skipped: mail loop")
                    redirected = False
                    continue
                sender = out.mail_from
                if conf.redirect_sender == "srs" and conf.srs_secret:
                    sender = forward(sender, conf.srs_secret, conf.srs_domain)
                out = OutgoingMessage(
                    sender, out.recipients, _trace(kernel, action, now) + out.data
                )
                if not await _enqueue(kernel, out, "redirect", log):
                    redirected = False
            elif isinstance(action, Vacation):
                if account is None:
                    continue
                mine = replace(action, addresses=(*action.addresses, *aliases))
                reply = vacation_reply(mine, envelope, view, settings, now, _message_id(kernel))
                if reply is None:
                    log.info("sieve-vacation-not-due", sender=envelope.mail_from or "<>")
                    continue
                if queue_of(kernel) is None:
                    await _enqueue(kernel, reply, "vacation", log)
                    continue
                key = vacation_digest(action, envelope.mail_from)
                if await kernel.store.sieve.track(account, "vacation", key, action.period):
                    log.info("sieve-vacation-already-sent", sender=envelope.mail_from)
                    continue
                if await _enqueue(kernel, reply, "vacation", log) and action.fcc:
                    await _fcc(kernel, account, action.fcc, reply.data, log)
            elif isinstance(action, Notify):
                sent = [
                    out
                    for out in notify_messages(
                        action, envelope, view, settings, now, _message_id(kernel), notified
                    )
                    if await _enqueue(kernel, out, "notify", log)
                ]
                if sent and action.fcc and account is not None:
                    await _fcc(kernel, account, action.fcc, sent[0].data, log)
        except Exception as error:  # one failed send never fails the delivery
            log.exception("sieve-send-failed", action=action.name)
            problems.append(f"{action.name} failed: {error}")
            redirected = redirected and not isinstance(action, Redirect)
    return problems, redirected
