"""The JMAP VacationResponse at local delivery (RFC 8621 §8 through RFC 5230's rules).

Mail goes in over SMTP; the reply is looked for in the outbound queue; delivery
itself is checked over IMAP.
"""

from __future__ import annotations

import email
import time
from pathlib import Path

from sieve_delivery_support import ANN, BOB, events, message, sieve_log, sieve_server

from kernel.store.vacation import VacationResponse
from plugins.sieve.vacation_response import reply_action

AWAY = VacationResponse(is_enabled=True, subject="Away", text_body="Back on Monday.")


async def test_sieve_vacation_response_replies_once_per_sender(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        await server.kernel.store.vacation.put(server.accounts[ANN], AWAY)
        assert await server.send(message("one", message_id="<a@x>"), [ANN]) == {}
        assert await server.send(message("two", message_id="<b@x>"), [ANN]) == {}
        other = message("three", sender="dave@remote.example", message_id="<c@x>")
        assert await server.send(other, [ANN], sender="dave@remote.example") == {}
        queued = await server.queued()
        assert [(m[1], m[2]) for m in queued] == [
            ("", ["carol@remote.example"]),
            ("", ["dave@remote.example"]),
        ]
        reply = email.message_from_bytes(queued[0][0])
        assert reply["Subject"] == "Away" and reply["From"] == ANN
        assert reply["In-Reply-To"] == "<a@x>"
        assert reply["Auto-Submitted"].startswith("auto-replied")
        assert "Back on Monday." in reply.get_payload()
        assert len(await server.folder(ANN)) == 3  # every message delivered
        # Bob has no vacation response: nothing more is queued for his mail.
        assert await server.send(message("bob", to=BOB), [BOB]) == {}
        assert len(await server.queued()) == 2


async def test_sieve_vacation_response_follows_rfc5230_rules(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        await server.kernel.store.vacation.put(server.accounts[ANN], AWAY)
        assert await server.send(message("bounce"), [ANN], sender="") == {}
        listed = message("digest", extra="List-Id: <python.lists.example>\r\n")
        assert await server.send(listed, [ANN]) == {}
        bulk = message("news", extra="Precedence: bulk\r\n")
        assert await server.send(bulk, [ANN]) == {}
        auto = message("auto", extra="Auto-Submitted: auto-generated\r\n")
        assert await server.send(auto, [ANN]) == {}
        not_to_me = message("bcc", to="someone@remote.example")
        assert await server.send(not_to_me, [ANN]) == {}
        assert await server.queued() == []
        assert await server.send(message("personal"), [ANN]) == {}
        assert [m[2] for m in await server.queued()] == [["carol@remote.example"]]


async def test_sieve_vacation_response_dates_and_disabled(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        store, ann = server.kernel.store.vacation, server.accounts[ANN]
        now = time.time()
        await store.put(ann, VacationResponse(False, None, None, "Away", "x"))
        assert await server.send(message("disabled"), [ANN]) == {}
        await store.put(ann, VacationResponse(True, now + 86400, None, "Away", "x"))
        assert await server.send(message("before"), [ANN]) == {}
        await store.put(ann, VacationResponse(True, now - 7200, now - 3600, "Away", "x"))
        assert await server.send(message("after"), [ANN]) == {}
        assert await server.queued() == []
        await store.put(ann, VacationResponse(True, now - 3600, now + 3600, "Away", "x"))
        assert await server.send(message("within"), [ANN]) == {}
        assert len(await server.queued()) == 1
        assert len(await server.folder(ANN)) == 4


async def test_sieve_vacation_response_beside_an_active_script(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, 'require ["fileinto", "mailbox"]; fileinto :create "Filed";')
        await server.kernel.store.vacation.put(server.accounts[ANN], AWAY)
        with sieve_log() as records:
            assert await server.send(message("filed"), [ANN]) == {}
        assert len(await server.queued()) == 1
        assert events(records, "sieve-sent")[0]["action"] == "vacation"
        assert len(await server.folder(ANN, "Filed")) == 1


async def test_sieve_vacation_response_without_queue_keeps_delivering(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        await server.kernel.store.vacation.put(server.accounts[ANN], AWAY)
        server.drop_queue()
        with sieve_log() as records:
            assert await server.send(message("hello"), [ANN]) == {}
        assert events(records, "sieve-queue-unavailable")
        assert len(await server.folder(ANN)) == 1


def test_sieve_vacation_response_reply_action_forms() -> None:
    plain = reply_action(AWAY, 86400)
    assert (plain.reason, plain.subject, plain.mime, plain.period) == (
        "Back on Monday.",
        "Away",
        False,
        86400,
    )
    html = VacationResponse(True, subject=None, html_body="<p>Gone &amp; <b>back</b> soon</p>")
    rich = reply_action(html, 3600)
    assert rich.mime and rich.subject is None
    assert "multipart/alternative" in rich.reason
    assert "Gone & back soon" in rich.reason  # the text part, from the HTML
    assert "<p>Gone &amp; <b>back</b> soon</p>" in rich.reason
    # An edited response gets a new tracking handle (RFC 5230 §4.2).
    edited = reply_action(VacationResponse(True, subject="Away", text_body="Back Tuesday."), 1)
    assert edited.handle != plain.handle
    assert reply_action(AWAY, 1).handle == plain.handle
