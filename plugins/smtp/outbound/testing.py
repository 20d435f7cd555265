"""Test helpers for outbound delivery: remote servers on loopback addresses, waiting.

A test runs the sending kernel, a :func:`kernel.testing.dns.dns_server` whose
zones point MX names at ``127.0.0.2`` / ``127.0.0.3``, and one or more
:func:`remote_server` kernels listening there on one port, which the sender
reaches through ``smtp.queue.remote_port``::

    async with dns_server(zones(port)) as dns, remote_server(tmp, "127.0.0.2") as mx1:
        conf = sender_config(dns, mx1.port)
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from kernel import Kernel
from kernel.testing import listener_address, run_kernel
from kernel.testing.dns import DnsServer

__all__ = [
    "RemoteServer",
    "inbox",
    "queue_settings",
    "remote_server",
    "remote_zones",
    "wait_until",
]


def remote_zones(domain: str = "remote.test") -> dict[str, dict[str, list[str]]]:
    """``domain`` with MX 10 ``mx1`` (127.0.0.2) and MX 20 ``mx2`` (127.0.0.3)."""
    return {
        domain: {"MX": [f"10 mx1.{domain}.", f"20 mx2.{domain}."]},
        f"mx1.{domain}": {"A": ["127.0.0.2"]},
        f"mx2.{domain}": {"A": ["127.0.0.3"]},
    }


def queue_settings(dns: DnsServer, remote_port: int, **extra: Any) -> dict[str, Any]:
    """``smtp.queue`` for tests: the fixture resolver, the remote port, fast retries."""
    base: dict[str, Any] = {
        "resolver": {"nameservers": [dns.host], "port": dns.port, "timeout": "5s"},
        "remote_port": remote_port,
        "retry": {"initial": "100ms", "max": "1s"},
        "warn_after": 0,
        "poll_interval": "5s",
        "connect_timeout": "5s",
        "command_timeout": "10s",
        "data_timeout": "10s",
    }
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


@dataclass
class RemoteServer:
    """A second instance of this server acting as a remote MX."""

    kernel: Kernel
    accounts: dict[str, int]

    @property
    def port(self) -> int:
        return listener_address(self.kernel, "mta")[1]

    def address(self, name: str = "mta") -> tuple[str, int]:
        return listener_address(self.kernel, name)

    async def inbox(self, login: str) -> list[bytes]:
        return await inbox(self.kernel, self.accounts[login])


@asynccontextmanager
async def remote_server(
    tmp_path: Path,
    host: str,
    port: int = 0,
    *,
    domain: str = "remote.test",
    users: tuple[str, ...] = ("rita",),
    extra_plugins: Mapping[str, object] | None = None,
    smtp: Mapping[str, Any] | None = None,
    submission: bool = False,
    tls: str = "none",
) -> AsyncIterator[RemoteServer]:
    """A kernel serving ``domain`` (accounts ``<user>@<domain>``, password ``secret``)
    with an ``mta`` listener on ``host:port``; its own queue manager is idle."""
    import plugins.smtp.plugin

    bind_host = f"[{host}]" if ":" in host else host
    listeners: dict[str, Any] = {
        "mta": {"bind": f"{bind_host}:{port}", "protocol": "smtp", "role": "mta", "tls": tls}
    }
    if submission:
        listeners["submission"] = {
            "bind": f"{bind_host}:0",
            "protocol": "smtp",
            "role": "submission",
            "tls": "none",
        }
    plugins: dict[str, object] = {"smtp": plugins.smtp.plugin, **(extra_plugins or {})}
    config = {
        "server": {"hostname": f"mx.{domain}"},
        "auth": {"allow_plaintext_without_tls": True},
        "listeners": listeners,
        "smtp": dict(smtp or {}),
    }
    directory = tmp_path / f"remote-{host}-{domain}"
    directory.mkdir(parents=True, exist_ok=True)
    async with run_kernel(
        directory, plugins=plugins, names=["directory", *plugins], config=config
    ) as kernel:
        await kernel.store.directory.add_domain(domain)
        accounts = {}
        for user in users:
            principal = await kernel.store.directory.add_account(f"{user}@{domain}", "secret")
            accounts[user] = principal.id
        yield RemoteServer(kernel, accounts)


async def inbox(kernel: Kernel, account: int, mailbox: str = "INBOX") -> list[bytes]:
    """The raw messages in one of ``account``'s mailboxes, in UID order."""
    store = kernel.store
    found = await store.mailboxes.by_path(account, mailbox)
    if found is None:
        return []
    members = await store.emails.in_mailbox(account, found.id)
    return [await store.emails.raw(account, m.email) for m in members]


async def wait_until(
    condition: Callable[[], Awaitable[object]], *, timeout: float = 20.0, interval: float = 0.02
) -> Any:
    """Poll ``condition`` until it returns something truthy (that value), or fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await trio.sleep(interval)
