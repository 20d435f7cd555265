"""Mailbox/get and Mailbox/changes (RFC 8621 §2.1, §2.2)."""

from __future__ import annotations

from typing import Any

from plugins.jmap.capabilities import MAIL
from plugins.jmap.mail.mailbox_view import (
    COUNT_PROPERTIES,
    EXTRA_PROPERTIES,
    PROPERTIES,
    decode_mailbox,
    encode_mailbox,
    mailbox_object,
    visible_mailboxes,
)
from plugins.jmap.methods import Call, register
from plugins.jmap.standard import standard_changes, standard_get

__all__ = ["mailbox_changes", "mailbox_get"]


@register("Mailbox/get", MAIL)
async def mailbox_get(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /get over the visible mailboxes (§2.1: ``ids: null`` is all of them)."""
    account = await call.account_id(args)
    state = await call.state(account)
    requested = args.get("properties") if isinstance(args.get("properties"), list) else None
    wanted_counts = requested is None or any(p in COUNT_PROPERTIES for p in requested)
    personal = await call.mailbox_rights(account) is None
    share_with = personal and requested is not None and "shareWith" in requested

    async def load(ids: list[int] | None) -> dict[int, dict[str, Any]]:
        visible = await visible_mailboxes(call, account)
        keys = list(visible) if ids is None else [i for i in ids if i in visible]
        return {
            key: await mailbox_object(
                call,
                account,
                visible[key][0],
                visible[key][1],
                set(visible),
                counts=wanted_counts,
                share_with=share_with,
            )
            for key in keys
        }

    return await standard_get(
        call,
        args,
        account=account,
        decode=decode_mailbox,
        load=load,
        known=(*PROPERTIES, *EXTRA_PROPERTIES),
        default=PROPERTIES,
        state=state,
    )


@register("Mailbox/changes", MAIL)
async def mailbox_changes(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /changes; ``updatedProperties`` lists the counts when every update
    since came from an email change (§2.2), else null."""
    account = await call.account_id(args)
    response, counts_only = await standard_changes(
        call, args, account=account, kind="mailbox", encode=encode_mailbox, companion="email"
    )
    if await call.mailbox_rights(account) is not None:
        # A shared account: only the mailboxes the user can see (destroyed ones stay,
        # their rights are gone with them).
        visible = {encode_mailbox(m) for m in await visible_mailboxes(call, account)}
        response["created"] = [i for i in response["created"] if i in visible]
        response["updated"] = [i for i in response["updated"] if i in visible]
    response["updatedProperties"] = (
        list(COUNT_PROPERTIES) if counts_only and response["updated"] else None
    )
    return response
