"""Tests for kernel.cli: ``stalwart-kernel`` subcommands, in-process and as a real process.

No test here serves: ``config check`` validates without binding, so the packaged
defaults' fixed ports are never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import jsonschema
import pytest

from kernel import cli, lifecycle
from kernel.cli import build_parser, main
from kernel.config import Option, Section, default_config_dir, load_layers
from kernel.config.loader import ENV_CONFIG_DIR
from kernel.hookspecs import hookimpl
from kernel.lifecycle import Kernel
from kernel.pluginmanager import PluginCatalog
from kernel.specs import CommandSpec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No site directory from the caller's environment; run in a scratch directory."""
    monkeypatch.delenv(ENV_CONFIG_DIR, raising=False)
    monkeypatch.chdir(tmp_path)


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != ENV_CONFIG_DIR}
    env["PYTHONPATH"] = str(ROOT)
    return env


# ---- config check ------------------------------------------------------------


def test_cli_config_check_reports_every_error_with_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    types = write(site, "10-server.yaml", "# site settings\nserver:\n  max_connections: lots\n")
    unknown = write(site, "20-logging.yaml", "logging:\n  level: info\n  colour: true\n")
    code, out, err = run(capsys, "config", "check", str(site), "--data", str(tmp_path / "var"))
    assert code == 1
    lines = err.splitlines()
    assert f"{types}:3: server.max_connections: expected integer, got str" in lines
    assert f"{unknown}:3: logging.colour: unknown key" in lines
    assert "configuration OK" not in out


def test_cli_config_check_valid_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    write(
        site,
        "50-site.yaml",
        "server:\n  shutdown_timeout: 10s\nlisteners:\n  managesieve: null\n"
        "  gopher:\n    bind: 127.0.0.1:7070\n    protocol: gopher\n",
    )
    code, out, err = run(capsys, "--data", str(tmp_path / "var"), "config", "check", str(site))
    assert code == 0, err
    assert "configuration OK" in out
    assert not err
    # Listeners of protocols no loaded plugin serves are warnings, not errors.
    warnings = [line for line in out.splitlines() if ": warning: " in line]
    assert any("50-site.yaml" in w and "listeners.gopher.protocol" in w for w in warnings)
    # The packaged ManageSieve listener (no plugin serves it yet) was removed by the site.
    assert not any("listeners.managesieve." in w for w in warnings)
    assert not (tmp_path / "var").exists()  # checking writes nothing


def test_cli_config_check_counts_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    write(site, "50-a.yaml", "server: {}\n")
    write(site, "60-b.yaml", "logging: {}\n")
    code, out, _err = run(capsys, "config", "check", str(site))
    assert code == 0
    defaults = len(list(default_config_dir().glob("*.yaml")))
    assert f"configuration OK ({defaults + 2} files)" in out


def test_cli_config_check_uses_config_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    path = write(site, "50-site.yaml", "server:\n  bogus: 1\n")
    code, _out, err = run(capsys, "--config", str(site), "config", "check")
    assert code == 1
    assert f"{path}:2: server.bogus: unknown key" in err.splitlines()
    code, _out, err = run(capsys, "config", "check", "--config", str(site))
    assert code == 1
    assert f"{path}:2: server.bogus: unknown key" in err.splitlines()


def test_cli_config_check_dir_argument_wins_over_config_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad"
    write(bad, "50-site.yaml", "server:\n  bogus: 1\n")
    good = tmp_path / "good"
    write(good, "50-site.yaml", "server: {}\n")
    code, out, _err = run(capsys, "--config", str(bad), "config", "check", str(good))
    assert code == 0
    assert "configuration OK" in out


def test_cli_config_check_uses_environment_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    path = write(site / "conf.d", "50-site.yaml", "tls:\n  min_version: '1.1'\n")
    monkeypatch.setenv(ENV_CONFIG_DIR, str(site))
    code, _out, err = run(capsys, "config", "check")
    assert code == 1
    assert f"{path}:2: tls.min_version: '1.1' is not one of '1.2', '1.3'" in err.splitlines()


def test_cli_config_check_site_conf_d_subdirectory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    write(site, "ignored.yaml", "this: is not read\n")
    path = write(site / "conf.d", "50-site.yaml", "\nconfig:\n  poll_interval: sometimes\n")
    code, _out, err = run(capsys, "config", "check", str(site))
    assert code == 1
    assert err.splitlines() == [
        f"{path}:3: config.poll_interval: 'sometimes' is not a valid duration"
    ]


def test_cli_config_check_missing_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, "config", "check", str(tmp_path / "nope"))
    assert code == 1
    assert f"configuration directory {tmp_path / 'nope'} does not exist" in err


def test_cli_config_check_listener_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    path = write(site, "50-site.yaml", "listeners:\n  http:\n    bind: nonsense\n")
    code, _out, err = run(capsys, "config", "check", str(site))
    assert code == 1
    assert f"{path}:2: listeners.http: 'nonsense' is not HOST:PORT" in err.splitlines()


def test_cli_config_check_missing_env_does_not_leak(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STALWART_TEST_SECRET", "s3cr3t-value")
    monkeypatch.delenv("STALWART_TEST_MISSING", raising=False)
    site = tmp_path / "site"
    path = write(
        site,
        "50-site.yaml",
        "server:\n  hostname: '${env:STALWART_TEST_SECRET}${env:STALWART_TEST_MISSING}'\n",
    )
    code, out, err = run(capsys, "config", "check", str(site))
    assert code == 1
    assert (
        f"{path}:2: server.hostname: environment variable STALWART_TEST_MISSING is not set"
        in err.splitlines()
    )
    assert "s3cr3t-value" not in out + err


# ---- config schema -----------------------------------------------------------


def test_cli_config_schema_is_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "config", "schema")
    assert code == 0
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert {"plugins", "server", "listeners", "tls"} <= set(schema["properties"])
    listener = schema["properties"]["listeners"]["additionalProperties"]
    assert {"bind", "protocol"} <= set(listener["required"])
    assert schema["additionalProperties"] is False


def test_cli_config_schema_accepts_packaged_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "config", "schema")
    assert code == 0
    raw = load_layers([default_config_dir()], {})
    assert not raw.diagnostics
    jsonschema.validate(raw.data, json.loads(out))


def test_cli_config_schema_rejects_unknown_key(capsys: pytest.CaptureFixture[str]) -> None:
    _code, out, _err = run(capsys, "config", "schema")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"server": {"bogus": 1}}, json.loads(out))


# ---- plugins and usage -------------------------------------------------------


def test_cli_plugins_lists_installed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "plugins")
    assert code == 0
    assert out.strip()  # "no plugins installed" or one line per plugin


def test_cli_unknown_plugin_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    write(site, "50-site.yaml", "server: {}\n")
    code, out, err = run(capsys, "--plugins", "nosuch", "config", "check", str(site))
    assert code == 2
    assert "plugin 'nosuch': is not installed" in err
    assert "configuration OK" not in out


def test_cli_unknown_plugin_after_subcommand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(capsys, "config", "check", "--plugins", "nosuch,other")
    assert code == 2
    assert "is not installed" in err


def test_cli_data_accepted_after_subcommand(tmp_path: Path) -> None:
    parser = build_parser({})
    for argv in (
        ["config", "check", "--data", "X"],
        ["config", "--data", "X", "check"],
        ["--data", "X", "config", "check"],
        ["plugins", "--data", "X"],
        ["serve", "--data", "X"],
    ):
        args = parser.parse_args(argv)
        assert args.data == Path("X"), argv
    assert parser.parse_args(["config", "check"]).data == Path("var")
    assert parser.parse_args(["config", "check"]).config is None
    args = parser.parse_args(["config", "check", "--config", "C", "D"])
    assert (args.config, args.dir) == (Path("C"), Path("D"))


def test_cli_data_after_subcommand_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    write(site, "50-site.yaml", "server: {}\n")
    code, out, _err = run(capsys, "config", "check", "--data", str(tmp_path / "d"), str(site))
    assert code == 0
    assert "configuration OK" in out


def test_cli_config_requires_an_action(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["config"])
    assert info.value.code == 2
    assert "ACTION" in capsys.readouterr().err


def test_cli_unknown_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_cli_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("serve", "plugins", "config"):
        assert command in out


# ---- with a throwaway plugin installed ---------------------------------------


class DemoPlugin:
    """A plugin with a configuration section and a subcommand."""

    @hookimpl
    def stalwart_register_config_sections(self) -> list[Section]:
        return [Section("demo", "Demo.", (Option("greeting", "string", "hi", "Greeting."),))]

    @hookimpl
    def stalwart_register_commands(self) -> list[CommandSpec]:
        def configure(parser: argparse.ArgumentParser) -> None:
            parser.add_argument("--name", default="world")

        async def hello(args: argparse.Namespace, kernel: Kernel) -> int:
            print(f"{kernel.config['demo']['greeting']}, {args.name} ({args.data})")
            return 3

        return [CommandSpec("hello", "Say hello.", configure, hello)]


@pytest.fixture
def demo_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every catalog (the CLI's and the kernel's) see the demo plugin."""

    def catalog(extra: Mapping[str, object] | None = None) -> PluginCatalog:
        return PluginCatalog({"demo": DemoPlugin(), **(extra or {})})

    monkeypatch.setattr(cli, "PluginCatalog", catalog)
    monkeypatch.setattr(lifecycle, "PluginCatalog", catalog)


@pytest.mark.usefixtures("demo_installed")
def test_cli_plugins_shows_installed_plugin_hooks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "plugins")
    assert code == 0
    lines = out.splitlines()
    assert any(line.startswith("demo  -  ") for line in lines)
    assert "    stalwart_register_commands" in lines
    assert "    stalwart_register_config_sections" in lines


@pytest.mark.usefixtures("demo_installed")
def test_cli_schema_includes_installed_plugin_section(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "config", "schema")
    assert code == 0
    demo = json.loads(out)["properties"]["demo"]
    assert demo["properties"]["greeting"]["default"] == "hi"


@pytest.mark.usefixtures("demo_installed")
def test_cli_check_section_of_unloaded_plugin_is_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    path = write(site, "50-demo.yaml", "demo:\n  greeting: 42\n")
    code, out, _err = run(capsys, "config", "check", str(site))
    assert code == 0
    assert (
        f"{path}:1: demo: warning: section of plugin demo, which is not loaded; ignored"
        in out.splitlines()
    )
    code, _out, err = run(capsys, "--plugins", "demo", "config", "check", str(site))
    assert code == 1
    assert f"{path}:2: demo.greeting: expected string, got int" in err.splitlines()


@pytest.mark.usefixtures("demo_installed")
def test_cli_plugin_command_runs_with_its_plugin_loaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    write(site, "50-demo.yaml", "demo:\n  greeting: hello\n")
    code, out, _err = run(capsys, "--config", str(site), "hello", "--name", "ann", "--data", "D")
    assert code == 3
    assert out.splitlines() == ["hello, ann (D)"]


# ---- a real process ----------------------------------------------------------


def test_cli_subprocess_config_check(tmp_path: Path) -> None:
    site = tmp_path / "site"
    path = write(site, "50-site.yaml", "server:\n  max_connections: 0\n  extra: 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "kernel.cli", "config", "check", str(site), "--data", "var"],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert f"{path}:3: server.extra: unknown key" in lines
    assert any(line.startswith(f"{path}:2: server.max_connections: 0 is less") for line in lines)


def test_cli_subprocess_valid_and_schema(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write(site, "50-site.yaml", "server:\n  max_connections: 5\n")
    check = subprocess.run(
        [sys.executable, "-m", "kernel.cli", "--config", str(site), "config", "check"],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr
    assert "configuration OK" in check.stdout
    schema = subprocess.run(
        [sys.executable, "-m", "kernel.cli", "config", "schema"],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
        timeout=60,
    )
    assert schema.returncode == 0, schema.stderr
    assert "listeners" in json.loads(schema.stdout)["properties"]


def test_cli_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "stalwart-kernel"
    assert script.exists(), "make install puts the console script next to the interpreter"
    result = subprocess.run(
        [str(script), "--plugins", "nosuch", "plugins"],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
        timeout=60,
    )
    # `plugins` lists what is installed; it loads no selection, so --plugins is ignored.
    assert result.returncode == 0, result.stderr
    result = subprocess.run(
        [str(script), "config", "check", "--plugins", "nosuch"],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert "plugin 'nosuch': is not installed" in result.stderr
