"""Real client libraries against the server: imapclient (and imaplib) over sockets."""

from __future__ import annotations

from pathlib import Path

import imapclient
import trio

from kernel.testing import listener_address
from plugins.imap.testing import PASSWORD, USER, imap_server, message


def _client(address: tuple[str, int]) -> imapclient.IMAPClient:
    client = imapclient.IMAPClient(address[0], port=address[1], ssl=False, timeout=15)
    client.login(USER, PASSWORD)
    return client


async def test_clients_imapclient_everyday_session(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        address = listener_address(kernel, "imap")

        def run() -> None:
            c = _client(address)
            try:
                caps = c.capabilities()
                assert b"IMAP4REV2" in caps and b"QRESYNC" in caps
                assert c.enable("CONDSTORE") == [b"CONDSTORE"]
                folders = {f[2]: f[0] for f in c.list_folders()}
                assert b"\\Sent" in folders["Sent"]
                assert c.find_special_folder(imapclient.imapclient.SENT) == "Sent"
                c.create_folder("Projects/Alpha")
                c.append("INBOX", message("hello"), flags=[imapclient.SEEN])
                c.append("INBOX", message("second", body="needle in here"))
                info = c.select_folder("INBOX")
                assert info[b"EXISTS"] == 2 and b"HIGHESTMODSEQ" in info
                assert c.search(["UNSEEN"]) == [2]
                assert c.search(["BODY", "needle"]) == [2]
                data = c.fetch(
                    [1, 2], ["ENVELOPE", "BODYSTRUCTURE", "FLAGS", "RFC822.SIZE", "MODSEQ"]
                )
                assert data[1][b"ENVELOPE"].subject == b"hello"
                assert imapclient.SEEN in data[1][b"FLAGS"]
                assert data[2][b"BODYSTRUCTURE"][0].lower() == b"text"
                c.add_flags([2], [imapclient.FLAGGED])
                assert imapclient.FLAGGED in c.get_flags([2])[2]
                c.move([1], "Projects/Alpha")
                assert c.folder_status("Projects/Alpha", ["MESSAGES"])[b"MESSAGES"] == 1
                assert c.search() == [2]  # imapclient uses UIDs
                c.copy([2], "Archive")
                c.delete_messages([2])
                c.expunge()
                assert c.search() == []
                quota = c.get_quota_root("INBOX")
                assert quota[0].quota_roots == []
                c.rename_folder("Projects/Alpha", "Projects/Beta")
                assert c.folder_exists("Projects/Beta") and not c.folder_exists("Projects/Alpha")
                c.unselect_folder()
                c.delete_folder("Projects/Beta")
            finally:
                c.logout()

        await trio.to_thread.run_sync(run)


async def test_clients_imapclient_idle_sees_delivery(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        address = listener_address(kernel, "imap")
        account = (await kernel.store.directory.principal(USER)).id
        inbox = (await kernel.store.mailboxes.by_path(account, "INBOX")).id
        idling = trio.Event()
        token = trio.lowlevel.current_trio_token()

        def run() -> list:
            c = _client(address)
            try:
                c.select_folder("INBOX")
                c.idle()
                trio.from_thread.run_sync(idling.set, trio_token=token)
                responses = c.idle_check(timeout=15)
                c.idle_done()
                return responses
            finally:
                c.logout()

        async with trio.open_nursery() as nursery:
            result: list = []

            async def client() -> None:
                result.extend(await trio.to_thread.run_sync(run))

            nursery.start_soon(client)
            await idling.wait()
            # Delivered through the store, as SMTP or JMAP would.
            await kernel.store.emails.append(account, message("pushed"), [inbox])
        assert (1, b"EXISTS") in result
