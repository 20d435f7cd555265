"""RETR and TOP end to end: byte-stuffing, line ends, streaming large messages, UTF-8."""

from __future__ import annotations

from pathlib import Path

import pytest
from pop3_support import PASSWORD, USER, message, pop3_server

from kernel.store import MessageReader
from kernel.store.maildrop import CHUNK

UTF8_HEADER = "Subject: Grüße\r\nFrom: jöran@example.org\r\n\r\nHallo\r\n".encode()


async def test_retr_byte_stuffing_and_line_ends(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server:
        body = b".leading dot\r\n.\r\n..two\nbare LF\rbare CR\r\nno final newline"
        await server.deliver(message(1, body))
        lines = (await server.poplib(lambda c: c.retr(1)))[1]
        # poplib removes the stuffing (RFC 1939 §3); every line end arrived as CRLF.
        assert lines[-7:] == [
            b"",
            b".leading dot",
            b".",
            b"..two",
            b"bare LF",
            b"bare CR",
            b"no final newline",
        ]


async def test_retr_raw_multiline_terminator(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        await server.deliver(b"Subject: x\r\n\r\n.\r\n")
        await t.transact(f"USER {USER}")
        await t.transact(f"PASS {PASSWORD}")
        await t.send(b"RETR 1\r\n")
        assert await t.line() == b"+OK 17 octets\r\n"
        # The message's own "." line is stuffed; the body ends with CRLF.CRLF.
        assert [await t.line() for _ in range(4)] == [
            b"Subject: x\r\n",
            b"\r\n",
            b"..\r\n",
            b".\r\n",
        ]


async def test_retr_streams_a_large_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    original = MessageReader.read_chunk

    async def counting(self: MessageReader, max_bytes: int = CHUNK) -> bytes:
        chunk = await original(self, max_bytes)
        reads.append(len(chunk))
        return chunk

    monkeypatch.setattr(MessageReader, "read_chunk", counting)
    async with pop3_server(tmp_path) as server:
        body = b"".join(b"line %07d .. of a large message body\r\n" % i for i in range(80_000))
        body += b".dot at the start of the last line\r\n"
        raw = message(1, body)
        await server.deliver(raw)  # over store.inline_limit: kept in the blob store

        top = await server.poplib(lambda c: c.top(1, 1))
        # TOP read one chunk, not the whole message.
        assert reads == [CHUNK]
        assert top[1][-1] == b"line 0000000 .. of a large message body"
        reads.clear()
        retr = await server.poplib(lambda c: c.retr(1))
        # RETR read it chunk by chunk and sent it all.
        assert max(reads) == CHUNK and len(reads) == len(raw) // CHUNK + 2  # + a tail, b""
        assert retr[0] == b"+OK %d octets" % len(raw)
        assert b"".join(line + b"\r\n" for line in retr[1]) == raw


async def test_retr_utf8_header_needs_utf8_mode(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        await server.deliver(UTF8_HEADER)
        await server.deliver(message(2, "Grüße im Text\r\n".encode()))  # 8-bit body only
        await t.transact(f"USER {USER}")
        await t.transact(f"PASS {PASSWORD}")
        # RFC 6856 §2.1, §5: refused outside UTF-8 mode, with the UTF8 code.
        await t.transact("RETR 1", "err", code="UTF8")
        await t.transact("TOP 1 0", "err", code="UTF8")
        await t.transact("RETR 2")
        await t.multiline()
        await t.transact("QUIT")
    async with pop3_server(tmp_path / "again") as server, server.transcript() as t:
        await server.deliver(UTF8_HEADER)
        await t.transact("UTF8")
        await t.transact(f"USER {USER}")
        await t.transact(f"PASS {PASSWORD}")
        await t.transact("RETR 1")
        assert (await t.multiline())[0] == "Subject: Grüße".encode()


async def test_retr_utf8_messages_sent_when_configured(tmp_path: Path) -> None:
    async with pop3_server(tmp_path, {"pop3": {"utf8_messages": "send"}}) as server:
        await server.deliver(UTF8_HEADER)
        lines = (await server.poplib(lambda c: c.retr(1)))[1]
        assert lines[0] == "Subject: Grüße".encode()


async def test_retr_message_destroyed_by_another_client(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        email = await server.deliver(message(1))
        await t.transact(f"USER {USER}")
        await t.transact(f"PASS {PASSWORD}")
        await server.kernel.store.emails.destroy(server.account, [email])  # JMAP destroy
        await t.transact("RETR 1", "err", code="SYS/PERM")
        await t.transact("TOP 1 1", "err", code="SYS/PERM")
        await t.transact("NOOP")
