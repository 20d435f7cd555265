"""SMTP smuggling and other hostile input, over a real socket.

SMTP smuggling (SEC Consult, 2023) hides a second message behind a non-standard
end-of-data sequence (``<LF>.<LF>``, ``<CR>.<CR>``, ``<LF>.<CR><LF>`` ...) that one
server takes for the end of DATA and another does not. Here only
``<CRLF>.<CRLF>`` ends DATA (RFC 5321 §4.1.1.4); bare CR or LF in content is
refused (or, configured, normalised) and never executes the commands behind it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from smtp_support import MESSAGE, config, smtp_server

from plugins.smtp.testing import SmtpClient

SMUGGLED = (
    b"MAIL FROM:<admin@example.org>\r\n"
    b"RCPT TO:<bob@example.org>\r\n"
    b"DATA\r\n"
    b"Subject: smuggled\r\n\r\nforged\r\n"
)


async def open_transaction(smtp: SmtpClient) -> None:
    await smtp.expect(220)
    await smtp.transact("EHLO client.example", 250)
    await smtp.transact("MAIL FROM:<carol@remote.example>", 250)
    await smtp.transact("RCPT TO:<ann@example.org>", 250)
    await smtp.transact("DATA", 354)


@pytest.mark.parametrize(
    "fake_end",
    [b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\r", b"\r.\r\n", b"\n..\n"],
    ids=["LF.LF", "CRLF.LF", "LF.CRLF", "CR.CR", "CRLF.CR", "CR.CRLF", "LF..LF"],
)
async def test_smuggling_fake_end_of_data_is_refused(tmp_path: Path, fake_end: bytes) -> None:
    async with smtp_server(tmp_path) as server:
        async with await SmtpClient.connect(*server.address()) as smtp:
            await open_transaction(smtp)
            await smtp.send(b"Subject: first\r\n\r\nbody" + fake_end + SMUGGLED + b".\r\n")
            # One reply for the whole thing: the smuggled commands were content.
            assert await smtp.expect(554) == ["5.6.0 bare CR or LF in message content"]
            await smtp.transact("NOOP", 250)
        assert await server.inbox(server.ann) == []
        assert await server.inbox(server.bob) == []


async def test_smuggling_normalised_stays_one_message(tmp_path: Path) -> None:
    conf = config(smtp={"bare_newlines": "normalise"})
    async with smtp_server(tmp_path, conf) as server:
        async with await SmtpClient.connect(*server.address()) as smtp:
            await open_transaction(smtp)
            await smtp.send(b"Subject: first\r\n\r\nbody\n.\n" + SMUGGLED + b".\r\n")
            await smtp.expect(250)
        [stored] = await server.inbox(server.ann)
        assert stored.endswith(b"body\r\n.\r\n" + SMUGGLED)
        assert await server.inbox(server.bob) == []


async def test_nul_in_data_and_in_commands(tmp_path: Path) -> None:
    async with smtp_server(tmp_path) as server:
        async with await SmtpClient.connect(*server.address()) as smtp:
            await open_transaction(smtp)
            await smtp.send(b"Subject: x\r\n\r\na\x00b\r\n.\r\n")
            assert await smtp.expect(554) == ["5.6.0 NUL in message content"]
            assert (await smtp.transact(b"NOOP \x00", 500))[0].startswith("5.5.2")
            # A bare LF never ends a command line (RFC 5321 §2.3.8).
            await smtp.send(b"NOOP\nRSET\r\n")
            assert (await smtp.expect(500))[0] == "5.5.2 NUL, bare CR or bare LF in command"
        assert await server.inbox(server.ann) == []


async def test_overlong_command_line(tmp_path: Path) -> None:
    conf = config(smtp={"command_line_allowance": 0})
    async with (
        smtp_server(tmp_path, conf) as server,
        await SmtpClient.connect(*server.address()) as smtp,
    ):
        await smtp.expect(220)
        await smtp.transact("EHLO client.example", 250)
        # RFC 5321 §4.5.3.1.4: 512 octets with CRLF.
        await smtp.transact(b"NOOP " + b"a" * 505, 250)
        assert await smtp.transact(b"NOOP " + b"a" * 506, 500) == ["5.5.2 line too long"]
        await smtp.send(b"MAIL FROM:<" + b"a" * 100_000 + b"@remote.example>\r\n")
        await smtp.expect(500)
        await smtp.transact("MAIL FROM:<carol@remote.example>", 250)


async def test_early_talker_is_refused(tmp_path: Path) -> None:
    conf = config(smtp={"greeting_delay": "60s"})
    async with (
        smtp_server(tmp_path, conf) as server,
        await SmtpClient.connect(*server.address()) as smtp,
    ):
        # RFC 5321 §4.3.1: the client should wait for the greeting; this one does not.
        await smtp.send(b"EHLO client.example\r\nMAIL FROM:<carol@remote.example>\r\n")
        lines = await smtp.expect(554)
        assert lines[0].startswith("5.5.1 mx.example.org no service")
        # RFC 5321 §3.1: then 503 to everything but QUIT.
        await smtp.expect(503)
        await smtp.expect(503)
        await smtp.transact("QUIT", 221)


async def test_pipelining_before_greeting_without_delay_is_served_in_order(
    tmp_path: Path,
) -> None:
    async with (
        smtp_server(tmp_path) as server,
        await SmtpClient.connect(*server.address()) as smtp,
    ):
        await smtp.send(b"EHLO client.example\r\nNOOP\r\nQUIT\r\n")
        assert [(await smtp.reply())[0] for _ in range(4)] == [220, 250, 250, 221]


async def test_bdat_size_lies_never_run_commands(tmp_path: Path) -> None:
    async with smtp_server(tmp_path) as server:
        async with await SmtpClient.connect(*server.address()) as smtp:
            await smtp.expect(220)
            await smtp.transact("EHLO client.example", 250)
            await smtp.transact("MAIL FROM:<carol@remote.example>", 250)
            await smtp.transact("RCPT TO:<ann@example.org>", 250)
            # The declared size swallows the next "command": it is content, not RCPT.
            await smtp.send(b"BDAT 27\r\nRCPT TO:<bob@example.org>\r\n")
            await smtp.expect(250)
            await smtp.send(b"BDAT 0 LAST\r\n")
            await smtp.expect(250)
        [stored] = await server.inbox(server.ann)
        assert stored.endswith(b"\r\nRCPT TO:<bob@example.org>\r\n")
        assert await server.inbox(server.bob) == []


async def test_bdat_out_of_sequence_chunk_is_discarded(tmp_path: Path) -> None:
    async with (
        smtp_server(tmp_path) as server,
        await SmtpClient.connect(*server.address()) as smtp,
    ):
        await smtp.expect(220)
        await smtp.transact("EHLO client.example", 250)
        # RFC 3030 §2: the chunk is read and discarded before the 503.
        await smtp.send(b"BDAT 12 LAST\r\nQUIT\r\nQUIT\r\nNOOP\r\n")
        await smtp.expect(503)
        await smtp.expect(250)


async def test_too_many_errors_closes(tmp_path: Path) -> None:
    conf = config(smtp={"max_errors": 3})
    async with (
        smtp_server(tmp_path, conf) as server,
        await SmtpClient.connect(*server.address()) as smtp,
    ):
        await smtp.expect(220)
        await smtp.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nNOOP\r\n")
        assert [(await smtp.reply())[0] for _ in range(3)] == [500, 500, 500]
        assert await smtp.expect(421) == ["4.7.0 too many errors"]
        assert await smtp.until_closed() == b""


async def test_bare_lf_message_to_several_recipients_reaches_nobody(tmp_path: Path) -> None:
    async with smtp_server(tmp_path) as server:
        async with await SmtpClient.connect(*server.address()) as smtp:
            await smtp.expect(220)
            await smtp.transact("EHLO client.example", 250)
            await smtp.send(
                b"MAIL FROM:<carol@remote.example>\r\nRCPT TO:<ann@example.org>\r\n"
                b"RCPT TO:<bob@example.org>\r\nDATA\r\n"
            )
            assert [(await smtp.reply())[0] for _ in range(4)] == [250, 250, 250, 354]
            await smtp.send(MESSAGE.replace(b"\r\n", b"\n") + b".\n.\r\n.\r\n")
            await smtp.expect(554)
        assert await server.inbox(server.ann) == await server.inbox(server.bob) == []
