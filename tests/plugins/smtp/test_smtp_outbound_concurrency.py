"""Concurrency of the queue: two managers on one store never deliver one entry twice;
the per-domain limit holds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio

from kernel import hookimpl
from kernel.testing.dns import dns_server
from plugins.smtp.outbound.manager import QUEUE_MANAGER, QueueManager
from plugins.smtp.outbound.testing import queue_settings, remote_server, remote_zones, wait_until
from tests.plugins.smtp.smtp_support import config, smtp_server


class Overlap:
    """A remote DATA hook that measures how many deliveries run at once."""

    def __init__(self) -> None:
        self.active = 0
        self.most = 0

    @hookimpl
    def stalwart_inbound_data(
        self, kernel: Any, session: Any, envelope: Any, message: bytes
    ) -> Callable[..., Any]:
        async def decide() -> None:
            self.active += 1
            self.most = max(self.most, self.active)
            try:
                # Hold the transaction open so concurrent deliveries would overlap.
                await trio.sleep(0.1)
            finally:
                self.active -= 1

        return decide


def _message(i: int) -> bytes:
    return f"Subject: n{i}\r\nMessage-ID: <{i}@x>\r\n\r\nbody {i}\r\n".encode()


async def test_smtp_outbound_two_managers_share_one_queue(tmp_path: Path) -> None:
    async with (
        dns_server(remote_zones()) as dns,
        remote_server(tmp_path, "127.0.0.2") as mx1,
        smtp_server(tmp_path, config(smtp={"queue": queue_settings(dns, mx1.port)})) as server,
    ):
        kernel = server.kernel
        first = kernel.stash[QUEUE_MANAGER]
        second = QueueManager(kernel)  # a second node's manager on the same store
        assert second.owner != first.owner
        async with trio.open_nursery() as nursery:
            await nursery.start(second.run)
            for i in range(12):
                await kernel.store.queue.enqueue(_message(i), "", ["rita@remote.test"])
            got = await wait_until(lambda: _at_least(mx1.inbox("rita"), 12), timeout=30)
            await wait_until(lambda: _queue_empty(kernel))
            nursery.cancel_scope.cancel()
    subjects = sorted(m.split(b"Subject: ")[1].split(b"\r\n")[0] for m in got)
    assert subjects == sorted(f"n{i}".encode() for i in range(12))  # each exactly once
    assert first.statistics.delivered + second.statistics.delivered == 12


async def test_smtp_outbound_domain_concurrency_limit(tmp_path: Path) -> None:
    overlap = Overlap()
    async with (
        dns_server(remote_zones()) as dns,
        remote_server(tmp_path, "127.0.0.2", extra_plugins={"overlap": overlap}) as mx1,
        smtp_server(
            tmp_path,
            config(smtp={"queue": queue_settings(dns, mx1.port, domain_concurrency=1)}),
        ) as server,
    ):
        kernel = server.kernel
        for i in range(4):
            await kernel.store.queue.enqueue(_message(i), "", ["rita@remote.test"])
        await wait_until(lambda: _at_least(mx1.inbox("rita"), 4), timeout=30)
        assert overlap.most == 1
    # The control: without the per-domain limit the same deliveries overlap.
    overlap = Overlap()
    async with (
        dns_server(remote_zones()) as dns,
        remote_server(tmp_path / "b", "127.0.0.2", extra_plugins={"overlap": overlap}) as mx1,
        smtp_server(
            tmp_path / "b",
            config(smtp={"queue": queue_settings(dns, mx1.port, domain_concurrency=4)}),
        ) as server,
    ):
        kernel = server.kernel
        for i in range(4):
            await kernel.store.queue.enqueue(_message(i), "", ["rita@remote.test"])
        await wait_until(lambda: _at_least(mx1.inbox("rita"), 4), timeout=30)
        assert overlap.most > 1


async def _at_least(pending: Any, n: int) -> list[bytes] | None:
    found = await pending
    return found if len(found) >= n else None


async def _queue_empty(kernel: Any) -> bool:
    return not await kernel.store.queue.list()
