"""SearchSnippet/get (RFC 8621 §5.1).

The filter is checked exactly as Email/query checks it (``unsupportedFilter``,
``invalidArguments``); the snippets themselves come from
:mod:`plugins.jmap.mail.snippet_render` over the Email's subject (Text form of its last
Subject field) and the text of its textBody parts (HTML reduced to text).
"""

from __future__ import annotations

from typing import Any

import trio

from kernel.mail import decode_text, html_to_text, parse_header_block
from plugins.jmap.capabilities import MAIL
from plugins.jmap.ids import EMAIL, decode_id, encode_id
from plugins.jmap.mail.email_access import readable_mailboxes, structure, visible
from plugins.jmap.mail.email_body_parts import body_tree, split_body
from plugins.jmap.mail.email_header_forms import HeaderProperty, header_value
from plugins.jmap.mail.email_query import translate
from plugins.jmap.mail.snippet_render import Terms, search_terms, snippet
from plugins.jmap.methods import Call, MethodError, register
from plugins.jmap.standard import check_keys

__all__ = ["search_snippet_get", "subject_and_body"]

_SUBJECT = HeaderProperty("subject", "Text", False)
#: Characters of body text searched for a snippet.
_BODY_LIMIT = 200_000


def subject_and_body(raw: bytes, message: Any) -> tuple[str | None, str]:
    """The decoded subject and the plain text of the textBody parts."""
    headers = parse_header_block(raw, message.start, message.root.header_end)
    subject = header_value(headers, _SUBJECT)
    text_parts, _, _ = split_body(body_tree(message))
    pieces = []
    for node in text_parts:
        part = node.part
        if part.content_type != "text":
            continue
        text = decode_text(raw, part, limit=_BODY_LIMIT * 4)
        pieces.append(html_to_text(text) if part.subtype == "html" else text)
    return subject, "\n".join(pieces)[:_BODY_LIMIT]


@register("SearchSnippet/get", MAIL)
async def search_snippet_get(call: Call, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8621 §5.1 SearchSnippet/get."""
    account = await call.account_id(args)
    check_keys(args, {"accountId", "filter", "emailIds"})
    query_filter = args.get("filter")
    if query_filter is not None and not isinstance(query_filter, dict):
        raise MethodError("invalidArguments", "'filter' must be null or an object")
    translate(call, query_filter, None)  # same checks as Email/query
    email_ids = args.get("emailIds")
    if not isinstance(email_ids, list) or not all(isinstance(i, str) for i in email_ids):
        raise MethodError("invalidArguments", "'emailIds' must be a list of ids")
    if len(email_ids) > call.settings.max_objects_in_get:
        raise MethodError("requestTooLarge", f"at most {call.settings.max_objects_in_get} emailIds")
    terms = search_terms(query_filter)
    readable = await readable_mailboxes(call, account)
    store = call.kernel.store.emails
    keys = {i: decode_id(EMAIL, call.resolve_creation_id(i)) for i in dict.fromkeys(email_ids)}
    records = await store.records(account, [k for k in keys.values() if k is not None])
    present = [k for k in records if visible(records[k], readable)]
    raws = await store.raws(account, present) if present and terms else {}
    listed, not_found = [], []
    for jmap_id, key in keys.items():
        if key is None or key not in present:
            not_found.append(jmap_id)
            continue
        if not terms:
            listed.append({"emailId": encode_id(EMAIL, key), "subject": None, "preview": None})
            continue
        raw = raws.get(key, b"")
        found = await trio.to_thread.run_sync(_snippet, key, raw, records[key], terms)
        listed.append(found)
    return {"accountId": args["accountId"], "list": listed, "notFound": not_found or None}


def _snippet(key: int, raw: bytes, record: Any, terms: Terms) -> dict[str, Any]:
    subject, body = subject_and_body(raw, structure(record))
    return snippet(encode_id(EMAIL, key), subject, body, terms)
