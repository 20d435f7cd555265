"""``stalwart-kernel queue list|show|retry|cancel`` as a real process against a store."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import trio

from kernel import Kernel
from kernel.store.queue import Result
from kernel.testing.dns import dns_server
from tests.plugins.smtp.test_smtp_queue_restart import ROOT, write_site

RAW = b"From: a@example.org\r\nSubject: cli\r\n\r\nbody\r\n"


def _kernel(tmp_path: Path) -> Kernel:
    return Kernel(
        data_dir=tmp_path / "var", layers=[tmp_path / "conf"], plugins=["smtp"], environ={}
    )


async def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "kernel.cli",
        "--config",
        str(tmp_path / "conf"),
        "--data",
        str(tmp_path / "var"),
        "--plugins",
        "smtp",
        "queue",
        *args,
    ]
    return await trio.to_thread.run_sync(
        lambda: subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60)
    )


async def test_smtp_queue_cli_list_show_retry_cancel(tmp_path: Path) -> None:
    async with dns_server({}) as dns:
        write_site(tmp_path / "conf", dns, 2525)
    later = time.time() + 3600
    async with _kernel(tmp_path).open_backends() as kernel:
        queue = kernel.store.queue
        first = await queue.enqueue(RAW, "a@example.org", ["x@one.test", "y@one.test"])
        second = await queue.enqueue(RAW, "", ["z@two.test"], env_id="e-1", dsn_ret="HDRS")
        await queue.claim("test", lease=60)
        reply = Result("x@one.test", "deferred", 451, "4.3.2", "busy", "mx.one.test", later)
        await queue.record(first, "test", [reply])
        await queue.release(first, "test", ["y@one.test"])
        await queue.release(second, "test", ["z@two.test"])

    listing = await cli(tmp_path, "list")
    assert listing.returncode == 0, listing.stderr
    rows = listing.stdout.splitlines()[1:-1]  # between the heading and the count
    assert [int(r.split()[0]) for r in rows] == [first, second]
    assert "deferred=1,pending=1" in rows[0] and "<a@example.org>" in rows[0]
    assert "<>" in rows[1] and "2 message(s)" in listing.stdout

    show = await cli(tmp_path, "show", str(first), "--raw")
    assert show.returncode == 0, show.stderr
    assert "recipient:   <x@one.test> deferred attempts=1" in show.stdout
    assert "reply:     451 4.3.2 busy" in show.stdout and "remote:    mx.one.test" in show.stdout
    assert "Subject: cli" in show.stdout
    assert "dsn:         envid=e-1 ret=HDRS" in (await cli(tmp_path, "show", str(second))).stdout

    retry = await cli(tmp_path, "retry", str(first), "--recipient", "x@one.test")
    assert retry.returncode == 0 and "1 recipient(s) due now" in retry.stdout
    async with _kernel(tmp_path).open_backends() as kernel:
        [x, _] = (await kernel.store.queue.get(first)).recipients
        assert x.next_attempt is not None and x.next_attempt < later

    cancel = await cli(tmp_path, "cancel", str(second))
    assert cancel.returncode == 0 and f"cancelled message {second}" in cancel.stdout
    missing = await cli(tmp_path, "show", str(second))
    assert missing.returncode == 1 and f"no queued message {second}" in missing.stderr
    usage = await cli(tmp_path, "retry")
    assert usage.returncode == 2
    async with _kernel(tmp_path).open_backends() as kernel:
        assert [m.id for m in await kernel.store.queue.list()] == [first]
