"""SEARCH and UID SEARCH (RFC 9051 §6.4.4; RFC 3501 §6.4.4), with ESEARCH (RFC 4731),
SEARCHRES (RFC 5182) and the MODSEQ criterion (RFC 7162 §3.1.5).

Implementation notes:

* The search program becomes a store filter (:mod:`plugins.imap.search`) evaluated in
  one store query over the selected mailbox; matches the client was not told of yet
  (not announced by EXISTS) are left out.
* IMAP4rev1 without RETURN gets ``* SEARCH``; IMAP4rev2, or any RETURN, gets one
  ``* ESEARCH (TAG ...)`` (RFC 9051 §6.4.4: no options means ALL); MIN, MAX and ALL
  are omitted when nothing matched, COUNT never is (RFC 4731 §3.1).
* ``RETURN (SAVE)`` alone sends no ESEARCH (RFC 5182 §2); what ``$`` holds with MIN
  and MAX follows RFC 9051 §6.4.4.1's table. The saved result is kept as UIDs, so an
  expunge removes its messages by itself.
* A MODSEQ criterion adds the highest MODSEQ of the matches to the response (RFC 7162
  §3.1.6, §3.1.10) and enables CONDSTORE.
* CONTEXT=SEARCH (RFC 5267 §4): results are always in mailbox order; ``CONTEXT`` is
  a hint and changes nothing; ``PARTIAL low:high`` returns the results at those
  positions (``NIL`` when there are none, RFC 5267 §4.4); ``UPDATE`` leaves an update
  context (:mod:`plugins.imap.search_updates`) that later sends ADDTO/REMOVEFROM. A
  tag still in use by an update context is refused with BAD (RFC 5267 §4.3).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

from kernel.errors import StoreError
from kernel.store import filters as f
from plugins.imap.context import Session
from plugins.imap.errors import CommandFailed, Done, bad, store_failure
from plugins.imap.proto import codes
from plugins.imap.proto import responses as r
from plugins.imap.proto.commands import CancelUpdate, Search, SearchReturn
from plugins.imap.proto.search_keys import SearchKey
from plugins.imap.proto.sequence import SequenceSet
from plugins.imap.search import SearchContext, to_filter, uses_modseq
from plugins.imap.search_updates import UpdateContext, ordered_set, stamp_of

__all__ = [
    "cancel_update",
    "check_update_tag",
    "esearch_reply",
    "keep_updated",
    "matching",
    "matching_filter",
    "search",
    "search_filter",
]


def search_filter(session: Session, criteria: SearchKey) -> f.Filter:
    """The store filter of a search program in the selected mailbox."""
    view = session.view()
    if uses_modseq(criteria):
        session.enabled.add("CONDSTORE")  # RFC 7162 §3.1: CONDSTORE-enabling
    context = SearchContext(
        view=view, saved=session.saved, tz=session.config.timezone, now=time.time()
    )
    return to_filter(criteria, context)


async def matching(
    session: Session, criteria: SearchKey, sort: Sequence[f.Comparator] = ()
) -> list[int]:
    """UIDs of the announced messages matching ``criteria``, in UID (or ``sort``) order."""
    return await matching_filter(session, search_filter(session, criteria), sort)


async def matching_filter(
    session: Session, where: f.Filter, sort: Sequence[f.Comparator] = ()
) -> list[int]:
    """UIDs of the announced messages matching the store filter ``where``."""
    view = session.view()
    try:
        found = await session.store.emails.search(view.account, view.mailbox, where, sort)
    except StoreError as exc:
        raise store_failure(exc) from exc
    return [uid for uid, _ in found if view.seq_of(uid) is not None]


def esearch_reply(
    session: Session,
    tag: str,
    uids: list[int],
    returns: tuple[SearchReturn, ...],
    *,
    uid: bool,
    modseq: int | None,
    ordered: bool = False,
    partial: tuple[int, int] | None = None,
) -> bytes | None:
    """The ESEARCH line for ``uids`` (None for SAVE alone), updating ``$`` on SAVE."""
    view = session.view()
    numbers = uids if uid else [view.seq_of(u) or 0 for u in uids]
    wanted = set(returns)
    # RFC 5267 §3.1: with SORT, MIN and MAX are the first and last in sort order.
    first = (uids[0] if ordered else min(uids)) if uids else None
    last = (uids[-1] if ordered else max(uids)) if uids else None
    if "SAVE" in wanted:
        if wanted & {"ALL", "COUNT"} or not wanted & {"MIN", "MAX"}:
            session.saved = frozenset(uids)
        else:
            keep = set()
            if first is not None and "MIN" in wanted:
                keep.add(first)
            if last is not None and "MAX" in wanted:
                keep.add(last)
            session.saved = frozenset(keep)
        if wanted == {"SAVE"}:
            return None

    def number(u: int) -> int:
        return u if uid else view.seq_of(u) or 0

    results: list[tuple[str, int | SequenceSet]] = []
    for option in returns:
        if option == "MIN" and first is not None:
            results.append(("MIN", number(first)))
        elif option == "MAX" and last is not None:
            results.append(("MAX", number(last)))
        elif option == "ALL" and numbers:
            results.append(("ALL", ordered_set(numbers) if ordered else SequenceSet.of(numbers)))
        elif option == "COUNT":
            results.append(("COUNT", len(numbers)))
        elif option == "PARTIAL" and partial is not None:
            # RFC 5267 §4.4: the range asked for, then the results in it, or NIL.
            low, high = partial
            chosen = numbers[low - 1 : high]
            found = ordered_set(chosen) if ordered else SequenceSet.of(chosen)
            value = b"%d:%d %s" % (low, high, str(found).encode() if chosen else b"NIL")
            results.append(("PARTIAL", b"(" + value + b")"))
    if modseq is not None and numbers:
        results.append(("MODSEQ", modseq))
    return r.esearch(results, tag=tag, uid=uid)


def check_update_tag(session: Session, tag: str, returns: tuple[str, ...] | None) -> None:
    """RFC 5267 §4.3: UPDATE under a tag an update context still uses is BAD."""
    if returns is not None and "UPDATE" in returns and tag in session.search_updates:
        raise bad("Tag reuse")


async def keep_updated(
    session: Session,
    tag: str,
    uids: list[int],
    run: Callable[[], Awaitable[list[int]]],
    *,
    uid: bool,
    ordered: bool,
) -> None:
    """Start an update context for the searching command ``tag`` (RFC 5267 §4.3)."""
    context = UpdateContext(tag, uid, ordered, run, list(uids), stamp_of(session.view()))
    if not session.search_updates.add(context):
        # RFC 5267 §4.3.1: the other return options are still honoured.
        refused = r.code(codes.NOUPDATE, r.string(tag))
        await session.send(r.untagged("NO", "Too many update contexts", code=refused))


async def cancel_update(session: Session, cmd: CancelUpdate) -> Done:
    """RFC 5267 §4.3.5: no more updates for the named searching commands."""
    session.search_updates.cancel(cmd.tags)
    return Done("CANCELUPDATE completed")


async def search(session: Session, cmd: Search) -> Done:
    """RFC 9051 §6.4.4."""
    view = session.view()
    check_update_tag(session, cmd.tag, cmd.returns)
    try:
        where = search_filter(session, cmd.criteria)
        uids = await matching_filter(session, where)
    except CommandFailed:
        if cmd.returns is not None and "SAVE" in cmd.returns:
            session.saved = frozenset()  # RFC 9051 §6.4.4.1: a failed SAVE empties $
        raise
    modseq = None
    if uses_modseq(cmd.criteria):
        modseq = max((view.modseq_of(u) for u in uids), default=0)
    returns = cmd.returns
    if returns is None and not session.rev2:
        numbers = uids if cmd.uid else [view.seq_of(u) or 0 for u in uids]
        await session.send(r.search(numbers, modseq=modseq if numbers else None))
        return Done("SEARCH completed")
    line = esearch_reply(
        session,
        cmd.tag,
        uids,
        returns or ("ALL",),
        uid=cmd.uid,
        modseq=modseq,
        partial=cmd.partial,
    )
    if line is not None:
        await session.send(line)
    if returns is not None and "UPDATE" in returns:
        await keep_updated(
            session,
            cmd.tag,
            uids,
            lambda: matching_filter(session, where),
            uid=cmd.uid,
            ordered=False,
        )
    return Done("SEARCH completed")
