"""THE plugin contract: every hook the kernel calls, documented.

Plugins implement hooks with ``@kernel.hookimpl`` on functions of the module
their entry point (group ``stalwart_kernel.plugins``) names. pluggy calls hooks
synchronously and cannot await (pluggy issue #320), so every hook has one of
three shapes (STYLE.md §1.3):

1. ``stalwart_register_*`` returns a list of specs (:mod:`kernel.specs`);
   results of all plugins are concatenated.
2. The hook returns an *async callable* or ``None``; the kernel awaits the
   callables **one after another in plugin order** (pluggy's call order: last
   registered first, ``tryfirst``/``trylast`` respected) and **the first result
   that is not ``None`` wins**: later callables are not awaited. Callables that
   only act (lifecycle) return ``None`` and so all run. A hook that returns
   anything else than ``None`` or a callable whose call gives a coroutine is a
   :class:`~kernel.errors.PluginError`.
3. Cheap synchronous decision hooks that do no I/O.

Every hook's docstring says when it is called, with what, what it returns and
how several plugins' results combine. ``docs/reference/hooks.md`` is generated
from these docstrings (``make docs``) and a test keeps it in step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import quart_trio

    from kernel.config import Config, Diagnostic, Section
    from kernel.lifecycle import Kernel
    from kernel.pipeline import DeliveryTarget, Envelope, SessionInfo, Verdict
    from kernel.specs import AuthResult, BackendSpec, CommandSpec, Credentials, ProtocolSpec

PROJECT = "stalwart"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

# --------------------------------------------------------------------------
# Registration
# --------------------------------------------------------------------------


@hookspec
def stalwart_register_config_sections() -> list[Section]:
    """Contribute this plugin's configuration section(s) to the schema.

    *When called:* once per configuration load (start, every reload, ``config
    check``, ``config schema``), on every *installed* plugin, loaded or not, so
    the schema covers them all; a section of a plugin that is installed but not
    loaded is ignored with a warning.

    :returns: a list of :class:`~kernel.config.Section`; results of all plugins
        are concatenated. Two plugins claiming one section name is an error.
    *May block:* no; return static option records.
    *Since:* 0.1
    """


@hookspec
def stalwart_register_protocols() -> list[ProtocolSpec]:
    """Provide connection handlers by protocol name.

    *When called:* once at start, on loaded plugins. Listeners whose
    ``protocol`` matches a spec's name hand each accepted connection to
    ``spec.serve(conn)``; a listener whose protocol nobody provides is a warning
    and is not bound.

    :returns: a list of :class:`~kernel.specs.ProtocolSpec`; concatenated. Two
        plugins providing one protocol name is an error.
    *May block:* no.
    *Since:* 0.1
    """


@hookspec
def stalwart_register_backends() -> list[BackendSpec]:
    """Provide store, blob-store or event-bus backends.

    *When called:* at start, on every installed plugin, to find the plugin that
    provides the backend named by ``store.backend``, ``blob.backend`` or
    ``events.backend``; that plugin is then loaded even if ``--plugins`` did not
    name it.

    :returns: a list of :class:`~kernel.specs.BackendSpec`; concatenated. Two
        plugins providing one (kind, name) is an error.
    *May block:* no; opening happens later, in ``spec.open(kernel)``.
    *Since:* 0.1
    """


@hookspec
def stalwart_required_backends() -> list[str]:
    """Name the backend kinds this plugin needs (``"store"``, ``"blob"``).

    *When called:* at start, on the plugins selected by ``--plugins`` or the
    ``plugins`` list, before configuration is validated. The kernel loads the
    plugin that provides each required kind's configured backend and opens it
    before listeners start; a required kind nobody provides fails start with the
    list of installed plugins.

    :returns: a list of kind names; the union over plugins is required.
    *May block:* no.
    *Since:* 0.1
    """


@hookspec
def stalwart_register_commands() -> list[CommandSpec]:
    """Add ``stalwart-kernel`` subcommands (``account``, ``queue``, ``rules``...).

    *When called:* once per CLI invocation, on every installed plugin, before
    arguments are parsed.

    :returns: a list of :class:`~kernel.specs.CommandSpec`; concatenated. A name
        that clashes with a kernel command or another plugin's is an error.
    *May block:* no.
    *Since:* 0.1
    """


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------


@hookspec
def stalwart_config_validate(config: Config) -> list[Diagnostic]:
    """Check rules the schema cannot express (cross-field, cross-section).

    *When called:* on loaded plugins, with a fully schema-valid candidate
    ``Config``, at start and on every reload *before* it replaces the running
    one; any error diagnostic keeps the old configuration.

    :param config: the candidate configuration.
    :returns: a list of :class:`~kernel.config.Diagnostic` (use
        ``config.location(path)`` for ``file:line``); concatenated.
    *May block:* no; do not open files or sockets here.
    *Since:* 0.1
    """


@hookspec
def stalwart_config_changed(
    kernel: Kernel, old: Config, new: Config
) -> Callable[[], Awaitable[None]] | None:
    """Learn that a reloaded configuration is now in force.

    *When called:* after a reload swapped ``kernel.config`` to ``new`` (and
    listeners were re-bound), on loaded plugins.

    :param kernel: the running kernel.
    :param old: the configuration that was replaced.
    :param new: the configuration now in force (``kernel.config is new``).
    :returns: an async callable (no arguments) or ``None``; all are awaited in
        plugin order (shape 2). An exception is logged with the plugin's hook;
        the new configuration stays.
    *May block:* no; put I/O in the returned callable.
    *Since:* 0.1
    """


# --------------------------------------------------------------------------
# Lifecycle
# --------------------------------------------------------------------------


@hookspec
def stalwart_startup(kernel: Kernel) -> Callable[..., Awaitable[None]] | None:
    """Start a long-running service inside the kernel's nursery.

    *When called:* once per run, on loaded plugins, after backends are open and
    before listeners accept.

    :param kernel: the starting kernel.
    :returns: ``None``, or an async callable ``fn(task_status)`` that the kernel
        starts with ``await nursery.start(fn)`` in plugin order: it must call
        ``task_status.started()`` once ready, may then run until cancelled, and
        is cancelled after sessions drained and shutdown hooks ran. An exception
        before ``started()`` fails start; after it, it stops the kernel.
    *May block:* no; put I/O in the returned callable.
    *Since:* 0.1
    """


@hookspec
def stalwart_shutdown(kernel: Kernel) -> Callable[[], Awaitable[None]] | None:
    """Flush and release resources at shutdown.

    *When called:* once per run, on loaded plugins, after listeners stopped and
    sessions drained (or were cancelled at ``server.shutdown_timeout``), before
    startup services are cancelled and backends closed.

    :param kernel: the stopping kernel.
    :returns: an async callable (no arguments) or ``None``; all are awaited in
        plugin order (shape 2), each under the remaining shutdown deadline.
    *May block:* no; put I/O in the returned callable.
    *Since:* 0.1
    """


# --------------------------------------------------------------------------
# Protocols and listeners
# --------------------------------------------------------------------------


@hookspec
def stalwart_mount_http(app: quart_trio.QuartTrio, kernel: Kernel) -> None:
    """Mount HTTP routes (JMAP, DAV, admin, well-known) on the shared app.

    *When called:* once per run, on loaded plugins, when the kernel builds the
    one quart-trio application served on every ``protocol: http`` listener.

    :param app: the application; register blueprints or routes on it.
    :param kernel: the kernel, for configuration and the store.
    :returns: nothing; every plugin is called.
    *May block:* no.
    *Since:* 0.1
    """


# --------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------


@hookspec
def stalwart_authenticate(
    kernel: Kernel, credentials: Credentials
) -> Callable[[], Awaitable[AuthResult | None]] | None:
    """Check a login against a directory.

    *When called:* by ``await kernel.authenticate(credentials)``, which every
    protocol uses after SASL or a login command, once per attempt.

    :param kernel: the running kernel.
    :param credentials: what the client presented.
    :returns: an async callable returning :class:`~kernel.specs.AuthResult`, or
        ``None`` when this plugin has no directory. Callables are awaited in
        plugin order and the first non-``None`` result wins (shape 2): a
        directory returns ``None`` for a login it does not know, so the next is
        asked; if none knows it, the login fails.
    *May block:* no; put directory I/O in the returned callable.
    *Since:* 0.1
    """


@hookspec
def stalwart_login_failed(kernel: Kernel, credentials: Credentials, reason: str) -> None:
    """Learn that a login failed after the directory had vouched for the user.

    *When called:* by :mod:`kernel.login` when a SASL exchange fails in the SASL
    engine after a directory answered a ``kind="scram"`` lookup (a wrong
    SCRAM-SHA-1 or SCRAM-SHA-256 proof: only the engine can tell), so that the directory counts
    the failure as it counts wrong passwords (throttling, fail2ban feeds).
    Failures a directory decided itself are not reported again.

    :param kernel: the running kernel.
    :param credentials: the lookup that preceded the failure (``secret`` empty).
    :param reason: a short reason (``invalid credentials``).
    :returns: nothing; every plugin is called.
    *May block:* no; record in memory only.
    *Since:* 0.1
    """


# --------------------------------------------------------------------------
# Telemetry
# --------------------------------------------------------------------------


@hookspec
def stalwart_connection_closed(
    kernel: Kernel, listener: str, protocol: str, remote: str, duration: float, error: str | None
) -> None:
    """Observe the end of every connection (accounting, fail2ban-style feeds).

    *When called:* once per accepted connection, on loaded plugins, after the
    protocol handler returned and the stream was closed.

    :param kernel: the running kernel.
    :param listener: the listener's name.
    :param protocol: the listener's protocol.
    :param remote: the client's IP address (after PROXY protocol).
    :param duration: seconds the connection was open.
    :param error: ``None`` for a normal end, else a short reason
        (``idle-timeout``, ``limit``, ``tls-handshake``, ``proxy-header``, or
        the exception type).
    :returns: nothing; every plugin is called.
    *May block:* no; it runs on the connection's task.
    *Since:* 0.1
    """


# --------------------------------------------------------------------------
# Delivery pipeline
# --------------------------------------------------------------------------
#
# Stage hooks of a mail transaction (kernel.pipeline). Each returns an async
# callable answering a Verdict (or None for "no opinion"), or None. Unlike
# shape 2's "first result wins", run_stage awaits every callable in plugin
# order until one rejects or tempfails; header edits accumulate and any
# quarantine quarantines the message.


@hookspec
def stalwart_inbound_connect(
    kernel: Kernel, session: SessionInfo
) -> Callable[[], Awaitable[Verdict | None]] | None:
    """Decide whether to talk to a client that just connected (before the greeting).

    *When called:* once per connection to a mail-accepting protocol (SMTP), on
    loaded plugins, after the protocol's own checks (rate limits) passed.

    :param kernel: the running kernel.
    :param session: the client's address, listener and role
        (:class:`~kernel.pipeline.SessionInfo`).
    :returns: an async callable answering a :class:`~kernel.pipeline.Verdict`
        or ``None``, or ``None``. Awaited in plugin order until one rejects
        (SMTP answers ``554`` and then only QUIT) or tempfails (``421`` and
        close); accepting verdicts' header edits apply to every message of the
        session.
    *May block:* no; put DNS or other I/O in the returned callable.
    *Since:* 0.1
    """


@hookspec
def stalwart_inbound_ehlo(
    kernel: Kernel, session: SessionInfo, helo: str
) -> Callable[[], Awaitable[Verdict | None]] | None:
    """Judge the client's EHLO/HELO name.

    *When called:* at every EHLO or HELO that passed the syntax checks, on
    loaded plugins.

    :param kernel: the running kernel.
    :param session: the client's session (``session.helo`` is the previous name).
    :param helo: the name the client gave.
    :returns: an async callable answering a :class:`~kernel.pipeline.Verdict`
        or ``None``, or ``None``; awaited in plugin order until one rejects or
        tempfails (the reply carries the verdict's code and text).
    *May block:* no; put I/O in the returned callable.
    *Since:* 0.1
    """


@hookspec
def stalwart_inbound_mail(
    kernel: Kernel, session: SessionInfo, envelope: Envelope
) -> Callable[[], Awaitable[Verdict | None]] | None:
    """Judge the reverse-path of a new transaction (SPF belongs here).

    *When called:* at every MAIL command the protocol's own policy accepted
    (authentication, SIZE, owned sender), on loaded plugins.

    :param kernel: the running kernel.
    :param session: the client's session.
    :param envelope: the new transaction (``sender``, ``parameters``; no
        recipients yet).
    :returns: an async callable answering a :class:`~kernel.pipeline.Verdict`
        or ``None``, or ``None``; awaited in plugin order until one rejects or
        tempfails (the MAIL command gets its code and text); accepting
        verdicts' header edits and quarantine apply to the message.
    *May block:* no; put I/O in the returned callable.
    *Since:* 0.1
    """


@hookspec
def stalwart_inbound_rcpt(
    kernel: Kernel, session: SessionInfo, envelope: Envelope, recipient: str
) -> Callable[[], Awaitable[Verdict | None]] | None:
    """Judge one recipient that the protocol's policy accepted (local, known, under quota).

    *When called:* at every RCPT command that passed the recipient policy, on
    loaded plugins.

    :param kernel: the running kernel.
    :param session: the client's session.
    :param envelope: the transaction so far (recipients accepted before this one).
    :param recipient: the address being added.
    :returns: an async callable answering a :class:`~kernel.pipeline.Verdict`
        or ``None``, or ``None``; awaited in plugin order until one rejects or
        tempfails (this RCPT gets its code and text; the transaction goes on).
    *May block:* no; put I/O in the returned callable.
    *Since:* 0.1
    """


@hookspec
def stalwart_inbound_data(
    kernel: Kernel, session: SessionInfo, envelope: Envelope, message: bytes
) -> Callable[[], Awaitable[Verdict | None]] | None:
    """Judge the message content once it is complete (DKIM, DMARC, spam and virus checks).

    *When called:* once per transaction at the end of DATA or BDAT LAST, after
    the protocol's size, newline and loop checks, before delivery; on loaded
    plugins.

    :param kernel: the running kernel.
    :param session: the client's session.
    :param envelope: the complete envelope.
    :param message: the message as received (no trace fields of ours yet).
    :returns: an async callable answering a :class:`~kernel.pipeline.Verdict`
        or ``None``, or ``None``; awaited in plugin order until one rejects or
        tempfails (the whole message is refused with its code and text).
        Accepting verdicts add or remove header fields; a quarantine files
        every local copy into the recipient's Junk mailbox.
    *May block:* no; put I/O in the returned callable.
    *Since:* 0.1
    """


@hookspec
def stalwart_before_delivery(
    kernel: Kernel,
    session: SessionInfo,
    envelope: Envelope,
    delivery: DeliveryTarget,
    message: bytes,
) -> Callable[[], Awaitable[Verdict | None]] | None:
    """Decide one local copy: where it goes, its header edits, or that it fails (Sieve, rules).

    *When called:* once per distinct local account of an accepted message,
    just before the copy is stored; copies are handled concurrently.

    :param kernel: the running kernel.
    :param session: the client's session.
    :param envelope: the complete envelope.
    :param delivery: the recipient, its account and the default mailbox
        (:class:`~kernel.pipeline.DeliveryTarget`).
    :param message: the message as received (without this copy's trace fields).
    :returns: an async callable answering a :class:`~kernel.pipeline.Verdict`
        or ``None``, or ``None``; awaited in plugin order until one rejects or
        tempfails, which fails this recipient only (SMTP then needs a
        non-delivery notification when others succeeded). ``Verdict.filings``
        picks the copies: mailboxes, keywords, ``:create`` (the first plugin
        to choose wins; ``Verdict.discard()`` stores none); a quarantine
        files into Junk.
    *May block:* no; put I/O in the returned callable.
    *Since:* 0.1
    """


# --------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------

if TYPE_CHECKING:
    from kernel.rules import RuleEngine


@hookspec
def stalwart_register_rule_engines() -> list[RuleEngine]:
    """Provide engines that run mail rule files (Sieve scripts, WASM modules).

    *When called:* by the ``stalwart-kernel rules test|replay`` commands, once
    per invocation, on every installed plugin, to find the engine for a rule
    file by its suffix (:func:`kernel.rules.engine_for`).

    :returns: a list of :class:`~kernel.rules.RuleEngine`; concatenated. The
        first engine claiming a suffix wins.
    *May block:* no; compiling happens later, in ``engine.load(path)``.
    *Since:* 0.1
    """
