"""Push (RFC 8620 §7): StateChange objects from the store's change events.

The store publishes a :class:`kernel.events.ChangeEvent` after each commit
(``email``, ``mailbox``, ``sieve``, ``queue``..., and ``shared`` to accounts a
changed mailbox is shared with). A hint names a kind and an account; the
StateChange carries, per account and JMAP type, the account's *current*
state (read from the store, so it equals what a /get answers right after).

A ``shared`` hint does not say whose mailbox changed, so every shared account
of the user is reported with its current state (harmless: a client whose
state is current finds no changes).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

import trio

from kernel.events import ChangeEvent
from plugins.jmap.accounts import User, accessible_accounts
from plugins.jmap.ids import ACCOUNT, encode_id
from plugins.jmap.state import state_string

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel

__all__ = [
    "ALL_TYPES",
    "KIND_TYPES",
    "DeliveryTracker",
    "event_source_stream",
    "format_sse",
    "parse_types",
    "state_change",
]

#: Change-event kind to the JMAP data types whose state it moves.
KIND_TYPES: dict[str, tuple[str, ...]] = {
    "email": ("Email", "Thread", "Quota"),
    "mailbox": ("Mailbox",),
    "shared": ("Mailbox", "Email", "Thread"),
    "sieve": ("SieveScript",),
    "queue": ("EmailSubmission",),
    "identity": ("Identity",),
    "vacation": ("VacationResponse",),
}
ALL_TYPES = frozenset(t for types in KIND_TYPES.values() for t in types) | {"EmailDelivery"}


def parse_types(value: object) -> frozenset[str] | None:
    """``types`` (§7.3: ``*`` or comma-separated type names): ``None`` means all."""
    if value is None:
        return None
    if isinstance(value, str):
        names = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, list):
        names = [v for v in value if isinstance(v, str)]
    else:
        return frozenset()
    return None if "*" in names else frozenset(names)


class DeliveryTracker:
    """Where one push channel last looked for new emails, per account (EmailDelivery).

    RFC 8621 §1.5: the EmailDelivery state changes when new mail arrives. An email
    event moves it when the email log shows a created email since the last look;
    emails created by the user's own JMAP or IMAP actions (drafts, APPEND) count
    too, as the store does not say how an email arrived.
    """

    def __init__(self) -> None:
        self.last: dict[int, int] = {}

    async def new_mail(self, kernel: Kernel, account: int, event_modseq: int) -> bool:
        """Whether an email was created in ``account`` since the last call."""
        since = self.last.get(account, event_modseq - 1)
        page = await kernel.store.mailboxes.changes_page(account, "email", since, None)
        self.last[account] = max(page.changes.state, since)
        return bool(page.changes.created) or page.changes.cannot_calculate

    async def start(self, kernel: Kernel, account: int) -> None:
        """Look from the account's current position on."""
        self.last[account] = await kernel.store.backend.read(
            lambda ops: ops.current_modseq(account)
        )


async def state_change(
    kernel: Kernel,
    user: User,
    events: Iterable[ChangeEvent],
    types: frozenset[str] | None,
    deliveries: DeliveryTracker | None = None,
) -> dict[str, Any] | None:
    """The StateChange object for ``events`` seen by ``user``, restricted to ``types``;
    ``None`` when nothing in it is of interest. With ``deliveries``, an email event
    that created emails also moves ``EmailDelivery``."""
    wanted: dict[int, set[str]] = {}
    shared_accounts: list[int] | None = None
    for event in events:
        if (
            deliveries is not None
            and event.kind == "email"
            and (types is None or "EmailDelivery" in types)
            and event.account.isdigit()
            and await deliveries.new_mail(kernel, int(event.account), event.modseq)
        ):
            wanted.setdefault(int(event.account), set()).add("EmailDelivery")
        names = {t for t in KIND_TYPES.get(event.kind, ()) if types is None or t in types}
        if not names:
            continue
        if event.kind == "shared":
            if shared_accounts is None:
                accounts = await accessible_accounts(kernel, user)
                shared_accounts = [a for a in accounts if a != user.id]
            for account in shared_accounts:
                wanted.setdefault(account, set()).update(names)
        else:
            try:
                account = int(event.account)
            except ValueError:
                continue
            wanted.setdefault(account, set()).update(names)
    if not wanted:
        return None
    changed: dict[str, dict[str, str]] = {}
    for account, names in wanted.items():
        modseq = await kernel.store.backend.read(lambda ops, a=account: ops.current_modseq(a))
        changed[encode_id(ACCOUNT, account)] = {
            name: state_string(modseq) for name in sorted(names)
        }
    return {"@type": "StateChange", "changed": changed}


def format_sse(event: str, data: dict[str, Any]) -> bytes:
    """One ``text/event-stream`` event (the data is single-line JSON)."""
    import json

    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def event_source_stream(
    kernel: Kernel,
    user: User,
    types: frozenset[str] | None,
    *,
    close_after_state: bool,
    ping: float,
) -> AsyncIterator[bytes]:
    """The body of an EventSource response (§7.3).

    Sends ``state`` events as changes commit (a ``:`` comment first so the
    client sees the stream open), ``ping`` events every ``ping`` seconds when
    ``ping`` > 0, and ends after the first state event with ``close_after_state``
    or when the kernel starts draining.
    """
    subscription = kernel.events.subscribe(accounts=[str(user.id)])
    deliveries = DeliveryTracker()
    try:
        await deliveries.start(kernel, user.id)
        yield b": stream open\n\n"
        next_ping = trio.current_time() + ping if ping > 0 else math.inf
        while not kernel.draining:
            wait = min(next_ping - trio.current_time(), 1.0)
            event = None
            with trio.move_on_after(max(wait, 0)):
                event = await subscription.next()
            if event is not None:
                batch = [event]
                while True:
                    try:
                        batch.append(subscription.next_nowait())
                    except trio.WouldBlock:
                        break
                change = await state_change(kernel, user, batch, types, deliveries)
                if change is not None:
                    yield format_sse("state", change)
                    if close_after_state:
                        return
            if trio.current_time() >= next_ping:
                yield format_sse("ping", {"interval": int(ping)})
                next_ping = trio.current_time() + ping
    except (trio.EndOfChannel, trio.ClosedResourceError):
        return
    finally:
        subscription.close()
