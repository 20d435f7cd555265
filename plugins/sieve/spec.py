"""Declarative signatures of Sieve commands and tests, and the extension record.

Every command and test is described by a :class:`Spec`: its positional arguments, the
tagged arguments it accepts (each tag naming the capability that must be required for
it), whether it takes a block or tests. The compiler validates a parsed script against
these specs; the interpreter dispatches on :attr:`Spec.key` to the extension's handler.

Implementation notes:

- Tags that belong to one exclusive group (the match type, the address part, the body
  transform, ...) carry the group name; two tags of one group is a compile error
  (RFC 5228 §2.6.2: "tagged arguments ... MUST NOT be repeated").
- A spec may have optional *leading* positional arguments (imap4flags' variable name,
  RFC 5232 §3): the given arguments bind to the right-most positions, the missing
  leading ones are ``None``.
- Specs and extensions are immutable values; the registry of what a server offers is
  built by :func:`plugins.sieve.registry.default_registry`, never at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, final

if TYPE_CHECKING:
    from plugins.sieve.compiled import Node
    from plugins.sieve.context import CompileContext

__all__ = [
    "COMPARATOR_TAG",
    "MATCH_TAGS",
    "ArgKind",
    "Block",
    "Extension",
    "Spec",
    "TagSpec",
    "Tests",
    "match_tags",
]


class ArgKind(Enum):
    """The argument types of RFC 5228 §2.6."""

    STRING = "string"
    STRING_LIST = "string list"
    NUMBER = "number"


class Block(Enum):
    """Whether a command takes a block."""

    NONE = "none"
    REQUIRED = "required"
    OPTIONAL = "optional"


class Tests(Enum):
    """What tests a command or test takes after its arguments."""

    NONE = "none"
    ONE = "one"
    LIST = "list"


@final
@dataclass(frozen=True, slots=True)
class TagSpec:
    """A tagged argument: its name (no colon), argument, group and required capability."""

    name: str
    arg: ArgKind | None = None
    group: str | None = None
    requires: str | None = None


# RFC 5228 §2.7.1: MATCH-TYPE = ":is" / ":contains" / ":matches";
# RFC 5231 §4: ":count" / ":value" relational-match; draft-ietf-sieve-regex-01 §3: ":regex".
MATCH_TAGS: tuple[TagSpec, ...] = (
    TagSpec("is", group="match"),
    TagSpec("contains", group="match"),
    TagSpec("matches", group="match"),
    TagSpec("regex", group="match", requires="regex"),
    TagSpec("count", ArgKind.STRING, group="match", requires="relational"),
    TagSpec("value", ArgKind.STRING, group="match", requires="relational"),
)
# RFC 5228 §2.7.3: COMPARATOR = ":comparator" string
COMPARATOR_TAG = TagSpec("comparator", ArgKind.STRING, group="comparator")


def match_tags() -> tuple[TagSpec, ...]:
    """The match-type tags plus ``:comparator``, as most tests accept them."""
    return (*MATCH_TAGS, COMPARATOR_TAG)


Validator = Callable[["CompileContext", "Node"], None]


@final
@dataclass(frozen=True, slots=True)
class Spec:
    """The signature of a command or a test.

    ``key`` names the handler (defaults to ``name``; two extensions may define one name,
    as the enotify and deprecated notify ``notify`` do). ``requires`` is the capability
    that makes the name available (``None`` for the base language). ``optional_leading``
    (``optional_trailing``) counts the leading (trailing) positional arguments that may
    be left out. ``validate`` runs
    extra compile-time checks. ``accepts_any_tag`` skips tag checks (never used by real
    commands; kept for vendor test extensions).
    """

    name: str
    requires: str | None = None
    positional: tuple[ArgKind, ...] = ()
    optional_leading: int = 0
    optional_trailing: int = 0
    tags: tuple[TagSpec, ...] = ()
    block: Block = Block.NONE
    tests: Tests = Tests.NONE
    is_test: bool = False
    validate: Validator | None = None
    key: str = ""

    @property
    def handler_key(self) -> str:
        """The dispatch key of the handler."""
        return self.key or self.name

    def tag(self, name: str) -> TagSpec | None:
        """The tag spec called ``name``, if this command or test accepts it."""
        for tag in self.tags:
            if tag.name == name:
                return tag
        return None


CommandHandler = Callable[[Any, "Node"], None]
TestHandler = Callable[[Any, "Node"], bool]


@final
@dataclass(frozen=True)
class Extension:
    """A unit the registry offers: capabilities, specs, and the handlers behind them.

    ``capabilities`` are the ``require`` strings (an extension may have several, such as
    ``spamtest`` and ``spamtestplus``). ``implies`` maps a capability to others it
    makes available. ``commands`` and ``tests`` map handler keys to
    callables taking ``(run, node)``. ``namespaces`` maps a variable namespace (RFC 5229
    §3, such as ``tst``) to a function ``(run, name)`` returning the value.
    ``conflicts`` are capabilities that may not be required together with this
    extension's; ``depends`` are capabilities that must be required with them.
    """

    name: str
    capabilities: tuple[str, ...]
    specs: tuple[Spec, ...] = ()
    commands: dict[str, CommandHandler] = field(default_factory=dict)
    tests: dict[str, TestHandler] = field(default_factory=dict)
    implies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    namespaces: dict[str, Callable[[Any, str], str | None]] = field(default_factory=dict)
    conflicts: tuple[str, ...] = ()
    depends: tuple[str, ...] = ()
