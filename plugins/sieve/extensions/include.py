"""The include extension (RFC 6609): ``include``, ``return`` and ``global``.

Implementation notes:

- Script names must be constant, valid UTF-8, without ``/`` and without control or
  line-separator characters (RFC 6609 §3.2 leaves names to the implementation; these
  are the names ManageSieve accepts, RFC 5804 §1.6).
- At run time the host supplies the included script (:meth:`Host.include`); it is
  compiled with the same registry and limits and cached for the run. A missing script
  is an error unless ``:optional``; ``:once`` skips a script already included in this
  run; a script that includes itself directly or indirectly is an error; the include
  depth and the number of included scripts are limited (``Limits``).
- When the compiler is given a resolver (an upload with the user's other scripts at
  hand, or the testsuite), the same checks run at compile time over the include tree.
- ``global`` (RFC 6609 §3.4) needs "variables"; a variable already set as local may
  not be made global afterwards. The ``global.`` namespace (§3.5) reads and writes the
  shared variables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugins.sieve.compiled import CompiledScript, Node
from plugins.sieve.errors import SieveCompileError, SieveLimitExceeded
from plugins.sieve.interpreter import ReturnScript
from plugins.sieve.spec import ArgKind, Extension, Spec, TagSpec

if TYPE_CHECKING:
    from plugins.sieve.context import CompileContext
    from plugins.sieve.interpreter import Run

__all__ = ["EXTENSIONS", "valid_script_name"]


def valid_script_name(name: str) -> bool:
    """RFC 5804 §1.6 script names: no control characters, no ``/``, valid UTF-8."""
    if not name or "/" in name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" for c in name)


def _location(node: Node) -> str:
    return "global" if node.has("global") else "personal"


def _validate_include(ctx: CompileContext, node: Node) -> None:
    name = node.args[0]
    assert isinstance(name, str)
    if not ctx.constant(name):
        ctx.error(node, "the name of an included script must be a constant string")
        return
    if not valid_script_name(name):
        ctx.error(node, f"invalid script name '{name}' for include")
        return
    resolver = ctx.resolver
    if resolver is None:
        return
    key = (_location(node), name)
    chain = ctx.include_chain
    if key in chain:
        if not node.has("once"):
            ctx.error(node, f"circular include of script '{name}'")
        return
    if len(chain) >= ctx.limits.max_include_depth:
        ctx.error(node, f"include nesting deeper than {ctx.limits.max_include_depth} levels")
        return
    source = resolver(name, key[0])
    if source is None:
        if not node.has("optional"):
            ctx.error(node, f"included {key[0]} script '{name}' does not exist")
        return
    counter = ctx.shared.setdefault("include_counter", [0])
    counter[0] += 1
    if counter[0] > ctx.limits.max_includes:
        ctx.error(node, f"more than {ctx.limits.max_includes} included scripts")
        return
    if isinstance(source, CompiledScript):
        return
    try:
        ctx.compile_included(source, name, key)
    except SieveCompileError as error:
        ctx.error(node, f"failed to compile included script '{name}': {error}")


def _validate_global(ctx: CompileContext, node: Node) -> None:
    if not ctx.enabled("variables"):
        ctx.error(node, 'the global command requires the "variables" extension')
        return
    from plugins.sieve.extensions.variables import validate_variable_name

    names = node.args[0]
    assert isinstance(names, tuple)
    globals_ = ctx.state.setdefault("global_variables", set())
    locals_ = ctx.state.setdefault("declared_variables", set())
    for name in names:
        validate_variable_name(ctx, node, name)
        lower = name.lower()
        if lower in locals_ and lower not in globals_:
            ctx.error(node, f"variable '{name}' is already used as a local variable")
        globals_.add(lower)


def _load(run: Run, node: Node, name: str, location: str) -> CompiledScript | None:
    key = (location, name)
    cached = run.include_cache.get(key)
    if cached is not None:
        return cached
    source = run.host.include(name, location)
    if source is None:
        return None
    if isinstance(source, CompiledScript):
        compiled = source
    else:
        from plugins.sieve.compiler import compile_script

        try:
            compiled = compile_script(source, registry=run.registry, limits=run.limits, name=name)
        except SieveCompileError as error:
            raise run.error(node, f"failed to compile included script '{name}': {error}") from error
    run.include_cache[key] = compiled
    return compiled


def _include(run: Run, node: Node) -> None:
    name = run.string(node.args[0])
    location = _location(node)
    key = (location, name)
    if node.has("once") and key in run.included:
        return
    if key in run.include_stack:
        raise run.error(node, f"circular include of script '{name}'")
    if len(run.include_stack) >= run.limits.max_include_depth:
        raise SieveLimitExceeded("include nesting too deep", node.line, node.column)
    compiled = _load(run, node, name, location)
    if compiled is None:
        if node.has("optional"):
            return
        raise run.error(node, f"included {location} script '{name}' does not exist")
    run.include_count += 1
    if run.include_count > run.limits.max_includes:
        raise SieveLimitExceeded("too many included scripts", node.line, node.column)
    run.included.add(key)
    run.include_stack.append(key)
    try:
        run.run_script(compiled, location)
    finally:
        run.include_stack.pop()


def _return(run: Run, node: Node) -> None:
    raise ReturnScript


def _global(run: Run, node: Node) -> None:
    for name in run.strings(node.args[0]):
        run.frame.global_names.add(name.lower())


EXTENSIONS = (
    Extension(
        name="include",
        capabilities=("include",),
        specs=(
            Spec(
                "include",
                requires="include",
                positional=(ArgKind.STRING,),
                tags=(
                    TagSpec("personal", group="location"),
                    TagSpec("global", group="location"),
                    TagSpec("once"),
                    TagSpec("optional"),
                ),
                validate=_validate_include,
            ),
            Spec("return", requires="include"),
            Spec(
                "global",
                requires="include",
                positional=(ArgKind.STRING_LIST,),
                validate=_validate_global,
            ),
        ),
        commands={"include": _include, "return": _return, "global": _global},
    ),
)
