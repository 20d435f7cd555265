"""One account driven through IMAP (imapclient) and JMAP (httpx) at once: a JMAP
rename is seen by IMAP LIST, an IMAP APPEND is pushed over EventSource and counted
by Mailbox/get, an IMAP EXPUNGE destroys the thread seen by Thread/changes."""

from __future__ import annotations

import json
from pathlib import Path

import imapclient
import trio
from jmap_support import PASSWORD, USER, basic, jmap_server, message

from kernel.testing import listener_address

TIMEOUT = 30
CONFIG = {"listeners": {"imap": {"bind": "127.0.0.1:0", "protocol": "imap", "tls": "none"}}}


def _imap(address: tuple[str, int]) -> imapclient.IMAPClient:
    client = imapclient.IMAPClient(address[0], port=address[1], ssl=False, timeout=15)
    client.login(USER, PASSWORD)
    return client


async def test_jmap_and_imap_see_each_other(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path, CONFIG, extra_plugins=("imap",)) as server:
            address = listener_address(server.kernel, "imap")
            _, created = await server.call(
                "Mailbox/set",
                {"accountId": server.account_id, "create": {"p": {"name": "Projects"}}},
            )
            projects = created["created"]["p"]["id"]
            _, renamed = await server.call(
                "Mailbox/set",
                {"accountId": server.account_id, "update": {projects: {"name": "Plans"}}},
            )
            assert renamed["updated"] == {projects: None}

            def listing() -> list[str]:
                client = _imap(address)
                try:
                    return [name for _, _, name in client.list_folders()]
                finally:
                    client.logout()

            folders = await trio.to_thread.run_sync(listing)
            assert "Plans" in folders and "Projects" not in folders
            _, before = await server.call(
                "Mailbox/get", {"accountId": server.account_id, "ids": [server.inbox_id]}
            )
            url = server.base + "/jmap/eventsource/"
            params = {"types": "Mailbox", "closeafter": "state", "ping": "0"}
            async with server.client.stream("GET", url, params=params, headers=basic()) as resp:
                lines = resp.aiter_lines()
                assert (await lines.__anext__()).startswith(":")

                def append() -> None:
                    client = _imap(address)
                    try:
                        client.append("INBOX", message(7))
                    finally:
                        client.logout()

                await trio.to_thread.run_sync(append)
                start = trio.current_time()
                change = None
                async for line in lines:
                    if line.startswith("data: "):
                        change = json.loads(line[6:])
                        break
                assert trio.current_time() - start < 1.0
            assert change is not None
            new_state = change["changed"][server.account_id]["Mailbox"]
            _, after = await server.call(
                "Mailbox/get", {"accountId": server.account_id, "ids": [server.inbox_id]}
            )
            assert after["state"] == new_state != before["state"]
            assert after["list"][0]["totalEmails"] == before["list"][0]["totalEmails"] + 1
            # IMAP EXPUNGE: the email's thread is destroyed for JMAP.
            state = after["state"]

            def expunge() -> None:
                client = _imap(address)
                try:
                    client.select_folder("INBOX")
                    client.delete_messages(client.search())
                    client.expunge()
                finally:
                    client.logout()

            await trio.to_thread.run_sync(expunge)
            _, threads = await server.call(
                "Thread/changes", {"accountId": server.account_id, "sinceState": state}
            )
            assert len(threads["destroyed"]) == 1
            _, boxes = await server.call(
                "Mailbox/changes", {"accountId": server.account_id, "sinceState": state}
            )
            assert boxes["updated"] == [server.inbox_id]
            assert boxes["updatedProperties"] is not None
