"""Store a parsed message as JSON-compatible data, and load it back.

The store keeps this next to the raw bytes, so every later FETCH, JMAP ``Email/get`` or
Sieve run reuses the parse. :func:`from_json` of :func:`to_json` gives an equal
:class:`~kernel.mail.model.Message`.

Implementation notes:

- Compact: short keys, and defaults are left out (``7bit``, empty parameters, no
  disposition, no children), so a one-part message costs about a hundred bytes plus its
  header summary. An encapsulated message's root is stored once, under its ``m`` key, not
  again as the part's only child.
- Layout (version 1). Message: ``v`` version (top level only), ``s`` size, ``r`` root part,
  ``su`` subject, ``f`` ``se`` ``rt`` ``to`` ``cc`` ``bc`` address lists (an address is
  ``[name, email]``, a group ``{"g": name, "a": [addresses]}``), ``dt`` date (ISO 8601),
  ``id`` message id, ``ir`` in-reply-to, ``rf`` references. Part: ``o`` ``[header_start,
  header_end, body_end]``, ``t`` ``type/subtype``, ``p`` params, ``e`` encoding, ``d``
  disposition, ``dp`` its params, ``i`` content id, ``ds`` description, ``la``
  languages, ``lo`` location, ``m5`` MD5, ``n`` body lines, ``c`` children, ``m``
  encapsulated message.
- :func:`from_json` raises :class:`ValueError` for another version; data it wrote is
  trusted otherwise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kernel.mail.addresses import Address, Group
from kernel.mail.model import AddressList, Message, Part

__all__ = ["FORMAT_VERSION", "from_json", "to_json"]

FORMAT_VERSION = 1

_ADDRESS_KEYS = (
    ("f", "from_"),
    ("se", "sender"),
    ("rt", "reply_to"),
    ("to", "to"),
    ("cc", "cc"),
    ("bc", "bcc"),
)
_OPTIONAL_TEXT = (
    ("d", "disposition"),
    ("i", "content_id"),
    ("ds", "description"),
    ("lo", "location"),
    ("m5", "md5"),
)


def _addresses_out(addresses: AddressList) -> list[Any]:
    out: list[Any] = []
    for entry in addresses:
        if isinstance(entry, Group):
            out.append({"g": entry.name, "a": [[a.name, a.email] for a in entry.addresses]})
        else:
            out.append([entry.name, entry.email])
    return out


def _addresses_in(data: list[Any]) -> AddressList:
    out: list[Address | Group] = []
    for entry in data:
        if isinstance(entry, dict):
            out.append(Group(entry["g"], tuple(Address(n, e) for n, e in entry["a"])))
        else:
            out.append(Address(entry[0], entry[1]))
    return tuple(out)


def _part_out(part: Part) -> dict[str, Any]:
    out: dict[str, Any] = {
        "o": [part.header_start, part.header_end, part.body_end],
        "t": part.mime_type,
        "n": part.body_lines,
    }
    if part.params:
        out["p"] = part.params
    if part.transfer_encoding != "7bit":
        out["e"] = part.transfer_encoding
    for key, attribute in _OPTIONAL_TEXT:
        value = getattr(part, attribute)
        if value is not None:
            out[key] = value
    if part.disposition_params:
        out["dp"] = part.disposition_params
    if part.language:
        out["la"] = list(part.language)
    if part.message is not None:
        out["m"] = _message_out(part.message)
    elif part.children:
        out["c"] = [_part_out(child) for child in part.children]
    return out


def _part_in(data: dict[str, Any]) -> Part:
    header_start, header_end, body_end = data["o"]
    content_type, _, subtype = data["t"].partition("/")
    message = _message_in(data["m"]) if "m" in data else None
    if message is not None:
        children: tuple[Part, ...] = (message.root,)
    else:
        children = tuple(_part_in(child) for child in data.get("c", ()))
    return Part(
        header_start,
        header_end,
        body_end,
        content_type,
        subtype,
        data.get("p", {}),
        data.get("e", "7bit"),
        data.get("d"),
        data.get("dp", {}),
        data.get("i"),
        data.get("ds"),
        tuple(data.get("la", ())),
        data.get("lo"),
        data.get("m5"),
        data["n"],
        children,
        message,
    )


def _message_out(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"s": message.size, "r": _part_out(message.root)}
    if message.subject is not None:
        out["su"] = message.subject
    for key, attribute in _ADDRESS_KEYS:
        addresses = getattr(message, attribute)
        if addresses:
            out[key] = _addresses_out(addresses)
    if message.date is not None:
        out["dt"] = message.date.isoformat()
    if message.message_id is not None:
        out["id"] = message.message_id
    if message.in_reply_to:
        out["ir"] = list(message.in_reply_to)
    if message.references:
        out["rf"] = list(message.references)
    return out


def _message_in(data: dict[str, Any]) -> Message:
    addresses = {attr: _addresses_in(data[key]) for key, attr in _ADDRESS_KEYS if key in data}
    return Message(
        _part_in(data["r"]),
        data["s"],
        subject=data.get("su"),
        date=datetime.fromisoformat(data["dt"]) if "dt" in data else None,
        message_id=data.get("id"),
        in_reply_to=tuple(data.get("ir", ())),
        references=tuple(data.get("rf", ())),
        **addresses,
    )


def to_json(message: Message) -> dict[str, Any]:
    """The JSON-compatible form of ``message`` (dicts, lists, strings, ints, None)."""
    out = _message_out(message)
    out["v"] = FORMAT_VERSION
    return out


def from_json(data: dict[str, Any]) -> Message:
    """The :class:`Message` that :func:`to_json` turned into ``data``.

    Raises:
        ValueError: ``data`` has another format version.
    """
    if data.get("v") != FORMAT_VERSION:
        raise ValueError(f"unsupported parsed-message format version {data.get('v')!r}")
    return _message_in(data)
