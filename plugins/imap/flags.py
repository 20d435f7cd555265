"""IMAP flags and the store's JMAP keywords, one vocabulary seen from two sides.

The store keeps keywords lower-case (RFC 8621 §4.1.1); IMAP's system flags map onto
the JMAP keywords RFC 8621 §4.1.1 names, so a message read in IMAP is ``$seen`` in
JMAP and the other way round. Keywords and flags are case-insensitive in both
protocols (RFC 9051 §2.3.2), so a custom keyword comes back lower-case.

Implementation notes:

* ``\\Recent`` (IMAP4rev1 only, RFC 3501 §2.3.2) is not stored: it is per session
  (:class:`plugins.imap.selected.RecentTracker`) and can never be set by STORE.
* A flag the store refuses (an atom with a character RFC 8621 forbids) is a
  ``ValueError``; the ops turn it into ``BAD``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

__all__ = [
    "PERMANENT_FLAGS",
    "RECENT",
    "SYSTEM_FLAGS",
    "flag_to_keyword",
    "keyword_to_flag",
    "keywords_to_flags",
]

#: RFC 9051 §2.3.2 system flags and their RFC 8621 §4.1.1 keywords.
SYSTEM_FLAGS: Final[dict[str, str]] = {
    "\\seen": "$seen",
    "\\answered": "$answered",
    "\\flagged": "$flagged",
    "\\deleted": "$deleted",
    "\\draft": "$draft",
}
_FLAG_NAMES: Final[dict[str, str]] = {
    "$seen": "\\Seen",
    "$answered": "\\Answered",
    "$flagged": "\\Flagged",
    "$deleted": "\\Deleted",
    "$draft": "\\Draft",
}
#: The session flag of IMAP4rev1 (RFC 3501 §2.3.2).
RECENT: Final = "\\Recent"
#: What the FLAGS response lists (RFC 9051 §7.3.5), in its usual order.
PERMANENT_FLAGS: Final = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")


def flag_to_keyword(flag: str) -> str:
    """The store keyword for an IMAP flag (``\\Seen`` -> ``$seen``, ``Foo`` -> ``foo``).

    Raises ``ValueError`` for ``\\Recent`` and for other backslash flags, which a
    client cannot set (RFC 9051 §2.3.2: only the system flags start with ``\\``).
    """
    lowered = flag.lower()
    if lowered.startswith("\\"):
        try:
            return SYSTEM_FLAGS[lowered]
        except KeyError:
            raise ValueError(f"{flag} cannot be stored") from None
    return lowered


def keyword_to_flag(keyword: str) -> str:
    """The IMAP flag for a store keyword (``$seen`` -> ``\\Seen``; others as they are)."""
    return _FLAG_NAMES.get(keyword, keyword)


def keywords_to_flags(keywords: Iterable[str], *, recent: bool = False) -> tuple[str, ...]:
    """The FLAGS list of a message: system flags first in their usual order, then
    keywords sorted, then ``\\Recent`` when the session sees it as recent."""
    present = set(keywords)
    system = [_FLAG_NAMES[k] for k in _FLAG_NAMES if k in present]
    custom = sorted(k for k in present if k not in _FLAG_NAMES)
    return (*system, *custom, *((RECENT,) if recent else ()))
