"""Email/query (RFC 8621 §4.4) and Email/queryChanges (§4.5) over the store's query.

Implementation notes:

- Filter and sort are translated by :mod:`plugins.jmap.mail.email_query_filter` and
  evaluated by the store backend (SQL, with the search index for text), which also pages
  (``position``, ``anchor``, ``limit``) and collapses threads (§4.4.3). The query state
  is the account's modseq the query ran at.
- Email/queryChanges re-runs the query and reports, per RFC 8620 §5.6's allowance, every
  Email changed since the old state as removed and, when still matching, added at its
  current index. When threads matter (``collapseThreads``, thread-keyword conditions or
  sorts) every Email of a changed Email's thread counts as changed, and a destroyed Email
  makes the changes incalculable (``cannotCalculateChanges``): its thread is unknown.
"""

from __future__ import annotations

from typing import Any

from kernel.errors import NoSuchItem
from kernel.store.filters import Comparator, Filter
from kernel.store.mail_records import Changes
from plugins.jmap.capabilities import MAIL
from plugins.jmap.ids import EMAIL, MAILBOX, decode_id, encode_id
from plugins.jmap.mail.email_access import readable_mailboxes, scope_filter
from plugins.jmap.mail.email_query_filter import SORT_PROPERTIES, QueryError, to_filter, to_sort
from plugins.jmap.methods import Call, MethodError, register
from plugins.jmap.standard import parse_query_args, standard_query_changes
from plugins.jmap.state import state_string

__all__ = ["email_query", "email_query_changes", "translate"]


def _mailbox(value: Any) -> int | None:
    return decode_id(MAILBOX, value)


def translate(call: Call, query_filter: Any, sort: Any) -> tuple[Filter, list[Comparator]]:
    """The store filter and sort for JMAP ``filter`` and ``sort`` (MethodError if refused)."""
    try:
        resolved = _resolve_creation_ids(call, query_filter)
        return to_filter(resolved, _mailbox), to_sort(sort)
    except QueryError as error:
        raise MethodError(error.type, error.description) from None


def _resolve_creation_ids(call: Call, node: Any) -> Any:
    # RFC 8620 §5.3: "#creationId" may stand for a Mailbox created earlier in the request.
    if isinstance(node, dict):
        out = dict(node)
        if "inMailbox" in out:
            out["inMailbox"] = call.resolve_creation_id(out["inMailbox"])
        if isinstance(out.get("inMailboxOtherThan"), list):
            out["inMailboxOtherThan"] = [
                call.resolve_creation_id(v) for v in out["inMailboxOtherThan"]
            ]
        if isinstance(out.get("conditions"), list):
            out["conditions"] = [_resolve_creation_ids(call, c) for c in out["conditions"]]
        return out
    return node


_THREAD_CONDITIONS = (
    "allInThreadHaveKeyword",
    "someInThreadHaveKeyword",
    "noneInThreadHaveKeyword",
)


def _thread_sensitive(node: Any, sort: list[Comparator]) -> bool:
    """Whether a change to one Email can move others of its thread in the results."""
    if any(c.key in ("thread_all_keyword", "thread_some_keyword") for c in sort):
        return True
    if isinstance(node, dict):
        if any(key in node for key in _THREAD_CONDITIONS):
            return True
        return any(_thread_sensitive(c, []) for c in node.get("conditions") or [])
    return False


def _collapse(args: dict[str, Any]) -> bool:
    value = args.get("collapseThreads", False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise MethodError("invalidArguments", "'collapseThreads' must be a boolean")
    return value


@register("Email/query", MAIL)
async def email_query(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8621 §4.4 Email/query."""
    account = await call.account_id(args)
    query = parse_query_args(
        call, args, sort_properties=SORT_PROPERTIES, extra_args=("collapseThreads",)
    )
    collapse = _collapse(args)
    where, sort = translate(call, query.filter, query.sort)
    where = scope_filter(where, await readable_mailboxes(call, account))
    anchor = None
    if query.anchor is not None:
        anchor = decode_id(EMAIL, query.anchor)
        if anchor is None:
            raise MethodError("anchorNotFound", f"{query.anchor} is not in the results")
    try:
        result = await call.kernel.store.emails.query(
            account,
            where,
            sort,
            position=query.position,
            anchor=anchor,
            anchor_offset=query.anchor_offset,
            limit=query.limit,
            calculate_total=query.calculate_total,
            collapse_threads=collapse,
        )
    except NoSuchItem:
        raise MethodError("anchorNotFound", f"{query.anchor} is not in the results") from None
    out: dict[str, Any] = {
        "accountId": args["accountId"],
        "queryState": state_string(result.state),
        "canCalculateChanges": True,
        "position": result.position,
        "ids": [encode_id(EMAIL, e) for e in result.ids],
    }
    if result.total is not None:
        out["total"] = result.total
    return out


@register("Email/queryChanges", MAIL)
async def email_query_changes(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8621 §4.5 Email/queryChanges."""
    account = await call.account_id(args)
    collapse = _collapse(args)
    where, sort = translate(call, args.get("filter"), args.get("sort"))
    where = scope_filter(where, await readable_mailboxes(call, account))
    result = await call.kernel.store.emails.query(account, where, sort, collapse_threads=collapse)
    store = call.kernel.store

    threaded = collapse or _thread_sensitive(args.get("filter"), sort)

    async def changes(since: int) -> Changes:
        found = (await store.mailboxes.changes_page(account, "email", since, None)).changes
        if found.cannot_calculate or not threaded:
            return found
        if found.destroyed:
            # Which thread a destroyed Email was in is gone, so the Emails whose place
            # it changed (a new thread leader, "all in thread" now true) are unknown.
            return Changes(since=since, state=found.state, cannot_calculate=True)
        # A change to one Email moves the others of its thread (collapsing, thread
        # keywords): report the whole thread as changed.
        rows = await store.emails.rows(account, [*found.created, *found.updated])
        members = await store.mailboxes.thread_members(
            account, sorted({row.thread for row in rows.values()})
        )
        touched = [e for emails in members.values() for e in emails]
        updated = tuple(dict.fromkeys([*found.updated, *touched]))
        return Changes(
            since=since,
            state=found.state,
            created=found.created,
            updated=tuple(e for e in updated if e not in found.created),
        )

    ids = [encode_id(EMAIL, e) for e in result.ids]

    async def current() -> list[str]:
        return ids

    return await standard_query_changes(
        call,
        args,
        account=account,
        changes=changes,
        current=current,
        encode=lambda i: encode_id(EMAIL, i),
        state=state_string(result.state),
        sort_properties=SORT_PROPERTIES,
        extra_args=("collapseThreads",),
    )
