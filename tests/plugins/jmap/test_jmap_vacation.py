"""VacationResponse/get and /set over real HTTP (RFC 8621 §8), and the reply at delivery."""

from __future__ import annotations

import smtplib
from pathlib import Path

import trio

from kernel.testing import listener_address
from tests.plugins.jmap.jmap_support import CORE, MAIL, USER, jmap_server

VACATION = "urn:ietf:params:jmap:vacationresponse"
USING = [CORE, MAIL, VACATION]


async def test_jmap_vacation_get_default_singleton(tmp_path: Path) -> None:
    async with jmap_server(tmp_path) as server:
        name, got = await server.call(
            "VacationResponse/get", {"accountId": server.account_id, "ids": None}, using=USING
        )
        assert name == "VacationResponse/get"
        assert got["list"] == [
            {
                "id": "singleton",
                "isEnabled": False,
                "fromDate": None,
                "toDate": None,
                "subject": None,
                "textBody": None,
                "htmlBody": None,
            }
        ]
        assert got["notFound"] == [] and got["state"].startswith("s")
        _, some = await server.call(
            "VacationResponse/get",
            {
                "accountId": server.account_id,
                "ids": ["singleton", "other"],
                "properties": ["isEnabled"],
            },
            using=USING,
        )
        assert some["list"] == [{"id": "singleton", "isEnabled": False}]
        assert some["notFound"] == ["other"]


async def test_jmap_vacation_needs_capability_in_using(tmp_path: Path) -> None:
    async with jmap_server(tmp_path) as server:
        name, error = await server.call("VacationResponse/get", {"accountId": server.account_id})
        assert (name, error["type"]) == ("error", "unknownMethod")


async def test_jmap_vacation_set_update_and_refusals(tmp_path: Path) -> None:
    async with jmap_server(tmp_path) as server:
        account = server.account_id
        _, done = await server.call(
            "VacationResponse/set",
            {
                "accountId": account,
                "update": {
                    "singleton": {
                        "isEnabled": True,
                        "fromDate": "2030-01-01T00:00:00Z",
                        "toDate": "2030-01-08T00:00:00Z",
                        "subject": "Away",
                        "textBody": "Back next week.",
                    }
                },
                "create": {"new": {"isEnabled": True}},
                "destroy": ["singleton"],
            },
            using=USING,
        )
        assert done["updated"] == {"singleton": None}
        assert done["notCreated"]["new"]["type"] == "singleton"
        assert done["notDestroyed"]["singleton"]["type"] == "singleton"
        assert done["newState"] != done["oldState"]
        _, got = await server.call("VacationResponse/get", {"accountId": account}, using=USING)
        (vacation,) = got["list"]
        assert vacation["isEnabled"] is True
        assert (vacation["fromDate"], vacation["toDate"]) == (
            "2030-01-01T00:00:00Z",
            "2030-01-08T00:00:00Z",
        )
        assert (vacation["subject"], vacation["textBody"], vacation["htmlBody"]) == (
            "Away",
            "Back next week.",
            None,
        )
        stored = await server.kernel.store.vacation.get(server.account)
        assert stored.is_enabled and stored.subject == "Away"
        _, bad = await server.call(
            "VacationResponse/set",
            {
                "accountId": account,
                "update": {
                    "singleton": {"isEnabled": "yes", "fromDate": "tomorrow", "subject": 5},
                    "other": {"isEnabled": False},
                },
            },
            using=USING,
        )
        invalid = bad["notUpdated"]["singleton"]
        assert invalid["type"] == "invalidProperties"
        assert invalid["properties"] == ["fromDate", "isEnabled", "subject"]
        assert bad["notUpdated"]["other"]["type"] == "notFound"
        _, stale = await server.call(
            "VacationResponse/set",
            {"accountId": account, "ifInState": "s0", "update": {"singleton": {}}},
            using=USING,
        )
        assert stale["type"] == "stateMismatch"


async def test_jmap_vacation_reply_sent_at_smtp_delivery(tmp_path: Path) -> None:
    config = {
        "server": {"hostname": "mx.example.org"},
        "listeners": {
            "mta": {"bind": "127.0.0.1:0", "protocol": "smtp", "role": "mta", "tls": "none"}
        },
        "smtp": {"queue": {"enabled": False}},
    }
    async with jmap_server(tmp_path, config, extra_plugins=("smtp", "sieve")) as server:
        _, done = await server.call(
            "VacationResponse/set",
            {
                "accountId": server.account_id,
                "update": {
                    "singleton": {
                        "isEnabled": True,
                        "subject": "Out of office",
                        "textBody": "I am away.",
                        "htmlBody": "<p>I am <b>away</b>.</p>",
                    }
                },
            },
            using=USING,
        )
        assert done["updated"] == {"singleton": None}
        data = (
            f"From: Carol <carol@remote.example>\r\nTo: {USER}\r\nSubject: hi\r\n"
            "Message-ID: <v1@remote.example>\r\n\r\nHello.\r\n"
        ).encode()
        address = listener_address(server.kernel, "mta")

        def send() -> None:
            with smtplib.SMTP(*address, local_hostname="client.example", timeout=15) as smtp:
                smtp.sendmail("carol@remote.example", [USER], data)
                smtp.sendmail("carol@remote.example", [USER], data)  # once per period

        await trio.to_thread.run_sync(send)
        queue = server.kernel.store.queue
        (queued,) = await queue.list()
        assert [r.recipient for r in queued.recipients] == ["carol@remote.example"]
        assert queued.return_path == ""
        raw = await queue.raw(queued.id)
        assert b"Subject: Out of office" in raw
        assert b"Auto-Submitted: auto-replied" in raw
        assert b"In-Reply-To: <v1@remote.example>" in raw
        assert b"multipart/alternative" in raw and b"<p>I am <b>away</b>.</p>" in raw
        assert b"I am away." in raw
        # Both messages were delivered to INBOX (the reply does not replace delivery).
        _, found = await server.call(
            "Email/query",
            {"accountId": server.account_id, "filter": {"inMailbox": server.inbox_id}},
        )
        assert len(found["ids"]) == 2
