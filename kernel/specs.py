"""Records that plugins hand to the kernel through the ``stalwart_register_*`` hooks.

Each is a frozen dataclass: what a protocol serves, what a storage or event-bus
backend opens, what a CLI subcommand runs, and the shapes authentication passes
around. They are the whole vocabulary of the plugin contract besides
:mod:`kernel.hookspecs` itself.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, final

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel
    from kernel.net.connection import Connection

__all__ = [
    "TLS_MODES",
    "AuthResult",
    "BackendSpec",
    "CommandSpec",
    "Credentials",
    "ProtocolSpec",
]

#: The values of a listener's ``tls`` option.
TLS_MODES = frozenset({"none", "starttls", "implicit"})


@final
@dataclass(frozen=True, slots=True)
class ProtocolSpec:
    """A protocol a plugin serves on ``protocol: <name>`` listeners.

    Args:
        name: the listener ``protocol`` value (``smtp``, ``imap``...).
        serve: ``async serve(conn)``, run once per accepted connection in the
            kernel's session nursery; the kernel closes the connection after it
            returns or raises.
        tls_modes: the listener ``tls`` values this protocol supports.
        roles: allowed listener ``role`` values (empty: ``role`` must be unset).
        idle_timeout: seconds of client silence before ``receive_some`` raises
            :class:`~kernel.net.connection.IdleTimeout`, unless the listener sets
            ``limits.idle_timeout``.
        busy_reply: bytes sent in clear text before closing a connection refused
            by a connection limit (e.g. ``421 4.7.0 ...``), if any.
        alpn: ALPN protocol ids offered on TLS for this protocol.
    """

    name: str
    serve: Callable[[Connection], Awaitable[None]]
    tls_modes: frozenset[str] = TLS_MODES
    roles: frozenset[str] = frozenset()
    idle_timeout: float = 300.0
    busy_reply: bytes | None = None
    alpn: tuple[str, ...] = ()


@final
@dataclass(frozen=True, slots=True)
class BackendSpec:
    """A backend for one of the kernel's pluggable services.

    Args:
        kind: ``store``, ``blob`` or ``events``.
        name: the value of ``<kind>.backend`` in configuration that selects it.
        open: ``open(kernel)`` returns an async context manager whose value is
            the backend object; the kernel enters it at start (before listeners)
            and exits it at shutdown (after sessions drained).
        backup: for ``stalwart-kernel backup DIR`` (store backends; optional):
            ``await backup(kernel, dest)`` writes a consistent copy of the data
            into the new, empty directory ``dest``, possibly while a server runs,
            and returns a JSON-able dict for the manifest: at least
            ``schema_version`` and ``files`` (names relative to ``dest``, which
            the kernel checksums). Raises ``StoreError`` with what to do instead
            when it cannot.
        restore: for ``stalwart-kernel restore DIR`` (optional):
            ``restore(kernel, source, described, force)`` returns an async
            context manager. Entering it checks and stages the copy (``described``
            is the dict ``backup`` returned, its files already verified) and
            raises ``StoreError`` if the target holds data and ``force`` is
            false; the kernel copies the blobs in the block; a clean exit makes
            the restored data current, atomically where the backend can.
    """

    kind: Literal["store", "blob", "events"]
    name: str
    open: Callable[[Kernel], AbstractAsyncContextManager[Any]]
    backup: Callable[[Kernel, Path], Awaitable[dict[str, Any]]] | None = None
    restore: (
        Callable[[Kernel, Path, Mapping[str, Any], bool], AbstractAsyncContextManager[None]] | None
    ) = None


@final
@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A ``stalwart-kernel <name> ...`` subcommand.

    Args:
        name: the subcommand word (``account``, ``queue``...).
        help: one line for ``--help``.
        configure: adds arguments (and nested subparsers) to its parser.
        run: ``async run(args, kernel) -> exit status``, run under ``trio.run``
            with a kernel that is configured but not serving; use
            ``async with kernel.open_backends():`` to reach the store.
    """

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Kernel], Awaitable[int]]


@final
@dataclass(frozen=True, slots=True)
class Credentials:
    """What a client presented to log in.

    Args:
        kind: ``password`` (a password or app password), ``token`` (a bearer
            token, e.g. from OAUTHBEARER or an HTTP ``Authorization`` header) or
            ``scram``: a SCRAM exchange asks for the user's stored keys (the SASL
            engine checks the client's proof itself), and a directory that knows
            the user answers ``AuthResult(ok=True, account=..., attributes=
            {"scram": keys})`` with one :class:`kernel.sasl.ScramKeys` or a list
            of them, one per hash (``kernel.login`` picks the mechanism's), or
            ``ok=False`` when the user may not log in now (disabled, throttled).
        username: the login name as given (``None`` for a bare token).
        secret: the password or token (empty for ``scram``).
        protocol: the protocol asking (``imap``, ``smtp``, ``http``...).
        remote: the client's IP address, for throttling and logs.
    """

    kind: Literal["password", "token", "scram"]
    username: str | None
    secret: str = field(repr=False)
    protocol: str
    remote: str


@final
@dataclass(frozen=True, slots=True)
class AuthResult:
    """A directory's answer about some :class:`Credentials`.

    ``ok`` false means the directory knows this login and refuses it (wrong
    secret, disabled account); a directory that does not know the login returns
    ``None`` instead, so the next one is asked.
    """

    ok: bool
    account: str | None = None
    reason: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
