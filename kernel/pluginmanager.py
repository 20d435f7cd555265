"""Plugin discovery, selection and the rules for calling hooks.

Implementation notes:

* Plugins are found only through entry points of the group
  ``stalwart_kernel.plugins`` (built-ins too); :class:`PluginCatalog` lists them
  and imports each on first need. A plugin module must have no import-time side
  effects, since the catalog imports every installed plugin to assemble the
  configuration schema, the CLI and the backend list.
* One ``pluggy.PluginManager`` per :class:`~kernel.lifecycle.Kernel`, never
  global. It holds the kernel's own hook implementations (:data:`ESSENTIAL`),
  the selected plugins and the backends they need.
* :func:`call_async_hook` is the one strict helper for hooks that return async
  callables (shape 2 in :mod:`kernel.hookspecs`).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, final

import pluggy

from kernel import hookspecs
from kernel.errors import PluginError

__all__ = [
    "ENTRY_POINT_GROUP",
    "ESSENTIAL",
    "PluginCatalog",
    "PluginInfo",
    "call_async_hook",
    "collect",
    "make_plugin_manager",
]

ENTRY_POINT_GROUP = "stalwart_kernel.plugins"
#: The kernel's own hook implementations, registered in every manager.
ESSENTIAL: tuple[str, ...] = ("kernel.builtin",)


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """What ``stalwart-kernel plugins`` shows about one installed plugin."""

    name: str
    distribution: str
    version: str
    module: object | None
    error: str | None = None
    hooks: tuple[str, ...] = ()


@final
class PluginCatalog:
    """Every installed plugin, imported on first need.

    Args:
        extra: plugin objects by name that are not installed distributions (the
            test harness registers throwaway plugins this way).
    """

    def __init__(self, extra: Mapping[str, object] | None = None) -> None:
        self._entry_points = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
        self._extra = dict(extra or {})
        self._loaded: dict[str, object] = {}
        self._errors: dict[str, str] = {}

    def names(self) -> list[str]:
        """Names of every installed plugin, sorted."""
        return sorted({*self._entry_points, *self._extra})

    def load(self, name: str) -> object:
        """Import plugin ``name``.

        Raises:
            PluginError: the name is not installed (the message lists what is), or
                importing it raised (the message names the exception).
        """
        if name in self._extra:
            return self._extra[name]
        if name in self._loaded:
            return self._loaded[name]
        if name not in self._entry_points:
            installed = ", ".join(self.names()) or "none"
            raise PluginError(name, f"is not installed (installed plugins: {installed})")
        if name in self._errors:
            raise PluginError(name, self._errors[name])
        try:
            module = self._entry_points[name].load()
        except Exception as exc:  # any import failure is the plugin's, reported by name
            self._errors[name] = f"failed to load: {type(exc).__name__}: {exc}"
            raise PluginError(name, self._errors[name]) from exc
        self._loaded[name] = module
        return module

    def load_all(self) -> tuple[dict[str, object], dict[str, str]]:
        """Import every plugin; returns (modules by name, load errors by name)."""
        modules: dict[str, object] = {}
        errors: dict[str, str] = {}
        for name in self.names():
            try:
                modules[name] = self.load(name)
            except PluginError as exc:
                errors[name] = str(exc)
        return modules, errors

    def collect_installed(self, hook: str) -> tuple[list[tuple[str, Any]], list[str]]:
        """Call a registration hook on every installed plugin, each on its own.

        Returns ``(plugin name, item)`` pairs as :func:`collect` does, and the
        errors of plugins that failed to load or register (one broken plugin
        must not hide the others).
        """
        modules, errors = self.load_all()
        found: list[tuple[str, Any]] = []
        problems = list(errors.values())
        for name, module in modules.items():
            try:
                pm = make_plugin_manager({name: module})
            except PluginError as exc:
                problems.append(str(exc))
                continue
            found.extend(pair for pair in collect(pm, hook) if pair[0] == name)
        return found, problems

    def info(self) -> list[PluginInfo]:
        """Every installed plugin with its distribution, version and hooks."""
        out = []
        for name in self.names():
            ep = self._entry_points.get(name)
            dist = ep.dist if ep is not None else None
            try:
                module = self.load(name)
                error = None
            except PluginError as exc:
                module, error = None, str(exc)
            hooks = tuple(
                sorted(
                    attr
                    for attr in dir(module)
                    if attr.startswith("stalwart_")
                    and hasattr(getattr(module, attr), f"{hookspecs.PROJECT}_impl")
                )
            )
            out.append(
                PluginInfo(
                    name=name,
                    distribution=dist.metadata["Name"] if dist else "in-process",
                    version=dist.version if dist else "-",
                    module=module,
                    error=error,
                    hooks=hooks,
                )
            )
        return out


def make_plugin_manager(plugins: Mapping[str, object]) -> pluggy.PluginManager:
    """A fresh manager with the kernel's hooks, :data:`ESSENTIAL` and ``plugins``.

    Raises:
        PluginError: a plugin implements a hook that does not exist or with
            arguments the spec does not have (pluggy's validation).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in ESSENTIAL:
        pm.register(importlib.import_module(name), name=name)
    for name, plugin in plugins.items():
        try:
            pm.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            raise PluginError(name, str(exc)) from exc
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(getattr(exc, "plugin_name", "?"), str(exc)) from exc
    return pm


def collect(pm: pluggy.PluginManager, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call a list-returning hook and attribute each item to its plugin.

    Returns ``(plugin name, item)`` pairs in call order; for ``Section`` items the
    ``plugin`` field is filled in. Hook wrappers are not involved: registration
    hooks have none.
    """
    out: list[tuple[str, Any]] = []
    caller = getattr(pm.hook, hook)
    for impl in reversed(caller.get_hookimpls()):
        if impl.hookwrapper or impl.wrapper:
            continue
        items = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        for item in items or ():
            if dataclasses.is_dataclass(item) and hasattr(item, "plugin") and item.plugin is None:
                item = dataclasses.replace(item, plugin=impl.plugin_name)
            out.append((impl.plugin_name, item))
    return out


async def call_async_hook(caller: pluggy.HookCaller, *, first: bool = True, **kwargs: Any) -> Any:
    """Call a shape-2 hook: await each returned callable in plugin order.

    Args:
        caller: ``pm.hook.<name>``.
        first: stop at, and return, the first result that is not ``None``
            (the documented rule); with ``first=False`` every callable is awaited
            and the results are returned as a list.

    Raises:
        PluginError: an implementation returned something other than ``None`` or
            a callable that gives a coroutine.
    """
    results: list[Any] = []
    for fn in caller(**kwargs):
        if fn is None:
            continue
        value = await _await_strict(fn, caller.name)
        if first and value is not None:
            return value
        results.append(value)
    return None if first else results


async def _await_strict(fn: Any, hook: str) -> Any:
    owner = getattr(fn, "__module__", None) or type(fn).__module__
    if not callable(fn):
        raise PluginError(owner, f"{hook} must return an async callable or None, not {fn!r}")
    awaitable = fn()
    if not inspect.isawaitable(awaitable):
        raise PluginError(owner, f"{hook} returned {fn!r}, whose call did not give a coroutine")
    return await awaitable


def selected_names(cli: Sequence[str] | None, configured: Iterable[str]) -> list[str]:
    """``--plugins`` if given (comma lists already split), else the config list."""
    names = list(cli) if cli is not None else list(configured)
    return list(dict.fromkeys(n.strip() for n in names if n.strip()))
