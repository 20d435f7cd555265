"""RFC 5293 §7 per copy: each stored copy has the header as ``editheader`` had left it
when the copy was asked for; the implicit keep has the header at the end of the run.

Delivered over SMTP (smtplib), read back over IMAP (imapclient); the pure part
(:func:`plugins.sieve.verdicts.per_copy`) is checked directly too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sieve_delivery_support import ANN, message, sieve_server

from kernel.pipeline import Filing
from plugins.sieve.verdicts import per_copy

ORIGINAL = b"From: a@b.example\r\nSubject: hi\r\n\r\nbody\r\n"
TAGGED = b"X-Tag: added\r\nFrom: a@b.example\r\nSubject: hi\r\n\r\nbody\r\n"


def test_sieve_editheader_per_copy_shared_edits_stay_on_the_verdict() -> None:
    problems: list[str] = []
    filings, edits = per_copy(
        [(Filing("A"), TAGGED), (Filing(None), TAGGED)], ORIGINAL, problems.append
    )
    assert filings == (Filing("A"), Filing(None))
    assert edits == ((("X-Tag", "added"),), ())
    assert per_copy([], ORIGINAL, problems.append) == ((), ((), ()))
    assert problems == []


def test_sieve_editheader_per_copy_different_edits_go_on_each_filing() -> None:
    filings, edits = per_copy([(Filing("A"), None), (Filing("B"), TAGGED)], ORIGINAL, [].append)
    assert edits == ((), ())
    assert filings == (Filing("A"), Filing("B", add_headers=(("X-Tag", "added"),)))


def test_sieve_editheader_per_copy_filing_checks_its_edits() -> None:
    with pytest.raises(ValueError, match="cannot be removed"):
        Filing("A", remove_headers=("Received",))
    with pytest.raises(ValueError, match="not a header field name"):
        Filing("A", add_headers=(("Bad Name", "x"),))


SCRIPT = """
require ["fileinto", "editheader", "mailbox", "imap4flags"];
fileinto :create "Before";
addheader "X-Tag" "added";
fileinto :create :flags "\\\\Flagged" "After";
deleteheader "Subject";
addheader "X-Final" "yes";
keep;
"""


async def test_sieve_editheader_per_copy_over_smtp(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, SCRIPT)
        assert await server.send(message("copies"), [ANN]) == {}
        ((_, before),) = await server.folder(ANN, "Before")
        ((after_flags, after),) = await server.folder(ANN, "After")
        ((_, kept),) = await server.folder(ANN)
        # The copy filed before any edit is the message as received.
        assert b"X-Tag" not in before and b"Subject: copies\r\n" in before
        # The second copy has the field added before it, not the later edits.
        assert b"X-Tag: added\r\n" in after and b"Subject: copies\r\n" in after
        assert b"X-Final" not in after and b"\\Flagged" in after_flags
        # keep comes last: every edit.
        assert b"X-Tag: added\r\n" in kept and b"X-Final: yes\r\n" in kept
        assert b"Subject:" not in kept
        # All of them still carry our trace fields.
        assert all(
            m.startswith(b"Return-Path: <carol@remote.example>\r\n") for m in (before, after, kept)
        )


async def test_sieve_editheader_duplicate_keep_files_once(tmp_path: Path) -> None:
    # RFC 5293 §7: "keep; addheader ...; keep;" MUST only file one message.
    script = 'require "editheader"; keep; addheader "X-Flavor" "vanilla"; keep;'
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, script)
        assert await server.send(message("once"), [ANN]) == {}
        assert len(await server.folder(ANN)) == 1
