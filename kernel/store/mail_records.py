"""Records of the mail model and the change log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, final

__all__ = [
    "ROLES",
    "AppendResult",
    "Changes",
    "ChangesPage",
    "CopyResult",
    "Email",
    "EmailRow",
    "Mailbox",
    "MailboxChanges",
    "MailboxCounts",
    "MailboxSnapshot",
    "Membership",
    "PushSubscriptionRecord",
    "QueryResult",
]

#: Mailbox roles (RFC 8621 §2; RFC 6154 special-use attributes), and the
#: mailboxes every new account gets, in this order.
ROLES: tuple[tuple[str, str], ...] = (
    ("inbox", "INBOX"),
    ("drafts", "Drafts"),
    ("sent", "Sent"),
    ("junk", "Junk"),
    ("trash", "Trash"),
    ("archive", "Archive"),
)


@final
@dataclass(frozen=True, slots=True)
class Mailbox:
    """A mailbox of one account; ``parent`` is None at the top level."""

    id: int
    account: int
    parent: int | None
    name: str
    role: str | None
    sort_order: int
    subscribed: bool
    uidvalidity: int
    uidnext: int
    modseq: int  # the change-log position of its last change


@final
@dataclass(frozen=True, slots=True)
class Changes:
    """What changed in one kind of item since a change-log position.

    ``cannot_calculate`` means the log no longer reaches back to ``since``
    (JMAP ``cannotCalculateChanges``): the client must resynchronise.
    """

    since: int
    state: int
    created: tuple[int, ...] = ()
    updated: tuple[int, ...] = ()
    destroyed: tuple[int, ...] = ()
    cannot_calculate: bool = False


ChangeOp = Literal["created", "updated", "destroyed"]


@final
@dataclass(frozen=True, slots=True)
class EmailRow:
    """What the store keeps about one email besides its bytes (written at append)."""

    account: int
    blob: str
    thread: int
    received_at: float
    size: int
    sent_at: float | None
    message_id: str | None
    subject: str
    base_subject: str
    sender: str
    has_attachment: bool
    preview: str
    structure: str  # kernel.mail.to_json of the parsed message, as JSON text
    modseq: int


@final
@dataclass(frozen=True, slots=True)
class Membership:
    """An email's place in one mailbox: its IMAP UID there and the modseq of that entry."""

    mailbox: int
    uid: int
    email: int
    modseq: int


@final
@dataclass(frozen=True, slots=True)
class Email:
    """One stored message: its row, keywords and mailbox memberships."""

    id: int
    row: EmailRow
    keywords: frozenset[str]
    memberships: tuple[Membership, ...]

    @property
    def mailboxes(self) -> dict[int, int]:
        """Mailbox id to UID."""
        return {m.mailbox: m.uid for m in self.memberships}

    @property
    def modseq(self) -> int:
        """The highest modseq of the email and its memberships (in a mailbox, IMAP's
        MODSEQ is the membership's)."""
        return max([self.row.modseq, *(m.modseq for m in self.memberships)])

    def structure(self) -> Any:
        """The parsed MIME structure (a ``kernel.mail.Message``)."""
        import json

        from kernel.mail import from_json

        return from_json(json.loads(self.row.structure))


@final
@dataclass(frozen=True, slots=True)
class AppendResult:
    """What :meth:`Emails.append` created."""

    email: int
    thread: int
    blob: str
    size: int
    uids: dict[int, int]  # mailbox id -> UID
    modseq: int


@final
@dataclass(frozen=True, slots=True)
class CopyResult:
    """What :meth:`Emails.copy` and :meth:`Emails.move` did, in the order asked.

    ``pairs`` holds ``(source uid, target uid)`` for IMAP COPYUID (RFC 4315
    §3), ``emails`` the target email ids (the same email when it was not in
    the target yet; a new email sharing the bytes when it already was).
    """

    uidvalidity: int
    pairs: tuple[tuple[int, int], ...]
    emails: tuple[int, ...]
    modseq: int


@final
@dataclass(frozen=True, slots=True)
class MailboxCounts:
    """Counts of one mailbox (IMAP STATUS, JMAP Mailbox properties).

    ``unseen`` lacks ``$seen`` (IMAP UNSEEN); ``unread`` lacks both ``$seen`` and
    ``$draft`` (RFC 8621 §2 unreadEmails); ``unread_threads`` follows RFC 8621
    §2's "quality implementation" rule, trash counted apart.
    """

    total: int
    unseen: int
    unread: int
    deleted: int
    size: int
    threads: int | None  # None unless asked for
    unread_threads: int | None


@final
@dataclass(frozen=True, slots=True)
class MailboxChanges:
    """What changed in one mailbox since a modseq (RFC 7162 QRESYNC).

    ``changed`` are the memberships whose MODSEQ is above ``since`` (new or with
    changed keywords), in UID order; ``expunged`` the UIDs removed since, in
    order. ``cannot_calculate``: the log was pruned past ``since``, so only
    ``changed`` is reliable and the client must resynchronise expunges.
    """

    since: int
    highest_modseq: int
    changed: tuple[Membership, ...]
    expunged: tuple[int, ...]
    cannot_calculate: bool = False
    #: The keywords of each changed email (absent: none), read in the same snapshot.
    keywords: Mapping[int, frozenset[str]] = field(default_factory=dict)
    #: With ``cannot_calculate``: every UID now in the mailbox, so a client's view
    #: can tell what went missing (RFC 7162 §3.2.5.2); else ``None``.
    current: tuple[int, ...] | None = None


@final
@dataclass(frozen=True, slots=True)
class MailboxSnapshot:
    """A mailbox and its memberships with their emails' keywords, in one snapshot
    (what IMAP SELECT loads; ``mailbox.modseq`` is the HIGHESTMODSEQ it agrees with)."""

    mailbox: Mailbox
    members: tuple[tuple[Membership, frozenset[str]], ...]


@final
@dataclass(frozen=True, slots=True)
class QueryResult:
    """A page of an email query (JMAP Email/query, RFC 8620 §5.5).

    ``ids`` are email ids in sort order; ``position`` is the index of the first
    one in the whole result; ``total`` is None unless asked for; ``state`` the
    account's modseq the query saw.
    """

    ids: tuple[int, ...]
    position: int
    total: int | None
    state: int


@final
@dataclass(frozen=True, slots=True)
class ChangesPage:
    """A bounded slice of the change log for one kind (JMAP /changes with ``maxChanges``).

    ``changes.state`` is the log position the slice reaches; ``partial`` > 0 means
    the slice ends inside transaction ``changes.state``, after its first
    ``partial`` entries (in item order) — the rest of it comes next. ``has_more``
    says the log goes on after the slice.
    ``with_companion`` is true when every *updated* item of the slice was logged
    by a transaction that also logged the companion kind (for mailboxes: an email
    transaction, which changes only their counts; RFC 8621 §2.2 updatedProperties).
    """

    changes: Changes
    has_more: bool
    with_companion: bool = False
    partial: int = 0


@final
@dataclass(frozen=True, slots=True)
class PushSubscriptionRecord:
    """A JMAP PushSubscription (RFC 8620 §7.2) of one principal.

    ``keys`` and ``types`` are JSON text or None (``types`` None: every type);
    ``expires`` a POSIX time or None.
    """

    id: int
    account: int
    device_client_id: str
    url: str
    keys: str | None
    verification_code: str
    verified: bool
    expires: float | None
    types: str | None
    created: float
