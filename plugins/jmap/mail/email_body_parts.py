"""EmailBodyPart trees, the textBody/htmlBody/attachments split and bodyValues (RFC 8621
§4.1.4), from a message parsed by :mod:`kernel.mail` and its raw bytes.

Implementation notes:

- ``partId`` is the part's IMAP section number (RFC 9051 §6.4.5: ``1``, ``2.1``, ...),
  which :func:`kernel.mail.part_by_path` resolves; a multipart has none (§4.1.4: null
  iff multipart). The tree does not recurse into ``message/rfc822`` (§4.1.4
  bodyStructure), so such a part is a leaf whose blob is the encapsulated message.
- :func:`split_body` is the §4.1.4 ``parseStructure`` algorithm transcribed.
- ``size`` is the length after transfer decoding, so the body is decoded (only for
  parts whose size is asked for).
- Body values: CRLF becomes LF; ``maxBodyValueBytes`` cuts on a UTF-8 boundary and, for
  ``text/html``, not inside a tag (§4.2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, final

from kernel.mail import (
    Message,
    Part,
    decode_body,
    decode_bytes,
    lookup_charset,
    parse_header_block,
    part_by_path,
)
from plugins.jmap.mail.email_header_forms import (
    HeaderProperty,
    header_value,
    headers_json,
    parse_header_property,
)

__all__ = [
    "BODY_PROPERTIES",
    "DEFAULT_BODY_PROPERTIES",
    "BodyNode",
    "body_tree",
    "body_value",
    "check_body_properties",
    "find_part",
    "render_part",
    "split_body",
]

#: RFC 8621 §4.2: the default ``bodyProperties``.
DEFAULT_BODY_PROPERTIES: Final = (
    "partId",
    "blobId",
    "size",
    "name",
    "type",
    "charset",
    "disposition",
    "cid",
    "language",
    "location",
)
#: Every EmailBodyPart property besides the ``header:`` forms.
BODY_PROPERTIES: Final = frozenset({*DEFAULT_BODY_PROPERTIES, "headers", "subParts"})
_KNOWN_ENCODINGS: Final = frozenset({"7bit", "8bit", "binary", "", "base64", "quoted-printable"})
_INLINE_MEDIA: Final = ("image/", "audio/", "video/")


@final
@dataclass(eq=False, slots=True)
class BodyNode:
    """One EmailBodyPart: the kernel part, its ``partId`` and its sub-parts."""

    part: Part
    part_id: str | None
    children: list[BodyNode] = field(default_factory=list)

    @property
    def type(self) -> str:
        """``type/subtype``, lower-case."""
        return self.part.mime_type

    @property
    def is_multipart(self) -> bool:
        """Whether this is a ``multipart/*`` with sub-parts."""
        return self.part.is_multipart and self.part.message is None

    @property
    def name(self) -> str | None:
        """The file name (§4.1.4 ``name``)."""
        return self.part.filename


def body_tree(message: Message) -> BodyNode:
    """The bodyStructure of ``message`` (not recursing into encapsulated messages)."""

    def build(part: Part, path: tuple[int, ...]) -> BodyNode:
        if part.is_multipart and part.message is None:
            node = BodyNode(part, None)
            node.children = [build(child, (*path, i)) for i, child in enumerate(part.children, 1)]
            return node
        return BodyNode(part, ".".join(map(str, path or (1,))))

    return build(message.root, ())


def find_part(message: Message, part_id: str) -> Part | None:
    """The leaf part a ``partId`` names, ``None`` when there is none (or it is a multipart)."""
    try:
        path = tuple(int(n) for n in part_id.split("."))
    except ValueError:
        return None
    if any(n < 1 for n in path) or str(".".join(map(str, path))) != part_id:
        return None
    part = part_by_path(message, path)
    if part is None or (part.is_multipart and part.message is None):
        return None
    return part


def check_body_properties(names: Sequence[str]) -> list[tuple[str, HeaderProperty | None]]:
    """Validate ``bodyProperties``; raises ValueError for an unknown one."""
    out: list[tuple[str, HeaderProperty | None]] = []
    for name in names:
        if not isinstance(name, str):
            raise ValueError("bodyProperties must be strings")
        header = parse_header_property(name)
        if header is None and name not in BODY_PROPERTIES:
            raise ValueError(f"unknown body property {name!r}")
        out.append((name, header))
    return out


def render_part(
    raw: bytes,
    node: BodyNode,
    properties: Sequence[tuple[str, HeaderProperty | None]],
    blob_id: Callable[[str], str],
    *,
    recurse: bool,
) -> dict[str, Any]:
    """One EmailBodyPart object with ``properties``; with ``recurse``, ``subParts`` too.

    Args:
        raw: the message bytes the part was parsed from.
        node: the part.
        properties: checked ``bodyProperties`` (see :func:`check_body_properties`).
        blob_id: the blob id of a ``partId``.
        recurse: render ``subParts`` of multiparts (bodyStructure) even when not asked.
    """
    part = node.part
    out: dict[str, Any] = {}
    headers = None
    for name, header in properties:
        if header is not None:
            if headers is None:
                headers = parse_header_block(raw, part.header_start, part.header_end)
            out[name] = header_value(headers, header)
        elif name == "partId":
            out[name] = node.part_id
        elif name == "blobId":
            out[name] = blob_id(node.part_id) if node.part_id is not None else None
        elif name == "size":
            out[name] = part.body_size if node.is_multipart else len(decode_body(raw, part))
        elif name == "headers":
            if headers is None:
                headers = parse_header_block(raw, part.header_start, part.header_end)
            out[name] = headers_json(headers)
        elif name == "name":
            out[name] = node.name
        elif name == "type":
            out[name] = node.type
        elif name == "charset":
            out[name] = part.charset
        elif name == "disposition":
            out[name] = part.disposition
        elif name == "cid":
            out[name] = part.cid
        elif name == "language":
            out[name] = list(part.language) if part.language else None
        elif name == "location":
            out[name] = part.location
        elif name == "subParts":
            out[name] = None
    if node.is_multipart and (recurse or any(n == "subParts" for n, _ in properties)):
        out["subParts"] = [
            render_part(raw, child, properties, blob_id, recurse=recurse) for child in node.children
        ]
    elif "subParts" in out and not node.is_multipart:
        del out["subParts"]
    return out


def _is_inline_media(kind: str) -> bool:
    return kind.startswith(_INLINE_MEDIA)


def split_body(root: BodyNode) -> tuple[list[BodyNode], list[BodyNode], list[BodyNode]]:
    """``(textBody, htmlBody, attachments)`` by the §4.1.4 algorithm."""
    text: list[BodyNode] = []
    html: list[BodyNode] = []
    attachments: list[BodyNode] = []

    def parse(
        parts: Sequence[BodyNode],
        multipart_type: str,
        in_alternative: bool,
        html_body: list[BodyNode] | None,
        text_body: list[BodyNode] | None,
    ) -> None:
        text_length = len(text_body) if text_body is not None else -1
        html_length = len(html_body) if html_body is not None else -1
        for i, part in enumerate(parts):
            kind = part.type
            is_inline = (
                part.part.disposition != "attachment"
                and (kind in ("text/plain", "text/html") or _is_inline_media(kind))
                and (
                    i == 0
                    or (multipart_type != "related" and (_is_inline_media(kind) or not part.name))
                )
            )
            if part.is_multipart:
                sub = part.part.subtype
                parse(
                    part.children,
                    sub,
                    in_alternative or sub == "alternative",
                    html_body,
                    text_body,
                )
            elif is_inline:
                if multipart_type == "alternative":
                    if kind == "text/plain" and text_body is not None:
                        text_body.append(part)
                    elif kind == "text/html" and html_body is not None:
                        html_body.append(part)
                    else:
                        attachments.append(part)
                    continue
                if in_alternative:
                    if kind == "text/plain":
                        html_body = None
                    if kind == "text/html":
                        text_body = None
                if text_body is not None:
                    text_body.append(part)
                if html_body is not None:
                    html_body.append(part)
                if (text_body is None or html_body is None) and _is_inline_media(kind):
                    attachments.append(part)
            else:
                attachments.append(part)
        if multipart_type == "alternative" and text_body is not None and html_body is not None:
            # Found HTML part only
            if text_length == len(text_body) and html_length != len(html_body):
                text_body.extend(html_body[html_length:])
            # Found plain-text part only
            if html_length == len(html_body) and text_length != len(text_body):
                html_body.extend(text_body[text_length:])

    parse([root], "mixed", False, html, text)
    return text, html, attachments


def _encoding_problem(data: bytes, part: Part) -> bool:
    if part.transfer_encoding not in _KNOWN_ENCODINGS:
        return True
    label = part.params.get("charset")
    codec = lookup_charset(label)
    if codec is None:
        return True
    if codec == "ascii":
        if data.isascii():
            return False
        codec = "utf-8"  # 8-bit in a part without a real charset: fine when it is UTF-8
    try:
        data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return True
    return False


def truncate_utf8(text: str, limit: int, *, html: bool) -> tuple[str, bool]:
    """``text`` cut to at most ``limit`` UTF-8 octets on a code point boundary (and, for
    HTML, not inside a tag); returns the text and whether it was cut."""
    encoded = text.encode("utf-8", "surrogatepass")
    if limit <= 0 or len(encoded) <= limit:
        return text, False
    cut = encoded[:limit].decode("utf-8", "ignore")
    if html:
        # RFC 8621 §4.2: SHOULD NOT truncate inside an HTML tag.
        opening = cut.rfind("<")
        if opening > cut.rfind(">"):
            cut = cut[:opening]
    return cut, True


def body_value(raw: bytes, part: Part, max_bytes: int = 0) -> dict[str, Any]:
    """The EmailBodyValue of a ``text/*`` part (§4.1.4 bodyValues)."""
    data = decode_body(raw, part)
    value = decode_bytes(data, part.params.get("charset")).replace("\r\n", "\n")
    problem = _encoding_problem(data, part)
    value, truncated = truncate_utf8(value, max_bytes, html=part.subtype == "html")
    return {"value": value, "isEncodingProblem": problem, "isTruncated": truncated}
