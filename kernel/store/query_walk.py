"""Paging a JMAP Email/query without reading every match (collapsed threads, anchors).

Implementation notes:

- The walk runs inside one store read (a snapshot on both backends), over
  :meth:`~kernel.store.interfaces.ReadOps.query_emails` with ``LIMIT``/``OFFSET``: the
  sorted matches are read in chunks that grow geometrically, so a page near the top
  costs about its own size, and a page at the end (or an anchor that is not there)
  costs about what one full query costs.
- The results are the same as collapsing and paging the full sorted list, by
  construction: the first occurrences of threads in a prefix of the list are the
  first results of the collapsed list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import final

from kernel.errors import NoSuchItem
from kernel.store.filters import Comparator, Filter
from kernel.store.interfaces import ReadOps

__all__ = ["PageWalk"]

#: A walk's first chunk reads this many rows beyond the page (and a quarter more);
#: each further chunk reads this many times the rows read so far, minus one.
_WALK_SLACK = 32
_WALK_GROWTH = 4


@final
class PageWalk:
    """One page of a query's results (JMAP Email/query with ``collapseThreads`` or an
    ``anchor``), read from the sorted matches in growing chunks.

    With ``collapse`` the results are the first email of each thread in sort order
    (RFC 8621 §4.4.3), so the first N results are the first N distinct threads of a
    prefix of the sorted matches: the page is known once a prefix holds ``start +
    limit`` of them, and the rest is never read. An anchor's index (RFC 8620 §5.5) is
    known once it turns up. A page far down, or an anchor not in the results, reads
    everything, as a full query would; every chunk runs in the same read (snapshot).
    """

    def __init__(self, collapse: bool, limit: int) -> None:
        self.collapse = collapse
        self.limit = limit
        self.start: int | None = None  # known up front, or once the anchor is met
        self.anchor: int | None = None
        self.anchor_offset = 0
        self.ids: list[int] = []
        self._threads: set[int] = set()

    @property
    def position(self) -> int:
        assert self.start is not None
        return self.start

    def run(self, ops: ReadOps, account: int, where: Filter, order: Sequence[Comparator]) -> None:
        """Read until the page is known. Raises NoSuchItem for an anchor not in the results."""
        offset = 0
        chunk = (self.start or 0) + self.limit
        chunk += chunk // 4 + _WALK_SLACK + 1
        while True:
            rows = ops.query_emails(account, where, order, limit=chunk, offset=offset)
            self._take(rows)
            offset += len(rows)
            if self.start is not None and len(self.ids) >= self.start + self.limit:
                return
            if len(rows) < chunk:
                break
            chunk = offset * (_WALK_GROWTH - 1)
        if self.start is None:
            raise NoSuchItem(f"anchor {self.anchor} is not in the results")
        self.start = min(self.start, len(self.ids))

    def _take(self, rows: Sequence[tuple[int, int, int]]) -> None:
        for email, thread, _uid in rows:
            if self.collapse:
                if thread in self._threads:
                    continue
                self._threads.add(thread)
            if email == self.anchor and self.start is None:
                self.start = max(0, len(self.ids) + self.anchor_offset)
            self.ids.append(email)

    def page(self) -> list[int]:
        start = self.position
        return self.ids[start : start + self.limit]
