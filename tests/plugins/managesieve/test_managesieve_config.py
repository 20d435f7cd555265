"""The ``managesieve`` section: defaults, conversions, refusals, and the packaged conf.d file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from managesieve_support import capabilities, managesieve_server

from kernel.config.schema import resolve
from kernel.errors import ConfigError
from plugins.managesieve.config import MIN_IDLE_TIMEOUT, SECTION, SieveSettings
from plugins.managesieve.plugin import stalwart_register_protocols

ROOT = Path(__file__).resolve().parents[3]


async def test_managesieve_config_defaults_and_units(tmp_path: Path) -> None:
    config = {"managesieve": {"max_script_size": "64KiB", "login_timeout": "90s"}}
    async with managesieve_server(tmp_path, config) as server:
        settings = SieveSettings.from_section(server.kernel.config["managesieve"])
    assert settings == SieveSettings(
        max_script_size=64 * 1024, login_timeout=90.0, auth_failure_delay=0.0
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"max_scripts": -1},
        {"max_script_size": 0},
        {"max_line_length": 100},
        {"max_auth_failures": 0},
        {"login_timeout": "soon"},
        {"no_such_option": True},
    ],
)
async def test_managesieve_config_rejects(tmp_path: Path, bad: dict[str, object]) -> None:
    with pytest.RaisesGroup(ConfigError, flatten_subgroups=True, allow_unwrapped=True):
        async with managesieve_server(tmp_path, {"managesieve": bad}):
            pass


def test_managesieve_protocol_spec() -> None:
    [spec] = stalwart_register_protocols()
    # RFC 5804 §1.2: at least 30 minutes after authentication.
    assert spec.name == "managesieve" and spec.idle_timeout == MIN_IDLE_TIMEOUT >= 1800
    assert spec.busy_reply is not None and spec.busy_reply.startswith(b"BYE (TRYLATER)")


async def test_managesieve_config_warns_about_a_short_idle_timeout(tmp_path: Path) -> None:
    config = {"listeners": {"managesieve": {"limits": {"idle_timeout": "60s"}}}}
    async with managesieve_server(tmp_path, config) as server:
        warnings = [str(w) for w in server.kernel.config.warnings]
    assert any(
        "listeners.managesieve.limits.idle_timeout" in w and "RFC 5804" in w for w in warnings
    )
    async with managesieve_server(tmp_path / "default") as server:
        assert not [w for w in server.kernel.config.warnings if "RFC 5804" in str(w)]


def test_managesieve_packaged_config() -> None:
    text = (ROOT / "conf.d" / "50-managesieve.yaml").read_text()
    packaged = yaml.safe_load(text)
    listener = packaged["listeners"]["managesieve"]
    assert listener == {"bind": "127.0.0.1:4190", "protocol": "managesieve", "tls": "starttls"}
    # The commented example shows the defaults: uncommented, it changes nothing.
    example = ["managesieve:"] + [
        line[1:].split("  #", 1)[0] for line in text.splitlines() if line.startswith("#   ")
    ]
    section = yaml.safe_load("\n".join(example))["managesieve"]
    assert set(section) == {option.key for option in SECTION.options}
    assert SieveSettings.from_section(resolve(SECTION, section)) == SieveSettings()
    assert SieveSettings.from_section(resolve(SECTION, {})) == SieveSettings()


async def test_managesieve_follows_the_sieve_section(tmp_path: Path) -> None:
    config = {
        "sieve": {"max_redirects": 2, "max_script_size": "64KiB"},
        "managesieve": {"max_script_size": "128KiB"},
    }
    async with managesieve_server(tmp_path, config, sieve=True) as server:
        warnings = [str(w) for w in server.kernel.config.warnings]
        async with server.client(login=True) as client:
            caps = capabilities((await client.transact("CAPABILITY")).lines)
            # RFC 5804 §1.7 MAXREDIRECTS: the interpreter's limit, as delivery applies it.
            assert caps["MAXREDIRECTS"] == "2"
            script = "".join(f'redirect "u{i}@example.net";\r\n' for i in range(3))
            reply = await client.putscript("fwd", script)
            assert reply.code == "WARNINGS" and (reply.text or "").startswith("line 3:")
    assert any(
        "managesieve.max_script_size" in w and "sieve.max_script_size" in w for w in warnings
    )
