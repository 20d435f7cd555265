"""The Sieve compiler: a parsed script validated against the registry, to a compiled form.

Validation follows RFC 5228: ``require`` first (§3.2), commands and tests known and
enabled by a ``require`` of their capability (§2.10.5, §6), tagged arguments before
positional ones (§2.6.2), arguments of the right type and number (§2.6), comparators
known and compatible with the match type (§2.7.3), ``elsif``/``else`` only after ``if``
(§3.1). Problems are collected, not just the first, each with line and column.

Implementation notes:

- ``ihave`` (RFC 5463 §4): the block of an ``if`` whose test is ``ihave`` (alone or in
  an ``allof``) is validated with those capabilities enabled when all of them are
  supported; when one is not, the block is not validated and compiles to nothing (the
  test is false at run time, so it never runs).
- Liberty taken from Pigeonhole: the block of ``if false`` is not validated either (its
  code can never run); the Pigeonhole suite relies on it for dead test blocks.
- ``encoded-character`` (RFC 5228 §2.4.2.4) is applied to every string once required.
- Extension-specific checks run through each spec's ``validate`` hook, which gets a
  :class:`CompileContext` to report errors and to ask whether a string is constant.
"""

from __future__ import annotations

from typing import Any, final

from plugins.sieve.binding import bind, kind_of
from plugins.sieve.compiled import CompiledScript, Node, Value
from plugins.sieve.context import CompileContext, IncludeResolver, ihave_supports
from plugins.sieve.errors import Diagnostic, SieveCompileError
from plugins.sieve.limits import Limits
from plugins.sieve.parser import CommandNode, StringArg, StringListArg, TestNode, parse
from plugins.sieve.registry import Registry, default_registry
from plugins.sieve.spec import Block, Spec, Tests

__all__ = ["CompileContext", "IncludeResolver", "compile_script", "ihave_supports"]


@final
class _Compiler:
    """One compilation; walks the tree and builds nodes."""

    def __init__(self, ctx: CompileContext) -> None:
        self.ctx = ctx
        self.registry = ctx.registry

    # -- tests -------------------------------------------------------------------
    def _lookup(self, raw: CommandNode | TestNode, is_test: bool) -> Spec | None:
        what = "test" if is_test else "command"
        specs = self.registry.specs.get(raw.name)
        if not specs:
            self.ctx.error(raw, f"unknown {what} '{raw.name}'")
            return None
        fitting = [s for s in specs if s.is_test == is_test]
        if not fitting:
            other = "command" if is_test else "test"
            self.ctx.error(raw, f"cannot use {other} '{raw.name}' as a {what}")
            return None
        for spec in fitting:
            if spec.requires is None or self.ctx.enabled(spec.requires):
                return spec
        needs = " or ".join(f'"{s.requires}"' for s in fitting)
        self.ctx.error(raw, f"{what} '{raw.name}' requires the {needs} extension")
        return None

    def _tests(self, spec: Spec, raw: CommandNode | TestNode, what: str) -> tuple[Node, ...]:
        owner = f"the {raw.name} {what}"
        if spec.tests is Tests.NONE:
            if raw.tests:
                self.ctx.error(raw, f"{owner} accepts no sub-tests, but tests are specified")
            return ()
        if spec.tests is Tests.ONE and (raw.test_list or len(raw.tests) != 1):
            self.ctx.error(raw, f"{owner} requires one test (not a test list)")
            return ()
        if spec.tests is Tests.LIST and not raw.test_list:
            self.ctx.error(raw, f"{owner} requires a test list in parentheses")
            return ()
        return tuple(node for node in (self.test(t) for t in raw.tests) if node is not None)

    def test(self, raw: TestNode) -> Node | None:
        spec = self._lookup(raw, True)
        if spec is None:
            return None
        node = bind(self.ctx, spec, raw, "test")
        tests = self._tests(spec, raw, "test")
        node = Node(node.key, node.name, node.line, node.column, node.args, node.tags, tests)
        if spec.validate is not None and len(node.args) == len(spec.positional):
            spec.validate(self.ctx, node)
        return node

    # -- commands ----------------------------------------------------------------
    def _ihave_capabilities(self, raw: CommandNode) -> list[str] | None:
        tests = raw.tests
        if len(tests) == 1 and tests[0].name == "allof":
            tests = tests[0].tests
        found: list[str] = []
        for test in tests:
            if test.name == "ihave" and test.arguments:
                argument = test.arguments[0]
                if isinstance(argument, StringArg):
                    found.append(argument.value)
                elif isinstance(argument, StringListArg):
                    found.extend(argument.values)
        return found or None

    def _block(self, raw: CommandNode) -> tuple[Node, ...]:
        assert raw.block is not None
        if raw.name in ("if", "elsif") and len(raw.tests) == 1 and not raw.test_list:
            test = raw.tests[0]
            if test.name == "false" and not test.arguments:
                return ()
        capabilities = self._ihave_capabilities(raw) if raw.name in ("if", "elsif") else None
        if capabilities is not None:
            if not all(ihave_supports(self.registry, c) for c in capabilities):
                return ()
            added = self.registry.expand(c for c in capabilities if c not in self.ctx.requires)
            added -= self.ctx.requires
            for capability in added:
                for other in self.registry.conflicts.get(capability, ()):
                    if other in self.ctx.requires:
                        self.ctx.error(raw, f"extension '{capability}' conflicts with '{other}'")
            self.ctx.requires.update(added)
            try:
                return self.commands(raw.block)
            finally:
                self.ctx.requires.difference_update(added)
        return self.commands(raw.block)

    def command(self, raw: CommandNode, previous: str | None) -> Node | None:
        if raw.name in ("elsif", "else") and previous not in ("if", "elsif"):
            self.ctx.error(raw, f"'{raw.name}' must follow 'if' or 'elsif'")
        spec = self._lookup(raw, False)
        if spec is None:
            return None
        node = bind(self.ctx, spec, raw, "command")
        tests = self._tests(spec, raw, "command")
        block: tuple[Node, ...] | None = None
        if spec.block is Block.NONE and raw.block is not None:
            self.ctx.error(raw, f"the {raw.name} command does not take a block")
        elif spec.block is Block.REQUIRED and raw.block is None:
            self.ctx.error(raw, f"the {raw.name} command requires a block")
        elif raw.block is not None:
            self.ctx.depth += 1
            foreverypart = raw.name == "foreverypart"
            loops: list[Value] = self.ctx.state.setdefault("loop_names", [])
            if foreverypart:
                self.ctx.in_foreverypart += 1
                loops.append(node.tag("name"))
            try:
                block = self._block(raw)
            finally:
                self.ctx.depth -= 1
                if foreverypart:
                    self.ctx.in_foreverypart -= 1
                    loops.pop()
        node = Node(node.key, node.name, node.line, node.column, node.args, node.tags, tests, block)
        if spec.validate is not None and len(node.args) == len(spec.positional):
            spec.validate(self.ctx, node)
        return node

    def commands(self, raws: tuple[CommandNode, ...]) -> tuple[Node, ...]:
        result: list[Node] = []
        previous: str | None = None
        for raw in raws:
            if raw.name == "require":
                self.ctx.error(raw, "require must come before any other command, at top level")
                continue
            node = self.command(raw, previous)
            previous = raw.name
            if node is not None:
                result.append(node)
        return tuple(result)

    def require(self, raw: CommandNode) -> None:
        """RFC 5228 §3.2: ``require <capabilities: string-list>``."""
        if raw.tests or raw.block is not None or len(raw.arguments) != 1:
            self.ctx.error(raw, "require takes exactly one string list and no tests or block")
        for argument in raw.arguments:
            if isinstance(argument, StringArg):
                names: tuple[str, ...] = (argument.value,)
            elif isinstance(argument, StringListArg):
                names = argument.values
            else:
                self.ctx.error(
                    argument, f"require expects a string list, found {kind_of(argument)}"
                )
                continue
            for name in names:
                if not self.registry.supports(name):
                    self.ctx.error(argument, f"unsupported extension '{name}'")
                else:
                    self.ctx.requires.update(self.registry.expand({name}))

    def _check_combination(self, where: CommandNode) -> None:
        for capability in sorted(self.ctx.requires):
            for other in self.registry.conflicts.get(capability, ()):
                if other in self.ctx.requires and capability < other:
                    self.ctx.error(where, f"extension '{capability}' conflicts with '{other}'")
            for needed in self.registry.depends.get(capability, ()):
                if needed not in self.ctx.requires:
                    self.ctx.error(where, f"extension '{capability}' requires '{needed}'")

    def script(self, raws: tuple[CommandNode, ...]) -> tuple[Node, ...]:
        index = 0
        while index < len(raws) and raws[index].name == "require":
            self.require(raws[index])
            index += 1
        if index:
            self._check_combination(raws[index - 1])
        return self.commands(raws[index:])


def _compile(
    source: str | bytes,
    registry: Registry,
    limits: Limits,
    name: str,
    resolver: IncludeResolver | None,
    chain: tuple[tuple[str, str], ...],
    shared: dict[str, Any] | None,
) -> CompiledScript:
    size = len(source.encode("utf-8", "surrogateescape") if isinstance(source, str) else source)
    if size > limits.max_script_size:
        raise SieveCompileError(
            [Diagnostic(1, 1, f"script is {size} bytes, over the {limits.max_script_size} limit")]
        )
    raws = parse(source, max_nesting=limits.max_nesting)
    ctx = CompileContext(registry, limits, resolver, chain, shared)

    def nested(
        source: str | bytes,
        name: str,
        chain: tuple[tuple[str, str], ...],
        shared: dict[str, Any],
    ) -> None:
        _compile(source, registry, limits, name, resolver, chain, shared)

    ctx.nested = nested
    commands = _Compiler(ctx).script(raws)
    if ctx.diagnostics:
        raise SieveCompileError(ctx.diagnostics)
    return CompiledScript(commands, frozenset(ctx.requires), name)


def compile_script(
    source: str | bytes,
    *,
    registry: Registry | None = None,
    limits: Limits | None = None,
    name: str = "",
    resolver: IncludeResolver | None = None,
) -> CompiledScript:
    """Parse and validate a Sieve script.

    Args:
        source: the script (text, or UTF-8 bytes).
        registry: the extensions on offer (default: :func:`default_registry`).
        limits: size and nesting limits (default: :class:`Limits`).
        name: the script's name, kept with the compiled form.
        resolver: ``(name, location) -> script or None``; when given, the scripts that
            ``include`` names are loaded and checked too (RFC 6609: missing scripts,
            cycles, depth and count limits become compile errors).

    Returns:
        The compiled script; serialise it with :meth:`CompiledScript.to_json`.

    Raises:
        SieveCompileError: with every problem found, each with line and column
            (:class:`SieveSyntaxError` for lexical and grammar errors).
    """
    registry = registry if registry is not None else default_registry()
    limits = limits if limits is not None else Limits()
    return _compile(source, registry, limits, name, resolver, (), None)
