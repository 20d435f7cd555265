"""The :class:`Kernel`: plugins, configuration, backends and listeners in one nursery.

Theory of operation: ``Kernel(...)`` resolves plugins and builds the
configuration synchronously (errors surface before anything binds). ``run()``
then prepares listeners (binding sockets), opens backends, starts plugin
services, commits the listeners and reports started. A stop request (SIGTERM,
SIGINT, :meth:`Kernel.request_stop`) stops accepting, lets sessions finish
until ``server.shutdown_timeout``, cancels the rest, runs shutdown hooks,
cancels services and closes backends. Reloads (SIGHUP, a changed file,
:meth:`Kernel.reload`) build a candidate configuration off to the side and swap
it in only if it is valid and its listeners bound.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, final

import trio

from kernel.boot import BACKEND_KINDS, build_kernel_config, resolve_plugins
from kernel.config import Config, Diagnostic, config_layers, load_layers
from kernel.config.watch import snapshot_files
from kernel.errors import ConfigError, KernelError, PluginError
from kernel.events import EventBus
from kernel.net.limits import ConnectionCounter
from kernel.net.listeners import ListenerSet
from kernel.pluginmanager import PluginCatalog, call_async_hook, collect, make_plugin_manager
from kernel.specs import AuthResult, BackendSpec, Credentials, ProtocolSpec
from kernel.stash import Stash
from kernel.store import Store
from kernel.telemetry import Metrics, StructuredLogger, configure_logging, get_logger

__all__ = ["Kernel", "ReloadResult"]


@final
@dataclass(frozen=True, slots=True)
class ReloadResult:
    """The outcome of :meth:`Kernel.reload`: applied or refused, and why."""

    ok: bool
    diagnostics: tuple[Diagnostic, ...]


def freeze_startup_objects() -> None:
    """Exempt what start-up allocated from the cyclic collector's full passes.

    For a process that serves one kernel (``stalwart-kernel serve``), called once
    the kernel is constructed: its modules, plugins and configuration (about
    110,000 tracked objects) move to the permanent generation, so a full
    (generation 2) collection walks only what serving allocates. Under a 1 KB x 20
    SMTP load each full pass held the event loop for about 55 ms before and about
    1 ms after. Not for a process that starts many kernels (tests): frozen
    objects are never collected.
    """
    gc.collect()
    gc.freeze()


@final
class Kernel:
    """One server instance.

    Args:
        data_dir: where data lives (``--data``): the store, blobs, TLS material.
        config_dir: the site configuration directory (``--config``).
        plugins: plugin names (``--plugins``); ``None`` uses the config's list.
        extra_plugins: plugin objects by name that are not installed
            distributions (for tests; they are selectable like installed ones).
        environ: environment for ``${env:...}`` and the config search order.
        system_config: whether ``/etc/stalwart-kernel`` may be used.
        layers: the exact configuration directories to merge, replacing the
            search order (packaged defaults included); for tests.
        handle_signals: install SIGTERM/SIGINT/SIGHUP handling in :meth:`run`
            (the CLI does; tests in-process do not).

    Raises:
        PluginError: an unknown or broken plugin or a missing backend.
        ConfigError: an invalid configuration (every problem listed).
    """

    def __init__(
        self,
        *,
        data_dir: Path | str = "var",
        config_dir: Path | str | None = None,
        plugins: Sequence[str] | None = None,
        extra_plugins: Mapping[str, object] | None = None,
        environ: Mapping[str, str] | None = None,
        system_config: bool = True,
        layers: Sequence[Path] | None = None,
        handle_signals: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir)
        self._environ = dict(os.environ if environ is None else environ)
        self.layers = (
            list(layers)
            if layers is not None
            else config_layers(
                Path(config_dir) if config_dir is not None else None,
                self._environ,
                system=system_config,
            )
        )
        self.catalog = PluginCatalog(extra_plugins)
        raw = load_layers(self.layers, self._environ)
        modules, self.backend_names = resolve_plugins(self.catalog, plugins, raw)
        self.plugin_names: tuple[str, ...] = tuple(modules)
        self.pm = make_plugin_manager(modules)
        self.config: Config = build_kernel_config(self.catalog, self.pm, self.plugin_names, raw)
        self.stash = Stash()
        self.metrics = Metrics()
        self.metrics_connections = self.metrics.counter(
            "connections", "Connections accepted.", ("listener", "protocol")
        )
        self.metrics_refused = self.metrics.counter(
            "connections_refused", "Connections refused by a limit.", ("listener", "limit")
        )
        self.metrics_reloads = self.metrics.counter(
            "config_reloads", "Configuration reloads.", ("result",)
        )
        self.connection_counter = ConnectionCounter()
        self.listeners = ListenerSet(self, self._protocols())
        self._handle_signals = handle_signals
        self._backends: dict[str, Any] = {}
        self._store: Store | None = None
        self._stop = trio.Event()
        self._draining = trio.Event()
        self._reload_lock = trio.Lock()
        self._accept_nursery: trio.Nursery | None = None
        self._session_nursery: trio.Nursery | None = None

    # ---- public API ------------------------------------------------------

    @property
    def hostname(self) -> str:
        """``server.hostname`` or the machine's host name."""
        return self.config["server"]["hostname"] or socket.gethostname()

    @property
    def draining(self) -> bool:
        """True once shutdown began: listeners stopped, sessions should finish."""
        return self._draining.is_set()

    async def wait_draining(self) -> None:
        """Wait until shutdown begins."""
        await self._draining.wait()

    @property
    def session_nursery(self) -> trio.Nursery:
        """The nursery every connection's task runs in (while running)."""
        if self._session_nursery is None:
            raise KernelError("the kernel is not running")
        return self._session_nursery

    @property
    def events(self) -> EventBus:
        """The change-notification bus (open while running or in open_backends)."""
        return self.backend("events")

    @property
    def store(self) -> Store:
        """The store's domain API (open while running or in ``open_backends``)."""
        if self._store is None:
            raise KernelError("the store is not open (no loaded plugin requires it?)")
        return self._store

    def backend(self, kind: str) -> Any:
        """The open backend of ``kind`` (``store``, ``blob``, ``events``)."""
        try:
            return self._backends[kind]
        except KeyError:
            raise KernelError(f"no open {kind} backend") from None

    def logger(self, component: str, **fields: object) -> StructuredLogger:
        """A structured logger for ``component`` (``net``, ``imap``...)."""
        return get_logger(component, **fields)

    def request_stop(self) -> None:
        """Begin a graceful shutdown (as SIGTERM does). Idempotent."""
        self._stop.set()

    async def authenticate(self, credentials: Credentials) -> AuthResult:
        """Ask the directories (``stalwart_authenticate``); unknown logins fail."""
        result = await call_async_hook(
            self.pm.hook.stalwart_authenticate, kernel=self, credentials=credentials
        )
        return result if result is not None else AuthResult(ok=False, reason="unknown user")

    @asynccontextmanager
    async def open_backends(self) -> AsyncIterator[Kernel]:
        """Open the required backends (events, blob, store) for the block."""
        specs = {
            (spec.kind, spec.name): spec
            for _, spec in collect(self.pm, "stalwart_register_backends")
            if isinstance(spec, BackendSpec)
        }
        async with AsyncExitStack() as stack:
            for kind in BACKEND_KINDS:
                if kind in self.backend_names:
                    spec = specs[(kind, self.backend_names[kind])]
                    self._backends[kind] = await stack.enter_async_context(spec.open(self))
            if "store" in self._backends:
                self._store = Store(
                    self._backends["store"],
                    events=self._backends["events"],
                    blobs=self._backends.get("blob"),
                    inline_limit=self.config["store"]["inline_limit"],
                )
            try:
                yield self
            finally:
                self._backends.clear()
                self._store = None

    async def reload(self) -> ReloadResult:
        """Re-read configuration; apply it only if entirely valid.

        Returns the diagnostics either way; a refused reload leaves everything
        as it was and logs every error.
        """
        log = self.logger("config")
        async with self._reload_lock:
            try:
                raw = await trio.to_thread.run_sync(load_layers, self.layers, self._environ)
                new = build_kernel_config(self.catalog, self.pm, self.plugin_names, raw)
                plan = await self.listeners.prepare(new)
            except ConfigError as exc:
                for diagnostic in exc.diagnostics:
                    log.error("reload-refused", problem=str(diagnostic))
                self.metrics_reloads.labels("refused").inc()
                return ReloadResult(ok=False, diagnostics=tuple(exc.diagnostics))
            old, self.config = self.config, new
            self._configure_logging()
            assert self._accept_nursery is not None
            await self.listeners.commit(plan, self._accept_nursery)
            warnings = [*new.warnings, *plan.warnings, *_restart_warnings(old, new, self)]
            for diagnostic in warnings:
                log.warning("config-warning", problem=str(diagnostic))
            self.metrics_reloads.labels("applied").inc()
            log.info("reloaded", files=len(new.files))
            try:
                await call_async_hook(
                    self.pm.hook.stalwart_config_changed,
                    first=False,
                    kernel=self,
                    old=old,
                    new=new,
                )
            except Exception:
                log.exception("config-changed-hook-failed")
            return ReloadResult(ok=True, diagnostics=tuple(warnings))

    async def run(self, *, task_status: trio.TaskStatus[Kernel] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until a stop request, then drain and return.

        Raises:
            ConfigError: listeners could not be set up (bind failed...).
            PluginError: a plugin's service failed to start.
        """
        self._configure_logging()
        log = self.logger("kernel")
        for diagnostic in self.config.warnings:
            log.warning("config-warning", problem=str(diagnostic))
        plan = await self.listeners.prepare(self.config)
        for diagnostic in plan.warnings:
            log.warning("config-warning", problem=str(diagnostic))
        try:
            async with self.open_backends(), trio.open_nursery() as services:
                if self._handle_signals:
                    await services.start(self._signal_loop)
                for start in self.pm.hook.stalwart_startup(kernel=self):
                    if start is not None:
                        if not callable(start):
                            raise PluginError(
                                getattr(start, "__module__", "?"),
                                "stalwart_startup must return a callable or None",
                            )
                        await services.start(start)
                async with trio.open_nursery() as sessions:
                    self._session_nursery = sessions
                    async with trio.open_nursery() as accept:
                        self._accept_nursery = accept
                        await self.listeners.commit(plan, accept)
                        await services.start(self._watch_config)
                        if self._store is not None:
                            services.start_soon(self._maintain_store)
                        log.info(
                            "started",
                            plugins=",".join(self.plugin_names) or "-",
                            data=str(self.data_dir),
                        )
                        task_status.started(self)
                        await self._stop.wait()
                        log.info("stopping")
                        self.listeners.stop_all()
                        accept.cancel_scope.cancel()
                    # Every listening socket is closed now.
                    self._draining.set()
                    log.info("draining", sessions=len(sessions.child_tasks))
                    sessions.cancel_scope.deadline = (
                        trio.current_time() + self.config["server"]["shutdown_timeout"]
                    )
                with trio.move_on_after(self.config["server"]["shutdown_timeout"]):
                    await call_async_hook(self.pm.hook.stalwart_shutdown, first=False, kernel=self)
                services.cancel_scope.cancel()
        finally:
            await self.listeners.abort(plan)
            self._accept_nursery = self._session_nursery = None
        log.info("stopped")

    # ---- internals -------------------------------------------------------

    def _protocols(self) -> dict[str, ProtocolSpec]:
        protocols: dict[str, ProtocolSpec] = {}
        for plugin, spec in collect(self.pm, "stalwart_register_protocols"):
            if spec.name in protocols:
                raise PluginError(plugin, f"protocol {spec.name!r} is already provided")
            protocols[spec.name] = spec
        return protocols

    def _configure_logging(self) -> None:
        logging_config = self.config["logging"]
        configure_logging(
            format=logging_config["format"],
            level=logging_config["level"],
            components=logging_config["components"],
        )

    async def _maintain_store(self) -> None:
        """Prune the change log and collect unreferenced blobs, every interval."""
        log = self.logger("store")
        while True:
            options = self.config["store"]
            await trio.sleep(options["maintenance_interval"])
            try:
                await self.store.maintain(retention=options["change_retention"], now=time.time())
            except Exception as exc:  # housekeeping failing must not stop the server
                log.error("maintenance-failed", error=repr(exc))

    async def _watch_config(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Reload when a configuration file or an included file changes."""
        known = await trio.to_thread.run_sync(snapshot_files, self.layers, self.config.files)
        task_status.started()
        while True:
            await trio.sleep(self.config["config"]["poll_interval"])
            if not self.config["config"]["watch"]:
                continue
            current = await trio.to_thread.run_sync(snapshot_files, self.layers, self.config.files)
            if current != known:
                self.logger("config").info("change-detected")
                await self.reload()
                known = await trio.to_thread.run_sync(
                    snapshot_files, self.layers, self.config.files
                )

    async def _signal_loop(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        log = self.logger("kernel")
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
            task_status.started()
            async for signum in signals:
                if signum == signal.SIGHUP:
                    log.info("signal", signal="SIGHUP")
                    await self.reload()
                elif self._stop.is_set() and self._session_nursery is not None:
                    log.warning("signal-again", signal=signal.Signals(signum).name)
                    self._session_nursery.cancel_scope.cancel()  # a second one: stop now
                else:
                    log.info("signal", signal=signal.Signals(signum).name)
                    self.request_stop()


def _restart_warnings(old: Config, new: Config, kernel: Kernel) -> list[Diagnostic]:
    out = []
    if tuple(new.plugins) != tuple(old.plugins):
        out.append(new.diagnostic("plugins", "the plugin list changes at the next restart"))
    for kind in BACKEND_KINDS:
        if new[kind]["backend"] != old[kind]["backend"]:
            out.append(new.diagnostic(f"{kind}.backend", "a backend changes at the next restart"))
    return [Diagnostic(d.severity.WARNING, d.message, d.path, d.location) for d in out]
