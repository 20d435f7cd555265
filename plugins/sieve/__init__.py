"""Sieve (RFC 5228 and extensions): a compiler and a sans-IO interpreter.

Compile once, at upload; store the JSON form; run it at delivery::

    script = compile_script(source)                  # SieveCompileError with positions
    stored = script.to_json()                        # plain JSON, no pickle
    script = CompiledScript.from_json(stored)
    outcome = Interpreter().run(script, raw_message, Envelope(sender, recipient), host)
    for action, message in zip(outcome.actions, outcome.messages):
        ...                                          # Keep, FileInto, Redirect, ...

The interpreter does no I/O (STYLE.md §1.9): lookups go through the :class:`Host`
Protocol, and actions come back as values for the host to carry out; the messages that
actions send are built by :mod:`plugins.sieve.compose` and
:func:`~plugins.sieve.extensions.vacation.vacation_reply`. A script error never raises
from :meth:`Interpreter.run`: the outcome carries it and keeps the message (RFC 5228
§2.10.6). ``docs/sieve.md`` lists the extensions, limits and conformance results.
"""

from plugins.sieve.actions import (
    Action,
    Discard,
    DuplicateMark,
    Fcc,
    FileInto,
    Keep,
    Notify,
    Redirect,
    Reject,
    Vacation,
)
from plugins.sieve.compiled import FORMAT_VERSION, CompiledScript, Node
from plugins.sieve.compiler import compile_script
from plugins.sieve.compose import (
    OutgoingMessage,
    notify_messages,
    redirect_message,
    reject_message,
)
from plugins.sieve.errors import (
    Diagnostic,
    SieveCompileError,
    SieveError,
    SieveLimitExceeded,
    SieveRuntimeError,
    SieveSyntaxError,
)
from plugins.sieve.extensions.vacation import vacation_reply
from plugins.sieve.host import Envelope, Host, StaticHost
from plugins.sieve.interpreter import Interpreter, Outcome
from plugins.sieve.limits import Limits
from plugins.sieve.message import MessageView
from plugins.sieve.registry import Registry, default_registry
from plugins.sieve.settings import ScoreSource, Settings

__all__ = [
    "FORMAT_VERSION",
    "Action",
    "CompiledScript",
    "Diagnostic",
    "Discard",
    "DuplicateMark",
    "Envelope",
    "Fcc",
    "FileInto",
    "Host",
    "Interpreter",
    "Keep",
    "Limits",
    "MessageView",
    "Node",
    "Notify",
    "Outcome",
    "OutgoingMessage",
    "Redirect",
    "Registry",
    "Reject",
    "ScoreSource",
    "Settings",
    "SieveCompileError",
    "SieveError",
    "SieveLimitExceeded",
    "SieveRuntimeError",
    "SieveSyntaxError",
    "StaticHost",
    "Vacation",
    "capabilities",
    "compile_script",
    "default_registry",
    "notify_messages",
    "redirect_message",
    "reject_message",
    "vacation_reply",
]


# Offered for old scripts and the Pigeonhole suite, not advertised.
_UNADVERTISED = frozenset({"imapflags", "notify", "vnd.dovecot.debug", "vnd.dovecot.testsuite"})


def capabilities(registry: Registry | None = None, *, deprecated: bool = False) -> list[str]:
    """The ``require`` strings to advertise, sorted (ManageSieve's SIEVE capability,
    RFC 5804 §1.7); the deprecated drafts and vendor extensions only with ``deprecated``.
    """
    offered = (registry or default_registry()).capabilities
    return sorted(c for c in offered if deprecated or c not in _UNADVERTISED)
