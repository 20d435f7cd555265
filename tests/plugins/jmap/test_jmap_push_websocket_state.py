"""pushState over JMAP WebSocket (RFC 8887 §4.3.5) with trio-websocket: every pushed
StateChange carries a pushState, and a WebSocketPushEnable with one gets at once what
changed while the client was away (or everything, for a token the server cannot use)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import trio
import trio_websocket
from jmap_support import CORE, MAIL, Server, basic, jmap_server, message

from plugins.jmap.push import parse_push_state

TIMEOUT = 20


def _ws_url(server: Server) -> str:
    return "ws" + server.base[4:] + "/jmap/ws"


def _connect(server: Server) -> Any:
    headers = [(b"Authorization", basic()["Authorization"].encode())]
    return trio_websocket.open_websocket_url(
        _ws_url(server), subprotocols=["jmap"], extra_headers=headers
    )


async def _sync(ws: Any, tag: str) -> list[dict[str, Any]]:
    """Send an echo request; return what came before its answer (pushes)."""
    request = {
        "@type": "Request",
        "id": tag,
        "using": [CORE],
        "methodCalls": [["Core/echo", {}, "e"]],
    }
    await ws.send_message(json.dumps(request))
    before = []
    while True:
        got = json.loads(await ws.get_message())
        if got.get("requestId") == tag:
            return before
        before.append(got)


async def _states(server: Server) -> dict[str, str]:
    calls = [
        ["Mailbox/get", {"accountId": server.account_id, "ids": []}, "m"],
        ["Email/get", {"accountId": server.account_id, "ids": []}, "e"],
    ]
    result = await server.request(calls, using=[CORE, MAIL])
    return {r[0].split("/")[0]: r[1]["state"] for r in result["methodResponses"]}


async def test_jmap_push_websocket_pushstate_resends_missed_changes(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            account = server.account_id
            async with _connect(server) as ws:
                await ws.send_message(
                    json.dumps({"@type": "WebSocketPushEnable", "dataTypes": None})
                )
                await _sync(ws, "ready")
                await server.kernel.store.mailboxes.create(server.account, "First")
                change = json.loads(await ws.get_message())
                assert change["@type"] == "StateChange"
                assert "Mailbox" in change["changed"][account]
                # RFC 8887 §4.3.5.1: pushed StateChanges carry a pushState.
                token = change["pushState"]
                assert parse_push_state(token) is not None
            # While the client is away: a mailbox, a delivered email, a flag change.
            await server.kernel.store.mailboxes.create(server.account, "Second")
            await server.deliver(message(1))
            async with _connect(server) as ws:
                await ws.send_message(
                    json.dumps(
                        {"@type": "WebSocketPushEnable", "dataTypes": None, "pushState": token}
                    )
                )
                resent = json.loads(await ws.get_message())
                assert resent["@type"] == "StateChange"
                states = resent["changed"][account]
                assert {"Mailbox", "Email", "Thread", "EmailDelivery"} <= set(states)
                assert "SieveScript" not in states and "Identity" not in states
                current = await _states(server)
                assert states["Mailbox"] == current["Mailbox"]
                assert states["Email"] == current["Email"]
                newer = resent["pushState"]
                assert newer != token
                # Enabling again with the newest token: nothing missed, nothing sent.
                await ws.send_message(
                    json.dumps({"@type": "WebSocketPushEnable", "pushState": newer})
                )
                assert await _sync(ws, "quiet") == []
                # Live pushes go on from there, with a pushState each.
                await server.kernel.store.mailboxes.create(server.account, "Third")
                live = json.loads(await ws.get_message())
                assert "Mailbox" in live["changed"][account]
                assert "EmailDelivery" not in live["changed"][account]
                assert (
                    parse_push_state(live["pushState"])[server.account]
                    > (parse_push_state(newer)[server.account])
                )


async def test_jmap_push_websocket_pushstate_types_and_unknown_token(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path) as server:
            account = server.account_id
            async with _connect(server) as ws:
                await ws.send_message(json.dumps({"@type": "WebSocketPushEnable"}))
                await _sync(ws, "ready")
                await server.kernel.store.mailboxes.create(server.account, "One")
                token = json.loads(await ws.get_message())["pushState"]
            await server.deliver(message(2))  # an Email change only (and its Mailbox counts)
            async with _connect(server) as ws:
                # Only Mailbox wanted: the resend is restricted to it.
                await ws.send_message(
                    json.dumps(
                        {
                            "@type": "WebSocketPushEnable",
                            "dataTypes": ["Mailbox"],
                            "pushState": token,
                        }
                    )
                )
                resent = json.loads(await ws.get_message())
                assert set(resent["changed"][account]) == {"Mailbox"}
                # A token the server cannot read: every type, except EmailDelivery.
                await ws.send_message(
                    json.dumps({"@type": "WebSocketPushEnable", "pushState": "not-ours"})
                )
                everything = json.loads(await ws.get_message())
                states = everything["changed"][account]
                assert {"Mailbox", "Email", "Thread", "SieveScript", "Identity"} <= set(states)
                assert "EmailDelivery" not in states
                assert len(set(states.values())) == 1  # all at the account's current state
