"""Helpers for the Identity and EmailSubmission tests: a JMAP server that also runs
the SMTP plugin's queue manager (local delivery goes through the queue), with
Ann's alias ``info@example.org``, a catch-all ``@catch.example`` for Ann, and Bob.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from kernel.testing.dns import dns_server
from plugins.jmap.ids import MAILBOX, encode_id
from plugins.smtp.outbound.testing import inbox, queue_settings
from tests.plugins.jmap.jmap_support import (
    CORE,
    MAIL,
    OTHER,
    OTHER_PASSWORD,
    Server,
    jmap_server,
    merge,
)

SUBMISSION = "urn:ietf:params:jmap:submission"
USING = [CORE, MAIL, SUBMISSION]


@asynccontextmanager
async def submission_server(
    tmp_path: Path, extra: dict[str, Any] | None = None
) -> AsyncIterator[tuple[Server, int]]:
    """A JMAP server with the queue manager (``extra`` config merged in); yields it and
    Bob's account id."""
    async with dns_server({}) as dns:
        config = {
            "server": {"hostname": "mx.example.org"},
            "smtp": {"queue": queue_settings(dns, 25)},
        }
        config = merge(config, extra or {})
        async with jmap_server(tmp_path, config, extra_plugins=("smtp",)) as server:
            directory = server.kernel.store.directory
            await directory.add_domain("catch.example")
            bob = (await directory.add_account(OTHER, OTHER_PASSWORD)).id
            await directory.add_alias("info@example.org", "ann@example.org")
            await directory.add_alias("@catch.example", "ann@example.org")
            yield server, bob


async def call(server: Server, name: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """One call with the submission capability in ``using``."""
    return await server.call(name, {"accountId": server.account_id, **args}, using=USING)


async def calls(server: Server, batch: list[list[Any]]) -> list[list[Any]]:
    """Several calls (``accountId`` added); the method responses."""
    sent = [[n, {"accountId": server.account_id, **a}, c] for n, a, c in batch]
    return (await server.request(sent, using=USING))["methodResponses"]


async def mailbox_id(server: Server, role_name: str) -> str:
    """The JMAP id of one of Ann's mailboxes by path."""
    found = await server.kernel.store.mailboxes.by_path(server.account, role_name)
    assert found is not None
    return encode_id(MAILBOX, found.id)


def draft(drafts: str, *, sender: str = "ann@example.org", **extra: Any) -> dict[str, Any]:
    """An Email/set create object: a draft from ``sender`` to Bob."""
    return {
        "mailboxIds": {drafts: True},
        "keywords": {"$draft": True},
        "from": [{"name": "Ann", "email": sender}],
        "to": [{"name": "Bob", "email": "bob@example.org"}],
        "subject": "Hello Bob",
        "bodyValues": {"1": {"value": "Hi Bob.\n"}},
        "textBody": [{"partId": "1", "type": "text/plain"}],
        **extra,
    }


async def bob_inbox(server: Server, bob: int) -> list[bytes]:
    """Bob's INBOX messages."""
    return await inbox(server.kernel, bob)


async def default_identity(server: Server) -> str:
    """Ann's default identity id (created by Identity/get)."""
    _, got = await call(server, "Identity/get", {"ids": None})
    return next(i["id"] for i in got["list"] if i["email"] == "ann@example.org")
