"""The Email methods over real HTTP (httpx) against a running kernel: Email/get, changes,
query, queryChanges, set, import, parse, copy and SearchSnippet/get (RFC 8621 §4, §5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jmap_support import OTHER, OTHER_PASSWORD, USING, Server, basic, jmap_server, message

from plugins.jmap.ids import ACCOUNT, MAILBOX, encode_id

RICH = (
    b"From: =?utf-8?q?J=C3=B6rg?= <jorg@example.org>\r\n"
    b"To: Friends: a@example.org, b@example.org;, c@example.org\r\n"
    b"Subject: Quarterly budget\r\n"
    b"Date: Mon, 1 Jan 2024 10:00:00 +0100\r\n"
    b"Message-ID: <rich@example.org>\r\n"
    b"X-Tag: one\r\nX-Tag: two\r\n"
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    b"--b\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n"
    b"--c\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe budget is \xc3\xa9normous.\r\n"
    b"--c\r\nContent-Type: text/html\r\n\r\n<p>The budget is big.</p>\r\n"
    b"--c--\r\n"
    b"--b\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n"
    b"Subject: attached\r\nFrom: inner@example.org\r\n\r\ninner text\r\n"
    b"--b--\r\n"
)


async def _upload(server: Server, data: bytes, kind: str = "message/rfc822") -> str:
    response = await server.client.post(
        f"{server.base}/jmap/upload/{server.account_id}/",
        content=data,
        headers={**basic(), "Content-Type": kind},
    )
    assert response.status_code == 201, response.text
    return response.json()["blobId"]


async def test_jmap_email_get_properties(tmp_path: Path) -> None:
    async with jmap_server(tmp_path) as server:
        email = await server.deliver(RICH)
        email_id = "E" + _b32(email)
        name, got = await server.call(
            "Email/get",
            {
                "accountId": server.account_id,
                "ids": [email_id, "Enope"],
                "properties": [
                    "threadId",
                    "mailboxIds",
                    "keywords",
                    "from",
                    "to",
                    "subject",
                    "sentAt",
                    "messageId",
                    "preview",
                    "hasAttachment",
                    "header:X-Tag:all",
                    "header:x-tag",
                    "header:To:asGroupedAddresses",
                    "bodyValues",
                    "textBody",
                    "attachments",
                ],
                "fetchTextBodyValues": True,
                "bodyProperties": ["partId", "type", "blobId"],
            },
        )
        assert name == "Email/get", got
        assert got["notFound"] == ["Enope"] and got["state"].startswith("s")
        [item] = got["list"]
        assert item["id"] == email_id
        assert item["mailboxIds"] == {server.inbox_id: True} and item["keywords"] == {}
        assert item["from"] == [{"name": "Jörg", "email": "jorg@example.org"}]
        assert [a["email"] for a in item["to"]] == [
            "a@example.org",
            "b@example.org",
            "c@example.org",
        ]
        assert item["header:To:asGroupedAddresses"][0]["name"] == "Friends"
        assert item["subject"] == "Quarterly budget"
        assert item["sentAt"] == "2024-01-01T10:00:00+01:00"
        assert item["messageId"] == ["rich@example.org"]
        assert item["header:X-Tag:all"] == [" one", " two"] and item["header:x-tag"] == " two"
        assert item["preview"].startswith("The budget is énormous")
        assert item["hasAttachment"] is True
        assert item["textBody"] == [
            {"partId": "1.1", "type": "text/plain", "blobId": item["textBody"][0]["blobId"]}
        ]
        assert item["bodyValues"]["1.1"]["value"] == "The budget is énormous."
        [attached] = item["attachments"]
        assert attached["type"] == "message/rfc822"
        # The attached message's blob can be parsed (RFC 8621 §4.9's use case).
        _, parsed = await server.call(
            "Email/parse",
            {
                "accountId": server.account_id,
                "blobIds": [attached["blobId"]],
                "properties": ["subject", "from", "textBody"],
            },
        )
        inner = parsed["parsed"][attached["blobId"]]
        assert inner["subject"] == "attached"
        assert inner["from"] == [{"name": None, "email": "inner@example.org"}]
        # Default properties (§4.2) and a forbidden form (invalidArguments).
        _, default = await server.call(
            "Email/get", {"accountId": server.account_id, "ids": [email_id]}
        )
        assert "bodyStructure" not in default["list"][0] and "preview" in default["list"][0]
        name, error = await server.call(
            "Email/get",
            {
                "accountId": server.account_id,
                "ids": [email_id],
                "properties": ["header:From:asDate"],
            },
        )
        assert name == "error" and error["type"] == "invalidArguments"
        name, error = await server.call("Email/get", {"ids": [email_id]})
        assert name == "error" and error["type"] == "invalidArguments"  # accountId not defaulted


def _b32(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuv"
    out = ""
    while True:
        number, rest = divmod(number, 32)
        out = digits[rest] + out
        if not number:
            return out


async def test_jmap_email_set_create_update_destroy_and_changes(tmp_path: Path) -> None:
    async with jmap_server(tmp_path) as server:
        account = server.account_id
        state = (await server.call("Email/get", {"accountId": account, "ids": []}))[1]["state"]
        blob = await _upload(server, b"%PDF binary \x00\xff", "application/pdf")
        result = await server.request(
            [
                [
                    "Email/set",
                    {
                        "accountId": account,
                        "create": {
                            "d1": {
                                "mailboxIds": {server.inbox_id: True},
                                "keywords": {"$draft": True},
                                "from": [{"name": "Ann", "email": "ann@example.org"}],
                                "to": [{"name": None, "email": "bob@example.org"}],
                                "subject": "Draft ✓",
                                "bodyValues": {"t": {"value": "Hi Bob"}},
                                "textBody": [{"partId": "t", "type": "text/plain"}],
                                "attachments": [
                                    {"blobId": blob, "type": "application/pdf", "name": "a.pdf"}
                                ],
                            },
                            "bad": {"mailboxIds": {}},
                            "missing": {
                                "mailboxIds": {server.inbox_id: True},
                                "attachments": [{"blobId": "G" + "0" * 64}],
                            },
                        },
                    },
                    "s1",
                ],
                [
                    "Email/get",
                    {
                        "accountId": account,
                        "ids": ["#d1"],
                        "properties": ["subject", "keywords", "size", "attachments", "blobId"],
                    },
                    "g1",
                ],
            ]
        )
        (_, created, _), (_, fetched, _) = result["methodResponses"]
        d1 = created["created"]["d1"]
        assert set(d1) == {"id", "blobId", "threadId", "size"}
        assert created["notCreated"]["bad"]["type"] == "invalidProperties"
        assert created["notCreated"]["missing"] == {
            "type": "blobNotFound",
            "notFound": ["G" + "0" * 64],
        }
        assert "list" in fetched, (created, fetched)
        [draft] = fetched["list"]
        assert draft["subject"] == "Draft ✓" and draft["keywords"] == {"$draft": True}
        assert draft["size"] == d1["size"] and draft["blobId"] == d1["blobId"]
        assert draft["attachments"][0]["name"] == "a.pdf"
        # The created message's bytes download at its blobId.
        response = await server.client.get(
            f"{server.base}/jmap/download/{account}/{d1['blobId']}/m.eml", headers=basic()
        )
        assert response.status_code == 200 and b"Subject: =?UTF-8?B?" in response.content
        # Update with patch paths, then the whole property.
        archive = await server.kernel.store.mailboxes.by_path(server.account, "Archive")
        assert archive is not None
        archive_id = encode_id(MAILBOX, archive.id)
        _, updated = await server.call(
            "Email/set",
            {
                "accountId": account,
                "update": {
                    d1["id"]: {
                        "keywords/$seen": True,
                        "keywords/$draft": None,
                        f"mailboxIds/{archive_id}": True,
                    }
                },
            },
        )
        assert updated["updated"] == {d1["id"]: None}, updated
        _, now = await server.call(
            "Email/get",
            {"accountId": account, "ids": [d1["id"]], "properties": ["keywords", "mailboxIds"]},
        )
        assert now["list"][0]["keywords"] == {"$seen": True}
        assert now["list"][0]["mailboxIds"] == {server.inbox_id: True, archive_id: True}
        _, refused = await server.call(
            "Email/set",
            {
                "accountId": account,
                "update": {
                    d1["id"]: {"mailboxIds": {}},
                    "Enope": {"keywords": {}},
                },
            },
        )
        assert refused["notUpdated"][d1["id"]]["type"] == "invalidProperties"
        assert refused["notUpdated"]["Enope"]["type"] == "notFound"
        _, refused = await server.call(
            "Email/set", {"accountId": account, "update": {d1["id"]: {"subject": "new"}}}
        )
        assert refused["notUpdated"][d1["id"]]["properties"] == ["subject"]
        _, whole = await server.call(
            "Email/set",
            {
                "accountId": account,
                "update": {
                    d1["id"]: {"keywords": {"$Flagged": True}, "mailboxIds": {archive_id: True}}
                },
            },
        )
        assert whole["updated"] == {d1["id"]: None}
        _, changes = await server.call("Email/changes", {"accountId": account, "sinceState": state})
        assert changes["created"] == [d1["id"]] and changes["destroyed"] == []
        middle = changes["newState"]
        _, destroyed = await server.call(
            "Email/set", {"accountId": account, "destroy": [d1["id"], "Enope"]}
        )
        assert destroyed["destroyed"] == [d1["id"]]
        assert destroyed["notDestroyed"]["Enope"]["type"] == "notFound"
        _, changes = await server.call(
            "Email/changes", {"accountId": account, "sinceState": middle}
        )
        assert changes["destroyed"] == [d1["id"]] and changes["created"] == []
        name, error = await server.call(
            "Email/set", {"accountId": account, "ifInState": "s0", "destroy": []}
        )
        assert name == "error" and error["type"] == "stateMismatch"


async def test_jmap_email_query_filters_sorts_and_query_changes(tmp_path: Path) -> None:
    async with jmap_server(tmp_path) as server:
        account = server.account_id
        store = server.kernel.store.emails
        first = await server.deliver(message(1, "alpha report", b"apples and pears\r\n"))
        second = await server.deliver(message(2, "beta", b"budget numbers\r\n"))
        reply = await server.deliver(
            b"From: zed@example.org\r\nTo: ann@example.org\r\nSubject: Re: alpha report\r\n"
            b"In-Reply-To: <1@example.org>\r\nMessage-ID: <3@example.org>\r\n\r\nok\r\n"
        )
        await store.set_keywords(server.account, [second], add=["$flagged"])
        ids = {n: "E" + _b32(e) for n, e in ((1, first), (2, second), (3, reply))}

        async def query(**args: Any) -> dict[str, Any]:
            name, got = await server.call("Email/query", {"accountId": account, **args})
            assert name == "Email/query", got
            return got

        assert (await query(filter={"text": "apples"}))["ids"] == [ids[1]]
        assert (
            await query(filter={"subject": '"alpha report"'}, sort=[{"property": "receivedAt"}])
        )["ids"] == [ids[1], ids[3]]
        assert (await query(filter={"hasKeyword": "$flagged"}))["ids"] == [ids[2]]
        assert set((await query(filter={"notKeyword": "$flagged"}))["ids"]) == {ids[1], ids[3]}
        assert (await query(filter={"from": "zed"}))["ids"] == [ids[3]]
        assert (await query(filter={"header": ["In-Reply-To"]}))["ids"] == [ids[3]]
        assert (
            await query(filter={"operator": "NOT", "conditions": [{"inMailbox": server.inbox_id}]})
        )["ids"] == []
        assert (
            await query(
                filter={"operator": "OR", "conditions": [{"body": "budget"}, {"body": "apples"}]},
                sort=[{"property": "receivedAt"}],
            )
        )["ids"] == [ids[1], ids[2]]
        got = await query(
            sort=[
                {"property": "hasKeyword", "keyword": "$flagged", "isAscending": False},
                {"property": "receivedAt"},
            ],
            calculateTotal=True,
        )
        assert got["ids"] == [ids[2], ids[1], ids[3]] and got["total"] == 3
        got = await query(
            sort=[{"property": "subject"}, {"property": "receivedAt"}], collapseThreads=True
        )
        assert got["ids"] == [ids[1], ids[2]]  # base subject "alpha report" first, one per thread
        got = await query(sort=[{"property": "from", "isAscending": False}], limit=1, position=-1)
        assert got["position"] == 2 and len(got["ids"]) == 1
        got = await query(
            sort=[{"property": "receivedAt"}], anchor=ids[2], anchorOffset=-1, limit=2
        )
        assert got["ids"] == [ids[1], ids[2]] and got["position"] == 0
        name, error = await server.call("Email/query", {"accountId": account, "anchor": "Enope"})
        assert name == "error" and error["type"] == "anchorNotFound"
        name, error = await server.call(
            "Email/query", {"accountId": account, "filter": {"colour": "red"}}
        )
        assert name == "error" and error["type"] == "unsupportedFilter"
        name, error = await server.call(
            "Email/query", {"accountId": account, "sort": [{"property": "colour"}]}
        )
        assert name == "error" and error["type"] == "unsupportedSort"
        # queryChanges: a new message and a removed one.
        before = await query(
            filter={"inMailbox": server.inbox_id}, sort=[{"property": "receivedAt"}]
        )
        fourth = await server.deliver(message(4, "delta"))
        await store.destroy(server.account, [first])
        _, changes = await server.call(
            "Email/queryChanges",
            {
                "accountId": account,
                "filter": {"inMailbox": server.inbox_id},
                "sort": [{"property": "receivedAt"}],
                "sinceQueryState": before["queryState"],
                "calculateTotal": True,
            },
        )
        assert ids[1] in changes["removed"]
        assert {"id": "E" + _b32(fourth), "index": 2} in changes["added"]
        assert changes["total"] == 3
        _name, error = await server.call(
            "Email/queryChanges", {"accountId": account, "sinceQueryState": "bogus"}
        )
        assert error["type"] == "cannotCalculateChanges"
        # Collapsed threads: a newer reply replaces its thread's leader in the results.
        newest_first = [{"property": "receivedAt", "isAscending": False}]
        collapsed = await query(sort=newest_first, collapseThreads=True)
        assert ids[3] in collapsed["ids"]
        again = await server.deliver(
            b"From: zed@example.org\r\nSubject: Re: alpha report\r\n"
            b"In-Reply-To: <3@example.org>\r\nMessage-ID: <5@example.org>\r\n\r\nmore\r\n"
        )
        _, changes = await server.call(
            "Email/queryChanges",
            {
                "accountId": account,
                "sort": newest_first,
                "collapseThreads": True,
                "sinceQueryState": collapsed["queryState"],
            },
        )
        assert ids[3] in changes["removed"]  # the old leader goes
        assert {"id": "E" + _b32(again), "index": 0} in changes["added"]
        assert ids[3] not in [a["id"] for a in changes["added"]]
        await store.destroy(server.account, [reply])
        name, error = await server.call(
            "Email/queryChanges",
            {
                "accountId": account,
                "sort": newest_first,
                "collapseThreads": True,
                "sinceQueryState": collapsed["queryState"],
            },
        )
        assert name == "error" and error["type"] == "cannotCalculateChanges"


async def test_jmap_email_import_is_searchable_at_once_and_parse(tmp_path: Path) -> None:
    async with jmap_server(tmp_path) as server:
        account = server.account_id
        malformed = (
            b"Subject: broken\r\nContent-Type: multipart/mixed\r\n\r\nno boundary zebrafish\r\n"
        )
        good = message(7, "findable xylophone", b"the quokka body\r\n")
        blobs = [await _upload(server, data) for data in (malformed, good)]
        not_mail = await _upload(server, b"\x00\x01\x02 binary", "application/octet-stream")
        result = await server.request(
            [
                [
                    "Email/import",
                    {
                        "accountId": account,
                        "emails": {
                            "m": {"blobId": blobs[0], "mailboxIds": {server.inbox_id: True}},
                            "g": {
                                "blobId": blobs[1],
                                "mailboxIds": {server.inbox_id: True},
                                "keywords": {"$seen": True},
                                "receivedAt": "2020-02-02T02:02:02Z",
                            },
                            "x": {"blobId": "G" + "1" * 64, "mailboxIds": {server.inbox_id: True}},
                            "k": {
                                "blobId": blobs[1],
                                "mailboxIds": {server.inbox_id: True},
                                "keywords": {"bad word": True},
                            },
                        },
                    },
                    "i",
                ],
                # Search right after the import commits (RFC 8621 text search, same request).
                ["Email/query", {"accountId": account, "filter": {"text": "quokka"}}, "q1"],
                ["Email/query", {"accountId": account, "filter": {"body": "zebrafish"}}, "q2"],
                [
                    "Email/get",
                    {
                        "accountId": account,
                        "#ids": {"resultOf": "q1", "name": "Email/query", "path": "/ids"},
                        "properties": ["receivedAt", "keywords", "blobId"],
                    },
                    "g",
                ],
                [
                    "SearchSnippet/get",
                    {
                        "accountId": account,
                        "filter": {"text": "quokka"},
                        "#emailIds": {"resultOf": "q1", "name": "Email/query", "path": "/ids"},
                    },
                    "s",
                ],
            ]
        )
        imported, q1, q2, got, snippets = (r[1] for r in result["methodResponses"])
        assert set(imported["created"]) == {"m", "g"}, imported
        assert imported["notCreated"]["x"]["type"] == "invalidProperties"
        assert imported["notCreated"]["x"]["properties"] == ["blobId"]
        assert imported["notCreated"]["k"]["type"] == "invalidProperties"
        assert imported["created"]["g"]["blobId"] == blobs[1]  # stored unchanged
        assert q1["ids"] == [imported["created"]["g"]["id"]]
        assert q2["ids"] == [imported["created"]["m"]["id"]]
        assert got["list"][0]["receivedAt"] == "2020-02-02T02:02:02Z"
        assert got["list"][0]["keywords"] == {"$seen": True}
        assert snippets["list"][0]["preview"] == "the <mark>quokka</mark> body"
        assert snippets["list"][0]["subject"] is None
        _, parsed = await server.call(
            "Email/parse",
            {
                "accountId": account,
                "blobIds": [blobs[1], not_mail, "G" + "2" * 64],
                "fetchAllBodyValues": True,
            },
        )
        email = parsed["parsed"][blobs[1]]
        assert email["subject"] == "findable xylophone" and "id" not in email
        assert next(iter(email["bodyValues"].values()))["value"] == "the quokka body\n"
        assert parsed["notParsable"] == [not_mail]
        assert parsed["notFound"] == ["G" + "2" * 64]
        _, parsed = await server.call(
            "Email/parse",
            {
                "accountId": account,
                "blobIds": [blobs[1]],
                "properties": [
                    "id",
                    "mailboxIds",
                    "keywords",
                    "receivedAt",
                    "threadId",
                    "size",
                    "blobId",
                ],
            },
        )
        assert parsed["parsed"][blobs[1]] == {
            "id": None,
            "mailboxIds": None,
            "keywords": None,
            "receivedAt": None,
            "threadId": None,
            "size": len(good),
            "blobId": blobs[1],
        }


async def test_jmap_email_copy_between_accounts(tmp_path: Path) -> None:
    async with jmap_server(tmp_path) as server:
        store = server.kernel.store
        bob = (await store.directory.add_account(OTHER, OTHER_PASSWORD)).id
        bob_inbox = await store.mailboxes.by_path(bob, "INBOX")
        assert bob_inbox is not None
        source = await store.emails.append(
            bob, message(9, "shared note"), [bob_inbox.id], keywords=["$seen"]
        )
        await store.mailboxes.set_rights(bob, bob_inbox.id, server.account, "lrswi")
        bob_id = encode_id(ACCOUNT, bob)
        email_id = "E" + _b32(source.email)
        _, got = await server.call(
            "Email/get", {"accountId": bob_id, "ids": [email_id], "properties": ["subject"]}
        )
        assert got["list"] == [{"id": email_id, "subject": "shared note"}]
        # Only the shared mailbox's Emails are visible, and only it in mailboxIds.
        bob_archive = await store.mailboxes.by_path(bob, "Archive")
        assert bob_archive is not None
        hidden = await store.emails.append(bob, message(10, "private"), [bob_archive.id])
        await store.emails.set_mailboxes(bob, source.email, add=[bob_archive.id])
        hidden_id = "E" + _b32(hidden.email)
        _, got = await server.call(
            "Email/get",
            {"accountId": bob_id, "ids": [email_id, hidden_id], "properties": ["mailboxIds"]},
        )
        assert got["notFound"] == [hidden_id]
        assert got["list"][0]["mailboxIds"] == {encode_id(MAILBOX, bob_inbox.id): True}
        _, found = await server.call("Email/query", {"accountId": bob_id})
        assert found["ids"] == [email_id]
        name, copied = await server.call(
            "Email/copy",
            {
                "fromAccountId": bob_id,
                "accountId": server.account_id,
                "create": {"c1": {"id": email_id, "mailboxIds": {server.inbox_id: True}}},
            },
        )
        assert name == "Email/copy", copied
        new = copied["created"]["c1"]
        assert new["id"] != email_id and new["size"] == source.size
        _, mine = await server.call(
            "Email/get",
            {
                "accountId": server.account_id,
                "ids": [new["id"]],
                "properties": ["subject", "keywords"],
            },
        )
        assert mine["list"][0] == {
            "id": new["id"],
            "subject": "shared note",
            "keywords": {"$seen": True},
        }
        name, error = await server.call(
            "Email/copy",
            {"fromAccountId": server.account_id, "accountId": server.account_id, "create": {}},
        )
        assert name == "error" and error["type"] == "invalidArguments"
        response = await server.post(
            {
                "using": USING,
                "methodCalls": [
                    [
                        "Email/copy",
                        {
                            "fromAccountId": bob_id,
                            "accountId": server.account_id,
                            "create": {
                                "c2": {"id": "Enope", "mailboxIds": {server.inbox_id: True}}
                            },
                        },
                        "c",
                    ]
                ],
            }
        )
        assert response.json()["methodResponses"][0][1]["notCreated"]["c2"]["type"] == "notFound"
        # onSuccessDestroyOriginal: an implicit Email/set destroys the source (RFC 8620 §5.4),
        # which needs the expunge rights on the shared mailbox.
        await store.mailboxes.set_rights(bob, bob_inbox.id, server.account, "lrswitex")
        second = await store.emails.append(bob, message(11, "move me"), [bob_inbox.id])
        second_id = "E" + _b32(second.email)
        result = await server.request(
            [
                [
                    "Email/copy",
                    {
                        "fromAccountId": bob_id,
                        "accountId": server.account_id,
                        "create": {"m": {"id": second_id, "mailboxIds": {server.inbox_id: True}}},
                        "onSuccessDestroyOriginal": True,
                    },
                    "c",
                ]
            ]
        )
        (copy_name, copy, _), (set_name, implicit, set_call) = result["methodResponses"]
        assert copy_name == "Email/copy" and "m" in copy["created"]
        assert set_name == "Email/set" and set_call == "c"
        assert implicit["accountId"] == bob_id and implicit["destroyed"] == [second_id]
        assert second.email not in await store.emails.rows(bob, [second.email])
