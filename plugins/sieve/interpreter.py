"""The Sieve interpreter: runs a compiled script against a message and an envelope.

The interpreter is sans-IO (STYLE.md §1.9): it reads the message it is given, asks its
:class:`~plugins.sieve.host.Host` the questions it cannot answer itself, and returns
the actions to carry out in an :class:`Outcome`.

Implementation notes:

- ``if``/``elsif``/``else`` (RFC 5228 §3.1) are evaluated by the block loop itself;
  every other command and test is dispatched on its handler key to the extension that
  defines it. ``stop`` (§3.3) ends the whole run, ``return`` (RFC 6609 §3.3) the
  current included script.
- Tests short-circuit and run left to right (RFC 5228 §5.2, §5.3; RFC 5229 §3.2).
- Budget: every command and test costs a step, string matching costs in proportion to
  its size, and the wall clock is checked every 256 steps; running out raises
  :class:`~plugins.sieve.errors.SieveLimitExceeded`, which ends the run with an error.
- Errors: a run that fails keeps the message (RFC 5228 §2.10.6); :class:`Outcome`
  then carries the error and only the implicit keep as its action.

Theory of operation: :meth:`Interpreter.run` builds a :class:`Run` (the state of one
delivery's evaluation: variables, match variables, result, budget) and executes the top
level of the script; ``include`` executes another compiled script with the same
:class:`Run`, swapping the per-script state (required capabilities, local variables)
in and out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import final

from kernel.mail import Part
from plugins.sieve.actions import Action, Keep
from plugins.sieve.comparators import get_comparator
from plugins.sieve.compiled import CompiledScript, Node, Value
from plugins.sieve.errors import SieveLimitExceeded, SieveRuntimeError
from plugins.sieve.host import Envelope, Host
from plugins.sieve.limits import Limits
from plugins.sieve.matching import MatchSpec
from plugins.sieve.message import MessageView
from plugins.sieve.registry import Registry, default_registry
from plugins.sieve.result import Result
from plugins.sieve.settings import Settings
from plugins.sieve.variables import expand, truncate_utf8

__all__ = ["Interpreter", "Outcome", "Run", "StopScript"]

_CHECK_CLOCK_EVERY = 256


class StopScript(Exception):
    """``stop`` (RFC 5228 §3.3): end the run."""


class ReturnScript(Exception):
    """``return`` (RFC 6609 §3.3): end the current included script."""


@final
@dataclass
class ScriptFrame:
    """The per-script state that ``include`` swaps: capabilities and local variables."""

    script: CompiledScript
    variables: dict[str, str] = field(default_factory=dict)
    global_names: set[str] = field(default_factory=set)
    location: str = "personal"


@final
@dataclass(frozen=True, slots=True)
class Outcome:
    """What a run decided.

    ``actions`` are the actions to carry out, in order, the implicit keep last when it
    is due; when ``error`` is set they are just the implicit keep (RFC 5228 §2.10.6) and
    ``requested`` holds what the script had asked for before failing. ``message`` is the
    message with editheader changes, or ``None`` when it was not edited; ``messages`` is
    aligned with ``actions`` and gives, per action, the message to store or send when
    editheader had changed it by then (``None``: the original). ``log`` lists problems
    that did not stop the run (such as a computed regular expression that is invalid).
    """

    actions: tuple[Action, ...]
    error: SieveRuntimeError | None = None
    requested: tuple[Action, ...] = ()
    message: bytes | None = None
    messages: tuple[bytes | None, ...] = ()
    log: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the run ended without error."""
        return self.error is None


@final
class Run:
    """The state of one evaluation; extension handlers receive it as ``run``."""

    def __init__(
        self,
        interpreter: Interpreter,
        script: CompiledScript,
        envelope: Envelope,
        host: Host,
        result: Result,
        clock: Callable[[], float],
    ) -> None:
        self.interpreter = interpreter
        self.registry = interpreter.registry
        self.envelope = envelope
        self.host = host
        self.result = result
        self.frame = ScriptFrame(script)
        self.global_variables: dict[str, str] = {}
        self.match_values: list[str] = []
        self.steps = 0
        self.clock = clock
        self.deadline = clock() + interpreter.limits.max_run_seconds
        self.include_stack: list[tuple[str, str]] = []
        self.included: set[tuple[str, str]] = set()
        self.include_count = 0
        self.include_cache: dict[tuple[str, str], CompiledScript] = {}
        # RFC 5703 §4.1: the MIME part "foreverypart" is iterating over (innermost last).
        self.part_stack: list[Part] = []
        self.log: list[str] = []

    @property
    def limits(self) -> Limits:
        """The interpreter's safety limits."""
        return self.interpreter.limits

    @property
    def settings(self) -> Settings:
        """The interpreter's policy settings."""
        return self.interpreter.settings

    # -- budget --------------------------------------------------------------------
    def charge(self, amount: int = 1) -> None:
        """Spend ``amount`` steps of the budget."""
        before = self.steps
        self.steps += amount
        if self.steps > self.limits.max_steps:
            raise SieveLimitExceeded(f"script exceeded {self.limits.max_steps} steps")
        crossed = self.steps // _CHECK_CLOCK_EVERY != before // _CHECK_CLOCK_EVERY
        if crossed and self.clock() > self.deadline:
            raise SieveLimitExceeded(
                f"script ran longer than {self.limits.max_run_seconds} seconds"
            )

    # -- capabilities and strings --------------------------------------------------
    @property
    def message(self) -> MessageView:
        """The message being filtered (with editheader changes)."""
        return self.result.message

    def enabled(self, capability: str) -> bool:
        """Whether the running script required ``capability``."""
        return capability in self.frame.script.requires

    def _lookup(self, namespace: tuple[str, ...], name: str) -> str | None:
        if not namespace:
            if name.isdigit():
                index = int(name)
                return self.match_values[index] if index < len(self.match_values) else ""
            if name in self.frame.global_names:
                return self.global_variables.get(name, "")
            return self.frame.variables.get(name, "")
        if namespace == ("global",):
            return self.global_variables.get(name, "")
        entry = self.registry.namespaces.get(namespace[0])
        if entry is None:
            return None
        return entry[1](self, ".".join((*namespace[1:], name)))

    def string(self, value: Value) -> str:
        """A string argument with variables expanded (RFC 5229 §3)."""
        text = str(value) if value is not None else ""
        if "${" not in text or not self.enabled("variables"):
            return text
        self.charge(1 + len(text) // 256)
        try:
            expanded = expand(text, self._lookup, self.limits.max_string_size)
        except ValueError as error:
            raise SieveLimitExceeded(str(error)) from error
        self.charge(len(expanded) // 256)
        return expanded

    def strings(self, value: Value) -> list[str]:
        """A string-list argument with variables expanded."""
        if value is None:
            return []
        if isinstance(value, str):
            return [self.string(value)]
        assert isinstance(value, tuple)
        return [self.string(item) for item in value]

    def set_variable(self, name: str, value: str) -> None:
        """Assign variable ``name`` (lowercase), truncated to the size limit."""
        value = truncate_utf8(
            value, self.settings.max_variable_size or self.limits.max_variable_size
        )
        if name.startswith("global."):
            self.global_variables[name[7:]] = value
        elif name in self.frame.global_names:
            self.global_variables[name] = value
        else:
            self.frame.variables[name] = value

    def get_variable(self, name: str) -> str:
        """The value of variable ``name`` (empty when unset)."""
        if name.startswith("global."):
            return self.global_variables.get(name[7:], "")
        if name in self.frame.global_names:
            return self.global_variables.get(name, "")
        return self.frame.variables.get(name, "")

    # -- matching ------------------------------------------------------------------
    def match_spec(self, node: Node, default_comparator: str | None = None) -> MatchSpec:
        """The match type, relation and comparator a test node asks for."""
        comparator = get_comparator(str(node.tag("comparator", default_comparator) or "") or None)
        for kind in ("is", "contains", "matches", "regex", "count", "value"):
            if kind in node.tags:
                relation = node.tags[kind]
                return MatchSpec(
                    kind,
                    str(relation).lower() if isinstance(relation, str) else None,
                    comparator,
                    self.limits.regex_timeout,
                    self.log.append,
                )
        return MatchSpec("is", None, comparator, self.limits.regex_timeout, self.log.append)

    def match(
        self,
        node: Node,
        values: Iterable[str],
        keys: Sequence[str],
        default_comparator: str | None = None,
    ) -> bool:
        """Match ``values`` against ``keys`` as ``node`` asks; sets the match variables
        of a successful ``:matches`` or ``:regex`` (RFC 5229 §3.2).
        """
        spec = self.match_spec(node, default_comparator)
        matched, captures = spec.match(values, keys, self.charge)
        if matched and captures is not None and self.enabled("variables"):
            self.match_values = captures[: self.limits.max_match_values + 1]
        return matched

    # -- execution -----------------------------------------------------------------
    def add_action(self, action: Action, node: Node) -> None:
        """Add ``action`` to the result (conflicts and limits are errors at ``node``)."""
        self.result.add(action, node.line, node.column)

    def error(self, node: Node, message: str) -> SieveRuntimeError:
        """A runtime error at ``node``'s position."""
        return SieveRuntimeError(message, node.line, node.column)

    def test(self, node: Node) -> bool:
        """Evaluate a test."""
        self.charge()
        handler = self.registry.tests.get(node.key)
        if handler is None:
            raise self.error(node, f"no implementation of test '{node.name}'")
        return handler(self, node)

    def execute(self, commands: Sequence[Node]) -> None:
        """Execute a block of commands."""
        taken = False
        for node in commands:
            self.charge()
            key = node.key
            if key == "if":
                taken = self.test(node.tests[0])
                if taken:
                    self.execute(node.block or ())
                continue
            if key == "elsif":
                if not taken:
                    taken = self.test(node.tests[0])
                    if taken:
                        self.execute(node.block or ())
                continue
            if key == "else":
                if not taken:
                    self.execute(node.block or ())
                taken = True
                continue
            handler = self.registry.commands.get(key)
            if handler is None:
                raise self.error(node, f"no implementation of command '{node.name}'")
            handler(self, node)

    def run_script(self, script: CompiledScript, location: str = "personal") -> None:
        """Execute ``script`` as an included script (RFC 6609 §3.2) in this run."""
        saved = self.frame
        self.frame = ScriptFrame(script, location=location)
        try:
            self.execute(script.commands)
        except ReturnScript:
            pass
        finally:
            self.frame = saved


@final
class Interpreter:
    """Runs compiled scripts; holds the registry, limits and settings (reusable).

    Args:
        registry: the extensions available (default: every built-in one).
        limits: the safety limits.
        settings: policy choices (subaddress separator, spamtest headers, ...).
    """

    def __init__(
        self,
        registry: Registry | None = None,
        *,
        limits: Limits | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.registry = registry if registry is not None else default_registry()
        self.limits = limits if limits is not None else Limits()
        self.settings = settings if settings is not None else Settings()

    def new_result(self, message: bytes | MessageView) -> Result:
        """An empty result for ``message`` (to share between several runs)."""
        view = message if isinstance(message, MessageView) else MessageView(message)
        return Result(
            view, max_actions=self.limits.max_actions, max_redirects=self.limits.max_redirects
        )

    def start(
        self,
        script: CompiledScript,
        envelope: Envelope,
        host: Host,
        result: Result,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> Run:
        """A :class:`Run` ready to execute ``script`` (see :meth:`run`)."""
        return Run(self, script, envelope, host, result, clock)

    def run(
        self,
        script: CompiledScript,
        message: bytes | MessageView,
        envelope: Envelope,
        host: Host,
        *,
        result: Result | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> Outcome:
        """Run ``script`` against ``message`` and ``envelope``.

        Args:
            script: a compiled script (:func:`~plugins.sieve.compiler.compile_script`).
            message: the raw message (or a view already in use by an earlier script).
            envelope: the SMTP envelope.
            host: answers lookups (mailboxes, metadata, includes, date, ...).
            result: an existing result to add to (several scripts, one delivery).
            clock: monotonic clock for the run-time budget.

        Returns:
            The :class:`Outcome`. Errors in the script never raise: they come back as
            ``Outcome.error`` with the implicit keep as the only action.
        """
        if result is None:
            result = self.new_result(message)
        run = self.start(script, envelope, host, result, clock=clock)
        try:
            run.execute(script.commands)
        except (StopScript, ReturnScript):
            pass
        except SieveRuntimeError as error:
            return self._failed(run, error)
        except RecursionError:
            return self._failed(run, SieveLimitExceeded("script nesting too deep"))
        edited = result.message.to_bytes() if result.message.edited else None
        actions = tuple(result.final_actions())
        messages = (*result.messages, edited)[: len(actions)]
        return Outcome(actions, None, (), edited, messages, tuple(run.log))

    @staticmethod
    def _failed(run: Run, error: SieveRuntimeError) -> Outcome:
        # RFC 5228 §2.10.6: keep the message; RFC 5293 §7: with its original header.
        result = run.result
        uses_flags = run.frame.script.requires & {"imap4flags", "imapflags"}
        keep = Keep(tuple(result.flags) if uses_flags else None, implicit=True)
        return Outcome((keep,), error, tuple(result.actions), None, (None,), tuple(run.log))
