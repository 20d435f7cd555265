"""Helpers for the POP3 tests: a kernel serving POP3 with one account, clients for it."""

from __future__ import annotations

import poplib
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import trio

import plugins.pop3.plugin
from kernel import Kernel
from kernel.testing import listener_address, run_kernel
from plugins.pop3.testing import Pop3Transcript

T = TypeVar("T")
USER = "ann@example.org"
PASSWORD = "correct horse"
#: A plain-text listener; passwords allowed without TLS; no failure delay.
BASE_CONFIG: dict[str, Any] = {
    "auth": {"allow_plaintext_without_tls": True},
    "listeners": {"pop3": {"bind": "127.0.0.1:0", "protocol": "pop3", "tls": "none"}},
    "pop3": {"auth_failure_delay": 0},
}


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` merged into ``base``, nested mappings merged too."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def message(n: int, body: bytes = b"Hello.\r\n") -> bytes:
    """A small message numbered ``n``."""
    return (
        b"From: bob@example.org\r\nTo: ann@example.org\r\n"
        b"Subject: test %d\r\nMessage-ID: <%d@example.org>\r\n\r\n" % (n, n)
    ) + body


@dataclass
class Server:
    """A running kernel with the pop3 plugin and the account ``ann@example.org``."""

    kernel: Kernel
    host: str
    port: int
    account: int
    inbox: int

    async def deliver(self, raw: bytes) -> int:
        """Append ``raw`` to the INBOX; returns the email id."""
        return (await self.kernel.store.emails.append(self.account, raw, [self.inbox])).email

    async def inbox_emails(self) -> list[int]:
        """The email ids in the INBOX, in UID order."""
        members = await self.kernel.store.emails.in_mailbox(self.account, self.inbox)
        return [m.email for m in members]

    async def poplib(self, fn: Callable[[poplib.POP3], T], *, login: bool = True) -> T:
        """Run ``fn`` on a logged-in ``poplib.POP3`` client in a thread, then QUIT
        unless ``fn`` did (it may call ``quit()`` itself)."""
        return await trio.to_thread.run_sync(self._with_client, fn, login)

    def _with_client(self, fn: Callable[[poplib.POP3], T], login: bool) -> T:
        client = poplib.POP3(self.host, self.port, timeout=30)
        try:
            if login:
                client.user(USER)
                client.pass_(PASSWORD)
            return fn(client)
        finally:
            client.close()

    @asynccontextmanager
    async def transcript(self, *, greeting: bool = True) -> AsyncIterator[Pop3Transcript]:
        """A raw transcript client, connected (and the greeting read)."""
        stream = await trio.open_tcp_stream(self.host, self.port)
        try:
            t = Pop3Transcript(stream)
            if greeting:
                assert (await t.line()).startswith(b"+OK ")
            yield t
        finally:
            await stream.aclose()


@asynccontextmanager
async def pop3_server(
    tmp_path: Path, config: Mapping[str, Any] | None = None, listener: str = "pop3"
) -> AsyncIterator[Server]:
    """Run a kernel serving POP3 (``BASE_CONFIG`` merged with ``config``)."""
    merged = merge(BASE_CONFIG, config or {})
    async with run_kernel(
        tmp_path,
        plugins={"pop3": plugins.pop3.plugin},
        names=["directory", "pop3"],
        config=merged,
    ) as kernel:
        directory = kernel.store.directory
        await directory.add_domain("example.org")
        account = (await directory.add_account(USER, PASSWORD)).id
        inbox = await kernel.store.mailboxes.by_path(account, "INBOX")
        assert inbox is not None
        host, port = listener_address(kernel, listener)
        yield Server(kernel, host, port, account, inbox.id)


def insecure_context() -> ssl.SSLContext:
    """A client TLS context that trusts the kernel's generated certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
