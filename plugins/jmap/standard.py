"""Shared parts of the standard methods (RFC 8620 §5): /get, /changes, /query,
/queryChanges, /set.

Each data type's module supplies what is specific to it (how to load, filter,
sort, create, update, destroy its objects); the argument checks, limits,
errors and response shapes live here once.

* :func:`standard_get`: ``ids`` (null: all) and ``properties`` (null: the
  defaults; ``id`` always returned; an unknown one is ``invalidArguments``),
  ``maxObjectsInGet`` (``requestTooLarge``), ``notFound``.
* :func:`parse_changes_args` / :func:`standard_changes`: ``sinceState``,
  ``maxChanges`` (never exceeded: a page may end inside a transaction, see
  :mod:`plugins.jmap.state`), ``hasMoreChanges``, ``cannotCalculateChanges``
  when the state is not ours or below the log's floor.
* :class:`QueryArgs`, :func:`parse_query_args`, :func:`window`,
  :func:`query_response`: ``filter`` (null allowed), ``sort``, ``position``
  (negative counts from the end), ``anchor``/``anchorOffset``
  (``anchorNotFound``), ``limit``, ``calculateTotal``.
* :func:`standard_query_changes`: ``sinceQueryState``, ``maxChanges``,
  ``upToId``; computed from the type's /changes and the current results.
* :func:`standard_set` with :class:`SetError`: ``ifInState``
  (``stateMismatch``), ``create``/``update``/``destroy`` with per-object
  SetErrors, ``maxObjectsInSet``, creation ids (``#x``) recorded for the rest
  of the request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, final

from kernel.store.mail_records import Changes
from plugins.jmap.methods import Call, MethodError
from plugins.jmap.state import parse_position, parse_state, position_string

__all__ = [
    "QueryArgs",
    "SetError",
    "apply_patch",
    "check_keys",
    "get_ids",
    "get_properties",
    "parse_changes_args",
    "parse_query_args",
    "query_response",
    "sort_objects",
    "standard_changes",
    "standard_get",
    "standard_query_changes",
    "standard_set",
    "window",
]


# ---- argument helpers ----------------------------------------------------------


def check_keys(args: dict[str, Any], allowed: Iterable[str]) -> None:
    """``invalidArguments`` for an argument the method does not define (§3.6.2)."""
    unknown = set(args) - set(allowed)
    if unknown:
        raise MethodError("invalidArguments", f"unknown arguments: {', '.join(sorted(unknown))}")


def _int_arg(args: dict[str, Any], key: str, default: int | None, *, minimum: int | None) -> Any:
    value = args.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise MethodError("invalidArguments", f"'{key}' must be an integer")
    if minimum is not None and value < minimum:
        raise MethodError("invalidArguments", f"'{key}' must be at least {minimum}")
    return value


def _bool_arg(args: dict[str, Any], key: str, default: bool) -> bool:
    value = args.get(key, default)
    if not isinstance(value, bool):
        raise MethodError("invalidArguments", f"'{key}' must be a boolean")
    return value


def get_ids(call: Call, args: dict[str, Any], key: str = "ids") -> list[str] | None:
    """``args[key]``: ``None`` or a list of id strings (``#x`` creation ids resolved),
    checked against ``maxObjectsInGet`` (``requestTooLarge``)."""
    ids = args.get(key)
    if ids is None:
        return None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise MethodError("invalidArguments", f"'{key}' must be null or a list of ids")
    if len(ids) > call.settings.max_objects_in_get:
        raise MethodError(
            "requestTooLarge", f"at most {call.settings.max_objects_in_get} ids per /get"
        )
    return [call.resolve_creation_id(i) for i in ids]


def get_properties(
    args: dict[str, Any],
    known: Iterable[str],
    default: Iterable[str] | None = None,
    *,
    key: str = "properties",
    is_known: Callable[[str], bool] | None = None,
) -> list[str]:
    """The requested properties (``id`` included first, §5.1), or ``default`` (all
    ``known`` when None) when ``args[key]`` is null; unknown names are
    ``invalidArguments``."""
    known_set = set(known)
    value = args.get(key)
    if value is None:
        names = list(default if default is not None else known)
    else:
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            raise MethodError("invalidArguments", f"'{key}' must be null or a list of strings")
        bad = [p for p in value if p not in known_set and not (is_known and is_known(p))]
        if bad:
            raise MethodError("invalidArguments", f"unknown properties: {', '.join(bad)}")
        names = list(dict.fromkeys(value))
    if key == "properties" and "id" in known_set and "id" not in names:
        names.insert(0, "id")
    return names


# ---- /get --------------------------------------------------------------------


async def standard_get(
    call: Call,
    args: dict[str, Any],
    *,
    account: int,
    decode: Callable[[str], int | None],
    load: Callable[[list[int] | None], Awaitable[dict[int, dict[str, Any]]]],
    known: Iterable[str],
    default: Iterable[str] | None = None,
    extra_args: Iterable[str] = (),
    is_known: Callable[[str], bool] | None = None,
    state: str | None = None,
) -> dict[str, Any]:
    """A complete /get answer (RFC 8620 §5.1).

    Args:
      call, args: the method call.
      account: the checked store account id (``args["accountId"]`` names it).
      decode: JMAP id to store key (``None``: not found).
      load: store keys (``None``: every visible object) to full objects by key; an
        object missing from the answer is "not found". The objects may be
        filtered down to the requested properties here, ``id`` kept.
      known: every property name; default: those returned when ``properties`` is null.
      extra_args: method-specific arguments besides ``accountId``/``ids``/``properties``.
      is_known: accepts dynamic property names (``header:X:asText``).
      state: the state to report (default: the account's current state, read
        *before* loading, so a change racing the load is seen again by /changes).
    """
    check_keys(args, {"accountId", "ids", "properties", *extra_args})
    ids = get_ids(call, args)
    properties = get_properties(args, known, default, is_known=is_known)
    state = state if state is not None else await call.state(account)
    not_found: list[str] = []
    if ids is None:
        objects = await load(None)
        found = list(objects.values())
    else:
        keys: dict[str, int | None] = {i: decode(i) for i in dict.fromkeys(ids)}
        wanted = [k for k in keys.values() if k is not None]
        objects = await load(wanted) if wanted else {}
        found = []
        for jmap_id, key in keys.items():
            if key is not None and key in objects:
                found.append(objects[key])
            else:
                not_found.append(jmap_id)
    listed = [{p: obj[p] for p in properties if p in obj} for obj in found]
    return {
        "accountId": args["accountId"],
        "state": state,
        "list": listed,
        "notFound": not_found,
    }


# ---- /changes ------------------------------------------------------------------


def parse_changes_args(
    call: Call, args: dict[str, Any], *, since_key: str = "sinceState"
) -> tuple[tuple[int, int] | None, int]:
    """``((since, skip) or None when the state is not ours, max changes)``; see
    :func:`plugins.jmap.state.parse_position` for ``skip``.

    ``maxChanges`` must be a positive integer or null (§5.2); the server caps it
    at ``jmap.max_changes``.
    """
    since = args.get(since_key)
    if not isinstance(since, str):
        raise MethodError("invalidArguments", f"'{since_key}' must be a string")
    max_changes = _int_arg(args, "maxChanges", None, minimum=1)
    limit = call.settings.max_changes
    return parse_position(since), min(max_changes, limit) if max_changes else limit


async def standard_changes(
    call: Call,
    args: dict[str, Any],
    *,
    account: int,
    kind: str,
    encode: Callable[[int], str],
    companion: str | None = None,
    extra_args: Iterable[str] = (),
) -> tuple[dict[str, Any], bool]:
    """A complete /changes answer (RFC 8620 §5.2) for change-log ``kind``.

    Returns the answer and whether every update in it was logged together with
    ``companion`` (see :class:`kernel.store.ChangesPage`), for RFC 8621 §2.2's
    ``updatedProperties``. ``cannotCalculateChanges`` when ``sinceState`` is not
    a state of ours or the log no longer reaches back to it.
    """
    check_keys(args, {"accountId", "sinceState", "maxChanges", *extra_args})
    position, limit = parse_changes_args(call, args)
    if position is None:
        raise MethodError("cannotCalculateChanges", "unknown state")
    page = await call.kernel.store.mailboxes.changes_page(
        account, kind, position[0], limit, companion=companion, skip=position[1]
    )
    changes = page.changes
    if changes.cannot_calculate:
        raise MethodError("cannotCalculateChanges", "the change log no longer reaches that state")
    return (
        {
            "accountId": args["accountId"],
            "oldState": args["sinceState"],
            "newState": position_string(changes.state, page.partial),
            "hasMoreChanges": page.has_more,
            "created": [encode(i) for i in changes.created],
            "updated": [encode(i) for i in changes.updated],
            "destroyed": [encode(i) for i in changes.destroyed],
        },
        page.with_companion,
    )


# ---- /query ------------------------------------------------------------------


@final
@dataclass(frozen=True, slots=True)
class QueryArgs:
    """The common /query arguments (RFC 8620 §5.5), checked."""

    filter: dict[str, Any] | None
    sort: list[dict[str, Any]]
    position: int
    anchor: str | None
    anchor_offset: int
    limit: int | None
    calculate_total: bool


def _check_sort(sort: Any, properties: Iterable[str]) -> list[dict[str, Any]]:
    if sort is None:
        return []
    if not isinstance(sort, list):
        raise MethodError("invalidArguments", "'sort' must be null or a list")
    allowed = set(properties)
    out = []
    for comparator in sort:
        if not isinstance(comparator, dict) or not isinstance(comparator.get("property"), str):
            raise MethodError("invalidArguments", "each comparator needs a 'property'")
        if not isinstance(comparator.get("isAscending", True), bool):
            raise MethodError("invalidArguments", "'isAscending' must be a boolean")
        collation = comparator.get("collation")
        if collation is not None and not isinstance(collation, str):
            raise MethodError("invalidArguments", "'collation' must be a string")
        if collation is not None and collation not in COLLATIONS:
            raise MethodError("unsupportedSort", f"unsupported collation {collation!r}")
        if comparator["property"] not in allowed:
            raise MethodError("unsupportedSort", f"cannot sort by {comparator['property']!r}")
        out.append(comparator)
    return out


#: Collation algorithms (RFC 4790) this server sorts and filters with.
COLLATIONS = ("i;ascii-casemap", "i;octet", "i;unicode-casemap")


def sort_objects(
    objects: list[dict[str, Any]], sort: Sequence[dict[str, Any]], *, tiebreak: str = "id"
) -> None:
    """Sort small in-memory result sets (scripts, quotas) by ``sort`` comparators
    (RFC 8620 §5.5), strings by each comparator's collation (default
    ``i;unicode-casemap``); ``tiebreak`` keeps the order stable across calls."""
    objects.sort(key=lambda o: o[tiebreak])
    for comparator in reversed(sort):
        prop = comparator["property"]
        collation = comparator.get("collation") or "i;unicode-casemap"

        def key(item: dict[str, Any], prop: str = prop, collation: str = collation) -> Any:
            value = item[prop]
            if isinstance(value, str) and collation != "i;octet":
                return value.casefold() if collation == "i;unicode-casemap" else value.lower()
            return value

        objects.sort(key=key, reverse=not comparator.get("isAscending", True))


def parse_query_args(
    call: Call,
    args: dict[str, Any],
    *,
    sort_properties: Iterable[str],
    extra_args: Iterable[str] = (),
) -> QueryArgs:
    """Check and parse the standard /query arguments; ``filter`` is returned as sent
    (the type's module checks its conditions and raises ``unsupportedFilter``)."""
    check_keys(
        args,
        {
            "accountId",
            "filter",
            "sort",
            "position",
            "anchor",
            "anchorOffset",
            "limit",
            "calculateTotal",
            *extra_args,
        },
    )
    query_filter = args.get("filter")
    if query_filter is not None and not isinstance(query_filter, dict):
        raise MethodError("invalidArguments", "'filter' must be null or an object")
    anchor = args.get("anchor")
    if anchor is not None and not isinstance(anchor, str):
        raise MethodError("invalidArguments", "'anchor' must be null or an id")
    return QueryArgs(
        filter=query_filter,
        sort=_check_sort(args.get("sort"), sort_properties),
        position=_int_arg(args, "position", 0, minimum=None),
        anchor=call.resolve_creation_id(anchor) if anchor is not None else None,
        anchor_offset=_int_arg(args, "anchorOffset", 0, minimum=None),
        limit=_int_arg(args, "limit", None, minimum=0),
        calculate_total=_bool_arg(args, "calculateTotal", False),
    )


def window(ids: Sequence[str], query: QueryArgs) -> tuple[list[str], int]:
    """The page of ``ids`` the query asks for and its position (§5.5).

    A negative ``position`` counts from the end (clamped at 0); an ``anchor``
    overrides ``position`` (its index plus ``anchorOffset``, clamped at 0) and
    is ``anchorNotFound`` when absent; a position past the end gives an empty page.
    """
    if query.anchor is not None:
        try:
            start = ids.index(query.anchor) + query.anchor_offset
        except ValueError:
            raise MethodError("anchorNotFound", f"{query.anchor} is not in the results") from None
        start = max(0, start)
    elif query.position < 0:
        start = max(0, len(ids) + query.position)
    else:
        start = query.position
    start = min(start, len(ids))
    end = len(ids) if query.limit is None else start + query.limit
    return list(ids[start:end]), start


def query_response(
    args: dict[str, Any],
    query: QueryArgs,
    ids: Sequence[str],
    *,
    state: str,
    can_calculate_changes: bool = True,
    limit_cap: int | None = None,
) -> dict[str, Any]:
    """A /query answer over the full ordered result ``ids`` (§5.5)."""
    if limit_cap is not None and (query.limit is None or query.limit > limit_cap):
        query = QueryArgs(
            query.filter,
            query.sort,
            query.position,
            query.anchor,
            query.anchor_offset,
            limit_cap,
            query.calculate_total,
        )
    page, position = window(ids, query)
    out: dict[str, Any] = {
        "accountId": args["accountId"],
        "queryState": state,
        "canCalculateChanges": can_calculate_changes,
        "position": position,
        "ids": page,
    }
    if query.calculate_total:
        out["total"] = len(ids)
    if limit_cap is not None and query.limit == limit_cap and args.get("limit") != limit_cap:
        out["limit"] = limit_cap
    return out


# ---- /queryChanges -------------------------------------------------------------


async def standard_query_changes(
    call: Call,
    args: dict[str, Any],
    *,
    account: int,
    changes: Callable[[int], Awaitable[Changes]],
    current: Callable[[], Awaitable[Sequence[str]]],
    encode: Callable[[int], str],
    state: str,
    sort_properties: Iterable[str],
    extra_args: Iterable[str] = (),
) -> dict[str, Any]:
    """A /queryChanges answer (RFC 8620 §5.6) from the type's changes and the
    current full result ``await current()`` (filtered and sorted as the client
    asked; called after the arguments were checked).

    Every object changed since the old query state is reported as removed, and
    those in the current result as added at their index (the §5.6 allowance:
    "removed" may hold ids that were not in the old results). Stops at
    ``upToId``; more than ``maxChanges`` entries is ``tooManyChanges``.
    """
    check_keys(
        args,
        {
            "accountId",
            "filter",
            "sort",
            "sinceQueryState",
            "maxChanges",
            "upToId",
            "calculateTotal",
            *extra_args,
        },
    )
    del account
    if args.get("filter") is not None and not isinstance(args.get("filter"), dict):
        raise MethodError("invalidArguments", "'filter' must be null or an object")
    _check_sort(args.get("sort"), sort_properties)
    since_state = args.get("sinceQueryState")
    if not isinstance(since_state, str):
        raise MethodError("invalidArguments", "'sinceQueryState' must be a string")
    max_changes = _int_arg(args, "maxChanges", None, minimum=1)
    up_to = args.get("upToId")
    if up_to is not None and not isinstance(up_to, str):
        raise MethodError("invalidArguments", "'upToId' must be null or an id")
    calculate_total = _bool_arg(args, "calculateTotal", False)
    since = parse_state(since_state)
    if since is None:
        raise MethodError("cannotCalculateChanges", "unknown query state")
    changed = await changes(since)
    if changed.cannot_calculate:
        raise MethodError("cannotCalculateChanges", "the change log no longer reaches that state")
    touched = [encode(i) for i in (*changed.created, *changed.updated, *changed.destroyed)]
    touched_set = set(touched)
    removed = list(dict.fromkeys(touched))
    result = await current()
    added = []
    for index, jmap_id in enumerate(result):
        if jmap_id in touched_set:
            added.append({"id": jmap_id, "index": index})
        if up_to is not None and jmap_id == up_to:
            break
    if max_changes is not None and len(removed) + len(added) > max_changes:
        raise MethodError("tooManyChanges", f"more than {max_changes} changes")
    out: dict[str, Any] = {
        "accountId": args["accountId"],
        "oldQueryState": since_state,
        "newQueryState": state,
        "removed": removed,
        "added": added,
    }
    if calculate_total:
        out["total"] = len(result)
    return out


# ---- /set --------------------------------------------------------------------


class SetError(Exception):
    """A per-object failure in /set (RFC 8620 §5.3): ``notFound``, ``invalidProperties``
    (with ``properties``), ``forbidden``, ``alreadyExists`` (with ``existingId``) ..."""

    def __init__(self, type: str, description: str | None = None, **extra: Any) -> None:
        super().__init__(f"{type}: {description}" if description else type)
        self.type = type
        self.description = description
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        """The SetError object."""
        out: dict[str, Any] = {"type": self.type}
        if self.description is not None:
            out["description"] = self.description
        out.update(self.extra)
        return out


@dataclass(slots=True)
class SetOutcome:
    """What :func:`standard_set` collected, before it is turned into the answer."""

    created: dict[str, Any] = field(default_factory=dict)
    updated: dict[str, Any] = field(default_factory=dict)
    destroyed: list[str] = field(default_factory=list)
    not_created: dict[str, Any] = field(default_factory=dict)
    not_updated: dict[str, Any] = field(default_factory=dict)
    not_destroyed: dict[str, Any] = field(default_factory=dict)


def apply_patch(obj: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Apply a PatchObject (RFC 8620 §5.3) to a copy of ``obj``.

    Keys are JSON pointers (RFC 6901, implicit leading ``/``). ``null`` sets a
    top-level property to null (its default) and removes a member deeper down
    (e.g. ``keywords/$seen``).
    A path through a missing member or a non-object, or a key that is a prefix
    of another key, is ``invalidPatch``.
    """
    keys = list(patch)
    for key in keys:
        if any(other != key and other.startswith(key + "/") for other in keys):
            raise SetError("invalidPatch", f"{key!r} is a prefix of another patch key")
    out = _deep_copy(obj)
    for key, value in patch.items():
        parts = [p.replace("~1", "/").replace("~0", "~") for p in key.split("/")]
        target = out
        for part in parts[:-1]:
            child = target.get(part) if isinstance(target, dict) else None
            if not isinstance(child, dict):
                raise SetError("invalidPatch", f"{key!r} goes through a missing member")
            target = child
        if value is None and len(parts) > 1:
            target.pop(parts[-1], None)  # inside a property (a map): remove the member
        else:
            target[parts[-1]] = value  # a property set to null: its default, null
    return out


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


Creator = Callable[[str, dict[str, Any]], Awaitable[tuple[str, dict[str, Any]]]]
Updater = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any] | None]]
Destroyer = Callable[[str], Awaitable[None]]


async def standard_set(
    call: Call,
    args: dict[str, Any],
    *,
    account: int,
    create: Creator | None,
    update: Updater | None,
    destroy: Destroyer | None,
    extra_args: Iterable[str] = (),
    order: Sequence[str] = ("create", "update", "destroy"),
) -> dict[str, Any]:
    """A complete /set answer (RFC 8620 §5.3).

    Args:
      account: the checked store account (writability is checked here).
      create: ``(creation id, object) -> (new id, server-set properties)``; the new
        id is recorded under the creation id for the rest of the request. Raises
        :class:`SetError`.
      update: ``(id, patch) -> changed server-set properties or None``; ids of the
        form ``#x`` are resolved first. Raises :class:`SetError`.
      destroy: ``(id) -> None``. Raises :class:`SetError`.
      order: the order of the three phases (the RFC's create, update, destroy).

    ``ifInState`` not equal to the current state is ``stateMismatch``; more
    than ``maxObjectsInSet`` operations is ``requestTooLarge``; a phase the
    type does not support answers ``forbidden`` per object.
    """
    check_keys(args, {"accountId", "ifInState", "create", "update", "destroy", *extra_args})
    creates = args.get("create") or {}
    updates = args.get("update") or {}
    destroys = args.get("destroy") or []
    if not isinstance(creates, dict) or not all(isinstance(v, dict) for v in creates.values()):
        raise MethodError("invalidArguments", "'create' must be null or a map of objects")
    if not isinstance(updates, dict) or not all(isinstance(v, dict) for v in updates.values()):
        raise MethodError("invalidArguments", "'update' must be null or a map of patches")
    if not isinstance(destroys, list) or not all(isinstance(v, str) for v in destroys):
        raise MethodError("invalidArguments", "'destroy' must be null or a list of ids")
    if len(creates) + len(updates) + len(destroys) > call.settings.max_objects_in_set:
        raise MethodError(
            "requestTooLarge", f"at most {call.settings.max_objects_in_set} objects per /set"
        )
    if_in_state = args.get("ifInState")
    old_state = await call.state(account)
    if if_in_state is not None and if_in_state != old_state:
        raise MethodError("stateMismatch", f"the state is {old_state}")
    if creates or updates or destroys:
        await call.require_writable(account)
    outcome = SetOutcome()
    for phase in order:
        if phase == "create":
            await _create_all(call, creates, create, outcome)
        elif phase == "update":
            await _update_all(call, updates, update, outcome)
        elif phase == "destroy":
            await _destroy_all(call, destroys, destroy, outcome)
    new_state = await call.state(account)
    return {
        "accountId": args["accountId"],
        "oldState": old_state,
        "newState": new_state,
        "created": outcome.created or None,
        "updated": outcome.updated or None,
        "destroyed": outcome.destroyed or None,
        "notCreated": outcome.not_created or None,
        "notUpdated": outcome.not_updated or None,
        "notDestroyed": outcome.not_destroyed or None,
    }


async def _create_all(
    call: Call, creates: dict[str, dict[str, Any]], create: Creator | None, outcome: SetOutcome
) -> None:
    for creation_id, obj in creates.items():
        if create is None:
            outcome.not_created[creation_id] = SetError("forbidden", "cannot create").to_json()
            continue
        try:
            new_id, server_set = await create(creation_id, obj)
        except SetError as error:
            outcome.not_created[creation_id] = error.to_json()
            continue
        call.created_ids[creation_id] = new_id
        outcome.created[creation_id] = {"id": new_id, **server_set}


async def _update_all(
    call: Call, updates: dict[str, dict[str, Any]], update: Updater | None, outcome: SetOutcome
) -> None:
    for sent_id, patch in updates.items():
        jmap_id = call.resolve_creation_id(sent_id)
        if update is None:
            outcome.not_updated[sent_id] = SetError("forbidden", "cannot update").to_json()
            continue
        try:
            outcome.updated[jmap_id] = await update(jmap_id, patch)
        except SetError as error:
            outcome.not_updated[sent_id] = error.to_json()


async def _destroy_all(
    call: Call, destroys: list[str], destroy: Destroyer | None, outcome: SetOutcome
) -> None:
    for sent_id in dict.fromkeys(destroys):
        jmap_id = call.resolve_creation_id(sent_id)
        if destroy is None:
            outcome.not_destroyed[sent_id] = SetError("forbidden", "cannot destroy").to_json()
            continue
        try:
            await destroy(jmap_id)
        except SetError as error:
            outcome.not_destroyed[sent_id] = error.to_json()
            continue
        outcome.destroyed.append(jmap_id)
