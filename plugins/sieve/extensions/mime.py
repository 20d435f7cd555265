"""The mime, foreverypart and extracttext extensions (RFC 5703).

``foreverypart [":name" string] block`` (RFC 5703 §3) runs its block once per MIME part,
``break [":name" string]`` (§3.2) leaves the innermost (or the named) loop, and
``extracttext [MODIFIER] [":first" number] <varname>`` (§7) puts the current part's
text in a variable. The ``:mime``/``:anychild`` options of ``header``, ``address`` and
``exists`` (§4) are in :mod:`plugins.sieve.extensions.base`.

Implementation notes:

- The outermost loop visits the message itself first, then every part in document
  order (depth first); a nested loop visits the parts inside the current one.
- At most four loops may be nested (Pigeonhole's limit): deeper nesting is a compile
  error, or a run-time error when the nesting comes through ``include``.
- ``extracttext`` gives the decoded text of a ``text/*`` part (HTML reduced to its
  text), and the empty string for other parts (RFC 5703 §7).
- ``replace`` and ``enclose`` (RFC 5703 §5, §6) are not offered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.mail import Part, walk
from plugins.sieve.compiled import Node
from plugins.sieve.extensions.body import part_text, valid_content_type
from plugins.sieve.spec import ArgKind, Block, Extension, Spec, TagSpec
from plugins.sieve.variables import MODIFIERS, apply_modifiers

if TYPE_CHECKING:
    from plugins.sieve.context import CompileContext
    from plugins.sieve.interpreter import Run

__all__ = ["EXTENSIONS", "MAX_LOOP_DEPTH"]

MAX_LOOP_DEPTH = 4


class BreakLoop(Exception):
    """``break``: leave the loop called ``name`` (the innermost when ``None``)."""

    def __init__(self, name: str | None) -> None:
        super().__init__(name)
        self.name = name


def _validate_foreverypart(ctx: CompileContext, node: Node) -> None:
    if ctx.in_foreverypart >= MAX_LOOP_DEPTH:
        ctx.error(node, f"foreverypart loops nested deeper than {MAX_LOOP_DEPTH} levels")


def _validate_break(ctx: CompileContext, node: Node) -> None:
    names: list[str | None] = ctx.state.get("loop_names", [])
    if not names:
        ctx.error(node, "break used outside a foreverypart loop")
        return
    name = node.tag("name")
    if isinstance(name, str) and name not in names:
        ctx.error(node, f"break :name '{name}' does not name an enclosing foreverypart loop")


def _validate_extracttext(ctx: CompileContext, node: Node) -> None:
    if not ctx.enabled("variables"):
        ctx.error(node, 'extracttext requires the "variables" extension')
    if not ctx.in_foreverypart:
        ctx.error(node, "extracttext used outside a foreverypart loop")
    from plugins.sieve.extensions.variables import validate_variable_name

    name = node.args[0]
    if isinstance(name, str):
        validate_variable_name(ctx, node, name)


def _foreverypart(run: Run, node: Node) -> None:
    depth = len(run.part_stack)
    if depth >= MAX_LOOP_DEPTH:
        raise run.error(node, f"foreverypart loops nested deeper than {MAX_LOOP_DEPTH} levels")
    name = node.tag("name")
    if depth == 0:
        parts = list(walk(run.message.root))
    else:
        current = run.part_stack[-1]
        assert isinstance(current, Part)
        parts = list(walk(current))[1:]
    for part in parts:
        run.charge()
        run.part_stack.append(part)
        try:
            run.execute(node.block or ())
        except BreakLoop as leave:
            if leave.name is None or leave.name == name:
                return
            raise
        finally:
            run.part_stack.pop()


def _break(run: Run, node: Node) -> None:
    name = node.tag("name")
    raise BreakLoop(None if name is None else str(name))


def _extracttext(run: Run, node: Node) -> None:
    part = run.part_stack[-1] if run.part_stack else None
    text = ""
    if (
        isinstance(part, Part)
        and part.content_type == "text"
        and valid_content_type(run.message, part)
    ):
        text = part_text(run.message, part)
    first = node.tag("first")
    if isinstance(first, int) and not isinstance(first, bool):
        text = text[:first]
    modifiers = {tag for tag in node.tags if tag in MODIFIERS}
    if modifiers:
        text = apply_modifiers(text, modifiers)
    run.set_variable(str(node.args[0]).lower(), text)


_MODIFIER_TAGS = tuple(
    TagSpec(name, group=f"modifier-{precedence}")
    for name, precedence in MODIFIERS.items()
    if name not in ("quoteregex", "encodeurl")
)

EXTENSIONS = (
    Extension(name="mime", capabilities=("mime",)),
    Extension(
        name="foreverypart",
        capabilities=("foreverypart",),
        specs=(
            Spec(
                "foreverypart",
                requires="foreverypart",
                tags=(TagSpec("name", ArgKind.STRING),),
                block=Block.REQUIRED,
                validate=_validate_foreverypart,
            ),
            Spec(
                "break",
                requires="foreverypart",
                tags=(TagSpec("name", ArgKind.STRING),),
                validate=_validate_break,
            ),
        ),
        commands={"foreverypart": _foreverypart, "break": _break},
    ),
    Extension(
        name="extracttext",
        capabilities=("extracttext",),
        # RFC 5703 §7: extracttext is used with foreverypart and sets a variable.
        depends=("foreverypart", "variables"),
        specs=(
            Spec(
                "extracttext",
                requires="extracttext",
                positional=(ArgKind.STRING,),
                tags=(*_MODIFIER_TAGS, TagSpec("first", ArgKind.NUMBER)),
                validate=_validate_extracttext,
            ),
        ),
        commands={"extracttext": _extracttext},
    ),
)
