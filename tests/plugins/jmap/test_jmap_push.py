"""Push over real sockets: EventSource (RFC 8620 §7.3), PushSubscription (§7.2)
with a local HTTP receiver, and JMAP over WebSocket (RFC 8887) with trio-websocket."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import trio
import trio_websocket
from jmap_support import CORE, MAIL, USER, PushReceiver, basic, jmap_server, message

TIMEOUT = 20
#: How fast a change must be pushed (the issue's "within a second").
PUSH_LATENCY = 1.0


async def _sse_events(lines: Any, count: int) -> list[tuple[str, dict[str, Any]]]:
    """Read ``count`` events (event name, data) from an SSE line iterator."""
    events = []
    name = ""
    async for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[6:])))
            if len(events) == count:
                break
    return events


async def test_jmap_eventsource_pushes_store_changes_within_a_second(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            url = server.base + "/jmap/eventsource/"
            params = {"types": "Email,Mailbox", "closeafter": "no", "ping": "0"}
            async with server.client.stream("GET", url, params=params, headers=basic()) as resp:
                assert resp.status_code == 200
                assert resp.headers["content-type"].startswith("text/event-stream")
                lines = resp.aiter_lines()
                assert (await lines.__anext__()).startswith(":")  # the stream is open
                await server.deliver(message(1))
                start = trio.current_time()
                with trio.fail_after(PUSH_LATENCY):
                    [(name, change)] = await _sse_events(lines, 1)
                elapsed = trio.current_time() - start
                assert name == "state" and change["@type"] == "StateChange"
                states = change["changed"][server.account_id]
                assert set(states) == {"Email", "Mailbox"}  # Thread filtered out by types
                _, got = await server.call(
                    "Mailbox/get", {"accountId": server.account_id, "ids": []}
                )
                assert states["Mailbox"] == got["state"]
                assert elapsed < PUSH_LATENCY


async def test_jmap_eventsource_email_delivery_type(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            url = server.base + "/jmap/eventsource/"
            params = {"types": "*", "closeafter": "no", "ping": "0"}
            async with server.client.stream("GET", url, params=params, headers=basic()) as resp:
                lines = resp.aiter_lines()
                assert (await lines.__anext__()).startswith(":")
                email = await server.deliver(message(1))
                [(_, change)] = await _sse_events(lines, 1)
                states = change["changed"][server.account_id]
                assert {"Email", "Thread", "Mailbox", "EmailDelivery"} <= set(states)
                # A flag change is no delivery.
                await server.kernel.store.emails.set_keywords(
                    server.account, [email], add={"$seen"}
                )
                [(_, change)] = await _sse_events(lines, 1)
                states = change["changed"][server.account_id]
                assert "Email" in states and "EmailDelivery" not in states


async def test_jmap_eventsource_closeafter_and_ping(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path, {"jmap": {"event_source_min_ping": 1}}) as server:
            url = server.base + "/jmap/eventsource/"
            params = {"types": "*", "closeafter": "state", "ping": "1"}
            async with server.client.stream("GET", url, params=params, headers=basic()) as resp:
                lines = resp.aiter_lines()
                [(name, data)] = await _sse_events(lines, 1)
                assert name == "ping" and data == {"interval": 1}
                await server.kernel.store.mailboxes.create(server.account, "Fresh")
                [(name, change)] = await _sse_events(lines, 1)
                assert name == "state"
                assert "Mailbox" in change["changed"][server.account_id]
                rest = [line async for line in lines if line.startswith("event:")]
                assert rest == []  # closeafter=state: the server ended the stream
            bad = await server.client.get(url, params={"closeafter": "maybe"}, headers=basic())
            assert bad.status_code == 400
            unauthorized = await server.client.get(url)
            assert unauthorized.status_code == 401


async def test_jmap_push_subscription_flow(tmp_path: Path) -> None:
    receiver = PushReceiver()
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(
                functools.partial(trio.serve_tcp, receiver.handle, 0, host="127.0.0.1")
            )
            port = listeners[0].socket.getsockname()[1]
            push_url = f"http://127.0.0.1:{port}/push?device=1"
            config = {"jmap": {"push_allow_http": True, "push_max_expiry": "2d"}}
            async with jmap_server(tmp_path, config) as server:
                name, result = await server.call(
                    "PushSubscription/set",
                    {
                        "create": {
                            "s1": {
                                "deviceClientId": "dev-1",
                                "url": push_url,
                                "types": ["Mailbox"],
                                "expires": "2099-01-01T00:00:00Z",
                            },
                            "bad": {"deviceClientId": "dev-2", "url": "ftp://x/"},
                            "keys": {
                                "deviceClientId": "dev-3",
                                "url": push_url,
                                "keys": {"p256dh": "x", "auth": "y"},
                            },
                        }
                    },
                    using=[CORE],
                )
                assert name == "PushSubscription/set", result
                created = result["created"]["s1"]
                sub_id = created["id"]
                assert created["keys"] is None
                assert not created["expires"].startswith("2099")  # clamped to 2 days
                assert result["notCreated"]["bad"]["properties"] == ["url"]
                assert result["notCreated"]["keys"]["properties"] == ["keys"]
                verification = await receiver.next_body()
                assert verification["@type"] == "PushVerification"
                assert verification["pushSubscriptionId"] == sub_id
                code = verification["verificationCode"]
                assert len(code) >= 32
                assert b"TTL:" in receiver.heads[0]
                # Unverified: a change is not pushed; a wrong code is refused.
                name, wrong = await server.call(
                    "PushSubscription/set",
                    {"update": {sub_id: {"verificationCode": "nope"}}},
                    using=[CORE],
                )
                assert wrong["notUpdated"][sub_id]["type"] == "invalidProperties"
                name, right = await server.call(
                    "PushSubscription/set",
                    {"update": {sub_id: {"verificationCode": code}}},
                    using=[CORE],
                )
                assert sub_id in right["updated"]
                # get: no url or keys, unless asked (forbidden).
                name, got = await server.call("PushSubscription/get", {"ids": None}, using=[CORE])
                [listed] = got["list"]
                assert listed["id"] == sub_id and "url" not in listed and "keys" not in listed
                assert listed["verificationCode"] == code and listed["types"] == ["Mailbox"]
                assert "accountId" not in got and "state" not in got
                name, forbidden = await server.call(
                    "PushSubscription/get", {"properties": ["url"]}, using=[CORE]
                )
                assert forbidden["type"] == "forbidden"
                # A mailbox change is pushed, restricted to the subscribed types.
                await server.kernel.store.mailboxes.create(server.account, "Pushed")
                with trio.fail_after(PUSH_LATENCY * 2):
                    change = await receiver.next_body()
                assert change["@type"] == "StateChange"
                assert set(change["changed"][server.account_id]) == {"Mailbox"}
                name, destroyed = await server.call(
                    "PushSubscription/set", {"destroy": [sub_id, "Pzz"]}, using=[CORE]
                )
                assert destroyed["destroyed"] == [sub_id]
                assert destroyed["notDestroyed"]["Pzz"]["type"] == "notFound"
            nursery.cancel_scope.cancel()


async def test_jmap_push_subscription_requires_https_by_default(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            _, result = await server.call(
                "PushSubscription/set",
                {"create": {"a": {"deviceClientId": "d", "url": "http://example.org/push"}}},
                using=[CORE],
            )
            assert result["notCreated"]["a"]["type"] == "invalidProperties"
            assert result["notCreated"]["a"]["properties"] == ["url"]


def _ws_url(base: str) -> str:
    return "ws" + base[4:] + "/jmap/ws"


def _auth_headers() -> list[tuple[bytes, bytes]]:
    return [(b"Authorization", basic()["Authorization"].encode())]


async def test_jmap_websocket_requests_and_push(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with (
            jmap_server(tmp_path, {"jmap": {"max_size_request": 16384}}) as server,
            trio_websocket.open_websocket_url(
                _ws_url(server.base), subprotocols=["jmap"], extra_headers=_auth_headers()
            ) as ws,
        ):
            assert ws.subprotocol == "jmap"
            await ws.send_message(
                json.dumps(
                    {
                        "@type": "Request",
                        "id": "r1",
                        "using": [CORE, MAIL],
                        "methodCalls": [
                            ["Core/echo", {"x": 1}, "a"],
                            ["Mailbox/get", {"accountId": server.account_id, "ids": []}, "b"],
                        ],
                    }
                )
            )
            response = json.loads(await ws.get_message())
            assert response["@type"] == "Response" and response["requestId"] == "r1"
            assert response["methodResponses"][0] == ["Core/echo", {"x": 1}, "a"]
            state = response["methodResponses"][1][1]["state"]
            assert "sessionState" in response
            # Request-level errors are RequestError problem details with the request id.
            await ws.send_message(
                json.dumps({"@type": "Request", "id": "r2", "using": ["urn:x"], "methodCalls": []})
            )
            error = json.loads(await ws.get_message())
            assert error["@type"] == "RequestError" and error["requestId"] == "r2"
            assert error["type"] == "urn:ietf:params:jmap:error:unknownCapability"
            await ws.send_message("{nope")
            assert json.loads(await ws.get_message())["type"].endswith(":notJSON")
            await ws.send_message(json.dumps({"using": [], "methodCalls": []}))
            assert json.loads(await ws.get_message())["type"].endswith(":notRequest")
            await ws.send_message(json.dumps({"@type": "Request", "pad": "x" * 20000}))
            too_big = json.loads(await ws.get_message())
            assert too_big["type"].endswith(":limit") and too_big["limit"] == "maxSizeRequest"
            # Push: enable for Mailbox, see a change, disable.
            await ws.send_message(
                json.dumps({"@type": "WebSocketPushEnable", "dataTypes": ["Mailbox"]})
            )
            await ws.send_message(
                json.dumps(
                    {
                        "@type": "Request",
                        "id": "sync",
                        "using": [CORE],
                        "methodCalls": [["Core/echo", {}, "s"]],
                    }
                )
            )
            assert json.loads(await ws.get_message())["requestId"] == "sync"
            await server.kernel.store.mailboxes.create(server.account, "Over WS")
            with trio.fail_after(PUSH_LATENCY):
                change = json.loads(await ws.get_message())
            assert change["@type"] == "StateChange"
            assert set(change["changed"][server.account_id]) == {"Mailbox"}
            assert change["changed"][server.account_id]["Mailbox"] != state
            await ws.send_message(json.dumps({"@type": "WebSocketPushDisable"}))
            await ws.send_message(
                json.dumps(
                    {
                        "@type": "Request",
                        "id": "sync2",
                        "using": [CORE],
                        "methodCalls": [["Core/echo", {}, "s"]],
                    }
                )
            )
            assert json.loads(await ws.get_message())["requestId"] == "sync2"
            await server.kernel.store.mailboxes.create(server.account, "Quiet")
            await ws.send_message(
                json.dumps(
                    {
                        "@type": "Request",
                        "id": "after",
                        "using": [CORE],
                        "methodCalls": [["Core/echo", {}, "s"]],
                    }
                )
            )
            # The next message is the answer, not a push.
            assert json.loads(await ws.get_message())["requestId"] == "after"


async def test_jmap_websocket_handshake_rules(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            url = _ws_url(server.base)
            for kwargs in (
                {"subprotocols": ["jmap"]},  # no credentials
                {"subprotocols": ["chat"], "extra_headers": _auth_headers()},
            ):
                try:
                    async with trio_websocket.open_websocket_url(url, **kwargs):
                        raise AssertionError("the handshake should have been refused")
                except trio_websocket.HandshakeError as exc:
                    status = getattr(exc, "status_code", None)
                    assert status in (400, 401), exc
            assert USER  # the account exists; only the handshake was wrong


async def test_jmap_websocket_closed_going_away_on_shutdown(tmp_path: Path) -> None:
    # The default shutdown_timeout is 30 s: finishing well inside TIMEOUT shows the
    # connection was closed on drain, not at the deadline.
    with trio.fail_after(TIMEOUT):
        async with (
            jmap_server(tmp_path) as server,
            trio_websocket.open_websocket_url(
                _ws_url(server.base), subprotocols=["jmap"], extra_headers=_auth_headers()
            ) as ws,
        ):
            server.kernel.request_stop()
            try:
                await ws.get_message()
                raise AssertionError("expected the server to close the connection")
            except trio_websocket.ConnectionClosed as closed:
                assert closed.reason.code == 1001


async def test_jmap_eventsource_shared_account_changes(tmp_path: Path) -> None:
    from jmap_support import OTHER, OTHER_PASSWORD

    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            bob = (await server.kernel.store.directory.add_account(OTHER, OTHER_PASSWORD)).id
            await server.kernel.store.mailboxes.set_rights(server.account, server.inbox, bob, "lr")
            url = server.base + "/jmap/eventsource/"
            params = {"types": "*", "closeafter": "state", "ping": "0"}
            headers = basic(OTHER, OTHER_PASSWORD)
            async with server.client.stream("GET", url, params=params, headers=headers) as resp:
                lines = resp.aiter_lines()
                assert (await lines.__anext__()).startswith(":")
                await server.deliver(message(1))  # into Ann's shared INBOX
                with trio.fail_after(PUSH_LATENCY):
                    [(_, change)] = await _sse_events(lines, 1)
            states = change["changed"][server.account_id]
            assert {"Mailbox", "Email", "Thread"} <= set(states)
            _, got = await server.call("Mailbox/get", {"accountId": server.account_id, "ids": []})
            assert states["Mailbox"] == got["state"]
