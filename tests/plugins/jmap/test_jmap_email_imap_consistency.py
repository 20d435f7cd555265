"""One account driven through IMAP (imaplib) and JMAP (httpx) at once: flags set in IMAP
appear in Email/get and Email/changes, an IMAP APPEND is found by Email/query, an IMAP
EXPUNGE is a destroyed id in Email/changes, and JMAP keyword changes show in IMAP FETCH."""

from __future__ import annotations

import imaplib
from pathlib import Path
from typing import Any

import trio
from jmap_support import PASSWORD, USER, jmap_server

from kernel.testing import listener_address

IMAP_CONFIG: dict[str, Any] = {
    "listeners": {"imap": {"bind": "127.0.0.1:0", "protocol": "imap", "tls": "none"}}
}


async def test_jmap_email_imap_consistency(tmp_path: Path) -> None:
    async with jmap_server(tmp_path, IMAP_CONFIG, extra_plugins=("imap",)) as server:
        host, port = listener_address(server.kernel, "imap")
        account = server.account_id
        imap = await trio.to_thread.run_sync(imaplib.IMAP4, host, port)
        try:
            await trio.to_thread.run_sync(imap.login, USER, PASSWORD)
            await trio.to_thread.run_sync(imap.select, "INBOX")

            async def jmap(name: str, args: dict[str, Any]) -> dict[str, Any]:
                got_name, got = await server.call(name, {"accountId": account, **args})
                assert got_name == name, got
                return got

            start = (await jmap("Email/get", {"ids": []}))["state"]
            raw = (
                b"From: imap@example.org\r\nTo: ann@example.org\r\n"
                b"Subject: appended over IMAP pelican\r\nMessage-ID: <imap1@example.org>\r\n"
                b"\r\nbody text\r\n"
            )
            typ, _ = await trio.to_thread.run_sync(imap.append, "INBOX", "(\\Flagged)", None, raw)
            assert typ == "OK"
            # APPEND is seen by Email/query (text search included) and Email/changes.
            found = await jmap("Email/query", {"filter": {"text": "pelican"}})
            [email_id] = found["ids"]
            changes = await jmap("Email/changes", {"sinceState": start})
            assert changes["created"] == [email_id]
            got = await jmap(
                "Email/get", {"ids": [email_id], "properties": ["keywords", "subject"]}
            )
            assert got["list"][0]["keywords"] == {"$flagged": True}
            # Flags set in IMAP appear in Email/get and as an update in Email/changes.
            after_append = changes["newState"]
            typ, _ = await trio.to_thread.run_sync(
                imap.uid, "STORE", "1", "+FLAGS", "(\\Seen $Important)"
            )
            assert typ == "OK"
            changes = await jmap("Email/changes", {"sinceState": after_append})
            assert changes["updated"] == [email_id] and changes["created"] == []
            got = await jmap("Email/get", {"ids": [email_id], "properties": ["keywords"]})
            assert got["list"][0]["keywords"] == {
                "$flagged": True,
                "$seen": True,
                "$important": True,
            }
            # A JMAP keyword change shows in IMAP FETCH FLAGS.
            updated = await jmap("Email/set", {"update": {email_id: {"keywords/$flagged": None}}})
            assert updated["updated"] == {email_id: None}
            typ, data = await trio.to_thread.run_sync(imap.uid, "FETCH", "1", "(FLAGS)")
            flags = data[0].decode() if isinstance(data[0], bytes) else str(data[0])
            assert "\\Seen" in flags and "\\Flagged" not in flags
            # EXPUNGE in IMAP is a destroyed id in Email/changes.
            before_expunge = updated["newState"]
            await trio.to_thread.run_sync(imap.uid, "STORE", "1", "+FLAGS", "(\\Deleted)")
            typ, _ = await trio.to_thread.run_sync(imap.expunge)
            assert typ == "OK"
            changes = await jmap("Email/changes", {"sinceState": before_expunge})
            assert changes["destroyed"] == [email_id]
            assert (await jmap("Email/query", {"filter": {"text": "pelican"}}))["ids"] == []
            got = await jmap("Email/get", {"ids": [email_id]})
            assert got["notFound"] == [email_id]
            await trio.to_thread.run_sync(imap.logout)
        finally:
            if imap.state != "LOGOUT":
                await trio.to_thread.run_sync(imap.shutdown)
