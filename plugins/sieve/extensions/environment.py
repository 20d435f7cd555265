"""Small extensions: environment (RFC 5183), ihave (RFC 5463), duplicate (RFC 7352),
and the no-op ``vnd.dovecot.debug``.

Implementation notes:

- ``environment`` (RFC 5183 §4) asks the host for the item; an unknown or unavailable
  item makes the test false (nothing to match against).
- ``ihave`` (RFC 5463 §4) is true when every capability is offered; its effect on
  compilation is in :mod:`plugins.sieve.compiler`. ``error`` (§5) ends the run with the
  script's message.
- ``duplicate`` (RFC 7352 §3) keys on the ``:handle`` plus the ``:uniqueid``, the value
  of ``:header``, or the Message-ID; the key is hashed. The test asks the host whether
  the key was seen; recording it is a :class:`~plugins.sieve.actions.DuplicateMark`
  action the host performs once delivery succeeds. Without an id the test is false.
- ``vnd.dovecot.debug`` offers ``debug_log``, which does nothing here (scripts written
  for Dovecot use it; the Pigeonhole suite requires the capability).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from plugins.sieve.actions import DuplicateMark
from plugins.sieve.compiled import Node
from plugins.sieve.spec import ArgKind, Extension, Spec, TagSpec, match_tags

if TYPE_CHECKING:
    from plugins.sieve.context import CompileContext
    from plugins.sieve.interpreter import Run

__all__ = ["EXTENSIONS"]

_DEFAULT_PERIOD = 12 * 3600
_MAX_PERIOD = 7 * 86400


def _environment(run: Run, node: Node) -> bool:
    value = run.host.environment(run.string(node.args[0]).lower())
    if value is None:
        return False
    return run.match(node, [value], run.strings(node.args[1]))


def _ihave(run: Run, node: Node) -> bool:
    from plugins.sieve.compiler import ihave_supports

    return all(ihave_supports(run.registry, c) for c in run.strings(node.args[0]))


def _error(run: Run, node: Node) -> None:
    raise run.error(node, run.string(node.args[0]))


def _debug_log(run: Run, node: Node) -> None:
    run.string(node.args[0])


def _validate_duplicate(ctx: CompileContext, node: Node) -> None:
    seconds = node.tag("seconds")
    if isinstance(seconds, int) and not isinstance(seconds, bool) and seconds < 0:
        ctx.error(node, "':seconds' of the duplicate test must not be negative")


def _duplicate(run: Run, node: Node) -> bool:
    if node.has("uniqueid"):
        unique: str | None = run.string(node.tag("uniqueid"))
    else:
        name = run.string(node.tag("header")) if node.has("header") else "message-id"
        values = run.message.values(name)
        unique = values[0] if values else None
    if unique is None:
        return False
    handle = run.string(node.tag("handle")) if node.has("handle") else ""
    key = hashlib.sha256(f"{handle}\0{unique}".encode("utf-8", "surrogateescape")).hexdigest()
    seconds = node.tag("seconds", _DEFAULT_PERIOD)
    assert isinstance(seconds, int)
    seen = run.host.duplicate_seen(key)
    if not seen or node.has("last"):
        run.add_action(DuplicateMark(key, min(seconds, _MAX_PERIOD)), node)
    return seen


EXTENSIONS = (
    Extension(
        name="environment",
        capabilities=("environment",),
        specs=(
            Spec(
                "environment",
                requires="environment",
                is_test=True,
                positional=(ArgKind.STRING, ArgKind.STRING_LIST),
                tags=match_tags(),
            ),
        ),
        tests={"environment": _environment},
    ),
    Extension(
        name="ihave",
        capabilities=("ihave",),
        specs=(
            Spec("ihave", requires="ihave", is_test=True, positional=(ArgKind.STRING_LIST,)),
            Spec("error", requires="ihave", positional=(ArgKind.STRING,)),
        ),
        commands={"error": _error},
        tests={"ihave": _ihave},
    ),
    Extension(
        name="duplicate",
        capabilities=("duplicate",),
        specs=(
            Spec(
                "duplicate",
                requires="duplicate",
                is_test=True,
                tags=(
                    TagSpec("handle", ArgKind.STRING),
                    TagSpec("header", ArgKind.STRING, group="id"),
                    TagSpec("uniqueid", ArgKind.STRING, group="id"),
                    TagSpec("seconds", ArgKind.NUMBER),
                    TagSpec("last"),
                ),
                validate=_validate_duplicate,
            ),
        ),
        tests={"duplicate": _duplicate},
    ),
    Extension(
        name="vnd.dovecot.debug",
        capabilities=("vnd.dovecot.debug",),
        specs=(Spec("debug_log", requires="vnd.dovecot.debug", positional=(ArgKind.STRING,)),),
        commands={"debug_log": _debug_log},
    ),
)
