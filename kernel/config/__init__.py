"""Configuration: conf.d fragments merged, validated and frozen into one :class:`Config`.

The flow is ``load_layers`` (read and merge YAML with locations), then
:func:`build_config` (validate against the assembled schema, fill defaults,
convert units, freeze). Reload (``kernel.config.reload``) runs the same flow off
to the side and swaps only a fully built configuration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, final

from kernel.config.diagnostics import Diagnostic, Location, Severity, format_path
from kernel.config.loader import RawConfig, config_layers, default_config_dir, load_layers
from kernel.config.schema import REQUIRED, Option, Section, build_json_schema, resolve, validate
from kernel.config.sections import KERNEL_SECTIONS, PLUGINS_SCHEMA
from kernel.errors import ConfigError

__all__ = [
    "KERNEL_SECTIONS",
    "REQUIRED",
    "Config",
    "Diagnostic",
    "Location",
    "Option",
    "RawConfig",
    "Section",
    "Severity",
    "build_config",
    "config_layers",
    "default_config_dir",
    "format_path",
    "full_schema",
    "load_layers",
]


def full_schema(sections: Iterable[Section]) -> dict[str, Any]:
    """The JSON Schema of the whole configuration for these sections."""
    schema = build_json_schema(sections)
    schema["properties"] = {"plugins": PLUGINS_SCHEMA, **schema["properties"]}
    return schema


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


@final
class Config:
    """An immutable, validated configuration with defaults applied.

    Sections are read-only mappings (``config["tls"]["min_version"]``); durations
    are float seconds and sizes int bytes. ``location(path)`` says which file and
    line set a value, for diagnostics that come after validation.
    """

    def __init__(
        self,
        *,
        sections: Mapping[str, Any],
        plugins: Iterable[str],
        locations: Mapping[tuple[str | int, ...], Location],
        files: Iterable[Path],
        warnings: Iterable[Diagnostic] = (),
    ) -> None:
        self._sections: Mapping[str, Any] = _freeze(sections)
        self.plugins: tuple[str, ...] = tuple(plugins)
        self._locations = dict(locations)
        #: Every file read, including ``${file:...}`` includes (the reload watch list).
        self.files: tuple[Path, ...] = tuple(dict.fromkeys(files))
        #: Warnings found while building it (unloaded plugin sections...).
        self.warnings: tuple[Diagnostic, ...] = tuple(warnings)

    def __getitem__(self, section: str) -> Mapping[str, Any]:
        return self._sections[section]

    def __contains__(self, section: object) -> bool:
        return section in self._sections

    def sections(self) -> Mapping[str, Any]:
        """Every section by name."""
        return self._sections

    def get(self, path: str, default: Any = None) -> Any:
        """A value by dotted path (``"server.shutdown_timeout"``), or ``default``."""
        node: Any = self._sections
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node

    @property
    def listeners(self) -> Mapping[str, Mapping[str, Any]]:
        """The ``listeners`` section: name to resolved listener options."""
        return self._sections["listeners"]

    def location(self, path: str | tuple[str | int, ...]) -> Location | None:
        """Where ``path`` (or its nearest configured ancestor) was set, if in a file."""
        key = tuple(path.split(".")) if isinstance(path, str) else path
        while key:
            if key in self._locations:
                return self._locations[key]
            key = key[:-1]
        return None

    def with_warnings(self, extra: Iterable[Diagnostic]) -> Config:
        """A copy carrying ``extra`` warnings as well."""
        return Config(
            sections=self._sections,
            plugins=self.plugins,
            locations=self._locations,
            files=self.files,
            warnings=(*self.warnings, *extra),
        )

    def diagnostic(self, path: str | tuple[str | int, ...], message: str) -> Diagnostic:
        """An error diagnostic located at ``path``; for ``stalwart_config_validate``."""
        key = tuple(path.split(".")) if isinstance(path, str) else path
        return Diagnostic(Severity.ERROR, message, key, self.location(key))


def build_config(
    raw: RawConfig,
    sections: Iterable[Section],
    *,
    unloaded: Mapping[str, str] | None = None,
    extra: Iterable[Diagnostic] = (),
) -> Config:
    """Validate ``raw`` against ``sections`` and build the :class:`Config`.

    Args:
        raw: the merged tree from :func:`load_layers` (its diagnostics count).
        sections: the kernel's sections plus those of every loaded plugin.
        unloaded: section name -> plugin name for sections of installed plugins
            that are not loaded; such a section is skipped with a warning.
        extra: diagnostics found earlier (e.g. plugins that failed to load).

    Returns:
        The configuration, carrying the warnings.

    Raises:
        ConfigError: with every error and warning, if there is any error.
    """
    sections = list(sections)
    diagnostics = list(raw.diagnostics)
    seen: dict[str, Section] = {}
    for section in sections:
        if section.name in seen or section.name == "plugins":
            owner = seen[section.name].plugin if section.name in seen else None
            diagnostics.append(
                Diagnostic(
                    Severity.ERROR,
                    f"section {section.name!r} of plugin {section.plugin} is already defined "
                    f"by {f'plugin {owner}' if owner else 'the kernel'}",
                )
            )
            continue
        seen[section.name] = section
    data = dict(raw.data)
    for name, plugin in (unloaded or {}).items():
        if name in data and name not in seen:
            diagnostics.append(
                Diagnostic(
                    Severity.WARNING,
                    f"section of plugin {plugin}, which is not loaded; ignored",
                    (name,),
                    raw.location((name,)),
                )
            )
            del data[name]
    diagnostics.extend(extra)
    diagnostics.extend(
        validate(data, full_schema(seen.values()), raw.location, redact=raw.substituted)
    )
    if any(d.is_error for d in diagnostics):
        raise ConfigError(diagnostics)
    resolved = {name: resolve(section, data.get(name)) for name, section in seen.items()}
    return Config(
        sections=resolved,
        plugins=data.get("plugins", ()),
        locations=raw.locations,
        files=raw.files,
        warnings=diagnostics,
    )
