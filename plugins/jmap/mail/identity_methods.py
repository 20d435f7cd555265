"""Identity/get, Identity/changes, Identity/set (RFC 8621 §6).

* ``email`` is set at creation and immutable (§6: "This property MUST NOT be
  changed"); it must be an address the account owns (its own, an alias, or
  under a catch-all domain of it), else SetError ``forbiddenFrom``.
* ``mayDelete`` is server-set: false for the default identity (the account's
  own address, created on first use), true for the others; destroying one
  that may not be deleted is ``forbidden``.
* ``replyTo`` and ``bcc`` are ``EmailAddress[]|null``.
"""

from __future__ import annotations

from typing import Any

from kernel.errors import NoSuchItem, PreconditionFailed
from kernel.store import Identity
from plugins.jmap.capabilities import SUBMISSION
from plugins.jmap.mail.identity_view import (
    PROPERTIES,
    decode_identity,
    encode_identity,
    identities,
    identity_object,
    owns_address,
)
from plugins.jmap.mail.submission_view import is_valid_address
from plugins.jmap.methods import Call, register
from plugins.jmap.standard import (
    SetError,
    apply_patch,
    standard_changes,
    standard_get,
    standard_set,
)

__all__ = ["identity_changes", "identity_get", "identity_set"]

#: Settable property to the store field.
_SETTABLE = {
    "name": "name",
    "replyTo": "reply_to",
    "bcc": "bcc",
    "textSignature": "text_signature",
    "htmlSignature": "html_signature",
}


@register("Identity/get", SUBMISSION)
async def identity_get(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /get (§6.1); the default identity exists from the first call on."""
    account = await call.account_id(args)
    await identities(call, account)
    state = await call.state(account)

    async def load(ids: list[int] | None) -> dict[int, dict[str, Any]]:
        found = await call.kernel.store.identities.list(account)
        return {i.id: identity_object(i) for i in found if ids is None or i.id in ids}

    return await standard_get(
        call,
        args,
        account=account,
        decode=decode_identity,
        load=load,
        known=PROPERTIES,
        state=state,
    )


@register("Identity/changes", SUBMISSION)
async def identity_changes(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /changes (§6.2) from the change log (kind ``identity``)."""
    account = await call.account_id(args)
    response, _ = await standard_changes(
        call, args, account=account, kind="identity", encode=encode_identity
    )
    return response


def _is_addresses(value: Any) -> bool:
    """``EmailAddress[]|null`` (RFC 8621 §4.1.2.3): ``email`` required, ``name`` optional."""
    if value is None:
        return True
    if not isinstance(value, list):
        return False
    for item in value:
        if not isinstance(item, dict) or set(item) - {"name", "email"}:
            return False
        if not isinstance(item.get("email"), str) or "@" not in item["email"]:
            return False
        if item.get("name") is not None and not isinstance(item["name"], str):
            return False
    return True


def _check(obj: dict[str, Any]) -> dict[str, Any]:
    """The store fields for the settable properties of ``obj``; invalidProperties else."""
    bad = []
    fields: dict[str, Any] = {}
    for key, value in obj.items():
        if key in ("replyTo", "bcc"):
            if not _is_addresses(value):
                bad.append(key)
            elif value is None:
                fields[_SETTABLE[key]] = None
            else:
                fields[_SETTABLE[key]] = [
                    {"name": a.get("name"), "email": a["email"]} for a in value
                ]
        elif isinstance(value, str) or (key == "name" and value is None):
            fields[_SETTABLE[key]] = value or ""
        else:
            bad.append(key)
    if bad:
        raise SetError("invalidProperties", "invalid property values", properties=bad)
    return fields


@register("Identity/set", SUBMISSION)
async def identity_set(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /set (§6.3) with ``forbiddenFrom`` for an address the account lacks."""
    account = await call.account_id(args)
    await identities(call, account)
    store = call.kernel.store.identities

    async def find(jmap_id: str) -> Identity:
        key = decode_identity(jmap_id)
        if key is None:
            raise SetError("notFound")
        try:
            return await store.get(account, key)
        except NoSuchItem:
            raise SetError("notFound") from None

    async def create(creation_id: str, obj: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        del creation_id
        unknown = [k for k in obj if k not in _SETTABLE and k != "email"]
        if unknown:
            raise SetError("invalidProperties", "unknown or server-set", properties=unknown)
        email = obj.get("email")
        if not is_valid_address(email):
            raise SetError("invalidProperties", "email is required", properties=["email"])
        fields = _check({k: v for k, v in obj.items() if k != "email"})
        if not await owns_address(call, account, email):
            raise SetError("forbiddenFrom", f"the account may not send as {email}")
        created = await store.create(account, email, **fields)
        full = identity_object(created)
        return full["id"], {k: v for k, v in full.items() if k not in obj and k != "id"}

    async def update(jmap_id: str, patch: dict[str, Any]) -> dict[str, Any] | None:
        current = identity_object(await find(jmap_id))
        new = apply_patch(current, patch)
        changed = {k: v for k, v in new.items() if current.get(k) != v}
        bad = [k for k in changed if k not in _SETTABLE]
        bad += [k for k in current if k not in new]
        if bad:
            raise SetError("invalidProperties", "immutable or unknown", properties=sorted(bad))
        if changed:
            try:
                await store.update(account, decode_identity(jmap_id) or 0, **_check(changed))
            except NoSuchItem:
                raise SetError("notFound") from None
        return None

    async def destroy(jmap_id: str) -> None:
        found = await find(jmap_id)
        try:
            await store.delete(account, found.id)
        except PreconditionFailed:
            raise SetError("forbidden", "this identity may not be deleted") from None
        except NoSuchItem:
            raise SetError("notFound") from None

    return await standard_set(
        call, args, account=account, create=create, update=update, destroy=destroy
    )
