"""The registry: which extensions a server offers, and the lookups built from them.

A :class:`Registry` is an immutable value built from :class:`~plugins.sieve.spec.Extension`
records; :func:`default_registry` gives every built-in extension. A host can offer less
(``default_registry().without("vacation")``) or more (a test-only extension such as the
Pigeonhole testsuite, ``default_registry().with_extensions(...)``).

Implementation notes:

- Comparators are capabilities too (RFC 5228 §2.7.3): ``i;octet`` and
  ``i;ascii-casemap`` are always available, others need ``comparator-<name>``.
- ``implies`` lets one capability enable others (RFC 6131 §2: "vacation-seconds"
  implies "vacation"; RFC 5235 §3.2: spamtestplus extends spamtest).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, final

from plugins.sieve.spec import CommandHandler, Extension, Spec, TestHandler

__all__ = ["NamespaceHandler", "Registry", "default_registry"]

NamespaceHandler = Callable[[Any, str], str | None]


@final
@dataclass(frozen=True)
class Registry:
    """The extensions on offer, with lookups by name and handler key."""

    extensions: tuple[Extension, ...]
    specs: dict[str, tuple[Spec, ...]] = field(init=False)
    commands: dict[str, CommandHandler] = field(init=False)
    tests: dict[str, TestHandler] = field(init=False)
    capabilities: frozenset[str] = field(init=False)
    comparators: dict[str, str | None] = field(init=False)
    namespaces: dict[str, tuple[str, NamespaceHandler]] = field(init=False)
    _implies: dict[str, tuple[str, ...]] = field(init=False)
    conflicts: dict[str, tuple[str, ...]] = field(init=False)
    depends: dict[str, tuple[str, ...]] = field(init=False)

    def __post_init__(self) -> None:
        specs: dict[str, list[Spec]] = {}
        commands: dict[str, CommandHandler] = {}
        tests: dict[str, TestHandler] = {}
        implies: dict[str, tuple[str, ...]] = {}
        capabilities: set[str] = set()
        comparators: dict[str, str | None] = {"i;octet": None, "i;ascii-casemap": None}
        namespaces: dict[str, tuple[str, NamespaceHandler]] = {}
        conflicts: dict[str, tuple[str, ...]] = {}
        depends: dict[str, tuple[str, ...]] = {}
        for extension in self.extensions:
            capabilities.update(extension.capabilities)
            for capability in extension.capabilities:
                if extension.conflicts:
                    conflicts[capability] = extension.conflicts
                if extension.depends:
                    depends[capability] = extension.depends
            for spec in extension.specs:
                specs.setdefault(spec.name, []).append(spec)
            commands.update(extension.commands)
            tests.update(extension.tests)
            implies.update(extension.implies)
            for capability in extension.capabilities:
                if capability.startswith("comparator-"):
                    comparators[capability.removeprefix("comparator-")] = capability
            for prefix, handler in extension.namespaces.items():
                namespaces[prefix] = (extension.capabilities[0], handler)
        object.__setattr__(self, "specs", {k: tuple(v) for k, v in specs.items()})
        object.__setattr__(self, "commands", commands)
        object.__setattr__(self, "tests", tests)
        object.__setattr__(self, "capabilities", frozenset(capabilities))
        object.__setattr__(self, "comparators", comparators)
        object.__setattr__(self, "namespaces", namespaces)
        object.__setattr__(self, "_implies", implies)
        object.__setattr__(self, "conflicts", conflicts)
        object.__setattr__(self, "depends", depends)

    def supports(self, capability: str) -> bool:
        """Whether ``require "<capability>"`` is allowed."""
        return capability in self.capabilities

    def expand(self, capabilities: Iterable[str]) -> set[str]:
        """``capabilities`` plus everything they imply."""
        result: set[str] = set()
        pending = list(capabilities)
        while pending:
            capability = pending.pop()
            if capability not in result:
                result.add(capability)
                pending.extend(self._implies.get(capability, ()))
        return result

    def with_extensions(self, *extensions: Extension) -> Registry:
        """A registry offering these extensions as well."""
        return Registry((*self.extensions, *extensions))

    def without(self, *capabilities: str) -> Registry:
        """A registry without the extensions that offer any of ``capabilities``."""
        unwanted = set(capabilities)
        return Registry(tuple(e for e in self.extensions if unwanted.isdisjoint(e.capabilities)))


@cache
def default_registry() -> Registry:
    """Every built-in extension (the base language included); built once, immutable."""
    from plugins.sieve.extensions import builtin_extensions

    return Registry(builtin_extensions())
