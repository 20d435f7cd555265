"""Several sessions on one mailbox: updates reach each other at the points RFC 9051 §7
allows, sequence numbers never shift under FETCH/STORE/SEARCH, IDLE is woken at once."""

from __future__ import annotations

from pathlib import Path

import trio

from plugins.imap.testing import PASSWORD, USER, Transcript, imap_server, message


async def _login(t: Transcript, mailbox: str = "INBOX") -> None:
    await t.transact(f"LOGIN {USER} {PASSWORD}")
    await t.transact(f"SELECT {mailbox}")


async def _append(t: Transcript, subject: str) -> None:
    data = message(subject)
    await t.transact(b"APPEND INBOX {%d+}\r\n" % len(data) + data)


async def test_concurrency_expunge_waits_for_an_allowed_command(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        a = await Transcript.connect(kernel)
        b = await Transcript.connect(kernel)
        async with a, b:
            await _login(a)
            for i in range(5):
                await _append(a, f"m{i}")
            await _login(b)
            await a.transact("STORE 2,4 +FLAGS.SILENT (\\Deleted)")
            await a.transact("EXPUNGE")
            # FETCH by sequence number: no EXPUNGE, numbers still those b knows.
            res = await b.transact("FETCH 4:5 (UID)")
            assert not any(b"EXPUNGE" in u for u in res.untagged)
            assert res.untagged == [b"* 5 FETCH (UID 5)"]
            assert b"[EXPUNGEISSUED]" in res.tagged
            res = await b.transact("SEARCH ALL")
            assert not any(b"EXPUNGE" in u for u in res.untagged)
            res = await b.transact("STORE 5 +FLAGS (\\Seen)")
            assert not any(b"EXPUNGE" in u for u in res.untagged)
            # NOOP may carry them, highest first.
            res = await b.transact("NOOP")
            assert [u for u in res.untagged if b"EXPUNGE" in u] == [
                b"* 4 EXPUNGE",
                b"* 2 EXPUNGE",
            ]
            res = await b.transact("FETCH 1:* (UID)")
            assert [u.split(b"(")[1] for u in res.lines(b"")] == [b"UID 1)", b"UID 3)", b"UID 5)"]


async def test_concurrency_new_messages_and_flags_reach_other_sessions(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        a = await Transcript.connect(kernel)
        b = await Transcript.connect(kernel)
        async with a, b:
            await _login(a)
            await _login(b)
            await _append(a, "one")
            res = await b.transact("FETCH 1:* (FLAGS)")  # EXISTS may come during FETCH
            assert b"* 1 EXISTS" in res.untagged
            await a.transact("STORE 1 +FLAGS.SILENT (\\Flagged)")
            res = await b.transact("NOOP")
            assert any(b"FETCH" in u and b"\\Flagged" in u for u in res.untagged)


async def test_concurrency_idle_is_woken_by_another_session(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        a = await Transcript.connect(kernel)
        b = await Transcript.connect(kernel)
        async with a, b:
            await _login(a)
            await _login(b)
            await _append(a, "zero")
            await b.transact("NOOP")
            await b.send(b"i1 IDLE\r\n")
            assert (await b.read_response()).startswith(b"+ ")
            await _append(a, "first")
            assert await b.read_response() == b"* 2 EXISTS"
            await a.transact("STORE 1 +FLAGS.SILENT (\\Deleted)")
            await a.transact("EXPUNGE")
            got = [await b.read_response()]
            while b"EXPUNGE" not in got[-1]:
                got.append(await b.read_response())
            assert got[-1] == b"* 1 EXPUNGE"
            await b.send(b"DONE\r\n")
            assert (await b.read_response()).startswith(b"i1 OK")


async def test_concurrency_many_clients_one_mailbox(tmp_path: Path) -> None:
    """Writers append and expunge while readers poll; every reader ends in step."""
    async with imap_server(tmp_path) as kernel:
        clients = [await Transcript.connect(kernel) for _ in range(4)]
        try:
            for c in clients:
                await _login(c)

            async def writer(t: Transcript, n: int) -> None:
                for i in range(6):
                    await _append(t, f"w{n}-{i}")
                    if i % 2:
                        await t.transact("STORE 1 +FLAGS.SILENT (\\Deleted)")
                        await t.transact("EXPUNGE")

            async with trio.open_nursery() as nursery:
                nursery.start_soon(writer, clients[0], 0)
                nursery.start_soon(writer, clients[1], 1)
            seen = []
            for c in clients:
                await c.transact("NOOP")
                res = await c.transact("UID SEARCH ALL")
                uids = res.lines(b"SEARCH")[0].split()[2:]
                res = await c.transact("FETCH 1:* (UID)")
                fetched = [line.split(b"UID ")[1].rstrip(b")") for line in res.lines(b"")]
                assert fetched == uids
                seen.append(uids)
            # Two writers may expunge the same first message: 6 to 9 remain of 12.
            assert all(s == seen[0] for s in seen) and 6 <= len(seen[0]) <= 9
        finally:
            for c in clients:
                await c.stream.aclose()
