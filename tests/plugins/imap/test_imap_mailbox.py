"""CREATE, DELETE, RENAME, SUBSCRIBE, LIST/LSUB (LIST-EXTENDED, LIST-STATUS,
SPECIAL-USE), STATUS and NAMESPACE over a real socket."""

from __future__ import annotations

from pathlib import Path

from plugins.imap.testing import PASSWORD, USER, Transcript, imap_server, message


async def _session(t: Transcript) -> None:
    await t.transact(f"LOGIN {USER} {PASSWORD}")


def _names(lines: list[bytes]) -> list[bytes]:
    return [line.rsplit(b" ", 1)[1] for line in lines]


async def test_mailbox_create_hierarchy_list_delete(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await _session(t)
        res = await t.transact("CREATE Work/2024/Q1")
        assert b"[MAILBOXID (F" in res.tagged
        await t.transact("CREATE Work/", expect="no")  # exists (trailing delimiter ignored)
        await t.transact("CREATE inbox", expect="no")
        res = await t.transact('LIST "" "Work*"')
        assert _names(res.lines(b"LIST")) == [b"Work", b"Work/2024", b"Work/2024/Q1"]
        assert b"\\HasChildren" in res.lines(b"LIST")[0]
        res = await t.transact('LIST "" "%"')
        names = _names(res.lines(b"LIST"))
        assert names[0] == b"INBOX" and b"Work" in names and b"Work/2024" not in names
        assert any(b"\\Sent" in line for line in res.lines(b"LIST"))
        res = await t.transact('LIST "Work/" "%"')
        assert _names(res.lines(b"LIST")) == [b"Work/2024"]
        res = await t.transact('LIST "" ""')
        assert res.lines(b"LIST") == [b'* LIST (\\Noselect) "/" ""']
        res = await t.transact("DELETE Work", expect="no")
        assert b"[HASCHILDREN]" in res.tagged
        await t.transact("DELETE Work/2024/Q1")
        await t.transact("DELETE Work/2024")
        await t.transact("DELETE Work")
        await t.transact("DELETE INBOX", expect="no")
        await t.transact("DELETE Work", expect="no")


async def test_mailbox_rename_and_rename_inbox(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await _session(t)
        await t.transact("CREATE a/b")
        await t.transact("RENAME a x/y")
        res = await t.transact('LIST "" "x*"')
        assert _names(res.lines(b"LIST")) == [b"x", b"x/y", b"x/y/b"]
        await t.transact("RENAME x/y x/y/b/c", expect="no")  # under itself
        await t.transact("RENAME x Drafts", expect="no")  # exists
        data = message("in inbox")
        await t.transact(b"APPEND INBOX {%d+}\r\n" % len(data) + data)
        await t.transact("RENAME INBOX Old")
        res = await t.transact("STATUS INBOX (MESSAGES)")
        assert res.lines(b"STATUS") == [b"* STATUS INBOX (MESSAGES 0)"]
        res = await t.transact("STATUS Old (MESSAGES)")
        assert res.lines(b"STATUS") == [b"* STATUS Old (MESSAGES 1)"]


async def test_mailbox_subscriptions_lsub_and_list_extended(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await _session(t)
        await t.transact("CREATE p/c")
        await t.transact("UNSUBSCRIBE p")
        await t.transact("UNSUBSCRIBE Junk")
        res = await t.transact('LSUB "" "*"')
        names = _names(res.lines(b"LSUB"))
        assert b"p/c" in names and b"p" not in names and b"Junk" not in names
        res = await t.transact('LSUB "" "%"')
        assert any(line.endswith(b" p") and b"\\Noselect" in line for line in res.lines(b"LSUB"))
        res = await t.transact('LIST (SUBSCRIBED) "" "*"')
        lines = res.lines(b"LIST")
        assert all(b"\\Subscribed" in line for line in lines)
        assert b"p/c" in _names(lines) and b"p" not in _names(lines)
        res = await t.transact('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
        assert any(b'("CHILDINFO" ("SUBSCRIBED"))' in line for line in res.lines(b"LIST"))
        res = await t.transact('LIST (SPECIAL-USE) "" "*"')
        assert sorted(_names(res.lines(b"LIST"))) == [
            b"Archive",
            b"Drafts",
            b"Junk",
            b"Sent",
            b"Trash",
        ]
        await t.transact('LIST (RECURSIVEMATCH) "" "*"', expect="bad")
        await t.transact("CREATE Flagged (USE (\\Flagged))")
        res = await t.transact('LIST "" "Flagged"')
        assert b"\\Flagged" in res.lines(b"LIST")[0]
        res = await t.transact("CREATE Odd (USE (\\Nonsense))", expect="no")
        assert b"[USEATTR]" in res.tagged
        await t.transact("SUBSCRIBE nosuch", expect="no")


async def test_mailbox_list_status_and_status(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await _session(t)
        data = message("x")
        await t.transact(b"APPEND INBOX (\\Seen) {%d+}\r\n" % len(data) + data)
        await t.transact(b"APPEND INBOX {%d+}\r\n" % len(data) + data)
        res = await t.transact('LIST "" "INBOX" RETURN (STATUS (MESSAGES UNSEEN SIZE))')
        assert res.untagged[1] == b"* STATUS INBOX (MESSAGES 2 UNSEEN 1 SIZE %d)" % (2 * len(data))
        res = await t.transact(
            "STATUS INBOX (UIDNEXT UIDVALIDITY DELETED HIGHESTMODSEQ APPENDLIMIT MAILBOXID RECENT)"
        )
        line = res.lines(b"STATUS")[0]
        assert b"UIDNEXT 3 " in line and b"DELETED 0" in line and b"MAILBOXID (F" in line
        assert b"RECENT 2" in line  # IMAP4rev1: nobody selected INBOX yet
        await t.transact("STATUS nosuch (MESSAGES)", expect="no")


async def test_mailbox_namespace_and_international_names(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await _session(t)
        res = await t.transact("NAMESPACE")
        assert res.untagged == [b'* NAMESPACE (("" "/")) (("Shared/" "/")) NIL']
        await t.transact("CREATE &ZeVnLIqe-")  # modified UTF-7 for 日本語
        await t.transact("CREATE &Jjo!", expect="bad")  # not valid modified UTF-7
        res = await t.transact('LIST "" "&ZeVnLIqe-"')
        assert _names(res.lines(b"LIST")) == [b"&ZeVnLIqe-"]
        await t.transact("ENABLE UTF8=ACCEPT")
        res = await t.transact('LIST "" "*"')
        assert "日本語".encode() in b"".join(res.lines(b"LIST"))
        await t.transact('CREATE "Café"')
        res = await t.transact('STATUS "Café" (MESSAGES)')
        assert res.lines(b"STATUS") == ['* STATUS "Café" (MESSAGES 0)'.encode()]
