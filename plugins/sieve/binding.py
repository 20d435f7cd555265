"""Binding a command's or test's arguments to its spec (RFC 5228 §2.6, §2.7).

:func:`bind` checks the tagged arguments (known, required capability, exclusive groups,
their own arguments), the positional ones (number and type), comparators and match
types, and returns the :class:`~plugins.sieve.compiled.Node` with normalised values.

Implementation notes:

- Tagged arguments must come before positional ones (RFC 5228 §2.6.2).
- Strings are decoded for ``encoded-character`` (RFC 5228 §2.4.2.4) and, with
  ``variables``, their references are checked: unknown namespaces are errors (RFC 5229
  §3), as are match variables past 32 and names with more than four parts.
- A comparator must be known and enabled (RFC 5228 §2.7.3); ``i;ascii-numeric`` has no
  substring operations (RFC 4790 §9.1.1); relational operators are checked (RFC 5231 §4);
  constant ``:regex`` keys must compile (draft-ietf-sieve-regex-01 §3).
"""

from __future__ import annotations

from plugins.sieve.compiled import Node, Value
from plugins.sieve.context import CompileContext
from plugins.sieve.encoded import decode_encoded_characters
from plugins.sieve.parser import (
    Argument,
    CommandNode,
    NumberArg,
    StringArg,
    StringListArg,
    TagArg,
    TestNode,
)
from plugins.sieve.spec import ArgKind, Spec
from plugins.sieve.variables import MAX_MATCH_INDEX, MAX_NAMESPACE_PARTS, references, split_name

__all__ = ["bind", "kind_of"]

_RELATIONS = frozenset({"gt", "ge", "lt", "le", "eq", "ne"})
# RFC 4790 §9.1.1: i;ascii-numeric offers equality and ordering, not substring matching.
_ORDERING_ONLY = frozenset({"i;ascii-numeric"})


def kind_of(argument: Argument) -> str:
    """How an argument is called in error messages."""
    if isinstance(argument, StringArg):
        return "string"
    if isinstance(argument, StringListArg):
        return "string list"
    if isinstance(argument, NumberArg):
        return "number"
    return f"tag ':{argument.name}'"


def _string(ctx: CompileContext, value: str, where: Argument) -> str:
    if "${" not in value:
        return value
    if ctx.enabled("encoded-character"):
        value, problem = decode_encoded_characters(value)
        if problem:
            ctx.error(where, problem)
    if ctx.enabled("variables"):
        _check_references(ctx, value, where)
    return value


def _check_references(ctx: CompileContext, value: str, where: Argument) -> None:
    # RFC 5229 §3: "References to namespaces without a prior require statement for
    # the relevant extension MUST cause an error."
    for name in references(value):
        parts = split_name(name)
        if parts is None:
            continue
        namespace, last = parts
        if not namespace:
            if last.isdigit() and int(last) > MAX_MATCH_INDEX:
                ctx.error(where, f"match variable index {last} is too large")
            continue
        if len(namespace) + 1 > MAX_NAMESPACE_PARTS:
            ctx.error(where, f"variable name '{name}' has too many parts")
        elif namespace == ("global",) and ctx.enabled("include"):
            if last.isdigit():
                ctx.error(where, f"invalid global variable name '{name}'")
        else:
            entry = ctx.registry.namespaces.get(namespace[0])
            if entry is None or not ctx.enabled(entry[0]):
                ctx.error(where, f"unknown variable namespace in '{name}'")


def _value(ctx: CompileContext, argument: Argument, kind: ArgKind, owner: str) -> Value:
    if kind is ArgKind.NUMBER and isinstance(argument, NumberArg):
        return argument.value
    if kind is ArgKind.STRING and isinstance(argument, StringArg):
        return _string(ctx, argument.value, argument)
    if kind is ArgKind.STRING_LIST and isinstance(argument, StringArg):
        return (_string(ctx, argument.value, argument),)
    if kind is ArgKind.STRING_LIST and isinstance(argument, StringListArg):
        return tuple(_string(ctx, value, argument) for value in argument.values)
    ctx.error(argument, f"{owner} expects a {kind.value}, found {kind_of(argument)}")
    return None


def bind(ctx: CompileContext, spec: Spec, raw: CommandNode | TestNode, what: str) -> Node:
    """Check ``raw``'s arguments against ``spec`` and build its node (without tests)."""
    owner = f"the {raw.name} {what}"
    tags: dict[str, Value] = {}
    groups: dict[str, str] = {}
    arguments = list(raw.arguments)
    index = 0
    while index < len(arguments) and isinstance(arguments[index], TagArg):
        tag = arguments[index]
        assert isinstance(tag, TagArg)
        index += 1
        tag_spec = spec.tag(tag.name)
        if tag_spec is None:
            ctx.error(tag, f"unknown tagged argument ':{tag.name}' for {owner}")
            continue
        if tag_spec.requires and not ctx.enabled(tag_spec.requires):
            ctx.error(
                tag,
                f"tagged argument ':{tag.name}' of {owner} requires "
                f'the "{tag_spec.requires}" extension',
            )
        if tag.name in tags or (tag_spec.group and tag_spec.group in groups):
            other = groups.get(tag_spec.group or "", tag.name)
            ctx.error(tag, f"':{tag.name}' conflicts with ':{other}' in {owner}")
        if tag_spec.group:
            groups[tag_spec.group] = tag.name
        value: Value = True
        if tag_spec.arg is not None:
            if index >= len(arguments) or isinstance(arguments[index], TagArg):
                ctx.error(tag, f"':{tag.name}' of {owner} needs a {tag_spec.arg.value} argument")
                continue
            value = _value(ctx, arguments[index], tag_spec.arg, f"':{tag.name}'")
            index += 1
        tags[tag.name] = value
    positional = arguments[index:]
    for argument in positional:
        if isinstance(argument, TagArg):
            ctx.error(
                argument,
                f"tagged argument ':{argument.name}' of {owner} must come before "
                "the positional arguments",
            )
    positional = [a for a in positional if not isinstance(a, TagArg)]
    most = len(spec.positional)
    least = most - spec.optional_leading - spec.optional_trailing
    args: list[Value] = []
    if not least <= len(positional) <= most:
        counted = f"{least}" if least == most else f"{least} to {most}"
        ctx.error(
            raw,
            f"{owner} requires {counted} positional argument(s), but {len(positional)} were given",
        )
    else:
        missing = most - len(positional)
        if spec.optional_trailing:
            kinds = spec.positional[: len(positional)]
        else:
            args = [None] * missing
            kinds = spec.positional[missing:]
        args += [_value(ctx, a, k, owner) for a, k in zip(positional, kinds, strict=True)]
        if spec.optional_trailing:
            args += [None] * missing
    node = Node(spec.handler_key, raw.name, raw.line, raw.column, tuple(args), tags)
    _check_match(ctx, node, owner)
    return node


def _check_match(ctx: CompileContext, node: Node, owner: str) -> None:
    comparator = node.tag("comparator")
    if isinstance(comparator, str):
        needs = ctx.registry.comparators.get(comparator.lower(), "")
        if needs == "":
            ctx.error(node, f"unknown comparator '{comparator}' in {owner}")
        elif needs is not None and not ctx.enabled(needs):
            ctx.error(node, f"comparator '{comparator}' requires \"{needs}\"")
        if comparator.lower() in _ORDERING_ONLY:
            for tag in ("contains", "matches", "regex"):
                if node.has(tag):
                    ctx.error(node, f"comparator '{comparator}' cannot be used with ':{tag}'")
    for tag in ("count", "value"):
        relation = node.tag(tag)
        if isinstance(relation, str) and relation.lower() not in _RELATIONS:
            ctx.error(node, f"invalid relational operator '{relation}' for ':{tag}'")
    if node.has("regex") and node.args and isinstance(node.args[-1], tuple):
        from plugins.sieve.matching import check_regex

        for pattern in node.args[-1]:
            if ctx.constant(pattern):
                problem = check_regex(pattern)
                if problem:
                    ctx.error(node, f"invalid regular expression '{pattern}': {problem}")
