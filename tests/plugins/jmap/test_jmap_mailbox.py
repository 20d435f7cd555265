"""Mailbox/get, /changes, /query, /queryChanges and /set (RFC 8621 §2) over real HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio
from jmap_support import Server, jmap_server, message

from kernel.store.filters import InMailbox

TIMEOUT = 30
PROPERTIES = {
    "id",
    "name",
    "parentId",
    "role",
    "sortOrder",
    "totalEmails",
    "unreadEmails",
    "totalThreads",
    "unreadThreads",
    "myRights",
    "isSubscribed",
}


async def _mailboxes(server: Server, **args: Any) -> dict[str, dict[str, Any]]:
    """Mailboxes by name (top-level ones win over a child of the same name)."""
    _, result = await server.call("Mailbox/get", {"accountId": server.account_id, **args})
    ordered = sorted(result["list"], key=lambda m: m["parentId"] is None)
    return {m["name"]: m for m in ordered}


async def _set(server: Server, **args: Any) -> dict[str, Any]:
    name, result = await server.call("Mailbox/set", {"accountId": server.account_id, **args})
    assert name == "Mailbox/set", result
    return result


async def test_jmap_mailbox_get_properties_and_counts(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            store = server.kernel.store
            seen = await server.deliver(message(1))
            await store.emails.set_keywords(server.account, [seen], add={"$seen"})
            draft = await server.deliver(message(2))
            await store.emails.set_keywords(server.account, [draft], add={"$draft"})
            await server.deliver(message(3))
            mailboxes = await _mailboxes(server, ids=None)
            assert set(mailboxes) == {"INBOX", "Drafts", "Sent", "Junk", "Trash", "Archive"}
            inbox = mailboxes["INBOX"]
            assert set(inbox) == PROPERTIES
            assert inbox["role"] == "inbox" and inbox["parentId"] is None
            assert inbox["id"] == server.inbox_id
            assert inbox["isSubscribed"] is True
            assert all(inbox["myRights"].values())
            assert inbox["totalEmails"] == 3
            assert inbox["unreadEmails"] == 1  # neither $seen nor $draft (§2)
            assert inbox["totalThreads"] == 3
            query = await store.emails.query(
                server.account, InMailbox(server.inbox), calculate_total=True
            )
            assert inbox["totalEmails"] == query.total
            assert mailboxes["Trash"]["role"] == "trash"
            # properties: id plus exactly those asked for.
            _, some = await server.call(
                "Mailbox/get",
                {
                    "accountId": server.account_id,
                    "ids": [server.inbox_id, "Mzzzz", "garbage", server.inbox_id],
                    "properties": ["name", "unreadEmails"],
                },
            )
            assert some["list"] == [{"id": server.inbox_id, "name": "INBOX", "unreadEmails": 1}]
            assert some["notFound"] == ["Mzzzz", "garbage"]
            assert some["state"].startswith("s")
            _, empty = await server.call("Mailbox/get", {"accountId": server.account_id, "ids": []})
            assert empty["list"] == [] and empty["notFound"] == []


async def test_jmap_mailbox_changes(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            account = server.account_id
            _, first = await server.call("Mailbox/get", {"accountId": account, "ids": []})
            state0 = first["state"]
            created = (await _set(server, create={"a": {"name": "A"}, "b": {"name": "B"}}))[
                "created"
            ]
            a_id, b_id = created["a"]["id"], created["b"]["id"]
            _, changes = await server.call(
                "Mailbox/changes", {"accountId": account, "sinceState": state0}
            )
            assert sorted(changes["created"]) == sorted([a_id, b_id])
            assert changes["updated"] == [] and changes["destroyed"] == []
            assert changes["oldState"] == state0 and changes["hasMoreChanges"] is False
            state1 = changes["newState"]
            # Only counts changed: updatedProperties names them.
            await server.deliver(message(1))
            _, counts = await server.call(
                "Mailbox/changes", {"accountId": account, "sinceState": state1}
            )
            assert counts["updated"] == [server.inbox_id]
            assert set(counts["updatedProperties"]) == {
                "totalEmails",
                "unreadEmails",
                "totalThreads",
                "unreadThreads",
            }
            state2 = counts["newState"]
            # A rename is not only counts: updatedProperties is null.
            await _set(server, update={a_id: {"name": "A2"}})
            _, renamed = await server.call(
                "Mailbox/changes", {"accountId": account, "sinceState": state2}
            )
            assert renamed["updated"] == [a_id] and renamed["updatedProperties"] is None
            state3 = renamed["newState"]
            await _set(server, destroy=[b_id])
            _, gone = await server.call(
                "Mailbox/changes", {"accountId": account, "sinceState": state3}
            )
            assert gone["destroyed"] == [b_id] and gone["created"] == []
            # Created and destroyed since state0: B is not reported at all.
            _, folded = await server.call(
                "Mailbox/changes", {"accountId": account, "sinceState": state0}
            )
            assert b_id not in folded["created"] + folded["updated"] + folded["destroyed"]
            # maxChanges pages between transactions.
            _, page = await server.call(
                "Mailbox/changes", {"accountId": account, "sinceState": state1, "maxChanges": 1}
            )
            assert page["hasMoreChanges"] is True
            assert page["updated"] == [server.inbox_id] and page["newState"] == state2
            # Unknown or future states cannot be calculated; maxChanges 0 is invalid.
            for since in ("s999999", "x", "s-1"):
                name, error = await server.call(
                    "Mailbox/changes", {"accountId": account, "sinceState": since}
                )
                assert (name, error["type"]) == ("error", "cannotCalculateChanges")
            name, error = await server.call(
                "Mailbox/changes", {"accountId": account, "sinceState": state0, "maxChanges": 0}
            )
            assert error["type"] == "invalidArguments"
            # A pruned change log cannot answer states below its floor.
            name, whole = await server.call(
                "Mailbox/changes", {"accountId": account, "sinceState": "s0"}
            )
            assert name == "Mailbox/changes" and len(whole["created"]) == 7
            await server.kernel.store.prune_change_log(before=1e12)
            name, error = await server.call(
                "Mailbox/changes", {"accountId": account, "sinceState": "s0"}
            )
            assert error["type"] == "cannotCalculateChanges"


async def _query(server: Server, **args: Any) -> tuple[str, dict[str, Any]]:
    return await server.call("Mailbox/query", {"accountId": server.account_id, **args})


async def test_jmap_mailbox_query(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            created = (
                await _set(
                    server,
                    create={
                        "w": {"name": "Work", "sortOrder": 10, "isSubscribed": False},
                        "x": {"name": "x-files", "parentId": "#w"},
                        "y": {"name": "Years", "parentId": server.inbox_id},
                    },
                )
            )["created"]
            work, xfiles, years = (created[k]["id"] for k in "wxy")
            names = {m["id"]: n for n, m in (await _mailboxes(server)).items()}

            async def ids(**args: Any) -> list[str]:
                name, result = await _query(server, **args)
                assert name == "Mailbox/query", result
                return [names[i] for i in result["ids"]]

            by_name = [{"property": "name"}]
            assert await ids(filter=None, sort=by_name) == [
                "Archive",
                "Drafts",
                "INBOX",
                "Junk",
                "Sent",
                "Trash",
                "Work",
                "x-files",
                "Years",
            ]
            assert await ids(filter={"parentId": None}, sort=[{"property": "sortOrder"}]) == [
                "INBOX",
                "Drafts",
                "Sent",
                "Junk",
                "Trash",
                "Archive",
                "Work",
            ]
            assert await ids(filter={"parentId": work}) == ["x-files"]
            assert await ids(filter={"name": "ARS"}) == ["Years"]
            assert await ids(filter={"role": "trash"}) == ["Trash"]
            assert set(await ids(filter={"role": None})) == {"Work", "x-files", "Years"}
            assert set(await ids(filter={"hasAnyRole": False})) == {"Work", "x-files", "Years"}
            assert await ids(filter={"isSubscribed": False}) == ["Work"]
            assert await ids(
                filter={
                    "operator": "AND",
                    "conditions": [
                        {"hasAnyRole": False},
                        {"operator": "NOT", "conditions": [{"name": "s"}]},
                    ],
                },
                sort=by_name,
            ) == ["Work"]
            assert await ids(
                filter={"operator": "OR", "conditions": [{"role": "inbox"}, {"name": "files"}]},
                sort=[{"property": "name", "isAscending": False}],
            ) == ["x-files", "INBOX"]
            tree = await ids(sortAsTree=True, sort=by_name)
            assert tree.index("Years") == tree.index("INBOX") + 1
            assert tree.index("x-files") == tree.index("Work") + 1
            # filterAsTree: x-files matches "files" only if Work matches too.
            assert await ids(filter={"name": "files"}, filterAsTree=True) == []
            assert await ids(filter={"name": "files"}) == ["x-files"]
            # Windows: position (also negative), anchor, limit, total.
            _, page = await _query(server, sort=by_name, position=2, limit=3, calculateTotal=True)
            assert [names[i] for i in page["ids"]] == ["INBOX", "Junk", "Sent"]
            assert page["position"] == 2 and page["total"] == 9
            _, tail = await _query(server, sort=by_name, position=-2)
            assert [names[i] for i in tail["ids"]] == ["x-files", "Years"]
            assert tail["position"] == 7 and "total" not in tail
            _, far = await _query(server, sort=by_name, position=-100, limit=1)
            assert far["position"] == 0 and len(far["ids"]) == 1
            _, past = await _query(server, sort=by_name, position=100)
            assert past["ids"] == []
            _, anchored = await _query(
                server, sort=by_name, anchor=xfiles, anchorOffset=-1, limit=2
            )
            assert [names[i] for i in anchored["ids"]] == ["Work", "x-files"]
            assert anchored["position"] == 6
            assert anchored["canCalculateChanges"] is True
            assert anchored["queryState"].startswith("s")
            assert years in [i for i in (await _query(server))[1]["ids"]]
            for args, error in (
                ({"anchor": "Mzzzz"}, "anchorNotFound"),
                ({"sort": [{"property": "totalEmails"}]}, "unsupportedSort"),
                ({"sort": [{"property": "name", "collation": "i;klingon"}]}, "unsupportedSort"),
                ({"filter": {"color": "red"}}, "unsupportedFilter"),
                ({"filter": {"operator": "XOR", "conditions": []}}, "unsupportedFilter"),
                ({"limit": -1}, "invalidArguments"),
                ({"position": "1"}, "invalidArguments"),
                ({"filter": []}, "invalidArguments"),
                ({"sortAsTree": "yes"}, "invalidArguments"),
            ):
                name, result = await _query(server, **args)
                assert (name, result["type"]) == ("error", error), args


async def test_jmap_mailbox_query_changes(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            sort = [{"property": "name"}]
            _, before = await _query(server, sort=sort)
            created = (await _set(server, create={"n": {"name": "Newsletters"}}))["created"]
            new_id = created["n"]["id"]
            name, changes = await server.call(
                "Mailbox/queryChanges",
                {
                    "accountId": server.account_id,
                    "sort": sort,
                    "sinceQueryState": before["queryState"],
                    "calculateTotal": True,
                },
            )
            assert name == "Mailbox/queryChanges", changes
            assert changes["oldQueryState"] == before["queryState"]
            assert {"id": new_id, "index": 4} in changes["added"]
            assert changes["total"] == 7
            await _set(server, destroy=[new_id])
            _, after = await server.call(
                "Mailbox/queryChanges",
                {
                    "accountId": server.account_id,
                    "sort": sort,
                    "sinceQueryState": changes["newQueryState"],
                },
            )
            assert new_id in after["removed"] and after["added"] == []
            name, error = await server.call(
                "Mailbox/queryChanges",
                {"accountId": server.account_id, "sinceQueryState": "bogus"},
            )
            assert error["type"] == "cannotCalculateChanges"
            await _set(server, create={"c": {"name": "C"}, "d": {"name": "D"}})
            name, error = await server.call(
                "Mailbox/queryChanges",
                {
                    "accountId": server.account_id,
                    "sinceQueryState": after["newQueryState"],
                    "maxChanges": 1,
                },
            )
            assert error["type"] == "tooManyChanges"


async def test_jmap_mailbox_set_rules(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            inbox = server.inbox_id
            result = await _set(
                server,
                create={
                    "p": {"name": "Parent"},
                    "dup": {"name": "Drafts"},
                    "child": {"name": "Drafts", "parentId": "#p"},
                    "grandchild": {"name": "Deep", "parentId": "#late"},
                    "late": {"name": "Late", "parentId": "#p"},
                    "role": {"name": "Other trash", "role": "trash"},
                    "badrole": {"name": "Q", "role": "nonsense"},
                    "ro": {"name": "R", "totalEmails": 5},
                    "noname": {"parentId": None},
                    "unknownparent": {"name": "U", "parentId": "Mzzzz"},
                    "unknownprop": {"name": "V", "color": "red"},
                },
            )
            assert set(result["created"]) == {"p", "child", "late", "grandchild"}
            not_created = result["notCreated"]
            assert not_created["dup"]["type"] == "alreadyExists"
            drafts = (await _mailboxes(server))["Drafts"]["id"]
            assert not_created["dup"]["existingId"] == drafts
            assert not_created["role"]["properties"] == ["role"]
            assert not_created["badrole"]["properties"] == ["role"]
            assert not_created["ro"]["properties"] == ["totalEmails"]
            for key in ("noname", "unknownparent", "unknownprop"):
                assert not_created[key]["type"] == "invalidProperties", key
            parent = result["created"]["p"]["id"]
            child = result["created"]["child"]["id"]
            late = result["created"]["late"]["id"]
            grandchild = result["created"]["grandchild"]["id"]
            _, tree = await server.call(
                "Mailbox/get",
                {
                    "accountId": server.account_id,
                    "ids": [grandchild, late],
                    "properties": ["parentId"],
                },
            )
            assert [m["parentId"] for m in tree["list"]] == [late, parent]
            # Updates: rename into a clash, move under itself, inbox rules, no-op.
            result = await _set(
                server,
                update={
                    child: {"parentId": None},
                    parent: {"parentId": child},
                    inbox: {"name": "Inbox2"},
                    "Mzzzz": {"name": "x"},
                    drafts: {"sortOrder": 7, "isSubscribed": False},
                    "#p": {"myRights/mayDelete": True},
                },
            )
            not_updated = result["notUpdated"]
            assert not_updated[child]["type"] == "alreadyExists", not_updated
            assert not_updated[parent]["type"] == "invalidProperties"
            assert not_updated[inbox]["type"] == "forbidden"
            assert not_updated["Mzzzz"]["type"] == "notFound"
            assert not_updated["#p"]["type"] == "notFound"  # creation ids live per request
            assert result["updated"] == {drafts: None}
            assert (await _mailboxes(server))["Drafts"]["sortOrder"] == 7
            result = await _set(
                server,
                update={
                    parent: {"myRights/mayDelete": False},
                    drafts: {"totalEmails": 0, "unreadEmails": 0, "name": "Drafts"},
                },
            )
            assert result["notUpdated"][parent]["type"] == "invalidProperties"
            assert result["updated"] == {drafts: None}  # server-set values unchanged: fine
            # Destroy: children first even with onDestroyRemoveEmails; emails; inbox.
            email = await server.deliver(message(1), mailbox=_key(child))
            result = await _set(
                server, destroy=[parent, child, inbox, "Mzzzz"], onDestroyRemoveEmails=False
            )
            not_destroyed = result["notDestroyed"]
            assert not_destroyed[parent]["type"] == "mailboxHasChild"
            assert not_destroyed[child]["type"] == "mailboxHasEmail"
            assert not_destroyed[inbox]["type"] == "forbidden"
            assert not_destroyed["Mzzzz"]["type"] == "notFound"
            result = await _set(server, destroy=[parent], onDestroyRemoveEmails=True)
            assert result["notDestroyed"][parent]["type"] == "mailboxHasChild"
            result = await _set(
                server, destroy=[parent, late, child, grandchild], onDestroyRemoveEmails=True
            )
            # Children first, whatever order was sent.
            assert result["destroyed"] == [grandchild, late, child, parent], result
            rows = await server.kernel.store.emails.rows(server.account, [email])
            assert rows == {}  # it was in no other mailbox
            # ifInState: the right state passes, a stale one is stateMismatch.
            _, got = await server.call("Mailbox/get", {"accountId": server.account_id, "ids": []})
            ok = await _set(server, ifInState=got["state"], create={"z": {"name": "Z"}})
            assert ok["oldState"] == got["state"] and ok["newState"] != got["state"]
            name, stale = await server.call(
                "Mailbox/set",
                {"accountId": server.account_id, "ifInState": got["state"], "destroy": []},
            )
            assert (name, stale["type"]) == ("error", "stateMismatch")


def _key(jmap_id: str) -> int:
    from plugins.jmap.ids import MAILBOX, decode_id

    key = decode_id(MAILBOX, jmap_id)
    assert key is not None
    return key


async def test_jmap_thread_get_and_changes(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            account = server.account_id
            _, start = await server.call("Mailbox/get", {"accountId": account, "ids": []})
            first = await server.deliver(message(1, "Plans"))
            reply = await server.deliver(
                b"From: ann@example.org\r\nTo: bob@example.org\r\nSubject: Re: Plans\r\n"
                b"Message-ID: <r1@example.org>\r\nIn-Reply-To: <1@example.org>\r\n"
                b"References: <1@example.org>\r\n\r\nYes.\r\n"
            )
            other = await server.deliver(message(3, "Other"))
            rows = await server.kernel.store.emails.rows(server.account, [first, reply, other])
            assert rows[first].thread == rows[reply].thread != rows[other].thread
            from plugins.jmap.ids import EMAIL, THREAD, encode_id

            thread_id = encode_id(THREAD, rows[first].thread)
            other_thread = encode_id(THREAD, rows[other].thread)
            _, threads = await server.call(
                "Thread/get", {"accountId": account, "ids": [thread_id, "Tzzzz", "bad"]}
            )
            assert threads["list"] == [
                {"id": thread_id, "emailIds": [encode_id(EMAIL, first), encode_id(EMAIL, reply)]}
            ]
            assert threads["notFound"] == ["Tzzzz", "bad"]
            _, every = await server.call("Thread/get", {"accountId": account, "ids": None})
            assert {t["id"] for t in every["list"]} == {thread_id, other_thread}
            _, changes = await server.call(
                "Thread/changes", {"accountId": account, "sinceState": start["state"]}
            )
            assert sorted(changes["created"]) == sorted([thread_id, other_thread])
            assert changes["destroyed"] == []
            state = changes["newState"]
            # A keyword change leaves every thread's emailIds as they were.
            await server.kernel.store.emails.set_keywords(server.account, [reply], add={"$seen"})
            _, same = await server.call(
                "Thread/changes", {"accountId": account, "sinceState": state}
            )
            assert same["created"] == same["updated"] == same["destroyed"] == []
            # A reply (not the thread's first email) leaving updates its thread.
            await server.kernel.store.emails.destroy(server.account, [reply])
            await server.kernel.store.emails.destroy(server.account, [other])
            _, later = await server.call(
                "Thread/changes", {"accountId": account, "sinceState": state}
            )
            assert later["updated"] == [thread_id]
            assert later["destroyed"] == [other_thread]
            _, error = await server.call("Thread/changes", {"accountId": account})
            assert error["type"] == "invalidArguments"


async def test_jmap_mailbox_shared_account(tmp_path: Path) -> None:
    from jmap_support import MAIL, OTHER, OTHER_PASSWORD, basic

    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            bob = (await server.kernel.store.directory.add_account(OTHER, OTHER_PASSWORD)).id
            await server.kernel.store.mailboxes.set_rights(server.account, server.inbox, bob, "lr")
            await server.deliver(message(1))
            bob_auth = basic(OTHER, OTHER_PASSWORD)
            session = (
                await server.client.get(server.base + "/.well-known/jmap", headers=bob_auth)
            ).json()
            shared = session["accounts"][server.account_id]
            assert shared["isReadOnly"] is True
            assert MAIL in shared["accountCapabilities"]
            assert shared["accountCapabilities"][MAIL]["mayCreateTopLevelMailbox"] is False
            body = {
                "using": ["urn:ietf:params:jmap:core", MAIL],
                "methodCalls": [
                    ["Mailbox/get", {"accountId": server.account_id}, "g"],
                    ["Mailbox/set", {"accountId": server.account_id, "destroy": ["M1"]}, "s"],
                    ["Mailbox/query", {"accountId": server.account_id}, "q"],
                ],
            }
            response = await server.client.post(
                server.base + "/jmap/api/", json=body, headers=bob_auth
            )
            got, denied, query = response.json()["methodResponses"]
            [inbox] = got[1]["list"]
            assert inbox["id"] == server.inbox_id and inbox["totalEmails"] == 1
            assert inbox["myRights"]["mayReadItems"] is True
            assert inbox["myRights"]["mayDelete"] is False
            assert inbox["myRights"]["mayAddItems"] is False
            assert denied[1]["type"] == "accountReadOnly"
            assert query[1]["ids"] == [server.inbox_id]


async def test_jmap_mailbox_share_with(tmp_path: Path) -> None:
    from jmap_support import OTHER, OTHER_PASSWORD, basic

    from plugins.jmap.ids import ACCOUNT, encode_id

    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            bob = (await server.kernel.store.directory.add_account(OTHER, OTHER_PASSWORD)).id
            bob_id = encode_id(ACCOUNT, bob)
            bob_auth = basic(OTHER, OTHER_PASSWORD)

            async def bob_accounts() -> set[str]:
                session = await server.client.get(
                    server.base + "/.well-known/jmap", headers=bob_auth
                )
                return set(session.json()["accounts"])

            assert await bob_accounts() == {bob_id}
            read_only = {"mayReadItems": True, "maySetSeen": True}
            result = await _set(
                server, update={server.inbox_id: {f"shareWith/{bob_id}": read_only}}
            )
            assert result["updated"] == {server.inbox_id: None}, result
            # The same rights IMAP ACL shows (RFC 4314 letters).
            acl = await server.kernel.store.mailboxes.acl(server.account, server.inbox)
            assert acl == {bob: "lrs"}
            _, got = await server.call(
                "Mailbox/get",
                {
                    "accountId": server.account_id,
                    "ids": [server.inbox_id],
                    "properties": ["shareWith"],
                },
            )
            shared = got["list"][0]["shareWith"][bob_id]
            assert shared["mayReadItems"] and shared["maySetSeen"] and not shared["mayDelete"]
            assert await bob_accounts() == {bob_id, server.account_id}
            # Not returned unless asked for.
            _, plain = await server.call(
                "Mailbox/get", {"accountId": server.account_id, "ids": [server.inbox_id]}
            )
            assert "shareWith" not in plain["list"][0]
            bad = await _set(
                server, update={server.inbox_id: {"shareWith": {bob_id: {"mayFly": True}}}}
            )
            assert bad["notUpdated"][server.inbox_id]["properties"] == ["shareWith"]
            revoked = await _set(server, update={server.inbox_id: {f"shareWith/{bob_id}": None}})
            assert revoked["updated"] == {server.inbox_id: None}
            assert await server.kernel.store.mailboxes.acl(server.account, server.inbox) == {}
            assert await bob_accounts() == {bob_id}


async def test_jmap_changes_pages_inside_one_transaction(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            account = server.account_id
            emails = [await server.deliver(message(n, f"Subject {n}")) for n in range(3)]
            _, start = await server.call("Mailbox/get", {"accountId": account, "ids": []})
            # One transaction destroys three emails (three threads).
            await server.kernel.store.emails.destroy(server.account, emails)
            _, end = await server.call("Mailbox/get", {"accountId": account, "ids": []})
            seen: list[str] = []
            since = start["state"]
            pages = 0
            while True:
                name, page = await server.call(
                    "Thread/changes", {"accountId": account, "sinceState": since, "maxChanges": 2}
                )
                assert name == "Thread/changes", page
                assert len(page["created"] + page["updated"] + page["destroyed"]) <= 2
                seen += page["destroyed"]
                since = page["newState"]
                pages += 1
                if not page["hasMoreChanges"]:
                    break
            assert pages == 2 and len(set(seen)) == 3
            assert since == end["state"]  # the last page ends on a real state
            # The store's view: a page inside the transaction says how far it got.
            modseq = int(start["state"][1:])
            store = server.kernel.store.mailboxes
            first = await store.changes_page(server.account, "email", modseq, 2)
            assert first.has_more and first.partial == 2
            assert len(first.changes.destroyed) == 2
            rest = await store.changes_page(
                server.account, "email", first.changes.state - 1, 2, skip=first.partial
            )
            assert not rest.has_more and rest.partial == 0
            assert set(rest.changes.destroyed) | set(first.changes.destroyed) == set(emails)
            name, error = await server.call(
                "Thread/changes", {"accountId": account, "sinceState": "s0:x"}
            )
            assert error["type"] == "cannotCalculateChanges"
