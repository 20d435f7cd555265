"""What the Email methods share: argument checks for the body options, the visibility of
Emails in shared accounts, Email metadata in JMAP form, and reading blobs.

Implementation notes:

- In the user's own account every Email is visible. In a shared account
  (:class:`plugins.jmap.accounts.Account` with ``mailbox_rights``) only the Emails in a
  mailbox the user may read (RFC 4314 ``r``) are, and ``mailboxIds`` lists only such
  mailboxes.
- Part blob ids (``G<sha256>_2-1``) are resolved here with :func:`find_part` when the
  framework's resolver gives nothing, so that a ``message/rfc822`` attachment's blob can be
  read (and passed to Email/parse).
"""

from __future__ import annotations

import json
import socket
from typing import Any, Final

import trio

from kernel.mail import Message, decode_body, from_json, parse_message
from kernel.store import Email
from kernel.store.filters import All, AnyOf, Filter, InMailbox
from plugins.jmap.blobs import blob_id_for_hash, part_blob_id, read_blob, split_blob_id
from plugins.jmap.ids import EMAIL, MAILBOX, THREAD, encode_id
from plugins.jmap.mail.email_body_parts import (
    DEFAULT_BODY_PROPERTIES,
    check_body_properties,
    find_part,
)
from plugins.jmap.mail.email_render import BodyOptions, EmailMeta
from plugins.jmap.methods import Call, MethodError

__all__ = [
    "BODY_ARGS",
    "blob_of_part",
    "body_options",
    "email_meta",
    "message_domain",
    "read_any_blob",
    "readable_mailboxes",
    "scope_filter",
    "structure",
    "visible",
]

#: The body arguments of Email/get and Email/parse (RFC 8621 §4.2, §4.9).
BODY_ARGS: Final = (
    "bodyProperties",
    "fetchTextBodyValues",
    "fetchHTMLBodyValues",
    "fetchAllBodyValues",
    "maxBodyValueBytes",
)


def body_options(args: dict[str, Any], blob_id: str) -> BodyOptions:
    """The checked body arguments for the message whose blob id is ``blob_id``."""
    flags = {}
    for key in ("fetchTextBodyValues", "fetchHTMLBodyValues", "fetchAllBodyValues"):
        value = args.get(key, False)
        if value is None:
            value = False
        if not isinstance(value, bool):
            raise MethodError("invalidArguments", f"'{key}' must be a boolean")
        flags[key] = value
    max_bytes = args.get("maxBodyValueBytes", 0)
    if max_bytes is None:
        max_bytes = 0
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise MethodError("invalidArguments", "'maxBodyValueBytes' must be an UnsignedInt")
    names = args.get("bodyProperties")
    if names is not None and not isinstance(names, list):
        raise MethodError("invalidArguments", "'bodyProperties' must be a list")
    try:
        checked = check_body_properties(names if names is not None else DEFAULT_BODY_PROPERTIES)
    except ValueError as error:
        raise MethodError("invalidArguments", str(error)) from None

    def part_id(part: str) -> str:
        return blob_of_part(blob_id, part)

    return BodyOptions(
        part_blob_id=part_id,
        body_properties=checked,
        fetch_text=flags["fetchTextBodyValues"],
        fetch_html=flags["fetchHTMLBodyValues"],
        fetch_all=flags["fetchAllBodyValues"],
        max_bytes=max_bytes,
    )


async def readable_mailboxes(call: Call, account: int) -> frozenset[int] | None:
    """The mailboxes whose Emails the user may read in ``account`` (``None``: all)."""
    rights = await call.mailbox_rights(account)
    if rights is None:
        return None
    return frozenset(m for m, r in rights.items() if "r" in r)


def scope_filter(where: Filter, readable: frozenset[int] | None) -> Filter:
    """``where`` limited to the readable mailboxes of a shared account."""
    if readable is None:
        return where
    return All((where, AnyOf(tuple(InMailbox(m) for m in sorted(readable)))))


def visible(email: Email, readable: frozenset[int] | None) -> bool:
    """Whether the user may see ``email``."""
    return readable is None or any(m.mailbox in readable for m in email.memberships)


def email_meta(email: Email, readable: frozenset[int] | None) -> EmailMeta:
    """The store's knowledge of ``email`` in JMAP form."""
    row = email.row
    return EmailMeta(
        id=encode_id(EMAIL, email.id),
        blob_id=blob_id_for_hash(row.blob),
        thread_id=encode_id(THREAD, row.thread),
        mailbox_ids={
            encode_id(MAILBOX, m.mailbox): True
            for m in email.memberships
            if readable is None or m.mailbox in readable
        },
        keywords={k: True for k in sorted(email.keywords)},
        size=row.size,
        received_at=row.received_at,
        has_attachment=row.has_attachment,
        preview=row.preview,
    )


def structure(email: Email) -> Message:
    """The parsed message the store kept at append."""
    return from_json(json.loads(email.row.structure))


async def read_any_blob(call: Call, account: int, blob_id: str) -> bytes | None:
    """The bytes of a blob the account may read: an upload, a message or a MIME part
    (also of an uploaded message, and inside an attached ``message/rfc822``)."""
    data = await read_blob(call.kernel, account, blob_id)
    if data is not None:
        return data
    parsed = split_blob_id(blob_id)
    if parsed is None or parsed[1] is None:
        return None
    digest, path = parsed
    whole = await read_blob(call.kernel, account, blob_id_for_hash(digest))
    if whole is None:
        return None
    message = await trio.to_thread.run_sync(parse_message, whole)
    part = find_part(message, ".".join(map(str, path)))
    return decode_body(whole, part) if part is not None else None


def blob_of_part(blob_id: str, part_id: str) -> str:
    """The blob id of part ``part_id`` of the message in blob ``blob_id``, which may
    itself be a part (an attached message: its parts continue the section number)."""
    if "_" in blob_id:
        return f"{blob_id}-{part_id.replace('.', '-')}"
    return part_blob_id(blob_id, part_id)


def message_domain(call: Call) -> str:
    """The domain for generated Message-IDs: the user's, else this host's name."""
    _, at, domain = call.user.name.rpartition("@")
    return domain if at and domain else socket.getfqdn() or "localhost"
