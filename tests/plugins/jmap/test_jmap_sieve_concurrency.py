"""SieveScript/set name uniqueness is checked in the write transaction (RFC 9661 §2.4
alreadyExists): concurrent creates of one name, over real HTTP and at the store,
leave exactly one script; a rename onto a taken name fails and changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from kernel.errors import DuplicateUid, NoSuchItem
from tests.plugins.jmap.jmap_support import basic, jmap_server
from tests.plugins.jmap.test_jmap_sieve import USING, sieve_set, upload

TIMEOUT = 30
#: Concurrent clients (at most jmap.max_concurrent_requests, 4 by default).
CLIENTS = 4


def _script(n: int) -> bytes:
    rule = f'if header :contains "subject" "{n}" {{ fileinto "X"; }}\r\n'
    return b'require "fileinto";\r\n' + rule.encode()


async def test_jmap_sieve_concurrent_creates_of_one_name(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            blobs = [await upload(server, _script(n)) for n in range(CLIENTS)]
            answers: dict[int, dict[str, Any]] = {}

            async def create(n: int) -> None:
                body = {
                    "using": USING,
                    "methodCalls": [
                        [
                            "SieveScript/set",
                            {
                                "accountId": server.account_id,
                                "create": {"c": {"name": "shared", "blobId": blobs[n]}},
                            },
                            "0",
                        ]
                    ],
                }
                response = await server.client.post(
                    server.base + "/jmap/api/", json=body, headers=basic()
                )
                assert response.status_code == 200, response.text
                answers[n] = response.json()["methodResponses"][0][1]

            async with trio.open_nursery() as nursery:
                for n in range(CLIENTS):
                    nursery.start_soon(create, n)
            winners = [n for n, a in answers.items() if a.get("created")]
            assert len(winners) == 1, answers
            [winner] = winners
            winner_id = answers[winner]["created"]["c"]["id"]
            for n, answer in answers.items():
                if n != winner:
                    error = answer["notCreated"]["c"]
                    assert error["type"] == "alreadyExists"
                    assert error["existingId"] == winner_id
            scripts = await server.kernel.store.sieve.list(server.account)
            assert [s.name for s in scripts] == ["shared"]
            _, source = await server.kernel.store.sieve.get(server.account, "shared")
            assert source == _script(winner)  # nobody replaced the winner's content


async def test_jmap_sieve_store_put_create_only_is_atomic(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            store = server.kernel.store.sieve
            account = server.account
            outcomes: list[str] = []

            async def put(n: int) -> None:
                try:
                    await store.put(account, "one", _script(n), None, create_only=True)
                except DuplicateUid:
                    outcomes.append("exists")
                else:
                    outcomes.append("created")

            async with trio.open_nursery() as nursery:
                for n in range(8):
                    nursery.start_soon(put, n)
            assert sorted(outcomes) == ["created"] + ["exists"] * 7
            assert [s.name for s in await store.list(account)] == ["one"]
            # update: rename and new content in one transaction, uniqueness checked in it.
            other = await store.put(account, "two", b"keep;\r\n", None)
            with pytest.raises(DuplicateUid):
                await store.update(account, other.id, name="one", content=(b"stop;\r\n", None))
            _, source = await store.get(account, "two")
            assert source == b"keep;\r\n"  # the failed update changed nothing
            renamed = await store.update(account, other.id, name="three", content=(b"stop;", None))
            assert renamed.id == other.id and renamed.name == "three"
            assert (await store.get(account, "three"))[1] == b"stop;"
            with pytest.raises(NoSuchItem):
                await store.update(account, 999999, name="four")


async def test_jmap_sieve_update_rename_onto_taken_name(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            first, second = await upload(server, _script(1)), await upload(server, _script(2))
            done = await sieve_set(
                server,
                create={
                    "a": {"name": "alpha", "blobId": first},
                    "b": {"name": "beta", "blobId": first},
                },
            )
            alpha, beta = done["created"]["a"]["id"], done["created"]["b"]["id"]
            answer = await sieve_set(server, update={beta: {"name": "alpha", "blobId": second}})
            error = answer["notUpdated"][beta]
            assert error["type"] == "alreadyExists" and error["existingId"] == alpha
            _, source = await server.kernel.store.sieve.get(server.account, "beta")
            assert source == _script(1)  # neither renamed nor rewritten
            answer = await sieve_set(server, update={beta: {"name": "gamma", "blobId": second}})
            assert answer["updated"] == {beta: None}
            _, source = await server.kernel.store.sieve.get(server.account, "gamma")
            assert source == _script(2)
