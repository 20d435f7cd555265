"""QUOTA=RES-MESSAGE (RFC 9208 §5.2) over a real socket: the MESSAGE resource in
GETQUOTA/GETQUOTAROOT, [OVERQUOTA] on APPEND, COPY and local delivery, STATUS
DELETED, the CLI, and JMAP's ``count`` Quota."""

from __future__ import annotations

import imaplib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.errors import QuotaExceeded
from plugins.imap.testing import (
    PASSWORD,
    USER,
    Transcript,
    imap_server,
    imaplib_session,
    message,
)


async def _append(t: Transcript, subject: str, mailbox: str = "INBOX", expect: str = "ok"):
    data = message(subject)
    return await t.transact(
        f"APPEND {mailbox} {{{len(data)}+}}\r\n".encode() + data,
        expect=expect,  # type: ignore[arg-type]
    )


async def test_imap_quota_messages_reported_and_enforced(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await kernel.store.directory.update(USER, quota_messages=3)
        await t.transact(f"LOGIN {USER} {PASSWORD}")
        caps = (await t.transact("CAPABILITY")).untagged[0]
        assert b" QUOTA=RES-MESSAGE " in caps and b" QUOTA=RES-STORAGE " in caps
        res = await t.transact("GETQUOTAROOT INBOX")
        assert res.untagged == [b'* QUOTAROOT INBOX ""', b'* QUOTA "" (MESSAGE 0 3)']
        await _append(t, "one")
        await _append(t, "two")
        res = await t.transact('GETQUOTA ""')
        assert res.untagged == [b'* QUOTA "" (MESSAGE 2 3)']
        # COPY within the account: a second membership of the same email
        # counts once, like STORAGE (see docs/imap.md).
        await t.transact("SELECT INBOX")
        await t.transact("COPY 1 Archive")
        assert (await t.transact('GETQUOTA ""')).untagged == [b'* QUOTA "" (MESSAGE 2 3)']
        await _append(t, "three")
        res = await _append(t, "four", expect="no")
        assert b"[OVERQUOTA]" in res.tagged
        # COPY into a mailbox that already holds the email makes a new one: refused.
        res = await t.transact("COPY 1 INBOX", expect="no")
        assert b"[OVERQUOTA]" in res.tagged
        # With a storage limit too, both resources are listed.
        await kernel.store.directory.update(USER, quota=1024 * 1024)
        res = await t.transact('GETQUOTA ""')
        [line] = res.untagged
        assert line.startswith(b'* QUOTA "" (STORAGE 1 1024 MESSAGE 3 3)'), line
        # Expunging frees the count (RFC 9208 §5.2: an exact number).
        await t.transact("STORE 1:* +FLAGS (\\Deleted)")
        await t.transact("EXPUNGE")
        # Keywords belong to the email, so the copy in Archive is flagged deleted too.
        res = await t.transact("STATUS Archive (MESSAGES DELETED)")
        assert res.untagged == [b"* STATUS Archive (MESSAGES 1 DELETED 1)"]
        res = await t.transact('GETQUOTA ""')
        assert res.untagged[0].endswith(b" MESSAGE 1 3)")
        await _append(t, "five")
        # Removing the limit removes the resource (and the root, with no limit left).
        await kernel.store.directory.update(USER, quota=0, quota_messages=0)
        res = await t.transact("GETQUOTAROOT INBOX")
        assert res.untagged == [b"* QUOTAROOT INBOX"]


async def test_imap_quota_messages_delivery_refused(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        await kernel.store.directory.update(USER, quota_messages=1)
        account = (await kernel.store.directory.principal(USER)).id
        inbox = (await kernel.store.mailboxes.by_path(account, "INBOX")).id
        # Local delivery goes through this same store call (plugins.smtp.delivery).
        await kernel.store.emails.append(account, message("a"), [inbox], delivered=True)
        with pytest.raises(QuotaExceeded):
            await kernel.store.emails.append(account, message("b"), [inbox], delivered=True)
        principal = await kernel.store.directory.principal(USER)
        assert (principal.used_messages, principal.quota_messages) == (1, 1)

        def run(client: imaplib.IMAP4) -> None:
            typ, data = client.getquotaroot("INBOX")
            assert typ == "OK"
            assert data == [[b'INBOX ""'], [b'"" (MESSAGE 1 1)']]
            typ, data = client.append("INBOX", None, None, message("c"))
            assert typ == "NO" and b"[OVERQUOTA]" in data[0]

        await imaplib_session(kernel, run)


async def test_imap_quota_messages_jmap_count_quota(tmp_path: Path) -> None:
    """RFC 9425 §4.1: the same limit and usage as a ``count`` Quota, over HTTP."""
    from tests.plugins.jmap.jmap_support import CORE, MAIL, jmap_server
    from tests.plugins.jmap.jmap_support import USER as JMAP_USER

    using = [CORE, MAIL, "urn:ietf:params:jmap:quota"]
    async with jmap_server(tmp_path) as server:
        await server.kernel.store.directory.update(JMAP_USER, quota_messages=10, quota=1 << 20)
        await server.deliver(message("a"))
        args = {"accountId": server.account_id, "ids": None}
        _, got = await server.call("Quota/get", args, using=using)
        by_type = {q["resourceType"]: q for q in got["list"]}
        assert set(by_type) == {"octets", "count"}
        count = by_type["count"]
        assert (count["used"], count["hardLimit"], count["types"]) == (1, 10, ["Mail"])
        assert count["id"] != by_type["octets"]["id"]
        query = {"accountId": server.account_id, "filter": {"resourceType": "count"}}
        _, found = await server.call("Quota/query", query, using=using)
        assert found["ids"] == [count["id"]]
        await server.kernel.store.directory.update(JMAP_USER, quota_messages=0)
        _, got = await server.call("Quota/get", args, using=using)
        assert [q["resourceType"] for q in got["list"]] == ["octets"]


def test_imap_quota_messages_cli(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "x.yaml").write_text("listeners: {http: null}\n")
    env = {k: v for k, v in os.environ.items() if k != "STALWART_KERNEL_CONFIG"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "kernel.cli", *args]
        command += ["--data", str(tmp_path / "var"), "--config", str(conf)]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)

    assert cli("domain", "add", "example.org").returncode == 0
    added = cli("account", "add", USER, "--password", "pw", "--message-quota", "500")
    assert added.returncode == 0, added.stderr
    assert f"{USER}  individual  quota=0/unlimited  messages=0/500" in cli("account", "list").stdout
    done = cli("account", "message-quota", USER, "unlimited")
    assert done.stdout == f"message quota of {USER} set to unlimited\n"
    assert "messages=" not in cli("account", "list").stdout
    assert cli("account", "message-quota", USER, "lots").returncode == 2
