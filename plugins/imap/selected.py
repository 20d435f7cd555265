"""The selected mailbox as one session sees it (sans-IO: no trio, no store calls).

IMAP numbers messages twice: by UID, which the store gives each membership, and by
message sequence number, which exists only between one client and the server (RFC
9051 §2.3.1.2). This module keeps the sequence-number map, the flags and MODSEQ of
each message as the client last saw them, and turns the store's changes
(:class:`kernel.store.MailboxChanges`) into the untagged updates the client must get:
``EXISTS``, ``EXPUNGE`` (or ``VANISHED`` with QRESYNC), ``FETCH (FLAGS ...)`` and, for
IMAP4rev1, ``RECENT``.

Implementation notes:

* Sequence numbers never shift under the client: a message the store expunged stays
  in the map (the session reports it gone) until an update that may carry EXPUNGE is
  produced. RFC 9051 §7.5.1: no EXPUNGE while no command is in progress, nor during
  FETCH, STORE or SEARCH; the session says when by passing ``expunge=True``.
* EXPUNGE responses go out from the highest sequence number down, so every number
  is right without adjusting for the ones sent before it (RFC 9051 §7.5.1).
* New messages are announced by one EXISTS with the new count after the expunges
  (RFC 9051 §5.2: EXISTS never reduces the count); a message that arrived and was
  expunged before being announced is never mentioned (RFC 7162 §3.2.10.2: VANISHED
  only names messages announced by EXISTS).
* Flags are store keywords (lower-case JMAP names, :mod:`plugins.imap.flags`).
* Unsolicited FETCH carries UID and MODSEQ once CONDSTORE is enabled (RFC 7162
  §3.2.4); a MODSEQ change alone is reported only then.
* ``\\Recent`` (RFC 3501 §2.3.2): :class:`RecentTracker`, one per kernel, remembers
  per mailbox the highest UID some session has claimed as recent; SELECT claims,
  EXAMINE only looks (RFC 3501 §6.3.2). Being in memory, it restarts empty, and then
  every message is recent once more, which RFC 3501 §2.3.2 allows ("if it is not
  possible to determine ... SHOULD be considered recent").

Theory of operation:

    select -> SelectedMailbox(snapshot) ----------------------------------------+
      store changes -> apply(changes, keywords)    (pending: new, gone, flags)  |
      command allows EXPUNGE? -> updates(expunge=True|False) -> [Update, ...]   |
      FETCH FLAGS answered from the view -> reported(uid)  (clears that pending)|
    <-------------------------------------------------------------------------- +
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import final

from kernel.store import MailboxChanges, Membership
from plugins.imap.proto.sequence import STAR, SequenceSet

__all__ = [
    "DefinedFlags",
    "Exists",
    "Expunge",
    "FlagsUpdate",
    "Recent",
    "RecentTracker",
    "SelectedMailbox",
    "Snapshot",
    "Update",
    "Vanished",
]


@final
@dataclass(frozen=True, slots=True)
class Exists:
    """``* n EXISTS`` (RFC 9051 §7.4.1)."""

    count: int


@final
@dataclass(frozen=True, slots=True)
class Recent:
    """``* n RECENT`` (RFC 3501 §7.3.2), IMAP4rev1 only."""

    count: int


@final
@dataclass(frozen=True, slots=True)
class Expunge:
    """``* n EXPUNGE`` (RFC 9051 §7.5.1)."""

    seq: int


@final
@dataclass(frozen=True, slots=True)
class Vanished:
    """``* VANISHED [(EARLIER)] uids`` (RFC 7162 §3.2.10)."""

    uids: SequenceSet
    earlier: bool = False


@final
@dataclass(frozen=True, slots=True)
class FlagsUpdate:
    """``* n FETCH (FLAGS (...) [UID u] [MODSEQ (m)])`` for a changed message.

    ``flags`` are store keywords; ``recent`` adds ``\\Recent``; ``modseq`` is None
    unless CONDSTORE is on; ``uid`` is always given, the session decides to show it.
    """

    seq: int
    uid: int
    flags: frozenset[str]
    recent: bool
    modseq: int | None


@final
@dataclass(frozen=True, slots=True)
class DefinedFlags:
    """``* FLAGS (...)`` again (RFC 9051 §7.3.5): a keyword came into use.

    ``keywords`` are every custom keyword seen in the mailbox (store names).
    """

    keywords: frozenset[str]


Update = Exists | Recent | Expunge | Vanished | FlagsUpdate | DefinedFlags


@final
@dataclass(frozen=True, slots=True)
class Snapshot:
    """The mailbox as read in one store transaction at SELECT.

    ``members`` are in UID order with each email's keywords; ``highest_modseq`` is
    the mailbox's modseq at that read, so changes after it are what a later
    ``mailbox_changes(since=highest_modseq)`` returns.
    """

    account: int
    mailbox: int
    uidvalidity: int
    uidnext: int
    highest_modseq: int
    members: Sequence[tuple[Membership, frozenset[str]]]


@final
class RecentTracker:
    """Which messages some session already saw as ``\\Recent`` (RFC 3501 §2.3.2).

    One per kernel (kept in the kernel's stash); plain data, no locking needed since
    trio runs sessions in one thread.
    """

    def __init__(self) -> None:
        self._claimed: dict[int, int] = {}

    def peek(self, mailbox: int, uids: Iterable[int]) -> set[int]:
        """The ``uids`` nobody has claimed yet (EXAMINE: recent without claiming)."""
        floor = self._claimed.get(mailbox, 0)
        return {uid for uid in uids if uid > floor}

    def claim(self, mailbox: int, uids: Iterable[int]) -> set[int]:
        """Claim the unclaimed ``uids`` for the caller; returns those it got."""
        got = self.peek(mailbox, uids)
        if got:
            self._claimed[mailbox] = max(got)
        return got

    def forget(self, mailbox: int) -> None:
        """Drop what is known of ``mailbox`` (it was deleted)."""
        self._claimed.pop(mailbox, None)


_SYSTEM = frozenset({"$seen", "$answered", "$flagged", "$deleted", "$draft"})


@dataclass(slots=True)
class _Seen:
    """One message as the client last saw it."""

    email: int
    flags: frozenset[str]
    modseq: int


@dataclass(slots=True)
class _Pending:
    new: dict[int, _Seen] = field(default_factory=dict)  # uid -> message not yet announced
    gone: set[int] = field(default_factory=set)  # announced uids the store removed
    flags: dict[int, _Seen] = field(default_factory=dict)  # announced uid -> current state


@final
class SelectedMailbox:
    """The selected mailbox's state for one session.

    Args:
        snapshot: the mailbox as SELECT/EXAMINE read it.
        read_only: EXAMINE (or no write right): STORE/EXPUNGE refused, no ``\\Recent``
            claimed.
        condstore: CONDSTORE is enabled: MODSEQ in unsolicited FETCH.
        qresync: QRESYNC is enabled: VANISHED instead of EXPUNGE.
        recent: the tracker for ``\\Recent``, or None (IMAP4rev2: no ``\\Recent``).
    """

    def __init__(
        self,
        snapshot: Snapshot,
        *,
        read_only: bool = False,
        condstore: bool = False,
        qresync: bool = False,
        recent: RecentTracker | None = None,
    ) -> None:
        self.account = snapshot.account
        self.mailbox = snapshot.mailbox
        self.uidvalidity = snapshot.uidvalidity
        self.uidnext = snapshot.uidnext
        self.read_only = read_only
        self.condstore = condstore or qresync
        self.qresync = qresync
        self.synced_modseq = snapshot.highest_modseq
        self.highest_modseq = snapshot.highest_modseq  # the highest modseq reported
        self._uids: list[int] = []
        self._seen: dict[int, _Seen] = {}
        for membership, keywords in snapshot.members:
            self._uids.append(membership.uid)
            self._seen[membership.uid] = _Seen(membership.email, keywords, membership.modseq)
        self._uids.sort()
        self._pending = _Pending()
        self.keywords: frozenset[str] = frozenset(
            k for _, keywords in snapshot.members for k in keywords if k not in _SYSTEM
        )
        self._unannounced: set[str] = set()  # keywords this session stored itself
        self._tracker = recent
        self._recent: set[int] = set()
        if recent is not None:
            look = recent.peek if read_only else recent.claim
            self._recent = look(self.mailbox, self._uids)

    # -- what the client knows ------------------------------------------------------

    @property
    def exists(self) -> int:
        """The number of messages the client was told of (its ``*``)."""
        return len(self._uids)

    @property
    def recent_count(self) -> int:
        """How many of the announced messages are ``\\Recent`` for this session."""
        return len(self._recent)

    @property
    def uids(self) -> Sequence[int]:
        """The announced UIDs by sequence number (index 0 is message 1)."""
        return self._uids

    @property
    def max_uid(self) -> int:
        """The highest announced UID (0 when the client knows of no message)."""
        return self._uids[-1] if self._uids else 0

    def _index(self, uid: int) -> int:
        return bisect.bisect_left(self._uids, uid)

    def seq_of(self, uid: int) -> int | None:
        """The sequence number of ``uid``, or None if the client does not know it."""
        index = bisect.bisect_left(self._uids, uid)
        return index + 1 if index < len(self._uids) and self._uids[index] == uid else None

    def uid_of(self, seq: int) -> int:
        """The UID of message ``seq`` (1-based); ``IndexError`` when out of range."""
        if not 1 <= seq <= len(self._uids):
            raise IndexError(seq)
        return self._uids[seq - 1]

    def email_of(self, uid: int) -> int:
        """The store email id of an announced UID."""
        return self._seen[uid].email

    def is_expunged(self, uid: int) -> bool:
        """Whether the store removed ``uid`` and the client was not told yet."""
        return uid in self._pending.gone

    def is_recent(self, uid: int) -> bool:
        """Whether ``uid`` is ``\\Recent`` for this session."""
        return uid in self._recent

    @property
    def recent_uids(self) -> frozenset[int]:
        """The announced UIDs that are ``\\Recent`` for this session."""
        return frozenset(self._recent)

    def flags_of(self, uid: int) -> frozenset[str]:
        """The current keywords of ``uid`` as far as the view knows (pending included)."""
        pending = self._pending.flags.get(uid)
        return (pending or self._seen[uid]).flags

    def modseq_of(self, uid: int) -> int:
        """The current MODSEQ of ``uid`` as far as the view knows."""
        pending = self._pending.flags.get(uid)
        return (pending or self._seen[uid]).modseq

    def resolve_seqs(self, numbers: SequenceSet) -> list[int]:
        """UIDs of the messages a sequence set names, ascending; ``*`` is the last one.

        Raises ``ValueError`` for a number above the message count (RFC 9051 §9:
        ``seq-number`` must be a valid message number; the session answers BAD). A
        range ending in ``*`` is cut to the messages there are, so ``1:*`` in an
        empty mailbox names nothing rather than being an error.
        """
        count = len(self._uids)
        out: set[int] = set()
        for (low, high), (a, b) in zip(numbers.resolve(count), numbers.ranges, strict=True):
            if STAR in (a, b):
                low, high = max(low, 1), min(high, count)
            elif high > count:
                raise ValueError(f"message {high} does not exist")
            out.update(self._uids[low - 1 : high])
        return sorted(out)

    def resolve_uids(self, uids: SequenceSet) -> list[int]:
        """The announced UIDs a UID set names, ascending (RFC 9051 §9: ``n:*`` always
        includes the last message; UIDs that do not exist are ignored)."""
        ranges = uids.resolve(self.max_uid)
        out: list[int] = []
        for low, high in sorted(ranges):
            start = bisect.bisect_left(self._uids, low)
            stop = bisect.bisect_right(self._uids, high)
            out.extend(self._uids[start:stop])
        return sorted(set(out)) if len(ranges) > 1 else out

    # -- applying the store's changes -----------------------------------------------

    def apply(self, changes: MailboxChanges, keywords: Mapping[int, frozenset[str]]) -> None:
        """Merge what changed in the store since :attr:`synced_modseq`.

        ``keywords`` maps the email of every changed membership to its keywords. When
        ``changes.cannot_calculate`` is set the expunges are unknown: the caller must
        follow with :meth:`reconcile` and the full list of current UIDs.
        """
        pending = self._pending
        for uid in changes.expunged:
            if uid in self._seen:
                pending.gone.add(uid)
                pending.flags.pop(uid, None)
            else:
                pending.new.pop(uid, None)
        for membership in changes.changed:
            uid = membership.uid
            state = _Seen(
                membership.email, keywords.get(membership.email, frozenset()), membership.modseq
            )
            if uid in self._seen:
                if uid not in pending.gone:
                    pending.flags[uid] = state
            elif uid > self.max_uid:
                pending.new[uid] = state
            if uid >= self.uidnext:
                self.uidnext = uid + 1
        self.synced_modseq = max(self.synced_modseq, changes.highest_modseq)

    def reconcile(self, current: Iterable[int]) -> None:
        """Mark as expunged every announced or pending UID not in ``current``."""
        present = set(current)
        for uid in self._uids:
            if uid not in present:
                self._pending.gone.add(uid)
                self._pending.flags.pop(uid, None)
        for uid in [u for u in self._pending.new if u not in present]:
            del self._pending.new[uid]

    def forget_all(self) -> None:
        """The mailbox is gone: every message is expunged."""
        self.reconcile(())

    @property
    def has_updates(self) -> bool:
        """Whether :meth:`updates` would say anything."""
        return bool(self._pending.new or self._pending.gone or self._pending.flags)

    def reported(self, uid: int, flags: frozenset[str], modseq: int) -> None:
        """The client was just sent ``uid``'s flags and MODSEQ (in a FETCH response).

        A keyword new to the mailbox is left for the next :meth:`updates` to announce
        with a FLAGS response.
        """
        state = self._seen.get(uid)
        if state is None:
            return
        self._unannounced |= {k for k in flags if k not in _SYSTEM} - self.keywords
        self._seen[uid] = _Seen(state.email, flags, modseq)
        pending = self._pending.flags.get(uid)
        if pending is not None and pending.modseq <= modseq:
            del self._pending.flags[uid]  # what was just sent is as new or newer
        self.highest_modseq = max(self.highest_modseq, modseq)

    def updates(self, *, expunge: bool, flags: bool = True) -> list[Update]:
        """The untagged updates to send now, applied to the view as they are returned.

        Args:
            expunge: EXPUNGE/VANISHED may be sent now (a command other than FETCH,
                STORE or SEARCH by sequence number is in progress, RFC 9051 §7.5.1).
            flags: flag changes may be sent now; False keeps them for a later call
                (RFC 5465 §5: NOTIFY SELECTED without FlagChange).
        """
        out: list[Update] = []
        pending = self._pending
        arriving = {
            k
            for state in (*pending.new.values(), *pending.flags.values())
            for k in state.flags
            if k not in _SYSTEM
        } | self._unannounced
        self._unannounced = set()
        if not arriving <= self.keywords:
            self.keywords |= arriving
            out.append(DefinedFlags(self.keywords))
        if expunge and pending.gone:
            gone = pending.gone
            if self.qresync:
                # RFC 7162 §3.2.10.2: VANISHED without EARLIER replaces EXPUNGE.
                out.append(Vanished(SequenceSet.of(gone)))
            else:
                # RFC 9051 §7.5.1: highest first, so each number is still right.
                out.extend(Expunge(self._index(uid) + 1) for uid in sorted(gone, reverse=True))
            self._uids = [uid for uid in self._uids if uid not in gone]
            for uid in gone:
                del self._seen[uid]
                self._recent.discard(uid)
            pending.gone = set()
        if pending.new:
            arrived = sorted(pending.new)
            for uid in arrived:
                self._seen[uid] = pending.new[uid]
            self._uids.extend(arrived)
            pending.new = {}
            out.append(Exists(len(self._uids)))
            if self._tracker is not None:
                look = self._tracker.peek if self.read_only else self._tracker.claim
                self._recent |= look(self.mailbox, arrived)
                out.append(Recent(len(self._recent)))
            self.highest_modseq = max(self.highest_modseq, *(self._seen[u].modseq for u in arrived))
        for uid in sorted(pending.flags) if flags else ():
            state = pending.flags[uid]
            before = self._seen[uid]
            self._seen[uid] = state
            self.highest_modseq = max(self.highest_modseq, state.modseq)
            modseq_only = self.condstore and state.modseq != before.modseq
            if state.flags == before.flags and not modseq_only:
                continue
            out.append(
                FlagsUpdate(
                    seq=self._index(uid) + 1,
                    uid=uid,
                    flags=state.flags,
                    recent=uid in self._recent,
                    modseq=state.modseq if self.condstore else None,
                )
            )
        if flags:
            pending.flags = {}
        if not pending.gone and not pending.new and not pending.flags:
            self.highest_modseq = max(self.highest_modseq, self.synced_modseq)
        return out
