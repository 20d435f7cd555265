"""Mailbox/query and Mailbox/queryChanges (RFC 8621 §2.3, §2.4).

Filter conditions (§2.3): ``parentId`` (null: top level), ``name`` (contains,
case-insensitively), ``role`` (null: no role), ``hasAnyRole``,
``isSubscribed``; FilterOperators AND/OR/NOT (RFC 8620 §5.5). Sorts:
``sortOrder``, ``name`` (i;unicode-casemap unless another collation is
named), ``parentId``. ``sortAsTree`` puts each mailbox after its parent,
siblings in the sort order; ``filterAsTree`` keeps a mailbox only when its
ancestors match too. The whole result is computed in memory: an account
has few mailboxes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from kernel.store import Mailbox
from plugins.jmap.capabilities import MAIL
from plugins.jmap.mail.mailbox_view import decode_mailbox, encode_mailbox, visible_mailboxes
from plugins.jmap.methods import Call, MethodError, register
from plugins.jmap.standard import (
    parse_query_args,
    query_response,
    standard_query_changes,
)

__all__ = ["mailbox_query", "mailbox_query_changes", "query_ids"]

SORT_PROPERTIES = ("sortOrder", "name", "parentId")
_CONDITIONS = {"parentId", "name", "role", "hasAnyRole", "isSubscribed"}
_EXTRA = ("sortAsTree", "filterAsTree")

Predicate = Callable[[Mailbox], bool]


def _condition(condition: dict[str, Any], call: Call) -> Predicate:
    unknown = set(condition) - _CONDITIONS
    if unknown:
        raise MethodError("unsupportedFilter", f"unknown conditions: {', '.join(sorted(unknown))}")
    tests: list[Predicate] = []
    if "parentId" in condition:
        parent = condition["parentId"]
        if parent is None:
            tests.append(lambda m: m.parent is None)
        elif isinstance(parent, str):
            key = decode_mailbox(call.resolve_creation_id(parent))
            tests.append(lambda m, key=key: key is not None and m.parent == key)
        else:
            raise MethodError("invalidArguments", "'parentId' must be null or an id")
    if "name" in condition:
        name = condition["name"]
        if not isinstance(name, str):
            raise MethodError("invalidArguments", "'name' must be a string")
        needle = name.casefold()
        tests.append(lambda m: needle in m.name.casefold())
    if "role" in condition:
        role = condition["role"]
        if role is not None and not isinstance(role, str):
            raise MethodError("invalidArguments", "'role' must be null or a string")
        wanted = role.lower() if isinstance(role, str) else None
        tests.append(lambda m: m.role == wanted)
    if "hasAnyRole" in condition:
        flag = condition["hasAnyRole"]
        if not isinstance(flag, bool):
            raise MethodError("invalidArguments", "'hasAnyRole' must be a boolean")
        tests.append(lambda m: (m.role is not None) == flag)
    if "isSubscribed" in condition:
        flag = condition["isSubscribed"]
        if not isinstance(flag, bool):
            raise MethodError("invalidArguments", "'isSubscribed' must be a boolean")
        tests.append(lambda m: m.subscribed == flag)
    return lambda m: all(test(m) for test in tests)


def compile_filter(value: Any, call: Call) -> Predicate:
    """A predicate for a FilterOperator or FilterCondition (``None``: everything)."""
    if value is None:
        return lambda m: True
    if not isinstance(value, dict):
        raise MethodError("invalidArguments", "a filter must be an object")
    if "operator" in value:
        operator = value["operator"]
        conditions = value.get("conditions")
        if set(value) - {"operator", "conditions"} or not isinstance(conditions, list):
            raise MethodError("invalidArguments", "a FilterOperator has operator and conditions")
        parts = [compile_filter(c, call) for c in conditions]
        if operator == "AND":
            return lambda m: all(p(m) for p in parts)
        if operator == "OR":
            return lambda m: any(p(m) for p in parts)
        if operator == "NOT":
            return lambda m: not any(p(m) for p in parts)
        raise MethodError("unsupportedFilter", f"unknown operator {operator!r}")
    return _condition(value, call)


def _key(mailbox: Mailbox, comparator: dict[str, Any]) -> Any:
    prop = comparator["property"]
    if prop == "sortOrder":
        return mailbox.sort_order
    if prop == "parentId":
        return encode_mailbox(mailbox.parent) if mailbox.parent is not None else ""
    collation = comparator.get("collation") or "i;unicode-casemap"
    if collation == "i;octet":
        return mailbox.name.encode()
    if collation == "i;ascii-casemap":
        return mailbox.name.encode().lower()
    return mailbox.name.casefold()


def _sort(mailboxes: list[Mailbox], sort: list[dict[str, Any]]) -> list[Mailbox]:
    def compare(a: Mailbox, b: Mailbox) -> int:
        for comparator in sort:
            ka, kb = _key(a, comparator), _key(b, comparator)
            if ka != kb:
                result = -1 if ka < kb else 1
                return result if comparator.get("isAscending", True) else -result
        return (a.id > b.id) - (a.id < b.id)

    return sorted(mailboxes, key=functools.cmp_to_key(compare))


def _as_tree(ordered: list[Mailbox], present: set[int]) -> list[Mailbox]:
    children: dict[int | None, list[Mailbox]] = {}
    for mailbox in ordered:
        parent = mailbox.parent if mailbox.parent in present else None
        children.setdefault(parent, []).append(mailbox)
    out: list[Mailbox] = []

    def visit(parent: int | None) -> None:
        for child in children.get(parent, []):
            out.append(child)
            visit(child.id)

    visit(None)
    return out


async def query_ids(
    call: Call, account: int, query_filter: Any, sort: list[dict[str, Any]], args: dict[str, Any]
) -> list[str]:
    """The full ordered result of a Mailbox query, as JMAP ids."""
    for flag in _EXTRA:
        if not isinstance(args.get(flag, False), bool):
            raise MethodError("invalidArguments", f"'{flag}' must be a boolean")
    predicate = compile_filter(query_filter, call)
    visible = {m.id: m for m, _ in (await visible_mailboxes(call, account)).values()}
    matching = {i for i, m in visible.items() if predicate(m)}
    if args.get("filterAsTree"):

        def ancestors_match(mailbox: Mailbox) -> bool:
            seen: set[int] = set()
            parent = mailbox.parent
            while parent is not None and parent in visible and parent not in seen:
                if parent not in matching:
                    return False
                seen.add(parent)
                parent = visible[parent].parent
            return True

        matching = {i for i in matching if ancestors_match(visible[i])}
    ordered = _sort([visible[i] for i in matching], sort)
    if args.get("sortAsTree"):
        ordered = _as_tree(ordered, matching)
    return [encode_mailbox(m.id) for m in ordered]


@register("Mailbox/query", MAIL)
async def mailbox_query(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /query over the visible mailboxes (§2.3)."""
    account = await call.account_id(args)
    query = parse_query_args(call, args, sort_properties=SORT_PROPERTIES, extra_args=_EXTRA)
    state = await call.state(account)
    ids = await query_ids(call, account, query.filter, query.sort, args)
    return query_response(args, query, ids, state=state)


@register("Mailbox/queryChanges", MAIL)
async def mailbox_query_changes(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /queryChanges (§2.4) from Mailbox/changes and the current result."""
    account = await call.account_id(args)
    state = await call.state(account)

    async def current() -> list[str]:
        return await query_ids(call, account, args.get("filter"), args.get("sort") or [], args)

    async def changes(since: int) -> Any:
        return await call.kernel.store.mailboxes.changes(account, since)

    return await standard_query_changes(
        call,
        args,
        account=account,
        changes=changes,
        current=current,
        encode=encode_mailbox,
        state=state,
        sort_properties=SORT_PROPERTIES,
        extra_args=_EXTRA,
    )
