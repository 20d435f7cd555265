"""The stage hooks' callables: calls run in worker threads (the trio loop keeps
going while a module runs), and stages without modules cost nothing."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import trio
from wasm_support import LogCapture, wat

from kernel.pipeline import DeliveryTarget, Envelope, SessionInfo
from kernel.stash import Stash
from plugins.wasm import plugin

SESSION = SessionInfo("c1", "smtp", "mta", "mta", ("192.0.2.7", 4000), ("127.0.0.1", 25))


def fake_kernel(modules: dict[str, Any], **overrides: Any) -> Any:
    section = {
        "modules": modules,
        "tables": {},
        "fuel": 10_000_000,
        "memory": 16 * 2**20,
        "timeout": 1.0,
        "max_actions": 64,
        "on_error": "keep",
        "score_header": "X-Rule-Score",
        "max_text": 2**20,
        "max_concurrent_calls": 2,
        **overrides,
    }
    return SimpleNamespace(config={"wasm": section}, stash=Stash())


async def test_wasm_plugin_slow_module_does_not_block_the_loop(
    tmp_path: Path, wasm_log: LogCapture
) -> None:
    slow = tmp_path / "slow.wat"
    slow.write_text(
        wat('(func (export "on_connect") (result i32) (loop $l (br $l)) (i32.const 0))')
    )
    kernel = fake_kernel({"slow": {"path": str(slow), "fuel": 10**15, "timeout": 0.3}})
    judge = plugin.stalwart_inbound_connect(kernel=kernel, session=SESSION)
    assert judge is not None
    order: list[str] = []

    async def run_judge() -> None:
        assert await judge() is None  # the timeout is a logged keep
        order.append("judged")

    async def other_task() -> None:
        await trio.sleep(0)
        order.append("loop ran")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_judge)
        nursery.start_soon(other_task)
    assert order == ["loop ran", "judged"]
    [failed] = wasm_log.events("wasm-call-failed")
    assert failed["error"] == "timeout" and failed["stage"] == "connect"


async def test_wasm_plugin_stages_without_modules_return_none(tmp_path: Path) -> None:
    kernel = fake_kernel({})
    assert plugin.stalwart_inbound_connect(kernel=kernel, session=SESSION) is None
    rule = tmp_path / "rcpt_only.wat"
    rule.write_text(wat('(func (export "on_rcpt") (result i32) (i32.const 0))'))
    kernel = fake_kernel({"r": {"path": str(rule)}})
    # Not compiled yet: the stage cannot know, so it asks (and learns the exports).
    judge = plugin.stalwart_inbound_connect(kernel=kernel, session=SESSION)
    assert judge is not None and await judge() is None
    assert plugin.stalwart_inbound_connect(kernel=kernel, session=SESSION) is None
    disabled = fake_kernel({"r": {"path": str(rule), "enabled": False}})
    assert plugin.stalwart_inbound_connect(kernel=disabled, session=SESSION) is None


async def test_wasm_plugin_startup_precompiles(tmp_path: Path, wasm_log: LogCapture) -> None:
    rule = tmp_path / "rule.wat"
    rule.write_text(wat('(func (export "on_data") (result i32) (i32.const 0))'))
    kernel = fake_kernel({"r": {"path": str(rule)}, "gone": {"path": str(tmp_path / "x.wasm")}})
    start = plugin.stalwart_startup(kernel=kernel)
    assert start is not None
    async with trio.open_nursery() as nursery:
        await nursery.start(start)
    assert plugin.registry(kernel).cached_stages(rule) == ("data",)
    [unavailable] = wasm_log.events("wasm-module-unavailable")
    assert unavailable["module"] == "gone"


class FakeQueue:
    """Records what would be queued (the real queue is kernel.store.queue)."""

    def __init__(self) -> None:
        self.queued: list[tuple[bytes, str, list[str]]] = []

    async def enqueue(self, raw: bytes, return_path: str, recipients: list[str]) -> int:
        await trio.lowlevel.checkpoint()
        self.queued.append((raw, return_path, recipients))
        return len(self.queued)


def redirecting(copy: int) -> str:
    return wat(
        f"""(data (i32.const 64) "boss@example.net")
           (func (export "on_delivery") (result i32)
             (drop (call $action (i32.const 6) (i32.const {copy}) (i32.const 64) (i32.const 16)
                                 (i32.const 0) (i32.const 0)))
             (i32.const 0))"""
    )


async def _deliver(kernel: Any, message: bytes) -> Any:
    envelope = Envelope("Q7", "carol@remote.example", ("ann@example.org",))
    target = DeliveryTarget("ann@example.org", "ann@example.org", 1)
    judge = plugin.stalwart_before_delivery(
        kernel=kernel, session=SESSION, envelope=envelope, delivery=target, message=message
    )
    assert judge is not None
    return await judge()


async def test_wasm_plugin_redirect_goes_to_the_queue(tmp_path: Path, wasm_log: LogCapture) -> None:
    rule = tmp_path / "redirect.wat"
    rule.write_text(redirecting(copy=0))
    kernel = fake_kernel({"fwd": {"path": str(rule)}})
    queue = FakeQueue()
    kernel.store = SimpleNamespace(queue=queue)
    kernel.hostname = "mx.example.org"
    message = b"Subject: report\r\n\r\nbody\r\n"
    verdict = await _deliver(kernel, message)
    # RFC 5228 §4.2: redirect cancels the implicit keep: no local copy.
    assert verdict is not None and verdict.filings == ()
    [(raw, sender, recipients)] = queue.queued
    assert sender == "carol@remote.example" and recipients == ["boss@example.net"]
    assert raw.startswith(b"Received: by mx.example.org (wasm rule fwd) for <boss@example.net>;")
    assert raw.endswith(b"\r\n" + message)
    [event] = wasm_log.events("wasm-redirect")
    assert event["carried_out"] is True and event["queued"] == 1
    # With :copy the implicit keep stays.
    rule.write_text(redirecting(copy=1) + " ")
    assert await _deliver(kernel, message) is None
    assert len(queue.queued) == 2


async def test_wasm_plugin_redirect_without_queue_keeps(
    tmp_path: Path, wasm_log: LogCapture
) -> None:
    rule = tmp_path / "redirect.wat"
    rule.write_text(redirecting(copy=0))
    kernel = fake_kernel({"fwd": {"path": str(rule)}})
    assert await _deliver(kernel, b"Subject: x\r\n\r\n") is None  # kept: nothing is lost
    [event] = wasm_log.events("wasm-redirect")
    assert event["carried_out"] is False


async def test_wasm_plugin_reloaded_config_applies(tmp_path: Path) -> None:
    def scorer(points: int) -> Path:
        path = tmp_path / f"score{points}.wat"
        path.write_text(
            wat(
                f"""(func (export "on_connect") (result i32)
                   (drop (call $action (i32.const 12) (i32.const {points}) (i32.const 0)
                                       (i32.const 0) (i32.const 0) (i32.const 0)))
                   (i32.const 0))"""
            )
        )
        return path

    kernel = fake_kernel({"a": {"path": str(scorer(1))}})
    judge = plugin.stalwart_inbound_connect(kernel=kernel, session=SESSION)
    assert (await judge()).add_headers == (("X-Rule-Score", "1"),)
    # A reload swaps in a new configuration object: new modules, new header name.
    kernel.config = fake_kernel({"b": {"path": str(scorer(2))}}, score_header="X-S").config
    judge = plugin.stalwart_inbound_connect(kernel=kernel, session=SESSION)
    assert (await judge()).add_headers == (("X-S", "2"),)
