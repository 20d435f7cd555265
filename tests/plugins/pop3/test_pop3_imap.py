"""POP3 and IMAP on one store: what one protocol does, the other sees at once.

One kernel serves both protocols (the installed ``pop3`` and ``imap`` plugins);
real clients (poplib, imaplib) talk to it over sockets.
"""

from __future__ import annotations

import imaplib
import poplib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from kernel import Kernel
from kernel.testing import listener_address, run_kernel

USER, PASSWORD = "ann@example.org", "correct horse"
CONFIG: dict[str, Any] = {
    "auth": {"allow_plaintext_without_tls": True},
    "pop3": {"auth_failure_delay": 0},
    "listeners": {
        "pop3": {"bind": "127.0.0.1:0", "protocol": "pop3", "tls": "none"},
        "imap": {"bind": "127.0.0.1:0", "protocol": "imap", "tls": "none"},
    },
}


def message(n: int) -> bytes:
    return (
        f"From: bob@example.org\r\nTo: {USER}\r\nSubject: note {n}\r\n"
        f"Message-ID: <{n}@example.org>\r\n\r\nBody {n}.\r\n"
    ).encode()


@asynccontextmanager
async def both(tmp_path: Path) -> AsyncIterator[tuple[Kernel, int, int]]:
    async with run_kernel(tmp_path, names=["directory", "pop3", "imap"], config=CONFIG) as kernel:
        await kernel.store.directory.add_domain("example.org")
        account = (await kernel.store.directory.add_account(USER, PASSWORD)).id
        inbox = await kernel.store.mailboxes.by_path(account, "INBOX")
        assert inbox is not None
        yield kernel, account, inbox.id


def pop3(kernel: Kernel) -> poplib.POP3:
    client = poplib.POP3(*listener_address(kernel, "pop3"), timeout=15)
    client.user(USER)
    client.pass_(PASSWORD)
    return client


def imap(kernel: Kernel) -> imaplib.IMAP4:
    client = imaplib.IMAP4(*listener_address(kernel, "imap"), timeout=15)
    client.login(USER, PASSWORD)
    return client


async def run(fn: Any, *args: Any) -> Any:
    return await trio.to_thread.run_sync(fn, *args)


async def test_pop3_delete_is_seen_by_an_open_imap_session(tmp_path: Path) -> None:
    async with both(tmp_path) as (kernel, account, inbox):
        for n in (1, 2, 3):
            await kernel.store.emails.append(account, message(n), [inbox])
        watcher = await run(imap, kernel)
        try:
            typ, data = await run(watcher.select, "INBOX")
            assert typ == "OK" and data == [b"3"]

            def delete_second() -> None:
                client = pop3(kernel)
                assert client.stat()[0] == 3
                client.dele(2)
                client.quit()  # the UPDATE state: the deletion happens here

            await run(delete_second)
            # RFC 9051 §7.5.1: the open session learns of the expunge at its next command.
            await run(watcher.noop)
            assert watcher.untagged_responses.get("EXPUNGE") == [b"2"]
            typ, data = await run(watcher.uid, "SEARCH", "ALL")
            assert data == [b"1 3"]
            typ, data = await run(watcher.fetch, "2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            assert b"note 3" in data[0][1]
        finally:
            await run(watcher.logout)


async def test_pop3_sees_imap_expunge_and_keeps_its_session_snapshot(tmp_path: Path) -> None:
    async with both(tmp_path) as (kernel, account, inbox):
        for n in (1, 2):
            await kernel.store.emails.append(account, message(n), [inbox])

        def uidls() -> list[bytes]:
            client = pop3(kernel)
            try:
                return [line.split()[1] for line in client.uidl()[1]]
            finally:
                client.quit()

        before = await run(uidls)
        assert len(before) == 2

        def imap_delete_first() -> None:
            client = imap(kernel)
            client.select("INBOX")
            client.store("1", "+FLAGS", "(\\Deleted)")
            client.expunge()
            client.logout()

        await run(imap_delete_first)
        assert await run(uidls) == before[1:]  # the survivor keeps its unique-id

        # A message APPENDed over IMAP while a POP3 session is open is not part of
        # that session's maildrop (RFC 1939 §8), only of the next one.
        def imap_append() -> str:
            client = imap(kernel)
            try:
                return str(client.append("INBOX", None, None, message(3))[0])
            finally:
                client.logout()

        session = await run(pop3, kernel)
        try:
            assert await run(imap_append) == "OK"
            assert (await run(session.stat))[0] == 1
        finally:
            await run(session.quit)
        assert len(await run(uidls)) == 2
