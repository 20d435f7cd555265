"""Render one Email object (RFC 8621 §4.1) from the raw message and its store metadata.

Sans-IO: :func:`render_email` takes the bytes, the parsed message and an
:class:`EmailMeta` (what the store knows: ids, mailboxes, keywords, dates) and returns
the JSON object with the requested properties. Email/get and Email/parse share it.

Implementation notes:

- Header fields are read from the raw bytes once per email, only when a property needs
  them; the convenience properties are the *last* instance of their field (§4.1.3).
- ``preview`` and ``hasAttachment`` come from the store row (computed at append by
  :mod:`kernel.mail`), so that Email/query's ``hasAttachment`` agrees with Email/get.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, final

from kernel.mail import Header, Message, parse_header_block
from plugins.jmap.mail.email_body_parts import (
    DEFAULT_BODY_PROPERTIES,
    BodyNode,
    body_tree,
    body_value,
    check_body_properties,
    render_part,
    split_body,
)
from plugins.jmap.mail.email_header_forms import (
    HeaderProperty,
    header_value,
    headers_json,
    parse_header_property,
    utc_date_json,
)

__all__ = [
    "DEFAULT_PROPERTIES",
    "EMAIL_PROPERTIES",
    "BodyOptions",
    "EmailMeta",
    "check_properties",
    "metadata_value",
    "render_email",
]

#: RFC 8621 §4.2: the properties returned when ``properties`` is null.
DEFAULT_PROPERTIES: Final = (
    "id",
    "blobId",
    "threadId",
    "mailboxIds",
    "keywords",
    "size",
    "receivedAt",
    "messageId",
    "inReplyTo",
    "references",
    "sender",
    "from",
    "to",
    "cc",
    "bcc",
    "replyTo",
    "subject",
    "sentAt",
    "hasAttachment",
    "preview",
    "bodyValues",
    "textBody",
    "htmlBody",
    "attachments",
)
# RFC 8621 §4.1.3: the convenience properties and the header form each stands for.
_CONVENIENCE: Final = {
    "messageId": HeaderProperty("message-id", "MessageIds", False),
    "inReplyTo": HeaderProperty("in-reply-to", "MessageIds", False),
    "references": HeaderProperty("references", "MessageIds", False),
    "sender": HeaderProperty("sender", "Addresses", False),
    "from": HeaderProperty("from", "Addresses", False),
    "to": HeaderProperty("to", "Addresses", False),
    "cc": HeaderProperty("cc", "Addresses", False),
    "bcc": HeaderProperty("bcc", "Addresses", False),
    "replyTo": HeaderProperty("reply-to", "Addresses", False),
    "subject": HeaderProperty("subject", "Text", False),
    "sentAt": HeaderProperty("date", "Date", False),
}
_BODY: Final = frozenset({"bodyStructure", "bodyValues", "textBody", "htmlBody", "attachments"})
#: Every Email property besides the ``header:`` forms.
EMAIL_PROPERTIES: Final = frozenset({*DEFAULT_PROPERTIES, *_CONVENIENCE, *_BODY, "headers"})

Checked = list[tuple[str, HeaderProperty | None]]


def check_properties(names: Sequence[Any] | None) -> Checked:
    """Validate Email ``properties`` (null gives the §4.2 default); ``id`` always first.

    Raises:
        ValueError: an unknown property or a forbidden header form (``invalidArguments``).
    """
    wanted = list(DEFAULT_PROPERTIES if names is None else names)
    out: Checked = [("id", None)]
    for name in wanted:
        if not isinstance(name, str):
            raise ValueError("properties must be strings")
        header = parse_header_property(name)
        if header is None and name not in EMAIL_PROPERTIES:
            raise ValueError(f"unknown Email property {name!r}")
        if name != "id" and all(name != n for n, _ in out):
            out.append((name, header))
    return out


@final
@dataclass(frozen=True, slots=True)
class EmailMeta:
    """What the store knows about an Email besides its bytes (``None``: null, Email/parse)."""

    id: str | None
    blob_id: str
    thread_id: str | None
    mailbox_ids: Mapping[str, bool] | None
    keywords: Mapping[str, bool] | None
    size: int
    received_at: float | None
    has_attachment: bool
    preview: str


@final
@dataclass(frozen=True, slots=True)
class BodyOptions:
    """The body arguments of Email/get and Email/parse (§4.2, §4.9)."""

    part_blob_id: Callable[[str], str]
    body_properties: Checked = field(
        default_factory=lambda: check_body_properties(DEFAULT_BODY_PROPERTIES)
    )
    fetch_text: bool = False
    fetch_html: bool = False
    fetch_all: bool = False
    max_bytes: int = 0


def metadata_value(name: str, meta: EmailMeta) -> Any:
    """A property the store knows without the message (``id``, ``keywords``, ...)."""
    if name == "id":
        return meta.id
    if name == "blobId":
        return meta.blob_id
    if name == "threadId":
        return meta.thread_id
    if name == "mailboxIds":
        return dict(meta.mailbox_ids) if meta.mailbox_ids is not None else None
    if name == "keywords":
        return dict(meta.keywords) if meta.keywords is not None else None
    if name == "size":
        return meta.size
    if name == "receivedAt":
        return utc_date_json(meta.received_at) if meta.received_at is not None else None
    if name == "hasAttachment":
        return meta.has_attachment
    if name == "preview":
        return meta.preview
    raise KeyError(name)


def render_email(
    raw: bytes, message: Message, meta: EmailMeta, properties: Checked, options: BodyOptions
) -> dict[str, Any]:
    """The Email object with ``properties`` (checked by :func:`check_properties`)."""
    out: dict[str, Any] = {}
    headers: list[Header] | None = None
    tree: BodyNode | None = None
    split: tuple[list[BodyNode], list[BodyNode], list[BodyNode]] | None = None
    for name, header in properties:
        if header is not None or name in _CONVENIENCE or name == "headers":
            if headers is None:
                headers = parse_header_block(raw, message.start, message.root.header_end)
            if name == "headers":
                out[name] = headers_json(headers)
            else:
                out[name] = header_value(headers, header or _CONVENIENCE[name])
            continue
        if name not in _BODY:
            out[name] = metadata_value(name, meta)
            continue
        if tree is None:
            tree = body_tree(message)
        if name == "bodyStructure":
            out[name] = render_part(
                raw, tree, options.body_properties, options.part_blob_id, recurse=True
            )
            continue
        if split is None:
            split = split_body(tree)
        if name == "bodyValues":
            out[name] = _body_values(raw, tree, split, options)
        else:
            nodes = split[("textBody", "htmlBody", "attachments").index(name)]
            out[name] = [
                render_part(raw, n, options.body_properties, options.part_blob_id, recurse=False)
                for n in nodes
            ]
    return out


def _body_values(
    raw: bytes,
    tree: BodyNode,
    split: tuple[list[BodyNode], list[BodyNode], list[BodyNode]],
    options: BodyOptions,
) -> dict[str, Any]:
    chosen: list[BodyNode] = []
    if options.fetch_all:
        stack = [tree]
        while stack:
            node = stack.pop()
            chosen.append(node)
            stack.extend(reversed(node.children))
    else:
        if options.fetch_text:
            chosen.extend(split[0])
        if options.fetch_html:
            chosen.extend(split[1])
    values: dict[str, Any] = {}
    for node in chosen:
        if node.part_id is None or node.part.content_type != "text" or node.part_id in values:
            continue
        values[node.part_id] = body_value(raw, node.part, options.max_bytes)
    return values
