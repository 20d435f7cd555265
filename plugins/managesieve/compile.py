"""Checking an uploaded script with the Sieve compiler (PUTSCRIPT, CHECKSCRIPT).

RFC 5804 §2.6: the server "MUST check the submitted script for validity";
the NO text "SHOULD contain a specific error message giving the line number
of the first error" and "may be a multiline literal string with more than
one error message separated by CRLFs". The compiler reports every problem
with line and column; the first :data:`MAX_REPORTED` are sent.

Implementation notes:

* The compiled form is stored in the Sieve plugin's cache form
  (:func:`plugins.sieve.runner.encode_compiled`: compact JSON, UTF-8), which
  delivery decodes with ``decode_compiled``.
* The limits are the Sieve plugin's (``sieve`` section: MAXREDIRECTS is its
  ``max_redirects``) with this plugin's ``max_script_size``.
* ``include`` targets are not resolved at upload (RFC 6609 §3.2 lets a
  script name one that does not exist yet); delivery resolves them.
* WARNINGS (§2.6): a script with more ``redirect`` commands than the
  interpreter carries out per message is stored, with a warning naming the
  line of the first redirect past the limit (the RFC's own example).
* This is CPU work: the ops run it in a worker thread, under the Sieve
  plugin's thread limiter and a time limit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, final

from plugins.sieve import CompiledScript, Limits, Node, SieveCompileError, compile_script
from plugins.sieve.config import SieveConfig
from plugins.sieve.runner import encode_compiled

__all__ = ["MAX_REPORTED", "Checked", "ScriptInvalid", "check_script", "sieve_limits"]

#: Most compile errors listed in one NO response.
MAX_REPORTED: Final = 10


class ScriptInvalid(Exception):
    """The script does not compile; the message lists the errors, one per line."""


@final
@dataclass(frozen=True, slots=True)
class Checked:
    """A valid script: its compiled form (JSON bytes) and any warnings."""

    compiled: bytes
    warnings: tuple[str, ...]


def sieve_limits(config: Mapping[str, Any], hostname: str, max_script_size: int) -> Limits:
    """The limits for uploads: the ``sieve`` section's (or defaults), with our size limit."""
    limits = SieveConfig.from_config(config, hostname).limits()
    return dataclasses.replace(limits, max_script_size=max_script_size)


def _walk(nodes: tuple[Node, ...]) -> Iterator[Node]:
    for node in nodes:
        yield node
        yield from _walk(node.tests)
        if node.block is not None:
            yield from _walk(node.block)


def _warnings(script: CompiledScript, limits: Limits) -> tuple[str, ...]:
    redirects = [node for node in _walk(script.commands) if node.name == "redirect"]
    if len(redirects) <= limits.max_redirects:
        return ()
    first_over = redirects[limits.max_redirects]
    return (
        f"line {first_over.line}: the script has {len(redirects)} redirect actions; the "
        f"server carries out at most {limits.max_redirects} per message",
    )


def check_script(source: bytes, limits: Limits, name: str = "") -> Checked:
    """Compile ``source``.

    Raises:
        ScriptInvalid: not UTF-8 or not valid Sieve; the message gives line and column.
    """
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = source.count(b"\n", 0, exc.start) + 1
        column = exc.start - (source.rfind(b"\n", 0, exc.start) + 1) + 1
        # RFC 5228 §2.4.2: scripts are UTF-8.
        raise ScriptInvalid(
            f"line {line}, column {column}: the script is not valid UTF-8"
        ) from None
    try:
        script = compile_script(text, limits=limits, name=name)
    except SieveCompileError as exc:
        shown = exc.diagnostics[:MAX_REPORTED] or (exc,)
        lines = [str(d) for d in shown]
        if len(exc.diagnostics) > MAX_REPORTED:
            lines.append(f"... and {len(exc.diagnostics) - MAX_REPORTED} more errors")
        raise ScriptInvalid("\r\n".join(lines)) from None
    return Checked(encode_compiled(script), _warnings(script, limits))
