"""The email filter and sort model shared by IMAP SEARCH/SORT and JMAP Email/query.

A filter is a tree of frozen dataclasses: :class:`All`, :class:`AnyOf` and
:class:`Not` combine conditions; the conditions are the union of what RFC 9051
§6.4.4 (SEARCH keys) and RFC 8621 §4.4.1 (FilterCondition) need. Protocols
translate their syntax into this tree (IMAP sequence numbers into UIDs, IMAP
dates into instants, JMAP text tokens into :class:`All` of :class:`Contains`);
backends evaluate it, and :func:`matches` is the reference evaluation in plain
Python that backends are tested against.

Text matching is what IMAP requires (RFC 9051 §6.4.4: "substring" matching,
case-insensitive): the haystack and the needle are both case-folded
(``str.casefold``) and the needle must occur in the haystack. The texts are
extracted once at append (:func:`kernel.store.email_text.extract`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, final

__all__ = [
    "TEXT_FIELDS",
    "All",
    "AnyOf",
    "Comparator",
    "Contains",
    "EmailFacts",
    "EmailIds",
    "Filter",
    "HasAttachment",
    "HasKeyword",
    "HeaderContains",
    "InMailbox",
    "InMailboxOtherThan",
    "ModseqAtLeast",
    "Not",
    "ReceivedBefore",
    "ReceivedSince",
    "SentBefore",
    "SentSince",
    "SizeAtLeast",
    "SizeBelow",
    "ThreadIds",
    "ThreadKeyword",
    "Uids",
    "matches",
    "normalise_text",
]

#: The texts a :class:`Contains` can search. ``text`` is JMAP's (From, To, Cc,
#: Bcc, Subject and the body); ``message`` is IMAP's TEXT (every header field
#: and the body).
TEXT_FIELDS = frozenset({"from", "to", "cc", "bcc", "subject", "body", "text", "message"})
TextField = Literal["from", "to", "cc", "bcc", "subject", "body", "text", "message"]


def normalise_text(text: str) -> str:
    """The form texts and needles are compared in (case-folded)."""
    return text.casefold()


@final
@dataclass(frozen=True, slots=True)
class All:
    """Every child matches (an empty ``All`` matches everything)."""

    children: tuple[Filter, ...] = ()


@final
@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one child matches (an empty ``AnyOf`` matches nothing)."""

    children: tuple[Filter, ...] = ()


@final
@dataclass(frozen=True, slots=True)
class Not:
    """The child does not match."""

    child: Filter


@final
@dataclass(frozen=True, slots=True)
class InMailbox:
    """The email is in this mailbox."""

    mailbox: int


@final
@dataclass(frozen=True, slots=True)
class InMailboxOtherThan:
    """The email is in at least one mailbox not in this set (RFC 8621 §4.4.1)."""

    mailboxes: frozenset[int]


@final
@dataclass(frozen=True, slots=True)
class Uids:
    """The email is in ``mailbox`` under a UID in one of the inclusive ``ranges``."""

    mailbox: int
    ranges: tuple[tuple[int, int], ...]

    def __contains__(self, uid: int) -> bool:
        return any(low <= uid <= high for low, high in self.ranges)


@final
@dataclass(frozen=True, slots=True)
class EmailIds:
    """The email's id is one of these."""

    ids: frozenset[int]


@final
@dataclass(frozen=True, slots=True)
class ThreadIds:
    """The email's thread is one of these."""

    ids: frozenset[int]


@final
@dataclass(frozen=True, slots=True)
class HasKeyword:
    """The email has this keyword (lower-case; IMAP ``\\Seen`` is ``$seen``)."""

    keyword: str


@final
@dataclass(frozen=True, slots=True)
class ThreadKeyword:
    """``all``, ``some`` or ``none`` of the emails in the email's thread have the keyword."""

    keyword: str
    mode: Literal["all", "some", "none"]


@final
@dataclass(frozen=True, slots=True)
class ReceivedBefore:
    """Received (IMAP INTERNALDATE, JMAP receivedAt) strictly before ``when``."""

    when: float


@final
@dataclass(frozen=True, slots=True)
class ReceivedSince:
    """Received at or after ``when``."""

    when: float


@final
@dataclass(frozen=True, slots=True)
class SentBefore:
    """The Date header field is strictly before ``when`` (no Date: the received time)."""

    when: float


@final
@dataclass(frozen=True, slots=True)
class SentSince:
    """The Date header field is at or after ``when`` (no Date: the received time)."""

    when: float


@final
@dataclass(frozen=True, slots=True)
class SizeAtLeast:
    """The size in bytes is at least ``size``."""

    size: int


@final
@dataclass(frozen=True, slots=True)
class SizeBelow:
    """The size in bytes is below ``size``."""

    size: int


@final
@dataclass(frozen=True, slots=True)
class ModseqAtLeast:
    """The email's MODSEQ (RFC 7162 §3.1.5) is at least ``modseq``.

    In a search scoped to a mailbox it is the MODSEQ of the email's entry in
    the mailbox (set when it arrived there and when its keywords changed);
    otherwise the highest of the email's own and its memberships'.
    """

    modseq: int


@final
@dataclass(frozen=True, slots=True)
class HasAttachment:
    """The email has (or has not) an attachment."""

    value: bool


@final
@dataclass(frozen=True, slots=True)
class Contains:
    """``needle`` occurs, case-insensitively, in the email's ``field`` text."""

    field: TextField
    needle: str

    def __post_init__(self) -> None:
        if self.field not in TEXT_FIELDS:
            raise ValueError(f"cannot search {self.field!r}")
        if "\0" in self.needle:
            raise ValueError("a search string cannot contain NUL")


@final
@dataclass(frozen=True, slots=True)
class HeaderContains:
    """A header field called ``name`` contains ``needle`` (``""``: the field is present)."""

    name: str
    needle: str = ""


Filter = (
    All
    | AnyOf
    | Not
    | InMailbox
    | InMailboxOtherThan
    | Uids
    | EmailIds
    | ThreadIds
    | HasKeyword
    | ThreadKeyword
    | ReceivedBefore
    | ReceivedSince
    | SentBefore
    | SentSince
    | SizeAtLeast
    | SizeBelow
    | ModseqAtLeast
    | HasAttachment
    | Contains
    | HeaderContains
)

SortKey = Literal[
    "received",
    "sent",
    "size",
    "from",
    "to",
    "cc",
    "display_from",
    "display_to",
    "subject",
    "keyword",
    "thread_some_keyword",
    "thread_all_keyword",
    "uid",
    "id",
]


@final
@dataclass(frozen=True, slots=True)
class Comparator:
    """One sort key (RFC 8621 §4.4.2, RFC 5256 §3).

    ``from``/``to``/``cc`` sort by the first address's mailbox part (IMAP SORT),
    ``display_from``/``display_to`` by its display name or else its address
    (RFC 5957, and JMAP's ``from``/``to``); ``subject`` by the base subject;
    ``sent`` by the Date header (the received time when there is none);
    ``keyword`` and the thread variants by whether the keyword is set (true
    sorts after false when ascending); ``uid`` needs a mailbox scope. Ties are
    broken by the email id, ascending.
    """

    key: SortKey
    ascending: bool = True
    keyword: str | None = None


@final
@dataclass(frozen=True, slots=True)
class EmailFacts:
    """Everything :func:`matches` needs about one email (the reference evaluation)."""

    id: int
    thread: int
    received_at: float
    sent_at: float | None
    size: int
    modseq: int
    has_attachment: bool
    keywords: frozenset[str]
    mailboxes: Mapping[int, int]  # mailbox -> UID
    texts: Mapping[str, str]  # from/to/cc/bcc/subject/body/headers, case-folded
    headers: tuple[tuple[str, str], ...]  # (lower-case name, case-folded value)
    thread_keywords: tuple[frozenset[str], ...] = field(default=())  # every email's in the thread


def _text(facts: EmailFacts, name: str) -> str:
    return facts.texts.get(name, "")


def matches(node: Filter, facts: EmailFacts) -> bool:
    """Whether ``facts`` satisfies ``node``: the reference semantics of every condition."""
    match node:
        case All(children):
            return all(matches(child, facts) for child in children)
        case AnyOf(children):
            return any(matches(child, facts) for child in children)
        case Not(child):
            return not matches(child, facts)
        case InMailbox(mailbox):
            return mailbox in facts.mailboxes
        case InMailboxOtherThan(mailboxes):
            return any(m not in mailboxes for m in facts.mailboxes)
        case Uids(mailbox, _):
            uid = facts.mailboxes.get(mailbox)
            return uid is not None and uid in node
        case EmailIds(ids):
            return facts.id in ids
        case ThreadIds(ids):
            return facts.thread in ids
        case HasKeyword(keyword):
            return keyword in facts.keywords
        case ThreadKeyword(keyword, mode):
            have = [keyword in k for k in facts.thread_keywords or (facts.keywords,)]
            return all(have) if mode == "all" else any(have) if mode == "some" else not any(have)
        case ReceivedBefore(when):
            return facts.received_at < when
        case ReceivedSince(when):
            return facts.received_at >= when
        case SentBefore(when):
            return _sent(facts) < when
        case SentSince(when):
            return _sent(facts) >= when
        case SizeAtLeast(size):
            return facts.size >= size
        case SizeBelow(size):
            return facts.size < size
        case ModseqAtLeast(modseq):
            return facts.modseq >= modseq
        case HasAttachment(value):
            return facts.has_attachment == value
        case Contains(name, needle):
            return normalise_text(needle) in _field_text(facts, name)
        case HeaderContains(name, needle):
            wanted, lowered = normalise_text(needle), name.lower()
            return any(n == lowered and wanted in v for n, v in facts.headers)
    raise TypeError(f"not a filter: {node!r}")


def _sent(facts: EmailFacts) -> float:
    return facts.received_at if facts.sent_at is None else facts.sent_at


def _field_text(facts: EmailFacts, name: str) -> str:
    if name == "text":
        return "\0".join(_text(facts, f) for f in ("from", "to", "cc", "bcc", "subject", "body"))
    if name == "message":
        return _text(facts, "headers") + "\0" + _text(facts, "body")
    return _text(facts, name)
