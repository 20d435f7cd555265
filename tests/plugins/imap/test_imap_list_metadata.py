"""LIST-METADATA (RFC 9590): ``LIST ... RETURN (METADATA (entries))``, over real sockets."""

from __future__ import annotations

import imaplib
from pathlib import Path

import trio

from kernel.testing import listener_address
from plugins.imap.testing import PASSWORD, USER, Transcript, imap_server

COLOR = "/shared/vendor/cmu/cyrus-imapd/color"
BOB = "bob@example.org"


async def test_imap_list_metadata_follows_each_matched_mailbox(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await t.transact(f"LOGIN {USER} {PASSWORD}")
        await t.transact("CREATE foo")
        await t.transact(f'SETMETADATA INBOX ({COLOR} "#b71c1c" /private/comment "mine")')
        res = await t.transact(f'LIST "" % RETURN (METADATA ({COLOR} /private/comment))')
        lines = res.untagged
        inbox = next(i for i, line in enumerate(lines) if line.endswith(b'"/" INBOX'))
        # RFC 9590 §2: the METADATA response comes right after the mailbox's LIST line,
        # with NIL for an entry that has no value (the RFC's example).
        assert lines[inbox + 1] == (
            f'* METADATA INBOX ({COLOR} "#b71c1c" /private/comment "mine")'.encode()
        )
        foo = next(i for i, line in enumerate(lines) if line.endswith(b'"/" foo'))
        assert lines[foo + 1] == f"* METADATA foo ({COLOR} NIL /private/comment NIL)".encode()
        listed = [line for line in lines if line.startswith(b"* LIST")]
        meta = [line for line in lines if line.startswith(b"* METADATA")]
        assert len(meta) == len(listed)
        assert b"LIST-METADATA" in (await t.transact("CAPABILITY")).untagged[0]


async def test_imap_list_metadata_maxsize_and_childinfo(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await t.transact(f"LOGIN {USER} {PASSWORD}")
        await t.transact("CREATE parent/child")
        await t.transact("SUBSCRIBE parent/child")
        await t.transact("UNSUBSCRIBE parent", expect=None)
        await t.transact('SETMETADATA parent/child (/private/comment "a long comment")')
        res = await t.transact(
            'LIST "" parent/child RETURN (METADATA ((MAXSIZE 4) /private/comment))'
        )
        # The only value is longer than MAXSIZE: no METADATA line, the length reported.
        assert [line for line in res.untagged if line.startswith(b"* METADATA")] == []
        assert b"[METADATA LONGENTRIES 14]" in res.tagged
        # RFC 9590 §3: a mailbox listed only for its children (CHILDINFO) gets none.
        res = await t.transact(
            'LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (METADATA (/private/comment))'
        )
        parent = [line for line in res.untagged if b" parent" in line]
        assert len(parent) == 1 and b"CHILDINFO" in parent[0], res.untagged
        assert not any(line.startswith(b"* METADATA parent") for line in res.untagged)
        await t.transact('LIST "" % RETURN (METADATA (/bad//name))', expect="bad")


async def test_imap_list_metadata_skips_mailboxes_without_read_rights(tmp_path: Path) -> None:
    async with imap_server(tmp_path, users=(USER, BOB)) as kernel:
        ann = await Transcript.connect(kernel)
        bob = await Transcript.connect(kernel)
        async with ann, bob:
            await ann.transact(f"LOGIN {USER} {PASSWORD}")
            await bob.transact(f"LOGIN {BOB} {PASSWORD}")
            await ann.transact("CREATE Listed")
            await ann.transact('SETMETADATA Listed (/shared/comment "ann\'s")')
            await ann.transact(f"SETACL Listed {BOB} l")  # lookup only: may list, not read
            res = await bob.transact('LIST "" * RETURN (METADATA (/shared/comment))')
            shared = [line for line in res.untagged if b"Listed" in line]
            assert shared and all(line.startswith(b"* LIST") for line in shared)
            await ann.transact(f"SETACL Listed {BOB} lr")
            res = await bob.transact('LIST "" * RETURN (METADATA (/shared/comment))')
            assert any(
                line.startswith(b"* METADATA") and b'"ann\'s"' in line for line in res.untagged
            )


async def test_imap_list_metadata_with_imaplib(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        host, port = listener_address(kernel, "imap")

        def run() -> list[bytes]:
            with imaplib.IMAP4(host, port) as client:
                client.login(USER, PASSWORD)
                client.create("Projects")
                # imaplib has no METADATA methods: xatom sends extension commands.
                typ, _ = client.xatom("SETMETADATA", "Projects", '(/private/comment "work")')
                assert typ == "OK"
                typ, _ = client.xatom(
                    "LIST", '""', "Projects", "RETURN", "(METADATA (/private/comment))"
                )
                assert typ == "OK"
                _, listed = client.response("LIST")
                _, meta = client.response("METADATA")
                client.logout()
                return [*listed, *meta]

        got = await trio.to_thread.run_sync(run)
        assert got[0].endswith(b"Projects")
        assert got[1] == b'Projects (/private/comment "work")'
