"""RFC 8620 core over real HTTP: the session resource, the API endpoint's
request-level and method-level errors, result references, createdIds, Core/echo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio
from jmap_support import CORE, MAIL, USER, USING, basic, jmap_server

from plugins.jmap.http import JMAP_SERVICE

TIMEOUT = 20
PROBLEM = "application/problem+json"


async def test_jmap_session_resource_fields(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            response = await server.client.get(server.base + "/.well-known/jmap", headers=basic())
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("application/json")
            session = response.json()
            for field in (
                "capabilities",
                "accounts",
                "primaryAccounts",
                "username",
                "apiUrl",
                "downloadUrl",
                "uploadUrl",
                "eventSourceUrl",
                "state",
            ):
                assert field in session, field
            core = session["capabilities"][CORE]
            for limit in (
                "maxSizeUpload",
                "maxConcurrentUpload",
                "maxSizeRequest",
                "maxConcurrentRequests",
                "maxCallsInRequest",
                "maxObjectsInGet",
                "maxObjectsInSet",
            ):
                assert isinstance(core[limit], int) and core[limit] > 0, limit
            assert "i;unicode-casemap" in core["collationAlgorithms"]
            assert MAIL in session["capabilities"]
            ws = session["capabilities"]["urn:ietf:params:jmap:websocket"]
            assert ws["url"].startswith("ws://127.0.0.1:") and ws["supportsPush"] is True
            assert session["username"] == USER
            account = session["accounts"][server.account_id]
            assert account["isPersonal"] is True and account["isReadOnly"] is False
            assert account["name"] == USER
            mail = account["accountCapabilities"][MAIL]
            for key in (
                "maxMailboxesPerEmail",
                "maxMailboxDepth",
                "maxSizeMailboxName",
                "maxSizeAttachmentsPerEmail",
                "emailQuerySortOptions",
                "mayCreateTopLevelMailbox",
            ):
                assert key in mail, key
            assert session["primaryAccounts"][MAIL] == server.account_id
            assert session["apiUrl"] == server.base + "/jmap/api/"
            for template, variables in (
                ("downloadUrl", ("{accountId}", "{blobId}", "{type}", "{name}")),
                ("uploadUrl", ("{accountId}",)),
                ("eventSourceUrl", ("{types}", "{closeafter}", "{ping}")),
            ):
                assert session[template].startswith(server.base + "/")
                for variable in variables:
                    assert variable in session[template], (template, variable)
            # The Host header decides the absolute URLs.
            other = await server.client.get(
                server.base + "/.well-known/jmap",
                headers={**basic(), "Host": "mail.example.org:8443"},
            )
            assert other.json()["apiUrl"] == "http://mail.example.org:8443/jmap/api/"
            # Same data, same state; the API's sessionState is that state.
            again = await server.client.get(server.base + "/.well-known/jmap", headers=basic())
            assert again.json()["state"] == session["state"] == other.json()["state"]
            api = await server.request([["Core/echo", {}, "e"]])
            assert api["sessionState"] == session["state"]
            # A new shared account changes the session and its state.
            bob = await server.kernel.store.directory.add_account("bob@example.org", "pw")
            await server.kernel.store.mailboxes.set_rights(
                bob.id,
                _inbox(await server.kernel.store.mailboxes.list(bob.id)),
                server.account,
                "lr",
            )
            changed = await server.client.get(server.base + "/.well-known/jmap", headers=basic())
            assert changed.json()["state"] != session["state"]
            assert len(changed.json()["accounts"]) == 2
            api = await server.request([["Core/echo", {}, "e"]])
            assert api["sessionState"] == changed.json()["state"]


async def test_jmap_session_base_url_config(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(
            tmp_path, {"jmap": {"base_url": "https://jmap.example.org"}}
        ) as server:
            session = (
                await server.client.get(server.base + "/.well-known/jmap", headers=basic())
            ).json()
            assert session["apiUrl"] == "https://jmap.example.org/jmap/api/"
            ws_url = session["capabilities"]["urn:ietf:params:jmap:websocket"]["url"]
            assert ws_url == "wss://jmap.example.org/jmap/ws"


def _inbox(mailboxes: list[Any]) -> int:
    return next(m.id for m in mailboxes if m.role == "inbox")


async def _problem(response: Any, error: str, limit: str | None = None) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"] == "urn:ietf:params:jmap:error:" + error
    assert body["status"] == 400
    if limit is not None:
        assert body["limit"] == limit


async def test_jmap_request_level_errors(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(
            tmp_path, {"jmap": {"max_size_request": 2048, "max_calls_in_request": 3}}
        ) as server:
            url = server.base + "/jmap/api/"
            headers = {**basic(), "Content-Type": "application/json"}
            not_json = await server.client.post(url, content=b"{not json", headers=headers)
            await _problem(not_json, "notJSON")
            nan = await server.client.post(
                url, content=b'{"using": [], "methodCalls": [], "x": NaN}', headers=headers
            )
            await _problem(nan, "notJSON")
            bad_utf8 = await server.client.post(url, content=b'"\xff"', headers=headers)
            await _problem(bad_utf8, "notJSON")
            wrong_type = await server.client.post(
                url,
                content=b'{"using": [], "methodCalls": []}',
                headers={**basic(), "Content-Type": "text/plain"},
            )
            await _problem(wrong_type, "notJSON")
            await _problem(await server.post([1, 2]), "notRequest")
            await _problem(await server.post({"methodCalls": []}), "notRequest")
            await _problem(await server.post({"using": [CORE]}), "notRequest")
            await _problem(
                await server.post({"using": [CORE], "methodCalls": [["Core/echo", {}]]}),
                "notRequest",
            )
            await _problem(
                await server.post({"using": [CORE], "methodCalls": [["Core/echo", [], "a"]]}),
                "notRequest",
            )
            unknown = await server.post({"using": [CORE, "urn:example:nope"], "methodCalls": []})
            await _problem(unknown, "unknownCapability")
            assert "urn:example:nope" in unknown.json()["detail"]
            too_many = await server.post(
                {"using": [CORE], "methodCalls": [["Core/echo", {}, str(i)] for i in range(4)]}
            )
            await _problem(too_many, "limit", "maxCallsInRequest")
            big = await server.post(
                {"using": [CORE], "methodCalls": [["Core/echo", {"x": "y" * 4096}, "a"]]}
            )
            await _problem(big, "limit", "maxSizeRequest")
            # A chunked body (no Content-Length) is limited while it is read.

            async def chunks() -> Any:
                yield b'{"using": ["urn:ietf:params:jmap:core"], "methodCalls": [["Core/echo", '
                yield b'{"x": "' + b"y" * 4096 + b'"}, "a"]]}'

            chunked = await server.client.post(url, content=chunks(), headers=headers)
            await _problem(chunked, "limit", "maxSizeRequest")
            # Exactly at the limit of calls is fine.
            ok = await server.request([["Core/echo", {}, str(i)] for i in range(3)], using=[CORE])
            assert len(ok["methodResponses"]) == 3


async def test_jmap_method_level_errors(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(
            tmp_path, {"jmap": {"max_objects_in_get": 2, "max_objects_in_set": 2}}
        ) as server:
            account = server.account_id
            result = await server.request(
                [
                    ["Nope/get", {}, "0"],
                    ["Mailbox/get", {}, "1"],
                    ["Mailbox/get", {"accountId": "A999"}, "2"],
                    ["Mailbox/get", {"accountId": "not an id!"}, "3"],
                    ["Mailbox/get", {"accountId": account, "ids": ["a", "b", "c"]}, "4"],
                    ["Mailbox/get", {"accountId": account, "bogus": 1}, "5"],
                    ["Mailbox/get", {"accountId": account, "properties": ["nope"]}, "6"],
                    ["Mailbox/set", {"accountId": account, "ifInState": "s999999"}, "7"],
                    [
                        "Mailbox/set",
                        {"accountId": account, "destroy": ["M1", "M2", "M3"]},
                        "8",
                    ],
                    ["Mailbox/changes", {"accountId": account, "sinceState": "garbage"}, "9"],
                    ["Mailbox/changes", {"accountId": account}, "10"],
                    ["Mailbox/get", {"accountId": 42}, "11"],
                ]
            )
            errors = {r[2]: r[1]["type"] for r in result["methodResponses"]}
            assert all(r[0] == "error" for r in result["methodResponses"])
            assert errors == {
                "0": "unknownMethod",
                "1": "invalidArguments",
                "2": "accountNotFound",
                "3": "accountNotFound",
                "4": "requestTooLarge",
                "5": "invalidArguments",
                "6": "invalidArguments",
                "7": "stateMismatch",
                "8": "requestTooLarge",
                "9": "cannotCalculateChanges",
                "10": "invalidArguments",
                "11": "invalidArguments",
            }
            # A method whose capability is not in "using" is unknownMethod (§3.6.2).
            name, args = await server.call("Mailbox/get", {"accountId": account}, using=[CORE])
            assert (name, args["type"]) == ("error", "unknownMethod")
            # sessionState is there.
            assert isinstance(result["sessionState"], str)


async def test_jmap_result_references(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            account = server.account_id
            result = await server.request(
                [
                    ["Mailbox/query", {"accountId": account, "filter": None}, "q"],
                    [
                        "Mailbox/get",
                        {
                            "accountId": account,
                            "#ids": {"resultOf": "q", "name": "Mailbox/query", "path": "/ids"},
                            "properties": ["name"],
                        },
                        "g",
                    ],
                    [
                        "Core/echo",
                        {
                            "#names": {
                                "resultOf": "g",
                                "name": "Mailbox/get",
                                "path": "/list/*/name",
                            },
                            "#first": {
                                "resultOf": "g",
                                "name": "Mailbox/get",
                                "path": "/list/0/id",
                            },
                        },
                        "e",
                    ],
                    [
                        "Mailbox/get",
                        {
                            "accountId": account,
                            "#ids": {"resultOf": "nope", "name": "Mailbox/query", "path": "/ids"},
                        },
                        "bad1",
                    ],
                    [
                        "Mailbox/get",
                        {
                            "accountId": account,
                            "#ids": {"resultOf": "q", "name": "Mailbox/get", "path": "/ids"},
                        },
                        "bad2",
                    ],
                    [
                        "Mailbox/get",
                        {
                            "accountId": account,
                            "#ids": {"resultOf": "q", "name": "Mailbox/query", "path": "/nope"},
                        },
                        "bad3",
                    ],
                    [
                        "Mailbox/get",
                        {
                            "accountId": account,
                            "ids": [],
                            "#ids": {"resultOf": "q", "name": "Mailbox/query", "path": "/ids"},
                        },
                        "bad4",
                    ],
                    ["Mailbox/get", {"accountId": account, "#ids": "junk"}, "bad5"],
                ]
            )
            responses = {r[2]: r for r in result["methodResponses"]}
            ids = responses["q"][1]["ids"]
            assert len(ids) == 6
            listed = responses["g"][1]["list"]
            assert [m["id"] for m in listed] == ids
            assert set(listed[0]) == {"id", "name"}
            echo = responses["e"][1]
            assert echo["names"] == [m["name"] for m in listed]
            assert echo["first"] == ids[0]
            for bad in ("bad1", "bad2", "bad3", "bad5"):
                assert responses[bad][0] == "error"
                assert responses[bad][1]["type"] == "invalidResultReference", bad
            assert responses["bad4"][1]["type"] == "invalidArguments"


async def test_jmap_created_ids_and_creation_references(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            account = server.account_id
            result = await server.request(
                [
                    [
                        "Mailbox/set",
                        {
                            "accountId": account,
                            "create": {
                                "parent": {"name": "Projects"},
                                "child": {"name": "Alpha", "parentId": "#parent"},
                            },
                        },
                        "s",
                    ],
                    ["Mailbox/get", {"accountId": account, "ids": ["#child"]}, "g"],
                ],
                createdIds={"earlier": "Mzz"},
            )
            created = result["methodResponses"][0][1]["created"]
            parent_id = created["parent"]["id"]
            child = result["methodResponses"][1][1]["list"][0]
            assert child["id"] == created["child"]["id"]
            assert child["parentId"] == parent_id
            assert result["createdIds"] == {
                "earlier": "Mzz",
                "parent": parent_id,
                "child": child["id"],
            }
            # Without createdIds in the request, none in the response (§3.4).
            plain = await server.request([["Core/echo", {"a": [1, {"b": None}]}, "e"]])
            assert "createdIds" not in plain
            assert plain["methodResponses"] == [["Core/echo", {"a": [1, {"b": None}]}, "e"]]


async def test_jmap_core_echo_requires_nothing_else(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            result = await server.request([["Core/echo", {"hello": True}, "b3ff"]], using=[CORE])
            assert result["methodResponses"] == [["Core/echo", {"hello": True}, "b3ff"]]
            assert USING[0] == CORE


async def test_jmap_concurrency_limits(tmp_path: Path) -> None:
    config = {"jmap": {"max_concurrent_requests": 1, "max_concurrent_upload": 1}}
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path, config) as server:
            release = trio.Event()
            started = trio.Event()

            async def slow_body() -> Any:
                yield b'{"using": ["urn:ietf:params:jmap:core"], '
                started.set()
                await release.wait()
                yield b'"methodCalls": [["Core/echo", {}, "a"]]}'

            headers = {**basic(), "Content-Type": "application/json"}
            results: dict[str, Any] = {}

            async def send(name: str, url: str) -> None:
                results[name] = await server.client.post(url, content=slow_body(), headers=headers)

            for name, url in (
                ("api", server.base + "/jmap/api/"),
                ("upload", server.base + f"/jmap/upload/{server.account_id}/"),
            ):
                async with trio.open_nursery() as nursery:
                    release = trio.Event()
                    started = trio.Event()
                    nursery.start_soon(send, name, url)
                    await started.wait()
                    service = server.kernel.stash[JMAP_SERVICE]
                    limits = service.requests if name == "api" else service.uploads
                    while not limits.active(server.account):  # the server took the slot
                        await trio.sleep(0.005)
                    # The first request is still sending its body: a second is refused.
                    second = await server.client.post(url, content=b"{}", headers=headers)
                    limit = "maxConcurrentRequests" if name == "api" else "maxConcurrentUpload"
                    await _problem(second, "limit", limit)
                    release.set()
                assert results[name].status_code in (200, 201), results[name].text
