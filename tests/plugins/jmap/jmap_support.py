"""Helpers for the JMAP tests: a kernel serving JMAP over real HTTP, and a small client.

``async with jmap_server(tmp_path) as server:`` runs a kernel with the
``directory`` and ``jmap`` plugins (plus ``imap`` when asked) on an HTTP
listener bound to port 0, with the account ``ann@example.org``; ``server.call``
sends a JMAP request with httpx and returns the decoded response.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jmapc
import pytest
import trio
import trustme

from kernel import Kernel
from kernel.testing import listener_address, run_kernel
from plugins.jmap.ids import ACCOUNT, MAILBOX, encode_id

USER = "ann@example.org"
PASSWORD = "correct horse"
OTHER = "bob@example.org"
OTHER_PASSWORD = "battery staple"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
USING = [CORE, MAIL]
BASE_CONFIG: dict[str, Any] = {
    "auth": {"allow_plaintext_without_tls": True},
    "listeners": {"web": {"bind": "127.0.0.1:0", "protocol": "http", "tls": "none"}},
}


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` merged into ``base``, nested mappings merged too."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def jmapc_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Config for an implicit-TLS ``web`` listener that jmapc can reach.

    jmapc always fetches ``https://{host}/.well-known/jmap`` with ``requests``:
    the listener gets a trustme certificate for localhost and ``REQUESTS_CA_BUNDLE``
    points requests at the test CA.
    """
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
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


def jmapc_client(kernel: Kernel, user: str = USER, password: str = PASSWORD) -> jmapc.Client:
    """A jmapc client for the kernel's ``web`` listener (configured by :func:`jmapc_tls`)."""
    _, port = listener_address(kernel, "web")
    return jmapc.Client.create_with_password(f"localhost:{port}", user, password)


def basic(user: str = USER, password: str = PASSWORD) -> dict[str, str]:
    """An ``Authorization: Basic`` header."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def message(n: int, subject: str | None = None, body: bytes = b"Hello.\r\n") -> bytes:
    """A small message numbered ``n``."""
    subject = subject if subject is not None else f"test {n}"
    return (
        b"From: bob@example.org\r\nTo: ann@example.org\r\n"
        b"Subject: %s\r\nMessage-ID: <%d@example.org>\r\n\r\n" % (subject.encode(), n)
    ) + body


@dataclass
class Server:
    """A running kernel serving JMAP, with the account ``ann@example.org``."""

    kernel: Kernel
    base: str
    client: httpx.AsyncClient
    account: int
    inbox: int

    @property
    def account_id(self) -> str:
        """Ann's JMAP account id."""
        return encode_id(ACCOUNT, self.account)

    @property
    def inbox_id(self) -> str:
        """Ann's INBOX as a JMAP id."""
        return encode_id(MAILBOX, self.inbox)

    async def deliver(self, raw: bytes, mailbox: int | None = None) -> int:
        """Append ``raw`` to a mailbox (default INBOX) through the store as local delivery
        does (``delivered``: it moves EmailDelivery); the email id."""
        result = await self.kernel.store.emails.append(
            self.account, raw, [mailbox if mailbox is not None else self.inbox], delivered=True
        )
        return result.email

    async def post(self, body: Any, **kwargs: Any) -> httpx.Response:
        """POST ``body`` as JSON to the API endpoint (Ann's credentials by default)."""
        headers = kwargs.pop("headers", None) or basic()
        return await self.client.post(
            self.base + "/jmap/api/", json=body, headers=headers, **kwargs
        )

    async def request(
        self, calls: list[list[Any]], using: list[str] | None = None, **extra: Any
    ) -> dict[str, Any]:
        """Send method calls; assert HTTP 200 and return the Response object."""
        body = {"using": using or USING, "methodCalls": calls, **extra}
        response = await self.post(body)
        assert response.status_code == 200, response.text
        return response.json()

    async def call(self, name: str, args: dict[str, Any], **kw: Any) -> tuple[str, dict[str, Any]]:
        """One method call; returns the (name, arguments) of its first response."""
        result = await self.request([[name, args, "c1"]], **kw)
        first = result["methodResponses"][0]
        return first[0], first[1]


@asynccontextmanager
async def jmap_server(
    tmp_path: Path,
    config: Mapping[str, Any] | None = None,
    *,
    extra_plugins: tuple[str, ...] = (),
) -> AsyncIterator[Server]:
    """Run a kernel serving JMAP (``BASE_CONFIG`` merged with ``config``)."""
    async with run_kernel(
        tmp_path,
        names=["directory", "jmap", *extra_plugins],
        config=merge(BASE_CONFIG, config or {}),
    ) as kernel:
        directory = kernel.store.directory
        await directory.add_domain("example.org")
        account = (await directory.add_account(USER, PASSWORD)).id
        inbox = await kernel.store.mailboxes.by_path(account, "INBOX")
        assert inbox is not None
        host, port = listener_address(kernel, "web")
        async with httpx.AsyncClient(timeout=10) as client:
            yield Server(kernel, f"http://{host}:{port}", client, account, inbox.id)


class PushReceiver:
    """A push service stand-in (plain HTTP or TLS): records each POST's header block and
    raw body, and answers ``status``."""

    def __init__(self) -> None:
        self.heads: list[bytes] = []
        self.posts: list[tuple[bytes, bytes]] = []
        self.arrived = trio.Event()
        self.status = 201

    async def handle(self, stream: trio.abc.Stream) -> None:
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            while len(body) < length:
                body += await stream.receive_some(65536)
            self.heads.append(head)
            self.posts.append((head, body))
            self.arrived.set()
            await stream.send_all(b"HTTP/1.1 %d Created\r\nContent-Length: 0\r\n\r\n" % self.status)
        finally:
            await trio.aclose_forcefully(stream)

    async def next_post(self) -> tuple[bytes, bytes]:
        """The oldest POST not yet taken, waiting for one."""
        while not self.posts:
            self.arrived = trio.Event()
            await self.arrived.wait()
        return self.posts.pop(0)

    async def next_body(self) -> dict[str, Any]:
        """The oldest POST's body, parsed as JSON."""
        _, body = await self.next_post()
        return dict(json.loads(body))
