"""The variables extension (RFC 5229): ``set`` (§4) and the ``string`` test (§5).

Implementation notes:

- Variable names are checked at compile time: an identifier (RFC 5229 §3), at most 64
  characters, never a match variable; a name with a namespace must name a writable one
  (``global.`` with "include", RFC 6609 §3.5). A script declares at most
  ``Limits.max_variables`` variables.
- ``string :count`` counts the non-empty source strings (RFC 5229 §5).
- ``string`` defaults to the ``i;octet`` comparator, as in Pigeonhole (a deviation
  from RFC 5228 §2.7.3's i;ascii-casemap default, recorded in ``docs/sieve.md``).
- Values longer than the variable size limit are truncated (RFC 5229 §6 lets an
  implementation limit it; at least 4000 octets).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugins.sieve.compiled import Node
from plugins.sieve.spec import ArgKind, Extension, Spec, TagSpec, match_tags
from plugins.sieve.variables import MAX_NAME_LENGTH, MODIFIERS, apply_modifiers, split_name

if TYPE_CHECKING:
    from plugins.sieve.context import CompileContext
    from plugins.sieve.interpreter import Run

__all__ = ["EXTENSIONS", "validate_variable_name"]

_MODIFIER_REQUIRES = {"quoteregex": "regex", "encodeurl": "enotify"}


def validate_variable_name(ctx: CompileContext, node: Node, name: str) -> None:
    """Report ``name`` if it cannot be assigned (RFC 5229 §3, §4)."""
    if not ctx.constant(name):
        ctx.error(node, f"variable name '{name}' must be a constant string")
        return
    parts = split_name(name)
    if parts is None:
        ctx.error(node, f"invalid variable name '{name}'")
        return
    namespace, last = parts
    if namespace:
        if namespace != ("global",) or not ctx.enabled("include"):
            ctx.error(node, f"cannot assign to variable '{name}': unknown or read-only namespace")
        return
    if last.isdigit():
        ctx.error(node, f"cannot assign to match variable '{name}'")
    elif len(last) > MAX_NAME_LENGTH:
        ctx.error(node, f"variable name '{name}' is longer than {MAX_NAME_LENGTH} characters")


def _validate_set(ctx: CompileContext, node: Node) -> None:
    name = node.args[0] if node.args else None
    if not isinstance(name, str):
        return
    validate_variable_name(ctx, node, name)
    declared = ctx.state.setdefault("declared_variables", set())
    declared.add(name.lower())
    most = ctx.limits.max_variables
    if len(declared) == most + 1:
        ctx.error(node, f"too many variables declared (more than {most})")


def _set(run: Run, node: Node) -> None:
    name = str(node.args[0]).lower()
    value = run.string(node.args[1])
    modifiers = {tag for tag in node.tags if tag in MODIFIERS}
    if modifiers:
        limit = run.settings.max_variable_size or run.limits.max_variable_size
        value = apply_modifiers(value, modifiers, limit)
    run.set_variable(name, value)


def _string(run: Run, node: Node) -> bool:
    sources = run.strings(node.args[0])
    keys = run.strings(node.args[1])
    if node.has("count"):
        sources = [source for source in sources if source]
    # deviation(RFC 5228 §2.7.3): "string" compares with i;octet unless told otherwise, as
    # Pigeonhole does (its suite checks that "${x}" :is "Value" does not match "value").
    return run.match(node, sources, keys, "i;octet")


_SET_TAGS = tuple(
    TagSpec(name, group=f"modifier-{precedence}", requires=_MODIFIER_REQUIRES.get(name))
    for name, precedence in MODIFIERS.items()
)

EXTENSIONS = (
    Extension(
        name="variables",
        capabilities=("variables",),
        specs=(
            Spec(
                "set",
                requires="variables",
                positional=(ArgKind.STRING, ArgKind.STRING),
                tags=_SET_TAGS,
                validate=_validate_set,
            ),
            Spec(
                "string",
                requires="variables",
                is_test=True,
                positional=(ArgKind.STRING_LIST, ArgKind.STRING_LIST),
                tags=match_tags(),
            ),
        ),
        commands={"set": _set},
        tests={"string": _string},
    ),
)
