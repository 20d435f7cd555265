"""Actions that send mail at delivery: vacation, redirect (kept sender or SRS), notify."""

from __future__ import annotations

from pathlib import Path

from sieve_delivery_support import (
    ANN,
    events,
    message,
    sieve_log,
    sieve_server,
)

from plugins.sieve.srs import reverse

VACATION = 'require "vacation"; vacation :days 1 :subject "Away" "I am away until Monday.";'


async def test_sieve_delivery_vacation_once_per_period(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, VACATION)
        assert await server.send(message("one", message_id="<a@x>"), [ANN]) == {}
        assert await server.send(message("two", message_id="<b@x>"), [ANN]) == {}
        other = message("three", sender="dave@remote.example", message_id="<c@x>")
        assert await server.send(other, [ANN], sender="dave@remote.example") == {}
        assert [(m[1], m[2]) for m in await server.queued()] == [
            ("", ["carol@remote.example"]),
            ("", ["dave@remote.example"]),
        ]
        raw = (await server.queued())[0][0]
        assert b"Auto-Submitted: auto-replied" in raw
        assert b"In-Reply-To: <a@x>" in raw and b"References: <a@x>" in raw
        assert b"Subject: Away" in raw and b"From: ann@example.org" in raw
        assert b"I am away until Monday." in raw
        # Every message is still delivered.
        assert len(await server.folder(ANN)) == 3


async def test_sieve_delivery_vacation_never_to_null_sender_lists_or_bulk(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, VACATION)
        assert await server.send(message("bounce"), [ANN], sender="") == {}
        listed = message("digest", extra="List-Id: <python.lists.example>\r\n")
        assert await server.send(listed, [ANN]) == {}
        bulk = message("news", extra="Precedence: bulk\r\n")
        assert await server.send(bulk, [ANN]) == {}
        auto = message("auto", extra="Auto-Submitted: auto-generated\r\n")
        assert await server.send(auto, [ANN]) == {}
        not_to_me = message("bcc", to="someone@remote.example")
        assert await server.send(not_to_me, [ANN]) == {}
        mine = message("self", sender=ANN)
        assert await server.send(mine, [ANN], sender=ANN) == {}
        assert await server.queued() == []
        # None of these used up the period: a personal message still gets its reply.
        assert await server.send(message("personal"), [ANN]) == {}
        assert [m[2] for m in await server.queued()] == [["carol@remote.example"]]


async def test_sieve_delivery_vacation_without_queue_is_logged(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        server.drop_queue()
        await server.install(ANN, VACATION)
        with sieve_log() as records:
            assert await server.send(message("hello"), [ANN]) == {}
        (unavailable,) = events(records, "sieve-queue-unavailable")
        assert unavailable["action"] == "vacation"
        assert len(await server.folder(ANN)) == 1


async def test_sieve_delivery_redirect_keeps_sender(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, 'redirect "friend@remote.example";')
        assert await server.send(message("forward me"), [ANN]) == {}
        ((raw, sender, rcpts),) = await server.queued()
        assert sender == "carol@remote.example" and rcpts == ["friend@remote.example"]
        assert b"Subject: forward me" in raw
        assert b"X-Sieve-Redirected-From: ann@example.org" in raw
        assert raw.startswith(b"Received: by mx.example.org for <friend@remote.example>; ")
        assert await server.folder(ANN) == []


async def test_sieve_delivery_redirect_copy_with_srs(tmp_path: Path) -> None:
    conf = {"redirect": {"sender": "srs"}, "srs": {"secret": "s3cret"}}
    async with sieve_server(tmp_path, conf) as server:
        await server.install(ANN, 'require "copy"; redirect :copy "friend@remote.example";')
        assert await server.send(message("copy me"), [ANN]) == {}
        ((_, sender, _),) = await server.queued()
        assert sender.startswith("SRS0=") and sender.endswith("@mx.example.org")
        assert reverse(sender, "s3cret") == "carol@remote.example"
        assert len(await server.folder(ANN)) == 1


async def test_sieve_delivery_redirect_without_queue_keeps(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        server.drop_queue()
        await server.install(ANN, 'redirect "friend@remote.example";')
        with sieve_log() as records:
            assert await server.send(message("not lost"), [ANN]) == {}
        assert events(records, "sieve-queue-unavailable")
        assert len(await server.folder(ANN)) == 1


async def test_sieve_delivery_notify_mailto(tmp_path: Path) -> None:
    script = """
    require ["enotify"];
    notify :importance "1" :message "New mail" "mailto:ann-phone@remote.example";
    """
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, script)
        assert await server.send(message("ping"), [ANN]) == {}
        ((raw, _, rcpts),) = await server.queued()
        assert rcpts == ["ann-phone@remote.example"]
        assert b"Auto-Submitted: auto-notified" in raw
        assert len(await server.folder(ANN)) == 1


async def test_sieve_delivery_vacation_8bit_reply_declares_8bitmime(tmp_path: Path) -> None:
    script = 'require "vacation"; vacation :from "ann@example.org" "Absent \u2014 caf\u00e9.";'
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, script)
        assert await server.send(message("bonjour"), [ANN]) == {}
        (queued,) = await server.kernel.store.queue.list()
        assert queued.body_type == "8BITMIME" and not queued.smtputf8
        raw = await server.kernel.store.queue.raw(queued.id)
        assert "Absent \u2014 caf\u00e9.".encode() in raw


async def test_sieve_delivery_vacation_knows_the_users_aliases(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        await server.kernel.store.directory.add_alias("info@example.org", ANN)
        await server.install(ANN, VACATION)
        # From the user's own alias: no reply.
        own = message("from my alias", sender="info@example.org")
        assert await server.send(own, [ANN], sender="info@example.org") == {}
        assert await server.queued() == []
        # Sent to the alias (header and envelope): addressed to the user, one reply
        # from the alias it was sent to.
        to_alias = message("to my alias", to="info@example.org", message_id="<2@x>")
        assert await server.send(to_alias, ["info@example.org"]) == {}
        ((raw, _, rcpts),) = await server.queued()
        assert rcpts == ["carol@remote.example"] and b"From: info@example.org" in raw


async def test_sieve_delivery_redirect_loop_keeps_a_copy(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, 'redirect "friend@remote.example";')
        looped = message("came back", extra="X-Sieve-Redirected-From: ann@example.org\r\n")
        with sieve_log() as records:
            assert await server.send(looped, [ANN]) == {}
        assert await server.queued() == []
        assert len(await server.folder(ANN)) == 1
        assert any("mail loop" in str(w["problem"]) for w in events(records, "sieve-warning"))


async def test_sieve_delivery_vacation_fcc_files_the_reply(tmp_path: Path) -> None:
    script = 'require ["vacation", "fcc"]; vacation :fcc "Sent" "Away for now.";'
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, script)
        assert await server.send(message("hello"), [ANN]) == {}
        ((queued, _, _),) = await server.queued()
        ((flags, filed),) = await server.folder(ANN, "Sent")
        assert filed == queued and b"\\Seen" in flags
