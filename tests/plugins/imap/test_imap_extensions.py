"""CONDSTORE/QRESYNC, ESEARCH/SEARCHRES, UIDPLUS, MOVE, MULTIAPPEND, UNSELECT, EXAMINE."""

from __future__ import annotations

import re
from pathlib import Path

from plugins.imap.testing import PASSWORD, USER, Transcript, imap_server, message


async def _fill(t: Transcript, count: int, mailbox: str = "INBOX") -> None:
    for i in range(count):
        data = message(f"m{i}")
        await t.transact(f"APPEND {mailbox} {{{len(data)}+}}\r\n".encode() + data)


async def _start(t: Transcript, count: int = 0) -> None:
    await t.transact(f"LOGIN {USER} {PASSWORD}")
    await _fill(t, count)


def _number(pattern: bytes, data: bytes) -> int:
    match = re.search(pattern, data)
    assert match, (pattern, data)
    return int(match.group(1))


async def test_extensions_condstore_fetch_store_unchangedsince(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await _start(t, 3)
        res = await t.transact("SELECT INBOX (CONDSTORE)")
        highest = _number(rb"HIGHESTMODSEQ (\d+)", b"\n".join(res.untagged))
        res = await t.transact("FETCH 1:* (MODSEQ)")
        assert len(res.lines(b"")) == 3 and all(b"MODSEQ (" in u for u in res.untagged)
        res = await t.transact(f"STORE 2 (UNCHANGEDSINCE {highest}) +FLAGS (\\Seen)")
        line = res.lines(b"2 FETCH")[0]
        changed = _number(rb"MODSEQ \((\d+)\)", line)
        assert changed > highest and b"UID 2" in line
        res = await t.transact(f"STORE 1:2 (UNCHANGEDSINCE {highest}) +FLAGS.SILENT (\\Flagged)")
        assert b"[MODIFIED 2]" in res.tagged
        assert next(u for u in res.untagged if b"FETCH" in u).startswith(b"* 1 FETCH (UID 1 MODSEQ")
        res = await t.transact(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {highest})")
        assert sorted(u.split()[1] for u in res.lines(b"")) == [b"1", b"2"]
        res = await t.transact(f"SEARCH MODSEQ {changed}")
        assert res.lines(b"SEARCH")[0].startswith(b"* SEARCH 1 2 (MODSEQ ")


async def test_extensions_qresync_select_reports_vanished_and_changes(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await _start(t, 5)
        await t.transact("ENABLE QRESYNC")
        res = await t.transact("SELECT INBOX")
        validity = _number(rb"UIDVALIDITY (\d+)", b"\n".join(res.untagged))
        highest = _number(rb"HIGHESTMODSEQ (\d+)", b"\n".join(res.untagged))
        await t.transact("STORE 2,4 +FLAGS.SILENT (\\Deleted)")
        res = await t.transact("EXPUNGE")
        assert res.lines(b"VANISHED") == [b"* VANISHED 2,4"]
        await t.transact("STORE 1 +FLAGS.SILENT (\\Answered)")
        res = await t.transact(f"SELECT INBOX (QRESYNC ({validity} {highest} 1:5))")
        assert res.untagged[0] == b"* OK [CLOSED] Previous mailbox is now closed"
        assert res.lines(b"VANISHED") == [b"* VANISHED (EARLIER) 2,4"]
        fetches = [u for u in res.untagged if b"FETCH" in u]
        assert len(fetches) == 1 and b"UID 1 " in fetches[0] and b"\\Answered" in fetches[0]
        res = await t.transact(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {highest} VANISHED)")
        assert res.lines(b"VANISHED") == [b"* VANISHED (EARLIER) 2,4"]
        res = await t.transact(f"SELECT INBOX (QRESYNC ({validity + 1} {highest}))")
        assert not res.lines(b"VANISHED")


async def test_extensions_qresync_needs_enable(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await _start(t)
        await t.transact("SELECT INBOX (QRESYNC (1 1))", expect="bad")
        await t.transact("SELECT INBOX")
        await t.transact("UID FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)", expect="bad")


async def test_extensions_esearch_and_searchres(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await _start(t, 6)
        await t.transact("SELECT INBOX")
        await t.transact("STORE 2,3,5 +FLAGS (\\Flagged)")
        tag = t.next_tag().encode()
        res = await t.transact("SEARCH RETURN (MIN MAX COUNT ALL) FLAGGED")
        assert res.lines(b"ESEARCH") == [
            b'* ESEARCH (TAG "%s") MIN 2 MAX 5 COUNT 3 ALL 2:3,5' % tag
        ]
        tag = t.next_tag().encode()
        res = await t.transact("UID SEARCH RETURN (COUNT) DELETED")
        assert res.lines(b"ESEARCH") == [b'* ESEARCH (TAG "%s") UID COUNT 0' % tag]
        res = await t.transact("SEARCH RETURN (SAVE) FLAGGED")
        assert res.untagged == []
        res = await t.transact("FETCH $ (UID)")
        assert [u.split()[1] for u in res.lines(b"")] == [b"2", b"3", b"5"]
        res = await t.transact("UID SEARCH UID $ NOT 3")
        assert res.lines(b"SEARCH") == [b"* SEARCH 2 5"]
        await t.transact("SEARCH RETURN (SAVE MIN) FLAGGED")
        res = await t.transact("UID FETCH $ (FLAGS)")
        assert len(res.lines(b"")) == 1
        await t.transact("ENABLE IMAP4rev2", expect="bad")  # only before SELECT
        await t.transact("UNSELECT")
        await t.transact("ENABLE IMAP4rev2")
        await t.transact("SELECT INBOX")
        tag = t.next_tag().encode()
        res = await t.transact("SEARCH FLAGGED")
        assert res.lines(b"ESEARCH") == [b'* ESEARCH (TAG "%s") ALL 2:3,5' % tag]


async def test_extensions_copy_move_uidplus(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await _start(t, 4)
        await t.transact("SELECT INBOX")
        res = await t.transact("COPY 1:2 Archive")
        assert re.search(rb"\[COPYUID \d+ 1:2 1:2\]", res.tagged)
        await t.transact("COPY 1 nosuch", expect="no")
        res = await t.transact("UID MOVE 3:4 Archive")
        assert re.search(rb"\* OK \[COPYUID \d+ 3:4 3:4\]", res.untagged[0])
        assert [u for u in res.untagged if b"EXPUNGE" in u] == [b"* 4 EXPUNGE", b"* 3 EXPUNGE"]
        res = await t.transact("STATUS Archive (MESSAGES)")
        assert res.lines(b"STATUS") == [b"* STATUS Archive (MESSAGES 4)"]
        await t.transact("STORE 1:2 +FLAGS.SILENT (\\Deleted)")
        res = await t.transact("UID EXPUNGE 2")
        assert [u for u in res.untagged if b"EXPUNGE" in u] == [b"* 2 EXPUNGE"]
        res = await t.transact("CLOSE")
        assert not any(b"EXPUNGE" in u for u in res.untagged)
        res = await t.transact("STATUS INBOX (MESSAGES)")
        assert res.lines(b"STATUS") == [b"* STATUS INBOX (MESSAGES 0)"]


async def test_extensions_multiappend_trycreate_appenduid(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await _start(t)
        one, two = message("one"), message("two")
        res = await t.transact(
            b'APPEND Drafts (\\Draft) {%d}\r\n%s (\\Seen) "01-Feb-2024 10:00:00 +0100" {%d}\r\n%s'
            % (len(one), one, len(two), two)
        )
        assert re.search(rb"\[APPENDUID \d+ 1:2\]", res.tagged)
        assert len(res.continuations) == 2
        res = await t.transact(b"APPEND nosuch {%d+}\r\n%s" % (len(one), one), expect="no")
        assert b"[TRYCREATE]" in res.tagged
        await t.transact("EXAMINE Drafts")
        res = await t.transact("FETCH 1:2 (FLAGS INTERNALDATE)")
        assert b"\\Draft" in res.untagged[0] and b"\\Seen" in res.untagged[1]
        assert b'"01-Feb-2024 10:00:00 +0100"' in res.untagged[1] or b"09:00:00" in res.untagged[1]
        await t.transact("STORE 1 +FLAGS (\\Seen)", expect="no")  # read-only
        await t.transact("EXPUNGE", expect="no")
        res = await t.transact("FETCH 1 (BODY[])")  # no \Seen set by EXAMINE
        assert b"FLAGS" not in res.untagged[0]


async def test_extensions_idle_done_and_bad_terminator(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await _start(t)
        await t.send(b"i1 IDLE\r\n")
        assert (await t.read_response()).startswith(b"+")
        await t.send(b"DONE\r\n")
        assert (await t.read_response()).startswith(b"i1 OK")
        await t.transact("SELECT INBOX")
        await t.send(b"i2 IDLE\r\n")
        assert (await t.read_response()).startswith(b"+")
        await t.send(b"NOPE\r\n")
        assert (await t.read_response()).startswith(b"i2 BAD")
        await t.transact("NOOP")


async def test_extensions_imap4rev2_behaviour(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await _start(t, 2)
        res = await t.transact("ENABLE IMAP4rev2 UTF8=ACCEPT NOSUCH")
        assert res.untagged == [b"* ENABLED IMAP4rev2 UTF8=ACCEPT"]
        res = await t.transact("SELECT INBOX")
        assert not res.lines(b"2 RECENT") and not any(b"RECENT" in u for u in res.untagged)
        assert b'* LIST (\\HasNoChildren) "/" INBOX' in res.untagged
        assert not any(b"UNSEEN" in u for u in res.untagged)
        res = await t.transact("FETCH 1 FLAGS")
        assert res.untagged == [b"* 1 FETCH (FLAGS ())"]  # no \Recent in IMAP4rev2
        tag = t.next_tag().encode()
        res = await t.transact("UID SEARCH ALL")
        assert res.untagged == [b'* ESEARCH (TAG "%s") UID ALL 1:2' % tag]
        res = await t.transact('CREATE "Größe"')
        res = await t.transact('LIST "" "Gr*"')
        assert res.lines(b"LIST") == ['* LIST (\\HasNoChildren) "/" "Größe"'.encode()]
