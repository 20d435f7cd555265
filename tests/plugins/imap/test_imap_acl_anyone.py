"""RFC 4314 §2's ``anyone`` identifier over a real socket: SETACL, GETACL,
LISTRIGHTS, MYRIGHTS and DELETEACL with ``anyone``; a mailbox shared with anyone
seen by every account in the shared namespace; rights as the union with a user's
own grant; and JMAP's shareWith reading the same rows."""

from __future__ import annotations

import imaplib
from pathlib import Path

import trio

from kernel.store.mailboxes import ANYONE
from kernel.testing import listener_address
from plugins.imap.testing import PASSWORD, USER, Transcript, imap_server, message

BOB = "bob@example.org"
CAROL = "carol@example.org"


async def _login(t: Transcript, user: str) -> None:
    await t.transact(f"LOGIN {user} {PASSWORD}")


async def test_imap_acl_anyone_shares_with_every_account(tmp_path: Path) -> None:
    async with (
        imap_server(tmp_path, users=(USER, BOB, CAROL)) as kernel,
        await Transcript.connect(kernel) as ann,
        await Transcript.connect(kernel) as bob,
        await Transcript.connect(kernel) as carol,
    ):
        await _login(ann, USER)
        await _login(bob, BOB)
        await _login(carol, CAROL)
        data = message("for everyone")
        await ann.transact("CREATE Public")
        await ann.transact(b"APPEND Public {%d+}\r\n" % len(data) + data)
        await ann.transact("SETACL Public anyone lr")
        res = await ann.transact("GETACL Public")
        assert res.lines(b"ACL") == [f"* ACL Public {USER} lrswipkxteacd anyone lr".encode()]
        res = await ann.transact("LISTRIGHTS Public anyone")
        assert res.lines(b"LISTRIGHTS")[0].startswith(b'* LISTRIGHTS Public anyone "" l r')
        shared = f'"Shared/{USER}/Public"'
        for t in (bob, carol):
            res = await t.transact('LIST "" "Shared/*"')
            assert [line.rsplit(b" ", 1)[1] for line in res.lines(b"LIST")] == [
                f"Shared/{USER}".encode(),
                f"Shared/{USER}/Public".encode(),
            ]
            res = await t.transact(f"MYRIGHTS {shared}")
            assert res.lines(b"MYRIGHTS") == [f"* MYRIGHTS Shared/{USER}/Public lr".encode()]
            res = await t.transact(f"EXAMINE {shared}")
            assert b"* 1 EXISTS" in res.untagged
            res = await t.transact("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            assert b"for everyone" in res.untagged[0]
            await t.transact("STORE 1 +FLAGS (\\Flagged)", expect="no")
            await t.transact("CLOSE")
        # A user's own grant adds to anyone's (RFC 4314 §2: union, our choice).
        await ann.transact(f"SETACL Public {BOB} +lwi")
        res = await bob.transact(f"MYRIGHTS {shared}")
        assert res.lines(b"MYRIGHTS") == [f"* MYRIGHTS Shared/{USER}/Public lrwi".encode()]
        res = await carol.transact(f"MYRIGHTS {shared}")
        assert res.lines(b"MYRIGHTS") == [f"* MYRIGHTS Shared/{USER}/Public lr".encode()]
        await bob.transact(f"SELECT {shared}")
        await bob.transact("STORE 1 +FLAGS (\\Flagged)")
        # Changing anyone's rights with + and -.
        await ann.transact("SETACL Public anyone -r")
        res = await ann.transact("GETACL Public")
        assert res.lines(b"ACL")[0].endswith(f"anyone l {BOB} lwi".encode())
        await ann.transact("DELETEACL Public anyone")
        res = await carol.transact('LIST "" "Shared/*"')
        assert res.lines(b"LIST") == []
        res = await bob.transact('LIST "" "Shared/*"')
        assert len(res.lines(b"LIST")) == 2  # bob keeps his own grant
        # Not an identifier here: anonymous (no anonymous login) and negative rights.
        await ann.transact("SETACL Public anonymous lr", expect="no")
        await ann.transact(f"SETACL Public -{BOB} w", expect="no")
        # The owner's own mailboxes are not listed as shared with itself.
        await ann.transact("SETACL Public anyone lr")
        res = await ann.transact('LIST "" "Shared/*"')
        assert res.lines(b"LIST") == []


async def test_imap_acl_anyone_imaplib(tmp_path: Path) -> None:
    async with imap_server(tmp_path, users=(USER, BOB)) as kernel:
        host, port = listener_address(kernel, "imap")

        def run() -> None:
            ann = imaplib.IMAP4(host, port, timeout=15)
            bob = imaplib.IMAP4(host, port, timeout=15)
            try:
                ann.login(USER, PASSWORD)
                bob.login(BOB, PASSWORD)
                assert ann.create("Notices")[0] == "OK"
                assert ann.setacl("Notices", "anyone", "lrs")[0] == "OK"
                typ, data = ann.getacl("Notices")
                assert typ == "OK" and data == [f"Notices {USER} lrswipkxteacd anyone lrs".encode()]
                typ, data = bob.myrights(f'"Shared/{USER}/Notices"')
                assert typ == "OK" and data == [f"Shared/{USER}/Notices lrs".encode()]
                typ, data = bob.list('""', "Shared/*")
                assert typ == "OK" and any(line.endswith(b"/Notices") for line in data)
                assert ann.deleteacl("Notices", "anyone")[0] == "OK"
                typ, data = bob.list('""', "Shared/*")
                assert data == [None]
            finally:
                for client in (ann, bob):
                    client.logout()

        await trio.to_thread.run_sync(run)


async def test_imap_acl_anyone_store_rows_and_jmap_share_with(tmp_path: Path) -> None:
    from plugins.jmap.ids import ACCOUNT, encode_id
    from tests.plugins.jmap.jmap_support import OTHER, OTHER_PASSWORD, basic, jmap_server

    async with jmap_server(tmp_path) as server:
        store = server.kernel.store
        bob = (await store.directory.add_account(OTHER, OTHER_PASSWORD)).id
        # What IMAP ``SETACL INBOX anyone lr`` stores (plugins.imap.ops.acl).
        await store.mailboxes.set_rights(server.account, server.inbox, ANYONE, "lr")
        assert await store.mailboxes.acl(server.account, server.inbox) == {ANYONE: "lr"}
        assert await store.mailboxes.rights(bob, server.inbox) == "lr"
        assert [(m.id, r) for m, r in await store.mailboxes.shared_with(bob)] == [
            (server.inbox, "lr")
        ]
        # JMAP: the owner's account is visible to bob; shareWith does not name
        # the anyone row as if it were an account.
        session = await server.client.get(
            server.base + "/.well-known/jmap", headers=basic(OTHER, OTHER_PASSWORD)
        )
        assert server.account_id in session.json()["accounts"]
        args = {"accountId": server.account_id, "ids": [server.inbox_id]}
        _, got = await server.call("Mailbox/get", {**args, "properties": ["shareWith"]})
        assert got["list"][0]["shareWith"] is None
        # Granting bob through JMAP keeps the anyone row; a grant to id 0 is refused.
        bob_id = encode_id(ACCOUNT, bob)
        rights = {"mayReadItems": True, "mayAddItems": True}
        _, done = await server.call(
            "Mailbox/set",
            {
                "accountId": server.account_id,
                "update": {server.inbox_id: {f"shareWith/{bob_id}": rights}},
            },
        )
        assert done["updated"] == {server.inbox_id: None}, done
        acl = await store.mailboxes.acl(server.account, server.inbox)
        assert acl[ANYONE] == "lr" and set(acl[bob]) >= {"l", "r", "i"}
        anyone_id = encode_id(ACCOUNT, ANYONE)
        _, refused = await server.call(
            "Mailbox/set",
            {
                "accountId": server.account_id,
                "update": {server.inbox_id: {f"shareWith/{anyone_id}": rights}},
            },
        )
        assert refused["notUpdated"][server.inbox_id]["properties"] == ["shareWith"]
        # Deleting bob drops his grant and leaves anyone's.
        await store.directory.delete_account(OTHER)
        assert await store.mailboxes.acl(server.account, server.inbox) == {ANYONE: "lr"}
