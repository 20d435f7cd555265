"""Broken and hostile scripts never stop delivery: the message is kept and the error logged."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import trio
from sieve_delivery_support import ANN, BOB, events, message, sieve_log, sieve_server

from plugins.sieve import Envelope, Interpreter, Limits, StaticHost, compile_script
from plugins.sieve.runner import GRACE, run_script


async def test_sieve_delivery_compile_error_keeps_in_inbox(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, 'require "fileinto";\nfileinto "x"\nkeep;', cache=False)
        with sieve_log() as records:
            assert await server.send(message("broken"), [ANN]) == {}
            assert await server.send(message("again", message_id="<2@x>"), [ANN]) == {}
        inbox = await server.folder(ANN)
        assert [b"Subject: broken" in raw for _, raw in inbox] == [True, False]
        # Both deliveries keep; the second one reuses the remembered error.
        assert len(events(records, "sieve-error")) == 2
        for error in events(records, "sieve-error"):
            assert error["stage"] == "compile" and "line 2, column 1" in str(error["error"])
        account = server.accounts[ANN]
        assert (await server.kernel.store.sieve.active(account))[2] is None


async def test_sieve_delivery_runtime_error_keeps_with_flags(tmp_path: Path) -> None:
    script = """
    require ["ihave", "imap4flags", "fileinto"];
    addflag "\\\\Flagged";
    fileinto "Archive";
    error "this script gives up";
    """
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, script)
        with sieve_log() as records:
            assert await server.send(message("runtime"), [ANN]) == {}
        inbox = await server.folder(ANN)
        assert len(inbox) == 1 and b"\\Flagged" in inbox[0][0]
        assert await server.folder(ANN, "Archive") == []
        (error,) = events(records, "sieve-error")
        assert "this script gives up" in str(error["error"]) and error["result"] == "kept"


async def test_sieve_delivery_limit_exceeded_keeps(tmp_path: Path) -> None:
    script = 'redirect "a@remote.example"; redirect "b@remote.example";'
    async with sieve_server(tmp_path, {"max_redirects": 1}) as server:
        await server.install(ANN, script)
        with sieve_log() as records:
            assert await server.send(message("limits"), [ANN]) == {}
        assert len(await server.folder(ANN)) == 1
        (error,) = events(records, "sieve-error")
        assert "redirect" in str(error["error"])


async def test_sieve_delivery_run_time_limit_keeps(tmp_path: Path) -> None:
    # Catastrophic backtracking: the run is stopped at the configured limit.
    script = """
    require ["regex", "fileinto"];
    if header :regex "subject" "^(a|aa)+$" { fileinto "Never"; }
    """
    async with sieve_server(tmp_path, {"max_run_time": "300ms"}) as server:
        await server.install(ANN, script)
        with sieve_log() as records:
            started = time.monotonic()
            assert await server.send(message("a" * 60 + "b"), [ANN, BOB]) == {}
            elapsed = time.monotonic() - started
        assert elapsed < 5
        assert len(await server.folder(ANN)) == 1
        assert len(await server.folder(BOB)) == 1
        (error,) = events(records, "sieve-error")
        # The regex timeout stops it ("took too long"); on a loaded machine the trio
        # side may give up first, at the budget plus grace ("run time limit exceeded").
        assert any(s in str(error["error"]) for s in ("too long", "run time limit exceeded"))


async def test_sieve_delivery_run_abandoned_when_host_blocks() -> None:
    """The trio side stops waiting at the budget plus GRACE, whatever the thread does."""
    abandoned = threading.Event()
    released = threading.Event()

    class BlockingHost(StaticHost):
        def environment(self, name: str) -> str | None:
            abandoned.wait(30)
            released.set()
            return None

    script = compile_script('require "environment"; if environment "host" "x" { discard; }')
    interpreter = Interpreter(limits=Limits(max_run_seconds=0.2))
    started = trio.current_time()
    outcome = await run_script(
        interpreter,
        script,
        b"Subject: x\r\n\r\n",
        Envelope("a@remote.example", "ann@example.org"),
        BlockingHost(),
        abandoned=abandoned,
    )
    assert outcome is None
    assert trio.current_time() - started < 0.2 + GRACE + 1
    assert abandoned.is_set()
    await trio.to_thread.run_sync(released.wait, 10)
    assert released.is_set()


async def test_sieve_delivery_disabled_by_config(tmp_path: Path) -> None:
    async with sieve_server(tmp_path, {"enabled": False}) as server:
        await server.install(ANN, "discard;")
        assert await server.send(message("kept"), [ANN]) == {}
        assert len(await server.folder(ANN)) == 1


async def test_sieve_delivery_plugin_failure_is_no_opinion(tmp_path: Path) -> None:
    async with sieve_server(tmp_path) as server:
        await server.install(ANN, "discard;")

        async def broken(account: int) -> None:
            raise RuntimeError("script store unreachable")

        server.kernel.store.sieve.active = broken  # type: ignore[method-assign]
        with sieve_log() as records:
            assert await server.send(message("still here"), [ANN]) == {}
        assert len(await server.folder(ANN)) == 1
        (error,) = events(records, "sieve-error")
        assert error == {"stage": "delivery", "result": "no opinion"}
