"""Tests for kernel.config.build_config and Config: validated, defaulted, frozen."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kernel.config import (
    KERNEL_SECTIONS,
    REQUIRED,
    Config,
    Diagnostic,
    Location,
    Option,
    Section,
    Severity,
    build_config,
    default_config_dir,
    load_layers,
)
from kernel.errors import ConfigError, KernelError

IMAP = Section(
    "imap",
    "IMAP options.",
    (
        Option("max_literal", "size", "50MB", "Largest literal."),
        Option("greeting", "string", REQUIRED, "Greeting."),
    ),
    plugin="imap",
)

VALID = """\
server:
  hostname: mail.example.org
listeners:
  imap:
    bind: 127.0.0.1:1143
    protocol: imap
    tls: starttls
  web:
    bind: ["127.0.0.1:8080", "[::1]:8080"]
    protocol: http
    limits:
      idle_timeout: 2m
"""


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def build(
    directory: Path,
    sections: tuple[Section, ...] | list[Section] = KERNEL_SECTIONS,
    **kwargs: object,
) -> Config:
    return build_config(load_layers([directory], {}), sections, **kwargs)  # type: ignore[arg-type]


def config_error(directory: Path, *args: object, **kwargs: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        build(directory, *args, **kwargs)  # type: ignore[arg-type]
    return info.value


# ---- a valid configuration ---------------------------------------------------


def test_build_valid_config_resolves_defaults(tmp_path: Path) -> None:
    write(tmp_path, "50-site.yaml", VALID)
    config = build(tmp_path)
    assert config["server"]["shutdown_timeout"] == 30.0
    assert config["server"]["max_connections"] == 10000
    assert config["server"]["hostname"] == "mail.example.org"
    assert config["logging"]["format"] == "kv"
    assert config["config"]["poll_interval"] == 2.0
    assert config["tls"]["min_version"] == "1.2"
    assert config["tls"]["ciphers"] is None
    assert config["tls"]["self_signed_names"] == ("localhost", "127.0.0.1", "::1")
    assert config["store"]["backend"] == "sqlite"
    assert config["blob"]["backend"] == "fs"
    assert config["events"]["backend"] == "local"
    assert not config.warnings


def test_build_listener_defaults(tmp_path: Path) -> None:
    write(tmp_path, "50-site.yaml", VALID)
    imap = build(tmp_path).listeners["imap"]
    assert imap["bind"] == "127.0.0.1:1143"
    assert imap["protocol"] == "imap"
    assert imap["tls"] == "starttls"
    assert imap["role"] is None
    assert imap["enabled"] is True
    assert imap["certificates"] is None
    assert imap["limits"] == {
        "max_connections": 1000,
        "max_connections_per_ip": 100,
        "idle_timeout": None,
    }
    assert imap["proxy_protocol"] == {"trusted_networks": (), "timeout": 5.0}


def test_build_listener_values_converted(tmp_path: Path) -> None:
    write(tmp_path, "50-site.yaml", VALID)
    web = build(tmp_path).listeners["web"]
    assert web["bind"] == ("127.0.0.1:8080", "[::1]:8080")
    assert web["tls"] == "none"
    assert web["limits"]["idle_timeout"] == 120.0


def test_build_empty_config_gets_every_kernel_section(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    config = build(tmp_path)
    assert set(config.sections()) == {s.name for s in KERNEL_SECTIONS}
    assert config.listeners == {}
    assert config.plugins == ()


def test_build_plugins_list(tmp_path: Path) -> None:
    write(tmp_path, "10-a.yaml", "plugins: [imap, smtp]\n")
    assert build(tmp_path).plugins == ("imap", "smtp")


def test_build_loaded_plugin_section(tmp_path: Path) -> None:
    write(tmp_path, "30-imap.yaml", "imap:\n  greeting: hello\n")
    config = build(tmp_path, [*KERNEL_SECTIONS, IMAP])
    assert config["imap"] == {"max_literal": 50 * 2**20, "greeting": "hello"}


def test_build_packaged_defaults_are_valid() -> None:
    raw = load_layers([default_config_dir()], {})
    config = build_config(raw, KERNEL_SECTIONS)
    assert not config.warnings
    assert config["server"]["shutdown_timeout"] == 30.0
    assert config["tls"]["certificates"] == {}
    assert {"http", "smtp", "submission", "submissions", "imap", "imaps"} <= set(config.listeners)
    assert all(listener["enabled"] for listener in config.listeners.values())
    assert set(config.files) == set(default_config_dir().glob("*.yaml"))


# ---- errors ------------------------------------------------------------------


def test_build_reports_all_errors_at_once(tmp_path: Path) -> None:
    first = write(tmp_path, "10-a.yaml", "server:\n  max_connections: many\n")
    second = write(
        tmp_path, "20-b.yaml", "listeners:\n  imap:\n    bind: 127.0.0.1:1143\n    protocl: imap\n"
    )
    exc = config_error(tmp_path)
    assert isinstance(exc, KernelError)
    assert sorted(str(d) for d in exc.diagnostics) == sorted(
        [
            f"{first}:2: server.max_connections: expected integer, got str",
            f"{second}:4: listeners.imap.protocl: unknown key",
            f"{second}:2: listeners.imap: 'protocol' is a required property",
        ]
    )
    for diagnostic in exc.diagnostics:
        assert str(diagnostic) in str(exc)


def test_build_loader_errors_and_schema_errors_together(tmp_path: Path) -> None:
    syntax = write(tmp_path, "10-a.yaml", "a: [\n")
    unknown = write(tmp_path, "20-b.yaml", "\nfoo: 1\n")
    exc = config_error(tmp_path)
    rendered = [str(d) for d in exc.diagnostics]
    assert any(r.startswith(f"{syntax}:") and "YAML syntax" in r for r in rendered)
    assert f"{unknown}:2: foo: unknown key" in rendered


def test_build_missing_env_is_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "10-a.yaml", "server:\n  hostname: ${env:MAIL_HOST}\n")
    exc = config_error(tmp_path)
    assert [str(d) for d in exc.diagnostics] == [
        f"{path}:2: server.hostname: environment variable MAIL_HOST is not set"
    ]


def test_build_error_for_bad_duration(tmp_path: Path) -> None:
    path = write(tmp_path, "10-a.yaml", "config:\n  poll_interval: often\n")
    [diagnostic] = config_error(tmp_path).diagnostics
    assert str(diagnostic) == f"{path}:2: config.poll_interval: 'often' is not a valid duration"
    assert diagnostic.location == Location(str(path), 2)
    assert diagnostic.path == ("config", "poll_interval")
    assert diagnostic.severity is Severity.ERROR


def test_build_extra_errors_fail_and_extra_warnings_are_kept(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    warning = Diagnostic(Severity.WARNING, "plugin x failed to load", ("plugins",))
    assert build(tmp_path, extra=[warning]).warnings == (warning,)
    error = Diagnostic(Severity.ERROR, "bad", ("server",))
    exc = config_error(tmp_path, extra=[error, warning])
    assert exc.diagnostics == [error, warning]


# ---- diagnostics -------------------------------------------------------------


def test_diagnostic_str_is_file_line_path_message() -> None:
    diagnostic = Diagnostic(
        Severity.ERROR, "unknown key", ("listeners", "imap", "bnd"), Location("c/10.yaml", 4)
    )
    assert str(diagnostic) == "c/10.yaml:4: listeners.imap.bnd: unknown key"


def test_diagnostic_str_variants() -> None:
    assert str(Diagnostic(Severity.ERROR, "m")) == "<config>: <root>: m"
    assert str(Diagnostic(Severity.WARNING, "m", ("a", 0, "b"), Location("f", 1))) == (
        "f:1: a[0].b: warning: m"
    )
    assert not Diagnostic(Severity.WARNING, "m").is_error


def test_diagnostic_is_frozen() -> None:
    diagnostic = Diagnostic(Severity.ERROR, "m")
    with pytest.raises(dataclasses.FrozenInstanceError):
        diagnostic.message = "other"  # type: ignore[misc]


# ---- plugin sections ---------------------------------------------------------


def test_build_unloaded_plugin_section_is_warning_and_dropped(tmp_path: Path) -> None:
    path = write(tmp_path, "30-imap.yaml", "\nimap:\n  greeting: hello\n  anything: goes\n")
    config = build(tmp_path, unloaded={"imap": "imap"})
    assert "imap" not in config
    assert [str(w) for w in config.warnings] == [
        f"{path}:2: imap: warning: section of plugin imap, which is not loaded; ignored"
    ]


def test_build_unloaded_section_absent_is_silent(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    assert build(tmp_path, unloaded={"imap": "imap"}).warnings == ()


def test_build_section_of_uninstalled_plugin_is_unknown_key(tmp_path: Path) -> None:
    path = write(tmp_path, "30-imap.yaml", "imap:\n  greeting: hello\n")
    [diagnostic] = config_error(tmp_path).diagnostics
    assert str(diagnostic) == f"{path}:1: imap: unknown key"


def test_build_warnings_do_not_hide_errors(tmp_path: Path) -> None:
    write(tmp_path, "30-imap.yaml", "imap: {}\nserver: {bogus: 1}\n")
    exc = config_error(tmp_path, unloaded={"imap": "imap"})
    assert [d.severity for d in exc.diagnostics] == [Severity.WARNING, Severity.ERROR]


def test_build_section_claimed_twice_is_error(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    other = dataclasses.replace(IMAP, plugin="imap2")
    exc = config_error(tmp_path, [*KERNEL_SECTIONS, IMAP, other])
    assert [d.message for d in exc.diagnostics] == [
        "section 'imap' of plugin imap2 is already defined by plugin imap"
    ]


def test_build_plugin_cannot_claim_kernel_section(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    server = Section("server", "Mine.", (), plugin="evil")
    plugins = Section("plugins", "Mine too.", (), plugin="evil")
    exc = config_error(tmp_path, [*KERNEL_SECTIONS, server, plugins])
    messages = [d.message for d in exc.diagnostics]
    assert messages[0] == "section 'server' of plugin evil is already defined by the kernel"
    assert messages[1].startswith("section 'plugins' of plugin evil is already defined")


# ---- Config ------------------------------------------------------------------


def test_config_is_immutable(tmp_path: Path) -> None:
    write(tmp_path, "50-site.yaml", VALID)
    config = build(tmp_path)
    with pytest.raises(TypeError):
        config["server"]["max_connections"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        config.listeners["imap"]["limits"]["max_connections"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        config.sections()["new"] = {}  # type: ignore[index]
    with pytest.raises(AttributeError):
        config["tls"]["self_signed_names"].append("x")  # a tuple


def test_config_does_not_alias_its_input() -> None:
    sections = {"server": {"hostname": "a"}}
    config = Config(sections=sections, plugins=[], locations={}, files=[])
    sections["server"]["hostname"] = "b"
    assert config["server"]["hostname"] == "a"


def test_config_get_dotted_path(tmp_path: Path) -> None:
    write(tmp_path, "50-site.yaml", VALID)
    config = build(tmp_path)
    assert config.get("server.shutdown_timeout") == 30.0
    assert config.get("listeners.web.limits.idle_timeout") == 120.0
    assert config.get("listeners.imap.limits.max_connections") == 1000
    assert config.get("listeners.nosuch.bind") is None
    assert config.get("listeners.nosuch.bind", "dflt") == "dflt"
    assert config.get("server.hostname.deeper", 0) == 0
    assert config.get("nosuch") is None
    assert "server" in config
    assert "imap" not in config


def test_config_location(tmp_path: Path) -> None:
    write(tmp_path, "10-a.yaml", VALID)
    path = write(tmp_path, "20-b.yaml", "listeners:\n  imap:\n    tls: implicit\n")
    config = build(tmp_path)
    first = str(tmp_path / "10-a.yaml")
    assert config.location("server.hostname") == Location(first, 2)
    assert config.location("listeners.imap.tls") == Location(str(path), 3)
    assert config.location(("listeners", "imap", "bind")) == Location(first, 5)
    assert config.location("listeners.web.bind") == Location(first, 9)
    # A default has no line of its own: the nearest configured ancestor answers.
    assert config.location("listeners.imap.limits.max_connections") == Location(str(path), 2)
    assert config.location("logging.level") is None


def test_config_diagnostic_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "10-a.yaml", VALID)
    config = build(tmp_path)
    diagnostic = config.diagnostic("listeners.imap.bind", "address in use")
    assert diagnostic.is_error
    assert str(diagnostic) == f"{path}:5: listeners.imap.bind: address in use"


def test_config_with_warnings_returns_copy(tmp_path: Path) -> None:
    path = write(tmp_path, "10-a.yaml", VALID + "imap: {}\n")
    config = build(tmp_path, unloaded={"imap": "imap"})
    extra = Diagnostic(Severity.WARNING, "restart needed", ("server",))
    copy = config.with_warnings([extra])
    assert copy is not config
    assert copy.warnings == (*config.warnings, extra)
    assert len(config.warnings) == 1
    assert copy.sections() == config.sections()
    assert copy.plugins == config.plugins
    assert copy.files == config.files
    assert copy.location("server") == config.location("server") == Location(str(path), 1)


def test_config_files_include_includes_once(tmp_path: Path) -> None:
    write(tmp_path / "certs", "cert.pem", "CERT")
    write(tmp_path / "certs", "key.pem", "KEY")
    write(
        tmp_path,
        "10-tls.yaml",
        "tls:\n  certificates:\n    main:\n      cert: ${file:certs/cert.pem}\n"
        "      key: ${file:certs/key.pem}\n    alt:\n      cert: ${file:certs/cert.pem}\n"
        "      key: ${file:certs/key.pem}\n",
    )
    config = build(tmp_path)
    assert config["tls"]["certificates"]["main"] == {"cert": "CERT", "key": "KEY"}
    assert config.files == (
        tmp_path / "10-tls.yaml",
        tmp_path / "certs" / "cert.pem",
        tmp_path / "certs" / "key.pem",
    )


def test_config_site_layer_overrides_packaged_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "50-site.yaml",
        "server:\n  shutdown_timeout: 1m\nlisteners:\n  smtp: null\n  imap:\n    bind: '*:143'\n",
    )
    raw = load_layers([default_config_dir(), tmp_path], {})
    config = build_config(raw, KERNEL_SECTIONS)
    assert config["server"]["shutdown_timeout"] == 60.0
    assert config["server"]["max_connections"] == 10000
    assert "smtp" not in config.listeners
    assert config.listeners["imap"]["bind"] == "*:143"
    assert config.listeners["imap"]["tls"] == "starttls"
    assert config.location("listeners.imap.bind") == Location(str(path), 6)
    assert config.location("listeners.imap.tls").file.endswith("30-imap.yaml")  # type: ignore[union-attr]


def test_build_never_echoes_substituted_values(tmp_path: Path) -> None:
    write(tmp_path, "10.yaml", "server:\n  shutdown_timeout: ${env:SECRET}\n")
    raw = load_layers([tmp_path], {"SECRET": "hunter2"})
    with pytest.raises(ConfigError) as info:
        build_config(raw, KERNEL_SECTIONS)
    assert "hunter2" not in str(info.value)
    assert "server.shutdown_timeout: the substituted value is not a valid duration" in str(
        info.value
    )


def test_build_reports_errors_in_file_and_line_order(tmp_path: Path) -> None:
    write(tmp_path, "10.yaml", "server:\n  zzz: 1\n  aaa: 2\n")
    exc = config_error(tmp_path)
    assert [d.location.line for d in exc.diagnostics if d.location] == [2, 3]
