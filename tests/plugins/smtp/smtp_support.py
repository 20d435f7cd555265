"""Shared helpers of the smtp plugin's tests: a running kernel with a small directory.

The directory: local domains ``example.org`` and ``catch.example``; accounts
``ann@example.org`` (password ``ann-secret``) and ``bob@example.org``
(``bob-secret``, quota set per test); ``info@example.org`` is an alias of ann;
``@catch.example`` is a catch-all for bob; ``admin`` (created by the directory
plugin) answers for ``postmaster``. Listeners bind ``127.0.0.1:0`` without TLS
unless a test asks for it.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import trio

import plugins.smtp.plugin
from kernel import Kernel
from kernel.testing import listener_address, run_kernel

T = TypeVar("T")


def listener(role: str, tls: str = "none", **extra: Any) -> dict[str, Any]:
    return {"bind": "127.0.0.1:0", "protocol": "smtp", "role": role, "tls": tls, **extra}


def config(
    smtp: dict[str, Any] | None = None,
    listeners: dict[str, Any] | None = None,
    plaintext: bool = True,
) -> dict[str, Any]:
    smtp = dict(smtp or {})
    # No queue manager unless a test asks for one: queued mail for a remote
    # domain would otherwise be looked up in the real DNS.
    smtp.setdefault("queue", {"enabled": False})
    return {
        "server": {"hostname": "mx.example.org"},
        "auth": {"allow_plaintext_without_tls": plaintext},
        "listeners": listeners or {"mta": listener("mta"), "submission": listener("submission")},
        "smtp": smtp,
    }


@dataclass
class Server:
    kernel: Kernel
    ann: int
    bob: int

    def address(self, name: str = "mta") -> tuple[str, int]:
        return listener_address(self.kernel, name)

    async def inbox(self, account: int, mailbox: str = "INBOX") -> list[bytes]:
        store = self.kernel.store
        found = await store.mailboxes.by_path(account, mailbox)
        assert found is not None
        members = await store.emails.in_mailbox(account, found.id)
        return [await store.emails.raw(account, m.email) for m in members]


@asynccontextmanager
async def smtp_server(
    tmp_path: Path,
    conf: dict[str, Any] | None = None,
    extra_plugins: dict[str, object] | None = None,
) -> AsyncIterator[Server]:
    plugins = {"smtp": plugins_smtp(), **(extra_plugins or {})}
    names = ["directory", *plugins]
    async with run_kernel(tmp_path, plugins=plugins, names=names, config=conf or config()) as k:
        directory = k.store.directory
        await directory.add_domain("example.org")
        await directory.add_domain("catch.example")
        ann = await directory.add_account("ann@example.org", "ann-secret")
        bob = await directory.add_account("bob@example.org", "bob-secret")
        await directory.add_alias("info@example.org", "ann@example.org")
        await directory.add_alias("@catch.example", "bob@example.org")
        yield Server(k, ann.id, bob.id)


def plugins_smtp() -> object:
    return plugins.smtp.plugin


async def in_thread(fn: Callable[[], T]) -> T:
    """Run a blocking smtplib exchange in a worker thread."""
    return await trio.to_thread.run_sync(fn)


def client(address: tuple[str, int]) -> smtplib.SMTP:
    return smtplib.SMTP(address[0], address[1], local_hostname="client.example", timeout=10)


def unverified_context() -> ssl.SSLContext:
    """The kernel's certificate in tests is self-signed."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


MESSAGE = (
    b"From: Carol <carol@remote.example>\r\n"
    b"To: ann@example.org\r\n"
    b"Subject: hello\r\n"
    b"Message-ID: <1@remote.example>\r\n"
    b"\r\n"
    b"Hi Ann.\r\n"
)
