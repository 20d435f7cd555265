"""Quota/get, Quota/changes, Quota/query, Quota/queryChanges (RFC 9425).

The store knows two limits per account: the principal's ``quota`` in octets
against what its emails use (``used``, each email counted once however many
mailboxes hold it) and ``quota_messages`` against its number of emails
(``used_messages``); the same numbers IMAP GETQUOTA reports as STORAGE and
MESSAGE (RFC 9208 §5.1, §5.2). So an account has at most two Quota objects:

* ``resourceType`` ``octets`` (the byte limit) or ``count`` (the email limit),
  ``scope`` ``account``, ``name`` the account's address, ``types``
  ``["Mail"]``, ``hardLimit`` the limit; ``warnLimit``, ``softLimit`` and
  ``description`` are omitted (optional in §4.1). The id is ``Q`` + twice the
  account id (octets) or twice plus one (count).
* A limit of 0 (unlimited) has no Quota object: there is no limit to report
  (``hardLimit`` is an UnsignedInt, not nullable).
* §4.1: types the client did not ask for in ``using`` are filtered out and a
  Quota left with no type is not returned: without ``urn:ietf:params:jmap:mail``
  in ``using`` the account has no Quota.
* State: the account's modseq. ``used`` changes exactly with a mail
  transaction, which bumps it. Quota/changes reports the Quota as updated
  whenever the state moved (``updatedProperties`` null: the log does not say
  which property changed, and an administrator's limit change does not bump
  the modseq, so a client learns of it only with the next mail change).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from kernel.store import Principal
from kernel.store.mail_records import Changes
from plugins.jmap.capabilities import MAIL, QUOTA
from plugins.jmap.ids import decode_id, encode_id
from plugins.jmap.methods import Call, MethodError, register
from plugins.jmap.standard import (
    check_keys,
    parse_changes_args,
    parse_query_args,
    query_response,
    sort_objects,
    standard_get,
    standard_query_changes,
)
from plugins.jmap.state import state_string

__all__ = [
    "quota_account_capability",
    "quota_changes",
    "quota_get",
    "quota_objects",
    "quota_query",
    "quota_query_changes",
]

#: The id prefix of Quota objects (keys: twice the account id, plus 1 for ``count``).
QUOTA_PREFIX: Final = "Q"

PROPERTIES: Final = ("id", "resourceType", "used", "hardLimit", "scope", "name", "types")
_SORT: Final = ("name", "used")
_FILTERS: Final = frozenset({"name", "scope", "resourceType", "type"})


def quota_account_capability() -> dict[str, Any]:
    """The ``urn:ietf:params:jmap:quota`` capability (§2.1: empty, session and account)."""
    return {}


def quota_objects(principal: Principal) -> dict[int, dict[str, Any]]:
    """The principal's Quota objects by store key (see the module docstring)."""
    out: dict[int, dict[str, Any]] = {}
    limits = (
        ("octets", principal.quota, principal.used),
        ("count", principal.quota_messages, principal.used_messages),
    )
    for offset, (resource, limit, used) in enumerate(limits):
        if not limit:
            continue
        key = 2 * principal.id + offset
        out[key] = {
            "id": encode_id(QUOTA_PREFIX, key),
            "resourceType": resource,
            "used": used,
            "hardLimit": limit,
            "scope": "account",
            "name": principal.name,
            "types": ["Mail"],
        }
    return out


async def _quotas(call: Call, account: int) -> dict[int, dict[str, Any]]:
    """The account's Quota objects by key (none, or one per limit it has)."""
    if MAIL not in call.using:
        return {}  # §4.1: its only type is one the client did not ask for
    names = await call.kernel.store.directory.names([account])
    principal = await call.kernel.store.directory.principal(names.get(account, ""))
    if principal is None:
        return {}
    return quota_objects(principal)


@register("Quota/get", QUOTA)
async def quota_get(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /get (§4.2)."""
    account = await call.account_id(args)
    state = await call.state(account)

    async def load(ids: list[int] | None) -> dict[int, dict[str, Any]]:
        return await _quotas(call, account)

    return await standard_get(
        call,
        args,
        account=account,
        decode=lambda value: decode_id(QUOTA_PREFIX, value),
        load=load,
        known=PROPERTIES,
        state=state,
    )


async def _changes(call: Call, account: int, since: int) -> Changes:
    current = await call.kernel.store.backend.read(lambda ops: ops.current_modseq(account))
    if since > current:
        return Changes(since=since, state=current, cannot_calculate=True)
    moved = since < current
    updated = tuple(await _quotas(call, account)) if moved else ()
    return Changes(since=since, state=current, updated=updated)


@register("Quota/changes", QUOTA)
async def quota_changes(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /changes (§4.3) with ``updatedProperties`` (always null, see module)."""
    account = await call.account_id(args)
    check_keys(args, {"accountId", "sinceState", "maxChanges"})
    position, _limit = parse_changes_args(call, args)
    if position is None or position[1]:
        raise MethodError("cannotCalculateChanges", "unknown state")
    changes = await _changes(call, account, position[0])
    if changes.cannot_calculate:
        raise MethodError("cannotCalculateChanges", "unknown state")
    return {
        "accountId": args["accountId"],
        "oldState": args["sinceState"],
        "newState": state_string(changes.state),
        "hasMoreChanges": False,
        "updatedProperties": None,
        "created": [],
        "updated": [encode_id(QUOTA_PREFIX, i) for i in changes.updated],
        "destroyed": [],
    }


def _matches(quota: dict[str, Any], condition: dict[str, Any]) -> bool:
    """§4.4 FilterCondition, or a FilterOperator (RFC 8620 §5.5) around conditions."""
    if "operator" in condition:
        operator, conditions = condition["operator"], condition.get("conditions")
        if operator not in ("AND", "OR", "NOT") or not isinstance(conditions, list):
            raise MethodError("unsupportedFilter", "bad FilterOperator")
        if not all(isinstance(c, dict) for c in conditions):
            raise MethodError("unsupportedFilter", "conditions must be objects")
        results = [_matches(quota, c) for c in conditions]
        if operator == "AND":
            return all(results)
        return any(results) if operator == "OR" else not any(results)
    unknown = set(condition) - _FILTERS
    if unknown:
        raise MethodError("unsupportedFilter", f"unknown conditions: {', '.join(sorted(unknown))}")
    if not all(isinstance(v, str) for v in condition.values()):
        raise MethodError("unsupportedFilter", "filter values must be strings")
    if "name" in condition and condition["name"].lower() not in quota["name"].lower():
        return False
    if "scope" in condition and condition["scope"] != quota["scope"]:
        return False
    if "resourceType" in condition and condition["resourceType"] != quota["resourceType"]:
        return False
    return not ("type" in condition and condition["type"] not in quota["types"])


async def _result(
    call: Call, account: int, query_filter: Any, sort: Sequence[dict[str, Any]]
) -> list[str]:
    quotas = list((await _quotas(call, account)).values())
    if query_filter is not None:
        quotas = [q for q in quotas if _matches(q, query_filter)]
    sort_objects(quotas, sort)
    return [q["id"] for q in quotas]


@register("Quota/query", QUOTA)
async def quota_query(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /query (§4.4): filter name/scope/resourceType/type, sort name/used."""
    account = await call.account_id(args)
    query = parse_query_args(call, args, sort_properties=_SORT)
    state = await call.state(account)
    ids = await _result(call, account, query.filter, query.sort)
    return query_response(args, query, ids, state=state)


@register("Quota/queryChanges", QUOTA)
async def quota_query_changes(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /queryChanges (§4.5)."""
    account = await call.account_id(args)
    state = await call.state(account)

    async def changes(since: int) -> Changes:
        return await _changes(call, account, since)

    async def current() -> Sequence[str]:
        return await _result(call, account, args.get("filter"), args.get("sort") or [])

    return await standard_query_changes(
        call,
        args,
        account=account,
        changes=changes,
        current=current,
        encode=lambda key: encode_id(QUOTA_PREFIX, key),
        state=state,
        sort_properties=_SORT,
    )
