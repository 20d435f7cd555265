"""The ``stalwart-kernel`` command.

``stalwart-kernel [--data DIR] [--config DIR] [--plugins a,b]`` serves (the
``serve`` subcommand is the default). Kernel subcommands: ``plugins`` (what is
installed and which hooks each implements), ``config schema`` (the JSON Schema,
for editors), ``config check [DIR]`` (validate without starting), and ``backup
DIR`` / ``restore DIR`` (:mod:`kernel.backup`: the kernel's, since they dispatch
to whichever store backend is configured). Plugins add more (``account``,
``queue``...) through ``stalwart_register_commands``.
``--data`` applies to every subcommand.

Exit status: 0 on success (and after a graceful shutdown), 1 when a check
found errors or a command failed, 2 for usage, plugin or configuration errors
at start.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import trio

from kernel import backup
from kernel.boot import installed_sections
from kernel.config import KERNEL_SECTIONS, full_schema
from kernel.errors import ConfigError, KernelError, PluginError
from kernel.lifecycle import Kernel, freeze_startup_objects
from kernel.pluginmanager import PluginCatalog
from kernel.specs import CommandSpec

__all__ = ["main"]

#: Commands the kernel runs as it runs plugins' (a configured kernel, not serving).
_KERNEL_SPECS: dict[str, CommandSpec] = {spec.name: spec for spec in backup.COMMANDS}
_KERNEL_COMMANDS = ("serve", "plugins", "config", *_KERNEL_SPECS)


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    default = (lambda v: v) if top else (lambda v: argparse.SUPPRESS)
    parser.add_argument(
        "--data",
        type=Path,
        default=default(Path("var")),
        metavar="DIR",
        help="data directory (default: ./var)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=default(None),
        metavar="DIR",
        help="site configuration directory (overrides the packaged defaults)",
    )
    parser.add_argument(
        "--plugins",
        default=default(None),
        metavar="A,B,C",
        help="plugins to load (default: the configuration's `plugins` list)",
    )


def _common_everywhere(parser: argparse.ArgumentParser) -> None:
    """Add the common options to ``parser`` and every nested sub-command parser.

    argparse hands the arguments after a sub-command word to that sub-command's
    parser only, so ``account add NAME --data DIR`` needs ``--data`` on ``add``.
    """
    _common(parser, top=False)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                _common_everywhere(child)


def _plugin_commands(catalog: PluginCatalog) -> dict[str, tuple[str, CommandSpec]]:
    out: dict[str, tuple[str, CommandSpec]] = {}
    found, _problems = catalog.collect_installed("stalwart_register_commands")
    for plugin, spec in found:
        if spec.name in _KERNEL_COMMANDS or spec.name in out:
            raise PluginError(plugin, f"command {spec.name!r} is already defined")
        out[spec.name] = (plugin, spec)
    return out


def build_parser(commands: dict[str, tuple[str, CommandSpec]]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stalwart-kernel",
        description="Self-hosted mail and collaboration server.",
    )
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _common(sub.add_parser("serve", help="run the server (the default)"), top=False)
    _common(sub.add_parser("plugins", help="list installed plugins and their hooks"), top=False)
    config = sub.add_parser("config", help="inspect and check configuration")
    _common(config, top=False)
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    _common(config_sub.add_parser("schema", help="print the configuration JSON Schema"), top=False)
    check = config_sub.add_parser("check", help="validate configuration without starting")
    _common(check, top=False)
    check.add_argument("dir", nargs="?", type=Path, help="configuration directory to check")
    specs = {name: spec for name, (_plugin, spec) in commands.items()}
    for name, spec in sorted({**specs, **_KERNEL_SPECS}.items()):
        command_parser = sub.add_parser(name, help=spec.help)
        spec.configure(command_parser)
        _common_everywhere(command_parser)
    return parser


def _plugin_list(value: str | None) -> list[str] | None:
    return None if value is None else [p for p in value.split(",") if p.strip()]


def _print_errors(exc: KernelError) -> None:
    if isinstance(exc, ConfigError):
        for diagnostic in exc.diagnostics:
            print(diagnostic, file=sys.stderr)
    else:
        print(f"stalwart-kernel: {exc}", file=sys.stderr)


def _serve(args: argparse.Namespace) -> int:
    kernel = Kernel(
        data_dir=args.data,
        config_dir=args.config,
        plugins=_plugin_list(args.plugins),
        handle_signals=True,
    )
    freeze_startup_objects()
    trio.run(kernel.run)
    return 0


def _plugins(catalog: PluginCatalog) -> int:
    infos = catalog.info()
    if not infos:
        print("no plugins installed")
    for info in infos:
        print(f"{info.name}  {info.version}  ({info.distribution})")
        if info.error:
            print(f"    error: {info.error}")
        for hook in info.hooks:
            print(f"    {hook}")
    return 0


def _config_check(args: argparse.Namespace) -> int:
    config_dir = args.dir or args.config
    kernel = Kernel(data_dir=args.data, config_dir=config_dir, plugins=_plugin_list(args.plugins))

    async def check() -> list:
        try:
            plan = await kernel.listeners.prepare(kernel.config, bind=False)
        except ConfigError as exc:
            raise ConfigError([*kernel.config.warnings, *exc.diagnostics]) from None
        return [*kernel.config.warnings, *plan.warnings]

    for diagnostic in trio.run(check):
        print(diagnostic)
    print(f"configuration OK ({len(kernel.config.files)} files)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stalwart-kernel`` console script."""
    catalog = PluginCatalog()
    try:
        commands = _plugin_commands(catalog)
    except PluginError as exc:
        _print_errors(exc)
        return 2
    args = build_parser(commands).parse_args(argv)
    try:
        if args.command in (None, "serve"):
            return _serve(args)
        if args.command == "plugins":
            return _plugins(catalog)
        if args.command == "config" and args.config_command == "schema":
            sections, _warnings = installed_sections(catalog)
            print(json.dumps(full_schema([*KERNEL_SECTIONS, *sections]), indent=2))
            return 0
        if args.command == "config":
            try:
                return _config_check(args)
            except ConfigError as exc:
                _print_errors(exc)
                return 1
        if args.command in _KERNEL_SPECS:
            kernel = Kernel(
                data_dir=args.data, config_dir=args.config, plugins=_plugin_list(args.plugins)
            )
            return trio.run(_KERNEL_SPECS[args.command].run, args, kernel)
        plugin, spec = commands[args.command]
        names = _plugin_list(args.plugins) or [plugin]
        kernel = Kernel(
            data_dir=args.data,
            config_dir=args.config,
            plugins=names if plugin in names else [*names, plugin],
        )
        return trio.run(spec.run, args, kernel)
    except (PluginError, ConfigError, KernelError) as exc:
        _print_errors(exc)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
