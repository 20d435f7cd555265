"""Helpers of the Sieve delivery tests: a kernel serving SMTP and IMAP with the sieve plugin.

The directory: domain ``example.org``; accounts ``ann@example.org`` (password
``ann-secret``) and ``bob@example.org`` (``bob-secret``). Listeners ``mta`` (SMTP,
role mta) and ``imap`` bind ``127.0.0.1:0`` without TLS. Mail goes in over SMTP
(smtplib) and is read back over IMAP (imapclient), both in worker threads.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import imapclient
import trio

import plugins.imap.plugin
import plugins.sieve.plugin
import plugins.smtp.plugin
from kernel import Kernel
from kernel.testing import listener_address, run_kernel
from plugins.sieve import compile_script
from plugins.sieve.runner import encode_compiled

T = TypeVar("T")

ANN = "ann@example.org"
BOB = "bob@example.org"
PASSWORDS = {ANN: "ann-secret", BOB: "bob-secret"}


def message(
    subject: str = "hello",
    *,
    sender: str = "carol@remote.example",
    to: str = ANN,
    message_id: str = "<1@remote.example>",
    extra: str = "",
    body: str = "Hi Ann.",
) -> bytes:
    """A small RFC 5322 message."""
    return (
        f"From: Carol <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\n{extra}\r\n{body}\r\n"
    ).encode()


def config(
    sieve: dict[str, Any] | None = None, smtp: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "server": {"hostname": "mx.example.org"},
        "auth": {"allow_plaintext_without_tls": True},
        "listeners": {
            "mta": {"bind": "127.0.0.1:0", "protocol": "smtp", "role": "mta", "tls": "none"},
            "imap": {"bind": "127.0.0.1:0", "protocol": "imap", "tls": "none"},
        },
        "sieve": sieve or {},
        # Queued messages stay queued: no delivery attempt leaves this machine.
        "smtp": {"queue": {"enabled": False}, **(smtp or {})},
    }


@dataclass
class Server:
    kernel: Kernel
    accounts: dict[str, int] = field(default_factory=dict)

    async def install(self, user: str, source: str, *, cache: bool = True) -> None:
        """Store ``source`` as ``user``'s active script (compiled cache unless ``cache``
        is false or the script does not compile)."""
        compiled = None
        if cache:
            try:
                compiled = encode_compiled(compile_script(source))
            except Exception:
                compiled = None
        account = self.accounts[user]
        await self.kernel.store.sieve.put(account, "main", source.encode(), compiled)
        await self.kernel.store.sieve.set_active(account, "main")

    async def send(
        self,
        data: bytes,
        rcpts: list[str],
        sender: str = "carol@remote.example",
        rcpt_options: list[str] | None = None,
    ) -> dict[str, tuple[int, bytes]]:
        """Send one message over SMTP; the refused recipients (smtplib's dict).

        ``rcpt_options`` go on every RCPT (e.g. ``ORCPT=rfc822;...``; needs ``smtp.dsn``).
        """
        address = listener_address(self.kernel, "mta")

        def run() -> dict[str, tuple[int, bytes]]:
            with smtplib.SMTP(*address, local_hostname="client.example", timeout=15) as smtp:
                return smtp.sendmail(sender, rcpts, data, rcpt_options=rcpt_options or [])

        return await in_thread(run)

    async def imap(self, user: str, fn: Callable[[imapclient.IMAPClient], T]) -> T:
        """Run ``fn`` with a logged-in imapclient for ``user``."""
        address = listener_address(self.kernel, "imap")

        def run() -> T:
            client = imapclient.IMAPClient(address[0], port=address[1], ssl=False, timeout=15)
            try:
                client.login(user, PASSWORDS[user])
                return fn(client)
            finally:
                client.logout()

        return await in_thread(run)

    async def folder(self, user: str, name: str = "INBOX") -> list[tuple[set[bytes], bytes]]:
        """The (flags, message) pairs of ``name`` read over IMAP."""

        def read(c: imapclient.IMAPClient) -> list[tuple[set[bytes], bytes]]:
            c.select_folder(name, readonly=True)
            ids = c.search()
            data = c.fetch(ids, ["FLAGS", "BODY.PEEK[]"])
            return [(set(data[i][b"FLAGS"]), data[i][b"BODY[]"]) for i in sorted(data)]

        return await self.imap(user, read)

    async def queued(self) -> list[tuple[bytes, str, list[str]]]:
        """The (message, return path, recipients) of the outbound queue, oldest first."""
        queue = self.kernel.store.queue
        found = []
        for item in sorted(await queue.list(), key=lambda m: m.id):
            rcpts = [r.recipient for r in item.recipients]
            found.append((await queue.raw(item.id), item.return_path, rcpts))
        return found

    def drop_queue(self) -> None:
        """Behave as a store without an outbound queue."""
        self.kernel.store.queue = None  # type: ignore[assignment]


@asynccontextmanager
async def sieve_server(
    tmp_path: Path, sieve: dict[str, Any] | None = None, smtp: dict[str, Any] | None = None
) -> AsyncIterator[Server]:
    """A kernel with the directory, smtp, imap and sieve plugins and two accounts."""
    extra = {
        "smtp": plugins.smtp.plugin,
        "imap": plugins.imap.plugin,
        "sieve": plugins.sieve.plugin,
    }
    async with run_kernel(
        tmp_path, plugins=extra, names=["directory", *extra], config=config(sieve, smtp)
    ) as kernel:
        directory = kernel.store.directory
        await directory.add_domain("example.org")
        server = Server(kernel)
        for user, password in PASSWORDS.items():
            server.accounts[user] = (await directory.add_account(user, password)).id
        yield server


async def in_thread(fn: Callable[[], T]) -> T:
    """Run a blocking client exchange in a worker thread."""
    return await trio.to_thread.run_sync(fn)


@contextmanager
def sieve_log() -> Iterator[list[logging.LogRecord]]:
    """Capture the ``stalwart.sieve`` log records of the block."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect(logging.DEBUG)
    logger = logging.getLogger("stalwart.sieve")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def events(records: list[logging.LogRecord], name: str) -> list[dict[str, object]]:
    """The fields of each record of event ``name``."""
    found = []
    for record in records:
        if getattr(record, "stalwart_event", None) == name:
            found.append(dict(getattr(record, "stalwart_fields", {}) or {}))
    return found
