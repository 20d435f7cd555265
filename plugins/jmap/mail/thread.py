"""Thread/get and Thread/changes (RFC 8621 §3).

A thread's id is the store's thread number (the id of the email that started
it), and its ``emailIds`` are its emails oldest received first (§3: "sorted by
the receivedAt date of the Email, oldest first"). In a shared account only
emails in mailboxes the user may read count.

Thread/changes reads the store's thread log (kind ``thread``): a thread is
created with its first email, updated when an email joins or leaves it, and
destroyed with its last email.
"""

from __future__ import annotations

from typing import Any

from kernel.store.mail_ops import THREAD_KIND
from plugins.jmap.capabilities import MAIL
from plugins.jmap.ids import EMAIL, THREAD, decode_id, encode_id
from plugins.jmap.methods import Call, MethodError, register
from plugins.jmap.standard import check_keys, parse_changes_args, standard_get
from plugins.jmap.state import position_string

__all__ = ["thread_changes", "thread_get"]


async def _members(call: Call, account: int, threads: list[int]) -> dict[int, list[int]]:
    members = await call.kernel.store.mailboxes.thread_members(account, threads)
    rights = await call.mailbox_rights(account)
    if rights is None:
        return members
    readable = {m for m, r in rights.items() if "r" in r}
    out: dict[int, list[int]] = {}
    for thread, emails in members.items():
        kept = []
        for email in emails:
            found = await call.kernel.store.emails.get(account, email)
            if readable & set(found.mailboxes):
                kept.append(email)
        if kept:
            out[thread] = kept
    return out


@register("Thread/get", MAIL)
async def thread_get(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /get; ``ids: null`` (every thread) is ``requestTooLarge`` when the
    account has more than ``maxObjectsInGet`` threads (RFC 8620 §5.1)."""
    account = await call.account_id(args)
    limit = call.settings.max_objects_in_get

    async def load(ids: list[int] | None) -> dict[int, dict[str, Any]]:
        if ids is None:
            ids = await call.kernel.store.mailboxes.thread_ids(account, limit + 1)
            if len(ids) > limit:
                raise MethodError("requestTooLarge", f"more than {limit} threads")
        members = await _members(call, account, ids)
        return {
            thread: {
                "id": encode_id(THREAD, thread),
                "emailIds": [encode_id(EMAIL, e) for e in emails],
            }
            for thread, emails in members.items()
        }

    return await standard_get(
        call,
        args,
        account=account,
        decode=lambda value: decode_id(THREAD, value),
        load=load,
        known=("id", "emailIds"),
    )


@register("Thread/changes", MAIL)
async def thread_changes(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /changes from the store's thread log (see the module notes)."""
    account = await call.account_id(args)
    check_keys(args, {"accountId", "sinceState", "maxChanges"})
    position, limit = parse_changes_args(call, args)
    if position is None:
        raise MethodError("cannotCalculateChanges", "unknown state")
    page = await call.kernel.store.mailboxes.changes_page(
        account, THREAD_KIND, position[0], limit, skip=position[1]
    )
    changes = page.changes
    if changes.cannot_calculate:
        raise MethodError("cannotCalculateChanges", "the change log no longer reaches that state")
    created = dict.fromkeys(changes.created)
    destroyed = dict.fromkeys(changes.destroyed)
    updated = dict.fromkeys(t for t in changes.updated if t not in destroyed)
    return {
        "accountId": args["accountId"],
        "oldState": args["sinceState"],
        "newState": position_string(changes.state, page.partial),
        "hasMoreChanges": page.has_more,
        "created": [encode_id(THREAD, t) for t in created],
        "updated": [encode_id(THREAD, t) for t in updated if t not in created],
        "destroyed": [encode_id(THREAD, t) for t in destroyed],
    }
