"""Email/parse (RFC 8621 §4.9): blobs the account can read, rendered as Emails.

Implementation notes:

- Any blob the account can read qualifies: an upload, a stored message, or a MIME part
  (an attached ``message/rfc822`` included). ``id``, ``mailboxIds``, ``keywords``,
  ``receivedAt`` and ``threadId`` are null (§4.9); ``blobId`` is the blob parsed.
- The parser never fails, so "not parsable" is decided by content: an empty blob, or one
  whose first line is not a header field (no header block at all), is ``notParsable``.
- ``hasAttachment`` and ``preview`` are computed as the store does at append.
"""

from __future__ import annotations

from typing import Any, Final

import trio

from kernel.mail import Message, parse_header_block, parse_message, preview, walk
from plugins.jmap.capabilities import MAIL
from plugins.jmap.mail.email_access import BODY_ARGS, body_options, read_any_blob
from plugins.jmap.mail.email_render import (
    DEFAULT_PROPERTIES,
    EmailMeta,
    check_properties,
    render_email,
)
from plugins.jmap.methods import Call, MethodError, register
from plugins.jmap.standard import check_keys

__all__ = ["PARSE_DEFAULT_PROPERTIES", "email_parse", "parse_blob"]

#: RFC 8621 §4.9: the default ``properties`` of Email/parse: Email/get's, without
#: the metadata a parsed blob does not have.
PARSE_DEFAULT_PROPERTIES: Final = tuple(
    p
    for p in DEFAULT_PROPERTIES
    if p not in ("id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt")
)


def parse_blob(data: bytes) -> Message | None:
    """The message in ``data``, or ``None`` when it does not look like one."""
    if not data.strip():
        return None
    if not parse_header_block(data, 0, min(len(data), 64 * 1024)):
        return None
    return parse_message(data)


def parsed_meta(data: bytes, message: Message, blob_id: str) -> EmailMeta:
    """The metadata of a parsed blob (§4.9: the store's properties are null)."""
    return EmailMeta(
        id=None,
        blob_id=blob_id,
        thread_id=None,
        mailbox_ids=None,
        keywords=None,
        size=len(data),
        received_at=None,
        has_attachment=any(part.is_attachment for part in walk(message.root)),
        preview=preview(data, message),
    )


@register("Email/parse", MAIL)
async def email_parse(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8621 §4.9 Email/parse."""
    account = await call.account_id(args)
    check_keys(args, {"accountId", "blobIds", "properties", *BODY_ARGS})
    blob_ids = args.get("blobIds")
    if not isinstance(blob_ids, list) or not all(isinstance(b, str) for b in blob_ids):
        raise MethodError("invalidArguments", "'blobIds' must be a list of ids")
    if len(blob_ids) > call.settings.max_objects_in_get:
        raise MethodError("requestTooLarge", f"at most {call.settings.max_objects_in_get} blobs")
    names = args.get("properties")
    if names is not None and not isinstance(names, list):
        raise MethodError("invalidArguments", "'properties' must be a list")
    try:
        properties = check_properties(PARSE_DEFAULT_PROPERTIES if names is None else names)
    except ValueError as error:
        raise MethodError("invalidArguments", str(error)) from None
    if names is None or "id" not in names:
        properties = properties[1:]  # §4.9 lists no id unless asked for (it would be null)
    body_options(args, "")
    parsed: dict[str, Any] = {}
    not_parsable: list[str] = []
    not_found: list[str] = []
    for blob_id in dict.fromkeys(blob_ids):
        data = await read_any_blob(call, account, blob_id)
        if data is None:
            not_found.append(blob_id)
            continue
        message = await trio.to_thread.run_sync(parse_blob, data)
        if message is None:
            not_parsable.append(blob_id)
            continue
        meta = parsed_meta(data, message, blob_id)
        parsed[blob_id] = render_email(data, message, meta, properties, body_options(args, blob_id))
    return {
        "accountId": args["accountId"],
        "parsed": parsed or None,
        "notParsable": not_parsable or None,
        "notFound": not_found or None,
    }
