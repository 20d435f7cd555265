"""Records of the mail model and the change log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, final

__all__ = ["ROLES", "AppendResult", "Changes", "Email", "EmailRow", "Mailbox", "Membership"]

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
        """The highest modseq of the email and its memberships (IMAP MODSEQ)."""
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
