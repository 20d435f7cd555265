"""The SEARCH criteria as parsed (RFC 9051 §6.4.4, RFC 3501 §6.4.4 and extensions).

The parser produces these; the session translates them into the store's filter model
(:mod:`kernel.store.filters`). Strings are already decoded from the command's CHARSET
(RFC 9051 §6.4.4: US-ASCII and UTF-8 at least) into ``str``.

Dates are ``datetime.date`` (``date`` in the ABNF: day-month-year, no time zone; RFC
9051 §6.4.4 compares them in the server's time zone for INTERNALDATE and in the
message's own zone for the Date header, which the session documents).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, final

from plugins.imap.proto.sequence import SequenceSet

__all__ = [
    "All",
    "AnyOf",
    "DateKey",
    "EmailIdKey",
    "FlagKey",
    "HeaderKey",
    "KeywordKey",
    "ModSeqKey",
    "NotKey",
    "SearchKey",
    "SeqSetKey",
    "SizeKey",
    "TextKey",
    "ThreadIdKey",
    "UidKey",
    "WithinKey",
]


@final
@dataclass(frozen=True, slots=True)
class All:
    """``ALL``, and a parenthesised list (every key must match; an empty list is ALL)."""

    keys: tuple[SearchKey, ...] = ()


@final
@dataclass(frozen=True, slots=True)
class AnyOf:
    """``OR key1 key2``."""

    left: SearchKey
    right: SearchKey


@final
@dataclass(frozen=True, slots=True)
class NotKey:
    """``NOT key``."""

    key: SearchKey


@final
@dataclass(frozen=True, slots=True)
class FlagKey:
    r"""A system flag test, set or unset.

    ``ANSWERED`` is ``FlagKey("\\Answered", True)``, ``UNSEEN`` is ``FlagKey("\\Seen",
    False)``; ``NEW``, ``OLD`` and ``RECENT`` (IMAP4rev1 only) use ``"\\Recent"``:
    ``NEW`` = ``All((FlagKey("\\Recent", True), FlagKey("\\Seen", False)))``, ``OLD`` =
    ``FlagKey("\\Recent", False)``.
    """

    flag: str  # "\\Answered", "\\Deleted", "\\Draft", "\\Flagged", "\\Seen", "\\Recent"
    present: bool


@final
@dataclass(frozen=True, slots=True)
class KeywordKey:
    """``KEYWORD flag`` (present) and ``UNKEYWORD flag`` (absent); the atom as sent."""

    keyword: str
    present: bool


@final
@dataclass(frozen=True, slots=True)
class DateKey:
    """``BEFORE/ON/SINCE`` (INTERNALDATE) and ``SENTBEFORE/SENTON/SENTSINCE`` (Date header)."""

    field: Literal["internal", "sent"]
    op: Literal["before", "on", "since"]
    day: date


@final
@dataclass(frozen=True, slots=True)
class WithinKey:
    """``OLDER n`` / ``YOUNGER n`` (RFC 5032): INTERNALDATE relative to now, in seconds."""

    op: Literal["older", "younger"]
    seconds: int


@final
@dataclass(frozen=True, slots=True)
class SizeKey:
    """``LARGER n`` / ``SMALLER n`` (RFC822.SIZE strictly greater / smaller)."""

    op: Literal["larger", "smaller"]
    size: int


@final
@dataclass(frozen=True, slots=True)
class TextKey:
    """``BCC/BODY/CC/FROM/SUBJECT/TEXT/TO string``: case-insensitive substring."""

    field: Literal["bcc", "body", "cc", "from", "subject", "text", "to"]
    value: str


@final
@dataclass(frozen=True, slots=True)
class HeaderKey:
    """``HEADER field-name string``; an empty string matches every message with the field."""

    name: str
    value: str


@final
@dataclass(frozen=True, slots=True)
class SeqSetKey:
    """A bare sequence set: message sequence numbers (or ``$``)."""

    numbers: SequenceSet


@final
@dataclass(frozen=True, slots=True)
class UidKey:
    """``UID sequence-set`` (or ``UID $``)."""

    uids: SequenceSet


@final
@dataclass(frozen=True, slots=True)
class ModSeqKey:
    """``MODSEQ [entry-name entry-type] mod-sequence-valzer`` (RFC 7162 §3.1.5).

    The optional entry (a flag's ``/flags/...`` name and ``priv``/``shared``/``all``) is
    kept but the server keeps one modseq per message, so it does not narrow the test.
    """

    modseq: int
    entry: str | None = None
    entry_type: str | None = None


@final
@dataclass(frozen=True, slots=True)
class EmailIdKey:
    """``EMAILID objectid`` (RFC 8474 §6)."""

    email_id: str


@final
@dataclass(frozen=True, slots=True)
class ThreadIdKey:
    """``THREADID objectid`` (RFC 8474 §6)."""

    thread_id: str


SearchKey = (
    All
    | AnyOf
    | NotKey
    | FlagKey
    | KeywordKey
    | DateKey
    | WithinKey
    | SizeKey
    | TextKey
    | HeaderKey
    | SeqSetKey
    | UidKey
    | ModSeqKey
    | EmailIdKey
    | ThreadIdKey
)
