"""The TRANSACTION commands (RFC 1939 §5, §7): STAT, LIST, RETR, DELE, NOOP, RSET, TOP, UIDL."""

from __future__ import annotations

import poplib
from pathlib import Path

import pytest
from pop3_support import PASSWORD, USER, message, pop3_server


async def test_transaction_stat_list_uidl(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server:
        raws = [message(1), message(2, b"A longer body.\r\n" * 3), message(3)]
        for raw in raws:
            await server.deliver(raw)

        def session(client: poplib.POP3) -> tuple[object, ...]:
            return (
                client.stat(),
                client.list(),
                client.list(2),
                client.uidl(),
                client.uidl(3),
            )

        stat, listing, one, uidl, uidl_one = await server.poplib(session)
        sizes = [len(r) for r in raws]
        assert stat == (3, sum(sizes))
        assert listing[1] == [b"%d %d" % (n, s) for n, s in enumerate(sizes, start=1)]
        assert one == b"+OK 2 %d" % sizes[1]
        ids = [line.split()[1] for line in uidl[1]]
        assert len(set(ids)) == 3
        assert uidl_one == b"+OK 3 " + ids[2]


async def test_transaction_retr_and_top(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server:
        await server.deliver(message(1, b"line 1\r\nline 2\r\nline 3\r\n"))

        def session(client: poplib.POP3) -> tuple[object, ...]:
            return client.retr(1), client.top(1, 0), client.top(1, 2), client.top(1, 100)

        retr, top0, top2, top_all = await server.poplib(session)
        header = message(1, b"").rstrip(b"\r\n").split(b"\r\n")
        assert retr[0] == b"+OK %d octets" % len(message(1, b"line 1\r\nline 2\r\nline 3\r\n"))
        assert retr[1] == [*header, b"", b"line 1", b"line 2", b"line 3"]
        assert top0[1] == [*header, b""]
        assert top2[1] == [*header, b"", b"line 1", b"line 2"]
        assert top_all[1] == retr[1]  # RFC 1939 §7: more lines than the body: all of it


async def test_transaction_dele_marks_and_rset_unmarks(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        for n in (1, 2):
            await server.deliver(message(n))
        await t.transact(f"USER {USER}")
        await t.transact(f"PASS {PASSWORD}")
        assert await t.transact("DELE 1") == b"+OK message 1 deleted\r\n"
        # RFC 1939 §5: a marked message is not counted, listed, or referable.
        assert await t.transact("STAT") == b"+OK 1 %d\r\n" % len(message(2))
        await t.transact("LIST")
        assert await t.multiline() == [b"2 %d" % len(message(2))]
        await t.transact("UIDL")
        assert len(await t.multiline()) == 1
        for command in ("DELE 1", "RETR 1", "TOP 1 0", "LIST 1", "UIDL 1"):
            await t.transact(command, "err")
        await t.transact("RSET")
        assert await t.transact("STAT") == b"+OK 2 %d\r\n" % (2 * len(message(1)))
        await t.transact("NOOP")
        await t.transact("QUIT")
        assert len(await server.inbox_emails()) == 2  # RSET undid the mark


@pytest.mark.parametrize(
    "command", ["LIST 0", "LIST 3", "RETR 0", "RETR 99", "DELE 3", "TOP 5 1", "UIDL 4"]
)
async def test_transaction_no_such_message(tmp_path: Path, command: str) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        for n in (1, 2):
            await server.deliver(message(n))
        await t.transact(f"USER {USER}")
        await t.transact(f"PASS {PASSWORD}")
        assert await t.transact(command, "err") == b"-ERR no such message\r\n"


async def test_transaction_commands_need_a_login(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        # RFC 1939 §3: a command in the wrong state gets -ERR.
        for command in ("STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "RSET", "TOP 1 1", "UIDL"):
            await t.transact(command, "err")


async def test_transaction_empty_maildrop(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server:

        def session(client: poplib.POP3) -> tuple[object, ...]:
            return client.stat(), client.list()[1], client.uidl()[1], client.quit()

        stat, listing, uidl, bye = await server.poplib(session)
        assert (stat, listing, uidl) == ((0, 0), [], [])
        assert bye == b"+OK Bye (maildrop empty)"
