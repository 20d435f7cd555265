"""FETCH end to end: every item kind over a real socket, \\Seen rules, streaming."""

from __future__ import annotations

import re
from pathlib import Path

from plugins.imap.testing import PASSWORD, USER, Transcript, imap_server

MULTIPART = (
    b"From: Bob <bob@example.net>\r\nTo: ann@example.org\r\nSubject: parts\r\n"
    b"Date: Mon, 4 Mar 2024 10:00:00 +0100\r\nMessage-ID: <parts@x>\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
    b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello body text\r\n"
    b"--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
    b"\r\nAAECAwQ=\r\n"
    b"--XX\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-unknown\r\n\r\nzz\r\n"
    b"--XX--\r\n"
)


async def _setup(t: Transcript, data: bytes = MULTIPART) -> None:
    await t.transact(f"LOGIN {USER} {PASSWORD}")
    await t.transact(b"APPEND INBOX {%d+}\r\n" % len(data) + data)
    await t.transact("SELECT INBOX")


async def test_fetch_items(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await _setup(t)
        res = await t.transact(
            "FETCH 1 (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE "
            "EMAILID THREADID PREVIEW MODSEQ)"
        )
        line = res.untagged[0]
        assert line.startswith(b"* 1 FETCH (UID 1 FLAGS (\\Recent) INTERNALDATE ")
        assert b"RFC822.SIZE %d" % len(MULTIPART) in line
        assert b'"parts"' in line and b'"MIXED"' in line.upper()
        assert re.search(rb"EMAILID \(M\d+\) THREADID \(T\d+\)", line)
        assert b'PREVIEW "Hello body text' in line and b"MODSEQ (" in line
        res = await t.transact("FETCH 1 (BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[TEXT]<0.4>)")
        line = res.untagged[0]
        assert b"BODY[1] {15}\r\nHello body text " in line  # the CRLF is the boundary's
        assert b"BODY[1.MIME] {" in line and b"BODY[TEXT]<0> {4}\r\n--XX" in line
        res = await t.transact("FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2] BODY.PEEK[9])")
        assert b"BINARY[2] ~{5}\r\n\x00\x01\x02\x03\x04" in res.untagged[0]
        assert b"BINARY.SIZE[2] 5" in res.untagged[0] and b"BODY[9] NIL" in res.untagged[0]
        res = await t.transact("FETCH 1 (BINARY.PEEK[3])", expect="no")
        assert b"[UNKNOWN-CTE]" in res.tagged
        res = await t.transact("FETCH 1 (RFC822.HEADER)")
        assert b"RFC822.HEADER {" in res.untagged[0] and b"FLAGS" not in res.untagged[0]
        res = await t.transact("FETCH 1 (RFC822.TEXT)")  # sets \Seen
        assert b"\\Seen" in res.untagged[0]
        res = await t.transact("FETCH 1 FLAGS")
        assert b"\\Seen" in res.untagged[0]


async def test_fetch_large_message_streams(tmp_path: Path) -> None:
    big = b"Subject: big\r\n\r\n" + b"0123456789abcdef" * 200_000 + b"\r\n"
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await _setup(t, big)
        res = await t.transact("UID FETCH 1 (BODY.PEEK[])")
        assert res.untagged[0].endswith(big + b")")
        res = await t.transact("FETCH 1 (BODY.PEEK[]<3200000.100>)")
        tail = big[3_200_000:3_200_100]
        assert res.untagged[0].endswith(b"BODY[]<3200000> {%d}\r\n%s)" % (len(tail), tail))


async def test_fetch_seen_rules_and_condstore(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await _setup(t)
        await t.transact("ENABLE CONDSTORE", expect="bad")  # selected: ENABLE is BAD
        await t.transact("FETCH 1 (MODSEQ)")  # CONDSTORE-enabling
        res = await t.transact("FETCH 1 (BODY[1])")
        # RFC 7162 §3.2.4: \Seen set implicitly, so FLAGS, UID and MODSEQ come along.
        assert res.untagged[0].endswith(b"FLAGS (\\Seen \\Recent) UID 1 MODSEQ (3))")
        await t.transact("STORE 1 -FLAGS (\\Seen)")
        await t.transact("EXAMINE INBOX")
        res = await t.transact("FETCH 1 (BODY[1])")
        assert b"\\Seen" not in res.untagged[0]
