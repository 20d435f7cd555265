"""Email/query's filter and sort (RFC 8621 §4.4.1, §4.4.2) onto the store's model.

:func:`to_filter` turns a JMAP FilterOperator/FilterCondition tree into a
:mod:`kernel.store.filters` tree; :func:`to_sort` turns Comparators into store
:class:`~kernel.store.filters.Comparator` keys. Both raise :class:`QueryError` carrying
the method-level error type (``unsupportedFilter``, ``unsupportedSort``,
``invalidArguments``) for the caller to report.

Implementation notes:

- Text conditions (§4.4.1, last paragraphs): outside quotes white space separates
  tokens that must all be present; text in matched single or double quotes is one
  phrase, where ``\\`` escapes ``'``, ``"`` and ``\\``. Each token or phrase is a
  case-insensitive substring test (:class:`~kernel.store.filters.Contains`).
- ``from``/``to`` sort by the first address's display name, else its email
  (§4.4.2), which the store calls ``display_from``/``display_to``.
- A mailbox id that is not one of ours matches nothing (no error: §4.4.1 does not
  ask for one, and the Mailbox may simply have been destroyed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final, final

from kernel.store.filters import (
    All,
    AnyOf,
    Comparator,
    Contains,
    Filter,
    HasAttachment,
    HasKeyword,
    HeaderContains,
    InMailbox,
    InMailboxOtherThan,
    Not,
    ReceivedBefore,
    ReceivedSince,
    SizeAtLeast,
    SizeBelow,
    ThreadKeyword,
)

__all__ = ["COLLATIONS", "SORT_PROPERTIES", "QueryError", "text_terms", "to_filter", "to_sort"]

#: Collations a Comparator may name (RFC 8620 §5.5; all compare case-insensitively here).
COLLATIONS: Final = frozenset({"i;ascii-casemap", "i;unicode-casemap", "i;octet"})
_SORT_KEYS: Final = {
    "receivedAt": "received",
    "size": "size",
    "from": "display_from",
    "to": "display_to",
    "subject": "subject",
    "sentAt": "sent",
    "hasKeyword": "keyword",
    "allInThreadHaveKeyword": "thread_all_keyword",
    "someInThreadHaveKeyword": "thread_some_keyword",
}
#: The sort properties supported (RFC 8621 §1.3.1 ``emailQuerySortOptions``).
SORT_PROPERTIES: Final = tuple(_SORT_KEYS)
_NEEDS_KEYWORD: Final = frozenset(
    {"hasKeyword", "allInThreadHaveKeyword", "someInThreadHaveKeyword"}
)
_TEXT_FIELDS: Final = ("text", "from", "to", "cc", "bcc", "subject", "body")
_THREAD_KEYWORD: Final = {
    "allInThreadHaveKeyword": "all",
    "someInThreadHaveKeyword": "some",
    "noneInThreadHaveKeyword": "none",
}
_CONDITIONS: Final = frozenset(
    {
        "inMailbox",
        "inMailboxOtherThan",
        "before",
        "after",
        "minSize",
        "maxSize",
        "hasKeyword",
        "notKeyword",
        "hasAttachment",
        "header",
        *_THREAD_KEYWORD,
        *_TEXT_FIELDS,
    }
)
# RFC 3339 date-time in UTC (RFC 8620 §1.4 UTCDate); a numeric offset is accepted too.
_UTC_DATE: Final = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.I
)
_KEYWORD: Final = re.compile(r"^[\x21-\x7e]{1,255}$")
_KEYWORD_FORBIDDEN: Final = frozenset('(){]%*"\\')
_MAX_DEPTH: Final = 64


@final
class QueryError(Exception):
    """A filter or sort the server refuses; ``type`` is the JMAP error type."""

    def __init__(self, type: str, description: str) -> None:
        super().__init__(description)
        self.type = type
        self.description = description


def parse_utc_date(value: Any) -> float:
    """Seconds since the epoch of a UTCDate; QueryError(invalidArguments) otherwise."""
    if not isinstance(value, str) or not _UTC_DATE.match(value):
        raise QueryError("invalidArguments", f"not a UTCDate: {value!r}")
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise QueryError("invalidArguments", f"not a UTCDate: {value!r}") from None


def _keyword(value: Any) -> str:
    # RFC 8621 §4.1.1: keyword syntax (IMAP atom characters, case-insensitive).
    if not isinstance(value, str) or not _KEYWORD.match(value) or _KEYWORD_FORBIDDEN & set(value):
        raise QueryError("invalidArguments", f"not a keyword: {value!r}")
    return value.lower()


def _unsigned(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise QueryError("invalidArguments", f"{name} must be an UnsignedInt")
    return value


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise QueryError("invalidArguments", f"{name} must be a String")
    return value.replace("\0", "")


def text_terms(text: str) -> list[str]:
    """The tokens and phrases of a search string (§4.4.1), in order, without empties."""
    terms: list[str] = []
    pos, end = 0, len(text)
    word: list[str] = []
    while pos < end:
        char = text[pos]
        if char in "\"'" and text.find(char, pos + 1) > pos:
            closing = _phrase_end(text, pos + 1, char)
            if closing is not None:
                if word:
                    terms.append("".join(word))
                    word = []
                phrase = re.sub(r"\\(['\"\\])", r"\1", text[pos + 1 : closing])
                if phrase.strip():
                    terms.append(" ".join(phrase.split()))
                pos = closing + 1
                continue
        if char.isspace():
            if word:
                terms.append("".join(word))
                word = []
        else:
            word.append(char)
        pos += 1
    if word:
        terms.append("".join(word))
    return terms


def _phrase_end(text: str, start: int, quote: str) -> int | None:
    pos = start
    while pos < len(text):
        if text[pos] == "\\" and pos + 1 < len(text):
            pos += 2
            continue
        if text[pos] == quote:
            return pos
        pos += 1
    return None


def _condition(
    condition: Mapping[str, Any], mailbox_id: Callable[[Any], int | None]
) -> list[Filter]:
    out: list[Filter] = []
    for name, value in condition.items():
        if name not in _CONDITIONS:
            raise QueryError("unsupportedFilter", f"unknown filter condition {name!r}")
        if value is None:
            continue  # a null condition is taken as omitted (clients serialise unset fields)
        if name == "inMailbox":
            found = mailbox_id(value)
            out.append(InMailbox(found if found is not None else -1))
        elif name == "inMailboxOtherThan":
            if not isinstance(value, list):
                raise QueryError("invalidArguments", "inMailboxOtherThan must be an Id[]")
            ids = [mailbox_id(v) for v in value]
            out.append(InMailboxOtherThan(frozenset(i for i in ids if i is not None)))
        elif name == "before":
            out.append(ReceivedBefore(parse_utc_date(value)))
        elif name == "after":
            out.append(ReceivedSince(parse_utc_date(value)))
        elif name == "minSize":
            out.append(SizeAtLeast(_unsigned(value, name)))
        elif name == "maxSize":
            out.append(SizeBelow(_unsigned(value, name)))
        elif name == "hasKeyword":
            out.append(HasKeyword(_keyword(value)))
        elif name == "notKeyword":
            out.append(Not(HasKeyword(_keyword(value))))
        elif name in _THREAD_KEYWORD:
            out.append(ThreadKeyword(_keyword(value), _THREAD_KEYWORD[name]))  # type: ignore[arg-type]
        elif name == "hasAttachment":
            if not isinstance(value, bool):
                raise QueryError("invalidArguments", "hasAttachment must be a Boolean")
            out.append(HasAttachment(value))
        elif name == "header":
            out.append(_header(value))
        else:
            terms = text_terms(_string(value, name))
            out.extend(Contains(name, term) for term in terms)  # type: ignore[arg-type]
    return out


def _header(value: Any) -> Filter:
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= 2
        or not all(isinstance(v, str) for v in value)
        or not re.match(r"^[!-9;-~]+$", value[0])
    ):
        raise QueryError("invalidArguments", "header must be [name] or [name, value]")
    needle = value[1].replace("\0", "") if len(value) == 2 else ""
    return HeaderContains(value[0].lower(), needle.strip())


def to_filter(node: Any, mailbox_id: Callable[[Any], int | None], depth: int = 0) -> Filter:
    """The store filter for a JMAP filter (``None`` matches everything).

    Args:
        node: the ``filter`` argument.
        mailbox_id: the store id of a JMAP Mailbox id, ``None`` when it is not one.
    """
    if node is None:
        return All()
    if not isinstance(node, Mapping):
        raise QueryError("invalidArguments", "a filter must be an object")
    if depth > _MAX_DEPTH:
        raise QueryError("unsupportedFilter", "the filter is nested too deeply")
    if "operator" in node:
        operator = node["operator"]
        conditions = node.get("conditions")
        if set(node) - {"operator", "conditions"}:
            raise QueryError("invalidArguments", "a FilterOperator has operator and conditions")
        if not isinstance(conditions, list):
            raise QueryError("invalidArguments", "conditions must be an array")
        children = tuple(to_filter(c, mailbox_id, depth + 1) for c in conditions)
        if operator == "AND":
            return All(children)
        if operator == "OR":
            return AnyOf(children)
        if operator == "NOT":
            return Not(AnyOf(children))
        raise QueryError("unsupportedFilter", f"unknown operator {operator!r}")
    parts = _condition(node, mailbox_id)
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def to_sort(sort: Any) -> list[Comparator]:
    """The store comparators for a JMAP ``sort`` (``None`` or ``[]``: store order)."""
    if sort is None:
        return []
    if not isinstance(sort, list):
        raise QueryError("invalidArguments", "sort must be an array")
    out: list[Comparator] = []
    for item in sort:
        if not isinstance(item, Mapping) or not isinstance(item.get("property"), str):
            raise QueryError("invalidArguments", "a Comparator needs a property")
        name = item["property"]
        if name not in _SORT_KEYS:
            raise QueryError("unsupportedSort", f"cannot sort by {name!r}")
        ascending = item.get("isAscending", True)
        if not isinstance(ascending, bool):
            raise QueryError("invalidArguments", "isAscending must be a Boolean")
        collation = item.get("collation")
        if collation is not None and collation not in COLLATIONS:
            raise QueryError("unsupportedSort", f"unknown collation {collation!r}")
        keyword = None
        if name in _NEEDS_KEYWORD:
            if "keyword" not in item:
                raise QueryError("invalidArguments", f"sorting by {name} needs a keyword")
            keyword = _keyword(item["keyword"])
        out.append(Comparator(_SORT_KEYS[name], ascending, keyword))  # type: ignore[arg-type]
    return out
