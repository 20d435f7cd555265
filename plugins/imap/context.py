"""One IMAP connection's state, shared by the driver and the ops.

A :class:`Session` holds what RFC 9051 §3 calls the connection state (not
authenticated, authenticated, selected, logout), who is logged in, the extensions the
client enabled (RFC 5161), the selected mailbox's view (:mod:`plugins.imap.selected`),
the saved search result (RFC 5182) and the subscription to the store's change events
that wakes IDLE and tells :meth:`Session.sync` when to re-read the mailbox.

Implementation notes:

* Writes go through the driver's writer, which sends each buffer with
  ``conn.send_all``: a client that stops reading blocks its own session, never the
  server's memory (the issue's backpressure requirement; RFC 9051 §5.3).
* Change events are hints (:mod:`kernel.events`); :meth:`Session.sync` re-reads
  ``mailbox_changes`` whenever one arrived, and always when forced (NOOP, IDLE).
* Kernel-wide IMAP state (``\\Recent`` claims, sessions per account) lives in the
  kernel's stash under this module's keys (STYLE.md §1.2).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, final

import trio

from kernel.errors import NoSuchItem
from kernel.events import Subscription
from kernel.stash import StashKey
from plugins.imap import storeview
from plugins.imap.config import ImapConfig
from plugins.imap.flags import PERMANENT_FLAGS, keywords_to_flags
from plugins.imap.proto import responses as r
from plugins.imap.proto.state import State
from plugins.imap.search_updates import UpdateContexts
from plugins.imap.selected import (
    DefinedFlags,
    Exists,
    Expunge,
    FlagsUpdate,
    Recent,
    RecentTracker,
    SelectedMailbox,
    Update,
    Vanished,
)

if TYPE_CHECKING:
    from kernel.net.connection import Connection
    from kernel.store import Store
    from plugins.imap.notifier import Notifier

__all__ = ["LOGINS", "RECENT", "SelectionLost", "Session", "State", "render_update"]

#: The kernel's :class:`RecentTracker` (RFC 3501 §2.3.2).
RECENT: StashKey[RecentTracker] = StashKey()
#: Logged-in IMAP sessions per account id on this node.
LOGINS: StashKey[dict[int, int]] = StashKey()

Writer = Callable[[Sequence[bytes | memoryview]], Awaitable[None]]
LineReader = Callable[[float | None], Awaitable[bytes | None]]


@final
class SelectionLost(Exception):
    """The selected mailbox was deleted under the session (the driver says BYE)."""


def render_update(update: Update, *, uid: bool) -> bytes:
    """The untagged response for one view update; ``uid`` shows UIDs in FETCH."""
    match update:
        case Exists(count):
            return r.exists(count)
        case Recent(count):
            return r.recent(count)
        case Expunge(seq):
            return r.expunge(seq)
        case Vanished(uids, earlier):
            return r.vanished(uids, earlier=earlier)
        case DefinedFlags(keywords):
            return r.flags((*PERMANENT_FLAGS, *sorted(keywords)))
        case FlagsUpdate():
            return r.fetch_flags(
                update.seq,
                keywords_to_flags(update.flags, recent=update.recent),
                uid=update.uid if uid or update.modseq is not None else None,
                modseq=update.modseq,
            )
    raise TypeError(update)


@final
class Session:
    """The state of one connection (see the module docstring).

    Args:
        conn: the kernel's connection.
        config: the ``imap`` section as it was at connect.
        write: sends buffers in order (the driver's writer).
        read_line: reads one client line outside command parsing (AUTHENTICATE
            responses, IDLE's DONE) within a timeout (None: the autologout timer);
            None at end of stream.
    """

    def __init__(
        self, conn: Connection, config: ImapConfig, write: Writer, read_line: LineReader
    ) -> None:
        self.conn = conn
        self.config = config
        self._write = write
        self.read_line = read_line
        self.state = State.NOT_AUTHENTICATED
        self.account: str | None = None
        self.account_id: int | None = None
        self.enabled: set[str] = set()
        self.selected: SelectedMailbox | None = None
        self.selected_name = ""
        self.selected_owner = 0
        self.selected_rights = ""
        self.saved: frozenset[int] = frozenset()
        #: Searches whose results the client keeps up to date (RFC 5267 §4.3).
        self.search_updates = UpdateContexts()
        self.auth_failures = 0
        self.subscription: Subscription | None = None
        self.dirty = False
        #: Set by the driver: drop buffered input, then run the TLS handshake.
        self.start_tls: Callable[[], Awaitable[None]] | None = None
        #: Set by the driver: compress both directions from the next byte on.
        self.start_compress: Callable[[], Awaitable[None]] | None = None
        self.compressed = False
        #: NOTIFY (RFC 5465): the active notifier, set by :mod:`plugins.imap.notifier`.
        self.notifier: Notifier | None = None
        self.notifier_changed = trio.Event()
        #: Held while a command runs, so notifications wait for it to end.
        self.busy = trio.Lock()
        self._sending = trio.Lock()

    # -- shortcuts ----------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The kernel's store."""
        return self.conn.kernel.store

    @property
    def rev2(self) -> bool:
        """``ENABLE IMAP4rev2`` was accepted (RFC 9051 §6.3.1)."""
        return "IMAP4REV2" in self.enabled

    @property
    def utf8(self) -> bool:
        """UTF-8 may be sent in quoted strings and mailbox names (RFC 9051 §5.1;
        RFC 6855 §3)."""
        return "UTF8=ACCEPT" in self.enabled or self.rev2

    @property
    def condstore(self) -> bool:
        """CONDSTORE is on (RFC 7162 §3.1: enabled by ENABLE, SELECT (CONDSTORE),
        a MODSEQ fetch or search, or QRESYNC)."""
        return "CONDSTORE" in self.enabled or self.qresync

    @property
    def qresync(self) -> bool:
        """``ENABLE QRESYNC`` was accepted (RFC 7162 §3.2.3)."""
        return "QRESYNC" in self.enabled

    @property
    def recent_tracker(self) -> RecentTracker | None:
        """The ``\\Recent`` tracker for IMAP4rev1 sessions; None once IMAP4rev2 is on."""
        if self.rev2:
            return None
        return self.conn.kernel.stash.setdefault(RECENT, RecentTracker())

    def view(self) -> SelectedMailbox:
        """The selected mailbox's view (the dispatcher checked the state)."""
        assert self.selected is not None
        return self.selected

    async def send(self, *chunks: bytes | memoryview) -> None:
        """Write responses in order (one batch at a time: the notifier writes too)."""
        async with self._sending:
            await self._write(chunks)

    # -- change tracking ----------------------------------------------------------

    def watch(self, accounts: Sequence[int]) -> None:
        """Listen to change events of ``accounts`` (the user's own, a shared owner's)."""
        names = [str(a) for a in accounts]
        if self.subscription is None:
            self.subscription = self.conn.kernel.events.subscribe(accounts=names)
        else:
            self.subscription.set_accounts(names)
        self.dirty = True

    def _drain(self) -> None:
        if self.subscription is None:
            return
        while True:
            try:
                self.subscription.next_nowait()
            except trio.WouldBlock:
                return
            except (trio.EndOfChannel, trio.ClosedResourceError):
                return
            self.dirty = True

    async def wait_change(self) -> None:
        """Wait for the next change event (IDLE); returns at once if one is pending."""
        self._drain()
        if self.dirty:
            await trio.lowlevel.checkpoint()
            return
        if self.subscription is None:
            await trio.sleep_forever()
        assert self.subscription is not None
        try:
            await self.subscription.next()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            await trio.sleep_forever()
        self.dirty = True

    async def refresh(self, *, force: bool = False) -> None:
        """Merge the store's changes into the view, when there may be any.

        Raises:
            SelectionLost: the selected mailbox no longer exists.
        """
        view = self.selected
        self._drain()
        if view is None or not (self.dirty or force):
            return
        self.dirty = False
        try:
            changes, keywords, current = await storeview.changes(
                self.store, view.account, view.mailbox, view.synced_modseq
            )
        except NoSuchItem:
            raise SelectionLost(self.selected_name) from None
        view.apply(changes, keywords)
        if current is not None:
            view.reconcile(current)

    async def sync(self, *, expunge: bool, force: bool = False) -> None:
        """Refresh, then send the updates RFC 9051 §7 allows now.

        Args:
            expunge: EXPUNGE/VANISHED may be sent (RFC 9051 §7.5.1).
            force: re-read the store even without a change event.
        """
        if self.selected is None:
            return
        await self.refresh(force=force)
        self.selected.condstore = self.condstore  # a CONDSTORE-enabling command may have run
        lines = await self.update_lines(expunge=expunge, uid=self.condstore)
        if lines:
            await self.send(*lines)

    async def update_lines(self, *, expunge: bool, uid: bool, flags: bool = True) -> list[bytes]:
        """The selected view's pending updates as untagged lines, applied to the view,
        with the ADDTO/REMOVEFROM of the search update contexts (RFC 5267 §4.3).

        Args:
            expunge: EXPUNGE/VANISHED may be sent (RFC 9051 §7.5.1).
            uid: show UIDs in FETCH responses.
            flags: flag changes may be sent (see :meth:`SelectedMailbox.updates`).
        """
        view = self.view()
        contexts = len(self.search_updates) > 0
        before = list(view.uids) if contexts else []
        updates = view.updates(expunge=expunge, flags=flags)
        lines = [render_update(u, uid=uid) for u in updates]
        if contexts:
            # RFC 5267 §4.3.3, §4.3.4: REMOVEFROM before EXPUNGE, ADDTO after EXISTS.
            head, tail = await self.search_updates.refresh(view, before)
            lines = [*head, *lines, *tail]
        return lines

    def unselect(self) -> None:
        """Leave the selected state (RFC 9051 §6.4.1, §6.4.2); forget ``$``."""
        self.selected = None
        self.selected_name = ""
        self.selected_owner = 0
        self.selected_rights = ""
        self.saved = frozenset()
        self.search_updates.clear()
        if self.state is State.SELECTED:
            self.state = State.AUTHENTICATED
        if self.account_id is not None and self.subscription is not None:
            self.subscription.set_accounts([str(self.account_id)])

    def close(self) -> None:
        """Release what the session holds (subscription, notifier, login count)."""
        if self.notifier is not None:
            self.notifier.close()
            self.notifier = None
        if self.subscription is not None:
            self.subscription.close()
            self.subscription = None
        if self.account_id is not None:
            logins = self.conn.kernel.stash.setdefault(LOGINS, {})
            left = logins.get(self.account_id, 1) - 1
            if left > 0:
                logins[self.account_id] = left
            else:
                logins.pop(self.account_id, None)
            self.account_id = None
