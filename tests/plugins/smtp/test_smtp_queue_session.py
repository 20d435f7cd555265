"""The SMTP session and the queue: relaying by enqueueing, DSNs for local failures after DATA.

Each check of the queue right after the 250 is deterministic: the session
enqueues (durably) before it answers.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kernel import hookimpl
from kernel.pipeline import Verdict
from kernel.testing.dns import dns_server
from plugins.smtp.outbound.testing import queue_settings, wait_until
from tests.plugins.smtp.smtp_support import MESSAGE, client, config, in_thread, smtp_server


class RefuseBob:
    """Local delivery refuses bob after DATA (as a full disk or a Sieve reject might)."""

    @hookimpl
    def stalwart_before_delivery(
        self, kernel: Any, session: Any, envelope: Any, delivery: Any, message: bytes
    ) -> Callable[..., Any] | None:
        if delivery.account != "bob@example.org":
            return None

        async def decide() -> Verdict:
            return Verdict.reject("mailbox unavailable", code=550, status="5.2.1")

        return decide


def _login_and_send(address: tuple[str, int], recipients: list[str], **kw: Any) -> Any:
    with client(address) as smtp:
        smtp.ehlo()
        smtp.login("ann@example.org", "ann-secret")
        return smtp.sendmail("ann@example.org", recipients, MESSAGE, **kw)


async def test_smtp_queue_session_local_failure_after_data_gets_dsn(tmp_path: Path) -> None:
    async with (
        dns_server({}) as dns,
        smtp_server(
            tmp_path,
            config(smtp={"queue": queue_settings(dns, 25)}),
            extra_plugins={"refuse": RefuseBob()},
        ) as server,
    ):
        address = server.address("submission")
        assert (
            await in_thread(
                lambda: _login_and_send(address, ["ann@example.org", "bob@example.org"])
            )
            == {}
        )
        messages = await wait_until(lambda: _at_least(server.inbox(server.ann), 2), timeout=20)
        await wait_until(lambda: _queue_empty(server))
    [dsn] = [m for m in messages if b"multipart/report" in m]
    report = email.message_from_bytes(dsn, policy=email.policy.default)
    fields = list(report.iter_parts())[1].as_bytes().decode()
    assert "Final-Recipient: rfc822; bob@example.org" in fields
    assert "Action: failed" in fields and "Status: 5.2.1" in fields
    assert "Diagnostic-Code: smtp; 550 5.2.1 mailbox unavailable" in fields
    assert "ann@example.org" not in fields.split("Arrival-Date")[1]  # only the failure


class BobBusyOnce:
    """Local delivery to bob fails temporarily the first time (a full disk for a moment)."""

    def __init__(self) -> None:
        self.refused = 0

    @hookimpl
    def stalwart_before_delivery(
        self, kernel: Any, session: Any, envelope: Any, delivery: Any, message: bytes
    ) -> Callable[..., Any] | None:
        if delivery.account != "bob@example.org" or self.refused:
            return None
        self.refused += 1

        async def decide() -> Verdict:
            return Verdict.tempfail("try later", code=452, status="4.3.1")

        return decide


async def test_smtp_queue_session_temporary_local_failure_is_retried_not_bounced(
    tmp_path: Path,
) -> None:
    busy = BobBusyOnce()
    async with (
        dns_server({}) as dns,
        smtp_server(
            tmp_path,
            config(smtp={"queue": queue_settings(dns, 25)}),
            extra_plugins={"busy": busy},
        ) as server,
    ):
        address = server.address("submission")
        assert (
            await in_thread(
                lambda: _login_and_send(address, ["ann@example.org", "bob@example.org"])
            )
            == {}
        )
        # Accepted for both; bob's copy comes from the queue's retry.
        [delivered] = await wait_until(lambda: _at_least(server.inbox(server.bob), 1), timeout=20)
        await wait_until(lambda: _queue_empty(server))
        ann = await server.inbox(server.ann)
    assert busy.refused == 1
    assert b"Subject:" in delivered and delivered.startswith(b"Return-Path: <ann@example.org>")
    assert len(ann) == 1 and b"multipart/report" not in ann[0]  # no DSN


async def test_smtp_queue_session_notify_never_and_null_sender_get_no_dsn(tmp_path: Path) -> None:
    conf = config(smtp={"dsn": True, "queue": {"enabled": False}})
    async with smtp_server(tmp_path, conf, extra_plugins={"refuse": RefuseBob()}) as server:
        address = server.address("submission")
        refused = await in_thread(
            lambda: _login_and_send(
                address, ["ann@example.org", "bob@example.org"], rcpt_options=["NOTIFY=NEVER"]
            )
        )
        assert refused == {}
        assert await server.kernel.store.queue.list() == []  # no DSN was queued

        def null_sender() -> Any:
            with client(server.address("mta")) as smtp:
                smtp.ehlo()
                return smtp.sendmail("<>", ["ann@example.org", "bob@example.org"], MESSAGE)

        assert await in_thread(null_sender) == {}
        assert await server.kernel.store.queue.list() == []  # RFC 3461 §6.2: never to <>
        assert len(await server.inbox(server.ann)) == 2


async def test_smtp_queue_session_relay_enqueues_before_250(tmp_path: Path) -> None:
    conf = config(smtp={"dsn": True, "queue": {"enabled": False}})
    async with smtp_server(tmp_path, conf) as server:
        address = server.address("submission")
        refused = await in_thread(
            lambda: _login_and_send(
                address,
                ["rita@remote.test", "x@other.test", "bob@example.org"],
                mail_options=["RET=HDRS", "ENVID=abc"],
                rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;rita@remote.test"],
            )
        )
        assert refused == {}
        queued, success = await server.kernel.store.queue.list()
        # NOTIFY=SUCCESS on the local recipient: a "delivered" DSN (RFC 3461 §5.2.2).
        assert success.return_path == "" and success.recipients[0].recipient == "ann@example.org"
        report = await server.kernel.store.queue.raw(success.id)
        assert b"Action: delivered" in report and b"Final-Recipient: rfc822; bob@" in report
        assert queued.return_path == "ann@example.org"
        assert (queued.env_id, queued.dsn_ret) == ("abc", "HDRS")
        assert [r.recipient for r in queued.recipients] == ["rita@remote.test", "x@other.test"]
        assert {r.notify for r in queued.recipients} == {"FAILURE,SUCCESS"}
        assert {r.orcpt for r in queued.recipients} == {"rfc822;rita@remote.test"}
        raw = await server.kernel.store.queue.raw(queued.id)
        assert raw.startswith(b"Received: from client.example") and b"with ESMTPA" in raw
        assert b"Return-Path" not in raw and raw.endswith(MESSAGE)
        assert len(await server.inbox(server.bob)) == 1  # the local copy beside it


async def test_smtp_queue_session_relay_needs_authentication(tmp_path: Path) -> None:
    conf = config(smtp={"queue": {"enabled": False}})
    async with smtp_server(tmp_path, conf) as server:

        def anonymous() -> Any:
            with client(server.address("mta")) as smtp:
                smtp.ehlo()
                smtp.mail("carol@remote.example")
                return smtp.rcpt("rita@remote.test")

        code, text = await in_thread(anonymous)
        assert (code, text) == (554, b"5.7.1 relaying denied")
        assert await server.kernel.store.queue.list() == []


@pytest.mark.parametrize("count", [3])
async def test_smtp_queue_session_max_recipients_counts_remote(tmp_path: Path, count: int) -> None:
    conf = config(smtp={"max_recipients": count, "queue": {"enabled": False}})
    async with smtp_server(tmp_path, conf) as server:
        address = server.address("submission")

        def many() -> list[int]:
            with client(address) as smtp:
                smtp.ehlo()
                smtp.login("ann@example.org", "ann-secret")
                smtp.mail("ann@example.org")
                return [smtp.rcpt(f"r{i}@remote.test")[0] for i in range(count + 1)]

        assert await in_thread(many) == [250] * count + [452]


async def _at_least(pending: Any, n: int) -> list[bytes] | None:
    found = await pending
    return found if len(found) >= n else None


async def _queue_empty(server: Any) -> bool:
    return not await server.kernel.store.queue.list()
