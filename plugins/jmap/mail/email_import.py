"""Email/import (RFC 8621 §4.8) and Email/copy (§4.7).

Implementation notes:

- Import stores the uploaded bytes unchanged, malformed or not (the shared parser never
  fails, so every blob is importable and the ``blobId`` stays the upload's). Duplicates
  are allowed: each import is a new Email (§4.8). The default ``receivedAt`` is the date
  of the most recent (topmost) Received field, else the time of import.
- Copy reads the message from ``fromAccountId`` (the Emails the user can see there) and
  appends it to ``accountId``; only ``mailboxIds``, ``keywords`` and ``receivedAt`` may
  be set, the others default to the original's (RFC 8620 §5.4). The two accounts must
  differ (``invalidArguments``). ``onSuccessDestroyOriginal`` runs an implicit Email/set
  destroy in the source account (RFC 8620 §5.4).
"""

from __future__ import annotations

from typing import Any

from kernel.mail import parse_date, parse_header_block
from plugins.jmap.capabilities import MAIL
from plugins.jmap.ids import EMAIL, decode_id
from plugins.jmap.mail.email_access import read_any_blob, readable_mailboxes, visible
from plugins.jmap.mail.email_set import (
    append_email,
    parse_keywords,
    parse_mailbox_ids,
    received_at,
)
from plugins.jmap.methods import Call, MethodError, register
from plugins.jmap.standard import SetError, check_keys

__all__ = ["email_copy", "email_import", "received_from_headers"]


def received_from_headers(raw: bytes) -> float | None:
    """The date of the topmost Received field (RFC 5321 §4.4: after the last ``;``)."""
    for field in parse_header_block(raw, 0, min(len(raw), 256 * 1024)):
        if field.lower_name == "received":
            _, semicolon, date = field.text.rpartition(";")
            when = parse_date(date) if semicolon else None
            return when.timestamp() if when is not None else None
    return None


def _check_objects(value: Any, name: str) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise MethodError("invalidArguments", f"'{name}' must be a map of objects")
    return value


async def _check_state(call: Call, account: int, expected: Any, name: str) -> str:
    state = await call.state(account)
    if expected is not None:
        if not isinstance(expected, str):
            raise MethodError("invalidArguments", f"'{name}' must be a string")
        if expected != state:
            raise MethodError("stateMismatch", f"the state is {state}")
    return state


@register("Email/import", MAIL)
async def email_import(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8621 §4.8 Email/import."""
    account = await call.account_id(args)
    check_keys(args, {"accountId", "ifInState", "emails"})
    emails = _check_objects(args.get("emails"), "emails")
    if len(emails) > call.settings.max_objects_in_set:
        raise MethodError("requestTooLarge", f"at most {call.settings.max_objects_in_set} Emails")
    old_state = await _check_state(call, account, args.get("ifInState"), "ifInState")
    if emails:
        await call.require_writable(account)
    created: dict[str, Any] = {}
    not_created: dict[str, Any] = {}
    for creation_id, item in emails.items():
        try:
            unknown = set(item) - {"blobId", "mailboxIds", "keywords", "receivedAt"}
            if unknown:
                raise SetError("invalidProperties", properties=sorted(unknown))
            blob_id = item.get("blobId")
            mailboxes = parse_mailbox_ids(call, item.get("mailboxIds"))
            keywords = parse_keywords(item.get("keywords"))
            when = received_at(item.get("receivedAt"))
            raw = (
                await read_any_blob(call, account, call.resolve_creation_id(blob_id))
                if isinstance(blob_id, str)
                else None
            )
            if raw is None:
                # RFC 8621 §4.8: an invalid blobId (missing, wrong type, not found).
                raise SetError("invalidProperties", "blob not found", properties=["blobId"])
            if when is None:
                when = received_from_headers(raw)
            new_id, server_set = await append_email(call, account, raw, mailboxes, keywords, when)
        except SetError as error:
            not_created[creation_id] = error.to_json()
            continue
        call.created_ids[creation_id] = new_id
        created[creation_id] = {"id": new_id, **server_set}
    return {
        "accountId": args["accountId"],
        "oldState": old_state,
        "newState": await call.state(account),
        "created": created or None,
        "notCreated": not_created or None,
    }


@register("Email/copy", MAIL)
async def email_copy(call: Call, args: dict[str, Any]) -> Any:
    """RFC 8621 §4.7 Email/copy (RFC 8620 §5.4 /copy)."""
    source = (await call.account(args, "fromAccountId")).id
    account = await call.account_id(args)
    check_keys(
        args,
        {
            "fromAccountId",
            "ifFromInState",
            "accountId",
            "ifInState",
            "create",
            "onSuccessDestroyOriginal",
            "destroyFromIfInState",
        },
    )
    if source == account:
        # RFC 8620 §5.4: "MUST NOT be the same as the accountId".
        raise MethodError("invalidArguments", "fromAccountId and accountId are the same")
    creates = _check_objects(args.get("create"), "create")
    destroy_original = args.get("onSuccessDestroyOriginal", False)
    if not isinstance(destroy_original, bool):
        raise MethodError("invalidArguments", "'onSuccessDestroyOriginal' must be a boolean")
    if len(creates) > call.settings.max_objects_in_set:
        raise MethodError("requestTooLarge", f"at most {call.settings.max_objects_in_set} Emails")
    await _check_state(call, source, args.get("ifFromInState"), "ifFromInState")
    old_state = await _check_state(call, account, args.get("ifInState"), "ifInState")
    if creates:
        await call.require_writable(account)
    readable = await readable_mailboxes(call, source)
    store = call.kernel.store.emails
    created: dict[str, Any] = {}
    not_created: dict[str, Any] = {}
    copied: list[str] = []
    for creation_id, item in creates.items():
        try:
            unknown = set(item) - {"id", "mailboxIds", "keywords", "receivedAt"}
            if unknown:
                raise SetError("invalidProperties", properties=sorted(unknown))
            if not isinstance(item.get("id"), str):
                raise SetError("invalidProperties", "the Email id is missing", properties=["id"])
            original = decode_id(EMAIL, call.resolve_creation_id(item["id"]))
            found = await store.records(source, [original] if original is not None else [])
            if original is None or original not in found or not visible(found[original], readable):
                raise SetError("notFound", f"no Email {item.get('id')!r} in the source account")
            record = found[original]
            mailboxes = parse_mailbox_ids(call, item.get("mailboxIds"))
            keywords = (
                parse_keywords(item["keywords"]) if "keywords" in item else set(record.keywords)
            )
            when = received_at(item.get("receivedAt"))
            raw = await store.raw(source, original)
            new_id, server_set = await append_email(
                call,
                account,
                raw,
                mailboxes,
                keywords,
                when if when is not None else record.row.received_at,
            )
        except SetError as error:
            not_created[creation_id] = error.to_json()
            continue
        call.created_ids[creation_id] = new_id
        created[creation_id] = {"id": new_id, **server_set}
        copied.append(item["id"])
    answer = {
        "fromAccountId": args["fromAccountId"],
        "accountId": args["accountId"],
        "oldState": old_state,
        "newState": await call.state(account),
        "created": created or None,
        "notCreated": not_created or None,
    }
    if not destroy_original or not copied:
        return answer
    destroy_args: dict[str, Any] = {"accountId": args["fromAccountId"], "destroy": copied}
    if args.get("destroyFromIfInState") is not None:
        destroy_args["ifInState"] = args["destroyFromIfInState"]
    try:
        implicit = await call.invoke("Email/set", destroy_args)
    except MethodError as error:
        return [("Email/copy", answer), ("error", error.to_json())]
    return [("Email/copy", answer), *implicit]
