"""IMAP SEARCH keys translated into the store's filter model.

:func:`to_filter` turns a parsed search program (:mod:`plugins.imap.proto.search_keys`)
into a :mod:`kernel.store.filters` tree that ``kernel.store.emails.search`` evaluates
in one query, given the session's view of the selected mailbox (sequence numbers,
the saved result ``$``, ``\\Recent``).

Implementation notes:

* RFC 9051 §6.4.4: text keys match case-insensitive substrings; the store keeps
  decoded (RFC 2047), case-folded texts (:mod:`kernel.store.email_text`), so
  ``FROM``, ``TO``, ``CC``, ``BCC`` and ``SUBJECT`` look in the decoded fields,
  ``BODY`` in the text of the ``text/*`` parts, ``TEXT`` in every header field and
  the body, and ``HEADER`` in one named field (an empty string: the field exists).
  An empty search string matches every message (it is a substring of any text).
* Dates (``BEFORE``/``ON``/``SINCE``, RFC 9051 §6.4.4) are calendar days in the
  server's time zone, compared with INTERNALDATE; ``OLDER``/``YOUNGER`` (RFC 5032)
  count seconds back from ``now``.
* ``SENTBEFORE``/``SENTON``/``SENTSINCE`` compare the Date header field's day.
  deviation(RFC 9051 §6.4.4): the store keeps the Date as an instant without its
  zone, so its day is taken in the server's time zone, not the message's own; a
  message without a Date field is compared by its INTERNALDATE.
* ``LARGER n`` is size > n, ``SMALLER n`` size < n (RFC 9051 §6.4.4).
* Sequence numbers and ``$`` (RFC 5182, RFC 9051 §6.4.4.1) become UID ranges of the
  selected mailbox through the view; numbers past the last message match nothing.
* ``MODSEQ`` (RFC 7162 §3.1.5) compares the per-mailbox MODSEQ; its entry name and
  type do not narrow the test (one MODSEQ per message).
* ``EMAILID``/``THREADID`` (RFC 8474 §6) take the ids of :mod:`plugins.imap.ids`; a
  malformed id matches nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import final

from kernel.store import filters as f
from plugins.imap import ids
from plugins.imap.flags import RECENT, flag_to_keyword
from plugins.imap.proto import search_keys as k
from plugins.imap.proto.sequence import SequenceSet
from plugins.imap.selected import SelectedMailbox

__all__ = ["SearchContext", "to_filter", "uses_modseq", "uses_sequence_numbers"]

_NOTHING: f.Filter = f.AnyOf()
_EVERYTHING: f.Filter = f.All()


@final
@dataclass(frozen=True, slots=True)
class SearchContext:
    """What a translation needs besides the key.

    Attributes:
        view: the selected mailbox (sequence numbers, ``\\Recent``).
        saved: the UIDs of the saved search result ``$`` (RFC 5182), empty if none.
        tz: the server's time zone, for the days of date keys.
        now: the current time (seconds since the epoch), for ``OLDER``/``YOUNGER``.
    """

    view: SelectedMailbox
    saved: frozenset[int]
    tz: tzinfo
    now: float


def _day_start(day: date, tz: tzinfo) -> float:
    return datetime.combine(day, time(0), tzinfo=tz).timestamp()


def _date_filter(key: k.DateKey, tz: tzinfo) -> f.Filter:
    start = _day_start(key.day, tz)
    end = _day_start(key.day + timedelta(days=1), tz)
    before: type[f.ReceivedBefore] | type[f.SentBefore]
    since: type[f.ReceivedSince] | type[f.SentSince]
    if key.field == "internal":
        before, since = f.ReceivedBefore, f.ReceivedSince
    else:
        before, since = f.SentBefore, f.SentSince
    if key.op == "before":
        return before(start)
    if key.op == "since":
        return since(start)
    return f.All((since(start), before(end)))


def _uids(view: SelectedMailbox, uids: Collection[int]) -> f.Filter:
    if not uids:
        return _NOTHING
    return f.Uids(view.mailbox, SequenceSet.of(uids).ranges)


def _known(ctx: SearchContext, uids: Collection[int]) -> list[int]:
    return [uid for uid in uids if ctx.view.seq_of(uid) is not None]


def _sequence(numbers: SequenceSet, ctx: SearchContext) -> f.Filter:
    if numbers.saved:
        return _uids(ctx.view, _known(ctx, ctx.saved))
    count = ctx.view.exists
    chosen: set[int] = set()
    for low, high in numbers.resolve(count):
        chosen.update(ctx.view.uids[max(low, 1) - 1 : min(high, count)])
    return _uids(ctx.view, chosen)


def _uid_set(uids: SequenceSet, ctx: SearchContext) -> f.Filter:
    if uids.saved:
        return _uids(ctx.view, _known(ctx, ctx.saved))
    ranges = tuple(uids.resolve(ctx.view.max_uid))
    return f.Uids(ctx.view.mailbox, ranges) if ranges else _NOTHING


def _text(field: str, value: str) -> f.Filter:
    if not value:
        return _EVERYTHING
    name = {"text": "message"}.get(field, field)
    return f.Contains(name, value)  # type: ignore[arg-type]


def _flag(flag: str, present: bool, ctx: SearchContext) -> f.Filter:
    if flag.lower() == RECENT.lower():
        test = _uids(ctx.view, ctx.view.recent_uids)
    else:
        test = f.HasKeyword(flag_to_keyword(flag))
    return test if present else f.Not(test)


def _keyword(keyword: str, present: bool) -> f.Filter:
    try:
        test: f.Filter = f.HasKeyword(flag_to_keyword(keyword))
    except ValueError:
        test = _NOTHING  # a backslash name that is no system flag: nobody has it
    return test if present else f.Not(test)


def to_filter(key: k.SearchKey, ctx: SearchContext) -> f.Filter:
    """The store filter selecting what ``key`` selects in the selected mailbox."""
    match key:
        case k.All(keys):
            return f.All(tuple(to_filter(child, ctx) for child in keys))
        case k.AnyOf(left, right):
            return f.AnyOf((to_filter(left, ctx), to_filter(right, ctx)))
        case k.NotKey(child):
            return f.Not(to_filter(child, ctx))
        case k.FlagKey(flag, present):
            return _flag(flag, present, ctx)
        case k.KeywordKey(keyword, present):
            return _keyword(keyword, present)
        case k.DateKey():
            return _date_filter(key, ctx.tz)
        case k.WithinKey(op, seconds):
            # RFC 5032 §3: OLDER/YOUNGER n compare INTERNALDATE with now - n seconds.
            edge = ctx.now - seconds
            return f.ReceivedBefore(edge) if op == "older" else f.ReceivedSince(edge)
        case k.SizeKey(op, size):
            return f.SizeAtLeast(size + 1) if op == "larger" else f.SizeBelow(size)
        case k.TextKey(field, value):
            return _text(field, value)
        case k.HeaderKey(name, value):
            return f.HeaderContains(name, value)
        case k.SeqSetKey(numbers):
            return _sequence(numbers, ctx)
        case k.UidKey(uids):
            return _uid_set(uids, ctx)
        case k.ModSeqKey(modseq):
            return f.ModseqAtLeast(modseq)
        case k.EmailIdKey(email_id):
            email = ids.parse_email_id(email_id)
            return f.EmailIds(frozenset({email})) if email is not None else _NOTHING
        case k.ThreadIdKey(thread_id):
            thread = ids.parse_thread_id(thread_id)
            return f.ThreadIds(frozenset({thread})) if thread is not None else _NOTHING
    raise TypeError(f"not a search key: {key!r}")


def _walk(key: k.SearchKey) -> list[k.SearchKey]:
    out = [key]
    match key:
        case k.All(keys):
            for child in keys:
                out += _walk(child)
        case k.AnyOf(left, right):
            out += _walk(left) + _walk(right)
        case k.NotKey(child):
            out += _walk(child)
    return out


def uses_sequence_numbers(key: k.SearchKey) -> bool:
    """Whether the program names messages by sequence number (so no EXPUNGE may be
    sent while it runs; RFC 9051 §5.5, RFC 7162 §3.2.10.2)."""
    return any(isinstance(node, k.SeqSetKey) for node in _walk(key))


def uses_modseq(key: k.SearchKey) -> bool:
    """Whether the program has a MODSEQ key (RFC 7162 §3.1.6: the response then
    carries the highest MODSEQ of the messages found)."""
    return any(isinstance(node, k.ModSeqKey) for node in _walk(key))
