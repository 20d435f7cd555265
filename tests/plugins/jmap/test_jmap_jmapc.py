"""The real client library jmapc (PyPI), unmodified, against the server over HTTPS.

jmapc always fetches ``https://{host}/.well-known/jmap`` with ``requests``, so the
kernel serves an implicit-TLS listener with a trustme certificate and
``REQUESTS_CA_BUNDLE`` points requests at the test CA.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jmapc
import pytest
import trio
import trustme
from jmap_support import PASSWORD, USER, jmap_server, message
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


def _tls_config(ca: trustme.CA) -> dict[str, Any]:
    cert = ca.issue_cert("localhost", "127.0.0.1")
    return {
        "listeners": {"web": {"tls": "implicit"}},
        "tls": {
            "certificates": {
                "main": {
                    "cert": "".join(b.bytes().decode() for b in cert.cert_chain_pems),
                    "key": cert.private_key_pem.bytes().decode(),
                }
            }
        },
    }


async def test_jmap_jmapc_session_and_mailboxes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path, _tls_config(ca)) as server:
            await server.deliver(message(1))
            host, port = listener_address(server.kernel, "web")
            client = jmapc.Client.create_with_password(f"localhost:{port}", USER, PASSWORD)
            assert host == "127.0.0.1"

            def run() -> tuple[Any, ...]:
                session = client.jmap_session
                echo = client.request(CoreEcho(data={"hello": "world"}))
                got = client.request(MailboxGet(ids=None))
                query = client.request(MailboxQuery(filter=None))
                created = client.request(MailboxSet(create={"n": Mailbox(name="From jmapc")}))
                return session, client.account_id, echo, got, query, created

            session, account_id, echo, got, query, created = await trio.to_thread.run_sync(run)
            assert session.username == USER
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
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    with trio.fail_after(TIMEOUT):
        async with jmap_server(tmp_path, _tls_config(ca)) as server:
            _, port = listener_address(server.kernel, "web")
            client = jmapc.Client.create_with_password(f"localhost:{port}", USER, PASSWORD)
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
