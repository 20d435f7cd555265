"""Header field properties of Email and EmailBodyPart (RFC 8621 §4.1.2, §4.1.3).

``header:{name}[:as{Form}][:all]`` names a header field and the form its value is
returned in. :func:`parse_header_property` reads such a property name (and refuses a
form that §4.1.2 forbids for the field: ``header:From:asDate`` is ``invalidArguments``,
§4.2); :func:`header_value` evaluates it over a part's header fields.

Implementation notes:

- Raw (§4.1.2.1): the octets after the colon up to the field's final CRLF, folds kept;
  bytes that are not UTF-8 become U+FFFD, NUL octets are dropped.
- Text (§4.1.2.2): unfolded, leading spaces removed, RFC 2047 encoded-words decoded only
  where RFC 2047 §5(1) allows them in unstructured text (a whole white-space-delimited
  word); control characters from decoded words dropped; NFC.
- Addresses and GroupedAddresses (§4.1.2.3-4) reuse :func:`kernel.mail.parse_address_list`
  (best effort, never raises); display names go through the Text rules.
- MessageIds, Date and URLs give ``null`` when nothing parses.
- The convenience properties (``from``, ``subject``, ``sentAt``, ...) are the *last*
  instance of their field, as §4.1.3 defines ``header:X`` without ``:all``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, final

from kernel.mail import (
    Address,
    Group,
    Header,
    decode_words,
    parse_address_list,
    parse_date,
    parse_message_ids,
    unfold,
)

__all__ = [
    "FORMS",
    "HeaderProperty",
    "addresses_json",
    "date_json",
    "form_value",
    "header_value",
    "headers_json",
    "parse_header_property",
    "raw_text",
]

#: The parsed forms of §4.1.2, by their suffix name.
FORMS: Final = ("Raw", "Text", "Addresses", "GroupedAddresses", "MessageIds", "Date", "URLs")

# Fields defined in RFC 5322 and RFC 2369: only those listed for a form may use it.
_RFC5322: Final = frozenset(
    {
        "return-path",
        "received",
        "resent-date",
        "resent-from",
        "resent-sender",
        "resent-to",
        "resent-cc",
        "resent-bcc",
        "resent-message-id",
        "date",
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "bcc",
        "message-id",
        "in-reply-to",
        "references",
        "subject",
        "comments",
        "keywords",
    }
)
_RFC2369: Final = frozenset(
    {"list-help", "list-unsubscribe", "list-subscribe", "list-post", "list-owner", "list-archive"}
)
_ADDRESS_FIELDS: Final = frozenset(
    {
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "bcc",
        "resent-from",
        "resent-sender",
        "resent-reply-to",
        "resent-to",
        "resent-cc",
        "resent-bcc",
    }
)
_ALLOWED: Final[dict[str, frozenset[str]]] = {
    # RFC 8621 §4.1.2.2: Subject, Comments, Keywords, List-Id, or any other field.
    "Text": frozenset({"subject", "comments", "keywords", "list-id"}),
    "Addresses": _ADDRESS_FIELDS,
    "GroupedAddresses": _ADDRESS_FIELDS,
    "MessageIds": frozenset({"message-id", "in-reply-to", "references", "resent-message-id"}),
    "Date": frozenset({"date", "resent-date"}),
    "URLs": _RFC2369,
}
# RFC 8621 §4.1.3: header-field-name = 1*(%d33-57 / %d59-126)
_NAME: Final = re.compile(r"^[!-9;-~]+$")


@final
@dataclass(frozen=True, slots=True)
class HeaderProperty:
    """A parsed ``header:`` property: the field (lower-case), the form, ``:all``."""

    field: str
    form: str
    all: bool


def form_allowed(field: str, form: str) -> bool:
    """Whether §4.1.2 allows ``form`` for the (lower-case) ``field``."""
    if form == "Raw":
        return True
    if field not in _RFC5322 and field not in _RFC2369:
        return True  # "Any header field not defined in [RFC5322] or [RFC2369]"
    return field in _ALLOWED[form]


def parse_header_property(name: str) -> HeaderProperty | None:
    """Read ``header:{name}[:as{form}][:all]``.

    Returns:
        The property, or ``None`` when ``name`` does not start with ``header:``.

    Raises:
        ValueError: a malformed property, an unknown form, or a form the field may not use.
    """
    if not name.startswith("header:"):
        return None
    pieces = name[len("header:") :].split(":")
    field, rest = pieces[0], pieces[1:]
    if not _NAME.match(field):
        raise ValueError(f"invalid header field name in {name!r}")
    everything = bool(rest) and rest[-1] == "all"
    if everything:
        rest = rest[:-1]
    form = "Raw"
    if rest:
        if len(rest) > 1 or not rest[0].startswith("as") or rest[0][2:] not in FORMS:
            raise ValueError(f"unknown header form in {name!r}")
        form = rest[0][2:]
    lowered = field.lower()
    if not form_allowed(lowered, form):
        raise ValueError(f"the {form} form is not allowed for {field}")
    return HeaderProperty(lowered, form, everything)


def raw_text(value: bytes) -> str:
    """The Raw form (§4.1.2.1): UTF-8 with U+FFFD for invalid octets, NUL dropped."""
    return value.replace(b"\0", b"").decode("utf-8", "replace")


# RFC 2047 §2: encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
_ENCODED_WORD: Final = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPLIT: Final = re.compile(r"([ \t\r\n]+)")


def decode_text(text: str) -> str:
    """RFC 2047 §5(1)/§6.2 decoding of unstructured text, strictly: only words that stand
    alone between white space are decoded, and white space between two of them goes."""
    if "=?" not in text:
        return text
    pieces = _SPLIT.split(text)
    out: list[str] = []
    run: list[str] = []
    gap = ""
    for index, piece in enumerate(pieces):
        if index % 2:  # white space
            gap = piece
            continue
        if _ENCODED_WORD.fullmatch(piece):
            if run:
                run.append(piece)  # RFC 2047 §6.2: white space between words is dropped
            else:
                out.append(gap)
                run = [piece]
        else:
            if run:
                out.append(_CONTROL.sub("", decode_words(" ".join(run))))
                run = []
            out.append(gap)
            out.append(piece)
        gap = ""
    if run:
        out.append(_CONTROL.sub("", decode_words(" ".join(run))))
    out.append(gap)
    return "".join(out)


def text_form(value: bytes) -> str:
    """The Text form (§4.1.2.2)."""
    text = raw_text(unfold(value)).replace("\r", "").replace("\n", "")
    text = decode_text(text.lstrip(" "))
    return unicodedata.normalize("NFC", text)


def _name(name: str | None) -> str | None:
    if name is None:
        return None
    name = unicodedata.normalize("NFC", _CONTROL.sub("", " ".join(name.split())))
    return name or None


def _address(address: Address) -> dict[str, Any]:
    return {"name": _name(address.name), "email": address.email}


def addresses_json(items: Sequence[Address | Group]) -> list[dict[str, Any]]:
    """EmailAddress[] of a parsed address-list, groups flattened (§4.1.2.3)."""
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, Group):
            out.extend(_address(a) for a in item.addresses)
        else:
            out.append(_address(item))
    return out


def grouped_json(items: Sequence[Address | Group]) -> list[dict[str, Any]]:
    """EmailAddressGroup[] (§4.1.2.4): consecutive ungrouped mailboxes share a null group."""
    out: list[dict[str, Any]] = []
    loose: list[dict[str, Any]] | None = None  # the open run of ungrouped mailboxes
    for item in items:
        if isinstance(item, Group):
            out.append(
                {"name": _name(item.name), "addresses": [_address(a) for a in item.addresses]}
            )
            loose = None
        elif loose is not None:
            loose.append(_address(item))
        else:
            loose = [_address(item)]
            out.append({"name": None, "addresses": loose})
    return out


def date_json(when: datetime | None) -> str | None:
    """A ``Date`` (RFC 8620 §1.4, RFC 3339) keeping the zone; ``Z`` for UTC."""
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    text = when.replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def utc_date_json(timestamp: float) -> str:
    """A ``UTCDate`` (RFC 8620 §1.4): ``2019-01-01T10:00:00Z``."""
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_COMMENT: Final = re.compile(r"\((?:[^()\\]|\\.)*\)", re.S)
_URL: Final = re.compile(r"<([^<>]*)>")


def urls_form(value: bytes) -> list[str] | None:
    """The URLs form (§4.1.2.7, RFC 2369 §2): the bracketed URLs, comments dropped."""
    text = _COMMENT.sub(" ", raw_text(unfold(value)))
    urls = ["".join(found.split()) for found in _URL.findall(text)]
    urls = [url for url in urls if url]
    return urls or None


def form_value(value: bytes, form: str) -> Any:
    """One header field value in ``form``."""
    if form == "Raw":
        return raw_text(value)
    if form == "Text":
        return text_form(value)
    if form in ("Addresses", "GroupedAddresses"):
        text = raw_text(unfold(value)).replace("\0", "")
        items = parse_address_list(text)
        return addresses_json(items) if form == "Addresses" else grouped_json(items)
    if form == "MessageIds":
        ids = parse_message_ids(raw_text(unfold(value)))
        return ids or None
    if form == "Date":
        return date_json(parse_date(raw_text(unfold(value))))
    if form == "URLs":
        return urls_form(value)
    raise ValueError(f"unknown form {form}")


def header_value(headers: Sequence[Header], prop: HeaderProperty) -> Any:
    """The value of ``prop`` over ``headers`` (§4.1.3): the last instance, or all of them."""
    values = [h.value for h in headers if h.lower_name == prop.field]
    if prop.all:
        return [form_value(v, prop.form) for v in values]
    return form_value(values[-1], prop.form) if values else None


def headers_json(headers: Sequence[Header]) -> list[dict[str, str]]:
    """The ``headers`` property: every field, in order, name as written, Raw value."""
    return [{"name": h.name, "value": raw_text(h.value)} for h in headers]
