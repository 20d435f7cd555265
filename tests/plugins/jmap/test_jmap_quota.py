"""Quota/get, /changes, /query, /queryChanges over real HTTP (RFC 9425)."""

from __future__ import annotations

from pathlib import Path

from tests.plugins.jmap.jmap_support import CORE, MAIL, USER, jmap_server, message

QUOTA = "urn:ietf:params:jmap:quota"
USING = [CORE, MAIL, QUOTA]


async def test_jmap_quota_get_reports_limit_and_usage(tmp_path: Path) -> None:
    async with jmap_server(tmp_path) as server:
        account = server.account_id
        _, none = await server.call("Quota/get", {"accountId": account, "ids": None}, using=USING)
        assert none["list"] == []  # quota 0 = unlimited: no Quota object
        await server.kernel.store.directory.update(USER, quota=1_000_000)
        raw = message(1)
        await server.deliver(raw)
        _, got = await server.call("Quota/get", {"accountId": account, "ids": None}, using=USING)
        (quota,) = got["list"]
        assert quota == {
            "id": quota["id"],
            "resourceType": "octets",
            "used": len(raw),
            "hardLimit": 1_000_000,
            "scope": "account",
            "name": USER,
            "types": ["Mail"],
        }
        assert "warnLimit" not in quota and "softLimit" not in quota
        principal = await server.kernel.store.directory.principal(USER)
        assert principal is not None and quota["used"] == principal.used
        _, some = await server.call(
            "Quota/get",
            {"accountId": account, "ids": [quota["id"], "Qzz"], "properties": ["used"]},
            using=USING,
        )
        assert some["list"] == [{"id": quota["id"], "used": len(raw)}]
        assert some["notFound"] == ["Qzz"]
        # §4.1: without the mail capability the only type is filtered out.
        _, hidden = await server.call("Quota/get", {"accountId": account}, using=[CORE, QUOTA])
        assert hidden["list"] == []
        name, error = await server.call("Quota/get", {"accountId": account})
        assert (name, error["type"]) == ("error", "unknownMethod")


async def test_jmap_quota_changes_follow_usage(tmp_path: Path) -> None:
    async with jmap_server(tmp_path) as server:
        account = server.account_id
        await server.kernel.store.directory.update(USER, quota=500_000)
        _, got = await server.call("Quota/get", {"accountId": account}, using=USING)
        state, quota_id = got["state"], got["list"][0]["id"]
        _, same = await server.call(
            "Quota/changes", {"accountId": account, "sinceState": state}, using=USING
        )
        assert (same["updated"], same["newState"]) == ([], state)
        await server.deliver(message(2))
        result = await server.request(
            [
                ["Quota/changes", {"accountId": account, "sinceState": state}, "0"],
                [
                    "Quota/get",
                    {
                        "accountId": account,
                        "#ids": {"resultOf": "0", "name": "Quota/changes", "path": "/updated"},
                    },
                    "1",
                ],
            ],
            using=USING,
        )
        (_, changes, _), (_, fetched, _) = result["methodResponses"]
        assert changes["updated"] == [quota_id]
        assert changes["created"] == [] and changes["destroyed"] == []
        assert changes["updatedProperties"] is None and changes["hasMoreChanges"] is False
        assert changes["newState"] != state
        assert fetched["list"][0]["used"] > 0
        for bad in ("nonsense", "s999999"):
            _, error = await server.call(
                "Quota/changes", {"accountId": account, "sinceState": bad}, using=USING
            )
            assert error["type"] == "cannotCalculateChanges"


async def test_jmap_quota_query_and_query_changes(tmp_path: Path) -> None:
    async with jmap_server(tmp_path) as server:
        account = server.account_id
        await server.kernel.store.directory.update(USER, quota=500_000)
        _, got = await server.call("Quota/get", {"accountId": account}, using=USING)
        quota_id = got["list"][0]["id"]
        filters = [
            ({"name": "ANN@"}, [quota_id]),
            ({"scope": "account", "resourceType": "octets", "type": "Mail"}, [quota_id]),
            ({"type": "Calendar"}, []),
            ({"resourceType": "count"}, []),
            ({"operator": "NOT", "conditions": [{"scope": "domain"}]}, [quota_id]),
        ]
        for query_filter, expected in filters:
            _, found = await server.call(
                "Quota/query",
                {
                    "accountId": account,
                    "filter": query_filter,
                    "sort": [{"property": "used"}, {"property": "name"}],
                    "calculateTotal": True,
                },
                using=USING,
            )
            assert (found["ids"], found["total"]) == (expected, len(expected)), query_filter
        _, error = await server.call(
            "Quota/query", {"accountId": account, "filter": {"bogus": 1}}, using=USING
        )
        assert error["type"] == "unsupportedFilter"
        _, error = await server.call(
            "Quota/query", {"accountId": account, "sort": [{"property": "hardLimit"}]}, using=USING
        )
        assert error["type"] == "unsupportedSort"
        _, first = await server.call("Quota/query", {"accountId": account}, using=USING)
        await server.deliver(message(3))
        _, moved = await server.call(
            "Quota/queryChanges",
            {"accountId": account, "sinceQueryState": first["queryState"]},
            using=USING,
        )
        assert moved["removed"] == [quota_id]
        assert moved["added"] == [{"id": quota_id, "index": 0}]
        assert moved["newQueryState"] != first["queryState"]
        _, error = await server.call(
            "Quota/queryChanges", {"accountId": account, "sinceQueryState": "x"}, using=USING
        )
        assert error["type"] == "cannotCalculateChanges"
