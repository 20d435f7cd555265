"""The real client library jmapc (PyPI), unmodified, against the server over HTTPS.

jmapc always fetches ``https://{host}/.well-known/jmap`` with ``requests``: see
``jmap_support.jmapc_tls`` for the TLS listener it needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from jmap_support import USER, jmap_server, jmapc_client, jmapc_tls, message
from jmapc.methods import (
    CoreEcho,
    CoreEchoResponse,
    MailboxGet,
    MailboxGetResponse,
    MailboxQuery,
    MailboxQueryResponse,
    MailboxSet,
    MailboxSetResponse,
)
from jmapc.models import Mailbox

from kernel.testing import listener_address

TIMEOUT = 30


async def test_jmap_jmapc_session_and_mailboxes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path, jmapc_tls(tmp_path, monkeypatch)) as server:
            await server.deliver(message(1))
            client = jmapc_client(server.kernel)

            def run() -> tuple[Any, ...]:
                session = client.jmap_session
                echo = client.request(CoreEcho(data={"hello": "world"}))
                got = client.request(MailboxGet(ids=None))
                query = client.request(MailboxQuery(filter=None))
                created = client.request(MailboxSet(create={"n": Mailbox(name="From jmapc")}))
                return session, client.account_id, echo, got, query, created

            session, account_id, echo, got, query, created = await trio.to_thread.run_sync(run)
            assert session.username == USER
            _, port = listener_address(server.kernel, "web")
            assert session.api_url == f"https://localhost:{port}/jmap/api/"
            assert session.capabilities.core.max_calls_in_request > 0
            assert account_id == server.account_id
            assert isinstance(echo, CoreEchoResponse) and echo.data == {"hello": "world"}
            assert isinstance(got, MailboxGetResponse)
            inbox = next(m for m in got.data if m.role == "inbox")
            assert inbox.name == "INBOX" and inbox.total_emails == 1
            assert inbox.unread_emails == 1
            assert isinstance(query, MailboxQueryResponse) and len(query.ids) == 6
            assert isinstance(created, MailboxSetResponse)
            assert created.created is not None and "n" in created.created
            names = [m.name for m in await server.kernel.store.mailboxes.list(server.account)]
            assert "From jmapc" in names


async def test_jmap_jmapc_event_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path, jmapc_tls(tmp_path, monkeypatch)) as server:
            client = jmapc_client(server.kernel)
            subscribers = server.kernel.events.statistics().subscribers
            events: list[Any] = []

            def first_event() -> None:
                events.append(next(iter(client.events)))
                client._events.resp.close()  # type: ignore[union-attr]  # end the stream

            async with trio.open_nursery() as nursery:
                nursery.start_soon(trio.to_thread.run_sync, first_event)
                # Wait until the stream is subscribed, then make a change.
                while server.kernel.events.statistics().subscribers == subscribers:
                    await trio.sleep(0.01)
                await server.deliver(message(1))
            [event] = events
            states = event.data.changed[server.account_id]
            assert states.mailbox is not None and states.email is not None
            assert states.email_delivery is not None
