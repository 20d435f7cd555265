"""ACL (RFC 4314) across accounts, the shared namespace, QUOTA (RFC 9208) and
METADATA (RFC 5464) over a real socket."""

from __future__ import annotations

from pathlib import Path

from plugins.imap.testing import PASSWORD, USER, Transcript, imap_server, message

BOB = "bob@example.org"


async def _login(t: Transcript, user: str = USER) -> None:
    await t.transact(f"LOGIN {user} {PASSWORD}")


async def test_sharing_acl_grants_shared_namespace_access(tmp_path: Path) -> None:
    async with imap_server(tmp_path, users=(USER, BOB)) as kernel:
        ann = await Transcript.connect(kernel)
        bob = await Transcript.connect(kernel)
        async with ann, bob:
            await _login(ann)
            await _login(bob, BOB)
            data = message("shared hello")
            await ann.transact("CREATE Team")
            await ann.transact(b"APPEND Team {%d+}\r\n" % len(data) + data)
            await ann.transact(f"SETACL Team {BOB} lrs")
            res = await ann.transact("GETACL Team")
            assert res.lines(b"ACL") == [f"* ACL Team {USER} lrswipkxteacd {BOB} lrs".encode()]
            res = await ann.transact(f"LISTRIGHTS Team {BOB}")
            assert res.lines(b"LISTRIGHTS")[0].startswith(
                f'* LISTRIGHTS Team {BOB} "" l r'.encode()
            )
            res = await bob.transact('LIST "" "Shared*"')
            names = [line.rsplit(b" ", 1)[1] for line in res.lines(b"LIST")]
            assert names == [b"Shared", f"Shared/{USER}".encode(), f"Shared/{USER}/Team".encode()]
            shared = f'"Shared/{USER}/Team"'
            res = await bob.transact(f"MYRIGHTS {shared}")
            assert res.lines(b"MYRIGHTS") == [f"* MYRIGHTS Shared/{USER}/Team lrs".encode()]
            res = await bob.transact(f"SELECT {shared}")
            assert b"* 1 EXISTS" in res.untagged and b"[READ-WRITE]" in res.tagged
            res = await bob.transact("FETCH 1 (BODY[HEADER.FIELDS (SUBJECT)])")
            assert b"shared hello" in res.untagged[0]
            await bob.transact("STORE 1 +FLAGS (\\Flagged)", expect="no")  # no w
            await bob.transact("EXPUNGE", expect="no")  # no e
            await bob.transact(f"SETACL {shared} {BOB} lrswi", expect="no")  # no a
            await bob.transact(f"APPEND {shared} {{{len(data)}+}}\r\n".encode() + data, expect="no")
            # A new message from the owner reaches bob's session on the shared mailbox.
            await ann.transact(b"APPEND Team {%d+}\r\n" % len(data) + data)
            res = await bob.transact("NOOP")
            assert b"* 2 EXISTS" in res.untagged
            await bob.transact(f"SUBSCRIBE {shared}")
            res = await bob.transact('LSUB "" "Shared/*"')
            assert any(line.endswith(b"/Team") for line in res.lines(b"LSUB"))
            await ann.transact(f"SETACL Team {BOB} -s")
            res = await ann.transact("GETACL Team")
            assert res.lines(b"ACL")[0].endswith(f"{BOB} lr".encode())
            await ann.transact(f"DELETEACL Team {BOB}")
            res = await bob.transact('LIST "" "Shared/*"')
            assert res.lines(b"LIST") == []
            await ann.transact(f"SETACL Team {USER} lr", expect="no")  # the owner's rights
            await ann.transact("SETACL Team nobody@example.org lr", expect="no")
            await ann.transact(f"SETACL Team {BOB} lrz", expect="bad")


async def test_sharing_quota(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        await kernel.store.directory.update(USER, quota=4096)
        async with await Transcript.connect(kernel) as t:
            await _login(t)
            data = message("q", body="x" * 1500)
            await t.transact(b"APPEND INBOX {%d+}\r\n" % len(data) + data)
            res = await t.transact("GETQUOTAROOT INBOX")
            assert res.untagged == [b'* QUOTAROOT INBOX ""', b'* QUOTA "" (STORAGE 2 4)']
            res = await t.transact('GETQUOTA ""')
            assert res.untagged == [b'* QUOTA "" (STORAGE 2 4)']
            res = await t.transact(b"APPEND INBOX {%d+}\r\n" % len(data) + data)
            res = await t.transact(b"APPEND INBOX {%d+}\r\n" % len(data) + data, expect="no")
            assert b"[OVERQUOTA]" in res.tagged
            await t.transact('SETQUOTA "" (STORAGE 100)', expect="no")
            await t.transact('GETQUOTA "other"', expect="no")


async def test_sharing_metadata(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await _login(t)
        await t.transact('SETMETADATA INBOX (/private/comment "my inbox" /shared/x {3}\r\nabc)')
        res = await t.transact("GETMETADATA INBOX (/private/comment /shared/x /shared/none)")
        assert res.untagged == [b'* METADATA INBOX (/private/comment "my inbox" /shared/x "abc")']
        res = await t.transact("GETMETADATA (MAXSIZE 3) INBOX (/private/comment /shared/x)")
        assert res.untagged == [b'* METADATA INBOX (/shared/x "abc")']
        assert b"[METADATA LONGENTRIES 8]" in res.tagged
        await t.transact('SETMETADATA INBOX (/private/a/b "1" /private/a/b/c "2")')
        res = await t.transact("GETMETADATA (DEPTH 1) INBOX /private/a")
        assert res.untagged == [b'* METADATA INBOX (/private/a/b "1")']
        await t.transact("SETMETADATA INBOX (/private/comment NIL)")
        res = await t.transact("GETMETADATA INBOX /private/comment")
        assert res.untagged == []
        await t.transact('SETMETADATA "" (/private/vendor/x "mine")')
        res = await t.transact('GETMETADATA "" /private/vendor/x')
        assert res.untagged == [b'* METADATA "" (/private/vendor/x "mine")']
        await t.transact('SETMETADATA "" (/shared/admin "x")', expect="no")
        await t.transact('SETMETADATA INBOX (/bad/name "1")', expect="bad")
        big = b"x" * 70000
        res = await t.transact(
            b"SETMETADATA INBOX (/private/big {%d+}\r\n%s)" % (len(big), big), expect=None
        )
        assert res.status in ("NO", "BAD")  # over the server's limits either way
        await t.transact("GETMETADATA nosuch /private/comment", expect="no")
