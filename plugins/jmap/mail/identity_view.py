"""What the Identity and EmailSubmission methods share: Identity objects in JMAP form,
the addresses an account may send as, and the account's default identity.

An account owns its own address, the aliases delivered to it, and every
address of a domain whose catch-all (``@domain``) is delivered to it.
"""

from __future__ import annotations

from typing import Any, Final

from kernel.store import Identity, normalize_address
from plugins.jmap.ids import IDENTITY, decode_id, encode_id
from plugins.jmap.methods import Call, MethodError

__all__ = [
    "PROPERTIES",
    "decode_identity",
    "encode_identity",
    "identities",
    "identity_object",
    "owns_address",
]

#: RFC 8621 §6 Identity properties.
PROPERTIES: Final = (
    "id",
    "name",
    "email",
    "replyTo",
    "bcc",
    "textSignature",
    "htmlSignature",
    "mayDelete",
)


def encode_identity(key: int) -> str:
    """The JMAP id of identity ``key``."""
    return encode_id(IDENTITY, key)


def decode_identity(value: str) -> int | None:
    """The store key of an identity id (None: not one of ours)."""
    return decode_id(IDENTITY, value)


def _addresses(value: tuple[dict[str, Any], ...] | None) -> list[dict[str, Any]] | None:
    return None if value is None else [dict(a) for a in value]


def identity_object(identity: Identity) -> dict[str, Any]:
    """An Identity object (RFC 8621 §6)."""
    return {
        "id": encode_identity(identity.id),
        "name": identity.name,
        "email": identity.email,
        "replyTo": _addresses(identity.reply_to),
        "bcc": _addresses(identity.bcc),
        "textSignature": identity.text_signature,
        "htmlSignature": identity.html_signature,
        "mayDelete": identity.may_delete,
    }


async def account_name(call: Call, account: int) -> str:
    """The account's primary address."""
    accounts = await call.context.accounts()
    found = accounts.get(account)
    if found is None:
        raise MethodError("accountNotFound")
    return found.name


async def identities(call: Call, account: int) -> list[Identity]:
    """The account's identities; the default one is created on first use (§6: the
    server provides at least one identity for the account's own address)."""
    name = await account_name(call, account)
    return await call.kernel.store.identities.ensure_default(account, name)


async def owns_address(call: Call, account: int, address: str) -> bool:
    """Whether ``account`` may use ``address`` as a sender (see the module notes)."""
    wanted = normalize_address(address)
    local, _, domain = wanted.rpartition("@")
    if not local or not domain:
        return False
    name = await account_name(call, account)
    if wanted == normalize_address(name):
        return True
    aliases = await call.kernel.store.directory.aliases(name)
    owned = {normalize_address(a) for a, _ in aliases}
    return wanted in owned or f"@{domain}" in owned
