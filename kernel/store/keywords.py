"""IMAP flags and the store's JMAP keywords, one vocabulary seen from two sides.

The store keeps keywords lower-case (RFC 8621 §4.1.1); IMAP's system flags map
onto the JMAP keywords RFC 8621 §4.1.1 names, so a message read in IMAP is
``$seen`` in JMAP and the other way round. Keywords and flags are
case-insensitive in both protocols (RFC 9051 §2.3.2), so a custom keyword comes
back lower-case. IMAP, Sieve (imap4flags) and the delivery rules all convert
through here.
"""

from __future__ import annotations

from typing import Final

__all__ = ["FLAG_NAMES", "SYSTEM_FLAGS", "flag_to_keyword", "keyword_to_flag"]

#: RFC 9051 §2.3.2 system flags (lower-cased) and their RFC 8621 §4.1.1 keywords.
SYSTEM_FLAGS: Final[dict[str, str]] = {
    "\\seen": "$seen",
    "\\answered": "$answered",
    "\\flagged": "$flagged",
    "\\deleted": "$deleted",
    "\\draft": "$draft",
}
#: The keywords of the system flags and the flags' usual spelling.
FLAG_NAMES: Final[dict[str, str]] = {
    "$seen": "\\Seen",
    "$answered": "\\Answered",
    "$flagged": "\\Flagged",
    "$deleted": "\\Deleted",
    "$draft": "\\Draft",
}


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
    return FLAG_NAMES.get(keyword, keyword)
