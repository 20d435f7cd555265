"""Thread/get and Thread/changes (RFC 8621 §3).

A thread's id is the store's thread number (the id of the email that started
it), and its ``emailIds`` are its emails oldest received first (§3: "sorted by
the receivedAt date of the Email, oldest first"). In a shared account only
emails in mailboxes the user may read count.

Thread/changes is derived from the email change log (there is no thread log):
for each email created or updated since the state, its thread is created (the
thread id is that email's id) or updated; a destroyed email whose id is a
thread id is that thread updated (it still has emails) or destroyed.
Limitation: a destroyed email that did not start its thread leaves no trace
of its thread, so that thread is not reported as updated (see docs/jmap.md).
"""

from __future__ import annotations

from typing import Any

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
    """Standard /changes derived from the email change log (see the module notes)."""
    account = await call.account_id(args)
    check_keys(args, {"accountId", "sinceState", "maxChanges"})
    position, limit = parse_changes_args(call, args)
    if position is None:
        raise MethodError("cannotCalculateChanges", "unknown state")
    page = await call.kernel.store.mailboxes.changes_page(
        account, "email", position[0], limit, skip=position[1]
    )
    changes = page.changes
    if changes.cannot_calculate:
        raise MethodError("cannotCalculateChanges", "the change log no longer reaches that state")
    alive = [*changes.created, *changes.updated]
    rows = await call.kernel.store.emails.rows(account, alive)
    created_emails = set(changes.created)
    created: dict[int, None] = {}
    updated: dict[int, None] = {}
    destroyed: dict[int, None] = {}
    for email, row in rows.items():
        if row.thread == email and email in created_emails:
            created[row.thread] = None
        else:
            updated[row.thread] = None
    if changes.destroyed:
        members = await call.kernel.store.mailboxes.thread_members(account, list(changes.destroyed))
        for email in changes.destroyed:
            if email in members:
                updated[email] = None
            else:
                destroyed[email] = None
    for thread in created:
        updated.pop(thread, None)
    for thread in destroyed:
        created.pop(thread, None)
        updated.pop(thread, None)
    return {
        "accountId": args["accountId"],
        "oldState": args["sinceState"],
        "newState": position_string(changes.state, page.partial),
        "hasMoreChanges": page.has_more,
        "created": [encode_id(THREAD, t) for t in created],
        "updated": [encode_id(THREAD, t) for t in updated if t not in created],
        "destroyed": [encode_id(THREAD, t) for t in destroyed],
    }
