"""NOTIFY (RFC 5465) at run time: snapshots from the store, waiting for changes, and
writing the notifications between commands.

Implementation notes:

* One :class:`Notifier` per successful ``NOTIFY SET``; :func:`run_notifications`
  runs for the whole connection in the driver's nursery and, while a notifier is set,
  waits for a change and delivers it holding ``session.busy``, the lock the driver
  holds while it handles a command: notifications never land inside a command's
  responses, and go out at once between commands (RFC 5465 §3.1: "even when no
  command is in progress") and during IDLE, which releases the lock (RFC 5465 §4).
* Wake-ups: the store's change events of the user's account (which also carry the
  ``shared`` hints of mailboxes shared with it), and :class:`MetadataHub`, where
  SETMETADATA posts the entries it changed (the store publishes no event for
  annotations). Each wake-up re-reads the visible mailboxes (one tree read, and the
  counts of watched mailboxes whose modseq moved) and diffs the snapshots
  (:func:`plugins.imap.notify.diff`).
* RFC 5465 §5: events this client caused are not reported back: after its own
  commands that change mailboxes the snapshot is retaken silently (a change another
  session makes in that same moment is then reported with the next one), and its
  own SETMETADATA is skipped.
* The selected mailbox (SELECTED group): new messages give EXISTS then a FETCH of the
  requested attributes (RFC 5465 §5.2); expunges EXPUNGE/VANISHED, at once with
  SELECTED and at the next command allowing them with SELECTED-DELAYED (§6.1.2);
  flag changes a FETCH with UID and FLAGS (§5.1). New messages announced at the end
  of a command (for instance the client's own APPEND) come without that FETCH
  (§5.2: SHOULD NOT for the client's own messages).
* Overflow (RFC 5465 §5.8): more than :data:`MAX_PENDING` metadata changes waiting,
  or a failure while computing notifications, ends notifications with
  ``* OK [NOTIFICATIONOVERFLOW]``, as if NOTIFY NONE had been sent; NOTIFY SET over
  more than :data:`MAX_WATCHED` mailboxes is refused with that code (§3.1).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, final

import trio

from kernel.errors import StoreError
from kernel.events import Subscription
from kernel.stash import StashKey
from plugins.imap.context import SelectionLost, Session
from plugins.imap.errors import CommandFailed
from plugins.imap.names import MailboxRef, Tree, attributes
from plugins.imap.notify import MESSAGE_EVENTS, BoxState, Spec, diff, initial, metadata_names
from plugins.imap.ops.fetch import fetch
from plugins.imap.proto import codes
from plugins.imap.proto import commands as c
from plugins.imap.proto import responses as r
from plugins.imap.proto.sequence import SequenceSet

__all__ = [
    "MAX_PENDING",
    "MAX_WATCHED",
    "METADATA_HUB",
    "SELF_CHANGES",
    "MetadataChange",
    "MetadataHub",
    "Notifier",
    "after_command",
    "metadata_changed",
    "run_notifications",
    "set_notifier",
]

#: Metadata changes one session may have waiting before it overflows (RFC 5465 §5.8).
MAX_PENDING: Final = 1000
#: Mailboxes one NOTIFY SET may watch (RFC 5465 §3.1 NOTIFICATIONOVERFLOW).
MAX_WATCHED: Final = 10000
#: Commands whose own changes to other mailboxes are not reported back (RFC 5465 §5);
#: STORE and EXPUNGE change the selected mailbox only, which STATUS never reports.
SELF_CHANGES: Final = (
    c.Create,
    c.Delete,
    c.Rename,
    c.Subscribe,
    c.Unsubscribe,
    c.Append,
    c.Copy,
    c.Move,
)
_SUBSCRIBED_ENTRY: Final = "/private/vendor/stalwart-kernel/subscribed"  # ops.mailbox's


@final
@dataclass(frozen=True, slots=True)
class MetadataChange:
    """Entries SETMETADATA changed: on ``mailbox`` (None: the server) by ``principal``."""

    origin: object
    principal: int
    mailbox: int | None
    entries: tuple[str, ...]


@final
class _Listener:
    def __init__(self, hub: MetadataHub) -> None:
        self._hub = hub
        self.pending: list[MetadataChange] = []
        self.overflow = False
        self._event = trio.Event()

    def post(self, change: MetadataChange) -> None:
        if len(self.pending) >= MAX_PENDING:
            self.overflow = True
        else:
            self.pending.append(change)
        self._event.set()

    async def wait(self) -> None:
        if self.pending or self.overflow:
            await trio.lowlevel.checkpoint()
            return
        self._event = trio.Event()
        await self._event.wait()

    def take(self) -> list[MetadataChange]:
        out, self.pending = self.pending, []
        return out

    def close(self) -> None:
        self._hub.listeners.discard(self)


@final
class MetadataHub:
    """The kernel's fan-out of SETMETADATA changes to NOTIFY sessions."""

    def __init__(self) -> None:
        self.listeners: set[_Listener] = set()

    def listen(self) -> _Listener:
        """A new listener (close it when done)."""
        listener = _Listener(self)
        self.listeners.add(listener)
        return listener

    def publish(self, change: MetadataChange) -> None:
        """Hand ``change`` to every listener; never blocks."""
        for listener in list(self.listeners):
            listener.post(change)


#: The kernel's :class:`MetadataHub`.
METADATA_HUB: StashKey[MetadataHub] = StashKey()


def metadata_changed(session: Session, mailbox: int | None, entries: Iterable[str]) -> None:
    """SETMETADATA changed ``entries`` (RFC 5465 §5.6, §5.7)."""
    hub = session.conn.kernel.stash.get(METADATA_HUB, None)
    if hub is None or not hub.listeners:
        return
    assert session.account_id is not None
    names = tuple(sorted({e.lower() for e in entries}))
    hub.publish(MetadataChange(session, session.account_id, mailbox, names))


@final
class Notifier:
    """One NOTIFY SET's state (see the module docstring).

    Resource handling:
        Holds a change-event subscription and a hub listener until :meth:`close`.
    """

    def __init__(self, session: Session, spec: Spec) -> None:
        self.session = session
        self.spec = spec
        assert session.account_id is not None
        self.account = session.account_id
        self.boxes: dict[int, BoxState] = {}
        self.closed = False
        self._scope: trio.CancelScope | None = None
        kernel = session.conn.kernel
        self._sub: Subscription = kernel.events.subscribe(accounts=[str(self.account)])
        self._listener = kernel.stash.setdefault(METADATA_HUB, MetadataHub()).listen()

    def close(self) -> None:
        """Stop: release the subscription and listener, wake a waiting :meth:`wait`."""
        self.closed = True
        self._sub.close()
        self._listener.close()
        if self._scope is not None:
            self._scope.cancel()

    @property
    def _selected(self) -> int | None:
        view = self.session.selected
        return view.mailbox if view is not None else None

    # -- snapshots -----------------------------------------------------------------

    async def _subscribed(self, ref: MailboxRef) -> bool:
        assert ref.mailbox is not None
        if ref.owner == self.account:
            return ref.mailbox.subscribed
        found = await self.session.store.metadata.get(
            self.account, ref.mailbox.id, [_SUBSCRIBED_ENTRY]
        )
        return bool(found)

    async def snapshot(self) -> dict[int, BoxState]:
        """The mailboxes the user sees now, with counts where message events are watched."""
        store = self.session.store
        tree = await Tree.load(store, self.account)
        shared_subscriptions = any(
            w.filter == "SUBSCRIBED" or "SubscriptionChange" in w.events for w in self.spec.watches
        )
        out: dict[int, BoxState] = {}
        for ref in tree.all():
            box = ref.mailbox
            if box is None:
                continue
            subscribed = box.subscribed if ref.owner == self.account else False
            if ref.owner != self.account and shared_subscriptions:
                subscribed = await self._subscribed(ref)
            state = BoxState(
                id=box.id,
                name=ref.name,
                owner=ref.owner,
                parent=box.parent,
                rights=ref.rights,
                subscribed=subscribed,
                uidvalidity=box.uidvalidity,
                uidnext=box.uidnext,
                modseq=box.modseq,
                attrs=tuple(attributes(tree, ref)),
            )
            if self.spec.events_for(state, self.account, self._selected) & MESSAGE_EVENTS:
                before = self.boxes.get(box.id)
                if (
                    before is not None
                    and before.modseq == box.modseq
                    and before.messages is not None
                ):
                    state = dataclasses.replace(
                        state, messages=before.messages, unseen=before.unseen
                    )
                else:
                    counts = await store.emails.counts(ref.owner, box.id, threads=False)
                    state = dataclasses.replace(state, messages=counts.total, unseen=counts.unseen)
            out[box.id] = state
        return out

    async def start(self) -> list[bytes]:
        """Take the first snapshot; the responses NOTIFY SET sends before its OK.

        Raises:
            CommandFailed: NO [NOTIFICATIONOVERFLOW] when too many mailboxes are watched.
        """
        self.boxes = await self.snapshot()
        selected = self._selected
        watched = sum(
            1 for b in self.boxes.values() if self.spec.events_for(b, self.account, selected)
        )
        if watched > MAX_WATCHED:
            code = codes.NOTIFICATIONOVERFLOW.encode()
            raise CommandFailed("NO", "Too many mailboxes to watch", code)
        return initial(
            self.spec,
            self.boxes,
            self.account,
            selected,
            condstore=self.session.condstore,
            utf8=self.session.utf8,
        )

    async def rebaseline(self) -> None:
        """Retake the snapshot without reporting (after the client's own changes)."""
        self.boxes = await self.snapshot()

    # -- waiting and delivering ----------------------------------------------------

    async def wait(self) -> None:
        """Wait for a change event or a metadata change (or :meth:`close`)."""
        if self.closed:
            await trio.lowlevel.checkpoint()
            return
        with trio.CancelScope() as scope:
            self._scope = scope
            async with trio.open_nursery() as nursery:

                async def bus() -> None:
                    try:
                        await self._sub.next()
                    except (trio.EndOfChannel, trio.ClosedResourceError):
                        await trio.sleep_forever()
                    nursery.cancel_scope.cancel()

                async def hub() -> None:
                    await self._listener.wait()
                    nursery.cancel_scope.cancel()

                nursery.start_soon(bus)
                nursery.start_soon(hub)
        self._scope = None
        while not self.closed:  # the changes are re-read whole: drop coalesced hints
            try:
                self._sub.next_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break

    async def deliver(self) -> None:
        """Send what changed since the last delivery (``session.busy`` is held)."""
        session = self.session
        if self._listener.overflow:
            await self._overflow()
            return
        await self._selected_updates()
        boxes = await self.snapshot()
        lines = diff(
            self.spec,
            self.boxes,
            boxes,
            self.account,
            self._selected,
            condstore=session.condstore,
            utf8=session.utf8,
        )
        self.boxes = boxes
        lines += self._metadata(self._listener.take())
        if lines:
            await session.send(*lines)

    async def _overflow(self) -> None:
        set_notifier(self.session, None)
        await self.session.send(
            r.untagged(
                "OK",
                "Too many notifications, NOTIFY NONE is in effect",
                code=codes.NOTIFICATIONOVERFLOW.encode(),
            )
        )

    async def _selected_updates(self) -> None:
        """RFC 5465 §5.1-§5.3 for the selected mailbox."""
        session = self.session
        view = session.selected
        events = self.spec.selected
        if view is None or not events:
            return
        try:
            await session.refresh()
        except SelectionLost:
            session.dirty = True  # the next command ends the session with BYE
            return
        view.condstore = session.condstore
        newest = view.max_uid
        # RFC 5465 §5.1: the FETCH of a flag change carries UID; §5.2: ESEARCH ADDTO
        # of search update contexts after EXISTS, the FETCH below after both.
        lines = await session.update_lines(
            expunge=not self.spec.delayed, uid=True, flags="FlagChange" in events
        )
        if lines:
            await session.send(*lines)
        arrived = [uid for uid in view.uids if uid > newest]
        if arrived and self.spec.fetch:
            cmd = c.Fetch("*", SequenceSet.of(arrived), self.spec.fetch, uid=True)
            with contextlib.suppress(CommandFailed):  # e.g. expunged: the EXPUNGE follows
                await fetch(session, cmd)

    def _metadata(self, changes: list[MetadataChange]) -> list[bytes]:
        """RFC 5465 §5.6, §5.7: METADATA with the changed entry names."""
        out: list[bytes] = []
        selected = self._selected
        for change in changes:
            if change.origin is self.session:
                continue  # RFC 5465 §5: the client's own change
            entries = [
                e
                for e in change.entries
                if e.startswith("/shared") or change.principal == self.account
            ]
            if not entries:
                continue
            if change.mailbox is None:
                if self.spec.server_metadata:
                    out.append(metadata_names("", entries, utf8=self.session.utf8))
                continue
            box = self.boxes.get(change.mailbox)
            if box is None:
                continue
            if "MailboxMetadataChange" in self.spec.events_for(box, self.account, selected):
                out.append(metadata_names(box.name, entries, utf8=self.session.utf8))
        return out


def set_notifier(session: Session, notifier: Notifier | None) -> None:
    """Replace the session's notifier (None: NOTIFY NONE), closing the old one."""
    old = session.notifier
    if old is not None:
        old.close()
    session.notifier = notifier
    session.notifier_changed.set()
    session.notifier_changed = trio.Event()


async def after_command(session: Session, cmd: c.Command) -> None:
    """Retake the snapshot silently after the client's own changes (RFC 5465 §5)."""
    notifier = session.notifier
    if notifier is None or not isinstance(cmd, SELF_CHANGES):
        return
    with contextlib.suppress(StoreError):  # the next delivery reads again
        await notifier.rebaseline()


async def run_notifications(session: Session) -> None:
    """Deliver notifications for the whole connection (see the module docstring)."""
    try:
        while True:
            notifier = session.notifier
            if notifier is None:
                await session.notifier_changed.wait()
                continue
            await notifier.wait()
            async with session.busy:
                if notifier is not session.notifier or notifier.closed:
                    continue
                try:
                    await notifier.deliver()
                except (trio.BrokenResourceError, trio.ClosedResourceError, trio.Cancelled):
                    raise
                except Exception as exc:  # a store failure or a bug: stop, say so
                    session.conn.log.exception("imap-notify-failed", error=type(exc).__name__)
                    await notifier._overflow()
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        return  # the driver sees the broken connection itself
