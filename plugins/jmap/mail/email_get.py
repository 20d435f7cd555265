"""Email/get (RFC 8621 §4.2) and Email/changes (§4.3).

Implementation notes:

- One store read loads the page's rows, keywords and memberships; the raw bytes are read
  (one batch) only when a requested property is derived from the message (headers,
  convenience header properties, body parts). The parsed MIME structure is the one the
  store kept at append, never parsed again.
- ``ids: null`` returns every visible Email, refused with ``requestTooLarge`` past
  ``maxObjectsInGet`` (RFC 8620 §5.1 allows it).
- The state is read before the objects (a change racing the read is seen again by
  Email/changes).
"""

from __future__ import annotations

from typing import Any, Final

import trio

from kernel.store.filters import All
from plugins.jmap.capabilities import MAIL
from plugins.jmap.ids import EMAIL, decode_id, encode_id
from plugins.jmap.mail.email_access import (
    BODY_ARGS,
    body_options,
    email_meta,
    readable_mailboxes,
    scope_filter,
    structure,
    visible,
)
from plugins.jmap.mail.email_render import check_properties, metadata_value, render_email
from plugins.jmap.methods import Call, MethodError, register
from plugins.jmap.standard import check_keys, get_ids, standard_changes

__all__ = ["email_changes", "email_get"]

# Properties served from the store row alone (RFC 8621 §4.2's "fast" list, mostly).
_NO_RAW: Final = frozenset(
    {
        "id",
        "blobId",
        "threadId",
        "mailboxIds",
        "keywords",
        "size",
        "receivedAt",
        "hasAttachment",
        "preview",
    }
)


@register("Email/get", MAIL)
async def email_get(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8621 §4.2 Email/get."""
    account = await call.account_id(args)
    check_keys(args, {"accountId", "ids", "properties", *BODY_ARGS})
    ids = get_ids(call, args)
    names = args.get("properties")
    if names is not None and not isinstance(names, list):
        raise MethodError("invalidArguments", "'properties' must be null or a list")
    try:
        properties = check_properties(names)
    except ValueError as error:
        raise MethodError("invalidArguments", str(error)) from None
    body_options(args, "")  # check the body arguments before any work
    state = await call.state(account)
    readable = await readable_mailboxes(call, account)
    store = call.kernel.store.emails
    not_found: list[str] = []
    if ids is None:
        everything = await store.query(account, scope_filter(All(), readable))
        if len(everything.ids) > call.settings.max_objects_in_get:
            raise MethodError(
                "requestTooLarge", f"more than {call.settings.max_objects_in_get} Emails"
            )
        wanted_ids = [encode_id(EMAIL, e) for e in everything.ids]
    else:
        wanted_ids = list(dict.fromkeys(ids))
    keys = {jmap_id: decode_id(EMAIL, jmap_id) for jmap_id in wanted_ids}
    records = await store.records(account, [k for k in keys.values() if k is not None])
    needs_raw = any(name not in _NO_RAW for name, _ in properties)
    present = [k for k in keys.values() if k is not None and k in records]
    raws = await store.raws(account, present) if needs_raw and present else {}
    found = []
    for jmap_id, key in keys.items():
        record = records.get(key) if key is not None else None
        if record is None or not visible(record, readable):
            not_found.append(jmap_id)
        else:
            found.append(record)

    def render() -> list[dict[str, Any]]:
        listed = []
        for record in found:
            meta = email_meta(record, readable)
            if not needs_raw:
                listed.append({name: metadata_value(name, meta) for name, _ in properties})
                continue
            options = body_options(args, meta.blob_id)
            raw = raws.get(record.id, b"")
            listed.append(render_email(raw, structure(record), meta, properties, options))
        return listed

    # Parsing header fields and decoding bodies is CPU work: off the event loop.
    listed = await trio.to_thread.run_sync(render) if needs_raw else render()
    return {"accountId": args["accountId"], "state": state, "list": listed, "notFound": not_found}


@register("Email/changes", MAIL)
async def email_changes(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8621 §4.3 Email/changes: a standard /changes over the change log's emails."""
    account = await call.account_id(args)
    answer, _ = await standard_changes(
        call, args, account=account, kind="email", encode=lambda i: encode_id(EMAIL, i)
    )
    return answer
