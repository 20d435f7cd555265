"""EmailDelivery (RFC 8621 §1.5) moves only for mail that arrives: an SMTP delivery
(smtplib) moves it over EventSource and PushSubscription; an IMAP APPEND
(imapclient), a JMAP Email/set create and an Email/import by the user do not."""

from __future__ import annotations

import functools
import json
import smtplib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import imapclient
import trio
from jmap_support import (
    CORE,
    MAIL,
    PASSWORD,
    USER,
    PushReceiver,
    Server,
    basic,
    jmap_server,
    message,
)

from kernel.testing import listener_address

TIMEOUT = 40
CONFIG = {
    "server": {"hostname": "mx.example.org"},
    "listeners": {
        "imap": {"bind": "127.0.0.1:0", "protocol": "imap", "tls": "none"},
        "mta": {"bind": "127.0.0.1:0", "protocol": "smtp", "role": "mta", "tls": "none"},
    },
    "smtp": {"queue": {"enabled": False}},
    "jmap": {"push_allow_http": True},
}


async def _email_state(server: Server) -> str:
    _, got = await server.call("Email/get", {"accountId": server.account_id, "ids": []})
    return str(got["state"])


async def _types_until(
    next_change: Callable[[], Awaitable[dict[str, Any]]], account: str, state: str
) -> set[str]:
    """Every type named by StateChanges up to the one that reports Email at ``state``."""
    seen: set[str] = set()
    while True:
        change = await next_change()
        states = change["changed"].get(account, {})
        seen |= set(states)
        if states.get("Email") == state:
            return seen


async def test_jmap_push_email_delivery_only_for_delivered_mail(tmp_path: Path) -> None:
    receiver = PushReceiver()
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(
                functools.partial(trio.serve_tcp, receiver.handle, 0, host="127.0.0.1")
            )
            port = listeners[0].socket.getsockname()[1]
            async with jmap_server(tmp_path, CONFIG, extra_plugins=("imap", "smtp")) as server:
                account = server.account_id
                _, made = await server.call(
                    "PushSubscription/set",
                    {"create": {"p": {"deviceClientId": "d", "url": f"http://127.0.0.1:{port}/p"}}},
                    using=[CORE],
                )
                sub_id = made["created"]["p"]["id"]
                code = (await receiver.next_body())["verificationCode"]
                await server.call(
                    "PushSubscription/set",
                    {"update": {sub_id: {"verificationCode": code}}},
                    using=[CORE],
                )
                url = server.base + "/jmap/eventsource/"
                params = {"types": "*", "closeafter": "no", "ping": "0"}
                async with server.client.stream("GET", url, params=params, headers=basic()) as resp:
                    lines = resp.aiter_lines()
                    assert (await lines.__anext__()).startswith(":")

                    async def next_sse() -> dict[str, Any]:
                        async for line in lines:
                            if line.startswith("data: "):
                                return dict(json.loads(line[6:]))
                        raise AssertionError("the event stream ended")

                    async def observed() -> tuple[set[str], set[str]]:
                        state = await _email_state(server)
                        sse = await _types_until(next_sse, account, state)
                        pushed = await _types_until(receiver.next_body, account, state)
                        return sse, pushed

                    # IMAP APPEND by the user: Email moves, EmailDelivery does not.
                    imap_address = listener_address(server.kernel, "imap")

                    def append() -> None:
                        client = imapclient.IMAPClient(
                            imap_address[0], port=imap_address[1], ssl=False, timeout=15
                        )
                        try:
                            client.login(USER, PASSWORD)
                            client.append("INBOX", message(1))
                        finally:
                            client.logout()

                    await trio.to_thread.run_sync(append)
                    sse, pushed = await observed()
                    assert "Email" in sse and "EmailDelivery" not in sse
                    assert "Email" in pushed and "EmailDelivery" not in pushed

                    # JMAP Email/set create and Email/import: not deliveries either.
                    upload = await server.client.post(
                        f"{server.base}/jmap/upload/{account}/",
                        content=message(3),
                        headers={**basic(), "Content-Type": "message/rfc822"},
                    )
                    blob = upload.json()["blobId"]
                    result = await server.request(
                        [
                            [
                                "Email/set",
                                {
                                    "accountId": account,
                                    "create": {
                                        "d": {
                                            "mailboxIds": {server.inbox_id: True},
                                            "subject": "draft",
                                            "bodyValues": {"1": {"value": "Hi.\n"}},
                                            "textBody": [{"partId": "1", "type": "text/plain"}],
                                        }
                                    },
                                },
                                "0",
                            ],
                            [
                                "Email/import",
                                {
                                    "accountId": account,
                                    "emails": {
                                        "i": {"blobId": blob, "mailboxIds": {server.inbox_id: True}}
                                    },
                                },
                                "1",
                            ],
                        ],
                        using=[CORE, MAIL],
                    )
                    assert "d" in result["methodResponses"][0][1]["created"]
                    assert "i" in result["methodResponses"][1][1]["created"]
                    sse, pushed = await observed()
                    assert "Email" in sse and "EmailDelivery" not in sse
                    assert "Email" in pushed and "EmailDelivery" not in pushed

                    # SMTP delivery: EmailDelivery moves on both channels.
                    mta = listener_address(server.kernel, "mta")

                    def send() -> None:
                        with smtplib.SMTP(*mta, local_hostname="client.example", timeout=15) as c:
                            c.sendmail("carol@remote.example", [USER], message(2))

                    await trio.to_thread.run_sync(send)
                    sse, pushed = await observed()
                    assert {"Email", "EmailDelivery"} <= sse
                    assert {"Email", "EmailDelivery"} <= pushed
            nursery.cancel_scope.cancel()
