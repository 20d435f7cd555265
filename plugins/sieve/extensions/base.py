"""The base language (RFC 5228): control commands and the core tests.

Control: ``if``/``elsif``/``else`` (§3.1, evaluated by the interpreter's block loop),
``stop`` (§3.3). Tests: ``address`` (§5.1), ``allof`` (§5.2), ``anyof`` (§5.3),
``envelope`` (§5.4, with the "envelope" capability), ``exists`` (§5.5), ``false``
(§5.6), ``header`` (§5.7), ``not`` (§5.8), ``size`` (§5.9), ``true`` (§5.10).

Implementation notes:

- ``envelope`` reads ``from``, ``to``, and, as Pigeonhole does, ``auth`` (the
  authenticated user) and ``orig_to`` (the original recipient). RFC 5228 §5.4: the null
  reverse path matches as the empty string whatever the address part. Paths are parsed
  as SMTP paths (source routes dropped); one that does not parse matches nothing.
- ``address`` reads any header field, parsing it as an address list (RFC 5228 §5.1
  asks for at least the standard address fields).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from plugins.sieve.addresses import parse_smtp_path
from plugins.sieve.compiled import Node
from plugins.sieve.extensions.common import (
    ADDRESS_PART_TAGS,
    INDEX_TAGS,
    MIME_TAGS,
    MIME_VALUE_TAGS,
    address_part,
    addresses,
    field_values,
    header_parts,
    mime_option_values,
    validate_index,
    validate_mime,
)
from plugins.sieve.interpreter import StopScript
from plugins.sieve.spec import ArgKind, Block, Extension, Spec, TagSpec, Tests, match_tags

if TYPE_CHECKING:
    from plugins.sieve.context import CompileContext
    from plugins.sieve.interpreter import Run

__all__ = ["EXTENSIONS", "chain"]

_ENVELOPE_PARTS = frozenset({"from", "to", "auth", "orig_to"})


def chain(*validators: Callable[[CompileContext, Node], None]) -> Callable[..., None]:
    """One ``validate`` hook running several in turn."""

    def validate(ctx: CompileContext, node: Node) -> None:
        for validator in validators:
            validator(ctx, node)

    return validate


def _validate_size(ctx: CompileContext, node: Node) -> None:
    # RFC 5228 §5.9: size <":over" / ":under"> <limit: number>
    if node.has("over") == node.has("under"):
        ctx.error(node, "the size test requires exactly one of ':over' or ':under'")


def _validate_envelope(ctx: CompileContext, node: Node) -> None:
    parts = node.args[0] if node.args else ()
    for part in parts if isinstance(parts, tuple) else ():
        if ctx.constant(part) and part.lower() not in _ENVELOPE_PARTS:
            ctx.error(node, f"unknown envelope part '{part}'")


def _stop(run: Run, node: Node) -> None:
    raise StopScript


def _true(run: Run, node: Node) -> bool:
    return True


def _false(run: Run, node: Node) -> bool:
    return False


def _not(run: Run, node: Node) -> bool:
    return not run.test(node.tests[0])


def _allof(run: Run, node: Node) -> bool:
    return all(run.test(test) for test in node.tests)


def _anyof(run: Run, node: Node) -> bool:
    return any(run.test(test) for test in node.tests)


def _size(run: Run, node: Node) -> bool:
    limit = node.args[0]
    assert isinstance(limit, int)
    size = run.message.size
    return size > limit if node.has("over") else size < limit


def _exists(run: Run, node: Node) -> bool:
    names = run.strings(node.args[0])
    parts = header_parts(run, node)
    # RFC 5703 §4.3: with :anychild, each field may be in any of the parts.
    return all(any(field_values(run, part, name, node) for part in parts) for name in names)


def _header(run: Run, node: Node) -> bool:
    names = run.strings(node.args[0])
    keys = run.strings(node.args[1])
    for part in header_parts(run, node):
        values: list[str] = []
        for name in names:
            found = field_values(run, part, name, node)
            if node.has("mime") and any(
                node.has(t) for t in ("type", "subtype", "contenttype", "param")
            ):
                found = [v for value in found for v in mime_option_values(name, value, node)]
            values.extend(found)
        if run.match(node, values, keys):
            return True
    return False


def _address(run: Run, node: Node) -> bool:
    names = run.strings(node.args[0])
    keys = run.strings(node.args[1])
    for part in header_parts(run, node):
        found: list[tuple[str, bool]] = []
        for name in names:
            found.extend(addresses(field_values(run, part, name, node)))
        parts = (address_part(run, node, text, valid) for text, valid in found)
        values = [v for v in parts if v is not None]
        if run.match(node, values, keys):
            return True
    return False


def envelope_values(run: Run, node: Node, part: str) -> list[str]:
    """The addresses of envelope ``part``, address part applied."""
    envelope = run.envelope
    part = part.lower()
    if part == "from":
        address: str | None = envelope.mail_from
        if address == "":
            # RFC 5228 §5.4: the null reverse-path is matched as the empty string.
            return [""]
    elif part == "to":
        address = envelope.rcpt_to
    elif part == "orig_to":
        address = envelope.original_recipient
    elif part == "auth":
        address = envelope.auth
    else:
        return []
    if not address:
        return []
    parsed = parse_smtp_path(address)
    if parsed is None:
        return []
    if parsed == "":
        return [""] if part == "from" else []
    value = address_part(run, node, parsed)
    return [] if value is None else [value]


def _envelope(run: Run, node: Node) -> bool:
    parts = run.strings(node.args[0])
    keys = run.strings(node.args[1])
    values = [value for part in parts for value in envelope_values(run, node, part)]
    return run.match(node, values, keys)


_HEADER_LIKE = (*match_tags(), *INDEX_TAGS, *MIME_TAGS)

EXTENSIONS = (
    Extension(
        name="base",
        capabilities=(),
        specs=(
            Spec("if", tests=Tests.ONE, block=Block.REQUIRED),
            Spec("elsif", tests=Tests.ONE, block=Block.REQUIRED),
            Spec("else", block=Block.REQUIRED),
            Spec("stop"),
            Spec("true", is_test=True),
            Spec("false", is_test=True),
            Spec("not", is_test=True, tests=Tests.ONE),
            Spec("allof", is_test=True, tests=Tests.LIST),
            Spec("anyof", is_test=True, tests=Tests.LIST),
            Spec(
                "size",
                is_test=True,
                positional=(ArgKind.NUMBER,),
                tags=(TagSpec("over", group="size"), TagSpec("under", group="size")),
                validate=_validate_size,
            ),
            Spec(
                "exists",
                is_test=True,
                positional=(ArgKind.STRING_LIST,),
                tags=MIME_TAGS,
                validate=validate_mime,
            ),
            Spec(
                "header",
                is_test=True,
                positional=(ArgKind.STRING_LIST, ArgKind.STRING_LIST),
                tags=(*_HEADER_LIKE, *MIME_VALUE_TAGS),
                validate=chain(validate_index, validate_mime),
            ),
            Spec(
                "address",
                is_test=True,
                positional=(ArgKind.STRING_LIST, ArgKind.STRING_LIST),
                tags=(*_HEADER_LIKE, *ADDRESS_PART_TAGS),
                validate=chain(validate_index, validate_mime),
            ),
        ),
        commands={"stop": _stop},
        tests={
            "true": _true,
            "false": _false,
            "not": _not,
            "allof": _allof,
            "anyof": _anyof,
            "size": _size,
            "exists": _exists,
            "header": _header,
            "address": _address,
        },
    ),
    Extension(
        name="envelope",
        capabilities=("envelope",),
        specs=(
            Spec(
                "envelope",
                requires="envelope",
                is_test=True,
                positional=(ArgKind.STRING_LIST, ArgKind.STRING_LIST),
                tags=(*match_tags(), *ADDRESS_PART_TAGS),
                validate=_validate_envelope,
            ),
        ),
        tests={"envelope": _envelope},
    ),
)
