"""SieveScript/query, SieveScript/queryChanges and SieveScript/validate (RFC 9661 §2.5, §2.6).

* /query: FilterCondition ``name`` (the name contains the string,
  i;unicode-casemap) and ``isActive`` (equal); FilterOperators (RFC 8620 §5.5)
  around them; sort by ``name`` and ``isActive`` (§2.5 MUST), ties by id.
  ``queryState`` is the account's state; SieveScript/queryChanges is the
  standard RFC 8620 §5.6 method over the change log kind ``sieve``.
* /validate compiles the blob without storing it (CHECKSCRIPT): ``error`` is
  null or an ``invalidSieve`` SetError with the compiler's line and column; a
  blob the account cannot read gives a ``blobNotFound`` SetError there too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from kernel.store.mail_records import Changes
from kernel.store.mailboxes import changes as logged_changes
from plugins.jmap.blobs import read_blob
from plugins.jmap.capabilities import SIEVE
from plugins.jmap.methods import Call, MethodError, register
from plugins.jmap.sieve.script_compile import ScriptInvalid, compile_for_store, script_limits
from plugins.jmap.sieve.script_view import encode_script
from plugins.jmap.standard import (
    check_keys,
    parse_query_args,
    query_response,
    sort_objects,
    standard_query_changes,
)

__all__ = ["sieve_script_query", "sieve_script_query_changes", "sieve_script_validate"]

_SORT: Final = ("name", "isActive")
_CONDITIONS: Final = frozenset({"name", "isActive"})


def _matches(script: dict[str, Any], condition: Any) -> bool:
    if not isinstance(condition, dict):
        raise MethodError("unsupportedFilter", "a filter must be an object")
    if "operator" in condition:
        operator, conditions = condition.get("operator"), condition.get("conditions")
        if operator not in ("AND", "OR", "NOT") or not isinstance(conditions, list):
            raise MethodError("unsupportedFilter", "bad FilterOperator")
        results = [_matches(script, c) for c in conditions]
        if operator == "AND":
            return all(results)
        return any(results) if operator == "OR" else not any(results)
    unknown = set(condition) - _CONDITIONS
    if unknown:
        raise MethodError("unsupportedFilter", f"unknown conditions: {', '.join(sorted(unknown))}")
    name, active = condition.get("name"), condition.get("isActive")
    if "name" in condition and not isinstance(name, str):
        raise MethodError("unsupportedFilter", "'name' must be a string")
    if "isActive" in condition and not isinstance(active, bool):
        raise MethodError("unsupportedFilter", "'isActive' must be a boolean")
    if name is not None and name.casefold() not in script["name"].casefold():
        return False
    return active is None or script["isActive"] == active


async def _result(
    call: Call, account: int, query_filter: Any, sort: Sequence[dict[str, Any]]
) -> list[str]:
    scripts = [
        {"id": s.id, "name": s.name, "isActive": s.is_active}
        for s in await call.kernel.store.sieve.list(account)
    ]
    if query_filter is not None:
        scripts = [s for s in scripts if _matches(s, query_filter)]
    sort_objects(scripts, sort)
    return [encode_script(s["id"]) for s in scripts]


@register("SieveScript/query", SIEVE)
async def sieve_script_query(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /query (§2.5)."""
    account = await call.account_id(args)
    query = parse_query_args(call, args, sort_properties=_SORT)
    state = await call.state(account)
    ids = await _result(call, account, query.filter, query.sort)
    return query_response(args, query, ids, state=state)


@register("SieveScript/queryChanges", SIEVE)
async def sieve_script_query_changes(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /queryChanges (RFC 8620 §5.6) over the ``sieve`` change log."""
    account = await call.account_id(args)
    state = await call.state(account)

    async def changes(since: int) -> Changes:
        return await call.kernel.store.backend.read(
            lambda ops: logged_changes(ops, account, "sieve", since)
        )

    async def current() -> Sequence[str]:
        return await _result(call, account, args.get("filter"), args.get("sort") or [])

    return await standard_query_changes(
        call,
        args,
        account=account,
        changes=changes,
        current=current,
        encode=encode_script,
        state=state,
        sort_properties=_SORT,
    )


@register("SieveScript/validate", SIEVE)
async def sieve_script_validate(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """§2.6: compile the blob's script without storing it."""
    account = await call.account_id(args)
    check_keys(args, {"accountId", "blobId"})
    blob_id = args.get("blobId")
    if not isinstance(blob_id, str):
        raise MethodError("invalidArguments", "'blobId' must be an id")
    source = await read_blob(call.kernel, account, blob_id)
    error: dict[str, Any] | None = None
    if source is None:
        error = {"type": "blobNotFound", "notFound": [blob_id]}
    elif len(source) > script_limits(call.kernel)[0]:
        error = {"type": "tooLarge", "description": "the script is too large"}
    else:
        try:
            await compile_for_store(call.kernel, source)
        except ScriptInvalid as invalid:
            error = {"type": "invalidSieve", "description": str(invalid)}
    return {"accountId": args["accountId"], "error": error}
