"""Search and sort results kept up to date for the client (RFC 5267 §4.3).

A ``SEARCH``/``SORT`` with ``RETURN (UPDATE ...)`` leaves an update context behind:
the searching command's tag, whether it numbers by UID, whether it is sorted, a way
to run it again, and the result the client holds (as UIDs, in the requested order).
Whenever the session sends the selected mailbox's updates, each context whose mailbox
moved is run again and the difference goes out as ``ADDTO`` / ``REMOVEFROM`` in an
untagged ``ESEARCH`` carrying the command's tag.

Implementation notes:

* Re-running is the whole strategy (RFC 5267 §4.5 allows any, as long as the answers
  are those of an unmodified searching command): a context is re-run when the view's
  modseq or its message count changed since the last run, so a change by this session
  (STORE) and one by another session or a delivery are handled alike.
* The search program was turned into a store filter when the command ran, so message
  numbers and ``$`` in it keep the meaning they had then (RFC 5267 §4.3: "evaluated at
  the time the command is received").
* Ordering (RFC 5267 §4.3.3, §4.3.4): ``REMOVEFROM`` goes out before the EXPUNGE or
  VANISHED of the same update and ``ADDTO`` after the EXISTS, so the message numbers
  in each are valid when the client reads them. The session passes the UIDs the
  client knew before the update, to number the removals.
* SEARCH contexts use context position 0 and sets in mailbox order (RFC 5267 §4.3.3:
  RECOMMENDED for the shortest form). SORT contexts give real positions: removals
  run by run from the front (each position counted after the runs removed before),
  then additions run by run from the front, so the client's list follows the sort
  order after every pair. Sort keys never change for a message, so the kept results
  stay in order; were that ever not so, the whole result is replaced.
* At most :data:`MAX_CONTEXTS` contexts per session; past that a searching command
  gets ``* NO [NOUPDATE "tag"]`` and its other return options are still honoured
  (RFC 5267 §4.3.1). Contexts end with CANCELUPDATE or when the mailbox is closed
  (RFC 5267 §4.3).
"""

from __future__ import annotations

import bisect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, final

from plugins.imap.proto import responses as r
from plugins.imap.proto.sequence import SequenceSet
from plugins.imap.selected import SelectedMailbox

__all__ = [
    "MAX_CONTEXTS",
    "Pair",
    "UpdateContext",
    "UpdateContexts",
    "ordered_set",
    "sorted_changes",
    "stamp_of",
]

#: Update contexts one session may hold (RFC 5267 §4.3.1: at least one).
MAX_CONTEXTS: Final = 16

#: ``(context position, results in requested order)``: one ADDTO/REMOVEFROM pair.
Pair = tuple[int, list[int]]


def ordered_set(numbers: Iterable[int]) -> SequenceSet:
    """A sequence set keeping the given order, ranges only where numbers ascend by one
    (ESORT's ALL, RFC 5267 §3.2; ADDTO/REMOVEFROM in a sorted context)."""
    ranges: list[tuple[int, int]] = []
    for n in numbers:
        if ranges and ranges[-1][1] == n - 1 and ranges[-1][0] <= n - 1:
            ranges[-1] = (ranges[-1][0], n)
        else:
            ranges.append((n, n))
    return SequenceSet(tuple(ranges))


def sorted_changes(old: Sequence[int], new: Sequence[int]) -> tuple[list[Pair], list[Pair]]:
    """The REMOVEFROM and ADDTO pairs that turn ``old`` into ``new`` (RFC 5267 §4.3.3,
    §4.3.4), both in requested order, positions 1-based, applied in order."""
    new_set, old_set = set(new), set(old)
    kept_old = [u for u in old if u in new_set]
    if kept_old != [u for u in new if u in old_set]:
        # The kept results moved: replace everything (never happens with fixed keys).
        return ([(1, list(old))] if old else []), ([(1, list(new))] if new else [])
    removals: list[Pair] = []
    kept = 0
    i = 0
    while i < len(old):
        if old[i] in new_set:
            kept += 1
            i += 1
            continue
        j = i
        while j < len(old) and old[j] not in new_set:
            j += 1
        removals.append((kept + 1, list(old[i:j])))
        i = j
    additions: list[Pair] = []
    i = 0
    while i < len(new):
        if new[i] in old_set:
            i += 1
            continue
        j = i
        while j < len(new) and new[j] not in old_set:
            j += 1
        additions.append((i + 1, list(new[i:j])))
        i = j
    return removals, additions


@final
@dataclass(slots=True)
class UpdateContext:
    """One searching command whose result the client keeps (RFC 5267 §4.3).

    Attributes:
      tag: the searching command's tag (the ESEARCH correlator).
      uid: UID SEARCH / UID SORT: updates carry UIDs, else message numbers.
      ordered: a SORT (positions in sort order), else a SEARCH (position 0).
      run: runs the searching command again: the matching announced UIDs in the
        requested order.
      results: what the client holds, as UIDs in the requested order.
      stamp: the view's (modseq, message count) when ``results`` was computed.
    """

    tag: str
    uid: bool
    ordered: bool
    run: Callable[[], Awaitable[list[int]]]
    results: list[int]
    stamp: tuple[int, int]


def stamp_of(view: SelectedMailbox) -> tuple[int, int]:
    """What must change in the view before a context is run again."""
    return view.synced_modseq, view.exists


@final
class UpdateContexts:
    """A session's update contexts, by tag."""

    def __init__(self) -> None:
        self._by_tag: dict[str, UpdateContext] = {}

    def __contains__(self, tag: str) -> bool:
        return tag in self._by_tag

    def __len__(self) -> int:
        return len(self._by_tag)

    def add(self, context: UpdateContext) -> bool:
        """Keep ``context``; False when the session has :data:`MAX_CONTEXTS` already."""
        if len(self._by_tag) >= MAX_CONTEXTS:
            return False
        self._by_tag[context.tag] = context
        return True

    def cancel(self, tags: Iterable[str]) -> None:
        """CANCELUPDATE (RFC 5267 §4.3.5); unknown tags are ignored."""
        for tag in tags:
            self._by_tag.pop(tag, None)

    def clear(self) -> None:
        """The mailbox was closed: updates cease (RFC 5267 §4.3)."""
        self._by_tag.clear()

    async def refresh(
        self, view: SelectedMailbox, before: Sequence[int]
    ) -> tuple[list[bytes], list[bytes]]:
        """Run the stale contexts again; returns the ESEARCH lines to send before the
        view's updates (REMOVEFROM) and after them (ADDTO).

        Args:
            view: the selected mailbox, its updates already applied.
            before: the announced UIDs before those updates (numbers removals).
        """
        head: list[bytes] = []
        tail: list[bytes] = []
        now = stamp_of(view)
        for context in list(self._by_tag.values()):
            if context.stamp == now:
                continue
            results = await context.run()
            if self._by_tag.get(context.tag) is not context:
                continue  # cancelled meanwhile
            old, context.results, context.stamp = context.results, results, now
            if context.ordered:
                removals, additions = sorted_changes(old, results)
            else:
                gone = sorted(set(old) - set(results))
                came = sorted(set(results) - set(old))
                removals = [(0, gone)] if gone else []
                additions = [(0, came)] if came else []
            if removals and not context.uid:
                # A message whose EXPUNGE already went out has no number left.
                known = set(before)
                removals = [(p, [u for u in run if u in known]) for p, run in removals]
                removals = [(p, run) for p, run in removals if run]
            if removals:
                numbers = _numbering(before, context.uid)
                head.append(_line(context, "REMOVEFROM", removals, numbers))
            if additions:
                numbers = _numbering(view.uids, context.uid)
                tail.append(_line(context, "ADDTO", additions, numbers))
        return head, tail


def _numbering(uids: Sequence[int], uid: bool) -> Callable[[int], int]:
    """UID to what the client is shown: the UID, or its number among ``uids``."""
    if uid:
        return lambda u: u
    return lambda u: bisect.bisect_left(uids, u) + 1


def _line(
    context: UpdateContext, name: str, pairs: list[Pair], number: Callable[[int], int]
) -> bytes:
    """``* ESEARCH (TAG "t") [UID] ADDTO (pos set pos set)``."""
    parts = []
    for position, uids in pairs:
        numbers = [number(u) for u in uids]
        chosen = ordered_set(numbers) if context.ordered else SequenceSet.of(numbers)
        parts.append(b"%d %s" % (position, str(chosen).encode("ascii")))
    return r.esearch([(name, b"(" + b" ".join(parts) + b")")], tag=context.tag, uid=context.uid)
