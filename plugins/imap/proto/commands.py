"""IMAP client commands as parsed: one frozen dataclass per command, and the :data:`Command` union.

The parser (:mod:`plugins.imap.proto.parser`) builds these from the wire; the session
dispatches on the type (``match cmd: case Fetch(): ...``) to ``ops/<command>.py``.
Every class carries the command ``tag`` first and then every argument the grammar
allows (RFC 9051 §6 and §9, RFC 3501 §6 and §9, and the extensions named per class).

Implementation notes:

* Keywords (command names, options, status items, return options) are upper-cased by
  the parser: IMAP keywords are case-insensitive (RFC 9051 §9, note 1).
* Mailbox names are kept as the wire string (``str``; bytes decoded as UTF-8, which
  modified UTF-7 is a subset of): the session decodes modified UTF-7, or takes them
  as UTF-8 once UTF8=ACCEPT is enabled (RFC 3501 §5.1.3; RFC 6855 §3). The one
  exception: the parser turns any case variant of ``INBOX`` into ``"INBOX"`` (RFC 9051
  §5.1 and the ``mailbox`` rule of §9), and only the whole name, not ``inbox/sub``.
  LIST/LSUB patterns and references are *not* normalised (they are patterns).
* System flags (``\\Seen`` ...) are normalised to their canonical spelling; other flags
  and keywords are kept as written (the store compares keywords case-insensitively).
* Sequence sets are :class:`~plugins.imap.proto.sequence.SequenceSet`, with ``$``
  (RFC 5182) kept symbolic; the UID variant of a command sets ``uid=True``.
* Dates are ``datetime.date``; date-times are timezone-aware ``datetime.datetime``.
* Literal payloads (APPEND, SETMETADATA values) are ``bytes``; other strings are ``str``.
* Size: one small class per command (45 of them) plus their parts; splitting the file
  would scatter the one union the session matches on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, final

from plugins.imap.proto.fetch_items import FetchItem
from plugins.imap.proto.search_keys import SearchKey
from plugins.imap.proto.sequence import SequenceSet

__all__ = [
    "Append",
    "AppendMessage",
    "Authenticate",
    "CancelUpdate",
    "Capability",
    "Check",
    "Close",
    "Command",
    "Compress",
    "Copy",
    "Create",
    "Delete",
    "DeleteAcl",
    "Enable",
    "Examine",
    "Expunge",
    "Fetch",
    "GetAcl",
    "GetMetadata",
    "GetQuota",
    "GetQuotaRoot",
    "Id",
    "Idle",
    "List",
    "ListMetadata",
    "ListRights",
    "Login",
    "Logout",
    "Lsub",
    "Move",
    "MyRights",
    "Namespace",
    "Noop",
    "Notify",
    "NotifyEvent",
    "NotifyGroup",
    "QResync",
    "Rename",
    "Search",
    "SearchReturn",
    "Select",
    "SetAcl",
    "SetMetadata",
    "SetQuota",
    "Sort",
    "SortCriterion",
    "SortKey",
    "StartTls",
    "Status",
    "StatusItem",
    "Store",
    "Subscribe",
    "Thread",
    "Uid",
    "UidExpunge",
    "Unselect",
    "Unsubscribe",
]

StatusItem = Literal[
    "MESSAGES",
    "UIDNEXT",
    "UIDVALIDITY",
    "UNSEEN",
    "DELETED",  # RFC 9051 §6.3.11
    "SIZE",  # RFC 8438; RFC 9051 §6.3.11
    "RECENT",  # IMAP4rev1 only (RFC 3501 §6.3.10)
    "HIGHESTMODSEQ",  # RFC 7162 §3.1.8
    "APPENDLIMIT",  # RFC 7889 §3
    "MAILBOXID",  # RFC 8474 §4.3
]
"""A STATUS data item name (also the items of LIST ``RETURN (STATUS (...))``, RFC 5819)."""

SearchReturn = Literal["MIN", "MAX", "ALL", "COUNT", "SAVE", "CONTEXT", "UPDATE", "PARTIAL"]
"""A SEARCH/SORT ``RETURN`` option (RFC 4731 §3.1, RFC 5182 §2, RFC 5267 §3.2, §4);
``PARTIAL``'s range is the command's ``partial``."""

SortKey = Literal[
    "ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"
]
"""A SORT key (RFC 5256 §3; DISPLAYFROM/DISPLAYTO of RFC 5957 §3)."""


# ---------------------------------------------------------------------------- any state


@final
@dataclass(frozen=True, slots=True)
class Capability:
    """``CAPABILITY`` (RFC 9051 §6.1.1)."""

    tag: str


@final
@dataclass(frozen=True, slots=True)
class Noop:
    """``NOOP`` (RFC 9051 §6.1.2)."""

    tag: str


@final
@dataclass(frozen=True, slots=True)
class Logout:
    """``LOGOUT`` (RFC 9051 §6.1.3)."""

    tag: str


@final
@dataclass(frozen=True, slots=True)
class Id:
    """``ID`` (RFC 2971 §3.1): the client's identification.

    Attributes:
      params: ``None`` for ``ID NIL``; otherwise the field/value pairs in order, a
        value ``None`` where the client sent ``NIL``.
    """

    tag: str
    params: tuple[tuple[str, str | None], ...] | None


# -------------------------------------------------------------------- not authenticated


@final
@dataclass(frozen=True, slots=True)
class StartTls:
    """``STARTTLS`` (RFC 9051 §6.2.1): the driver drops every buffered byte after it."""

    tag: str


@final
@dataclass(frozen=True, slots=True)
class Authenticate:
    """``AUTHENTICATE mechanism [initial-response]`` (RFC 9051 §6.2.2; RFC 4959 §3).

    Attributes:
      mechanism: the SASL mechanism name, upper-cased.
      initial_response: the decoded SASL-IR initial response; ``b""`` for ``=``
        (an empty response), ``None`` if none was sent (the server then sends an
        empty challenge ``+ `` first).
    """

    tag: str
    mechanism: str
    initial_response: bytes | None = None


@final
@dataclass(frozen=True, slots=True)
class Login:
    """``LOGIN userid password`` (RFC 9051 §6.2.3): both astrings, decoded as UTF-8."""

    tag: str
    username: str
    password: str


# ------------------------------------------------------------------------ authenticated


@final
@dataclass(frozen=True, slots=True)
class Enable:
    """``ENABLE capability...`` (RFC 5161 §3.1; RFC 9051 §6.3.1), names upper-cased."""

    tag: str
    capabilities: tuple[str, ...]


@final
@dataclass(frozen=True, slots=True)
class QResync:
    """The ``QRESYNC`` SELECT/EXAMINE parameter (RFC 7162 §3.2.5).

    Attributes:
      uidvalidity: the UIDVALIDITY the client last knew.
      modseq: the last known HIGHESTMODSEQ.
      known_uids: the UIDs the client knows (no ``*``), or ``None``.
      seq_match: ``(known-sequence-set, known-uid-set)`` pairs, or ``None``.
    """

    uidvalidity: int
    modseq: int
    known_uids: SequenceSet | None = None
    seq_match: tuple[SequenceSet, SequenceSet] | None = None


@final
@dataclass(frozen=True, slots=True)
class Select:
    """``SELECT mailbox [(CONDSTORE | QRESYNC (...))]`` (RFC 9051 §6.3.2; RFC 7162 §3.1.8, §3.2.5).

    Attributes:
      condstore: the CONDSTORE parameter was given (it enables CONDSTORE).
      qresync: the QRESYNC parameter; valid only once QRESYNC is enabled, which the
        session checks (RFC 7162 §3.2.5: BAD otherwise).
    """

    tag: str
    mailbox: str
    condstore: bool = False
    qresync: QResync | None = None


@final
@dataclass(frozen=True, slots=True)
class Examine:
    """``EXAMINE``: as :class:`Select` but read-only (RFC 9051 §6.3.3)."""

    tag: str
    mailbox: str
    condstore: bool = False
    qresync: QResync | None = None


@final
@dataclass(frozen=True, slots=True)
class Create:
    r"""``CREATE mailbox [(USE (\Special ...))]`` (RFC 9051 §6.3.4; RFC 6154 §3).

    Attributes:
      special_use: the special-use attributes requested with ``USE``, in their
        canonical spelling when known (``\Drafts``), otherwise as written.
    """

    tag: str
    mailbox: str
    special_use: tuple[str, ...] = ()


@final
@dataclass(frozen=True, slots=True)
class Delete:
    """``DELETE mailbox`` (RFC 9051 §6.3.5)."""

    tag: str
    mailbox: str


@final
@dataclass(frozen=True, slots=True)
class Rename:
    """``RENAME existing new`` (RFC 9051 §6.3.6)."""

    tag: str
    mailbox: str
    new_name: str


@final
@dataclass(frozen=True, slots=True)
class Subscribe:
    """``SUBSCRIBE mailbox`` (RFC 9051 §6.3.7)."""

    tag: str
    mailbox: str


@final
@dataclass(frozen=True, slots=True)
class Unsubscribe:
    """``UNSUBSCRIBE mailbox`` (RFC 9051 §6.3.8)."""

    tag: str
    mailbox: str


@final
@dataclass(frozen=True, slots=True)
class ListMetadata:
    """The ``METADATA`` LIST return option (RFC 9590): entry names and optional MAXSIZE."""

    entries: tuple[str, ...]
    maxsize: int | None = None


@final
@dataclass(frozen=True, slots=True)
class List:
    """``LIST [(selection)] reference patterns [RETURN (options)]`` (RFC 9051 §6.3.9; RFC 5258).

    Attributes:
      reference: the reference name, as sent.
      patterns: one or more ``list-mailbox`` patterns (RFC 5258 §3 multiple patterns),
        as sent. An empty single pattern ``""`` asks for the delimiter.
      subscribed, remote, recursive_match, special_use: the selection options
        SUBSCRIBED, REMOTE, RECURSIVEMATCH (RFC 5258 §3.1) and SPECIAL-USE (RFC 6154 §3).
      return_subscribed, return_children, return_special_use: the return options
        SUBSCRIBED, CHILDREN (RFC 5258 §3.2) and SPECIAL-USE (RFC 6154 §3).
      return_status: the items of ``RETURN (STATUS (...))`` (RFC 5819 §2), or ``None``.
      return_metadata: the ``RETURN (METADATA (...))`` option (RFC 9590), or ``None``.
      extended: the LIST-EXTENDED syntax was used (selection options, a parenthesised
        pattern list or RETURN; RFC 5258 §3), which changes what a response carries.
    """

    tag: str
    reference: str
    patterns: tuple[str, ...]
    subscribed: bool = False
    remote: bool = False
    recursive_match: bool = False
    special_use: bool = False
    return_subscribed: bool = False
    return_children: bool = False
    return_special_use: bool = False
    return_status: tuple[StatusItem, ...] | None = None
    return_metadata: ListMetadata | None = None
    extended: bool = False


@final
@dataclass(frozen=True, slots=True)
class Lsub:
    """``LSUB reference pattern`` (IMAP4rev1 only: RFC 3501 §6.3.9)."""

    tag: str
    reference: str
    pattern: str


@final
@dataclass(frozen=True, slots=True)
class Namespace:
    """``NAMESPACE`` (RFC 9051 §6.3.10; RFC 2342)."""

    tag: str


@final
@dataclass(frozen=True, slots=True)
class Status:
    """``STATUS mailbox (items)`` (RFC 9051 §6.3.11): item names upper-cased, in order."""

    tag: str
    mailbox: str
    items: tuple[StatusItem, ...]


@final
@dataclass(frozen=True, slots=True)
class AppendMessage:
    """One message of an APPEND (MULTIAPPEND, RFC 3502, sends several).

    Attributes:
      data: the message octets.
      flags: the flag list, if any.
      internal_date: the date-time argument (timezone-aware), if any.
      binary: sent as ``literal8`` (``~{n}``, RFC 3516 §4.4): may hold NUL and
        binary content-transfer-encoding.
      utf8: sent as ``UTF8 (literal)`` (RFC 6855 §4): valid only once UTF8=ACCEPT is
        enabled, which the session checks.
    """

    data: bytes
    flags: tuple[str, ...] = ()
    internal_date: datetime | None = None
    binary: bool = False
    utf8: bool = False


@final
@dataclass(frozen=True, slots=True)
class Append:
    """``APPEND mailbox message...`` (RFC 9051 §6.3.12; RFC 3502 §6): one or more messages."""

    tag: str
    mailbox: str
    messages: tuple[AppendMessage, ...]


@final
@dataclass(frozen=True, slots=True)
class Idle:
    """``IDLE`` (RFC 9051 §6.3.13; RFC 2177): the driver reads ``DONE`` with ``expect_line``."""

    tag: str


@final
@dataclass(frozen=True, slots=True)
class NotifyEvent:
    """One NOTIFY event (RFC 5465 §5): its name as written, and MessageNew's fetch items."""

    name: str
    fetch: tuple[FetchItem, ...] = ()


@final
@dataclass(frozen=True, slots=True)
class NotifyGroup:
    """One NOTIFY event group (RFC 5465 §6).

    Attributes:
      filter: ``SELECTED``, ``SELECTED-DELAYED``, ``INBOXES``, ``PERSONAL``,
        ``SUBSCRIBED``, ``SUBTREE`` or ``MAILBOXES`` (upper-cased).
      mailboxes: the mailboxes of SUBTREE/MAILBOXES, else ``()``.
      events: the events, ``()`` for ``NONE``.
    """

    filter: str
    mailboxes: tuple[str, ...] = ()
    events: tuple[NotifyEvent, ...] = ()


@final
@dataclass(frozen=True, slots=True)
class Notify:
    """``NOTIFY NONE`` / ``NOTIFY SET [STATUS] groups...`` (RFC 5465 §3).

    Attributes:
      groups: ``None`` for ``NOTIFY NONE``, otherwise the event groups.
      status: ``SET STATUS``: send STATUS for the mailboxes first.
    """

    tag: str
    groups: tuple[NotifyGroup, ...] | None
    status: bool = False


@final
@dataclass(frozen=True, slots=True)
class GetQuota:
    """``GETQUOTA root`` (RFC 9208 §4.2)."""

    tag: str
    root: str


@final
@dataclass(frozen=True, slots=True)
class GetQuotaRoot:
    """``GETQUOTAROOT mailbox`` (RFC 9208 §4.3)."""

    tag: str
    mailbox: str


@final
@dataclass(frozen=True, slots=True)
class SetQuota:
    """``SETQUOTA root (resource limit ...)`` (RFC 9208 §4.4): resources upper-cased."""

    tag: str
    root: str
    limits: tuple[tuple[str, int], ...]


@final
@dataclass(frozen=True, slots=True)
class SetAcl:
    """``SETACL mailbox identifier [+|-]rights`` (RFC 4314 §3.1).

    Attributes:
      mode: ``replace`` (no prefix), ``add`` (``+``) or ``remove`` (``-``).
      rights: the rights letters without the prefix, as sent.
    """

    tag: str
    mailbox: str
    identifier: str
    mode: Literal["replace", "add", "remove"]
    rights: str


@final
@dataclass(frozen=True, slots=True)
class DeleteAcl:
    """``DELETEACL mailbox identifier`` (RFC 4314 §3.2)."""

    tag: str
    mailbox: str
    identifier: str


@final
@dataclass(frozen=True, slots=True)
class GetAcl:
    """``GETACL mailbox`` (RFC 4314 §3.3)."""

    tag: str
    mailbox: str


@final
@dataclass(frozen=True, slots=True)
class ListRights:
    """``LISTRIGHTS mailbox identifier`` (RFC 4314 §3.4)."""

    tag: str
    mailbox: str
    identifier: str


@final
@dataclass(frozen=True, slots=True)
class MyRights:
    """``MYRIGHTS mailbox`` (RFC 4314 §3.5)."""

    tag: str
    mailbox: str


@final
@dataclass(frozen=True, slots=True)
class GetMetadata:
    """``GETMETADATA [(options)] mailbox entries`` (RFC 5464 §4.2).

    Attributes:
      mailbox: the mailbox, or ``""`` for server annotations.
      entries: the entry names, as sent.
      maxsize: the MAXSIZE option (RFC 5464 §4.2.1), or ``None``.
      depth: the DEPTH option (RFC 5464 §4.2.2); ``"0"`` when absent.
    """

    tag: str
    mailbox: str
    entries: tuple[str, ...]
    maxsize: int | None = None
    depth: Literal["0", "1", "infinity"] = "0"


@final
@dataclass(frozen=True, slots=True)
class SetMetadata:
    """``SETMETADATA mailbox (entry value ...)`` (RFC 5464 §4.3): value ``None`` removes."""

    tag: str
    mailbox: str
    entries: tuple[tuple[str, bytes | None], ...]


@final
@dataclass(frozen=True, slots=True)
class Compress:
    """``COMPRESS mechanism`` (RFC 4978 §3): the mechanism upper-cased (``DEFLATE``)."""

    tag: str
    mechanism: str


# ----------------------------------------------------------------------------- selected


@final
@dataclass(frozen=True, slots=True)
class Check:
    """``CHECK`` (IMAP4rev1 only: RFC 3501 §6.4.1; a NOOP in effect)."""

    tag: str


@final
@dataclass(frozen=True, slots=True)
class Close:
    """``CLOSE`` (RFC 9051 §6.4.1)."""

    tag: str


@final
@dataclass(frozen=True, slots=True)
class Unselect:
    """``UNSELECT`` (RFC 9051 §6.4.2; RFC 3691)."""

    tag: str


@final
@dataclass(frozen=True, slots=True)
class Expunge:
    """``EXPUNGE`` (RFC 9051 §6.4.3)."""

    tag: str


@final
@dataclass(frozen=True, slots=True)
class UidExpunge:
    """``UID EXPUNGE uids`` (RFC 9051 §6.4.9; RFC 4315 §2.1)."""

    tag: str
    uids: SequenceSet


@final
@dataclass(frozen=True, slots=True)
class Search:
    """``[UID] SEARCH [RETURN (...)] [CHARSET c] keys...`` (RFC 9051 §6.4.4; RFC 4731; RFC 5182).

    Attributes:
      criteria: the search program: the key itself if one top-level key was given,
        else :class:`~plugins.imap.proto.search_keys.All` of the top-level keys.
      charset: the CHARSET argument, upper-cased (only ``US-ASCII`` and ``UTF-8``
        parse; others are refused with ``NO [BADCHARSET]``), ``None`` if absent.
      returns: ``None`` without RETURN (an IMAP4rev1 ``SEARCH`` response); else the
        options in order, with ``RETURN ()`` given as ``("ALL",)`` (RFC 4731 §3.1).
      uid: ``UID SEARCH``.
      partial: ``PARTIAL low:high``'s range, low <= high (RFC 5267 §4.4), or None.
    """

    tag: str
    criteria: SearchKey
    charset: str | None = None
    returns: tuple[SearchReturn, ...] | None = None
    uid: bool = False
    partial: tuple[int, int] | None = None


@final
@dataclass(frozen=True, slots=True)
class Fetch:
    """``[UID] FETCH set items [(modifiers)]`` (RFC 9051 §6.4.5; RFC 7162 §3.1.4, §3.2.6).

    Attributes:
      sequence: message numbers, or UIDs with ``uid``.
      items: the data items, macros (ALL, FAST, FULL) expanded, in the order given;
        ``PREVIEW`` and ``PREVIEW (LAZY)`` both give ``SimpleItem("PREVIEW")``
        (RFC 8970 §3.1, §4.1).
      changed_since: the CHANGEDSINCE modifier (RFC 7162 §3.1.4.1), or ``None``.
      vanished: the VANISHED modifier (RFC 7162 §3.2.6; the parser allows it only with
        UID FETCH and CHANGEDSINCE; the session checks QRESYNC is enabled).
      uid: ``UID FETCH``.
    """

    tag: str
    sequence: SequenceSet
    items: tuple[FetchItem, ...]
    changed_since: int | None = None
    vanished: bool = False
    uid: bool = False


@final
@dataclass(frozen=True, slots=True)
class Store:
    """``[UID] STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] flags`` (RFC 9051 §6.4.6).

    Attributes:
      action: ``set`` (``FLAGS``), ``add`` (``+FLAGS``), ``remove`` (``-FLAGS``).
      flags: the flags, system flags canonicalised, keywords as sent.
      silent: ``.SILENT``: no untagged FETCH for the changes.
      unchanged_since: the UNCHANGEDSINCE modifier (RFC 7162 §3.1.3), or ``None``.
      uid: ``UID STORE``.
    """

    tag: str
    sequence: SequenceSet
    action: Literal["set", "add", "remove"]
    flags: tuple[str, ...]
    silent: bool = False
    unchanged_since: int | None = None
    uid: bool = False


@final
@dataclass(frozen=True, slots=True)
class Copy:
    """``[UID] COPY set mailbox`` (RFC 9051 §6.4.7)."""

    tag: str
    sequence: SequenceSet
    mailbox: str
    uid: bool = False


@final
@dataclass(frozen=True, slots=True)
class Move:
    """``[UID] MOVE set mailbox`` (RFC 9051 §6.4.8; RFC 6851 §3)."""

    tag: str
    sequence: SequenceSet
    mailbox: str
    uid: bool = False


@final
@dataclass(frozen=True, slots=True)
class SortCriterion:
    """One SORT criterion: a key and whether ``REVERSE`` preceded it (RFC 5256 §3)."""

    key: SortKey
    reverse: bool = False


@final
@dataclass(frozen=True, slots=True)
class Sort:
    """``[UID] SORT [RETURN (...)] (criteria) charset keys...`` (RFC 5256 §3; RFC 5267 §3.2).

    Attributes:
      criteria: the sort criteria in order (at least one).
      charset: the charset, upper-cased (``US-ASCII`` or ``UTF-8``).
      search: the search program, as in :attr:`Search.criteria`.
      returns: the ESORT ``RETURN`` options (RFC 5267 §3.2), or ``None``.
      uid: ``UID SORT``.
      partial: ``PARTIAL low:high``'s range, low <= high (RFC 5267 §4.4), or None.
    """

    tag: str
    criteria: tuple[SortCriterion, ...]
    charset: str
    search: SearchKey
    returns: tuple[SearchReturn, ...] | None = None
    uid: bool = False
    partial: tuple[int, int] | None = None


@final
@dataclass(frozen=True, slots=True)
class CancelUpdate:
    """``CANCELUPDATE "tag" ...`` (RFC 5267 §4.3.5): the searching commands' tags."""

    tag: str
    tags: tuple[str, ...]


@final
@dataclass(frozen=True, slots=True)
class Thread:
    """``[UID] THREAD algorithm charset keys...`` (RFC 5256 §3), algorithm upper-cased."""

    tag: str
    algorithm: Literal["REFERENCES", "ORDEREDSUBJECT"]
    charset: str
    search: SearchKey
    uid: bool = False


Uid = Fetch | Store | Copy | Move | Search | Sort | Thread | UidExpunge
"""The commands a ``UID`` prefix can introduce (RFC 9051 §9 ``uid``; RFC 5256; RFC 6851)."""

_AnyState = Capability | Noop | Logout | Id
_NotAuthenticated = StartTls | Authenticate | Login
_Mailboxes = Enable | Select | Examine | Create | Delete | Rename | Subscribe | Unsubscribe
_Authenticated = List | Lsub | Namespace | Status | Append | Idle | Notify | Compress
_Quota = GetQuota | GetQuotaRoot | SetQuota
_Acl = SetAcl | DeleteAcl | GetAcl | ListRights | MyRights
_Metadata = GetMetadata | SetMetadata
_Selected = Check | Close | Unselect | Expunge | UidExpunge | Search | Fetch | Store | Copy | Move
_Sorting = Sort | Thread | CancelUpdate

Command = (
    _AnyState
    | _NotAuthenticated
    | _Mailboxes
    | _Authenticated
    | _Quota
    | _Acl
    | _Metadata
    | _Selected
    | _Sorting
)
"""Every command the parser produces."""
