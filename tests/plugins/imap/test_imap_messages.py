"""APPEND, FETCH, STORE, SEARCH, EXPUNGE with imaplib over a real socket."""

from __future__ import annotations

import imaplib
from pathlib import Path

from plugins.imap.testing import imap_server, imaplib_session, message


async def test_messages_append_fetch_store_search_expunge(tmp_path: Path) -> None:
    def scenario(c: imaplib.IMAP4) -> None:
        for i in range(3):
            typ, data = c.append("INBOX", "(\\Flagged)" if i == 1 else None, None, message(f"m{i}"))
            assert typ == "OK", data
            assert b"APPENDUID" in data[0]
        typ, data = c.select("INBOX")
        assert (typ, data) == ("OK", [b"3"])
        typ, data = c.fetch("1:*", "(UID FLAGS RFC822.SIZE)")
        assert typ == "OK" and len(data) == 3
        assert b"\\Flagged" in data[1]
        typ, data = c.fetch("2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert data[0][1].strip() == b"Subject: m1"
        typ, data = c.fetch("1", "(BODY[])")
        assert data[0][1] == message("m0")
        assert b"\\Seen" in data[0][0] or b"\\Seen" in data[1]
        typ, data = c.search(None, "UNSEEN")
        assert data == [b"2 3"]
        typ, data = c.search(None, "SUBJECT", '"m2"')
        assert data == [b"3"]
        typ, data = c.store("2:3", "+FLAGS", "(\\Deleted)")
        assert typ == "OK" and len(data) == 2
        typ, data = c.expunge()
        assert typ == "OK" and data == [b"3", b"2"]
        typ, data = c.uid("SEARCH", None, "ALL")
        assert data == [b"1"]

    async with imap_server(tmp_path) as kernel:
        await imaplib_session(kernel, scenario)
