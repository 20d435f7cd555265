"""Mailbox objects (RFC 8621 §2) built from the store's mailboxes and counters.

Counts come from :meth:`kernel.store.Emails.counts`, the counters kept in the
same transaction as each change, so they equal an Email/query total
(``inMailbox``) read in the same state. ``myRights`` follows RFC 8621 §2's
mapping from the RFC 4314 rights the user holds (all of them on its own
mailboxes):

=====================  ===========
myRights               ACL rights
=====================  ===========
mayReadItems           ``l`` + ``r``
mayAddItems            ``i``
mayRemoveItems         ``t`` + ``e``
maySetSeen             ``s``
maySetKeywords         ``w``
mayCreateChild         ``k``
mayRename              ``x``
mayDelete              ``x``
maySubmit              ``p``
=====================  ===========

In a shared account only the mailboxes the user holds ``l`` on are visible;
a visible mailbox whose parent is not visible shows ``parentId: null``.
"""

from __future__ import annotations

from typing import Any, Final

from kernel.store import RIGHTS, Mailbox
from kernel.store.mailboxes import ANYONE
from plugins.jmap.ids import ACCOUNT, MAILBOX, decode_id, encode_id
from plugins.jmap.methods import Call

__all__ = [
    "COUNT_PROPERTIES",
    "EXTRA_PROPERTIES",
    "PROPERTIES",
    "decode_mailbox",
    "encode_mailbox",
    "mailbox_object",
    "my_rights",
    "rights_letters",
    "visible_mailboxes",
]

PROPERTIES: Final = (
    "id",
    "name",
    "parentId",
    "role",
    "sortOrder",
    "totalEmails",
    "unreadEmails",
    "totalThreads",
    "unreadThreads",
    "myRights",
    "isSubscribed",
)
#: Returned only when asked for: the sharing extension (modelled on RFC 9670's
#: ``shareWith``: account id of each grantee to its MailboxRights).
EXTRA_PROPERTIES: Final = ("shareWith",)
#: The properties that change when only the mailbox's contents change (§2.2).
COUNT_PROPERTIES: Final = ("totalEmails", "unreadEmails", "totalThreads", "unreadThreads")


def encode_mailbox(mailbox: int) -> str:
    """The JMAP id of a store mailbox."""
    return encode_id(MAILBOX, mailbox)


def decode_mailbox(value: str) -> int | None:
    """The store mailbox behind a JMAP id, or ``None``."""
    return decode_id(MAILBOX, value)


def my_rights(rights: str) -> dict[str, bool]:
    """The MailboxRights object for RFC 4314 ``rights``."""
    has = set(rights)
    return {
        "mayReadItems": {"l", "r"} <= has,
        "mayAddItems": "i" in has,
        "mayRemoveItems": {"t", "e"} <= has,
        "maySetSeen": "s" in has,
        "maySetKeywords": "w" in has,
        "mayCreateChild": "k" in has,
        "mayRename": "x" in has,
        "mayDelete": "x" in has,
        "maySubmit": "p" in has,
    }


def rights_letters(rights: dict[str, Any]) -> str | None:
    """RFC 4314 rights for a MailboxRights object (``None`` if it is not one)."""
    if not isinstance(rights, dict) or not all(isinstance(v, bool) for v in rights.values()):
        return None
    letters = ""
    mapping = {
        "mayReadItems": "lr",
        "mayAddItems": "i",
        "mayRemoveItems": "te",
        "maySetSeen": "s",
        "maySetKeywords": "w",
        "mayCreateChild": "k",
        "mayRename": "x",
        "mayDelete": "x",
        "maySubmit": "p",
    }
    unknown = set(rights) - set(mapping) - {"mayAdmin"}
    if unknown:
        return None
    for name, granted in rights.items():
        if granted and name in mapping:
            letters += mapping[name]
    if rights.get("mayAdmin"):
        letters += "a"
    return "".join(sorted(set(letters), key="lrswipkxtea".index))


async def visible_mailboxes(call: Call, account: int) -> dict[int, tuple[Mailbox, str]]:
    """The account's mailboxes the user can see, with the rights it holds on each."""
    rights = await call.mailbox_rights(account)
    mailboxes = await call.kernel.store.mailboxes.list(account)
    if rights is None:
        return {m.id: (m, RIGHTS + "p") for m in mailboxes}
    return {m.id: (m, rights[m.id]) for m in mailboxes if "l" in rights.get(m.id, "")}


async def mailbox_object(
    call: Call,
    account: int,
    mailbox: Mailbox,
    rights: str,
    visible: set[int],
    *,
    counts: bool = True,
    share_with: bool = False,
) -> dict[str, Any]:
    """The full Mailbox object (counts read from the store unless ``counts`` is off;
    ``shareWith`` only with ``share_with``, for the owner)."""
    obj: dict[str, Any] = {
        "id": encode_mailbox(mailbox.id),
        "name": mailbox.name,
        "parentId": (
            encode_mailbox(mailbox.parent)
            if mailbox.parent is not None and mailbox.parent in visible
            else None
        ),
        "role": mailbox.role,
        "sortOrder": mailbox.sort_order,
        "myRights": my_rights(rights),
        "isSubscribed": mailbox.subscribed,
    }
    if share_with:
        grants = await call.kernel.store.mailboxes.acl(account, mailbox.id)
        # An IMAP grant to ``anyone`` (RFC 4314 §2) is no principal: not listed.
        obj["shareWith"] = {
            encode_id(ACCOUNT, p): my_rights(r) for p, r in grants.items() if p != ANYONE
        } or None
    if counts:
        found = await call.kernel.store.emails.counts(account, mailbox.id, threads=True)
        obj.update(
            totalEmails=found.total,
            unreadEmails=found.unread,
            totalThreads=found.threads or 0,
            unreadThreads=found.unread_threads or 0,
        )
    return obj
