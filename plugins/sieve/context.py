"""The state a compilation shares with the extensions' ``validate`` hooks.

A :class:`CompileContext` knows the registry, the limits, the capabilities required so
far (``ihave`` blocks add to them), and collects diagnostics; :mod:`plugins.sieve.compiler`
creates one per script.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, final

from plugins.sieve.compiled import Node
from plugins.sieve.errors import Diagnostic
from plugins.sieve.limits import Limits
from plugins.sieve.parser import Argument, CommandNode, TestNode
from plugins.sieve.registry import Registry
from plugins.sieve.variables import is_constant

if TYPE_CHECKING:
    from plugins.sieve.compiled import CompiledScript

__all__ = ["CompileContext", "IncludeResolver", "NestedCompile", "ihave_supports"]

IncludeResolver = Callable[[str, str], "str | bytes | CompiledScript | None"]
NestedCompile = Callable[[str | bytes, str, tuple[tuple[str, str], ...], dict[str, Any]], None]
# RFC 5463 §4: extensions that change how the script is read cannot be tested for.
_NOT_IHAVE = frozenset({"encoded-character", "variables"})


def ihave_supports(registry: Registry, capability: str) -> bool:
    """RFC 5463 §4: whether ``ihave`` reports ``capability`` as available."""
    return capability not in _NOT_IHAVE and registry.supports(capability)


@final
class CompileContext:
    """What a spec's ``validate`` hook may use: the capabilities and error reporting."""

    def __init__(
        self,
        registry: Registry,
        limits: Limits,
        resolver: IncludeResolver | None = None,
        include_chain: tuple[tuple[str, str], ...] = (),
        state: dict[str, Any] | None = None,
    ) -> None:
        self.registry = registry
        self.limits = limits
        self.resolver = resolver
        self.include_chain = include_chain
        self.requires: set[str] = set()
        self.diagnostics: list[Diagnostic] = []
        self.depth = 0
        self.in_foreverypart = 0
        self.state: dict[str, Any] = {}
        # Shared with included scripts compiled for the include-tree check.
        self.shared: dict[str, Any] = state if state is not None else {}
        # Set by the compiler: compiles an included script with the shared state.
        self.nested: NestedCompile | None = None

    def error(self, node: Node | Argument | CommandNode | TestNode, message: str) -> None:
        """Report a problem at ``node``."""
        self.diagnostics.append(Diagnostic(node.line, node.column, message))

    def enabled(self, capability: str) -> bool:
        """Whether ``capability`` was required (or is enabled by ``ihave``)."""
        return capability in self.requires

    def constant(self, value: str) -> bool:
        """Whether ``value`` is the same at run time (no variable references in it)."""
        return not self.enabled("variables") or is_constant(value)

    def compile_included(self, source: str | bytes, name: str, key: tuple[str, str]) -> None:
        """Compile an included script as part of the include-tree check.

        Raises:
            SieveCompileError: the included script (or one it includes) is invalid.
        """
        assert self.nested is not None
        self.nested(source, name, (*self.include_chain, key), self.shared)
