"""Email/set create: an Email object to RFC 5322 bytes (RFC 8621 §4.6).

Sans-IO: :func:`referenced_blobs` lists the blob ids the body parts use, the caller
reads them, and :func:`build_message` writes the message. Violations of the §4.6
constraints raise :class:`~plugins.jmap.mail.email_build_headers.BuildError`
(``invalidProperties`` with the offending properties, ``blobNotFound`` with
``notFound``).

Implementation notes:

- Body: ``bodyStructure`` as given, or textBody/htmlBody/attachments assembled as
  ``multipart/alternative`` (text and HTML) inside ``multipart/mixed`` (attachments),
  with inline parts that have a ``cid`` put in ``multipart/related`` beside the HTML.
- Text from ``bodyValues`` is UTF-8, 7bit when it is ASCII with short lines, otherwise
  quoted-printable; blob content is base64 unless it is ASCII text with short lines.
- Message-ID and Date are added when absent (§4.6 MUST), and ``MIME-Version``.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Final

from plugins.jmap.mail.email_build_headers import BuildError, fold, form_to_value
from plugins.jmap.mail.email_header_forms import parse_header_property

__all__ = ["BuildError", "build_message", "referenced_blobs"]

# RFC 8621 §4.1.3: the convenience properties and the field and form each writes.
_CONVENIENCE: Final = {
    "messageId": ("Message-ID", "MessageIds"),
    "inReplyTo": ("In-Reply-To", "MessageIds"),
    "references": ("References", "MessageIds"),
    "sender": ("Sender", "Addresses"),
    "from": ("From", "Addresses"),
    "to": ("To", "Addresses"),
    "cc": ("Cc", "Addresses"),
    "bcc": ("Bcc", "Addresses"),
    "replyTo": ("Reply-To", "Addresses"),
    "subject": ("Subject", "Text"),
    "sentAt": ("Date", "Date"),
}
#: Email properties a create may carry besides headers and body.
_METADATA: Final = frozenset({"mailboxIds", "keywords", "receivedAt"})
_BODY: Final = frozenset({"bodyStructure", "bodyValues", "textBody", "htmlBody", "attachments"})
_SERVER_SET: Final = frozenset(
    {"id", "blobId", "threadId", "size", "hasAttachment", "preview", "headers"}
)
_PART_KEYS: Final = frozenset(
    {
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
        "subParts",
    }
)
_LONG_LINE: Final = re.compile(rb"[^\n]{999}")


def _parts(email: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Every EmailBodyPart object in ``email`` with the property path it is under."""
    found: list[tuple[str, Mapping[str, Any]]] = []

    def visit(part: Any, path: str) -> None:
        if not isinstance(part, Mapping):
            raise BuildError("invalidProperties", [path])
        found.append((path, part))
        sub = part.get("subParts")
        if sub is not None:
            if not isinstance(sub, list):
                raise BuildError("invalidProperties", [f"{path}/subParts"])
            for i, child in enumerate(sub):
                visit(child, f"{path}/subParts/{i}")

    if email.get("bodyStructure") is not None:
        visit(email["bodyStructure"], "bodyStructure")
    for name in ("textBody", "htmlBody", "attachments"):
        value = email.get(name)
        if value is None:
            continue
        if not isinstance(value, list):
            raise BuildError("invalidProperties", [name])
        for i, part in enumerate(value):
            visit(part, f"{name}/{i}")
    return found


def referenced_blobs(email: Mapping[str, Any]) -> list[str]:
    """The blob ids the body parts of a create refer to (raises BuildError if malformed)."""
    blobs = []
    for path, part in _parts(email):
        blob = part.get("blobId")
        if blob is not None:
            if not isinstance(blob, str):
                raise BuildError("invalidProperties", [f"{path}/blobId"])
            blobs.append(blob)
    return list(dict.fromkeys(blobs))


def _header_fields(
    obj: Mapping[str, Any], path: str, *, top: bool, defined: set[str]
) -> list[bytes]:
    """The header fields an Email or EmailBodyPart object sets, in property order."""
    fields: list[bytes] = []
    for key, value in obj.items():
        prop = f"{path}{key}"
        if key in _CONVENIENCE and top:
            name, form = _CONVENIENCE[key]
            everything = False
        elif key.startswith("header:"):
            try:
                parsed = parse_header_property(key)
            except ValueError:
                raise BuildError("invalidProperties", [prop]) from None
            assert parsed is not None
            name, form, everything = key.split(":")[1], parsed.form, parsed.all
            lowered = parsed.field
            if top and lowered.startswith("content-"):
                # RFC 8621 §4.6: Content-* only on EmailBodyPart objects.
                raise BuildError("invalidProperties", [prop])
            if lowered == "content-transfer-encoding":
                raise BuildError("invalidProperties", [prop])
        else:
            continue
        lowered = name.lower()
        if lowered in defined:
            # RFC 8621 §4.6: no two properties for one header field (also across the
            # top-level Email and the bodyStructure root).
            raise BuildError("invalidProperties", [prop])
        defined.add(lowered)
        values = value if everything else [value]
        if everything and not isinstance(value, list):
            raise BuildError("invalidProperties", [prop])
        for item in values:
            text = form_to_value(item, form, prop)
            if text is not None:
                fields.append(fold(name, text))
    return fields


def _is_seven_bit_text(data: bytes) -> bool:
    return data.isascii() and not _LONG_LINE.search(data) and b"\0" not in data


def _crlf(data: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", data)


def _quoted_printable(data: bytes) -> bytes:
    encoded = binascii.b2a_qp(data.replace(b"\r\n", b"\n"), quotetabs=False, istext=True)
    return _crlf(encoded)


def _param(name: str, value: str) -> str:
    if value.isascii() and re.match(r"^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$", value):
        return f"; {name}={value}"
    if value.isascii():
        return '; {}="{}"'.format(name, value.replace("\\", "\\\\").replace('"', '\\"'))
    # RFC 2231 §4: name*=utf-8''percent-encoded
    from urllib.parse import quote

    return f"; {name}*=utf-8''{quote(value, safe='')}"


class _Writer:
    """Builds the MIME entities of one message."""

    def __init__(
        self,
        values: Mapping[str, Any],
        blobs: Mapping[str, bytes],
        defined_top: set[str],
    ) -> None:
        self.values = values
        self.blobs = blobs
        self.defined_top = defined_top
        self.used_values: set[str] = set()

    def part(self, part: Mapping[str, Any], path: str, *, root: bool) -> bytes:
        path = part.get("_path", path)
        unknown = [
            k for k in part if k not in _PART_KEYS and k != "_path" and not k.startswith("header:")
        ]
        if unknown:
            raise BuildError("invalidProperties", [f"{path}/{unknown[0]}"])
        defined = set(self.defined_top) if root else set()
        headers = _header_fields(part, f"{path}/", top=False, defined=defined)
        kind = part.get("type")
        if kind is not None and (not isinstance(kind, str) or "/" not in kind):
            raise BuildError("invalidProperties", [f"{path}/type"])
        sub = part.get("subParts")
        if (kind or "").lower().startswith("multipart/") or sub is not None:
            return self._multipart(part, path, (kind or "multipart/mixed").lower(), headers)
        return self._leaf(part, path, kind, headers)

    def _content_fields(self, part: Mapping[str, Any], path: str, ctype: str) -> list[bytes]:
        fields = []
        name = part.get("name")
        if name is not None and not isinstance(name, str):
            raise BuildError("invalidProperties", [f"{path}/name"])
        if "content-type" not in self._defined(part):
            fields.append(fold("Content-Type", ctype + (_param("name", name) if name else "")))
        disposition = part.get("disposition")
        if disposition is not None and not isinstance(disposition, str):
            raise BuildError("invalidProperties", [f"{path}/disposition"])
        if (disposition or name) and "content-disposition" not in self._defined(part):
            value = (disposition or "attachment") + (_param("filename", name) if name else "")
            fields.append(fold("Content-Disposition", value))
        for key, field in (("cid", "Content-ID"), ("location", "Content-Location")):
            value = part.get(key)
            if value is not None:
                if not isinstance(value, str):
                    raise BuildError("invalidProperties", [f"{path}/{key}"])
                fields.append(fold(field, f"<{value}>" if key == "cid" else value))
        language = part.get("language")
        if language is not None:
            if not isinstance(language, list) or not all(isinstance(x, str) for x in language):
                raise BuildError("invalidProperties", [f"{path}/language"])
            fields.append(fold("Content-Language", ", ".join(language)))
        return fields

    @staticmethod
    def _defined(part: Mapping[str, Any]) -> set[str]:
        return {k.split(":")[1].lower() for k in part if k.startswith("header:")}

    def _multipart(
        self, part: Mapping[str, Any], path: str, kind: str, headers: list[bytes]
    ) -> bytes:
        sub = part.get("subParts")
        if not isinstance(sub, list) or not sub or not kind.startswith("multipart/"):
            raise BuildError("invalidProperties", [f"{path}/subParts"])
        if part.get("partId") is not None or part.get("blobId") is not None:
            raise BuildError("invalidProperties", [f"{path}/partId"])
        children = [
            self.part(child, f"{path}/subParts/{i}", root=False) for i, child in enumerate(sub)
        ]
        boundary = "=_" + secrets.token_hex(12)
        fields = self._content_fields(part, path, f'{kind}; boundary="{boundary}"')
        body = b"".join(b"--" + boundary.encode() + b"\r\n" + child + b"\r\n" for child in children)
        body += b"--" + boundary.encode() + b"--\r\n"
        return b"".join(headers + fields) + b"\r\n" + body

    def _leaf(
        self, part: Mapping[str, Any], path: str, kind: str | None, headers: list[bytes]
    ) -> bytes:
        part_id, blob_id = part.get("partId"), part.get("blobId")
        if (part_id is None) == (blob_id is None):
            # RFC 8621 §4.6: a partId or a blobId, not both.
            raise BuildError("invalidProperties", [f"{path}/partId"])
        if part_id is not None:
            if not isinstance(part_id, str) or part_id not in self.values:
                raise BuildError("invalidProperties", [f"{path}/partId"])
            for forbidden in ("charset", "size"):
                if part.get(forbidden) is not None:
                    raise BuildError("invalidProperties", [f"{path}/{forbidden}"])
            self.used_values.add(part_id)
            text = self.values[part_id]["value"]
            data = _crlf(text.encode("utf-8", "surrogatepass"))
            kind = (kind or "text/plain").lower()
            ctype = f"{kind}; charset=utf-8" if kind.startswith("text/") else kind
        else:
            data = self.blobs[blob_id]
            kind = (kind or "application/octet-stream").lower()
            charset = part.get("charset")
            if charset is not None and not isinstance(charset, str):
                raise BuildError("invalidProperties", [f"{path}/charset"])
            ctype = f"{kind}; charset={charset}" if charset and kind.startswith("text/") else kind
        fields = self._content_fields(part, path, ctype)
        if kind.startswith("text/") and _is_seven_bit_text(data):
            encoding, body = "7bit", data
        elif kind.startswith("text/") and part_id is not None:
            encoding, body = "quoted-printable", _quoted_printable(data)
        elif kind.startswith("message/") and b"\0" not in data:
            # RFC 2046 §5.2.1: message/rfc822 is never base64 or quoted-printable.
            encoding, body = ("7bit" if data.isascii() else "8bit"), data
        else:
            encoding = "base64"
            body = _crlf(base64.encodebytes(data))
        fields.append(fold("Content-Transfer-Encoding", encoding))
        return b"".join(headers + fields) + b"\r\n" + body


def _check_body_values(values: Any) -> Mapping[str, Any]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise BuildError("invalidProperties", ["bodyValues"])
    for key, value in values.items():
        if (
            not isinstance(value, Mapping)
            or not isinstance(value.get("value"), str)
            or value.get("isEncodingProblem", False) is not False
            or value.get("isTruncated", False) is not False
        ):
            raise BuildError("invalidProperties", [f"bodyValues/{key}"])
    return values


def _assemble(email: Mapping[str, Any]) -> Mapping[str, Any]:
    """A bodyStructure from textBody/htmlBody/attachments."""
    text, html = email.get("textBody") or [], email.get("htmlBody") or []
    for name, parts, kind in (("textBody", text, "text/plain"), ("htmlBody", html, "text/html")):
        if len(parts) > 1 or any((p.get("type") or kind).lower() != kind for p in parts):
            # RFC 8621 §4.6: exactly one part, of that type.
            raise BuildError("invalidProperties", [name])
    # "_path" remembers where a part came from, for the SetError's properties.
    text = [{**p, "type": "text/plain", "_path": "textBody/0"} for p in text]
    html = [{**p, "type": "text/html", "_path": "htmlBody/0"} for p in html]
    attachments = [
        {**a, "_path": f"attachments/{i}"} for i, a in enumerate(email.get("attachments") or [])
    ]
    for attachment in attachments:
        if attachment.get("disposition") is None and not attachment.get("cid"):
            # Listed as an attachment: say so, so that readers (and hasAttachment) agree.
            attachment["disposition"] = "attachment"
    if text and html:
        body: dict[str, Any] = {"type": "multipart/alternative", "subParts": [text[0], html[0]]}
    elif text or html:
        body = (text or html)[0]
    else:
        body = {"partId": None, "type": "text/plain", "_empty": True}
    inline = [a for a in attachments if a.get("cid") and a.get("disposition") != "attachment"]
    if inline and html:
        related = {"type": "multipart/related", "subParts": [html[0], *inline]}
        if text:
            body = {"type": "multipart/alternative", "subParts": [text[0], related]}
        else:
            body = related
        attachments = [a for a in attachments if a not in inline]
    if attachments:
        return {"type": "multipart/mixed", "subParts": [body, *attachments]}
    return body


def build_message(
    email: Mapping[str, Any], blobs: Mapping[str, bytes], *, now: float, domain: str
) -> bytes:
    """The RFC 5322 message an Email/set create describes.

    Args:
        email: the Email object to create (mailboxIds, keywords and receivedAt are the
            caller's; they are ignored here).
        blobs: the bytes of the blobs the body parts refer to (see
            :func:`referenced_blobs`); a missing one is ``blobNotFound``.
        now: the time for a missing Date header field.
        domain: the right-hand side of a generated Message-ID.
    """
    for key in email:
        if key in _SERVER_SET:
            raise BuildError("invalidProperties", [key])
        known = key in _METADATA or key in _BODY or key in _CONVENIENCE
        if not known and not key.startswith("header:"):
            raise BuildError("invalidProperties", [key])
    if email.get("bodyStructure") is not None and any(
        email.get(k) is not None for k in ("textBody", "htmlBody", "attachments")
    ):
        raise BuildError("invalidProperties", ["bodyStructure"])
    missing = [b for b in referenced_blobs(email) if b not in blobs]
    if missing:
        raise BuildError("blobNotFound", notFound=missing)
    values = _check_body_values(email.get("bodyValues"))
    defined: set[str] = set()
    fields = _header_fields(email, "", top=True, defined=defined)
    if "message-id" not in defined:
        fields.append(fold("Message-ID", f"<{secrets.token_hex(16)}@{domain}>"))
    if "date" not in defined:
        fields.append(fold("Date", format_datetime(datetime.fromtimestamp(now, UTC))))
    if "mime-version" not in defined:
        fields.append(b"MIME-Version: 1.0\r\n")
    writer = _Writer(values, blobs, defined)
    if email.get("bodyStructure") is not None:
        structure: Mapping[str, Any] = email["bodyStructure"]
        path = "bodyStructure"
    else:
        structure = _assemble(email)
        path = "textBody" if email.get("textBody") else "htmlBody"
    if structure.get("_empty"):
        body = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
    else:
        body = writer.part(structure, path, root=True)
    return b"".join(fields) + body
