"""Reading conf.d directories into one merged, location-tracked tree.

Implementation notes:

* Layers are directories of ``*.yaml`` fragments. Fragments are read in lexical
  file-name order within a layer, layers in the order given; each later mapping
  is merged key by key into the earlier ones (lists and scalars replace), and a
  ``null`` value *removes* the key, so a site file can drop a default listener.
* Every key and list item remembers the file and line that last set it, so the
  validator can say ``conf.d/20-imap.yaml:7: listeners.imap.bind: ...``.
* ``${env:NAME}`` and ``${env:NAME:-default}`` substitute environment variables
  (for secrets); ``${file:PATH}`` substitutes the text of a file (certificates,
  keys), relative to the fragment's directory; ``$${`` is a literal ``${``.
  Substitution only ever produces strings. Included files are recorded so that
  the reload watcher notices when a certificate is replaced.
* Problems never raise: they become diagnostics, all reported together.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kernel.config.diagnostics import Diagnostic, Location, Severity

__all__ = ["ENV_CONFIG_DIR", "RawConfig", "config_layers", "default_config_dir", "load_layers"]

#: Environment variable naming the site configuration directory.
ENV_CONFIG_DIR = "STALWART_KERNEL_CONFIG"
#: The system-wide site configuration directory.
SYSTEM_CONFIG_DIR = Path("/etc/stalwart-kernel")

Path_ = tuple[str | int, ...]

_SUBST = re.compile(r"\$\$\{|\$\{(env|file):([^}]*)\}")


@dataclass
class RawConfig:
    """The merged configuration tree before validation."""

    data: dict[str, Any] = field(default_factory=dict)
    locations: dict[Path_, Location] = field(default_factory=dict)
    #: Every file read: the fragments and the files they include.
    files: list[Path] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: Paths whose value came from ``${env:...}``/``${file:...}``: never echoed in messages.
    substituted: set[Path_] = field(default_factory=set)

    def location(self, path: Path_) -> Location | None:
        """The location of ``path`` or of its nearest ancestor that has one."""
        while path:
            if path in self.locations:
                return self.locations[path]
            path = path[:-1]
        return None


def default_config_dir() -> Path:
    """The packaged default ``conf.d``.

    An installed wheel carries it as ``kernel/defaults/conf.d``; a source
    checkout (editable install) uses the repository's top-level ``conf.d``.
    """
    packaged = Path(__file__).resolve().parent.parent / "defaults" / "conf.d"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "conf.d"


def config_layers(
    config_dir: Path | None, environ: Mapping[str, str] | None = None, *, system: bool = True
) -> list[Path]:
    """The directories to merge, lowest precedence first.

    The packaged defaults always come first. On top of them goes one site
    directory, the first that is given of: ``--config DIR``, the
    ``STALWART_KERNEL_CONFIG`` environment variable, ``/etc/stalwart-kernel``
    (when it exists and ``system`` is true). A site directory may hold YAML
    fragments directly or in a ``conf.d`` sub-directory.
    """
    environ = os.environ if environ is None else environ
    layers = [default_config_dir()]
    site: Path | None = None
    if config_dir is not None:
        site = config_dir
    elif environ.get(ENV_CONFIG_DIR):
        site = Path(environ[ENV_CONFIG_DIR])
    elif system and SYSTEM_CONFIG_DIR.is_dir():
        site = SYSTEM_CONFIG_DIR
    if site is not None:
        layers.append(site / "conf.d" if (site / "conf.d").is_dir() else site)
    return layers


def load_layers(layers: Sequence[Path], environ: Mapping[str, str] | None = None) -> RawConfig:
    """Read and merge every ``*.yaml`` fragment of ``layers``.

    Args:
        layers: directories, lowest precedence first.
        environ: the environment for ``${env:...}`` (defaults to ``os.environ``).

    Returns:
        The merged tree with locations, files read and diagnostics (never raises
        for a bad file: a missing directory, unreadable file or YAML syntax error
        is an error diagnostic).
    """
    environ = os.environ if environ is None else environ
    raw = RawConfig()
    for directory in layers:
        if not directory.is_dir():
            raw.diagnostics.append(
                Diagnostic(Severity.ERROR, f"configuration directory {directory} does not exist")
            )
            continue
        for file in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
            _load_file(file, raw, environ)
    return raw


def _load_file(file: Path, raw: RawConfig, environ: Mapping[str, str]) -> None:
    raw.files.append(file)
    try:
        text = file.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError) as exc:
        raw.diagnostics.append(Diagnostic(Severity.ERROR, f"cannot read {file}: {exc}"))
        return
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = Location(str(file), mark.line + 1) if mark else Location(str(file), 1)
        problem = getattr(exc, "problem", None) or str(exc)
        raw.diagnostics.append(Diagnostic(Severity.ERROR, f"YAML syntax: {problem}", location=loc))
        return
    if node is None:
        return  # an empty fragment
    builder = _Builder(file, environ, raw)
    value = builder.build(node, ())
    if not isinstance(value, dict):
        raw.diagnostics.append(
            Diagnostic(
                Severity.ERROR,
                "a configuration fragment must be a mapping",
                location=Location(str(file), node.start_mark.line + 1),
            )
        )
        return
    _merge(raw.data, value, (), raw.locations, builder.locations)


def _merge(
    into: dict[str, Any],
    new: dict[str, Any],
    path: Path_,
    locations: dict[Path_, Location],
    new_locations: dict[Path_, Location],
) -> None:
    for key, value in new.items():
        sub = (*path, key)
        if value is None:
            into.pop(key, None)
            _drop_locations(locations, sub)
            continue
        if isinstance(value, dict):
            # Merged into a fresh mapping too, so that nulls inside it remove keys
            # rather than being stored.
            if not isinstance(into.get(key), dict):
                into[key] = {}
                _drop_locations(locations, sub)
            locations[sub] = new_locations[sub]
            _merge(into[key], value, sub, locations, new_locations)
            continue
        into[key] = value
        _drop_locations(locations, sub)
        for p, loc in new_locations.items():
            if p[: len(sub)] == sub:
                locations[p] = loc


def _drop_locations(locations: dict[Path_, Location], prefix: Path_) -> None:
    for p in [p for p in locations if p[: len(prefix)] == prefix]:
        del locations[p]


class _Builder:
    """Turns a composed YAML node into Python values, recording locations."""

    def __init__(self, file: Path, environ: Mapping[str, str], raw: RawConfig) -> None:
        self.file = file
        self.environ = environ
        self.raw = raw
        self.locations: dict[Path_, Location] = {}
        self.constructor = yaml.SafeLoader("")

    def _loc(self, node: yaml.Node) -> Location:
        return Location(str(self.file), node.start_mark.line + 1)

    def _error(self, message: str, path: Path_, node: yaml.Node) -> None:
        self.raw.diagnostics.append(Diagnostic(Severity.ERROR, message, path, self._loc(node)))

    def build(self, node: yaml.Node, path: Path_) -> Any:
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                    self._error("keys must be plain strings", path, key_node)
                    continue
                key = str(key_node.value)
                sub = (*path, key)
                if key in out:
                    self._error(f"duplicate key {key!r}", sub, key_node)
                self.locations[sub] = self._loc(key_node)
                out[key] = self.build(value_node, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.locations[(*path, index)] = self._loc(item)
                items.append(self.build(item, (*path, index)))
            return items
        try:
            value = self.constructor.construct_object(node)
        except Exception as exc:  # an unknown tag, `!!int abc`...: PyYAML raises several kinds
            self._error(f"invalid value: {getattr(exc, 'problem', None) or exc}", path, node)
            return None
        if isinstance(value, str) and "$" in value:
            return self._substitute(value, path, node)
        return value

    def _substitute(self, value: str, path: Path_, node: yaml.Node) -> str:
        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            kind, arg = match.group(1), match.group(2)
            if kind == "env":
                name, _, default = arg.partition(":-")
                if name in self.environ:
                    return self.environ[name]
                if ":-" in arg:
                    return default
                self._error(f"environment variable {name} is not set", path, node)
                return ""
            target = Path(arg)
            if not target.is_absolute():
                target = self.file.parent / target
            self.raw.files.append(target)
            try:
                return target.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                self._error(f"cannot include {target}: {exc}", path, node)
                return ""

        result, count = _SUBST.subn(replace, value)
        if count and result != value.replace("$${", "${"):
            self.raw.substituted.add(path)
        return result
