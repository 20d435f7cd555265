"""EmailSubmission/get, /changes, /query, /queryChanges (RFC 8621 §7.1-§7.4).

Submissions are the account's outbound-queue messages (see
:mod:`plugins.jmap.mail.submission_view`); their changes are logged under
kind ``submission`` by the queue itself (creation, each delivery attempt's
result, cancel) and by EmailSubmission/set (destroy).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from kernel.store import QueuedMessage
from plugins.jmap.capabilities import SUBMISSION
from plugins.jmap.mail.email_query_filter import QueryError, parse_utc_date
from plugins.jmap.mail.submission_view import (
    PROPERTIES,
    decode_submission,
    encode_submission,
    submission_object,
    undo_status,
)
from plugins.jmap.methods import Call, MethodError, register
from plugins.jmap.standard import (
    parse_query_args,
    query_response,
    standard_changes,
    standard_get,
    standard_query_changes,
)

__all__ = [
    "submission_changes",
    "submission_get",
    "submission_query",
    "submission_query_changes",
]

#: §7.3 sort properties (``sentAt`` sorts by the send time).
SORT_PROPERTIES: Final = ("emailId", "threadId", "sentAt")
_CONDITIONS: Final = {"identityIds", "emailIds", "threadIds", "undoStatus", "before", "after"}
_UNDO: Final = {"pending", "final", "canceled"}

Predicate = Callable[[QueuedMessage], bool]


@register("EmailSubmission/get", SUBMISSION)
async def submission_get(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /get (§7.1)."""
    account = await call.account_id(args)
    state = await call.state(account)

    async def load(ids: list[int] | None) -> dict[int, dict[str, Any]]:
        found = await call.kernel.store.queue.submissions(account, ids)
        return {m.id: submission_object(m) for m in found}

    return await standard_get(
        call,
        args,
        account=account,
        decode=decode_submission,
        load=load,
        known=PROPERTIES,
        state=state,
    )


@register("EmailSubmission/changes", SUBMISSION)
async def submission_changes(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /changes (§7.2) from the change log (kind ``submission``)."""
    account = await call.account_id(args)
    response, _ = await standard_changes(
        call, args, account=account, kind="submission", encode=encode_submission
    )
    return response


def _ids(value: Any) -> set[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MethodError("invalidArguments", "an id list is required")
    return set(value)


def _condition(call: Call, condition: dict[str, Any]) -> Predicate:
    unknown = set(condition) - _CONDITIONS
    if unknown:
        raise MethodError("unsupportedFilter", f"unknown conditions: {sorted(unknown)}")
    tests: list[Predicate] = []
    if "identityIds" in condition:
        wanted = {call.resolve_creation_id(i) for i in _ids(condition["identityIds"])}
        tests.append(lambda m: submission_object(m)["identityId"] in wanted)
    if "emailIds" in condition:
        emails = {call.resolve_creation_id(i) for i in _ids(condition["emailIds"])}
        tests.append(lambda m: submission_object(m)["emailId"] in emails)
    if "threadIds" in condition:
        threads = _ids(condition["threadIds"])
        tests.append(lambda m: submission_object(m)["threadId"] in threads)
    if "undoStatus" in condition:
        status = condition["undoStatus"]
        if status not in _UNDO:
            raise MethodError("invalidArguments", "undoStatus: pending, final or canceled")
        tests.append(lambda m: undo_status(m) == status)
    for key in ("before", "after"):
        if key in condition:
            try:
                when = parse_utc_date(condition[key])
            except QueryError as exc:
                raise MethodError(exc.type, exc.description) from None
            if key == "before":
                tests.append(lambda m, w=when: m.send_at < w)
            else:
                tests.append(lambda m, w=when: m.send_at >= w)
    return lambda m: all(t(m) for t in tests)


def _predicate(call: Call, node: Any) -> Predicate:
    """A FilterOperator (RFC 8620 §5.5) or a §7.3 FilterCondition."""
    if node is None:
        return lambda m: True
    if not isinstance(node, dict):
        raise MethodError("invalidArguments", "a filter must be an object")
    if "operator" in node:
        operator = node.get("operator")
        conditions = node.get("conditions")
        if set(node) - {"operator", "conditions"} or not isinstance(conditions, list):
            raise MethodError("invalidArguments", "a FilterOperator needs 'conditions'")
        parts = [_predicate(call, c) for c in conditions]
        if operator == "AND":
            return lambda m: all(p(m) for p in parts)
        if operator == "OR":
            return lambda m: any(p(m) for p in parts)
        if operator == "NOT":
            return lambda m: not any(p(m) for p in parts)
        raise MethodError("unsupportedFilter", f"unknown operator {operator!r}")
    return _condition(call, node)


def _sort_key(prop: str) -> Callable[[QueuedMessage], Any]:
    if prop == "emailId":
        return lambda m: (m.email is None, m.email or 0)
    if prop == "threadId":
        return lambda m: (m.thread is None, m.thread or 0)
    return lambda m: m.send_at


async def _query_ids(call: Call, account: int, node: Any, sort: list[dict[str, Any]]) -> list[str]:
    keep = _predicate(call, node)
    found = [m for m in await call.kernel.store.queue.submissions(account) if keep(m)]
    found.sort(key=lambda m: m.id)  # the final tie-break: creation order
    for comparator in reversed(sort):
        found.sort(
            key=_sort_key(comparator["property"]),
            reverse=not comparator.get("isAscending", True),
        )
    return [encode_submission(m.id) for m in found]


@register("EmailSubmission/query", SUBMISSION)
async def submission_query(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /query (§7.3)."""
    account = await call.account_id(args)
    query = parse_query_args(call, args, sort_properties=SORT_PROPERTIES)
    state = await call.state(account)
    ids = await _query_ids(call, account, query.filter, query.sort)
    return query_response(args, query, ids, state=state)


@register("EmailSubmission/queryChanges", SUBMISSION)
async def submission_query_changes(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /queryChanges (§7.4) from the submission changes and the current result."""
    account = await call.account_id(args)
    state = await call.state(account)

    async def current() -> list[str]:
        return await _query_ids(call, account, args.get("filter"), args.get("sort") or [])

    async def changes(since: int) -> Any:
        page = await call.kernel.store.mailboxes.changes_page(account, "submission", since)
        return page.changes

    return await standard_query_changes(
        call,
        args,
        account=account,
        changes=changes,
        current=current,
        encode=encode_submission,
        state=state,
        sort_properties=SORT_PROPERTIES,
    )
