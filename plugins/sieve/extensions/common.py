"""Helpers shared by the tests that read header fields and addresses.

Implementation notes:

- Address parts (RFC 5228 §2.7.4): ``:localpart`` is what precedes the last ``@``,
  ``:domain`` what follows it, ``:all`` the whole addr-spec; subaddress (RFC 5233 §4)
  splits the local part at the first separator character into ``:user`` and
  ``:detail``, and an address without a separator has no detail (the key is not
  compared at all).
- MIME (RFC 5703 §4.1): with ``:mime`` the tests read the current ``foreverypart``
  part (the message outside a loop); ``:anychild`` adds every part nested in it.
- Index (RFC 5260 §6): ``:index n`` keeps only the n-th field of each name,
  counted from the end with ``:last``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.mail import (
    Group,
    Part,
    parse_address_list,
    parse_content_disposition,
    parse_content_type,
    walk,
)
from plugins.sieve.addresses import valid_addr_spec
from plugins.sieve.compiled import Node
from plugins.sieve.spec import ArgKind, TagSpec

if TYPE_CHECKING:
    from plugins.sieve.context import CompileContext
    from plugins.sieve.interpreter import Run


def _part_tag(node: Node) -> str:
    for tag in ("localpart", "domain", "user", "detail"):
        if node.has(tag):
            return tag
    return "all"


__all__ = [
    "ADDRESS_PART_TAGS",
    "INDEX_TAGS",
    "MIME_TAGS",
    "MIME_VALUE_TAGS",
    "address_part",
    "addresses",
    "field_values",
    "header_parts",
    "mime_option_values",
    "validate_index",
    "validate_mime",
]

# RFC 5228 §2.7.4: ADDRESS-PART = ":localpart" / ":domain" / ":all"; RFC 5233 §4.
ADDRESS_PART_TAGS = (
    TagSpec("localpart", group="address-part"),
    TagSpec("domain", group="address-part"),
    TagSpec("all", group="address-part"),
    TagSpec("user", group="address-part", requires="subaddress"),
    TagSpec("detail", group="address-part", requires="subaddress"),
)
# RFC 5260 §6: [":index" <fieldno: number> [":last"]]
INDEX_TAGS = (
    TagSpec("index", ArgKind.NUMBER, requires="index"),
    TagSpec("last", requires="index"),
)
# RFC 5703 §4.1: [":mime"] [":anychild"]
MIME_TAGS = (TagSpec("mime", requires="mime"), TagSpec("anychild", requires="mime"))
# RFC 5703 §4.1: MIMEOPTS = ":type" / ":subtype" / ":contenttype" / ":param" <param-list>
MIME_VALUE_TAGS = (
    TagSpec("type", group="mimeopts", requires="mime"),
    TagSpec("subtype", group="mimeopts", requires="mime"),
    TagSpec("contenttype", group="mimeopts", requires="mime"),
    TagSpec("param", ArgKind.STRING_LIST, group="mimeopts", requires="mime"),
)


def validate_index(ctx: CompileContext, node: Node) -> None:
    """RFC 5260 §6: ``:last`` needs ``:index``; the index is a positive number."""
    if node.has("last") and not node.has("index"):
        ctx.error(node, f"':last' of the {node.name} test requires ':index'")
    index = node.tag("index")
    if isinstance(index, int) and not isinstance(index, bool) and index < 1:
        ctx.error(node, f"':index' of the {node.name} test must be at least 1")


def validate_mime(ctx: CompileContext, node: Node) -> None:
    """RFC 5703 §4.1: ``:anychild`` and the MIME options need ``:mime``."""
    if node.has("mime"):
        return
    for tag in ("anychild", "type", "subtype", "contenttype", "param"):
        if node.has(tag):
            ctx.error(node, f"':{tag}' of the {node.name} test requires ':mime'")


def header_parts(run: Run, node: Node) -> list[Part | None]:
    """The parts whose header the test reads; ``None`` means the top-level header."""
    if not node.has("mime"):
        return [None]
    current = run.part_stack[-1] if run.part_stack else None
    if not node.has("anychild"):
        return [current]
    start = current if isinstance(current, Part) else run.message.root
    return [None if part is run.message.root else part for part in walk(start)]


def _select(values: list[str], node: Node) -> list[str]:
    index = node.tag("index")
    if not isinstance(index, int) or isinstance(index, bool):
        return values
    position = len(values) - index if node.has("last") else index - 1
    return [values[position]] if 0 <= position < len(values) else []


def field_values(run: Run, part: Part | None, name: str, node: Node) -> list[str]:
    """The decoded values of field ``name`` in ``part`` (``None``: top level), after
    ``:index``/``:last``.
    """
    run.charge()
    if part is None or (isinstance(part, Part) and part is run.message.root):
        values = run.message.values(name)
    else:
        assert isinstance(part, Part)
        values = run.message.part_values(part, name)
    return _select(values, node)


def mime_option_values(name: str, value: str, node: Node) -> list[str]:
    """RFC 5703 §4.1: the parts of a MIME field that ``:type``/``:subtype``/
    ``:contenttype``/``:param`` select (blank strings for other fields).
    """
    lower = name.lower()
    param = node.tag("param")
    if lower == "content-type":
        kind, subtype, params = parse_content_type(value, ("", ""))
        if param is not None:
            assert isinstance(param, tuple)
            return [params[p.lower()] for p in param if p.lower() in params]
        if not kind:
            return []
        if node.has("type"):
            return [kind]
        if node.has("subtype"):
            return [subtype]
        return [f"{kind}/{subtype}"]
    if lower == "content-disposition":
        disposition, params = parse_content_disposition(value)
        if param is not None:
            assert isinstance(param, tuple)
            return [params[p.lower()] for p in param if p.lower() in params]
        if disposition is None:
            return []
        return [""] if node.has("subtype") else [disposition]
    if param is not None:
        return []
    return [""]


def addresses(values: list[str]) -> list[tuple[str, bool]]:
    """The addresses in address-list field values, as ``(text, valid)`` pairs.

    RFC 5228 §2.7.4: "If an address is not syntactically valid, then it will not be
    matched by tests specifying ":localpart" or ":domain"". A field whose addresses
    are not all valid also yields its whole value, unparsed, for ``:all``.
    """
    found: list[tuple[str, bool]] = []
    for value in values:
        emails: list[str] = []
        for item in parse_address_list(value, decode=False):
            members = item.addresses if isinstance(item, Group) else (item,)
            emails.extend(member.email for member in members)
        valid = [email for email in emails if valid_addr_spec(email)]
        found.extend((email, True) for email in valid)
        if len(valid) != len(emails) or (not emails and not value.strip(" ,;")):
            found.append((value.strip(), False))
    return found


def address_part(run: Run, node: Node, address: str, valid: bool = True) -> str | None:
    """The part of ``address`` that ``node``'s ADDRESS-PART selects (``None``: absent,
    or an invalid address with a part other than ``:all``).
    """
    if not valid:
        return None if _part_tag(node) != "all" else address
    if node.has("localpart") or node.has("user") or node.has("detail"):
        at = address.rfind("@")
        local = address if at < 0 else address[:at]
        if node.has("localpart"):
            return local
        separators = run.settings.recipient_delimiter
        cut = min((i for i in (local.find(c) for c in separators) if i >= 0), default=-1)
        if node.has("user"):
            return local if cut < 0 else local[:cut]
        return None if cut < 0 else local[cut + 1 :]
    if node.has("domain"):
        at = address.rfind("@")
        return "" if at < 0 else address[at + 1 :]
    return address
