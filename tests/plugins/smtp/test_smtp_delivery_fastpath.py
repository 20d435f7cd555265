"""The per-message shortcuts of local delivery, over a real socket.

* The default copy's mailbox is picked inside the append's transaction: the
  delivery makes no mailbox-list read of its own (a filing that may create a
  mailbox still reads and creates first).
* Each RCPT reads the directory once, so an account change applies to the next RCPT.
* ``combine`` is ``merge_verdicts`` without the work for a plain accept.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from smtp_support import smtp_server

from kernel import Filing, Verdict, hookimpl
from kernel.pipeline import ACCEPTED, merge_verdicts
from plugins.smtp.testing import SmtpClient
from plugins.smtp.transaction import combine

BODY = b"From: <carol@remote.example>\r\nSubject: s\r\n\r\nhello\r\n.\r\n"


async def _send(smtp: SmtpClient, recipient: str, expect: int = 250) -> list[str]:
    await smtp.transact("MAIL FROM:<carol@remote.example>", 250)
    await smtp.send(f"RCPT TO:<{recipient}>\r\n".encode())
    code, lines = await smtp.reply()
    if code != 250:
        await smtp.transact("RSET", 250)
        return lines
    await smtp.transact("DATA", 354)
    await smtp.send(BODY)
    return await smtp.expect(expect)


class FileInto:
    """A delivery hook filing every message into one mailbox (with ``create``)."""

    def __init__(self, filing: Filing) -> None:
        self.filing = filing

    @hookimpl
    def stalwart_before_delivery(self, kernel, session, envelope, delivery, message):
        async def decide() -> Verdict:
            return Verdict.accept(filings=(self.filing,))

        return decide


async def test_default_copy_needs_no_mailbox_list_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with smtp_server(tmp_path) as server:
        mailboxes = server.kernel.store.mailboxes

        async def forbidden(account: int) -> list:
            raise AssertionError("delivery listed the mailboxes")

        monkeypatch.setattr(mailboxes, "list", forbidden)
        async with await SmtpClient.connect(*server.address()) as smtp:
            await smtp.expect(220)
            await smtp.transact("EHLO client.example", 250)
            await _send(smtp, "ann@example.org")
            await _send(smtp, "info@example.org")  # an alias: the same account
        monkeypatch.undo()
        stored = await server.inbox(server.ann)
        assert len(stored) == 2 and all(b"\r\n\r\nhello\r\n" in m for m in stored)


async def test_filing_with_create_still_creates_first(tmp_path: Path) -> None:
    hook = FileInto(Filing("Lists/New", create=True))
    async with smtp_server(tmp_path, extra_plugins={"file": hook}) as server:
        async with await SmtpClient.connect(*server.address()) as smtp:
            await smtp.expect(220)
            await smtp.transact("EHLO client.example", 250)
            await _send(smtp, "bob@example.org")
        assert len(await server.inbox(server.bob, "Lists/New")) == 1
        assert await server.inbox(server.bob) == []


async def test_filing_into_missing_mailbox_falls_back_inside_transaction(tmp_path: Path) -> None:
    # RFC 5228 §4.1: a mailbox that cannot be used falls back to the default one.
    hook = FileInto(Filing("Nowhere"))
    async with smtp_server(tmp_path, extra_plugins={"file": hook}) as server:
        async with await SmtpClient.connect(*server.address()) as smtp:
            await smtp.expect(220)
            await smtp.transact("EHLO client.example", 250)
            await _send(smtp, "bob@example.org")
        assert len(await server.inbox(server.bob)) == 1
        names = [m.name for m in await server.kernel.store.mailboxes.list(server.bob)]
        assert "Nowhere" not in names


async def test_account_change_applies_to_the_next_rcpt(tmp_path: Path) -> None:
    async with smtp_server(tmp_path) as server:
        async with await SmtpClient.connect(*server.address()) as smtp:
            await smtp.expect(220)
            await smtp.transact("EHLO client.example", 250)
            await _send(smtp, "bob@example.org")
            await server.kernel.store.directory.update("bob@example.org", enabled=False)
            lines = await _send(smtp, "bob@example.org")
            assert lines[0].startswith("5.2.1")
        assert len(await server.inbox(server.bob)) == 1


def test_combine_skips_plain_accepts_and_otherwise_merges() -> None:
    edits = Verdict.accept(add_headers=(("X-A", "1"),), remove_headers=("X-B",))
    junk = Verdict.quarantine("spam", add_headers=(("X-Spam", "yes"),))
    assert combine(edits, ACCEPTED) is edits
    assert combine(ACCEPTED, junk) is junk
    assert combine(Verdict(), edits) is edits
    assert combine(edits, junk) == merge_verdicts(edits, junk)
    assert combine(junk, edits) == merge_verdicts(junk, edits)
    refused = Verdict.reject("no")
    assert combine(ACCEPTED, refused) is refused
    assert combine(refused, edits) == merge_verdicts(refused, edits)
