"""Outbound delivery over real sockets: a sending kernel, the DNS fixture, remote kernels.

The zone ``remote.test`` has MX 10 ``mx1`` (127.0.0.2) and MX 20 ``mx2``
(127.0.0.3); remote kernels listen there on one port, which the sender uses
through ``smtp.queue.remote_port``. Submission is by smtplib as ann@example.org.
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
from plugins.smtp.outbound.manager import QUEUE_MANAGER
from plugins.smtp.outbound.testing import (
    queue_settings,
    remote_server,
    remote_zones,
    wait_until,
)
from tests.plugins.smtp.smtp_support import Server, client, config, in_thread, smtp_server

MESSAGE = (
    b"From: Ann <ann@example.org>\r\n"
    b"To: Rita <rita@remote.test>\r\n"
    b"Subject: outbound\r\n"
    b"Message-ID: <out-1@example.org>\r\n"
    b"\r\n"
    b"Hello Rita.\r\n"
    b".leading dot stays\r\n"
)


def sender_config(dns: Any, port: int, **queue: Any) -> dict[str, Any]:
    return config(smtp={"queue": queue_settings(dns, port, **queue)})


async def submit(server: Server, recipients: list[str], message: bytes = MESSAGE, **kw: Any) -> Any:
    address = server.address("submission")

    def send() -> Any:
        with client(address) as smtp:
            smtp.ehlo()
            smtp.login("ann@example.org", "ann-secret")
            return smtp.sendmail("ann@example.org", recipients, message, **kw)

    return await in_thread(send)


async def queue_empty(server: Server) -> bool:
    return not await server.kernel.store.queue.list()


class Hooks:
    """A remote's DATA hook: answers from a list of verdicts, then accepts; counts calls."""

    def __init__(self, *verdicts: Verdict | None) -> None:
        self.verdicts = list(verdicts)
        self.calls = 0

    @hookimpl
    def stalwart_inbound_data(
        self, kernel: Any, session: Any, envelope: Any, message: bytes
    ) -> Callable[..., Any]:
        async def decide() -> Verdict | None:
            self.calls += 1
            return self.verdicts.pop(0) if self.verdicts else None

        return decide


class RefuseAll:
    """A remote that refuses every connection with 554 (RFC 5321 §3.1)."""

    @hookimpl
    def stalwart_inbound_connect(self, kernel: Any, session: Any) -> Callable[..., Any]:
        async def decide() -> Verdict:
            return Verdict.reject("no service here", code=554, status="5.7.1")

        return decide


async def test_smtp_outbound_mx_preference(tmp_path: Path) -> None:
    async with (
        dns_server(remote_zones()) as dns,
        remote_server(tmp_path, "127.0.0.2") as mx1,
        remote_server(tmp_path, "127.0.0.3", mx1.port) as mx2,
        smtp_server(tmp_path, sender_config(dns, mx1.port)) as server,
    ):
        refused = await submit(server, ["rita@remote.test", "bob@example.org"])
        assert refused == {}
        [got] = await wait_until(lambda: mx1.inbox("rita"))
        assert await mx2.inbox("rita") == []
        assert b"Hello Rita.\r\n.leading dot stays\r\n" in got  # dot-stuffing undone remotely
        assert b"Return-Path: <ann@example.org>" in got
        assert got.count(b"Received:") == 2  # ours (ESMTPA) and the remote's
        assert b"with ESMTPA" in got
        assert len(await server.inbox(server.bob)) == 1  # the local copy
        await wait_until(lambda: queue_empty(server))
        assert ("remote.test", "MX", "udp") in dns.queries


async def test_smtp_outbound_fallback_when_first_mx_refuses(tmp_path: Path) -> None:
    async with (
        dns_server(remote_zones()) as dns,
        remote_server(tmp_path, "127.0.0.2", extra_plugins={"refuse": RefuseAll()}) as mx1,
        remote_server(tmp_path, "127.0.0.3", mx1.port) as mx2,
        smtp_server(tmp_path, sender_config(dns, mx1.port)) as server,
    ):
        await submit(server, ["rita@remote.test"])
        [got] = await wait_until(lambda: mx2.inbox("rita"))
        assert b"Subject: outbound" in got and await mx1.inbox("rita") == []
        await wait_until(lambda: queue_empty(server))


async def test_smtp_outbound_fallback_when_first_mx_is_down(tmp_path: Path) -> None:
    async with (
        dns_server(remote_zones()) as dns,
        remote_server(tmp_path, "127.0.0.3") as mx2,  # nothing listens on 127.0.0.2
        smtp_server(tmp_path, sender_config(dns, mx2.port)) as server,
    ):
        await submit(server, ["rita@remote.test"])
        await wait_until(lambda: mx2.inbox("rita"))


async def test_smtp_outbound_retry_after_4xx(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hooks = Hooks(Verdict.tempfail("busy, try later", code=451, status="4.3.2"))
    async with (
        dns_server(remote_zones()) as dns,
        remote_server(tmp_path, "127.0.0.2", extra_plugins={"hooks": hooks}) as mx1,
        smtp_server(tmp_path, sender_config(dns, mx1.port)) as server,
    ):
        await submit(server, ["rita@remote.test"])
        [got] = await wait_until(lambda: mx1.inbox("rita"))
        assert b"Subject: outbound" in got
        assert hooks.calls == 2
        await wait_until(lambda: queue_empty(server))
        stats = server.kernel.stash[QUEUE_MANAGER].statistics
        assert (stats.deferred, stats.delivered, stats.notifications) == (1, 1, 0)
        assert await server.inbox(server.ann) == []  # no DSN for a delay without warn_after
    log = capsys.readouterr().err
    assert "result=deferred" in log and 'reply="451 4.3.2 busy, try later"' in log


async def test_smtp_outbound_dsn_after_5xx(tmp_path: Path) -> None:
    async with (
        dns_server(remote_zones()) as dns,
        remote_server(tmp_path, "127.0.0.2") as mx1,
        smtp_server(tmp_path, sender_config(dns, mx1.port)) as server,
    ):
        await submit(server, ["rita@remote.test", "nobody@remote.test"])
        await wait_until(lambda: mx1.inbox("rita"))
        [dsn] = await wait_until(lambda: server.inbox(server.ann))
        await wait_until(lambda: queue_empty(server))
    report = email.message_from_bytes(dsn, policy=email.policy.default)
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    assert report["Auto-Submitted"] == "auto-replied"
    assert b"Return-Path: <>" in dsn  # the DSN itself has the null sender
    text, status, original = report.iter_parts()
    assert "nobody@remote.test" in text.get_content()
    assert status.get_content_type() == "message/delivery-status"
    fields = status.as_bytes().decode()
    assert "Reporting-MTA: dns; mx.example.org" in fields
    assert "Final-Recipient: rfc822; nobody@remote.test" in fields
    assert "Action: failed" in fields and "Status: 5.1.1" in fields
    assert "Remote-MTA: dns; mx1.remote.test" in fields
    assert "Diagnostic-Code: smtp; 550 5.1.1" in fields
    assert "rita@remote.test" not in fields  # delivered: not reported
    assert original.get_content_type() == "message/rfc822"
    assert b"Subject: outbound" in original.as_bytes()


async def test_smtp_outbound_null_mx_fails_at_once(tmp_path: Path) -> None:
    zones = {**remote_zones(), "nullmx.test": {"MX": ["0 ."]}}
    async with (
        dns_server(zones) as dns,
        smtp_server(tmp_path, sender_config(dns, 2525)) as server,
    ):
        await submit(server, ["someone@nullmx.test"])
        [dsn] = await wait_until(lambda: server.inbox(server.ann))
        assert b"Status: 5.1.10" in dsn and b"null MX" in dsn
        await wait_until(lambda: queue_empty(server))


async def test_smtp_outbound_nxdomain_and_implicit_mx(tmp_path: Path) -> None:
    async with remote_server(tmp_path, "127.0.0.2", domain="implicit.test") as remote:
        zones = {"implicit.test": {"A": ["127.0.0.2"]}}  # no MX: the A record is the MX
        async with (
            dns_server(zones) as dns,
            smtp_server(tmp_path, sender_config(dns, remote.port)) as server,
        ):
            await submit(server, ["rita@implicit.test", "x@missing.test"])
            await wait_until(lambda: remote.inbox("rita"))
            [dsn] = await wait_until(lambda: server.inbox(server.ann))
            assert b"Final-Recipient: rfc822; x@missing.test" in dsn
            assert b"Status: 5.1.2" in dsn


async def test_smtp_outbound_null_sender_is_never_bounced(tmp_path: Path) -> None:
    async with (
        dns_server(remote_zones()) as dns,
        remote_server(tmp_path, "127.0.0.2") as mx1,
        smtp_server(tmp_path, sender_config(dns, mx1.port)) as server,
    ):
        queue = server.kernel.store.queue
        await queue.enqueue(MESSAGE, "", ["nobody@remote.test"])
        await wait_until(lambda: queue_empty(server))
        stats = server.kernel.stash[QUEUE_MANAGER].statistics
        assert (stats.failed, stats.notifications) == (1, 0)
        assert await queue.list() == []


async def test_smtp_outbound_lifetime_expiry_and_delay_warning(tmp_path: Path) -> None:
    hooks = Hooks(*[Verdict.tempfail("later", code=451, status="4.3.2")] * 1000)
    async with (
        dns_server(remote_zones()) as dns,
        remote_server(tmp_path, "127.0.0.2", extra_plugins={"hooks": hooks}) as mx1,
        smtp_server(
            tmp_path, sender_config(dns, mx1.port, lifetime="1500ms", warn_after="300ms")
        ) as server,
    ):
        await submit(server, ["rita@remote.test"])
        dsns = await wait_until(lambda: _with_two(server.inbox(server.ann)), timeout=30)
        await wait_until(lambda: queue_empty(server))
    delayed, failed = sorted(dsns, key=lambda m: b"Action: failed" in m)
    assert b"Action: delayed" in delayed and b"Will-Retry-Until:" in delayed
    assert b"text/rfc822-headers" in delayed  # a warning carries only the header
    assert b"Action: failed" in failed and b"Status: 4.4.7" in failed
    assert hooks.calls >= 2


async def _with_two(pending: Any) -> list[bytes] | None:
    found = await pending
    return found if len(found) >= 2 else None


async def test_smtp_outbound_notify_never_and_dsn_parameters_pass_on(tmp_path: Path) -> None:
    smtp = {"dsn": True}
    async with (
        dns_server(remote_zones()) as dns,
        remote_server(tmp_path, "127.0.0.2", smtp=smtp) as mx1,
        smtp_server(
            tmp_path, config(smtp={"dsn": True, "queue": queue_settings(dns, mx1.port)})
        ) as server,
    ):
        address = server.address("submission")

        def send() -> Any:
            with client(address) as s:
                s.ehlo()
                s.login("ann@example.org", "ann-secret")
                return s.sendmail(
                    "ann@example.org",
                    ["nobody@remote.test", "rita@remote.test"],
                    MESSAGE,
                    mail_options=["RET=HDRS", "ENVID=env+2Bid"],
                    rcpt_options=["NOTIFY=NEVER"],
                )

        assert await in_thread(send) == {}
        await wait_until(lambda: mx1.inbox("rita"))
        await wait_until(lambda: queue_empty(server))
        stats = server.kernel.stash[QUEUE_MANAGER].statistics
        assert (stats.delivered, stats.failed, stats.notifications) == (1, 1, 0)
        assert await server.inbox(server.ann) == []  # NOTIFY=NEVER


async def test_smtp_outbound_smarthost_route_with_auth(tmp_path: Path) -> None:
    async with (
        dns_server({}) as dns,
        remote_server(
            tmp_path, "127.0.0.2", submission=True, smtp={"sender_must_own": False}
        ) as relay,
    ):
        host, port = relay.address("submission")
        route = {
            "host": host,
            "port": port,
            "username": "rita@remote.test",
            "password": "secret",
            "tls": "none",
        }
        conf = sender_config(dns, 1, routes={"*": route})
        async with smtp_server(tmp_path, conf) as server:
            await submit(server, ["rita@remote.test"])
            [got] = await wait_until(lambda: relay.inbox("rita"))
            assert b"with ESMTPA" in got  # the smarthost saw an authenticated client
            await wait_until(lambda: queue_empty(server))
        assert dns.queries == []  # a static route needs no MX lookup


async def test_smtp_outbound_starttls_opportunistic(tmp_path: Path) -> None:
    async with (
        dns_server(remote_zones()) as dns,
        remote_server(tmp_path, "127.0.0.2", tls="starttls") as mx1,
        smtp_server(tmp_path, sender_config(dns, mx1.port)) as server,
    ):
        await submit(server, ["rita@remote.test"])
        [got] = await wait_until(lambda: mx1.inbox("rita"))
        # RFC 3848: ESMTPS in the remote's Received field: the hop was encrypted.
        remote_received = got.split(b"Received:")[1]
        assert b"with ESMTPS" in remote_received and b"by mx.remote.test" in remote_received


async def test_smtp_outbound_tls_required_but_not_offered_defers(tmp_path: Path) -> None:
    zones = remote_zones()
    zones["remote.test"]["MX"] = ["10 mx1.remote.test."]
    async with (
        dns_server(zones) as dns,
        remote_server(tmp_path, "127.0.0.2") as mx1,
        smtp_server(tmp_path, sender_config(dns, mx1.port, tls="require")) as server,
    ):
        qid = await server.kernel.store.queue.enqueue(MESSAGE, "", ["rita@remote.test"])

        async def deferred() -> bool:
            [r] = (await server.kernel.store.queue.get(qid)).recipients
            return r.status == "deferred"

        await wait_until(deferred)
        [r] = (await server.kernel.store.queue.get(qid)).recipients
        assert "STARTTLS" in (r.last_error or "") and r.last_code == 451
        assert await mx1.inbox("rita") == []
        await server.kernel.store.queue.cancel(qid)


async def test_smtp_outbound_ipv6_after_ipv4_fails(tmp_path: Path) -> None:
    async with remote_server(tmp_path, "::1", domain="v6.test") as remote:
        zones = {
            "v6.test": {"MX": ["10 mx.v6.test."]},
            # Nothing listens on 127.0.0.5: the client moves on to the AAAA address.
            "mx.v6.test": {"A": ["127.0.0.5"], "AAAA": ["::1"]},
        }
        async with (
            dns_server(zones) as dns,
            smtp_server(tmp_path, sender_config(dns, remote.port)) as server,
        ):
            await submit(server, ["rita@v6.test"])
            [got] = await wait_until(lambda: remote.inbox("rita"))
            assert b"Subject: outbound" in got
            await wait_until(lambda: queue_empty(server))
