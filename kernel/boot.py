"""Start-up resolution: which plugins to load and what configuration they get.

Implementation notes:

* Selection: ``--plugins`` if given, else the ``plugins`` list of the merged
  configuration. The selected plugins' ``stalwart_required_backends`` (plus the
  event bus, which the kernel always has) name the backend kinds; the
  configured backend of each kind (``store.backend``...) is found among the
  installed plugins' ``stalwart_register_backends`` and its plugin is loaded
  too. This runs on the raw tree, before validation, because the set of loaded
  plugins decides the schema.
* The schema covers every installed plugin: the sections of plugins that are
  installed but not loaded are ignored with a warning, so one conf.d serves any
  ``--plugins`` subset.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import pluggy

from kernel.config import (
    KERNEL_SECTIONS,
    Config,
    Diagnostic,
    RawConfig,
    Section,
    Severity,
    build_config,
)
from kernel.errors import ConfigError, PluginError
from kernel.pluginmanager import PluginCatalog, collect, make_plugin_manager, selected_names
from kernel.specs import BackendSpec

__all__ = ["BACKEND_KINDS", "build_kernel_config", "installed_sections", "resolve_plugins"]

#: Backend kinds in the order they are opened (and reverse order of closing).
BACKEND_KINDS = ("events", "blob", "store")


def _default_backend(kind: str) -> str:
    section = next(s for s in KERNEL_SECTIONS if s.name == kind)
    return str(section.options[0].default)


def configured_backend(raw: Mapping[str, Any], kind: str) -> str:
    """``<kind>.backend`` from the raw tree, or its default."""
    section = raw.get(kind)
    value = section.get("backend") if isinstance(section, Mapping) else None
    return value if isinstance(value, str) else _default_backend(kind)


def resolve_plugins(
    catalog: PluginCatalog, cli: Sequence[str] | None, raw: RawConfig
) -> tuple[dict[str, object], dict[str, str]]:
    """Load the selected plugins and the backend plugins they need.

    Returns:
        (plugin objects by name, backend name by required kind).

    Raises:
        PluginError: an unknown or broken plugin, or a required backend that no
            installed plugin provides.
    """
    configured = raw.data.get("plugins")
    names = selected_names(cli, configured if isinstance(configured, list) else [])
    modules = {name: catalog.load(name) for name in names}
    providers: dict[tuple[str, str], str] | None = None
    backends: dict[str, str] = {}
    # A backend's plugin may itself require backends (the SQLite store needs a
    # blob store): repeat until no newly loaded plugin asks for more.
    while True:
        pm = make_plugin_manager(modules)
        kinds = {"events", *itertools.chain.from_iterable(pm.hook.stalwart_required_backends())}
        unknown = kinds - set(BACKEND_KINDS)
        if unknown:
            raise PluginError(", ".join(sorted(unknown)), "is not a backend kind")
        wanted = {k: configured_backend(raw.data, k) for k in BACKEND_KINDS if k in kinds}
        if wanted == backends:
            return modules, backends
        backends = wanted
        for kind, name in backends.items():
            owner = _provider(pm, kind, name)
            if owner is None:
                if providers is None:
                    providers = _all_providers(catalog)
                owner = providers.get((kind, name))
            if owner is None:
                raise PluginError(
                    f"{kind}.backend={name}",
                    f"no installed plugin provides the {kind} backend {name!r} "
                    f"(installed: {', '.join(catalog.names()) or 'none'})",
                )
            if owner not in modules and owner != "kernel.builtin":
                modules[owner] = catalog.load(owner)


def _provider(pm: pluggy.PluginManager, kind: str, name: str) -> str | None:
    for plugin, spec in collect(pm, "stalwart_register_backends"):
        if isinstance(spec, BackendSpec) and (spec.kind, spec.name) == (kind, name):
            return plugin
    return None


def _all_providers(catalog: PluginCatalog) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    found, _problems = catalog.collect_installed("stalwart_register_backends")
    for plugin, spec in found:
        out.setdefault((spec.kind, spec.name), plugin)
    return out


def installed_sections(catalog: PluginCatalog) -> tuple[list[Section], list[Diagnostic]]:
    """Sections of every installed plugin, and warnings for plugins that fail to load."""
    found, problems = catalog.collect_installed("stalwart_register_config_sections")
    warnings = [Diagnostic(Severity.WARNING, problem, ("plugins",)) for problem in problems]
    return [section for _, section in found], warnings


def build_kernel_config(
    catalog: PluginCatalog, pm: pluggy.PluginManager, loaded: Sequence[str], raw: RawConfig
) -> Config:
    """Validate ``raw`` for the loaded plugins, then run their own checks.

    Raises:
        ConfigError: every error (schema and ``stalwart_config_validate``).
    """
    plugin_sections, warnings = installed_sections(catalog)
    loaded_set = set(loaded)
    sections = [*KERNEL_SECTIONS, *(s for s in plugin_sections if s.plugin in loaded_set)]
    unloaded = {s.name: str(s.plugin) for s in plugin_sections if s.plugin not in loaded_set}
    config = build_config(raw, sections, unloaded=unloaded, extra=warnings)
    found = list(itertools.chain.from_iterable(pm.hook.stalwart_config_validate(config=config)))
    if any(d.is_error for d in found):
        raise ConfigError([*config.warnings, *found])
    return config.with_warnings(found) if found else config
