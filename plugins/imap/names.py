"""Mailbox names: the tree of mailboxes one user sees, and LIST pattern matching.

The personal namespace (prefix ``""``) holds the account's own mailboxes; mailboxes
other accounts share through ACLs (RFC 4314) appear in the other users' namespace as
``Shared/<owner>/<path>`` (RFC 2342 §5, RFC 9051 §5.1.2). The hierarchy delimiter is
``/`` (the store's); names are Unicode here, and :func:`decode_name` /
``responses.mailbox`` convert from and to the wire form (modified UTF-7 unless UTF-8
is enabled, RFC 9051 §5.1 and Appendix A.1; RFC 6855 §3).

Implementation notes:

* A :class:`Tree` is a snapshot taken per command; the store is the authority, so an
  operation on a mailbox that vanished since answers ``NO [NONEXISTENT]``.
* ``INBOX`` is case-insensitive as a first level (RFC 9051 §5.1): ``inbox/x`` is
  ``INBOX/x``. Other names are case-sensitive.
* The ``Shared`` and ``Shared/<owner>`` levels are not mailboxes (``\\Noselect``); the
  personal namespace cannot hold a top-level ``Shared``.
* The owner's rights on a personal mailbox are all of RFC 4314's (``RIGHTS``); on a
  shared one they are what the owner granted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, final

from kernel.store import RIGHTS, Mailbox, Mailboxes, Store
from plugins.imap import storeview
from plugins.imap.proto.mutf7 import decode_mutf7

__all__ = [
    "DELIMITER",
    "SHARED_PREFIX",
    "MailboxRef",
    "Tree",
    "attributes",
    "decode_name",
    "normalise",
    "pattern_matcher",
]

DELIMITER: Final = "/"
#: The other users' namespace (RFC 2342 §5).
SHARED_PREFIX: Final = "Shared"
#: RFC 6154 §2 special-use attributes of the store's roles (RFC 8621 §2).
SPECIAL_USE: Final[dict[str, str]] = {
    "drafts": "\\Drafts",
    "sent": "\\Sent",
    "junk": "\\Junk",
    "trash": "\\Trash",
    "archive": "\\Archive",
    "all": "\\All",
    "flagged": "\\Flagged",
    "important": "\\Important",
}
ROLES: Final[dict[str, str]] = {v.lower(): k for k, v in SPECIAL_USE.items()}


def normalise(name: str) -> str:
    """``INBOX`` in canonical case as a first level, NFC (RFC 9051 §5.1), no trailing
    delimiter (RFC 9051 §6.3.4: ``foo/`` names ``foo``)."""
    name = unicodedata.normalize("NFC", name)
    if name.endswith(DELIMITER) and name != DELIMITER:
        name = name.rstrip(DELIMITER)
    head, sep, rest = name.partition(DELIMITER)
    if head.upper() == "INBOX":
        return "INBOX" + sep + rest
    return name


def decode_name(wire: str, *, utf8: bool) -> str:
    """A mailbox name as sent, in Unicode; ``ValueError`` if it is not valid.

    Without UTF-8 the name is modified UTF-7 (RFC 9051 Appendix A.1); with it, the name
    is UTF-8 already (the parser decoded it; RFC 6855 §3).
    """
    return normalise(wire if utf8 else decode_mutf7(wire))


@final
@dataclass(frozen=True, slots=True)
class MailboxRef:
    """A mailbox as one user sees it.

    Attributes:
        name: the full name in this user's view (Unicode).
        mailbox: the store record, or None for a ``\\Noselect`` level of the shared
            namespace.
        owner: the owning account's store id (the ``account`` of store calls).
        rights: this user's RFC 4314 rights.
    """

    name: str
    mailbox: Mailbox | None
    owner: int
    rights: str

    @property
    def selectable(self) -> bool:
        """Whether it is a real mailbox (not a namespace level)."""
        return self.mailbox is not None

    @property
    def special_use(self) -> str | None:
        """The RFC 6154 attribute of its role, if any."""
        role = self.mailbox.role if self.mailbox is not None else None
        return SPECIAL_USE.get(role) if role else None


@final
class Tree:
    """Every mailbox one user can see, by name, at one moment."""

    def __init__(self, refs: list[MailboxRef]) -> None:
        self._by_name = {ref.name: ref for ref in refs}
        self._parents: set[str] = set()
        for name in self._by_name:
            head, _, _ = name.rpartition(DELIMITER)
            while head:
                self._parents.add(head)
                head, _, _ = head.rpartition(DELIMITER)

    @classmethod
    async def load(cls, store: Store, account: int) -> Tree:
        """Read the account's own mailboxes and those shared with it."""
        own = await store.mailboxes.list(account)
        refs = [MailboxRef(Mailboxes.path(own, m), m, account, RIGHTS) for m in own]
        shared = await store.mailboxes.shared_with(account)
        if shared:
            owners = {m.account for m, _ in shared}
            names = await storeview.principal_names(store, owners)
            for owner in owners:
                boxes = await store.mailboxes.list(owner)
                rights = {m.id: r for m, r in shared if m.account == owner}
                prefix = f"{SHARED_PREFIX}{DELIMITER}{names.get(owner, str(owner))}"
                refs.append(MailboxRef(SHARED_PREFIX, None, 0, "l"))
                refs.append(MailboxRef(prefix, None, owner, "l"))
                for box in boxes:
                    if box.id in rights:
                        path = f"{prefix}{DELIMITER}{Mailboxes.path(boxes, box)}"
                        refs.append(MailboxRef(path, box, owner, rights[box.id]))
        return cls(refs)

    def find(self, name: str) -> MailboxRef | None:
        """The mailbox called ``name`` (already normalised), if visible."""
        return self._by_name.get(name)

    def by_id(self, mailbox: int) -> MailboxRef | None:
        """The visible mailbox with store id ``mailbox``."""
        return next(
            (r for r in self._by_name.values() if r.mailbox and r.mailbox.id == mailbox), None
        )

    def all(self) -> list[MailboxRef]:
        """Every visible mailbox and namespace level, sorted by name (INBOX first)."""
        return sorted(self._by_name.values(), key=lambda r: (r.name != "INBOX", r.name))

    def has_children(self, name: str) -> bool:
        """Whether some visible mailbox is below ``name``."""
        return name in self._parents

    def parent_of(self, name: str) -> MailboxRef | None:
        """The mailbox one level up, if there is one."""
        head, sep, _ = name.rpartition(DELIMITER)
        return self._by_name.get(head) if sep else None


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    out = []
    for char in pattern:
        if char == "*":
            out.append(".*")
        elif char == "%":
            out.append(f"[^{re.escape(DELIMITER)}]*")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.DOTALL)


def pattern_matcher(reference: str, pattern: str) -> re.Pattern[str]:
    """A regex matching the names ``LIST reference pattern`` selects (RFC 9051 §6.3.9).

    The reference and the pattern are joined as they are (the reference ends with the
    delimiter when it names a level); ``*`` matches anything, ``%`` anything but the
    delimiter, and a leading ``INBOX`` in any case is ``INBOX`` (RFC 9051 §5.1).
    """
    joined = reference + pattern
    head, sep, rest = joined.partition(DELIMITER)
    if head.upper() == "INBOX":
        joined = "INBOX" + sep + rest
    return _compile(unicodedata.normalize("NFC", joined))


def attributes(tree: Tree, ref: MailboxRef, *, subscribed: bool = False) -> list[str]:
    """The LIST name attributes of ``ref`` (RFC 9051 §7.3.1; RFC 3348; RFC 6154 §2).

    ``subscribed`` adds ``\\Subscribed`` when the mailbox is (RFC 5258 §3.2).
    """
    out = ["\\HasChildren" if tree.has_children(ref.name) else "\\HasNoChildren"]
    if ref.mailbox is None:
        out.append("\\Noselect")
    else:
        use = ref.special_use
        if use is not None:
            out.append(use)
        if subscribed and ref.mailbox.subscribed:
            out.append("\\Subscribed")
    return out
