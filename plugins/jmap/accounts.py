"""Who may see which JMAP accounts (RFC 8620 §1.6.2, §2).

A user sees its own account (``isPersonal``) and every account that shares at
least one mailbox with it (RFC 4314 ``l`` right, recorded by the store's
mailbox ACLs). A shared account has only the mail capability; it is read-only
when the user holds none of the rights that change anything on any of its
shared mailboxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, final

from plugins.jmap.ids import ACCOUNT, encode_id

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel

__all__ = ["Account", "User", "accessible_accounts"]

#: Rights that change something (RFC 4314 §2.1): any of them makes an account writable.
_WRITE_RIGHTS = frozenset("wistexa")


@final
@dataclass(frozen=True, slots=True)
class User:
    """The authenticated principal: its store id and login name."""

    id: int
    name: str


@final
@dataclass(frozen=True, slots=True)
class Account:
    """An account the user can reach.

    ``mailbox_rights`` is ``None`` for the user's own account (every right on
    every mailbox), else the rights it holds per shared mailbox id.
    """

    id: int
    name: str
    is_personal: bool
    read_only: bool
    mailbox_rights: dict[int, str] | None

    @property
    def jmap_id(self) -> str:
        """The account's JMAP id."""
        return encode_id(ACCOUNT, self.id)


async def accessible_accounts(kernel: Kernel, user: User) -> dict[int, Account]:
    """The user's own account and the accounts sharing mailboxes with it, by store id."""
    accounts = {user.id: Account(user.id, user.name, True, False, None)}
    shared: dict[int, dict[int, str]] = {}
    for mailbox, rights in await kernel.store.mailboxes.shared_with(user.id):
        if "l" in rights and mailbox.account != user.id:
            shared.setdefault(mailbox.account, {})[mailbox.id] = rights
    if shared:
        names = await kernel.store.directory.names(shared)
        for owner, rights in shared.items():
            writable = any(_WRITE_RIGHTS & set(r) for r in rights.values())
            accounts[owner] = Account(
                owner, names.get(owner, str(owner)), False, not writable, rights
            )
    return accounts
