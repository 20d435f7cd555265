"""JMAP for Sieve over real HTTP (RFC 9661): SieveScript get/set/query/validate/changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plugins.jmap.sieve.script_compile import sieve_account_capability
from tests.plugins.jmap.jmap_support import CORE, Server, basic, jmap_server

SIEVE = "urn:ietf:params:jmap:sieve"
USING = [CORE, SIEVE]

KEEP = b'require "fileinto";\r\nif header :contains "subject" "x" { fileinto "X"; }\r\n'
DISCARD = b"discard;\r\n"
BROKEN = b'require "fileinto";\r\nif header :contains "subject" {\r\n  keep;\r\n}\r\n'


async def upload(server: Server, data: bytes) -> str:
    response = await server.client.post(
        server.base + f"/jmap/upload/{server.account_id}/",
        content=data,
        headers={**basic(), "Content-Type": "application/sieve"},
    )
    assert response.status_code == 201, response.text
    blob_id: str = response.json()["blobId"]
    return blob_id


async def sieve_set(server: Server, **args: Any) -> dict[str, Any]:
    name, answer = await server.call(
        "SieveScript/set", {"accountId": server.account_id, **args}, using=USING
    )
    assert name == "SieveScript/set", answer
    return answer


async def test_jmap_sieve_create_get_download_and_activate(tmp_path: Path) -> None:
    async with jmap_server(tmp_path) as server:
        blob = await upload(server, KEEP)
        done = await sieve_set(
            server,
            create={"a": {"name": "main", "blobId": blob}, "b": {"blobId": blob}},
            onSuccessActivateScript="#a",
        )
        created = done["created"]
        assert created["a"]["isActive"] is True
        assert created["b"] == {"id": created["b"]["id"], "isActive": False, "name": "script"}
        _, got = await server.call(
            "SieveScript/get", {"accountId": server.account_id, "ids": None}, using=USING
        )
        by_name = {s["name"]: s for s in got["list"]}
        assert by_name["main"] == {
            "id": created["a"]["id"],
            "name": "main",
            "blobId": blob,
            "isActive": True,
        }
        assert by_name["script"]["isActive"] is False
        # The script's blobId downloads the exact octets (RFC 9661 §2.2 / GETSCRIPT).
        download = await server.client.get(
            server.base + f"/jmap/download/{server.account_id}/{blob}/main.sieve",
            headers=basic(),
        )
        assert download.status_code == 200 and download.content == KEEP
        # The compiled form is stored like ManageSieve's (delivery runs it).
        active = await server.kernel.store.sieve.active(server.account)
        assert active is not None and active[0].name == "main"
        assert active[1] == KEEP and active[2]


async def test_jmap_sieve_set_errors(tmp_path: Path) -> None:
    async with jmap_server(tmp_path) as server:
        good = await upload(server, KEEP)
        broken = await upload(server, BROKEN)
        first = await sieve_set(server, create={"a": {"name": "main", "blobId": good}})
        main_id = first["created"]["a"]["id"]
        done = await sieve_set(
            server,
            create={
                "dup": {"name": "main", "blobId": good},
                "bad": {"name": "other", "blobId": broken},
                "noblob": {"name": "x", "blobId": "G" + "0" * 64},
                "badname": {"name": "a\u2028b", "blobId": good},
                "empty": {"name": "", "blobId": good},
                "missing": {"name": "y"},
            },
        )
        failed = done["notCreated"]
        assert failed["dup"] == {
            "type": "alreadyExists",
            "description": failed["dup"]["description"],
            "existingId": main_id,
        }
        assert failed["bad"]["type"] == "invalidSieve"
        assert "line 2" in failed["bad"]["description"]
        assert failed["noblob"]["type"] == "blobNotFound"
        assert failed["badname"]["type"] == "invalidProperties"
        assert failed["empty"]["properties"] == ["name"]
        assert failed["missing"]["properties"] == ["blobId"]
        assert done["created"] is None
        # Activation happens only when everything succeeded.
        partial = await sieve_set(
            server,
            update={main_id: {"blobId": broken}},
            onSuccessActivateScript=main_id,
        )
        assert partial["notUpdated"][main_id]["type"] == "invalidSieve"
        assert await server.kernel.store.sieve.active(server.account) is None
        await sieve_set(server, onSuccessActivateScript=main_id)
        refused = await sieve_set(server, destroy=[main_id])
        assert refused["notDestroyed"][main_id]["type"] == "sieveIsActive"
        unknown = await sieve_set(server, destroy=["Zvv"], update={"Zvv": {"name": "q"}})
        assert unknown["notDestroyed"]["Zvv"]["type"] == "notFound"
        assert unknown["notUpdated"]["Zvv"]["type"] == "notFound"
        server_set = await sieve_set(server, update={main_id: {"isActive": False}})
        assert server_set["notUpdated"][main_id]["properties"] == ["isActive"]
        _, error = await server.call(
            "SieveScript/set",
            {"accountId": server.account_id, "onSuccessDeactivateScript": "yes"},
            using=USING,
        )
        assert error["type"] == "invalidArguments"


async def test_jmap_sieve_update_rename_deactivate_destroy(tmp_path: Path) -> None:
    async with jmap_server(tmp_path) as server:
        keep, discard = await upload(server, KEEP), await upload(server, DISCARD)
        made = await sieve_set(
            server,
            create={"a": {"name": "one", "blobId": keep}, "b": {"name": "two", "blobId": keep}},
            onSuccessActivateScript="#a",
        )
        one, two = made["created"]["a"]["id"], made["created"]["b"]["id"]
        clash = await sieve_set(server, update={two: {"name": "one"}})
        assert clash["notUpdated"][two]["type"] == "alreadyExists"
        assert clash["notUpdated"][two]["existingId"] == one
        changed = await sieve_set(
            server,
            update={two: {"name": "second", "blobId": discard}},
            onSuccessActivateScript=two,
        )
        assert changed["updated"] == {two: {"isActive": True}, one: {"isActive": False}}
        script, source = await server.kernel.store.sieve.get_by_id(server.account, int(two[1:], 32))
        assert (script.name, source, script.is_active) == ("second", DISCARD, True)
        off = await sieve_set(server, onSuccessDeactivateScript=True)
        assert off["updated"] == {two: {"isActive": False}}
        assert await server.kernel.store.sieve.active(server.account) is None
        gone = await sieve_set(server, destroy=[one, two])
        assert sorted(gone["destroyed"]) == sorted([one, two])
        assert await server.kernel.store.sieve.list(server.account) == []


async def test_jmap_sieve_query_changes_validate(tmp_path: Path) -> None:
    async with jmap_server(tmp_path) as server:
        account = server.account_id
        keep = await upload(server, KEEP)
        _, before = await server.call("SieveScript/query", {"accountId": account}, using=USING)
        made = await sieve_set(
            server,
            create={
                "a": {"name": "Beta", "blobId": keep},
                "b": {"name": "alpha", "blobId": keep},
                "c": {"name": "gamma", "blobId": keep},
            },
            onSuccessActivateScript="#c",
        )
        ids = {k: v["id"] for k, v in made["created"].items()}
        cases = [
            ({}, [{"property": "name"}], [ids["b"], ids["a"], ids["c"]]),
            (
                {"name": "A"},
                [{"property": "name", "isAscending": False}],
                [ids["c"], ids["a"], ids["b"]],
            ),
            ({"isActive": True}, [], [ids["c"]]),
            (
                {"operator": "NOT", "conditions": [{"isActive": True}]},
                [{"property": "name"}],
                [ids["b"], ids["a"]],
            ),
            (
                {},
                [{"property": "isActive", "isAscending": False}, {"property": "name"}],
                [ids["c"], ids["b"], ids["a"]],
            ),
        ]
        for query_filter, sort, expected in cases:
            _, found = await server.call(
                "SieveScript/query",
                {"accountId": account, "filter": query_filter, "sort": sort},
                using=USING,
            )
            assert found["ids"] == expected, (query_filter, sort)
        _, error = await server.call(
            "SieveScript/query", {"accountId": account, "filter": {"blobId": "x"}}, using=USING
        )
        assert error["type"] == "unsupportedFilter"
        _, error = await server.call(
            "SieveScript/query",
            {"accountId": account, "sort": [{"property": "blobId"}]},
            using=USING,
        )
        assert error["type"] == "unsupportedSort"
        _, changes = await server.call(
            "SieveScript/changes",
            {"accountId": account, "sinceState": before["queryState"]},
            using=USING,
        )
        assert sorted(changes["created"]) == sorted(ids.values())
        _, query_changes = await server.call(
            "SieveScript/queryChanges",
            {
                "accountId": account,
                "sinceQueryState": before["queryState"],
                "sort": [{"property": "name"}],
            },
            using=USING,
        )
        assert [a["id"] for a in query_changes["added"]] == [ids["b"], ids["a"], ids["c"]]
        _, valid = await server.call(
            "SieveScript/validate", {"accountId": account, "blobId": keep}, using=USING
        )
        assert valid == {"accountId": account, "error": None}
        broken = await upload(server, BROKEN)
        _, invalid = await server.call(
            "SieveScript/validate", {"accountId": account, "blobId": broken}, using=USING
        )
        assert invalid["error"]["type"] == "invalidSieve"
        assert "line 2" in invalid["error"]["description"]
        not_utf8 = await upload(server, b"keep;\r\n# \xff\xfe\r\n")
        _, invalid = await server.call(
            "SieveScript/validate", {"accountId": account, "blobId": not_utf8}, using=USING
        )
        assert invalid["error"]["type"] == "invalidSieve"
        assert "line 2, column 3" in invalid["error"]["description"]
        _, missing = await server.call(
            "SieveScript/validate", {"accountId": account, "blobId": "Gnope"}, using=USING
        )
        assert missing["error"]["type"] == "blobNotFound"
        _, error = await server.call("SieveScript/validate", {"accountId": account}, using=USING)
        assert error["type"] == "invalidArguments"
        assert (await server.kernel.store.sieve.usage(server.account))[0] == 3


async def test_jmap_sieve_limits_and_capability(tmp_path: Path) -> None:
    config = {"managesieve": {"max_scripts": 1, "max_script_size": 64}}
    async with jmap_server(tmp_path, config, extra_plugins=("managesieve",)) as server:
        capability = sieve_account_capability(server.kernel)
        assert capability["maxSizeScriptName"] >= 512
        assert (capability["maxSizeScript"], capability["maxNumberScripts"]) == (64, 1)
        assert "fileinto" in capability["sieveExtensions"]
        assert capability["notificationMethods"] == ["mailto"]
        assert capability["externalLists"] is None
        session = (
            await server.client.get(server.base + "/.well-known/jmap", headers=basic())
        ).json()
        sieve = "urn:ietf:params:jmap:sieve"
        assert session["accounts"][server.account_id]["accountCapabilities"][sieve] == capability
        assert session["capabilities"][sieve]["implementation"]
        small = await upload(server, b"keep;\r\n")
        large = await upload(server, b"keep;\r\n" + b"#" * 100 + b"\r\n")
        done = await sieve_set(
            server,
            create={"a": {"name": "a", "blobId": small}, "big": {"name": "b", "blobId": large}},
        )
        assert done["notCreated"]["big"]["type"] == "tooLarge"
        more = await sieve_set(server, create={"c": {"name": "c", "blobId": small}})
        assert more["notCreated"]["c"]["type"] == "overQuota"


def test_jmap_sieve_name_rules() -> None:
    from plugins.jmap.sieve.script_view import name_problem

    assert name_problem("vacation rules") is None
    assert name_problem("ü" * 256) is None  # 512 octets: the limit
    assert name_problem("ü" * 257) is not None
    for bad in ("", None, 7, "a\x00b", "tab\there", "a\x7fb", "a\x85b", "x\u2029", "\ud800"):
        assert name_problem(bad) is not None, repr(bad)


async def test_jmap_sieve_activated_script_filters_smtp_delivery(tmp_path: Path) -> None:
    import smtplib

    import trio

    from kernel.testing import listener_address
    from tests.plugins.jmap.jmap_support import MAIL, USER

    config = {
        "server": {"hostname": "mx.example.org"},
        "listeners": {
            "mta": {"bind": "127.0.0.1:0", "protocol": "smtp", "role": "mta", "tls": "none"}
        },
        "smtp": {"queue": {"enabled": False}},
    }
    script = b'require ["fileinto", "mailbox"];\r\nfileinto :create "Filtered";\r\n'
    async with jmap_server(tmp_path, config, extra_plugins=("smtp", "sieve")) as server:
        blob = await upload(server, script)
        done = await sieve_set(
            server, create={"a": {"name": "f", "blobId": blob}}, onSuccessActivateScript="#a"
        )
        assert done["created"]["a"]["isActive"] is True
        data = f"From: carol@remote.example\r\nTo: {USER}\r\nSubject: s\r\n\r\nHi.\r\n".encode()
        address = listener_address(server.kernel, "mta")

        def send() -> None:
            with smtplib.SMTP(*address, local_hostname="client.example", timeout=15) as smtp:
                smtp.sendmail("carol@remote.example", [USER], data)

        await trio.to_thread.run_sync(send)
        _, boxes = await server.call(
            "Mailbox/get", {"accountId": server.account_id}, using=[CORE, MAIL]
        )
        counts = {b["role"] or b["name"]: b["totalEmails"] for b in boxes["list"]}
        assert counts["Filtered"] == 1 and counts["inbox"] == 0
