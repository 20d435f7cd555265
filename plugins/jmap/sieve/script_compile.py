"""Checking a SieveScript's content with the Sieve compiler (RFC 9661 §2.2, §2.4).

The same approach as ManageSieve's PUTSCRIPT: the script must be UTF-8 (RFC
5228 §2.4.2) and compile under the ``sieve`` section's limits; the errors
(line and column, at most :data:`MAX_REPORTED`) become the ``description`` of
an ``invalidSieve`` SetError (§2.4: "SHOULD contain a specific error message
giving at least the line number of the first error"). The compiled form is
stored beside the source in the Sieve plugin's cache form
(:func:`plugins.sieve.runner.encode_compiled`), which delivery decodes.

Compiling is CPU work: it runs in a worker thread under the Sieve plugin's
thread limiter and its run-time limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import trio

from plugins.sieve import Limits, SieveCompileError, capabilities, compile_script
from plugins.sieve.config import SieveConfig
from plugins.sieve.runner import GRACE, encode_compiled, limiter_of

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel

__all__ = [
    "MAX_NAME_OCTETS",
    "MAX_REPORTED",
    "ScriptInvalid",
    "compile_for_store",
    "script_limits",
    "sieve_account_capability",
    "sieve_server_capability",
]

#: Most compile errors listed in one description.
MAX_REPORTED: Final = 10
#: RFC 9661 §1.2.1: maxSizeScriptName, at least 512 (ManageSieve compatibility).
MAX_NAME_OCTETS: Final = 512
#: Script count limit when the ``managesieve`` section does not set one.
DEFAULT_MAX_SCRIPTS: Final = 32


class ScriptInvalid(Exception):
    """The script does not compile; the message lists the errors, one per line."""


def script_limits(kernel: Kernel) -> tuple[int, int | None]:
    """(largest script in octets, most scripts or None): the ``sieve`` section's
    ``max_script_size`` and the ``managesieve`` section's limits when configured,
    so JMAP and ManageSieve accept the same scripts."""
    size = SieveConfig.from_config(kernel.config, kernel.hostname).max_script_size
    managesieve_size = kernel.config.get("managesieve.max_script_size")
    if isinstance(managesieve_size, int) and managesieve_size > 0:
        size = min(size, managesieve_size)
    count = kernel.config.get("managesieve.max_scripts", DEFAULT_MAX_SCRIPTS)
    return size, (int(count) or None) if isinstance(count, int) else DEFAULT_MAX_SCRIPTS


def _limits(kernel: Kernel) -> Limits:
    return SieveConfig.from_config(kernel.config, kernel.hostname).limits()


def _check(source: bytes, limits: Limits, name: str) -> bytes:
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = source.count(b"\n", 0, exc.start) + 1
        column = exc.start - (source.rfind(b"\n", 0, exc.start) + 1) + 1
        problem = f"line {line}, column {column}: the script is not valid UTF-8"
        raise ScriptInvalid(problem) from None
    if not text:
        raise ScriptInvalid("line 1, column 1: the script is empty")  # RFC 9661 §2.2
    try:
        script = compile_script(text, limits=limits, name=name)
    except SieveCompileError as exc:
        shown = exc.diagnostics[:MAX_REPORTED] or (exc,)
        lines = [str(d) for d in shown]
        if len(exc.diagnostics) > MAX_REPORTED:
            lines.append(f"... and {len(exc.diagnostics) - MAX_REPORTED} more errors")
        raise ScriptInvalid("\r\n".join(lines)) from None
    return encode_compiled(script)


async def compile_for_store(kernel: Kernel, source: bytes, name: str = "") -> bytes:
    """The compiled cache form of ``source``.

    Raises:
        ScriptInvalid: not UTF-8, empty, or not valid Sieve (line and column given),
            or compiling took longer than the Sieve run-time limit.
    """
    limits = _limits(kernel)
    try:
        with trio.fail_after(limits.max_run_seconds + GRACE):
            compiled: bytes = await trio.to_thread.run_sync(
                _check,
                source,
                limits,
                name,
                limiter=limiter_of(kernel),
                abandon_on_cancel=True,
            )
    except trio.TooSlowError:
        raise ScriptInvalid("the script took too long to compile") from None
    return compiled


def sieve_server_capability() -> dict[str, Any]:
    """The session-level ``urn:ietf:params:jmap:sieve`` object (RFC 9661 §1.2.1)."""
    return {"implementation": "stalwart-kernel Sieve 0.1"}


def sieve_account_capability(kernel: Kernel) -> dict[str, Any]:
    """The account-level ``urn:ietf:params:jmap:sieve`` object (RFC 9661 §1.2.1)."""
    size, count = script_limits(kernel)
    conf = SieveConfig.from_config(kernel.config, kernel.hostname)
    extensions = capabilities()
    return {
        "maxSizeScriptName": MAX_NAME_OCTETS,
        "maxSizeScript": size,
        "maxNumberScripts": count,
        "maxNumberRedirects": conf.max_redirects,
        "sieveExtensions": extensions,
        "notificationMethods": ["mailto"] if "enotify" in extensions else None,
        "externalLists": None,
    }
