"""SORT and THREAD, with and without UID (RFC 5256 §3; ESORT, RFC 5267 §3).

Implementation notes:

* The search program runs in the store (as for SEARCH); the matches' rows and parsed
  headers are then read in batches and ordered here with RFC 5256's exact keys
  (:mod:`plugins.imap.sorting`) or threaded (:mod:`plugins.imap.threads`).
* ``SORT ... RETURN (...)`` answers one ESEARCH (RFC 5267 §3.1): MIN and MAX are the
  first and last messages in sort order, ALL lists them in sort order with ranges
  only where numbers ascend (RFC 5267 §3.2). Without RETURN: ``* SORT``.
* THREAD numbers are sequence numbers, or UIDs for UID THREAD (RFC 5256 §3).
* CONTEXT=SORT (RFC 5267 §4): ``PARTIAL`` takes its positions in sort order;
  ``UPDATE`` keeps the sorted result up to date with positioned ADDTO/REMOVEFROM
  (:mod:`plugins.imap.search_updates`).
"""

from __future__ import annotations

import json
from typing import Final

from kernel.errors import StoreError
from kernel.mail import from_json
from kernel.store.filters import Filter
from plugins.imap import storeview
from plugins.imap.context import Session
from plugins.imap.errors import Done, store_failure
from plugins.imap.ops.search import (
    check_update_tag,
    esearch_reply,
    keep_updated,
    matching,
    matching_filter,
    search_filter,
)
from plugins.imap.proto import responses as r
from plugins.imap.proto.commands import Sort, SortCriterion, Thread
from plugins.imap.proto.responses import ThreadNode
from plugins.imap.search import uses_modseq
from plugins.imap.sorting import SortInfo, sort_uids
from plugins.imap.threads import ordered_subject, references

__all__ = ["sort", "thread"]

_BATCH: Final = 500


async def _infos(session: Session, uids: list[int]) -> list[SortInfo]:
    view = session.view()
    out: list[SortInfo] = []
    for start in range(0, len(uids), _BATCH):
        batch = uids[start : start + _BATCH]
        try:
            rows = await storeview.rows(
                session.store, view.account, [view.email_of(u) for u in batch]
            )
        except StoreError as exc:
            raise store_failure(exc) from exc
        for uid in batch:
            row = rows.get(view.email_of(uid))
            if row is not None:
                message = from_json(json.loads(row.structure))
                out.append(SortInfo.of(uid, row.size, row.received_at, message))
    return out


async def _sorted(
    session: Session, where: Filter, criteria: tuple[SortCriterion, ...]
) -> list[int]:
    """The announced messages matching ``where``, as UIDs in sort order."""
    infos = await _infos(session, await matching_filter(session, where))
    return sort_uids(infos, [(c.key, c.reverse) for c in criteria])


async def sort(session: Session, cmd: Sort) -> Done:
    """RFC 5256 §3 SORT; RFC 5267 §3 ESORT, §4 CONTEXT=SORT."""
    view = session.view()
    check_update_tag(session, cmd.tag, cmd.returns)
    where = search_filter(session, cmd.search)
    ordered = await _sorted(session, where, cmd.criteria)
    modseq = None
    if uses_modseq(cmd.search):
        modseq = max((view.modseq_of(u) for u in ordered), default=0)
    if cmd.returns is None:
        numbers = ordered if cmd.uid else [view.seq_of(u) or 0 for u in ordered]
        await session.send(r.sort(numbers))
        return Done("SORT completed")
    line = esearch_reply(
        session,
        cmd.tag,
        ordered,
        cmd.returns or ("ALL",),
        uid=cmd.uid,
        modseq=modseq,
        ordered=True,
        partial=cmd.partial,
    )
    if line is not None:
        await session.send(line)
    if "UPDATE" in cmd.returns:
        criteria = cmd.criteria
        await keep_updated(
            session,
            cmd.tag,
            ordered,
            lambda: _sorted(session, where, criteria),
            uid=cmd.uid,
            ordered=True,
        )
    return Done("SORT completed")


def _numbers(session: Session, nodes: list[ThreadNode], uid: bool) -> list[ThreadNode]:
    view = session.view()
    return [
        (n if n is None or uid else view.seq_of(n), _numbers(session, list(c), uid))
        for n, c in nodes
    ]


async def thread(session: Session, cmd: Thread) -> Done:
    """RFC 5256 §3 THREAD."""
    uids = await matching(session, cmd.search)
    infos = await _infos(session, uids)
    algorithm = references if cmd.algorithm == "REFERENCES" else ordered_subject
    forest = _numbers(session, algorithm(infos), cmd.uid)
    # RFC 5256 §5: thread-data = "THREAD" [SP 1*thread-list]
    await session.send(r.thread(forest) if forest else r.data(b"THREAD"))
    return Done("THREAD completed")
