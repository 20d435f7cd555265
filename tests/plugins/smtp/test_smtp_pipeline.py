"""The message pipeline hooks from the SMTP side, with example third-party plugins.

:class:`BlockSenders` is the example of docs/smtp.md: a plugin, installed like any
other, that refuses mail from listed senders at the MAIL stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from smtp_support import MESSAGE, Server, client, in_thread, smtp_server

from kernel import DeliveryTarget, Envelope, Filing, Kernel, SessionInfo, Verdict, hookimpl
from kernel.store import Mailboxes
from plugins.smtp.testing import SmtpClient


class BlockSenders:
    """Refuse mail from the listed senders (an example third-party plugin)."""

    def __init__(self, *blocked: str) -> None:
        self.blocked = {address.lower() for address in blocked}

    @hookimpl
    def stalwart_inbound_mail(self, kernel: Kernel, session: SessionInfo, envelope: Envelope):
        if envelope.sender.lower() not in self.blocked:
            return None  # no opinion, and nothing to await

        async def verdict() -> Verdict:
            await trio.lowlevel.checkpoint()  # a real plugin would query something here
            return Verdict.reject(f"sender <{envelope.sender}> is blocked")

        return verdict


async def mail_from(server: Server, sender: str) -> tuple[int, list[str]]:
    async with await SmtpClient.connect(*server.address()) as smtp:
        await smtp.expect(220)
        await smtp.transact("EHLO client.example", 250)
        await smtp.send(f"MAIL FROM:<{sender}>\r\n".encode())
        return await smtp.reply()


async def test_pipeline_example_plugin_blocks_sender(tmp_path: Path) -> None:
    plugin = BlockSenders("spammer@bad.example")
    async with smtp_server(tmp_path, extra_plugins={"blocklist": plugin}) as server:
        assert await mail_from(server, "Spammer@bad.example") == (
            550,
            ["5.7.1 sender <Spammer@bad.example> is blocked"],
        )
        assert (await mail_from(server, "friend@good.example"))[0] == 250


class Recorder:
    """Adds headers at each stage, and records what it saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def _answer(self, stage: str, value: Any, verdict: Verdict | None):
        async def answer() -> Verdict | None:
            self.seen.append((stage, value))
            return verdict

        return answer

    @hookimpl
    def stalwart_inbound_connect(self, kernel: Kernel, session: SessionInfo):
        return self._answer(
            "connect", session.role, Verdict.accept(add_headers=(("X-Connect", "1"),))
        )

    @hookimpl
    def stalwart_inbound_ehlo(self, kernel: Kernel, session: SessionInfo, helo: str):
        return self._answer("ehlo", helo, None)

    @hookimpl
    def stalwart_inbound_rcpt(self, kernel, session, envelope, recipient):
        verdict = Verdict.accept(add_headers=(("X-Rcpt", recipient),))
        return self._answer("rcpt", (envelope.recipients, recipient), verdict)

    @hookimpl
    def stalwart_inbound_data(self, kernel, session, envelope, message):
        verdict = Verdict.accept(add_headers=(("X-Score", "0.1"),), remove_headers=("X-Drop",))
        return self._answer("data", message, verdict)

    @hookimpl
    def stalwart_before_delivery(self, kernel, session, envelope, delivery, message):
        return self._answer("deliver", delivery, None)


async def test_pipeline_stages_see_the_transaction_and_edit_headers(tmp_path: Path) -> None:
    recorder = Recorder()
    async with smtp_server(tmp_path, extra_plugins={"recorder": recorder}) as server:
        address = server.address()

        def send() -> dict:
            with client(address) as smtp:
                return smtp.sendmail(
                    "carol@remote.example", ["ann@example.org"], b"X-Drop: me\r\n" + MESSAGE
                )

        assert await in_thread(send) == {}
        [stored] = await server.inbox(server.ann)
        # Ours first (Return-Path, Received), then the edits in stage order, then the message.
        headers = stored.split(b"\r\n\r\n")[0]
        assert b"X-Connect: 1\r\nX-Rcpt: ann@example.org\r\nX-Score: 0.1\r\nFrom: Carol" in headers
        assert b"X-Drop" not in stored
    stages = [stage for stage, _ in recorder.seen]
    assert stages == ["connect", "ehlo", "rcpt", "data", "deliver"]
    seen = dict(recorder.seen)
    assert seen["connect"] == "mta" and seen["ehlo"] == "client.example"
    assert seen["rcpt"] == ((), "ann@example.org")
    assert seen["data"] == b"X-Drop: me\r\n" + MESSAGE
    assert seen["deliver"] == DeliveryTarget("ann@example.org", "ann@example.org", server.ann)


class RulesLike:
    """A rules-like plugin: quarantine by subject, file by recipient, refuse one recipient."""

    @hookimpl
    def stalwart_inbound_data(self, kernel, session, envelope, message):
        async def judge() -> Verdict | None:
            if b"Subject: cheap pills" in message:
                return Verdict.quarantine("looks like spam", add_headers=(("X-Spam", "yes"),))
            if b"Subject: later" in message:
                return Verdict.tempfail("content scanner busy")
            return None

        return judge

    @hookimpl
    def stalwart_before_delivery(self, kernel, session, envelope, delivery, message):
        async def decide() -> Verdict | None:
            if delivery.account == "bob@example.org":
                return Verdict.reject("bob takes no mail today")
            if b"Subject: file me" in message:
                return Verdict.accept(mailbox="Archive")
            return None

        return decide


async def test_pipeline_quarantine_mailbox_and_per_recipient_refusal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with smtp_server(tmp_path, extra_plugins={"filing": RulesLike()}) as server:
        async with await SmtpClient.connect(*server.address()) as smtp:
            await smtp.expect(220)
            await smtp.transact("EHLO client.example", 250)
            for subject, recipients, code in [
                (b"cheap pills", ["ann@example.org"], 250),
                (b"file me", ["ann@example.org", "bob@example.org"], 250),
                (b"hello", ["bob@example.org"], 550),
                (b"later", ["ann@example.org"], 451),
            ]:
                await smtp.transact("MAIL FROM:<carol@remote.example>", 250)
                for rcpt in recipients:
                    await smtp.transact(f"RCPT TO:<{rcpt}>", 250)
                await smtp.transact("DATA", 354)
                await smtp.send(b"Subject: " + subject + b"\r\n\r\nbody\r\n.\r\n")
                code_got, lines = await smtp.reply()
                assert code_got == code, (subject, lines)
        junk = await server.inbox(server.ann, "Junk")
        archive = await server.inbox(server.ann, "Archive")
        assert len(junk) == len(archive) == 1 and await server.inbox(server.ann) == []
        assert b"X-Spam: yes\r\n" in junk[0]
        assert await server.inbox(server.bob) == []
    log = capsys.readouterr().err
    assert "result=failed" in log and "event=smtp-dsn-queued" in log


class Broken:
    """Hooks that break the contract: the session answers 451, never 250."""

    @hookimpl
    def stalwart_inbound_rcpt(self, kernel, session, envelope, recipient):
        if recipient.startswith("ann"):
            return "not a callable"

        async def boom() -> None:
            raise RuntimeError("plugin bug")

        return boom


async def test_pipeline_broken_plugin_is_a_temporary_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with (
        smtp_server(tmp_path, extra_plugins={"broken": Broken()}) as server,
        await SmtpClient.connect(*server.address()) as smtp,
    ):
        await smtp.expect(220)
        await smtp.transact("EHLO client.example", 250)
        await smtp.transact("MAIL FROM:<carol@remote.example>", 250)
        assert await smtp.transact("RCPT TO:<ann@example.org>", 451) == [
            "4.3.0 local error; try again later"
        ]
        await smtp.transact("RCPT TO:<bob@example.org>", 451)
        await smtp.transact("NOOP", 250)
    log = capsys.readouterr().err
    assert "PluginError" in log and "RuntimeError: plugin bug" in log


class Gatekeeper:
    @hookimpl
    def stalwart_inbound_connect(self, kernel, session):
        async def check() -> Verdict | None:
            if session.listener == "submission":
                return Verdict.tempfail("maintenance", code=421, status="4.3.2")
            return None

        return check

    @hookimpl
    def stalwart_inbound_ehlo(self, kernel, session, helo):
        async def check() -> Verdict | None:
            return Verdict.reject("bad name") if helo == "localhost" else None

        return check


async def test_pipeline_connect_and_ehlo_verdicts(tmp_path: Path) -> None:
    async with smtp_server(tmp_path, extra_plugins={"gate": Gatekeeper()}) as server:
        async with await SmtpClient.connect(*server.address("submission")) as smtp:
            assert await smtp.expect(421) == ["4.3.2 maintenance"]
            assert await smtp.until_closed() == b""
        async with await SmtpClient.connect(*server.address()) as smtp:
            await smtp.expect(220)
            # RFC 2034 §3: no enhanced status code on EHLO replies.
            assert await smtp.transact("EHLO localhost", 550) == ["bad name"]
            await smtp.transact("MAIL FROM:<>", 503)
            await smtp.transact("EHLO client.example", 250)


class Filer:
    """A delivery hook that chooses copies (what Sieve keep/fileinto/discard become)."""

    @hookimpl
    def stalwart_before_delivery(self, kernel, session, envelope, delivery, message):
        async def decide() -> Verdict | None:
            if b"Subject: two copies" in message:
                return Verdict.accept(
                    filings=(
                        Filing(None, ("$seen",)),  # keep, flagged
                        Filing("Lists/Python", ("$list",), create=True),
                        Filing("Lists/Python", ("$list",), create=True),  # the same copy twice
                        Filing("Archive", ("$list",)),
                    )
                )
            if b"Subject: drop" in message:
                return Verdict.discard()
            if b"Subject: by role" in message:
                return Verdict.accept(filings=(Filing("Nowhere", special_use="junk"),))
            if b"Subject: missing" in message:
                return Verdict.accept(filings=(Filing("Nowhere"),))  # no :create: INBOX
            return None

        return decide


async def test_pipeline_delivery_filings_keywords_create_and_discard(tmp_path: Path) -> None:
    async with smtp_server(tmp_path, extra_plugins={"filer": Filer()}) as server:
        async with await SmtpClient.connect(*server.address()) as smtp:
            await smtp.expect(220)
            await smtp.transact("EHLO client.example", 250)
            for subject in (b"two copies", b"drop", b"by role", b"missing"):
                await smtp.transact("MAIL FROM:<carol@remote.example>", 250)
                await smtp.transact("RCPT TO:<ann@example.org>", 250)
                await smtp.transact("DATA", 354)
                await smtp.send(b"Subject: " + subject + b"\r\n\r\nbody\r\n.\r\n")
                assert (await smtp.reply())[0] == 250
        store = server.kernel.store
        boxes = {
            Mailboxes.path(all_boxes, m): m
            for all_boxes in [await store.mailboxes.list(server.ann)]
            for m in all_boxes
        }
        assert "Lists" in boxes and "Lists/Python" in boxes  # created with its parent
        inbox = await server.inbox(server.ann)
        assert [b"Subject: two copies" in m or b"Subject: missing" in m for m in inbox] == [
            True,
            True,
        ]
        listed = await server.inbox(server.ann, "Lists/Python")
        archived = await server.inbox(server.ann, "Archive")
        assert len(listed) == len(archived) == 1
        junk = await server.inbox(server.ann, "Junk")
        assert len(junk) == 1 and b"Subject: by role" in junk[0]
        # One Email per keyword set: the Lists/Python and Archive copies are one Email.
        python_members = await store.emails.in_mailbox(server.ann, boxes["Lists/Python"].id)
        archive_members = await store.emails.in_mailbox(server.ann, boxes["Archive"].id)
        assert python_members[0].email == archive_members[0].email
        keywords = await store.emails.keywords_of(server.ann, [python_members[0].email])
        assert keywords[python_members[0].email] == frozenset({"$list"})
        inbox_members = await store.emails.in_mailbox(server.ann, boxes["INBOX"].id)
        inbox_keywords = await store.emails.keywords_of(
            server.ann, [m.email for m in inbox_members]
        )
        assert sorted(map(sorted, inbox_keywords.values())) == [[], ["$seen"]]
