"""IMAP's side of flags: the FLAGS list and ``\\Recent``; the mapping between IMAP
flags and the store's JMAP keywords is shared (:mod:`kernel.store.keywords`).

Implementation notes:

* ``\\Recent`` (IMAP4rev1 only, RFC 3501 §2.3.2) is not stored: it is per session
  (:class:`plugins.imap.selected.RecentTracker`) and can never be set by STORE.
* A flag the store refuses (an atom with a character RFC 8621 forbids) is a
  ``ValueError``; the ops turn it into ``BAD``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from kernel.store.keywords import FLAG_NAMES, SYSTEM_FLAGS, flag_to_keyword, keyword_to_flag

__all__ = [
    "PERMANENT_FLAGS",
    "RECENT",
    "SYSTEM_FLAGS",
    "flag_to_keyword",
    "keyword_to_flag",
    "keywords_to_flags",
]

#: The session flag of IMAP4rev1 (RFC 3501 §2.3.2).
RECENT: Final = "\\Recent"
#: What the FLAGS response lists (RFC 9051 §7.3.5), in its usual order.
PERMANENT_FLAGS: Final = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")


def keywords_to_flags(keywords: Iterable[str], *, recent: bool = False) -> tuple[str, ...]:
    """The FLAGS list of a message: system flags first in their usual order, then
    keywords sorted, then ``\\Recent`` when the session sees it as recent."""
    present = set(keywords)
    system = [FLAG_NAMES[k] for k in FLAG_NAMES if k in present]
    custom = sorted(k for k in present if k not in FLAG_NAMES)
    return (*system, *custom, *((RECENT,) if recent else ()))
