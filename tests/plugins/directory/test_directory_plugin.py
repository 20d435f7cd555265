"""The directory plugin: first admin, authentication through the kernel, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernel import Credentials
from kernel.testing import run_kernel

CONFIG = {"directory": {"throttle": {"max_failures_per_ip": 3, "max_failures_per_account": 2}}}


def creds(user: str | None, secret: str, ip: str = "192.0.2.1", kind: str = "password"):
    return Credentials(kind=kind, username=user, secret=secret, protocol="imap", remote=ip)


async def test_first_admin_created_once_and_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with run_kernel(tmp_path, config=CONFIG, names=["directory"]) as kernel:
        [admin] = await kernel.store.directory.principals()
        assert (admin.name, admin.role) == ("admin", "admin")
    out = capsys.readouterr().out
    assert "login:    admin" in out
    password = out.split("password: ")[1].split()[0]
    async with run_kernel(tmp_path, config=CONFIG, names=["directory"]) as kernel:
        assert len(await kernel.store.directory.principals()) == 1
        assert (await kernel.authenticate(creds("admin", password))).ok
    assert "password:" not in capsys.readouterr().out  # shown only the first time


async def test_authenticate_through_kernel_and_throttle(tmp_path: Path) -> None:
    async with run_kernel(tmp_path, config=CONFIG, names=["directory"]) as kernel:
        d = kernel.store.directory
        await d.add_domain("example.org")
        await d.add_account("ann@example.org", "secret")
        assert (await kernel.authenticate(creds("ann@example.org", "secret"))).ok
        unknown = await kernel.authenticate(creds("ghost@example.org", "x"))
        assert not unknown.ok
        # Two failures for ann lock her account (from any address) for the window...
        for ip in ("198.51.100.1", "198.51.100.2"):
            assert not (await kernel.authenticate(creds("ann@example.org", "bad", ip))).ok
        locked = await kernel.authenticate(creds("ann@example.org", "secret", "203.0.113.9"))
        assert not locked.ok and locked.reason == "too many failures"
        # ...and three failures from one address block that address for everyone.
        await d.add_account("bob@example.org", "pw")
        assert (await kernel.authenticate(creds("bob@example.org", "pw", "192.0.2.50"))).ok
        for user in ("x@example.org", "y@example.org", "z@example.org"):
            assert not (await kernel.authenticate(creds(user, "guess", "192.0.2.50"))).ok
        blocked = await kernel.authenticate(creds("bob@example.org", "pw", "192.0.2.50"))
        assert blocked.ok is False and blocked.reason == "too many failures"
        assert (await kernel.authenticate(creds("bob@example.org", "pw", "192.0.2.51"))).ok
        token = await d.add_token("bob@example.org", "t")
        assert (await kernel.authenticate(creds(None, token, "10.0.0.1", kind="token"))).ok


def _cli(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    conf = tmp_path / "conf"
    conf.mkdir(exist_ok=True)
    (conf / "x.yaml").write_text("listeners: {http: null}\n")
    env = {k: v for k, v in os.environ.items() if k != "STALWART_KERNEL_CONFIG"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "kernel.cli",
            *args,
            "--data",
            str(tmp_path / "var"),
            "--config",
            str(conf),
        ],
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        timeout=60,
    )


def test_cli_manages_domains_accounts_aliases(tmp_path: Path) -> None:
    def ok(*args: str, stdin: str | None = None) -> str:
        result = _cli(tmp_path, *args, stdin=stdin)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert ok("domain", "add", "example.org") == "domain example.org added\n"
    assert ok("domain", "list") == "example.org\n"
    ok("account", "add", "ann@example.org", "--password", "pw", "--quota", "1GB")
    ok("account", "add", "bob@example.org", stdin="from-stdin\n")
    ok("alias", "add", "sales@example.org", "ann@example.org")
    assert ok("alias", "list") == "sales@example.org -> ann@example.org\n"
    listing = ok("account", "list")
    assert "ann@example.org  individual  quota=0/1073741824" in listing
    secret = ok("account", "app-password", "add", "ann@example.org", "phone").split(": ")[1]
    assert "phone  created" in ok("account", "app-password", "list", "ann@example.org")
    ok("account", "token", "add", "ann@example.org", "ci", "--expires", "30d")
    ok("account", "quota", "ann@example.org", "unlimited")
    ok("account", "disable", "bob@example.org")
    assert "bob@example.org  individual  quota=0/unlimited  disabled" in ok("account", "list")
    failed = _cli(tmp_path, "account", "add", "x@unknown.example", "--password", "p")
    assert failed.returncode == 1
    assert "unknown.example is not a local domain" in failed.stderr
    assert _cli(tmp_path, "domain", "add", "example.org").returncode == 1
    assert secret.strip()
