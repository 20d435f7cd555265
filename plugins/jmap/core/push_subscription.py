"""PushSubscription/get and PushSubscription/set (RFC 8620 §7.2).

Subscriptions belong to the authenticated principal (no ``accountId``, no
state). ``url`` and ``keys`` are never returned (asking for them is
``forbidden``, §7.2.1). On create the server POSTs a PushVerification with a
fresh 128-bit code to the URL (through :mod:`plugins.jmap.pusher`) and pushes
nothing else until the client sets that code (a wrong one is
``invalidProperties``, §7.2.2). ``expires`` is clamped to
``jmap.push_max_expiry`` from now (also when absent), as §7.2 asks for
credentials without expiry such as Basic. ``url`` must be ``https://``
(``jmap.push_allow_http`` lifts that for tests). ``keys`` must hold a valid
P-256 ``p256dh`` and a 16-octet ``auth`` (else ``invalidProperties``); every
push to such a subscription is then encrypted (RFC 8291, see
:mod:`plugins.jmap.push_crypto`).
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.parse
from datetime import UTC, datetime
from typing import Any

from kernel.errors import NoSuchItem
from kernel.store.mail_records import PushSubscriptionRecord
from plugins.jmap.capabilities import CORE
from plugins.jmap.ids import PUSH, decode_id, encode_id
from plugins.jmap.methods import Call, MethodError, register
from plugins.jmap.push_crypto import parse_keys
from plugins.jmap.pusher import PUSHER
from plugins.jmap.standard import (
    SetError,
    apply_patch,
    check_keys,
    get_ids,
    get_properties,
)

__all__ = ["format_utc", "parse_utc", "push_subscription_get", "push_subscription_set"]

_PROPERTIES = ("id", "deviceClientId", "url", "keys", "verificationCode", "expires", "types")
_PRIVATE = ("url", "keys")


def format_utc(when: float) -> str:
    """A UTCDate (RFC 8620 §1.4): ``2018-07-13T02:14:29Z``."""
    return datetime.fromtimestamp(int(when), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(value: Any) -> float | None:
    """The POSIX time of a UTCDate, or ``None`` when it is not one."""
    if not isinstance(value, str) or not value.endswith("Z"):
        return None
    try:
        parsed = datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return parsed.timestamp()


def _object(record: PushSubscriptionRecord) -> dict[str, Any]:
    return {
        "id": encode_id(PUSH, record.id),
        "deviceClientId": record.device_client_id,
        "verificationCode": record.verification_code if record.verified else None,
        "expires": format_utc(record.expires) if record.expires is not None else None,
        "types": json.loads(record.types) if record.types is not None else None,
    }


@register("PushSubscription/get", CORE)
async def push_subscription_get(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /get without accountId or state; url and keys are never returned."""
    check_keys(args, {"ids", "properties"})
    ids = get_ids(call, args)
    requested = args.get("properties")
    if isinstance(requested, list) and any(p in _PRIVATE for p in requested):
        raise MethodError("forbidden", "url and keys are never returned")
    properties = get_properties(args, _PROPERTIES, [p for p in _PROPERTIES if p not in _PRIVATE])
    records = {r.id: r for r in await call.kernel.store.mailboxes.push_subscriptions(call.user.id)}
    found: list[dict[str, Any]] = []
    not_found: list[str] = []
    if ids is None:
        found = [_object(r) for r in records.values()]
    else:
        for jmap_id in dict.fromkeys(ids):
            key = decode_id(PUSH, jmap_id)
            if key is not None and key in records:
                found.append(_object(records[key]))
            else:
                not_found.append(jmap_id)
    return {
        "list": [{p: obj[p] for p in properties if p in obj} for obj in found],
        "notFound": not_found,
    }


def _types(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise SetError("invalidProperties", "types must be null or a list", properties=["types"])
    return json.dumps(list(dict.fromkeys(value)))


def _clamp(call: Call, value: Any, now: float) -> float:
    limit = now + call.settings.push_max_expiry
    if value is None:
        return limit
    when = parse_utc(value)
    if when is None:
        raise SetError("invalidProperties", "expires must be a UTCDate", properties=["expires"])
    return min(when, limit)


@register("PushSubscription/set", CORE)
async def push_subscription_set(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """Standard /set without accountId, ifInState or states (§7.2.2)."""
    check_keys(args, {"create", "update", "destroy"})
    creates = args.get("create") or {}
    updates = args.get("update") or {}
    destroys = args.get("destroy") or []
    if (
        not isinstance(creates, dict)
        or not isinstance(updates, dict)
        or not isinstance(destroys, list)
    ):
        raise MethodError("invalidArguments", "create, update and destroy have the wrong type")
    if len(creates) + len(updates) + len(destroys) > call.settings.max_objects_in_set:
        raise MethodError("requestTooLarge", "too many objects")
    store = call.kernel.store.mailboxes
    user = call.user.id
    out: dict[str, Any] = {
        "created": {},
        "updated": {},
        "destroyed": [],
        "notCreated": {},
        "notUpdated": {},
        "notDestroyed": {},
    }
    now = time.time()
    for creation_id, obj in creates.items():
        try:
            record = await _create(call, obj, now)
        except SetError as error:
            out["notCreated"][creation_id] = error.to_json()
            continue
        new_id = encode_id(PUSH, record.id)
        call.created_ids[creation_id] = new_id
        created: dict[str, Any] = {"id": new_id, "expires": format_utc(record.expires or now)}
        if record.keys is None:
            created["keys"] = None  # RFC 8620 §5.3: an omitted property's value
        out["created"][creation_id] = created
        pusher = call.kernel.stash.get(PUSHER, None)
        if pusher is not None:
            pusher.verify(record)
    records = {r.id: r for r in await store.push_subscriptions(user)}
    for sent_id, patch in updates.items():
        jmap_id = call.resolve_creation_id(sent_id)
        key = decode_id(PUSH, jmap_id)
        try:
            if key is None or key not in records or not isinstance(patch, dict):
                raise SetError("notFound")
            changed = await _update(call, records[key], patch, now)
        except SetError as error:
            out["notUpdated"][sent_id] = error.to_json()
            continue
        out["updated"][jmap_id] = changed
    for sent_id in destroys:
        jmap_id = call.resolve_creation_id(sent_id) if isinstance(sent_id, str) else sent_id
        key = decode_id(PUSH, jmap_id)
        if key is None or not await store.delete_push_subscription(user, key):
            out["notDestroyed"][str(sent_id)] = SetError("notFound").to_json()
            continue
        out["destroyed"].append(jmap_id)
    pusher = call.kernel.stash.get(PUSHER, None)
    if pusher is not None:
        pusher.invalidate(user)
    return {name: value or None for name, value in out.items()}


async def _create(call: Call, obj: Any, now: float) -> PushSubscriptionRecord:
    if not isinstance(obj, dict):
        raise SetError("invalidProperties", "not an object")
    unknown = [k for k in obj if k not in _PROPERTIES or k == "id"]
    if unknown:
        raise SetError("invalidProperties", "unknown or server-set", properties=unknown)
    device = obj.get("deviceClientId")
    if not isinstance(device, str) or not device:
        raise SetError("invalidProperties", "deviceClientId", properties=["deviceClientId"])
    url = obj.get("url")
    scheme = urllib.parse.urlsplit(url).scheme if isinstance(url, str) else ""
    allowed = {"https", "http"} if call.settings.push_allow_http else {"https"}
    if scheme not in allowed or not urllib.parse.urlsplit(url).netloc:
        raise SetError("invalidProperties", "url must be an https:// URL", properties=["url"])
    keys = obj.get("keys")
    if keys is not None:
        try:
            parse_keys(keys)
        except ValueError as error:
            raise SetError("invalidProperties", str(error), properties=["keys"]) from None
    if obj.get("verificationCode") is not None:
        raise SetError(
            "invalidProperties", "verificationCode must be null", properties=["verificationCode"]
        )
    return await call.kernel.store.mailboxes.add_push_subscription(
        call.user.id,
        device_client_id=device,
        url=url,
        keys=None if keys is None else json.dumps(keys, separators=(",", ":")),
        verification_code=secrets.token_hex(16),
        expires=_clamp(call, obj.get("expires"), now),
        types=_types(obj.get("types")),
        now=now,
    )


async def _update(
    call: Call, record: PushSubscriptionRecord, patch: dict[str, Any], now: float
) -> dict[str, Any] | None:
    current = _object(record)
    current["verificationCode"] = None
    # url and keys are immutable (§7.2): compared, so that a patch changing them fails.
    current["url"] = record.url
    current["keys"] = json.loads(record.keys) if record.keys is not None else None
    new = apply_patch(current, patch)
    changed = {k for k in new if new.get(k) != current.get(k)} | (set(current) - set(new))
    bad = [k for k in changed if k not in ("verificationCode", "expires", "types")]
    if bad:
        raise SetError("invalidProperties", "immutable properties", properties=bad)
    verified = None
    if "verificationCode" in changed:
        if new.get("verificationCode") != record.verification_code:
            raise SetError(
                "invalidProperties", "wrong verification code", properties=["verificationCode"]
            )
        verified = True
    fields: dict[str, Any] = {}
    if "expires" in changed:
        fields["expires"] = _clamp(call, new.get("expires"), now)
    if "types" in changed:
        fields["types"] = _types(new.get("types"))
    try:
        updated = await call.kernel.store.mailboxes.update_push_subscription(
            call.user.id, record.id, verified=verified, **fields
        )
    except NoSuchItem:
        raise SetError("notFound") from None
    if "expires" in fields and updated.expires is not None:
        requested = new.get("expires")
        if requested != format_utc(updated.expires):
            return {"expires": format_utc(updated.expires)}
    return None
