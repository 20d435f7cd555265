"""NOTIFY (RFC 5465), the sans-IO part: checking a NOTIFY SET, and turning two
snapshots of the mailboxes a session watches into the unsolicited responses owed.

The trio part (reading the store, waiting for change events, writing between
commands) is :mod:`plugins.imap.notifier`; the command is :mod:`plugins.imap.ops.notify`.

Implementation notes:

* :func:`compile_notify` applies the rules between events that the grammar cannot
  express: BAD for a MessageNew without MessageExpunge (or the reverse), for FlagChange
  or AnnotationChange without both (RFC 5465 §5), for a second SELECTED group or a
  non-message event under SELECTED (§6.1), for fetch attributes outside SELECTED (§8);
  then NO [BADEVENT (supported events)] for an event we do not support (§3.1), which
  is AnnotationChange (no per-message annotations: no ANNOTATE extension) and any
  ``event-ext``.
* ``inboxes`` is ``personal`` (RFC 5465 §6.3: Sieve may file a delivery into any
  mailbox, so the set of inboxes cannot be computed).
* A mailbox the user can LIST but not read is not watched, and NOTIFY SET names it in
  ``* LIST (\\NoAccess)`` (RFC 5465 §3.1).
* Message events of another mailbox become ``* STATUS`` (§5.1-§5.3): UIDNEXT and
  MESSAGES when either changed, HIGHESTMODSEQ as well with CONDSTORE, UIDVALIDITY when
  it changed; a flag change alone gives HIGHESTMODSEQ and UIDVALIDITY with CONDSTORE,
  and UNSEEN when the number of unseen messages changed (§5.1 MAY), else nothing.
  A mailbox that starts being watched (unselected, newly subscribed) is a baseline,
  except when read access was just granted: that restarts monitoring with a STATUS
  (§5.9).
* Mailbox events become ``* LIST`` (§5.4, §5.5): a new mailbox and a deleted one
  (``\\NonExistent``) each with their direct parent; a renamed one with
  ``("OLDNAME" (old))``, its children (renamed along) not mentioned; a subscription
  change with the mailbox's attributes, ``\\Subscribed`` if and only if subscribed.
* The selected mailbox's message events come only from the SELECTED group (§3.1),
  even if another group names it too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, final

from plugins.imap.names import DELIMITER
from plugins.imap.proto import codes
from plugins.imap.proto import responses as r
from plugins.imap.proto.commands import Notify
from plugins.imap.proto.fetch_items import FetchItem

__all__ = [
    "MESSAGE_EVENTS",
    "SUPPORTED",
    "BoxState",
    "NotifyError",
    "Spec",
    "Watch",
    "compile_notify",
    "diff",
    "initial",
    "metadata_names",
]

#: RFC 5465 §5 events this server reports, in the order BADEVENT lists them.
SUPPORTED: Final = (
    "MessageNew",
    "MessageExpunge",
    "FlagChange",
    "MailboxName",
    "SubscriptionChange",
    "MailboxMetadataChange",
    "ServerMetadataChange",
)
MESSAGE_EVENTS: Final = frozenset(
    {"MessageNew", "MessageExpunge", "FlagChange", "AnnotationChange"}
)
_NONE: Final[frozenset[str]] = frozenset()


@final
class NotifyError(Exception):
    """A NOTIFY SET the server refuses: ``status`` is ``BAD`` or ``NO``."""

    def __init__(self, status: str, text: str, code: bytes | None = None) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.code = code


@final
@dataclass(frozen=True, slots=True)
class Watch:
    """One non-selected event group: its filter, mailbox names (Unicode) and events."""

    filter: str
    mailboxes: tuple[str, ...]
    events: frozenset[str]

    def matches(self, box: BoxState, account: int) -> bool:
        """Whether this group's filter covers ``box`` (RFC 5465 §6.2-§6.6)."""
        if self.filter in ("PERSONAL", "INBOXES"):
            return box.owner == account  # RFC 5465 §6.3: inboxes as personal
        if self.filter == "SUBSCRIBED":
            return box.subscribed
        if self.filter == "MAILBOXES":
            return box.name in self.mailboxes  # RFC 5465 §6.6: no wildcards
        return any(box.name == m or box.name.startswith(m + DELIMITER) for m in self.mailboxes)


@final
@dataclass(frozen=True, slots=True)
class Spec:
    """A checked NOTIFY SET.

    Attributes:
        selected: the SELECTED/SELECTED-DELAYED group's events (empty: none).
        delayed: SELECTED-DELAYED: expunges wait for a command that allows them.
        fetch: MessageNew's fetch attributes for the selected mailbox.
        watches: the other groups.
        status: ``SET STATUS``.
    """

    selected: frozenset[str] = _NONE
    delayed: bool = False
    fetch: tuple[FetchItem, ...] = ()
    watches: tuple[Watch, ...] = ()
    status: bool = False

    @property
    def server_metadata(self) -> bool:
        """ServerMetadataChange was asked for (RFC 5465 §5.7)."""
        return any("ServerMetadataChange" in w.events for w in self.watches)

    def events_for(self, box: BoxState, account: int, selected: int | None) -> frozenset[str]:
        """The events to report on ``box`` (a non-selected view of it)."""
        if "r" not in box.rights or "l" not in box.rights:
            return _NONE  # RFC 5465 §5: every event needs l and r
        out: set[str] = set()
        for watch in self.watches:
            if watch.matches(box, account):
                out |= watch.events
        if box.id == selected:
            out -= MESSAGE_EVENTS  # RFC 5465 §3.1: SELECTED overrides
        return frozenset(out)

    def no_access(self, box: BoxState, account: int) -> bool:
        """``box`` is listable, named by some group, and not readable (RFC 5465 §3.1)."""
        return (
            "l" in box.rights
            and "r" not in box.rights
            and any(w.events and w.matches(box, account) for w in self.watches)
        )


def _check_events(names: list[str], *, selected: bool) -> None:
    given = set(names)
    if selected and given - MESSAGE_EVENTS - set(_unsupported(names)):
        # RFC 5465 §6.1: only message events apply to the selected mailbox.
        raise NotifyError("BAD", "Only message events are allowed for SELECTED")
    if ("MessageNew" in given) != ("MessageExpunge" in given):
        # RFC 5465 §5: MessageNew and MessageExpunge go together.
        raise NotifyError("BAD", "MessageNew and MessageExpunge must be given together")
    if given & {"FlagChange", "AnnotationChange"} and "MessageNew" not in given:
        raise NotifyError("BAD", "FlagChange and AnnotationChange need MessageNew")


def _unsupported(names: Iterable[str]) -> list[str]:
    return [n for n in names if n not in SUPPORTED]


def compile_notify(cmd: Notify, decode: Callable[[str], str]) -> Spec:
    """Check ``NOTIFY SET`` (``cmd.groups`` is not None) and compile it.

    Args:
        cmd: the parsed command.
        decode: mailbox name as sent to Unicode; raises ValueError when invalid.

    Raises:
        NotifyError: BAD for rule violations, NO [BADEVENT] for unsupported events.
    """
    assert cmd.groups is not None
    spec = Spec(status=cmd.status)
    unsupported: list[str] = []
    watches: list[Watch] = []
    seen_selected = False
    for group in cmd.groups:
        names = [e.name for e in group.events]
        is_selected = group.filter in ("SELECTED", "SELECTED-DELAYED")
        _check_events(names, selected=is_selected)
        unsupported += _unsupported(names)
        fetch = tuple(f for e in group.events for f in e.fetch)
        if is_selected:
            if seen_selected:
                raise NotifyError("BAD", "Only one SELECTED or SELECTED-DELAYED group")  # §6.1
            seen_selected = True
            spec = Spec(
                selected=frozenset(names),
                delayed=group.filter == "SELECTED-DELAYED",
                fetch=fetch,
                status=cmd.status,
            )
            continue
        if fetch:
            # RFC 5465 §8: the fetch-att list only with SELECTED/SELECTED-DELAYED.
            raise NotifyError("BAD", "Fetch attributes are only allowed for SELECTED")
        try:
            mailboxes = tuple(decode(m) for m in group.mailboxes)
        except ValueError:
            raise NotifyError("BAD", "Invalid mailbox name") from None
        watches.append(Watch(group.filter, mailboxes, frozenset(names)))
    if unsupported:
        # RFC 5465 §3.1: NO, not BAD, listing every event the server supports.
        code = b"%s %s" % (codes.BADEVENT.encode(), r.plist(e.encode() for e in SUPPORTED))
        raise NotifyError("NO", "Unsupported NOTIFY event", code)
    return Spec(spec.selected, spec.delayed, spec.fetch, tuple(watches), cmd.status)


@final
@dataclass(frozen=True, slots=True)
class BoxState:
    """One mailbox the user sees, as far as NOTIFY cares.

    ``messages`` and ``unseen`` are None when they were not read (no message event
    is watched on the mailbox); ``attrs`` are its LIST attributes without
    ``\\Subscribed``.
    """

    id: int
    name: str
    owner: int
    parent: int | None
    rights: str
    subscribed: bool
    uidvalidity: int
    uidnext: int
    modseq: int
    attrs: tuple[str, ...] = ()
    messages: int | None = None
    unseen: int | None = None


@dataclass(slots=True)
class _Out:
    lines: list[bytes] = field(default_factory=list)
    listed: set[str] = field(default_factory=set)


def _list(out: _Out, box: BoxState, *, utf8: bool, old: str | None = None) -> None:
    if box.name in out.listed:
        return
    out.listed.add(box.name)
    attrs = [*box.attrs, *(["\\Subscribed"] if box.subscribed else [])]
    extended = [("OLDNAME", r.plist([r.mailbox(old, utf8=utf8)]))] if old is not None else []
    out.lines.append(r.list_mailbox(attrs, DELIMITER, box.name, utf8=utf8, extended=extended))


def _gone(out: _Out, box: BoxState, *, utf8: bool) -> None:
    if box.name in out.listed:
        return
    out.listed.add(box.name)
    out.lines.append(r.list_mailbox(["\\NonExistent"], DELIMITER, box.name, utf8=utf8))


def initial(
    spec: Spec,
    boxes: Mapping[int, BoxState],
    account: int,
    selected: int | None,
    *,
    condstore: bool,
    utf8: bool,
) -> list[bytes]:
    """What NOTIFY SET answers before its OK: ``\\NoAccess`` LISTs, and with STATUS a
    STATUS for each other mailbox with message events (RFC 5465 §3.1)."""
    out: list[bytes] = []
    for box in boxes.values():
        if spec.no_access(box, account):
            out.append(r.list_mailbox(["\\NoAccess"], DELIMITER, box.name, utf8=utf8))
    if not spec.status:
        return out
    for box in boxes.values():
        events = spec.events_for(box, account, selected)
        if not events & MESSAGE_EVENTS:
            continue
        items: list[tuple[str, int | bytes]] = []
        if "MessageNew" in events:
            items += [("MESSAGES", box.messages or 0), ("UIDNEXT", box.uidnext)]
        items.append(("UIDVALIDITY", box.uidvalidity))
        if "FlagChange" in events and condstore:
            items.append(("HIGHESTMODSEQ", box.modseq))
        out.append(r.status(box.name, items, utf8=utf8))
    return out


def _status(
    old: BoxState, new: BoxState, events: frozenset[str], *, condstore: bool
) -> list[tuple[str, int | bytes]]:
    """The STATUS items owed for a change of ``old`` into ``new`` (RFC 5465 §5.1-§5.3)."""
    items: list[tuple[str, int | bytes]] = []
    if old.messages is None and "r" in old.rights:
        # Not watched before (it was selected, or outside the filters): a baseline.
        # Read access just granted restarts monitoring with a STATUS (RFC 5465 §5.9).
        return items
    counted = old.messages != new.messages or old.uidnext != new.uidnext
    if "MessageNew" in events and counted:
        items += [("UIDNEXT", new.uidnext), ("MESSAGES", new.messages or 0)]
        if condstore:
            items.append(("HIGHESTMODSEQ", new.modseq))
    elif "FlagChange" in events and old.modseq != new.modseq:
        if condstore:
            items += [("HIGHESTMODSEQ", new.modseq), ("UIDVALIDITY", new.uidvalidity)]
        if old.unseen != new.unseen and new.unseen is not None:
            items.append(("UNSEEN", new.unseen))
    changed = events & MESSAGE_EVENTS and old.uidvalidity != new.uidvalidity
    if changed and not any(name == "UIDVALIDITY" for name, _ in items):
        items.append(("UIDVALIDITY", new.uidvalidity))  # RFC 5465 §5.1
    return items


def diff(
    spec: Spec,
    old: Mapping[int, BoxState],
    new: Mapping[int, BoxState],
    account: int,
    selected: int | None,
    *,
    condstore: bool,
    utf8: bool,
) -> list[bytes]:
    """The unsolicited responses for what changed between two snapshots."""
    out = _Out()
    status: list[bytes] = []

    def parent_of(boxes: Mapping[int, BoxState], box: BoxState) -> BoxState | None:
        return boxes.get(box.parent) if box.parent is not None else None

    def renamed_along(box: BoxState) -> bool:
        # RFC 5465 §5.4: children renamed with their parent get no event of their own.
        parent_new = parent_of(new, box)
        parent_old = parent_of(old, box)
        return (
            parent_new is not None and parent_old is not None and parent_new.name != parent_old.name
        )

    for box_id, box in new.items():
        before = old.get(box_id)
        events = spec.events_for(box, account, selected)
        if before is None:
            if "MailboxName" in events:
                _list(out, box, utf8=utf8)
                parent = parent_of(new, box)
                if parent is not None and "MailboxName" in spec.events_for(
                    parent, account, selected
                ):
                    _list(out, parent, utf8=utf8)
            continue
        was = spec.events_for(before, account, selected)
        if before.name != box.name and "MailboxName" in events | was and not renamed_along(box):
            _list(out, box, utf8=utf8, old=before.name)
        if before.subscribed != box.subscribed and "SubscriptionChange" in events | was:
            _list(out, box, utf8=utf8)
        items = _status(before, box, events, condstore=condstore)
        if items:
            status.append(r.status(box.name, items, utf8=utf8))
    for box_id, before in old.items():
        if box_id in new:
            continue
        if "MailboxName" in spec.events_for(before, account, selected):
            _gone(out, before, utf8=utf8)
            parent = parent_of(new, before)
            if parent is not None and "MailboxName" in spec.events_for(parent, account, selected):
                _list(out, parent, utf8=utf8)
    return out.lines + status


def metadata_names(name: str, entries: Iterable[str], *, utf8: bool) -> bytes:
    """``* METADATA "INBOX" /shared/comment`` (RFC 5464 §4.4.2, unsolicited form)."""
    return b"* METADATA %s %s\r\n" % (
        r.mailbox(name, utf8=utf8),
        b" ".join(r.astring(e) for e in entries),
    )
