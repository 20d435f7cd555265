"""The set of running listeners and how a configuration change reaches it.

Theory of operation (STYLE.md §1.7: reload swaps only a fully built config):

* :meth:`ListenerSet.prepare` works off to the side: it turns the candidate
  configuration into :class:`ListenerConfig` records, checks them against the
  loaded protocols, builds TLS contexts and binds the sockets of every listener
  that is new or whose addresses changed. Any error closes what it bound and
  raises :class:`~kernel.errors.ConfigError`; nothing running was touched.
* :meth:`ListenerSet.commit` then stops removed or re-bound listeners (their
  live sessions carry on in the session nursery), updates the others in place
  and starts the new ones.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, final

import trio

from kernel.config import Config, Diagnostic, Severity
from kernel.errors import ConfigError
from kernel.net.listener import Listener, ListenerConfig
from kernel.net.tls import (
    CertificateSpec,
    TLSConfigError,
    build_server_context,
    generate_self_signed,
)

if TYPE_CHECKING:
    from kernel.lifecycle import Kernel
    from kernel.specs import ProtocolSpec

__all__ = ["ListenerPlan", "ListenerSet"]


@dataclass
class ListenerPlan:
    """What :meth:`ListenerSet.commit` will do; built by ``prepare``."""

    wanted: dict[str, ListenerConfig] = field(default_factory=dict)
    contexts: dict[str, ssl.SSLContext | None] = field(default_factory=dict)
    bound: dict[str, Listener] = field(default_factory=dict)
    warnings: list[Diagnostic] = field(default_factory=list)


@final
class ListenerSet(Mapping[str, Listener]):
    """The running listeners by name (a read-only mapping)."""

    def __init__(self, kernel: Kernel, protocols: Mapping[str, ProtocolSpec]) -> None:
        self._kernel = kernel
        self._protocols = dict(protocols)
        self._running: dict[str, Listener] = {}

    def __getitem__(self, name: str) -> Listener:
        return self._running[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._running)

    def __len__(self) -> int:
        return len(self._running)

    async def prepare(self, config: Config, *, bind: bool = True) -> ListenerPlan:
        """Validate, build TLS and bind for ``config`` without touching what runs.

        With ``bind=False`` (``config check``) nothing is bound and no
        self-signed certificate is generated; configured certificates are loaded.

        Raises:
            ConfigError: every problem found (after closing sockets it bound).
        """
        plan = ListenerPlan()
        errors: list[Diagnostic] = []
        for name, options in config.listeners.items():
            where = config.location(("listeners", name))
            try:
                listener = ListenerConfig.from_options(name, options)
            except ValueError as exc:
                errors.append(Diagnostic(Severity.ERROR, str(exc), ("listeners", name), where))
                continue
            if not listener.enabled:
                continue
            spec = self._protocols.get(listener.protocol)
            if spec is None:
                plan.warnings.append(
                    Diagnostic(
                        Severity.WARNING,
                        f"no loaded plugin serves protocol {listener.protocol!r}; not listening",
                        ("listeners", name, "protocol"),
                        config.location(("listeners", name, "protocol")),
                    )
                )
                continue
            errors.extend(_check_listener(config, listener, spec))
            plan.wanted[name] = listener
        if not errors and (bind or config["tls"]["certificates"]):
            errors.extend(await self._build_contexts(config, plan))
        if not errors and bind:
            errors.extend(await self._bind(config, plan))
        if errors:
            await self.abort(plan)
            raise ConfigError(errors)
        return plan

    async def abort(self, plan: ListenerPlan) -> None:
        """Close the sockets ``prepare`` bound for a plan that will not be committed."""
        for listener in plan.bound.values():
            await listener.close_unstarted()
        plan.bound.clear()

    async def commit(self, plan: ListenerPlan, nursery: trio.Nursery) -> None:
        """Make ``plan`` the running set; ``nursery`` hosts new accept loops."""
        for name in list(self._running):
            if name not in plan.wanted or name in plan.bound:
                self._running.pop(name).stop()
        for name, listener_config in plan.wanted.items():
            if name in self._running:
                self._running[name].update(
                    listener_config, self._protocols[listener_config.protocol], plan.contexts[name]
                )
        for name, listener in plan.bound.items():
            await nursery.start(listener.serve, self._kernel.session_nursery)
            self._running[name] = listener
            for host, port in listener.addresses:
                self._kernel.logger("net").info(
                    "listening",
                    listener=name,
                    protocol=listener.protocol.name,
                    address=f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
                    tls=listener.config.tls,
                )
        plan.bound = {}

    def stop_all(self) -> None:
        """Stop accepting on every listener; sessions carry on."""
        for listener in self._running.values():
            listener.stop()
        self._running.clear()

    async def _build_contexts(self, config: Config, plan: ListenerPlan) -> list[Diagnostic]:
        tls = config["tls"]
        needs_tls = [lc for lc in plan.wanted.values() if lc.tls != "none"]
        for lc in plan.wanted.values():
            plan.contexts[lc.name] = None
        if not needs_tls:
            return []
        try:
            certificates = await trio.to_thread.run_sync(self._certificates, config)
        except TLSConfigError as exc:
            return [
                Diagnostic(
                    Severity.ERROR,
                    str(exc),
                    ("tls", "certificates"),
                    config.location(("tls", "certificates")),
                )
            ]
        errors: list[Diagnostic] = []
        cache: dict[tuple[tuple[str, ...], tuple[str, ...]], ssl.SSLContext] = {}
        for lc in needs_tls:
            names = lc.certificates or tuple(c.name for c in certificates)
            chosen = [c for name in names for c in certificates if c.name == name]
            unknown = sorted(set(names) - {c.name for c in certificates})
            path = ("listeners", lc.name, "certificates")
            if unknown:
                errors.append(
                    Diagnostic(
                        Severity.ERROR,
                        f"unknown certificate(s): {unknown}",
                        path,
                        config.location(path),
                    )
                )
                continue
            alpn = self._protocols[lc.protocol].alpn
            key = (names, alpn)
            if key not in cache:
                try:
                    cache[key] = await trio.to_thread.run_sync(
                        functools.partial(
                            build_server_context,
                            chosen,
                            min_version=tls["min_version"],
                            ciphers=tls["ciphers"],
                            alpn=alpn,
                        )
                    )
                except TLSConfigError as exc:
                    errors.append(
                        Diagnostic(Severity.ERROR, str(exc), ("tls",), config.location(("tls",)))
                    )
                    continue
            plan.contexts[lc.name] = cache[key]
        return errors

    def _certificates(self, config: Config) -> list[CertificateSpec]:
        configured = config["tls"]["certificates"]
        if configured:
            return [
                CertificateSpec(
                    name=name,
                    cert_pem=entry["cert"],
                    key_pem=entry["key"],
                    names=tuple(entry.get("names", ())),
                )
                for name, entry in configured.items()
            ]
        names = list(config["tls"]["self_signed_names"])
        if self._kernel.hostname not in names:
            names.insert(0, self._kernel.hostname)
        return [generate_self_signed(self._kernel.data_dir / "tls", names)]

    async def _bind(self, config: Config, plan: ListenerPlan) -> list[Diagnostic]:
        errors: list[Diagnostic] = []
        for name, lc in plan.wanted.items():
            current = self._running.get(name)
            if current is not None and current.config.binds == lc.binds:
                continue
            sockets: list[trio.SocketListener] = []
            try:
                for host, port in lc.binds:
                    sockets.extend(await trio.open_tcp_listeners(port, host=host))
            except OSError as exc:
                for sock in sockets:
                    await sock.aclose()
                path = ("listeners", name, "bind")
                errors.append(
                    Diagnostic(
                        Severity.ERROR,
                        f"cannot bind: {exc.strerror or exc}",
                        path,
                        config.location(path),
                    )
                )
                continue
            plan.bound[name] = Listener(
                self._kernel, lc, self._protocols[lc.protocol], sockets, plan.contexts[name]
            )
        return errors


def _check_listener(config: Config, lc: ListenerConfig, spec: ProtocolSpec) -> list[Diagnostic]:
    out = []
    base = ("listeners", lc.name)
    if lc.tls not in spec.tls_modes:
        out.append(
            Diagnostic(
                Severity.ERROR,
                f"protocol {spec.name} does not support tls: {lc.tls} "
                f"(supported: {', '.join(sorted(spec.tls_modes))})",
                (*base, "tls"),
                config.location((*base, "tls")),
            )
        )
    if lc.role is not None and lc.role not in spec.roles:
        allowed = ", ".join(sorted(spec.roles)) or "none"
        out.append(
            Diagnostic(
                Severity.ERROR,
                f"protocol {spec.name} has no role {lc.role!r} (roles: {allowed})",
                (*base, "role"),
                config.location((*base, "role")),
            )
        )
    return out
