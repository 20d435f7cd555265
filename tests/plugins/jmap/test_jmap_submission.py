"""EmailSubmission over real HTTP (RFC 8621 §7): sending through the outbound queue to a
local recipient, onSuccessUpdateEmail, delayed send and undo, query and changes."""

from __future__ import annotations

import calendar
import time
from pathlib import Path
from typing import Any

from plugins.smtp.outbound.testing import wait_until
from tests.plugins.jmap.jmap_submission_support import (
    bob_inbox,
    call,
    calls,
    default_identity,
    draft,
    mailbox_id,
    submission_server,
)


async def _submission(server: Any, sub_id: str) -> dict[str, Any]:
    _, got = await call(server, "EmailSubmission/get", {"ids": [sub_id]})
    return got["list"][0]


async def test_jmap_submission_sends_draft_and_moves_it_to_sent(tmp_path: Path) -> None:
    async with submission_server(tmp_path) as (server, bob):
        identity = await default_identity(server)
        drafts = await mailbox_id(server, "Drafts")
        sent = await mailbox_id(server, "Sent")
        responses = await calls(
            server,
            [
                [
                    "Email/set",
                    {"create": {"d": draft(drafts, bcc=[{"email": "info@example.org"}])}},
                    "0",
                ],
                [
                    "EmailSubmission/set",
                    {
                        "create": {"s": {"identityId": identity, "emailId": "#d"}},
                        "onSuccessUpdateEmail": {
                            "#s": {
                                f"mailboxIds/{drafts}": None,
                                f"mailboxIds/{sent}": True,
                                "keywords/$draft": None,
                            }
                        },
                    },
                    "1",
                ],
            ],
        )
        assert [r[0] for r in responses] == ["Email/set", "EmailSubmission/set", "Email/set"]
        email_id = responses[0][1]["created"]["d"]["id"]
        created = responses[1][1]["created"]["s"]
        assert created["undoStatus"] in ("pending", "final")
        assert created["threadId"] == responses[0][1]["created"]["d"]["threadId"]
        envelope = created["envelope"]
        assert envelope["mailFrom"]["email"] == "ann@example.org"
        # §7: rcptTo from To, Cc and Bcc
        assert {r["email"] for r in envelope["rcptTo"]} == {"bob@example.org", "info@example.org"}
        assert responses[2][1]["updated"] == {email_id: None}
        assert responses[2][2] == "1"  # the implicit call answers with the same call id

        delivered = await wait_until(lambda: bob_inbox(server, bob))
        assert b"Subject: Hello Bob" in delivered[0]
        assert b"Bcc:" not in delivered[0].split(b"\r\n\r\n")[0]  # §7.5
        own = await wait_until(lambda: _in_inbox(server))  # info@ is Ann's alias
        assert b"Hello Bob" in own[0]

        async def final() -> dict[str, Any] | None:
            got = await _submission(server, created["id"])
            statuses = got["deliveryStatus"].values()
            return got if all(s["delivered"] == "yes" for s in statuses) else None

        got = await wait_until(final)
        assert got["undoStatus"] == "final" and got["emailId"] == email_id
        assert got["identityId"] == identity and got["dsnBlobIds"] == []
        assert got["deliveryStatus"]["bob@example.org"]["smtpReply"].startswith("250")
        assert got["deliveryStatus"]["bob@example.org"]["displayed"] == "unknown"

        _, emails = await call(
            server, "Email/get", {"ids": [email_id], "properties": ["mailboxIds", "keywords"]}
        )
        assert emails["list"][0]["mailboxIds"] == {sent: True}
        assert "$draft" not in emails["list"][0]["keywords"]

        # cancel after the send: cannotUnsend (§7.5)
        _, result = await call(
            server, "EmailSubmission/set", {"update": {created["id"]: {"undoStatus": "canceled"}}}
        )
        assert result["notUpdated"][created["id"]]["type"] == "cannotUnsend"


async def _in_inbox(server: Any) -> list[bytes]:
    from plugins.smtp.outbound.testing import inbox

    return await inbox(server.kernel, server.account)


async def test_jmap_submission_delayed_send_is_canceled(tmp_path: Path) -> None:
    async with submission_server(tmp_path) as (server, bob):
        identity = await default_identity(server)
        drafts = await mailbox_id(server, "Drafts")
        envelope = {
            "mailFrom": {"email": "ann@example.org", "parameters": {"HOLDFOR": "3600"}},
            "rcptTo": [{"email": "bob@example.org", "parameters": None}],
        }
        before = time.time()
        responses = await calls(
            server,
            [
                ["Email/set", {"create": {"d": draft(drafts)}}, "0"],
                [
                    "EmailSubmission/set",
                    {
                        "create": {
                            "s": {"identityId": identity, "emailId": "#d", "envelope": envelope}
                        }
                    },
                    "1",
                ],
            ],
        )
        created = responses[1][1]["created"]["s"]
        assert created["undoStatus"] == "pending"
        assert "envelope" not in created  # the client sent it
        got = await _submission(server, created["id"])
        assert got["envelope"]["mailFrom"]["email"] == "ann@example.org"
        assert got["deliveryStatus"]["bob@example.org"]["delivered"] == "queued"
        send_at = calendar.timegm(time.strptime(got["sendAt"], "%Y-%m-%dT%H:%M:%SZ"))
        assert before + 3590 < send_at < time.time() + 3610

        _, pending = await call(
            server, "EmailSubmission/query", {"filter": {"undoStatus": "pending"}}
        )
        assert pending["ids"] == [created["id"]]
        _, result = await call(
            server, "EmailSubmission/set", {"update": {created["id"]: {"undoStatus": "canceled"}}}
        )
        assert result["updated"] == {created["id"]: None}
        got = await _submission(server, created["id"])
        assert got["undoStatus"] == "canceled"
        assert got["deliveryStatus"]["bob@example.org"]["delivered"] == "no"
        _, result = await call(
            server, "EmailSubmission/set", {"update": {created["id"]: {"undoStatus": "pending"}}}
        )
        assert result["notUpdated"][created["id"]]["type"] == "invalidProperties"
        assert await server.kernel.store.queue.next_due() is None  # nothing left to send
        assert await bob_inbox(server, bob) == []


async def test_jmap_submission_query_changes_destroy(tmp_path: Path) -> None:
    async with submission_server(tmp_path) as (server, bob):
        identity = await default_identity(server)
        drafts = await mailbox_id(server, "Drafts")
        _, start = await call(server, "EmailSubmission/get", {"ids": []})
        _, query0 = await call(server, "EmailSubmission/query", {})
        assert query0["ids"] == []
        hold = {"HOLDFOR": "600"}
        ids = []
        emails = []
        for n in range(3):
            responses = await calls(
                server,
                [
                    ["Email/set", {"create": {"d": draft(drafts, subject=f"n{n}")}}, "0"],
                    [
                        "EmailSubmission/set",
                        {
                            "create": {
                                "s": {
                                    "identityId": identity,
                                    "emailId": "#d",
                                    "envelope": {
                                        "mailFrom": {
                                            "email": "info@example.org",
                                            "parameters": hold if n < 2 else None,
                                        },
                                        "rcptTo": [{"email": "bob@example.org"}],
                                    },
                                }
                            }
                        },
                        "1",
                    ],
                ],
            )
            emails.append(responses[0][1]["created"]["d"]["id"])
            ids.append(responses[1][1]["created"]["s"]["id"])
        await wait_until(lambda: bob_inbox(server, bob))

        _, changes = await call(server, "EmailSubmission/changes", {"sinceState": start["state"]})
        assert set(changes["created"]) == set(ids)
        _, by_email = await call(
            server, "EmailSubmission/query", {"filter": {"emailIds": [emails[1]]}}
        )
        assert by_email["ids"] == [ids[1]]
        _, ordered = await call(
            server,
            "EmailSubmission/query",
            {"sort": [{"property": "sentAt", "isAscending": False}], "calculateTotal": True},
        )
        assert ordered["ids"][-1] == ids[2] and ordered["total"] == 3  # sent at once: earliest
        _, pending = await call(
            server,
            "EmailSubmission/query",
            {
                "filter": {
                    "operator": "AND",
                    "conditions": [{"undoStatus": "pending"}, {"identityIds": [identity]}],
                },
                "sort": [{"property": "emailId"}],
            },
        )
        assert pending["ids"] == ids[:2]
        _, later = await call(
            server,
            "EmailSubmission/query",
            {
                "filter": {
                    "after": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
                }
            },
        )
        assert later["ids"] == ids[:2]
        _, bad = await call(server, "EmailSubmission/query", {"filter": {"subject": "x"}})
        assert bad["type"] == "unsupportedFilter"
        _, bad = await call(server, "EmailSubmission/query", {"sort": [{"property": "size"}]})
        assert bad["type"] == "unsupportedSort"

        responses = await calls(
            server,
            [
                [
                    "EmailSubmission/set",
                    {"destroy": [ids[0]], "onSuccessDestroyEmail": [ids[0]]},
                    "0",
                ],
            ],
        )
        assert responses[0][1]["destroyed"] == [ids[0]]
        assert responses[1][0] == "Email/set" and responses[1][1]["destroyed"] == [emails[0]]
        _, got = await call(server, "EmailSubmission/get", {"ids": [ids[0]]})
        assert got["notFound"] == [ids[0]]
        # §7.5: destroying the record does not cancel the delivery it represents
        assert await server.kernel.store.queue.next_due() is not None
        _, changes = await call(
            server, "EmailSubmission/changes", {"sinceState": pending["queryState"]}
        )
        assert ids[0] in changes["destroyed"]
        _, qc = await call(
            server,
            "EmailSubmission/queryChanges",
            {"sinceQueryState": pending["queryState"], "filter": {"undoStatus": "pending"}},
        )
        assert ids[0] in qc["removed"] and [a["id"] for a in qc["added"]] == []


async def test_jmap_submission_set_errors(tmp_path: Path) -> None:
    async with submission_server(tmp_path) as (server, _):
        identity = await default_identity(server)
        drafts = await mailbox_id(server, "Drafts")
        _, made = await call(
            server,
            "Email/set",
            {
                "create": {
                    "ok": draft(drafts),
                    "foreign": draft(drafts, sender="ann@elsewhere.test"),
                    "nofrom": draft(drafts, **{"from": None}),
                    "norcpt": draft(drafts, to=None),
                }
            },
        )
        ok = made["created"]["ok"]["id"]

        def env(mail_from: str, rcpt: list[str], params: dict[str, str] | None = None) -> Any:
            return {
                "mailFrom": {"email": mail_from, "parameters": params},
                "rcptTo": [{"email": r, "parameters": None} for r in rcpt],
            }

        creates = {
            "forbiddenFrom": {"identityId": identity, "emailId": made["created"]["foreign"]["id"]},
            "nofrom": {"identityId": identity, "emailId": made["created"]["nofrom"]["id"]},
            "norcpt": {"identityId": identity, "emailId": made["created"]["norcpt"]["id"]},
            "mailfrom": {
                "identityId": identity,
                "emailId": ok,
                "envelope": env("x@else.test", ["bob@example.org"]),
            },
            "empty": {
                "identityId": identity,
                "emailId": ok,
                "envelope": env("ann@example.org", []),
            },
            "invalid": {
                "identityId": identity,
                "emailId": ok,
                "envelope": env("ann@example.org", ["bob@example.org", "not an address"]),
            },
            "many": {
                "identityId": identity,
                "emailId": ok,
                "envelope": env("ann@example.org", [f"r{n}@example.net" for n in range(1001)]),
            },
            "injected": {
                "identityId": identity,
                "emailId": ok,
                "envelope": env("ann@example.org\r\nRCPT TO:<x@else.test>", ["bob@example.org"]),
            },
            "noemail": {"identityId": identity, "emailId": "Ezzzz"},
            "noidentity": {"identityId": "Izzzz", "emailId": ok},
            "serverset": {"identityId": identity, "emailId": ok, "sendAt": "2030-01-01T00:00:00Z"},
            "toolong": {
                "identityId": identity,
                "emailId": ok,
                "envelope": env("ann@example.org", ["bob@example.org"], {"HOLDFOR": "99999999"}),
            },
            "badparam": {
                "identityId": identity,
                "emailId": ok,
                "envelope": env("ann@example.org", ["bob@example.org"], {"XYZZY": "1"}),
            },
        }
        _, result = await call(server, "EmailSubmission/set", {"create": creates})
        assert result["created"] is None
        errors = result["notCreated"]
        assert errors["forbiddenFrom"]["type"] == "forbiddenFrom"
        assert errors["nofrom"]["type"] == "invalidEmail"
        assert errors["norcpt"]["type"] == "noRecipients"
        assert errors["mailfrom"]["type"] == "forbiddenMailFrom"
        assert errors["empty"]["type"] == "noRecipients"
        assert errors["invalid"]["type"] == "invalidRecipients"
        assert errors["invalid"]["invalidRecipients"] == ["not an address"]
        assert errors["many"]["type"] == "tooManyRecipients"
        assert errors["many"]["maxRecipients"] == 1000
        assert errors["noemail"] == {
            **errors["noemail"],
            "type": "invalidProperties",
            "properties": ["emailId"],
        }
        assert errors["noidentity"]["properties"] == ["identityId"]
        assert errors["injected"]["properties"] == ["envelope"]
        assert errors["serverset"]["properties"] == ["sendAt"]
        assert errors["toolong"]["properties"] == ["envelope"]
        assert errors["badparam"]["properties"] == ["envelope"]
        assert await server.kernel.store.queue.list() == []  # nothing was queued

        _, bad = await call(server, "EmailSubmission/set", {"onSuccessDestroyEmail": "x"})
        assert bad["type"] == "invalidArguments"
        _, result = await call(
            server, "EmailSubmission/set", {"update": {"Szz": {"undoStatus": "canceled"}}}
        )
        assert result["notUpdated"]["Szz"]["type"] == "notFound"
