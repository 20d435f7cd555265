"""The ``pop3`` section: defaults, conversions, and values the schema refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from pop3_support import pop3_server

from kernel.errors import ConfigError
from plugins.pop3.config import Pop3Settings
from plugins.pop3.plugin import IDLE_TIMEOUT, stalwart_register_protocols


async def test_pop3_config_defaults_and_units(tmp_path: Path) -> None:
    config = {"pop3": {"auth_failure_delay": "250ms", "lease_ttl": "2m", "login_delay": 0.5}}
    async with pop3_server(tmp_path, config) as server:
        settings = Pop3Settings.from_section(server.kernel.config["pop3"])
    assert settings == Pop3Settings(
        auth_failure_delay=0.25, lease_ttl=120.0, login_delay=0.5, max_command_length=8192
    )


async def test_pop3_config_floors(tmp_path: Path) -> None:
    config = {"pop3": {"lease_ttl": 0}}
    async with pop3_server(tmp_path, config) as server:
        assert Pop3Settings.from_section(server.kernel.config["pop3"]).lease_ttl == 1.0


@pytest.mark.parametrize(
    "bad",
    [
        {"expire": "soon"},
        {"utf8_messages": "maybe"},
        {"max_auth_failures": 0},
        {"lease_ttl": "forever"},
        {"no_such_option": True},
    ],
)
async def test_pop3_config_rejects(tmp_path: Path, bad: dict[str, object]) -> None:
    with pytest.RaisesGroup(ConfigError, flatten_subgroups=True, allow_unwrapped=True):
        async with pop3_server(tmp_path, {"pop3": bad}):
            pass


def test_pop3_protocol_spec() -> None:
    [spec] = stalwart_register_protocols()
    # RFC 1939 §3: an autologout timer of at least 10 minutes.
    assert spec.name == "pop3" and spec.idle_timeout == IDLE_TIMEOUT >= 600
    assert spec.busy_reply is not None and spec.busy_reply.startswith(b"-ERR [SYS/TEMP]")


async def test_pop3_config_warns_about_a_short_idle_timeout(tmp_path: Path) -> None:
    config = {"listeners": {"pop3": {"limits": {"idle_timeout": "30s"}}}}
    async with pop3_server(tmp_path, config) as server:
        warnings = [str(w) for w in server.kernel.config.warnings]
    # RFC 1939 §3: the autologout timer is at least 10 minutes.
    assert any("listeners.pop3.limits.idle_timeout" in w and "RFC 1939" in w for w in warnings)
    async with pop3_server(tmp_path / "default") as server:
        assert not [w for w in server.kernel.config.warnings if "RFC 1939" in str(w)]
