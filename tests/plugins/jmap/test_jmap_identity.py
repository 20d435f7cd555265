"""Identity/get, /changes, /set over real HTTP (RFC 8621 §6)."""

from __future__ import annotations

from pathlib import Path

from tests.plugins.jmap.jmap_submission_support import SUBMISSION, call, submission_server
from tests.plugins.jmap.jmap_support import basic


async def test_jmap_identity_default_create_update_destroy_changes(tmp_path: Path) -> None:
    async with submission_server(tmp_path) as (server, _):
        session = await server.client.get(server.base + "/.well-known/jmap", headers=basic())
        capability = session.json()["accounts"][server.account_id]["accountCapabilities"]
        assert capability[SUBMISSION]["maxDelayedSend"] > 0
        assert "FUTURERELEASE" in capability[SUBMISSION]["submissionExtensions"]

        name, got = await call(server, "Identity/get", {"ids": None})
        assert name == "Identity/get"
        [default] = got["list"]
        assert default["email"] == "ann@example.org" and default["mayDelete"] is False
        assert set(default) == {
            "id", "name", "email", "replyTo", "bcc", "textSignature", "htmlSignature",
            "mayDelete",
        }  # fmt: skip
        state = got["state"]
        _, again = await call(server, "Identity/get", {"ids": None})
        assert [i["id"] for i in again["list"]] == [default["id"]]  # created once

        _, result = await call(
            server,
            "Identity/set",
            {
                "create": {
                    "alias": {
                        "name": "Info desk",
                        "email": "info@example.org",
                        "replyTo": [{"name": None, "email": "help@example.org"}],
                        "textSignature": "-- \nInfo",
                    },
                    "catch": {"email": "anything@catch.example"},
                    "foreign": {"email": "ann@elsewhere.test"},
                    "bob": {"email": "bob@example.org"},
                    "bad": {"email": "x@example.org", "mayDelete": False},
                    "noemail": {"name": "x"},
                    "crlf": {"email": "ann@example.org\r\n"},
                }
            },
        )
        assert set(result["created"]) == {"alias", "catch"}
        assert result["created"]["alias"]["mayDelete"] is True
        assert result["created"]["catch"]["bcc"] is None
        assert result["notCreated"]["foreign"]["type"] == "forbiddenFrom"
        assert result["notCreated"]["bob"]["type"] == "forbiddenFrom"  # another account's
        assert result["notCreated"]["bad"]["properties"] == ["mayDelete"]
        assert result["notCreated"]["noemail"]["properties"] == ["email"]
        assert result["notCreated"]["crlf"]["properties"] == ["email"]
        alias = result["created"]["alias"]["id"]
        catch = result["created"]["catch"]["id"]

        _, result = await call(
            server,
            "Identity/set",
            {
                "update": {
                    alias: {"htmlSignature": "<b>Info</b>", "bcc": [{"email": "arch@example.org"}]},
                    catch: {"email": "other@catch.example"},
                    default["id"]: {"name": "Ann A."},
                },
                "destroy": [default["id"], "Izz"],
            },
        )
        assert set(result["updated"]) == {alias, default["id"]}
        assert result["notUpdated"][catch]["type"] == "invalidProperties"
        assert result["notDestroyed"][default["id"]]["type"] == "forbidden"
        assert result["notDestroyed"]["Izz"]["type"] == "notFound"
        _, got = await call(server, "Identity/get", {"ids": [alias], "properties": ["bcc"]})
        assert got["list"] == [{"id": alias, "bcc": [{"name": None, "email": "arch@example.org"}]}]

        mid = (await call(server, "Identity/get", {"ids": []}))[1]["state"]
        _, result = await call(server, "Identity/set", {"destroy": [catch]})
        assert result["destroyed"] == [catch]
        _, changes = await call(server, "Identity/changes", {"sinceState": state})
        assert set(changes["created"]) == {alias}  # catch came and went
        assert default["id"] in changes["updated"]
        _, changes = await call(server, "Identity/changes", {"sinceState": mid})
        assert changes["destroyed"] == [catch] and changes["created"] == []
        _, bad = await call(server, "Identity/changes", {"sinceState": "nonsense"})
        assert bad["type"] == "cannotCalculateChanges"


async def test_jmap_identity_needs_the_submission_capability(tmp_path: Path) -> None:
    async with submission_server(tmp_path) as (server, _):
        name, error = await server.call("Identity/get", {"accountId": server.account_id})
        assert (name, error["type"]) == ("error", "unknownMethod")
        name, error = await call(server, "Identity/set", {"create": {"x": {"email": 3}}})
        assert error["notCreated"]["x"]["type"] == "invalidProperties"
