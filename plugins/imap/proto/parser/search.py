"""SEARCH and UID SEARCH, and the search keys SORT and THREAD share.

RFC 9051 §6.4.4 and RFC 3501 §6.4.4 (keys), RFC 4731 §3.1 and RFC 5182 §2 (RETURN
options), RFC 7162 §3.1.5 (MODSEQ), RFC 5032 §3 (OLDER, YOUNGER), RFC 8474 §6 (EMAILID,
THREADID).

    search          = "SEARCH" [search-return-opts] SP search-program
    search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"
    search-return-opt  = "MIN" / "MAX" / "ALL" / "COUNT" / "SAVE" /
                         "CONTEXT" / "UPDATE" / "PARTIAL" SP partial-range   ; RFC 5267 §5
    partial-range      = nz-number ":" nz-number   ; 500:400 is the same as 400:500
    search-program  = ["CHARSET" SP charset SP] search-key *(SP search-key)
    charset         = atom / quoted
    search-key      = "ALL" / "ANSWERED" / "BCC" SP astring /
                      "BEFORE" SP date / "BODY" SP astring /
                      "CC" SP astring / "DELETED" / "FLAGGED" /
                      "FROM" SP astring / "KEYWORD" SP flag-keyword /
                      "ON" SP date / "SEEN" /
                      "SINCE" SP date / "SUBJECT" SP astring /
                      "TEXT" SP astring / "TO" SP astring /
                      "UNANSWERED" / "UNDELETED" / "UNFLAGGED" /
                      "UNKEYWORD" SP flag-keyword / "UNSEEN" /
                      "DRAFT" / "HEADER" SP header-fld-name SP astring /
                      "LARGER" SP number64 / "NOT" SP search-key /
                      "OR" SP search-key SP search-key /
                      "SENTBEFORE" SP date / "SENTON" SP date /
                      "SENTSINCE" SP date / "SMALLER" SP number64 /
                      "UID" SP sequence-set / "UNDRAFT" / sequence-set /
                      "(" search-key *(SP search-key) ")"
    search-key      =/ "NEW" / "OLD" / "RECENT"                ; RFC 3501 only
    search-key      =/ "MODSEQ" [SP entry-name SP entry-type-req] SP
                       mod-sequence-valzer                      ; RFC 7162
    search-key      =/ ("OLDER" / "YOUNGER") SP nz-number       ; RFC 5032
    search-key      =/ "EMAILID" SP objectid / "THREADID" SP objectid  ; RFC 8474
    objectid        = 1*255(ALPHA / DIGIT / "_" / "-")

Implementation notes: only US-ASCII and UTF-8 are supported charsets (RFC 9051 §6.4.4
requires both); any other is refused with ``NO [BADCHARSET (US-ASCII UTF-8)]``. Strings
are decoded as UTF-8 under either (US-ASCII is a subset; an 8-bit string under US-ASCII
is accepted rather than refused). Nesting (parentheses, NOT, OR) is limited to
:data:`MAX_DEPTH` levels so hostile input cannot exhaust the stack.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, Literal, cast

from plugins.imap.proto.codes import BADCHARSET_SUPPORTED
from plugins.imap.proto.commands import CancelUpdate, Search, SearchReturn
from plugins.imap.proto.parser.core import ParseError, Reader
from plugins.imap.proto.search_keys import (
    All,
    AnyOf,
    DateKey,
    EmailIdKey,
    FlagKey,
    HeaderKey,
    KeywordKey,
    ModSeqKey,
    NotKey,
    SearchKey,
    SeqSetKey,
    SizeKey,
    TextKey,
    ThreadIdKey,
    UidKey,
    WithinKey,
)

__all__ = [
    "MAX_DEPTH",
    "charset",
    "parse_cancelupdate",
    "parse_search",
    "search_keys",
    "search_returns",
]

#: Deepest nesting of parentheses, NOT and OR accepted.
MAX_DEPTH: Final = 64

_CHARSETS: Final = frozenset({"US-ASCII", "UTF-8"})
_RETURNS: Final = frozenset({"MIN", "MAX", "ALL", "COUNT", "SAVE", "CONTEXT", "UPDATE", "PARTIAL"})
#: The options that say what to return (RFC 4731 §3.1; RFC 5267 §4.4); with none of
#: them (``RETURN ()``, ``RETURN (UPDATE)``) the result is as for ``ALL``.
_RESULTS: Final = frozenset({"MIN", "MAX", "ALL", "COUNT", "SAVE", "PARTIAL"})
_OBJECTID = re.compile(rb"[A-Za-z0-9_-]{1,255}")

_FLAG_KEYS: Final[dict[str, SearchKey]] = {
    "ALL": All(),
    "ANSWERED": FlagKey("\\Answered", True),
    "DELETED": FlagKey("\\Deleted", True),
    "DRAFT": FlagKey("\\Draft", True),
    "FLAGGED": FlagKey("\\Flagged", True),
    "SEEN": FlagKey("\\Seen", True),
    "RECENT": FlagKey("\\Recent", True),
    "UNANSWERED": FlagKey("\\Answered", False),
    "UNDELETED": FlagKey("\\Deleted", False),
    "UNDRAFT": FlagKey("\\Draft", False),
    "UNFLAGGED": FlagKey("\\Flagged", False),
    "UNSEEN": FlagKey("\\Seen", False),
    # RFC 3501 §6.4.4: NEW is (RECENT UNSEEN); OLD is NOT RECENT.
    "NEW": All((FlagKey("\\Recent", True), FlagKey("\\Seen", False))),
    "OLD": FlagKey("\\Recent", False),
}
_TEXT_KEYS: Final = frozenset({"BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO"})
_DateField = Literal["internal", "sent"]
_DateOp = Literal["before", "on", "since"]
_DATE_KEYS: Final[dict[str, tuple[_DateField, _DateOp]]] = {
    "BEFORE": ("internal", "before"),
    "ON": ("internal", "on"),
    "SINCE": ("internal", "since"),
    "SENTBEFORE": ("sent", "before"),
    "SENTON": ("sent", "on"),
    "SENTSINCE": ("sent", "since"),
}


def charset(r: Reader) -> str:
    """``charset``, upper-cased; anything but US-ASCII/UTF-8 is ``NO [BADCHARSET ...]``."""
    raw = r.quoted().decode("utf-8", "replace") if r.peek() == 0x22 else r.atom()
    name = raw.upper() if raw.isascii() else raw
    if name not in _CHARSETS:
        raise ParseError(
            f"charset {name!r} is not supported", status="NO", code=BADCHARSET_SUPPORTED
        )
    return name


def search_returns(r: Reader) -> tuple[tuple[SearchReturn, ...], tuple[int, int] | None]:
    """``"(" [search-return-opt *(SP search-return-opt)] ")"``: the options and
    PARTIAL's range (low <= high); no result option gives ``("ALL", ...)``."""
    partial: list[tuple[int, int]] = []

    def option() -> SearchReturn:
        name = r.keyword()
        if name not in _RETURNS:
            raise r.error(f"unknown RETURN option {name}")
        if name == "PARTIAL":
            r.sp()
            low = r.nz_number()
            r.expect(b":")
            high = r.nz_number()
            partial.append((min(low, high), max(low, high)))
        return cast(SearchReturn, name)

    options: list[SearchReturn] = []
    for o in r.paren_list(option, empty=True):
        if o not in options:
            options.append(o)
    # RFC 5267 §4.4: at most one PARTIAL or ALL in a command.
    if len(partial) + ("ALL" in options) > 1:
        raise r.error("only one of PARTIAL and ALL may be given")
    # RFC 4731 §3.1: an empty list is the same as (ALL).
    if not _RESULTS.intersection(options):
        options.insert(0, "ALL")
    return tuple(options), (partial[0] if partial else None)


def search_keys(r: Reader) -> SearchKey:
    """``search-key *(SP search-key)`` to the end of the command, as one key."""
    keys = [_key(r, 0)]
    while not r.at_end():
        r.sp()
        keys.append(_key(r, 0))
    return keys[0] if len(keys) == 1 else All(tuple(keys))


def _key(r: Reader, depth: int) -> SearchKey:
    if depth > MAX_DEPTH:
        raise r.error("search keys nested too deeply")
    c = r.peek()
    if c == 0x28:  # "("
        keys = r.paren_list(lambda: _key(r, depth + 1))
        return keys[0] if len(keys) == 1 else All(tuple(keys))
    if c != -1 and c in b"0123456789*$":
        return SeqSetKey(r.sequence_set())
    name = r.keyword()
    if name in _FLAG_KEYS:
        return _FLAG_KEYS[name]
    parse = _ARGUMENT_KEYS.get(name)
    if parse is None:
        raise r.error(f"unknown search key {name}")
    r.sp()
    return parse(r, name, depth)


def _text(r: Reader, name: str, depth: int) -> SearchKey:
    field = cast(Literal["bcc", "body", "cc", "from", "subject", "text", "to"], name.lower())
    return TextKey(field, r.astring_text())


def _date(r: Reader, name: str, depth: int) -> SearchKey:
    field, op = _DATE_KEYS[name]
    return DateKey(field, op, r.date())


def _keyword(r: Reader, name: str, depth: int) -> SearchKey:
    return KeywordKey(r.atom(), name == "KEYWORD")


def _header(r: Reader, name: str, depth: int) -> SearchKey:
    field = r.astring_text()
    r.sp()
    return HeaderKey(field, r.astring_text())


def _size(r: Reader, name: str, depth: int) -> SearchKey:
    return SizeKey("larger" if name == "LARGER" else "smaller", r.number64())


def _not(r: Reader, name: str, depth: int) -> SearchKey:
    return NotKey(_key(r, depth + 1))


def _or(r: Reader, name: str, depth: int) -> SearchKey:
    left = _key(r, depth + 1)
    r.sp()
    return AnyOf(left, _key(r, depth + 1))


def _uid(r: Reader, name: str, depth: int) -> SearchKey:
    return UidKey(r.sequence_set())


def _modseq(r: Reader, name: str, depth: int) -> SearchKey:
    entry = entry_type = None
    if r.peek() == 0x22:  # entry-name = DQUOTE "/flags/" attr-flag DQUOTE
        entry = r.text(r.quoted())
        if not entry.lower().startswith("/flags/"):
            raise r.error("MODSEQ entry name must start with /flags/")
        r.sp()
        entry_type = r.keyword().lower()
        if entry_type not in ("priv", "shared", "all"):
            raise r.error("MODSEQ entry type must be priv, shared or all")
        r.sp()
    return ModSeqKey(r.number64(), entry, entry_type)


def _within(r: Reader, name: str, depth: int) -> SearchKey:
    return WithinKey("older" if name == "OLDER" else "younger", r.nz_number())


def _objectid(r: Reader, name: str, depth: int) -> SearchKey:
    m = _OBJECTID.match(r.data, r.pos)
    if m is None or (m.end() < len(r.data) and r.data[m.end()] not in b" )"):
        raise r.error("expected an object id")
    r.pos = m.end()
    value = m.group().decode("ascii")
    return EmailIdKey(value) if name == "EMAILID" else ThreadIdKey(value)


_ARGUMENT_KEYS: Final[dict[str, Callable[[Reader, str, int], SearchKey]]] = {
    **dict.fromkeys(_TEXT_KEYS, _text),
    **dict.fromkeys(_DATE_KEYS, _date),
    "KEYWORD": _keyword,
    "UNKEYWORD": _keyword,
    "HEADER": _header,
    "LARGER": _size,
    "SMALLER": _size,
    "NOT": _not,
    "OR": _or,
    "UID": _uid,
    "MODSEQ": _modseq,
    "OLDER": _within,
    "YOUNGER": _within,
    "EMAILID": _objectid,
    "THREADID": _objectid,
}


def parse_search(r: Reader, tag: str, uid: bool) -> Search:
    """``[UID] SEARCH [RETURN (...)] [CHARSET c] keys...``."""
    r.sp()
    returns: tuple[SearchReturn, ...] | None = None
    partial = None
    if r.take_keyword("RETURN"):
        r.sp()
        returns, partial = search_returns(r)
        r.sp()
    cs: str | None = None
    if r.take_keyword("CHARSET"):
        r.sp()
        cs = charset(r)
        r.sp()
    criteria = search_keys(r)
    return Search(tag, criteria, cs, returns, uid, partial)


def parse_cancelupdate(r: Reader, tag: str) -> CancelUpdate:
    """``CANCELUPDATE 1*(SP quoted)`` (RFC 5267 §5)."""
    tags = []
    while not r.at_end():
        r.sp()
        tags.append(r.quoted().decode("utf-8", "replace"))
    if not tags:
        raise r.error("CANCELUPDATE needs at least one tag")
    return CancelUpdate(tag, tuple(tags))
