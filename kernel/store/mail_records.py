"""Records of the mail model and the change log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, final

__all__ = ["ROLES", "Changes", "Mailbox"]

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
