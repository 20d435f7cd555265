"""No message lost across a crash: a sending server killed (SIGKILL) mid-delivery.

The sender runs as a child process (``python -m kernel.cli``); the remote MX
is an in-test kernel whose DATA hook holds the first delivery until the sender
is dead. After a restart the sender's lease on the entry runs out
(``smtp.queue.lease``), it claims the entry again and delivers it once.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio
import yaml

from kernel import Kernel, hookimpl
from kernel.pipeline import Verdict
from kernel.testing.dns import DnsServer, dns_server
from plugins.smtp.outbound.testing import queue_settings, remote_server, remote_zones, wait_until

ROOT = Path(__file__).resolve().parents[3]
PACKAGED_LISTENERS = [
    "http",
    "smtp",
    "submission",
    "submissions",
    "imap",
    "imaps",
    "pop3",
    "pop3s",
    "managesieve",
]
MESSAGE = b"From: a@example.org\r\nSubject: survive\r\nMessage-ID: <r@x>\r\n\r\nbody\r\n"


def write_site(conf: Path, dns: DnsServer, port: int, **queue: Any) -> None:
    """A site configuration for a child kernel: no packaged listeners, the test queue."""
    conf.mkdir(parents=True, exist_ok=True)
    site = {
        "config": {"watch": False},
        "server": {"hostname": "mx.example.org", "shutdown_timeout": "2s"},
        "listeners": dict.fromkeys(PACKAGED_LISTENERS),
        "smtp": {"queue": queue_settings(dns, port, **queue)},
    }
    (conf / "50-test.yaml").write_text(yaml.safe_dump(site))


async def enqueue(tmp_path: Path, *args: Any, **kwargs: Any) -> int:
    """Queue a message in the child's store (the child is not running)."""
    kernel = Kernel(
        data_dir=tmp_path / "var",
        layers=[tmp_path / "conf"],
        plugins=["directory", "smtp"],
        environ={},
    )
    async with kernel.open_backends():
        return await kernel.store.queue.enqueue(*args, **kwargs)


class Child:
    """A ``stalwart-kernel`` child process; its output is collected in ``lines``."""

    def __init__(self, tmp_path: Path) -> None:
        args = ["--config", str(tmp_path / "conf"), "--data", str(tmp_path / "var")]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kernel.cli", *args, "--plugins", "directory,smtp"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    async def kill(self, sig: int = signal.SIGKILL) -> int:
        self.proc.send_signal(sig)
        return await trio.to_thread.run_sync(lambda: self.proc.wait(timeout=20))


class Stall:
    """The remote's DATA hook: the first delivery waits for ``release``, then tempfails."""

    def __init__(self) -> None:
        self.entered = trio.Event()
        self.release = trio.Event()
        self.calls = 0

    @hookimpl
    def stalwart_inbound_data(
        self, kernel: Any, session: Any, envelope: Any, message: bytes
    ) -> Callable[..., Any]:
        async def decide() -> Verdict | None:
            self.calls += 1
            if self.calls == 1:
                self.entered.set()
                await self.release.wait()
                return Verdict.tempfail("interrupted")
            return None

        return decide


async def test_smtp_queue_restart_after_sigkill_mid_delivery(tmp_path: Path) -> None:
    stall = Stall()
    async with (
        dns_server(remote_zones()) as dns,
        remote_server(tmp_path, "127.0.0.2", extra_plugins={"stall": stall}) as mx1,
    ):
        write_site(tmp_path / "conf", dns, mx1.port, lease="1s", poll_interval="200ms")
        qid = await enqueue(tmp_path, MESSAGE, "a@example.org", ["rita@remote.test"])
        child = Child(tmp_path)
        try:
            with trio.fail_after(30):
                await stall.entered.wait()  # the child is inside DATA now
            assert await child.kill() == -signal.SIGKILL
        finally:
            if child.proc.poll() is None:
                child.proc.kill()
        stall.release.set()
        assert await mx1.inbox("rita") == []
        restarted = Child(tmp_path)
        try:
            [got] = await wait_until(lambda: mx1.inbox("rita"), timeout=30)
            assert b"Subject: survive" in got and stall.calls == 2
            await wait_until(
                lambda: _logged(restarted, f"event=queue-attempt queue={qid} "), timeout=10
            )
            assert await restarted.kill(signal.SIGTERM) == 0
        finally:
            if restarted.proc.poll() is None:
                restarted.proc.kill()
        log = "\n".join(restarted.lines)
        assert "result=delivered" in log and "host=mx1.remote.test" in log
        assert len(await mx1.inbox("rita")) == 1  # delivered exactly once
    # The entry left the queue with the delivery.
    kernel = Kernel(
        data_dir=tmp_path / "var", layers=[tmp_path / "conf"], plugins=["smtp"], environ={}
    )
    async with kernel.open_backends():
        assert await kernel.store.queue.list() == []


async def _logged(child: Child, text: str) -> bool:
    await trio.lowlevel.checkpoint()
    return any(text in line for line in child.lines)
