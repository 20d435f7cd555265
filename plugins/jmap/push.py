"""Push (RFC 8620 §7): StateChange objects from the store's change events.

The store publishes a :class:`kernel.events.ChangeEvent` after each commit
(``email``, ``mailbox``, ``sieve``, ``queue``..., and ``shared`` to accounts a
changed mailbox is shared with). A hint names a kind and an account; the
StateChange carries, per account and JMAP type, the account's *current*
state (read from the store, so it equals what a /get answers right after).

A ``shared`` hint does not say whose mailbox changed, so every shared account
of the user is reported with its current state (harmless: a client whose
state is current finds no changes).

EmailDelivery (RFC 8621 §1.5) moves only for emails that local delivery stored:
``Emails.append(..., delivered=True)`` logs them under the change-log kind
``delivery`` as well, so an IMAP APPEND, Email/set create or Email/import does
not count. :class:`DeliveryTracker` reads that kind of the log.

``pushState`` (RFC 8887 §4.3.5) is built from the change log too: it lists, per
account the user can see, the modseq up to which changes were reported
(:func:`format_push_state`). :func:`changes_since` answers "what changed after
these positions" from the log kinds (:data:`LOG_TYPES`), which is how a
WebSocket both resends what a reconnecting client missed and pushes live changes.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import trio

from kernel.events import ChangeEvent
from kernel.store.emails import DELIVERY_KIND
from plugins.jmap.accounts import User, accessible_accounts
from plugins.jmap.ids import ACCOUNT, encode_id
from plugins.jmap.state import state_string

if TYPE_CHECKING:
    from kernel.store.interfaces import ReadOps

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel

__all__ = [
    "ALL_TYPES",
    "KIND_TYPES",
    "LOG_TYPES",
    "DeliveryTracker",
    "changes_since",
    "event_source_stream",
    "format_push_state",
    "format_sse",
    "parse_push_state",
    "parse_types",
    "positions",
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
#: Change-log kind to the JMAP data types whose state it moves.
LOG_TYPES: dict[str, tuple[str, ...]] = {
    "email": ("Email", "Thread", "Quota"),
    "thread": ("Thread",),
    "mailbox": ("Mailbox",),
    "submission": ("EmailSubmission",),
    "sieve": ("SieveScript",),
    "identity": ("Identity",),
    "vacation": ("VacationResponse",),
    DELIVERY_KIND: ("EmailDelivery",),
}
#: The types another user's account shows through its shared mailboxes.
SHARED_TYPES = frozenset({"Mailbox", "Email", "Thread"})
_PUSH_STATE = re.compile(r"^(?:[0-9]{1,19}:[0-9]{1,19}(?:,[0-9]{1,19}:[0-9]{1,19})*)?$")


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

    RFC 8621 §1.5: the EmailDelivery state changes when new mail arrives, not when
    the user stores an email itself. An email event moves it when the ``delivery``
    log (emails stored by local delivery) has an entry since the last look.
    """

    def __init__(self) -> None:
        self.last: dict[int, int] = {}

    async def new_mail(self, kernel: Kernel, account: int, event_modseq: int) -> bool:
        """Whether local delivery stored an email in ``account`` since the last call."""
        since = self.last.get(account, event_modseq - 1)
        page = await kernel.store.mailboxes.changes_page(account, DELIVERY_KIND, since, None)
        self.last[account] = max(page.changes.state, since)
        return bool(page.changes.created)

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


def format_push_state(where: Mapping[int, int]) -> str:
    """The pushState token (RFC 8887 §4.3.5.1) for change-log positions by account."""
    return ",".join(f"{account}:{modseq}" for account, modseq in sorted(where.items()))


def parse_push_state(value: object) -> dict[int, int] | None:
    """The positions a pushState stands for; ``None`` when it is not one of ours."""
    if not isinstance(value, str) or not _PUSH_STATE.match(value):
        return None
    pairs = [item.split(":") for item in value.split(",") if item]
    return {int(account): int(modseq) for account, modseq in pairs}


async def positions(kernel: Kernel, user: User) -> dict[int, int]:
    """The current change-log position of every account ``user`` can see."""
    accounts = await accessible_accounts(kernel, user)
    return {
        account: await kernel.store.backend.read(lambda ops, a=account: ops.current_modseq(a))
        for account in accounts
    }


def _kinds_since(ops: ReadOps, account: int, since: int | None) -> tuple[int, set[str] | None]:
    """(current position, log kinds changed after ``since``); ``None``: cannot tell."""
    current = ops.current_modseq(account)
    if since is None or since > current or since < ops.log_floor(account):
        return current, None
    if since == current:
        return current, set()
    return current, {kind for kind in LOG_TYPES if ops.changes_since(account, kind, since)}


async def changes_since(
    kernel: Kernel,
    user: User,
    since: Mapping[int, int] | None,
    types: frozenset[str] | None,
) -> tuple[dict[str, Any] | None, dict[int, int]]:
    """What changed for ``user`` after the positions ``since`` (``None``: unknown, so
    every type of every account), as a StateChange restricted to ``types`` (``None``
    when nothing of interest changed), and the positions it brings the client to.

    An account missing from ``since`` (newly shared) reports every type. With an
    unknown position EmailDelivery is left out: nothing says that mail arrived.
    """
    accounts = await accessible_accounts(kernel, user)
    where: dict[int, int] = {}
    changed: dict[str, dict[str, str]] = {}
    for account in accounts:
        old = None if since is None else since.get(account)
        current, kinds = await kernel.store.backend.read(
            lambda ops, a=account, o=old: _kinds_since(ops, a, o)
        )
        where[account] = current
        if kinds is None:
            names = set(ALL_TYPES) - {"EmailDelivery"}
        else:
            names = {t for kind in kinds for t in LOG_TYPES[kind]}
        if account != user.id:
            names &= SHARED_TYPES
        if types is not None:
            names &= types
        if names:
            state = state_string(current)
            changed[encode_id(ACCOUNT, account)] = {name: state for name in sorted(names)}
    change = {"@type": "StateChange", "changed": changed} if changed else None
    return change, where


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
