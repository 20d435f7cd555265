"""Mailbox/set (RFC 8621 §2.5).

* Settable: ``name``, ``parentId``, ``role``, ``sortOrder``, ``isSubscribed``.
  Server-set properties (counts, ``myRights``, ``id``) may be sent only with
  their current value; anything else is ``invalidProperties``.
* A sibling with the same name is ``alreadyExists`` with ``existingId``
  (names compare exactly; INBOX case-insensitively at the top, as in IMAP).
* Roles: one mailbox per role per account (``invalidProperties`` on
  ``role``); lower-case IANA names only; the inbox cannot lose its role, be
  renamed, moved or destroyed (``forbidden``).
* Destroy: a mailbox with children is ``mailboxHasChild`` whatever
  ``onDestroyRemoveEmails`` says; one with emails is ``mailboxHasEmail``
  unless ``onDestroyRemoveEmails`` is true, then its emails leave with it
  (an email in no other mailbox is destroyed).
* In a shared account the RFC 4314 rights apply: ``k`` on the parent to
  create, ``x`` to rename, move or destroy; missing ones are ``forbidden``.
* Sharing: the owner sets ``shareWith`` (modelled on RFC 9670: grantee account
  id to a MailboxRights object, ``mayAdmin`` for ``a``; null or an absent key
  revokes), recorded as the mailbox's RFC 4314 ACL, the same rights IMAP ACL
  shows. The grantee's session then lists the owner's account.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from kernel.errors import DuplicateUid, NoSuchItem, PreconditionFailed
from kernel.store import Mailbox
from kernel.store.mailboxes import ANYONE
from plugins.jmap.capabilities import MAIL
from plugins.jmap.ids import ACCOUNT, decode_id
from plugins.jmap.mail.mailbox_view import (
    decode_mailbox,
    encode_mailbox,
    mailbox_object,
    rights_letters,
    visible_mailboxes,
)
from plugins.jmap.methods import Call, MethodError, register
from plugins.jmap.standard import SetError, apply_patch, standard_set

__all__ = ["mailbox_set"]

_SETTABLE = {"name", "parentId", "role", "sortOrder", "isSubscribed", "shareWith"}
_SERVER_SET = {
    "id",
    "totalEmails",
    "unreadEmails",
    "totalThreads",
    "unreadThreads",
    "myRights",
}
#: RFC 8621 §2 / the IANA "JMAP Mailbox Roles" registry (RFC 8457 §7).
_ROLES = frozenset(
    {
        "all",
        "archive",
        "drafts",
        "flagged",
        "important",
        "inbox",
        "junk",
        "sent",
        "subscribed",
        "trash",
    }
)


def _norm(name: str, parent: int | None) -> str:
    name = unicodedata.normalize("NFC", name.strip())
    return "INBOX" if parent is None and name.upper() == "INBOX" else name


class _Mailboxes:
    """The per-call view /set works on (reloaded after each write)."""

    def __init__(self, call: Call, account: int) -> None:
        self.call = call
        self.account = account
        self.visible: dict[int, tuple[Mailbox, str]] = {}

    async def reload(self) -> None:
        self.visible = await visible_mailboxes(self.call, self.account)

    def sibling(self, parent: int | None, name: str, exclude: int | None = None) -> int | None:
        wanted = _norm(name, parent)
        for mailbox, _ in self.visible.values():
            if mailbox.parent == parent and mailbox.name == wanted and mailbox.id != exclude:
                return mailbox.id
        return None

    def role_holder(self, role: str) -> int | None:
        return next((m.id for m, _ in self.visible.values() if m.role == role), None)

    def parent_key(self, value: Any) -> int | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise SetError(
                "invalidProperties", "parentId must be an id or null", properties=["parentId"]
            )
        key = decode_mailbox(self.call.resolve_creation_id(value))
        if key is None or key not in self.visible:
            raise SetError("invalidProperties", "no such parent", properties=["parentId"])
        return key

    def rights(self, mailbox: int | None) -> str:
        if mailbox is None:
            return ""  # nobody creates top-level mailboxes in another's account
        return self.visible[mailbox][1] if mailbox in self.visible else ""


def _valid(key: str, value: Any, current: dict[str, Any] | None) -> bool:
    if key in _SERVER_SET:
        return current is not None and current.get(key) == value
    if key == "name":
        return isinstance(value, str) and bool(value.strip())
    if key == "parentId":
        return value is None or isinstance(value, str)
    if key == "role":
        return value is None or (isinstance(value, str) and value in _ROLES)
    if key == "sortOrder":
        # RFC 8621 §2: 0 <= sortOrder < 2^31.
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31
    if key == "isSubscribed":
        return isinstance(value, bool)
    if key == "shareWith":
        return value is None or (
            isinstance(value, dict)
            and all(
                decode_id(ACCOUNT, k) is not None and rights_letters(v) is not None
                for k, v in value.items()
            )
        )
    return False


async def _apply_shares(call: Call, account: int, mailbox: int, old: Any, new: Any) -> None:
    """Grant or revoke so the mailbox's ACL matches ``new`` (a shareWith map)."""
    old_map = old or {}
    new_map = new or {}
    store = call.kernel.store.mailboxes
    for jmap_id in set(old_map) | set(new_map):
        grantee = decode_id(ACCOUNT, jmap_id)
        assert grantee is not None  # checked by _valid
        if grantee == ANYONE:  # the IMAP ``anyone`` row is not a principal's
            raise SetError("invalidProperties", "no such principal", properties=["shareWith"])
        letters = rights_letters(new_map[jmap_id]) if jmap_id in new_map else ""
        if jmap_id in old_map and rights_letters(old_map[jmap_id]) == letters:
            continue
        try:
            await store.set_rights(account, mailbox, grantee, letters or "")
        except (NoSuchItem, PreconditionFailed, ValueError) as exc:
            raise SetError("invalidProperties", str(exc), properties=["shareWith"]) from None
    call.context.forget_accounts()


def _check_values(obj: dict[str, Any], current: dict[str, Any] | None) -> None:
    """Types of the settable properties; server-set ones must equal their value."""
    bad = [key for key, value in obj.items() if not _valid(key, value, current)]
    if bad:
        raise SetError("invalidProperties", "invalid or read-only properties", properties=bad)


@register("Mailbox/set", MAIL)
async def mailbox_set(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /set for mailboxes plus ``onDestroyRemoveEmails`` (§2.5)."""
    account = await call.account_id(args)
    remove_emails = args.get("onDestroyRemoveEmails", False)
    if not isinstance(remove_emails, bool):
        raise MethodError("invalidArguments", "'onDestroyRemoveEmails' must be a boolean")
    store = call.kernel.store.mailboxes
    view = _Mailboxes(call, account)
    await view.reload()
    personal = (await call.mailbox_rights(account)) is None

    async def create(creation_id: str, obj: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        del creation_id
        await view.reload()
        if "name" not in obj:
            raise SetError("invalidProperties", "name is required", properties=["name"])
        _check_values({k: v for k, v in obj.items() if k not in _SERVER_SET}, None)
        server_set = [k for k in obj if k in _SERVER_SET]
        if server_set:
            raise SetError("invalidProperties", "server-set properties", properties=server_set)
        parent = view.parent_key(obj.get("parentId"))
        if not personal and "k" not in view.rights(parent):
            raise SetError("forbidden", "no right to create a mailbox there")
        existing = view.sibling(parent, obj["name"])
        if existing is not None:
            raise SetError(
                "alreadyExists", "a sibling has that name", existingId=encode_mailbox(existing)
            )
        role = obj.get("role")
        if role is not None and view.role_holder(role) is not None:
            raise SetError("invalidProperties", "the role is taken", properties=["role"])
        try:
            mailbox = await store.create(
                account,
                obj["name"],
                parent=parent,
                role=role,
                subscribed=obj.get("isSubscribed", True),
                sort_order=obj.get("sortOrder", 0),
            )
        except ValueError as exc:
            raise SetError("invalidProperties", str(exc), properties=["name"]) from None
        except DuplicateUid as exc:
            raise SetError("invalidProperties", str(exc), properties=["name", "role"]) from None
        except NoSuchItem:
            raise SetError("invalidProperties", "no such parent", properties=["parentId"]) from None
        if obj.get("shareWith"):
            if not personal:
                raise SetError("forbidden", "only the owner shares a mailbox")
            await _apply_shares(call, account, mailbox.id, None, obj["shareWith"])
        await view.reload()
        full = await mailbox_object(
            call, account, mailbox, view.rights(mailbox.id) or "lrswipkxtea", set(view.visible)
        )
        return full["id"], {k: v for k, v in full.items() if k not in obj and k != "id"}

    async def update(jmap_id: str, patch: dict[str, Any]) -> dict[str, Any] | None:
        await view.reload()
        key = decode_mailbox(jmap_id)
        if key is None or key not in view.visible:
            raise SetError("notFound")
        mailbox, rights = view.visible[key]
        current = await mailbox_object(
            call, account, mailbox, rights, set(view.visible), share_with=personal
        )
        if personal and current.get("shareWith") is None:
            current["shareWith"] = {}  # so "shareWith/A3" patches apply to an empty map
        new = apply_patch(current, patch)
        changed = {k: v for k, v in new.items() if current.get(k) != v}
        removed = [k for k in current if k not in new]
        if removed:
            raise SetError("invalidProperties", "cannot remove properties", properties=removed)
        _check_values(changed, current)
        if not changed:
            return None
        fields: dict[str, Any] = {}
        if "name" in changed or "parentId" in changed:
            if mailbox.role == "inbox":
                raise SetError("forbidden", "the inbox cannot be renamed or moved")
            if not personal and "x" not in rights:
                raise SetError("forbidden", "no right to rename")
            parent = view.parent_key(new["parentId"])
            existing = view.sibling(parent, new["name"], exclude=key)
            if existing is not None:
                raise SetError(
                    "alreadyExists", "a sibling has that name", existingId=encode_mailbox(existing)
                )
            fields["name"] = new["name"]
            fields["parent"] = parent
        if "role" in changed:
            if mailbox.role == "inbox":
                raise SetError("forbidden", "the inbox keeps its role")
            role = new.get("role")
            holder = view.role_holder(role) if role is not None else None
            if holder is not None and holder != key:
                raise SetError("invalidProperties", "the role is taken", properties=["role"])
            fields["role"] = role
        if "sortOrder" in changed:
            fields["sort_order"] = new["sortOrder"]
        if "isSubscribed" in changed:
            fields["subscribed"] = new["isSubscribed"]
        if not personal and set(fields) - {"subscribed"} and "x" not in rights:
            raise SetError("forbidden", "no right to change this mailbox")
        if "shareWith" in changed:
            if not personal:
                raise SetError("forbidden", "only the owner shares a mailbox")
            await _apply_shares(call, account, key, current.get("shareWith"), new["shareWith"])
        if not fields:
            return None
        try:
            await store.update(account, key, **fields)
        except PreconditionFailed as exc:
            raise SetError("invalidProperties", str(exc), properties=["parentId"]) from None
        except ValueError as exc:
            raise SetError("invalidProperties", str(exc), properties=sorted(changed)) from None
        except DuplicateUid as exc:
            raise SetError("invalidProperties", str(exc), properties=sorted(changed)) from None
        except NoSuchItem:
            raise SetError("notFound") from None
        return None

    async def destroy(jmap_id: str) -> None:
        await view.reload()
        key = decode_mailbox(jmap_id)
        if key is None or key not in view.visible:
            raise SetError("notFound")
        mailbox, rights = view.visible[key]
        if mailbox.role == "inbox":
            raise SetError("forbidden", "the inbox cannot be destroyed")
        if not personal and "x" not in rights:
            raise SetError("forbidden", "no right to delete")
        # RFC 8621 §2.5: children first, even with onDestroyRemoveEmails.
        all_mailboxes = await store.list(account)
        if any(m.parent == key for m in all_mailboxes):
            raise SetError("mailboxHasChild", "the mailbox has child mailboxes")
        counts = await call.kernel.store.emails.counts(account, key, threads=False)
        if counts.total and not remove_emails:
            raise SetError("mailboxHasEmail", "the mailbox has emails")
        try:
            await store.delete(account, key, remove_emails=remove_emails)
        except DuplicateUid as exc:
            kind = "mailboxHasChild" if "children" in str(exc) else "mailboxHasEmail"
            raise SetError(kind, str(exc)) from None
        except PreconditionFailed as exc:
            raise SetError("forbidden", str(exc)) from None
        except NoSuchItem:
            raise SetError("notFound") from None

    return await standard_set(
        call,
        _ordered(args, view),
        account=account,
        create=create,
        update=update,
        destroy=destroy,
        extra_args=("onDestroyRemoveEmails",),
    )


def _ordered(args: dict[str, Any], view: _Mailboxes) -> dict[str, Any]:
    """``args`` with creates ordered parents first (a ``#x`` parent created before its
    children) and destroys children first, so one /set can build or remove a tree
    in any order the client listed it."""
    out = dict(args)
    creates = args.get("create")
    if isinstance(creates, dict) and all(isinstance(v, dict) for v in creates.values()):
        ordered: dict[str, Any] = {}
        visiting: set[str] = set()

        def place(creation_id: str) -> None:
            if creation_id in ordered or creation_id in visiting:
                return  # done, or a cycle (left for the per-object errors)
            visiting.add(creation_id)
            parent = creates[creation_id].get("parentId")
            if isinstance(parent, str) and parent.startswith("#") and parent[1:] in creates:
                place(parent[1:])
            ordered[creation_id] = creates[creation_id]

        for creation_id in creates:
            place(creation_id)
        out["create"] = ordered
    destroys = args.get("destroy")
    if isinstance(destroys, list) and all(isinstance(d, str) for d in destroys):

        def depth(jmap_id: str) -> int:
            key = decode_mailbox(jmap_id)
            level = 0
            seen: set[int] = set()
            while key is not None and key in view.visible and key not in seen:
                seen.add(key)
                key = view.visible[key][0].parent
                level += 1
            return level

        out["destroy"] = sorted(destroys, key=depth, reverse=True)
    return out
