"""Tests for kernel.config.loader: conf.d layers merged with locations and substitutions."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.config import Location, RawConfig, config_layers, default_config_dir, load_layers
from kernel.config.loader import ENV_CONFIG_DIR


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def load(*layers: Path, environ: dict[str, str] | None = None) -> RawConfig:
    return load_layers(list(layers), environ or {})


def errors(raw: RawConfig) -> list[str]:
    return [str(d) for d in raw.diagnostics if d.is_error]


# ---- merging -----------------------------------------------------------------


def test_loader_reads_fragments_in_file_name_order(tmp_path: Path) -> None:
    write(tmp_path, "20-b.yaml", "value: b\n")
    write(tmp_path, "10-a.yaml", "value: a\nonly_a: 1\n")
    write(tmp_path, "30-c.yaml", "value: c\n")
    raw = load(tmp_path)
    assert raw.data == {"value": "c", "only_a": 1}
    assert raw.files == [tmp_path / "10-a.yaml", tmp_path / "20-b.yaml", tmp_path / "30-c.yaml"]


def test_loader_orders_yml_and_yaml_together_by_name(tmp_path: Path) -> None:
    write(tmp_path, "10-a.yml", "value: a\n")
    write(tmp_path, "20-b.yaml", "value: b\n")
    assert load(tmp_path).data == {"value": "b"}


def test_loader_ignores_other_suffixes(tmp_path: Path) -> None:
    write(tmp_path, "10-a.yaml", "value: a\n")
    write(tmp_path, "20-b.yaml.tmp", "value: b\n")
    write(tmp_path, "README", "value: c\n")
    assert load(tmp_path).data == {"value": "a"}


def test_loader_later_layer_wins_over_earlier(tmp_path: Path) -> None:
    base, site = tmp_path / "base", tmp_path / "site"
    write(base, "90-z.yaml", "value: base\nkept: yes\n")
    write(site, "00-a.yaml", "value: site\n")
    assert load(base, site).data == {"value": "site", "kept": True}


def test_loader_merges_nested_maps(tmp_path: Path) -> None:
    write(tmp_path, "10-a.yaml", "server:\n  a: 1\n  nested:\n    x: 1\n    y: 2\n")
    write(tmp_path, "20-b.yaml", "server:\n  b: 2\n  nested:\n    y: 3\n")
    assert load(tmp_path).data == {"server": {"a": 1, "b": 2, "nested": {"x": 1, "y": 3}}}


def test_loader_replaces_lists(tmp_path: Path) -> None:
    write(tmp_path, "10-a.yaml", "plugins: [a, b, c]\n")
    write(tmp_path, "20-b.yaml", "plugins: [d]\n")
    assert load(tmp_path).data == {"plugins": ["d"]}


def test_loader_replaces_scalar_with_map_and_map_with_scalar(tmp_path: Path) -> None:
    write(tmp_path, "10-a.yaml", "a: 1\nb:\n  x: 1\n")
    write(tmp_path, "20-b.yaml", "a:\n  y: 2\nb: 3\n")
    raw = load(tmp_path)
    assert raw.data == {"a": {"y": 2}, "b": 3}
    assert ("b", "x") not in raw.locations


def test_loader_null_removes_key(tmp_path: Path) -> None:
    write(tmp_path, "10-a.yaml", "server:\n  hostname: mail.example.org\n  max: 5\n")
    write(tmp_path, "20-b.yaml", "server:\n  hostname: null\n")
    raw = load(tmp_path)
    assert raw.data == {"server": {"max": 5}}
    assert ("server", "hostname") not in raw.locations


def test_loader_null_removes_whole_listener(tmp_path: Path) -> None:
    base, site = tmp_path / "base", tmp_path / "site"
    write(
        base,
        "30-imap.yaml",
        "listeners:\n  imap:\n    bind: 127.0.0.1:1143\n    protocol: imap\n"
        "  imaps:\n    bind: 127.0.0.1:1993\n    protocol: imap\n",
    )
    write(site, "50-site.yaml", "listeners:\n  imap: ~\n")
    raw = load(base, site)
    assert set(raw.data["listeners"]) == {"imaps"}
    assert not [p for p in raw.locations if p[:2] == ("listeners", "imap")]


def test_loader_null_for_absent_key_is_not_stored(tmp_path: Path) -> None:
    write(tmp_path, "10-a.yaml", "listeners:\n  imap: null\nlogging:\n  components:\n    net:\n")
    raw = load(tmp_path)
    assert raw.data == {"listeners": {}, "logging": {"components": {}}}
    assert not raw.diagnostics


def test_loader_null_then_set_again(tmp_path: Path) -> None:
    write(tmp_path, "10-a.yaml", "a:\n  b: 1\n  c: 2\n")
    write(tmp_path, "20-b.yaml", "a: null\n")
    write(tmp_path, "30-c.yaml", "a:\n  c: 3\n")
    raw = load(tmp_path)
    assert raw.data == {"a": {"c": 3}}
    assert raw.location(("a", "c")) == Location(str(tmp_path / "30-c.yaml"), 2)


# ---- locations ---------------------------------------------------------------


def test_loader_records_file_and_line_of_each_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "10-a.yaml",
        "# a comment\n\nserver:\n  shutdown_timeout: 10s\n\nplugins:\n  - imap\n  - smtp\n",
    )
    raw = load(tmp_path)
    f = str(path)
    assert raw.locations[("server",)] == Location(f, 3)
    assert raw.locations[("server", "shutdown_timeout")] == Location(f, 4)
    assert raw.locations[("plugins",)] == Location(f, 6)
    assert raw.locations[("plugins", 0)] == Location(f, 7)
    assert raw.locations[("plugins", 1)] == Location(f, 8)


def test_loader_location_follows_override(tmp_path: Path) -> None:
    first = write(tmp_path, "10-a.yaml", "server:\n  a: 1\n  b: 2\n")
    second = write(tmp_path, "20-b.yaml", "\n\nserver:\n  b: 3\n")
    raw = load(tmp_path)
    assert raw.location(("server", "a")) == Location(str(first), 2)
    assert raw.location(("server", "b")) == Location(str(second), 4)
    assert raw.location(("server",)) == Location(str(second), 3)


def test_loader_location_of_replaced_list_drops_old_items(tmp_path: Path) -> None:
    write(tmp_path, "10-a.yaml", "plugins:\n  - a\n  - b\n  - c\n")
    second = write(tmp_path, "20-b.yaml", "plugins: [d]\n")
    raw = load(tmp_path)
    assert raw.location(("plugins", 0)) == Location(str(second), 1)
    assert ("plugins", 2) not in raw.locations


def test_loader_location_falls_back_to_nearest_ancestor(tmp_path: Path) -> None:
    path = write(tmp_path, "10-a.yaml", "x: 1\nserver:\n  a: 1\n")
    raw = load(tmp_path)
    assert raw.location(("server", "missing", "deeper")) == Location(str(path), 2)
    assert raw.location(("nothing",)) is None
    assert raw.location(()) is None


def test_location_str_is_file_colon_line() -> None:
    assert str(Location("conf.d/10-a.yaml", 7)) == "conf.d/10-a.yaml:7"


# ---- substitutions -----------------------------------------------------------


def test_loader_substitutes_env(tmp_path: Path) -> None:
    write(tmp_path, "10-a.yaml", "secret: ${env:DB_PASS}\nmixed: 'user:${env:DB_USER}@host'\n")
    raw = load(tmp_path, environ={"DB_PASS": "hunter2", "DB_USER": "alice"})
    assert raw.data == {"secret": "hunter2", "mixed": "user:alice@host"}
    assert not raw.diagnostics


def test_loader_env_value_stays_a_string(tmp_path: Path) -> None:
    write(tmp_path, "10-a.yaml", "port: ${env:PORT}\n")
    assert load(tmp_path, environ={"PORT": "25"}).data == {"port": "25"}


def test_loader_env_default_used_when_unset(tmp_path: Path) -> None:
    write(tmp_path, "10-a.yaml", "a: ${env:NOPE:-fallback}\nb: ${env:NOPE:-}\nc: ${env:SET:-no}\n")
    raw = load(tmp_path, environ={"SET": "yes"})
    assert raw.data == {"a": "fallback", "b": "", "c": "yes"}
    assert not raw.diagnostics


def test_loader_dollar_dollar_escapes_substitution(tmp_path: Path) -> None:
    write(tmp_path, "10-a.yaml", "a: $${env:HOME}\nb: cost $$5 and $${x}\n")
    raw = load(tmp_path, environ={"HOME": "/root"})
    assert raw.data == {"a": "${env:HOME}", "b": "cost $$5 and ${x}"}


def test_loader_leaves_plain_dollar_alone(tmp_path: Path) -> None:
    write(tmp_path, "10-a.yaml", "a: $HOME and ${unknown:thing}\n")
    assert load(tmp_path).data == {"a": "$HOME and ${unknown:thing}"}


def test_loader_missing_env_is_error_at_value_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "10-a.yaml",
        "store:\n  backend: sqlite\n  password: '${env:KNOWN}/${env:MISSING_SECRET}'\n",
    )
    raw = load(tmp_path, environ={"KNOWN": "s3cr3t-value"})
    assert errors(raw) == [
        f"{path}:3: store.password: environment variable MISSING_SECRET is not set"
    ]
    assert "s3cr3t-value" not in errors(raw)[0]


def test_loader_reports_every_missing_env(tmp_path: Path) -> None:
    write(tmp_path, "10-a.yaml", "a: ${env:ONE}\n")
    write(tmp_path, "20-b.yaml", "b: ${env:TWO}\n")
    assert len(errors(load(tmp_path))) == 2


def test_loader_file_include_relative_to_fragment(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write(site / "certs", "main.pem", "-----BEGIN CERTIFICATE-----\n")
    write(site, "10-a.yaml", "cert: ${file:certs/main.pem}\n")
    raw = load(site)
    assert raw.data == {"cert": "-----BEGIN CERTIFICATE-----\n"}
    assert site / "certs" / "main.pem" in raw.files
    assert site / "10-a.yaml" in raw.files


def test_loader_file_include_absolute(tmp_path: Path) -> None:
    key = write(tmp_path / "elsewhere", "key.pem", "KEY")
    write(tmp_path / "site", "10-a.yaml", f"key: ${{file:{key}}}\n")
    raw = load(tmp_path / "site")
    assert raw.data == {"key": "KEY"}
    assert key in raw.files


def test_loader_missing_include_is_error(tmp_path: Path) -> None:
    path = write(tmp_path, "10-a.yaml", "tls:\n  key: ${file:missing.pem}\n")
    raw = load(tmp_path)
    [message] = errors(raw)
    assert message.startswith(f"{path}:2: tls.key: cannot include {tmp_path / 'missing.pem'}")
    assert tmp_path / "missing.pem" in raw.files  # watched: creating it triggers a reload


# ---- problems ----------------------------------------------------------------


def test_loader_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    path = write(tmp_path, "10-a.yaml", "a: 1\nb: 2\nc: : d\ne: 5\n")
    write(tmp_path, "20-b.yaml", "f: 6\n")
    raw = load(tmp_path)
    assert errors(raw) == [f"{path}:3: <root>: YAML syntax: mapping values are not allowed here"]
    assert raw.data == {"f": 6}  # the bad file is skipped, the rest still loads


def test_loader_yaml_bad_indentation_line(tmp_path: Path) -> None:
    path = write(tmp_path, "10-a.yaml", "server:\n  a: 1\n b: 2\n")
    [diagnostic] = load(tmp_path).diagnostics
    assert diagnostic.location == Location(str(path), 3)


def test_loader_duplicate_key_is_error(tmp_path: Path) -> None:
    path = write(tmp_path, "10-a.yaml", "server:\n  a: 1\n  b: 2\n  a: 3\n")
    assert errors(load(tmp_path)) == [f"{path}:4: server.a: duplicate key 'a'"]


def test_loader_non_mapping_fragment_is_error(tmp_path: Path) -> None:
    path = write(tmp_path, "10-a.yaml", "# a list\n- a\n- b\n")
    raw = load(tmp_path)
    assert errors(raw) == [f"{path}:2: <root>: a configuration fragment must be a mapping"]
    assert raw.data == {}


def test_loader_scalar_fragment_is_error(tmp_path: Path) -> None:
    write(tmp_path, "10-a.yaml", "just text\n")
    assert len(errors(load(tmp_path))) == 1


def test_loader_empty_file_is_fine(tmp_path: Path) -> None:
    write(tmp_path, "10-empty.yaml", "")
    write(tmp_path, "20-comments.yaml", "# nothing here\n")
    raw = load(tmp_path)
    assert raw.data == {}
    assert not raw.diagnostics
    assert len(raw.files) == 2


def test_loader_missing_layer_is_error(tmp_path: Path) -> None:
    write(tmp_path / "ok", "10-a.yaml", "a: 1\n")
    raw = load(tmp_path / "missing", tmp_path / "ok")
    assert errors(raw) == [
        f"<config>: <root>: configuration directory {tmp_path / 'missing'} does not exist"
    ]
    assert raw.data == {"a": 1}


def test_loader_unknown_tag_is_error_not_exception(tmp_path: Path) -> None:
    path = write(tmp_path, "10-a.yaml", "a: !custom thing\nb: !!int abc\nc: 1\n")
    raw = load(tmp_path)
    found = errors(raw)
    assert len(found) == 2
    assert found[0].startswith(f"{path}:1: a: invalid value:")
    assert found[1].startswith(f"{path}:2: b: invalid value:")
    assert raw.data["c"] == 1


def test_loader_merge_key_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "10-a.yaml", "base: &b {x: 1}\nother:\n  <<: *b\n")
    assert errors(load(tmp_path)) == [f"{path}:3: other: keys must be plain strings"]


def test_loader_reports_problems_of_all_files_together(tmp_path: Path) -> None:
    write(tmp_path, "10-a.yaml", "a: [\n")
    write(tmp_path, "20-b.yaml", "- list\n")
    write(tmp_path, "30-c.yaml", "c: ${env:NOPE}\n")
    assert len(errors(load(tmp_path))) == 3


# ---- search order ------------------------------------------------------------


def test_default_config_dir_has_kernel_defaults() -> None:
    directory = default_config_dir()
    assert directory.is_dir()
    assert (directory / "00-kernel.yaml").is_file()


def test_config_layers_defaults_only(tmp_path: Path) -> None:
    assert config_layers(None, {}, system=False) == [default_config_dir()]


def test_config_layers_cli_dir_over_env(tmp_path: Path) -> None:
    cli, env = tmp_path / "cli", tmp_path / "env"
    cli.mkdir()
    env.mkdir()
    layers = config_layers(cli, {ENV_CONFIG_DIR: str(env)}, system=False)
    assert layers == [default_config_dir(), cli]


def test_config_layers_env_dir(tmp_path: Path) -> None:
    layers = config_layers(None, {ENV_CONFIG_DIR: str(tmp_path)}, system=False)
    assert layers == [default_config_dir(), tmp_path]


def test_config_layers_empty_env_is_ignored() -> None:
    assert config_layers(None, {ENV_CONFIG_DIR: ""}, system=False) == [default_config_dir()]


def test_config_layers_uses_conf_d_subdirectory(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    assert config_layers(tmp_path, {}, system=False) == [default_config_dir(), tmp_path / "conf.d"]
    layers = config_layers(None, {ENV_CONFIG_DIR: str(tmp_path)}, system=False)
    assert layers[-1] == tmp_path / "conf.d"


def test_config_layers_system_dir_when_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kernel.config import loader

    monkeypatch.setattr(loader, "SYSTEM_CONFIG_DIR", tmp_path)
    assert config_layers(None, {}) == [default_config_dir(), tmp_path]
    assert config_layers(None, {}, system=False) == [default_config_dir()]
    other = tmp_path / "other"
    other.mkdir()
    assert config_layers(None, {ENV_CONFIG_DIR: str(other)}) == [default_config_dir(), other]


def test_config_layers_missing_site_dir_surfaces_in_load(tmp_path: Path) -> None:
    layers = config_layers(tmp_path / "nope", {}, system=False)
    raw = load_layers(layers, {})
    assert any("does not exist" in str(d) for d in raw.diagnostics)


def test_config_layers_uses_os_environ_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_CONFIG_DIR, str(tmp_path))
    assert config_layers(None, system=False)[-1] == tmp_path


def test_loader_packaged_defaults_load_cleanly() -> None:
    raw = load_layers([default_config_dir()], {})
    assert not raw.diagnostics
    assert raw.data["server"]["shutdown_timeout"] == "30s"
    assert raw.data["listeners"]["imap"]["protocol"] == "imap"
