"""The editheader extension (RFC 5293): ``addheader`` (§4) and ``deleteheader`` (§5).

Implementation notes:

- Field names must be RFC 5322 ``field-name`` (checked at compile time when constant,
  else a run-time error). Values that are not ASCII are stored as RFC 2047 encoded-words
  and long values are folded (RFC 5293 §4 allows either that or an error); line breaks
  in a value become folds.
- RFC 5293 §6: ``Received`` and ``Auto-Submitted`` are never deleted, ``Subject`` may
  always be added and deleted; the settings add protected names. A change that is not
  permitted is silently ignored.
- Values holding NUL, or longer than ``Limits.max_header_size``, are errors (at compile
  time when constant).
- ``deleteheader``: ``:index`` counts before the value patterns are matched (§5); match
  variables are not set.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from plugins.sieve.compiled import Node
from plugins.sieve.extensions.base import chain
from plugins.sieve.extensions.common import validate_index
from plugins.sieve.headers import valid_field_name
from plugins.sieve.spec import ArgKind, Extension, Spec, TagSpec, match_tags

if TYPE_CHECKING:
    from plugins.sieve.context import CompileContext
    from plugins.sieve.interpreter import Run

__all__ = ["EXTENSIONS"]

_NEVER_DELETE = frozenset({"received", "auto-submitted"})
_ALWAYS_ALLOWED = "subject"
_LINE_BREAK = re.compile(r"\r?\n[ \t]*")
# RFC 5293 §5: [":index" <fieldno: number> [":last"]] belongs to editheader itself.
_DELETE_INDEX_TAGS = (TagSpec("index", ArgKind.NUMBER), TagSpec("last"))


def _validate_name(ctx: CompileContext, node: Node) -> None:
    name = node.args[0] if node.args else None
    if isinstance(name, str) and ctx.constant(name) and not valid_field_name(name):
        ctx.error(node, f"invalid header field name '{name}' for {node.name}")


def _validate_add(ctx: CompileContext, node: Node) -> None:
    _validate_name(ctx, node)
    value = node.args[1]
    if not isinstance(value, str) or not ctx.constant(value):
        return
    if "\0" in value:
        ctx.error(node, "addheader value contains a NUL character")
    limit = ctx.limits.max_header_size
    if len(value.encode("utf-8", "surrogateescape")) > limit:
        ctx.error(node, f"addheader value is longer than {limit} bytes")


def _name(run: Run, node: Node) -> str:
    name = run.string(node.args[0])
    if not valid_field_name(name):
        raise run.error(node, f"invalid header field name '{name}' for {node.name}")
    return name


def _may_add(run: Run, name: str) -> bool:
    lower = name.lower()
    if lower == _ALWAYS_ALLOWED:
        return True
    settings = run.settings
    protected = {n.lower() for n in settings.editheader_protected}
    forbidden = {n.lower() for n in settings.editheader_forbid_add}
    return lower not in protected and lower not in forbidden


def _may_delete(run: Run, name: str) -> bool:
    lower = name.lower()
    if lower == _ALWAYS_ALLOWED:
        return True
    if lower in _NEVER_DELETE:
        return False
    settings = run.settings
    protected = {n.lower() for n in settings.editheader_protected}
    forbidden = {n.lower() for n in settings.editheader_forbid_delete}
    return lower not in protected and lower not in forbidden


def _addheader(run: Run, node: Node) -> None:
    name = _name(run, node)
    value = run.string(node.args[1])
    limit = run.limits.max_header_size
    if len(value.encode("utf-8", "surrogateescape")) > limit:
        raise run.error(node, f"addheader value is longer than {limit} bytes")
    if "\0" in value:
        raise run.error(node, "addheader value contains a NUL character")
    if not _may_add(run, name):
        return
    value = _LINE_BREAK.sub(" ", value.strip("\r\n"))
    run.charge(1 + len(value) // 256)
    run.message.add(name, value, last=node.has("last"))


def _deleteheader(run: Run, node: Node) -> None:
    name = _name(run, node)
    if not _may_delete(run, name):
        return
    patterns = None if node.args[1] is None else run.strings(node.args[1])
    lower = name.lower()
    positions = [i for i, f in enumerate(run.message.fields) if f.name.lower() == lower]
    index = node.tag("index")
    if isinstance(index, int) and not isinstance(index, bool):
        position = len(positions) - index if node.has("last") else index - 1
        positions = [positions[position]] if 0 <= position < len(positions) else []
    if patterns is not None:
        spec = run.match_spec(node)
        fields = run.message.fields
        positions = [
            i for i in positions if spec.match([fields[i].text()], patterns, run.charge)[0]
        ]
    run.message.remove(set(positions))


EXTENSIONS = (
    Extension(
        name="editheader",
        capabilities=("editheader",),
        specs=(
            Spec(
                "addheader",
                requires="editheader",
                positional=(ArgKind.STRING, ArgKind.STRING),
                tags=(TagSpec("last"),),
                validate=_validate_add,
            ),
            Spec(
                "deleteheader",
                requires="editheader",
                positional=(ArgKind.STRING, ArgKind.STRING_LIST),
                optional_trailing=1,
                tags=(*match_tags(), *_DELETE_INDEX_TAGS),
                validate=chain(_validate_name, validate_index),
            ),
        ),
        commands={"addheader": _addheader, "deleteheader": _deleteheader},
    ),
)
