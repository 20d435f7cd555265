"""The UPDATE state (RFC 1939 §6), the maildrop lock, and what IMAP/JMAP see in the store."""

from __future__ import annotations

import poplib
import time
from pathlib import Path

import trio
from pop3_support import PASSWORD, USER, message, pop3_server


async def login(t: object) -> None:
    await t.transact(f"USER {USER}")  # type: ignore[attr-defined]
    await t.transact(f"PASS {PASSWORD}")  # type: ignore[attr-defined]


async def test_update_quit_removes_marked_messages_in_one_change(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server:
        emails = [await server.deliver(message(n)) for n in (1, 2, 3)]
        store = server.kernel.store
        members = await store.emails.in_mailbox(server.account, server.inbox)
        before = (
            await store.emails.mailbox_changes(server.account, server.inbox, 0)
        ).highest_modseq

        def session(client: poplib.POP3) -> bytes:
            client.dele(1)
            client.dele(3)
            return client.quit()

        assert await server.poplib(session) == b"+OK Bye (1 message left)"
        assert await server.inbox_emails() == [emails[1]]
        # IMAP/JMAP see both go in one change-log transaction (QRESYNC VANISHED).
        changes = await store.emails.mailbox_changes(server.account, server.inbox, before)
        assert sorted(changes.expunged) == [members[0].uid, members[2].uid]
        assert changes.highest_modseq == before + 1
        log = await store.mailboxes.changes(server.account, before)
        assert log.state == before + 1


async def test_update_nothing_removed_without_quit(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server:
        emails = [await server.deliver(message(n)) for n in (1, 2)]
        async with server.transcript() as t:
            await login(t)
            await t.transact("DELE 1")
            await t.transact("DELE 2")
        # RFC 1939 §6: a session that ends without QUIT does not enter UPDATE. The
        # lock goes with it: the next session logs in at once.
        assert await server.inbox_emails() == emails
        assert await server.poplib(lambda c: c.stat()) == (2, 2 * len(message(1)))


async def test_update_quit_in_authorization_changes_nothing(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        await server.deliver(message(1))
        await t.transact(f"USER {USER}")
        assert await t.transact("QUIT") == b"+OK Bye\r\n"
        assert await t.until_closed() == b""
        assert len(await server.inbox_emails()) == 1


async def test_update_idle_timeout_closes_silently_without_update(tmp_path: Path) -> None:
    config = {"listeners": {"pop3": {"limits": {"idle_timeout": "300ms"}}}}
    async with pop3_server(tmp_path, config) as server, server.transcript() as t:
        await server.deliver(message(1))
        await login(t)
        await t.transact("DELE 1")
        # RFC 1939 §3: on the autologout timer the server closes with no response.
        assert await t.until_closed() == b""
        assert len(await server.inbox_emails()) == 1


async def test_update_second_session_is_in_use(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server:
        await server.deliver(message(1))
        async with server.transcript() as first, server.transcript() as second:
            await login(first)
            await second.transact(f"USER {USER}")
            # RFC 2449 §8.1.2: authenticated, but the maildrop is locked.
            await second.transact(f"PASS {PASSWORD}", "err", code="IN-USE")
            await second.transact("STAT", "err")  # still in AUTHORIZATION
            await first.transact("QUIT")
            await first.until_closed()
            await login(second)  # RFC 1939 §4: the client may try again
            await second.transact("STAT")


async def test_update_lock_held_by_another_node(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server:
        maildrop = server.kernel.store.maildrop
        # Another server process holds the lease...
        assert await maildrop.acquire(server.account, "node-b:4242:x", 60)
        async with server.transcript() as t:
            await t.transact(f"USER {USER}")
            await t.transact(f"PASS {PASSWORD}", "err", code="IN-USE")
        # ...then crashes: its lease runs out and the next login takes it over.
        assert await maildrop.acquire(server.account, "node-b:4242:x", 60, now=time.time() - 61)
        await server.poplib(lambda c: c.stat())
        assert not await maildrop.release(server.account, "node-b:4242:x")


async def test_update_lock_is_released_at_quit(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server:
        await server.poplib(lambda c: c.quit())
        assert await server.kernel.store.maildrop.acquire(server.account, "probe", 60)


async def test_update_lost_lock_removes_nothing(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        await server.deliver(message(1))
        await login(t)
        await t.transact("DELE 1")
        # Another node takes the lease over as if this one had stalled past its expiry.
        maildrop = server.kernel.store.maildrop
        assert await maildrop.acquire(server.account, "thief", 60, now=time.time() + 3600)
        await t.transact("QUIT", "err", code="SYS/TEMP")
        assert len(await server.inbox_emails()) == 1


async def test_update_lease_loss_noticed_while_idle(tmp_path: Path) -> None:
    config = {"pop3": {"lease_ttl": "1s"}}  # renewed every third of a second
    async with pop3_server(tmp_path, config) as server, server.transcript() as t:
        await server.deliver(message(1))
        await login(t)
        await t.transact("DELE 1")
        maildrop = server.kernel.store.maildrop
        assert await maildrop.acquire(server.account, "thief", 60, now=time.time() + 3600)
        # The renewal finds another owner: the session says so and closes.
        assert (await t.until_closed()).startswith(b"-ERR [SYS/TEMP]")
        assert len(await server.inbox_emails()) == 1


async def test_update_new_mail_waits_for_the_next_session(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        await server.deliver(message(1))
        await login(t)
        await server.deliver(message(2))  # arrives during the session
        assert await t.transact("STAT") == b"+OK 1 %d\r\n" % len(message(1))
        await t.transact("DELE 1")
        await t.transact("QUIT")
        await t.until_closed()
        assert await server.poplib(lambda c: c.stat()) == (1, len(message(2)))


async def test_update_uidl_stable_across_sessions(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server:
        for raw in (message(1), message(2), message(1)):  # the same bytes twice
            await server.deliver(raw)

        def uidl(client: poplib.POP3) -> list[bytes]:
            return [line.split()[1] for line in client.uidl()[1]]

        first = await server.poplib(uidl)
        assert len(set(first)) == 3  # RFC 1939 §7: two deliveries are two messages
        assert await server.poplib(uidl) == first  # even after a session without UPDATE

        def delete_first(client: poplib.POP3) -> None:
            client.dele(1)
            client.quit()

        await server.poplib(delete_first)
        await server.deliver(message(1))
        after = await server.poplib(uidl)
        assert after[:2] == first[1:]  # the others keep their ids
        assert after[2] not in first  # a new delivery never reuses one


async def test_update_message_removed_by_imap_during_the_session(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server, server.transcript() as t:
        emails = [await server.deliver(message(n)) for n in (1, 2)]
        await login(t)
        store = server.kernel.store
        await store.emails.remove(server.account, server.inbox, [emails[0]])  # IMAP EXPUNGE
        await t.transact("RETR 1", "err", code="SYS/PERM")
        await t.transact("DELE 1")
        await t.transact("QUIT")
        await t.until_closed()
        assert await server.inbox_emails() == [emails[1]]


async def test_update_deleted_to_trash(tmp_path: Path) -> None:
    config = {"pop3": {"deleted_to_trash": True}}
    async with pop3_server(tmp_path, config) as server:
        emails = [await server.deliver(message(n)) for n in (1, 2)]

        def session(client: poplib.POP3) -> None:
            client.dele(2)
            client.quit()

        await server.poplib(session)
        store = server.kernel.store
        trash = next(m for m in await store.mailboxes.list(server.account) if m.role == "trash")
        assert await server.inbox_emails() == [emails[0]]
        assert [m.email for m in await store.emails.in_mailbox(server.account, trash.id)] == [
            emails[1]
        ]


async def test_update_expire_zero_removes_what_was_retrieved(tmp_path: Path) -> None:
    config = {"pop3": {"expire": "0"}}
    async with pop3_server(tmp_path, config) as server:
        emails = [await server.deliver(message(n)) for n in (1, 2, 3)]

        def session(client: poplib.POP3) -> bytes:
            client.retr(1)
            client.top(2, 0)  # TOP is not a download
            return client.quit()

        # RFC 2449 §6.7: EXPIRE 0 lets the server treat RETR as an implicit DELE.
        assert await server.poplib(session) == b"+OK Bye (2 messages left)"
        assert await server.inbox_emails() == emails[1:]


async def test_update_concurrent_logins_one_wins(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server:
        results: list[bytes] = []
        all_tried = trio.Event()

        async def attempt() -> None:
            async with server.transcript() as t:
                await t.transact(f"USER {USER}")
                results.append(await t.command(f"PASS {PASSWORD}"))
                if len(results) == 4:
                    all_tried.set()
                await all_tried.wait()  # nobody quits before everyone tried
                await t.command("QUIT")

        async with trio.open_nursery() as nursery:
            for _ in range(4):
                nursery.start_soon(attempt)
        assert sorted(r[:13] for r in results) == [b"+OK maildrop "] + [b"-ERR [IN-USE]"] * 3
