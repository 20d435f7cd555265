"""SORT, THREAD and their UID forms (RFC 5256 §3 and §5; ESORT RETURN of RFC 5267 §3;
DISPLAYFROM/DISPLAYTO of RFC 5957 §3).

    sort            = ["UID" SP] "SORT" [search-return-opts] SP sort-criteria SP
                      search-criteria
    sort-criteria   = "(" sort-criterion *(SP sort-criterion) ")"
    sort-criterion  = ["REVERSE" SP] sort-key
    sort-key        = "ARRIVAL" / "CC" / "DATE" / "FROM" / "SIZE" /
                      "SUBJECT" / "TO" / "DISPLAYFROM" / "DISPLAYTO"
    thread          = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
    thread-alg      = "ORDEREDSUBJECT" / "REFERENCES" / thread-alg-ext
    search-criteria = charset 1*(SP search-key)

Only the two algorithms of RFC 5256 are accepted (an unknown ``thread-alg-ext`` is BAD).
"""

from __future__ import annotations

from typing import Final, Literal, cast

from plugins.imap.proto.commands import SearchReturn, Sort, SortCriterion, SortKey, Thread
from plugins.imap.proto.parser.core import Reader
from plugins.imap.proto.parser.search import charset, search_keys, search_returns

__all__ = ["parse_sort", "parse_thread"]

_SORT_KEYS: Final = frozenset(
    {"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"}
)
_ALGORITHMS: Final = frozenset({"REFERENCES", "ORDEREDSUBJECT"})


def _criterion(r: Reader) -> SortCriterion:
    reverse = r.take_keyword("REVERSE")
    if reverse:
        r.sp()
    key = r.keyword()
    if key not in _SORT_KEYS:
        raise r.error(f"unknown sort key {key}")
    return SortCriterion(cast(SortKey, key), reverse)


def parse_sort(r: Reader, tag: str, uid: bool) -> Sort:
    """``[UID] SORT [RETURN (...)] (criteria) charset keys...``."""
    r.sp()
    returns: tuple[SearchReturn, ...] | None = None
    partial = None
    if r.take_keyword("RETURN"):
        r.sp()
        returns, partial = search_returns(r)
        r.sp()
    criteria = tuple(r.paren_list(lambda: _criterion(r)))
    r.sp()
    cs = charset(r)
    r.sp()
    return Sort(tag, criteria, cs, search_keys(r), returns, uid, partial)


def parse_thread(r: Reader, tag: str, uid: bool) -> Thread:
    """``[UID] THREAD algorithm charset keys...``."""
    r.sp()
    algorithm = r.keyword()
    if algorithm not in _ALGORITHMS:
        raise r.error(f"unknown THREAD algorithm {algorithm}")
    r.sp()
    cs = charset(r)
    r.sp()
    keys = search_keys(r)
    return Thread(tag, cast(Literal["REFERENCES", "ORDEREDSUBJECT"], algorithm), cs, keys, uid)
