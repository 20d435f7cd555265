"""End-to-end over real sockets: recipient policy and local delivery (the MTA role)."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest
from smtp_support import MESSAGE, client, config, in_thread, smtp_server

from plugins.smtp.testing import SmtpClient


async def test_delivery_mta_to_inbox_with_trace_and_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with smtp_server(tmp_path) as server:
        address = server.address()

        def send() -> dict:
            with client(address) as smtp:
                return smtp.sendmail("carol@remote.example", ["ann@example.org"], MESSAGE)

        assert await in_thread(send) == {}
        [stored] = await server.inbox(server.ann)
    # RFC 5321 §4.4: Return-Path, then our Received field, then the message unchanged.
    assert stored.startswith(
        b"Return-Path: <carol@remote.example>\r\n"
        b"Received: from client.example ([127.0.0.1])\r\n"
        b"\tby mx.example.org (stalwart-kernel) with ESMTP id "
    )
    assert b"\tfor <ann@example.org>;\r\n" in stored
    assert stored.endswith(MESSAGE)
    log = capsys.readouterr().err
    [line] = [x for x in log.splitlines() if "event=delivery" in x]
    for field in (
        "sender=carol@remote.example",
        "recipient=ann@example.org",
        "result=delivered",
        "mailbox=INBOX",
        "queue=",
    ):
        assert field in line


async def test_delivery_aliases_subaddress_catchall_postmaster(tmp_path: Path) -> None:
    async with smtp_server(tmp_path) as server:
        address = server.address()
        recipients = [
            "info@example.org",  # alias of ann
            "ann+lists@example.org",  # RFC 5233 subaddress of ann: one copy for ann
            "whoever@catch.example",  # catch-all for bob
            "POSTMASTER@example.org",  # RFC 5321 §4.5.1: always accepted
            "Postmaster",  # "RCPT TO:<Postmaster>" with no domain
        ]

        def send() -> dict:
            with client(address) as smtp:
                return smtp.sendmail("carol@remote.example", recipients, MESSAGE)

        assert await in_thread(send) == {}
        admin = await server.kernel.store.directory.principal("admin")
        assert admin is not None
        ann, bob, postmaster = (
            await server.inbox(server.ann),
            await server.inbox(server.bob),
            await server.inbox(admin.id),
        )
        assert (len(ann), len(bob), len(postmaster)) == (1, 1, 1)
        # Several recipients: no FOR clause, so all copies are the same bytes (one blob).
        assert ann[0] == bob[0] == postmaster[0]
        assert b"for <" not in ann[0]


async def test_unknown_user_and_relay_denied_at_rcpt(tmp_path: Path) -> None:
    async with (
        smtp_server(tmp_path) as server,
        await SmtpClient.connect(*server.address()) as smtp,
    ):
        await smtp.expect(220)
        await smtp.transact("EHLO client.example", 250)
        await smtp.transact("MAIL FROM:<carol@remote.example>", 250)
        lines = await smtp.transact("RCPT TO:<nobody@example.org>", 550)
        assert lines[0].startswith("5.1.1 ")
        lines = await smtp.transact("RCPT TO:<someone@elsewhere.example>", 554)
        assert lines == ["5.7.1 relaying denied"]
        await smtp.transact("RCPT TO:<u@[192.0.2.1]>", 554)
        await smtp.transact("RCPT TO:<bob@example.org>", 250)
        await smtp.transact("QUIT", 221)


async def test_size_declared_and_actual(tmp_path: Path) -> None:
    conf = config(smtp={"max_message_size": 2048})
    async with smtp_server(tmp_path, conf) as server:
        address = server.address()

        def session() -> tuple[object, ...]:
            with client(address) as smtp:
                smtp.ehlo()
                size = smtp.esmtp_features["size"]
                declared = smtp.mail("carol@remote.example", ["SIZE=4096"])
                smtp.rset()
                smtp.mail("carol@remote.example")  # no SIZE: found out after DATA
                smtp.rcpt("ann@example.org")
                actual = smtp.data(b"x" * 4000)
                return size, declared, actual

        size, declared, actual = await in_thread(session)
        assert size == "2048"
        # RFC 1870 §6.1: a declared size over the limit is refused at MAIL.
        assert declared == (552, b"5.3.4 message size exceeds the limit of 2048 octets")
        assert actual[0] == 552 and actual[1].startswith(b"5.3.4")
        assert await server.inbox(server.ann) == []


async def test_bdat_chunks_and_binarymime(tmp_path: Path) -> None:
    body = b"Subject: chunked\r\n\r\nbinary \x00\x01 and a bare\nLF\r\n.\r\n"
    async with smtp_server(tmp_path) as server:
        async with await SmtpClient.connect(*server.address()) as smtp:
            await smtp.expect(220)
            ehlo = await smtp.transact("EHLO client.example", 250)
            assert {"CHUNKING", "BINARYMIME"} <= set(ehlo)
            await smtp.transact("MAIL FROM:<carol@remote.example> BODY=BINARYMIME", 250)
            await smtp.transact("RCPT TO:<ann@example.org>", 250)
            await smtp.send(b"BDAT 20\r\n" + body[:20])
            assert await smtp.expect(250) == ["2.0.0 20 octets received"]
            await smtp.send(f"BDAT {len(body) - 20} LAST\r\n".encode() + body[20:])
            await smtp.expect(250)
            await smtp.transact("QUIT", 221)
        [stored] = await server.inbox(server.ann)
        assert stored.endswith(body)
        assert b"with ESMTP id" in stored


async def test_pipelining_batch_answered_in_order(tmp_path: Path) -> None:
    async with smtp_server(tmp_path) as server:
        async with await SmtpClient.connect(*server.address()) as smtp:
            await smtp.expect(220)
            assert "PIPELINING" in await smtp.transact("EHLO client.example", 250)
            # RFC 2920 §3.1: MAIL, RCPTs and DATA in one group.
            await smtp.send(
                b"MAIL FROM:<carol@remote.example>\r\n"
                b"RCPT TO:<ann@example.org>\r\n"
                b"RCPT TO:<nobody@example.org>\r\n"
                b"RCPT TO:<bob@example.org>\r\n"
                b"DATA\r\n"
            )
            codes = [(await smtp.reply())[0] for _ in range(5)]
            assert codes == [250, 250, 550, 250, 354]
            await smtp.send(MESSAGE + b".\r\nQUIT\r\n")
            assert [(await smtp.reply())[0] for _ in range(2)] == [250, 221]
        assert len(await server.inbox(server.ann)) == len(await server.inbox(server.bob)) == 1


async def test_loop_detection_by_received_count(tmp_path: Path) -> None:
    conf = config(smtp={"max_received_headers": 3})
    async with smtp_server(tmp_path, conf) as server:
        address = server.address()
        looping = b"Received: by hop\r\n" * 4 + MESSAGE

        def send() -> tuple[int, bytes]:
            with client(address) as smtp:
                smtp.sendmail(
                    "carol@remote.example", ["ann@example.org"], b"Received: x\r\n" + MESSAGE
                )
                try:
                    smtp.sendmail("carol@remote.example", ["ann@example.org"], looping)
                except smtplib.SMTPDataError as exc:
                    return exc.smtp_code, exc.smtp_error
                raise AssertionError("the loop was accepted")

        # RFC 5321 §6.3: too many Received fields means a loop.
        assert await in_thread(send) == (554, b"5.4.6 mail loop detected")
        assert len(await server.inbox(server.ann)) == 1


async def test_quota_checked_at_rcpt(tmp_path: Path) -> None:
    async with smtp_server(tmp_path) as server:
        await server.kernel.store.directory.update("bob@example.org", quota=1000)
        async with await SmtpClient.connect(*server.address()) as smtp:
            await smtp.expect(220)
            await smtp.transact("EHLO client.example", 250)
            await smtp.transact("MAIL FROM:<carol@remote.example> SIZE=5000", 250)
            assert (await smtp.transact("RCPT TO:<bob@example.org>", 552))[0].startswith("5.2.2")
            await smtp.transact("RSET", 250)
            await smtp.transact("MAIL FROM:<carol@remote.example> SIZE=900", 250)
            await smtp.transact("RCPT TO:<bob@example.org>", 250)
            await smtp.transact("RSET", 250)
        await server.kernel.store.emails.append(
            server.bob,
            b"Subject: x\r\n\r\n" + b"y" * 500,
            [
                (await server.kernel.store.mailboxes.by_path(server.bob, "INBOX")).id  # type: ignore[union-attr]
            ],
        )
        async with await SmtpClient.connect(*server.address()) as smtp:
            await smtp.expect(220)
            await smtp.transact("EHLO client.example", 250)
            await smtp.transact("MAIL FROM:<carol@remote.example> SIZE=600", 250)
            assert (await smtp.transact("RCPT TO:<bob@example.org>", 452))[0].startswith("4.2.2")


async def test_max_recipients(tmp_path: Path) -> None:
    conf = config(smtp={"max_recipients": 2})
    async with (
        smtp_server(tmp_path, conf) as server,
        await SmtpClient.connect(*server.address()) as smtp,
    ):
        await smtp.expect(220)
        await smtp.transact("EHLO client.example", 250)
        await smtp.transact("MAIL FROM:<carol@remote.example>", 250)
        await smtp.transact("RCPT TO:<ann@example.org>", 250)
        await smtp.transact("RCPT TO:<bob@example.org>", 250)
        # RFC 5321 §4.5.3.1.10: 452, so the client sends the rest later.
        lines = await smtp.transact("RCPT TO:<info@example.org>", 452)
        assert lines == ["4.5.3 too many recipients"]


async def test_smtputf8_addresses(tmp_path: Path) -> None:
    async with smtp_server(tmp_path) as server:
        async with await SmtpClient.connect(*server.address()) as smtp:
            await smtp.expect(220)
            assert "SMTPUTF8" in await smtp.transact("EHLO client.example", 250)
            # RFC 6531 §3.5: without SMTPUTF8, 550 5.6.7 at MAIL and 553 5.6.7 at RCPT.
            lines = await smtp.transact("MAIL FROM:<josé@remote.example>".encode(), 550)
            assert lines[0].startswith("5.6.7")
            await smtp.transact("MAIL FROM:<carol@remote.example>", 250)
            await smtp.transact("RCPT TO:<zoë@catch.example>".encode(), 553)
            await smtp.transact("RSET", 250)
            await smtp.transact("MAIL FROM:<josé@remote.example> SMTPUTF8".encode(), 250)
            await smtp.transact("RCPT TO:<zoë@catch.example>".encode(), 250)
            await smtp.transact("DATA", 354)
            await smtp.send("Subject: ünïcode\r\n\r\nhi\r\n.\r\n".encode())
            await smtp.expect(250)
        [stored] = await server.inbox(server.bob)
        assert "Return-Path: <josé@remote.example>".encode() in stored
        assert b"with UTF8SMTP id" in stored and "for <zoë@catch.example>".encode() in stored


async def test_disabled_account_and_group_are_not_deliverable(tmp_path: Path) -> None:
    async with smtp_server(tmp_path) as server:
        directory = server.kernel.store.directory
        await directory.update("bob@example.org", enabled=False)
        await directory.add_account("team@example.org", kind="group")
        async with await SmtpClient.connect(*server.address()) as smtp:
            await smtp.expect(220)
            await smtp.transact("EHLO client.example", 250)
            await smtp.transact("MAIL FROM:<>", 250)
            assert (await smtp.transact("RCPT TO:<bob@example.org>", 550))[0].startswith("5.2.1")
            assert (await smtp.transact("RCPT TO:<team@example.org>", 550))[0].startswith("5.1.1")
