"""The body extension (RFC 5173): ``body [COMPARATOR] [MATCH-TYPE] [BODY-TRANSFORM] <keys>``.

Implementation notes:

- ``:raw`` (RFC 5173 §5.1) is the undecoded body after the top-level header, one string.
- ``:content`` (§5.2) searches every part whose type matches, recursively: leaf parts
  decoded (transfer encoding and charset); multiparts contribute their prologue and
  epilogue as separate strings; ``message/rfc822`` parts their nested header block as
  one string. A content type that begins or ends with ``/`` or holds two slashes
  matches nothing; so does a part whose Content-Type field has such a value.
- ``:text`` (§5.3, the default) reads the text parts, with HTML (``text/html`` and
  ``application/xhtml+xml``) reduced to its visible text.
- A part with an unknown Content-Transfer-Encoding cannot be decoded and is skipped.
- The body test never sets match variables (RFC 5173 §6).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from kernel.mail import Part, decode_bytes, decode_text, html_to_text, parse_header_block
from plugins.sieve.compiled import Node
from plugins.sieve.spec import ArgKind, Extension, Spec, TagSpec, match_tags

if TYPE_CHECKING:
    from plugins.sieve.interpreter import Run
    from plugins.sieve.message import MessageView

__all__ = ["EXTENSIONS", "part_text", "valid_content_type"]

_KNOWN_ENCODINGS = frozenset({"7bit", "8bit", "binary", "base64", "quoted-printable"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# RFC 2045 §5.1: type "/" subtype, both tokens; anything after must be parameters.
_TYPE_FIELD = re.compile(
    r"\s*[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+\s*/\s*[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+\s*(;|\Z)"
)


def valid_content_type(message: MessageView, part: Part) -> bool:
    """Whether ``part``'s Content-Type field, if present, is a well-formed type/subtype."""
    for header in parse_header_block(message.raw, part.header_start, part.header_end):
        if header.lower_name == "content-type":
            return _TYPE_FIELD.match(header.text) is not None
    return True


def _decodable(part: Part) -> bool:
    return part.transfer_encoding in _KNOWN_ENCODINGS or not part.transfer_encoding


def part_text(message: MessageView, part: Part) -> str:
    """The decoded text of a leaf part, HTML reduced to its text."""
    text = decode_text(message.raw, part)
    if part.mime_type in _HTML_TYPES:
        return html_to_text(text).strip()
    return text


def _type_matches(part: Part, wanted: str) -> bool:
    if wanted == "":
        return True
    if "/" in wanted:
        return part.mime_type == wanted
    return part.content_type == wanted


def _multipart_texts(message: MessageView, part: Part) -> list[str]:
    """RFC 5173 §5.2: the prologue and epilogue of a multipart."""
    raw = message.raw
    boundary = part.params.get("boundary", "")
    if not part.children or not boundary:
        return []
    delimiter = ("--" + boundary).encode("utf-8", "surrogateescape")
    body = raw[part.body_start : part.body_end]
    first = part.children[0].header_start - part.body_start
    start_of_line = body.rfind(delimiter, 0, max(first, 0))
    prologue = body[: max(start_of_line, 0)].rstrip(b"\r\n")
    closing = body.rfind(delimiter + b"--")
    texts = [prologue]
    if closing >= 0:
        rest = body[closing + len(delimiter) + 2 :]
        newline = rest.find(b"\n")
        texts.append(rest[newline + 1 :] if newline >= 0 else b"")
    return [decode_bytes(t, None) for t in texts if t.strip()]


def _content_values(message: MessageView, part: Part, wanted: list[str]) -> Iterator[str]:
    valid = valid_content_type(message, part)
    matches = valid and any(_type_matches(part, w) for w in wanted)
    if part.is_multipart:
        if matches:
            yield from _multipart_texts(message, part)
        for child in part.children:
            yield from _content_values(message, child, wanted)
        return
    if part.message is not None:
        if matches:
            nested = part.message.root
            header = message.raw[nested.header_start : nested.header_end]
            if header.endswith(b"\r\n\r\n") or header.endswith(b"\n\n"):
                header = header[: -2 if header.endswith(b"\r\n\r\n") else -1]
            elif header.endswith(b"\n") and header.strip(b"\r\n") == b"":
                header = b""
            yield decode_bytes(header, None)
        yield from _content_values(message, part.message.root, wanted)
        return
    if matches and _decodable(part):
        yield decode_text(message.raw, part)


def _text_values(message: MessageView, part: Part) -> Iterator[str]:
    if part.is_multipart:
        for child in part.children:
            yield from _text_values(message, child)
        return
    if part.message is not None:
        yield from _text_values(message, part.message.root)
        return
    if not valid_content_type(message, part) or not _decodable(part):
        return
    if part.content_type == "text" or part.mime_type in _HTML_TYPES:
        yield part_text(message, part)


def body_values(run: Run, node: Node) -> list[str]:
    """The strings the body test compares, per its transform."""
    message = run.message
    run.charge(1 + len(message.raw) // 4096)
    if not message.has_body:
        return []
    if node.has("raw"):
        return [decode_bytes(message.body_bytes(), None)]
    content = node.tag("content")
    if content is not None:
        wanted = [w.lower() for w in run.strings(content)]
        wanted = [
            w for w in wanted if not (w.startswith("/") or w.endswith("/") or w.count("/") > 1)
        ]
        if not wanted:
            return []
        return list(_content_values(message, message.root, wanted))
    return list(_text_values(message, message.root))


def _body(run: Run, node: Node) -> bool:
    keys = run.strings(node.args[0])
    spec = run.match_spec(node)
    matched, _ = spec.match(body_values(run, node), keys, run.charge)
    return matched


EXTENSIONS = (
    Extension(
        name="body",
        capabilities=("body",),
        specs=(
            Spec(
                "body",
                requires="body",
                is_test=True,
                positional=(ArgKind.STRING_LIST,),
                tags=(
                    *match_tags(),
                    # RFC 5173 §4: BODY-TRANSFORM = ":raw" / ":content" <string-list> / ":text"
                    TagSpec("raw", group="transform"),
                    TagSpec("content", ArgKind.STRING_LIST, group="transform"),
                    TagSpec("text", group="transform"),
                ),
            ),
        ),
        tests={"body": _body},
    ),
)
