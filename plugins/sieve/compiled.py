"""The compiled form of a script: validated nodes that serialise to plain JSON.

A script is compiled once, at upload, and the result is stored next to the source
(:meth:`CompiledScript.to_json` gives only dicts, lists, strings, numbers and booleans:
no pickle). Running it later needs only :meth:`CompiledScript.from_json` and a registry
that knows the handler keys.

Implementation notes:

- A :class:`Node` is a command or a test with its arguments already checked and
  normalised: positional values are ``str``, ``int`` or ``tuple[str, ...]`` (a single
  string given for a string list becomes a one-element tuple), missing optional leading
  arguments are ``None``; tags map the tag name to its argument or ``True``.
- :data:`FORMAT_VERSION` is stored with the form; a different version means the stored
  form must be recompiled from source (``from_json`` raises ``ValueError``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, final

__all__ = ["FORMAT_VERSION", "CompiledScript", "Node", "Value"]

FORMAT_VERSION = 1

Value = str | int | bool | tuple[str, ...] | None


@final
@dataclass(frozen=True, slots=True)
class Node:
    """A validated command or test.

    ``key`` is the handler key (see :attr:`plugins.sieve.spec.Spec.handler_key`),
    ``name`` the identifier as written (lowercase), ``line``/``column`` where it starts.
    ``block`` is ``None`` for commands without a block (and for tests).
    """

    key: str
    name: str
    line: int
    column: int
    args: tuple[Value, ...] = ()
    tags: dict[str, Value] = field(default_factory=dict)
    tests: tuple[Node, ...] = ()
    block: tuple[Node, ...] | None = None

    def tag(self, name: str, default: Value = None) -> Value:
        """The argument of tag ``name`` (``True`` for tags without one), else ``default``."""
        return self.tags.get(name, default)

    def has(self, name: str) -> bool:
        """Whether tag ``name`` was given."""
        return name in self.tags

    def to_json(self) -> dict[str, Any]:
        """This node as plain JSON data."""
        data: dict[str, Any] = {"k": self.key, "n": self.name, "p": [self.line, self.column]}
        if self.args:
            data["a"] = [_value_to_json(value) for value in self.args]
        if self.tags:
            data["t"] = {name: _value_to_json(value) for name, value in self.tags.items()}
        if self.tests:
            data["x"] = [test.to_json() for test in self.tests]
        if self.block is not None:
            data["b"] = [command.to_json() for command in self.block]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Node:
        """Rebuild a node from :meth:`to_json` output."""
        line, column = data["p"]
        block = data.get("b")
        return cls(
            key=str(data["k"]),
            name=str(data["n"]),
            line=int(line),
            column=int(column),
            args=tuple(_value_from_json(value) for value in data.get("a", ())),
            tags={str(k): _value_from_json(v) for k, v in data.get("t", {}).items()},
            tests=tuple(cls.from_json(test) for test in data.get("x", ())),
            block=None if block is None else tuple(cls.from_json(c) for c in block),
        )


def _value_to_json(value: Value) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _value_from_json(value: Any) -> Value:
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    if value is None or isinstance(value, bool | int | str):
        return value
    raise ValueError(f"unexpected value in compiled script: {value!r}")


@final
@dataclass(frozen=True, slots=True)
class CompiledScript:
    """A validated script: its commands, its required capabilities and its name.

    ``requires`` holds every capability the script requires (``require`` commands at its
    start), which is what the interpreter enables for it.
    """

    commands: tuple[Node, ...]
    requires: frozenset[str]
    name: str = ""

    def to_json(self) -> dict[str, Any]:
        """The compiled script as plain JSON data (store it; see :meth:`from_json`)."""
        return {
            "version": FORMAT_VERSION,
            "name": self.name,
            "requires": sorted(self.requires),
            "commands": [command.to_json() for command in self.commands],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CompiledScript:
        """Rebuild a compiled script; raises ``ValueError`` for another format version."""
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"compiled script format {data.get('version')!r} is not supported")
        return cls(
            commands=tuple(Node.from_json(command) for command in data["commands"]),
            requires=frozenset(str(item) for item in data["requires"]),
            name=str(data.get("name", "")),
        )
