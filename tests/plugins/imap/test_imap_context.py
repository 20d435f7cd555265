"""CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4) over a real socket: PARTIAL,
UPDATE with ADDTO/REMOVEFROM as the mailbox changes (also by another session),
CANCELUPDATE, tag reuse, and imaplib."""

from __future__ import annotations

import imaplib
import re
from pathlib import Path

from plugins.imap.testing import (
    PASSWORD,
    USER,
    Transcript,
    imap_server,
    imaplib_session,
    message,
)


async def _login_select(t: Transcript) -> None:
    await t.transact(f"LOGIN {USER} {PASSWORD}")
    await t.transact("SELECT INBOX")


async def _append(t: Transcript, subject: str, *, flags: str = "", mailbox: str = "INBOX") -> None:
    data = message(subject)
    flag_part = f" ({flags})" if flags else ""
    await t.transact(f"APPEND {mailbox}{flag_part} {{{len(data)}+}}\r\n".encode() + data)


def _esearch(lines: list[bytes], tag: str) -> list[bytes]:
    return [line for line in lines if line.startswith(f'* ESEARCH (TAG "{tag}")'.encode())]


async def test_imap_context_capabilities_and_partial(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await t.transact(f"LOGIN {USER} {PASSWORD}")
        caps = (await t.transact("CAPABILITY")).untagged[0]
        assert b" CONTEXT=SEARCH " in caps and b" CONTEXT=SORT " in caps
        for n in range(1, 8):
            await _append(t, f"m{n}")
        await t.transact("SELECT INBOX")
        tag = t.next_tag()
        res = await t.transact("UID SEARCH RETURN (PARTIAL 2:4) ALL")
        assert res.untagged == [f'* ESEARCH (TAG "{tag}") UID PARTIAL (2:4 2:4)'.encode()]
        # RFC 5267 §4.4: 500:400 is 400:500; a range past the end returns NIL.
        tag = t.next_tag()
        res = await t.transact("SEARCH RETURN (PARTIAL 9:6 COUNT) ALL")
        assert res.untagged == [f'* ESEARCH (TAG "{tag}") PARTIAL (6:9 6:7) COUNT 7'.encode()]
        tag = t.next_tag()
        res = await t.transact("SEARCH RETURN (PARTIAL 20:30) ALL")
        assert res.untagged == [f'* ESEARCH (TAG "{tag}") PARTIAL (20:30 NIL)'.encode()]
        # CONTEXT is a hint only: same results as without it.
        tag = t.next_tag()
        res = await t.transact("SEARCH RETURN (CONTEXT COUNT) ALL")
        assert res.untagged == [f'* ESEARCH (TAG "{tag}") COUNT 7'.encode()]
        # ESORT PARTIAL takes positions in sort order (reverse arrival here).
        tag = t.next_tag()
        res = await t.transact("UID SORT RETURN (PARTIAL 1:3) (REVERSE ARRIVAL) UTF-8 ALL")
        assert res.untagged == [f'* ESEARCH (TAG "{tag}") UID PARTIAL (1:3 7,6,5)'.encode()]
        await t.transact("SEARCH RETURN (PARTIAL 1:2 ALL) ALL", expect="bad")
        await t.transact("SEARCH RETURN (PARTIAL 0:2) ALL", expect="bad")


async def test_imap_context_search_update_addto_removefrom(tmp_path: Path) -> None:
    async with (
        imap_server(tmp_path) as kernel,
        await Transcript.connect(kernel) as t,
        await Transcript.connect(kernel) as o,
    ):
        await _login_select(t)
        await o.transact(f"LOGIN {USER} {PASSWORD}")
        for n in range(1, 4):
            await _append(o, f"m{n}", flags="\\Flagged" if n != 2 else "")
        await t.transact("NOOP")
        tag = t.next_tag()
        res = await t.transact("UID SEARCH RETURN (UPDATE COUNT) FLAGGED")
        assert res.untagged[0] == f'* ESEARCH (TAG "{tag}") UID COUNT 2'.encode()
        # Tag reuse while the context lives is BAD (RFC 5267 §4.3).
        t._tag -= 1
        await t.transact("SORT RETURN (UPDATE) (DATE) UTF-8 FLAGGED", expect="bad")
        # Another session flags message 2 and delivers a flagged message 4.
        await o.transact("SELECT INBOX")
        await o.transact("STORE 2 +FLAGS (\\Flagged)")
        await _append(o, "m4", flags="\\Flagged")
        res = await t.transact("NOOP")
        lines = res.untagged
        update = _esearch(lines, tag)
        assert update == [f'* ESEARCH (TAG "{tag}") UID ADDTO (0 2,4)'.encode()]
        # ADDTO after the EXISTS that announces message 4 (RFC 5267 §4.3.3).
        assert lines.index(b"* 4 EXISTS") < lines.index(update[0])
        # This session's own STORE removes message 1 from the result.
        res = await t.transact("STORE 1 -FLAGS (\\Flagged)")
        assert _esearch(res.untagged, tag) == [
            f'* ESEARCH (TAG "{tag}") UID REMOVEFROM (0 1)'.encode()
        ]
        # An expunge: REMOVEFROM comes before the EXPUNGE (RFC 5267 §4.3.4).
        await o.transact("STORE 4 +FLAGS (\\Deleted)")
        await o.transact("EXPUNGE")
        res = await t.transact("NOOP")
        update = _esearch(res.untagged, tag)
        assert update == [f'* ESEARCH (TAG "{tag}") UID REMOVEFROM (0 4)'.encode()]
        assert res.untagged.index(update[0]) < res.untagged.index(b"* 4 EXPUNGE")
        # CANCELUPDATE stops the updates.
        await t.transact(f'CANCELUPDATE "{tag}"')
        await o.transact("STORE 1 +FLAGS (\\Flagged)")
        res = await t.transact("NOOP")
        assert _esearch(res.untagged, tag) == []


async def test_imap_context_sequence_numbers_and_idle(tmp_path: Path) -> None:
    async with (
        imap_server(tmp_path) as kernel,
        await Transcript.connect(kernel) as t,
        await Transcript.connect(kernel) as o,
    ):
        await o.transact(f"LOGIN {USER} {PASSWORD}")
        for n in range(1, 4):
            await _append(o, f"m{n}")
        await _login_select(t)
        tag = t.next_tag()
        res = await t.transact("SEARCH RETURN (UPDATE) UNSEEN")
        assert res.untagged == [f'* ESEARCH (TAG "{tag}") ALL 1:3'.encode()]
        await o.transact("SELECT INBOX")
        # Message 1 goes: REMOVEFROM names it by its number before the expunge.
        await o.transact("STORE 1 +FLAGS (\\Deleted \\Seen)")
        await o.transact("EXPUNGE")
        # Updates arrive while idling, with no command in progress.
        await t.send(b"i1 IDLE\r\n")
        seen: list[bytes] = []
        while b"* 1 EXPUNGE" not in seen:
            seen.append(await t.read_response())
        assert seen.index(f'* ESEARCH (TAG "{tag}") REMOVEFROM (0 1)'.encode()) < seen.index(
            b"* 1 EXPUNGE"
        )
        await _append(o, "m4")
        while f'* ESEARCH (TAG "{tag}") ADDTO (0 3)'.encode() not in seen:
            seen.append(await t.read_response())
        assert seen.index(b"* 3 EXISTS") < seen.index(
            f'* ESEARCH (TAG "{tag}") ADDTO (0 3)'.encode()
        )
        await t.send(b"DONE\r\n")
        assert (await t.read_response()).startswith(b"i1 OK")
        # Updates end with the selection (RFC 5267 §4.3).
        await t.transact("UNSELECT")
        await t.transact("SELECT INBOX")
        await _append(o, "m5")
        res = await t.transact("NOOP")
        assert _esearch(res.untagged, tag) == []


async def test_imap_context_sort_update_positions(tmp_path: Path) -> None:
    async with (
        imap_server(tmp_path) as kernel,
        await Transcript.connect(kernel) as t,
        await Transcript.connect(kernel) as o,
    ):
        await o.transact(f"LOGIN {USER} {PASSWORD}")
        for subject in ("d", "b", "f"):  # UIDs 1, 2, 3
            await _append(o, subject)
        await _login_select(t)
        tag = t.next_tag()
        res = await t.transact("UID SORT RETURN (UPDATE ALL) (SUBJECT) UTF-8 UNDELETED")
        assert res.untagged == [f'* ESEARCH (TAG "{tag}") UID ALL 2,1,3'.encode()]
        # New "a" (UID 4) goes first, "e" (UID 5) between d and f.
        await _append(o, "a")
        await _append(o, "e")
        res = await t.transact("NOOP")
        assert _esearch(res.untagged, tag) == [
            f'* ESEARCH (TAG "{tag}") UID ADDTO (1 4 4 5)'.encode()
        ]
        # Result is now 4,2,1,5,3; deleting b and d removes positions 2 and 3 at once.
        await o.transact("SELECT INBOX")
        await o.transact("UID STORE 1:2 +FLAGS (\\Deleted)")
        res = await t.transact("NOOP")
        assert _esearch(res.untagged, tag) == [
            f'* ESEARCH (TAG "{tag}") UID REMOVEFROM (2 2,1)'.encode()
        ]
        # Check against a fresh SORT.
        fresh = t.next_tag()
        res = await t.transact("UID SORT RETURN (ALL) (SUBJECT) UTF-8 UNDELETED")
        assert res.untagged[0] == f'* ESEARCH (TAG "{fresh}") UID ALL 4:5,3'.encode()


async def test_imap_context_limit_noupdate(tmp_path: Path) -> None:
    from plugins.imap.search_updates import MAX_CONTEXTS

    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await _login_select(t)
        for _ in range(MAX_CONTEXTS):
            await t.transact("SEARCH RETURN (UPDATE) ALL")
        tag = t.next_tag()
        res = await t.transact("SEARCH RETURN (UPDATE COUNT) ALL")
        # RFC 5267 §4.3.1: refused, but the other return options are honoured.
        assert res.untagged[0] == f'* ESEARCH (TAG "{tag}") COUNT 0'.encode()
        assert res.untagged[1].startswith(f'* NO [NOUPDATE "{tag}"]'.encode())
        assert res.status == "OK"


async def test_imap_context_imaplib(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        async with await Transcript.connect(kernel) as o:
            await o.transact(f"LOGIN {USER} {PASSWORD}")
            for n in range(1, 6):
                await _append(o, f"m{n}")

        def run(client: imaplib.IMAP4) -> None:
            client.select("INBOX")
            typ, _ = client.uid("SEARCH", "RETURN", "(PARTIAL 2:3 COUNT)", "ALL")
            assert typ == "OK"
            [line] = client.untagged_responses.pop("ESEARCH")
            assert line.endswith(b" UID PARTIAL (2:3 2:3) COUNT 5") or line.endswith(
                b" UID COUNT 5 PARTIAL (2:3 2:3)"
            ), line
            typ, _ = client.uid("SEARCH", "RETURN", "(UPDATE)", "UNSEEN")
            assert typ == "OK"
            [line] = client.untagged_responses.pop("ESEARCH")
            found = re.match(rb'\(TAG "([^"]+)"\) UID ALL 1:5$', line)
            assert found, line
            tag = found.group(1).decode()
            client.uid("STORE", "1", "+FLAGS", "(\\Seen)")
            client.noop()
            pushed = client.untagged_responses.pop("ESEARCH", [])
            assert pushed == [f'(TAG "{tag}") UID REMOVEFROM (0 1)'.encode()], pushed
            typ, _ = client.xatom("CANCELUPDATE", f'"{tag}"')
            assert typ == "OK"
            client.uid("STORE", "2", "+FLAGS", "(\\Seen)")
            client.noop()
            assert client.untagged_responses.get("ESEARCH") is None

        await imaplib_session(kernel, run)
