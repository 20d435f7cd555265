"""End to end over SMTP: modules from config refuse, score and file real mail, and
a replaced module file is used for the next message."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from wasm_support import EXAMPLES, IMPORT_ACTION, LogCapture, wat

import plugins.smtp.plugin
import plugins.wasm.plugin
from kernel import Kernel
from kernel.testing import listener_address, run_kernel
from plugins.smtp.testing import SmtpClient

TABLES = {
    "blocked_domains": ["spam.example"],
    "list_folders": {"python-list.python.org": "Lists/Python"},
}


def wasm_config(rules: Path, extra_modules: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every example rule, a broken one, and a redirect of "forward me" mail."""
    modules = {
        "blocklist": {"path": str(rules / "block_senders.wat"), "stages": ["rcpt"]},
        "broken": {"path": str(rules / "broken.wat"), "on_error": "keep"},
        "executables": {"path": str(rules / "block_executables.wat")},
        "score": {"path": str(rules / "body_score.wat"), "score_header": "X-Spam-Points"},
        "lists": {"path": str(rules / "list_folder.wat")},
        "forward": {"path": str(rules / "forward.wat")},
        **(extra_modules or {}),
    }
    return {
        "server": {"hostname": "mx.example.org"},
        "listeners": {
            "mta": {"bind": "127.0.0.1:0", "protocol": "smtp", "role": "mta", "tls": "none"}
        },
        "wasm": {"modules": modules, "tables": TABLES},
        # Queue, but do not deliver: the redirect test reads the queue.
        "smtp": {"queue": {"enabled": False}},
    }


BROKEN = wat('(func (export "on_data") (result i32) unreachable)')
# Redirects copies whose Subject is "forward me" to boss@example.net.
FORWARD = wat(
    """(data (i32.const 64) "Subject") (data (i32.const 80) "boss@example.net")
       (func (export "on_delivery") (result i32) (local $v i64)
         (local.set $v (call $header (i32.const 64) (i32.const 7) (i32.const 0)))
         (if (i64.eq (i64.and (local.get $v) (i64.const 0xffffffff)) (i64.const 10))
           (then (drop (call $action (i32.const 6) (i32.const 0) (i32.const 80) (i32.const 16)
                                     (i32.const 0) (i32.const 0)))))
         (i32.const 0))""",
    imports=IMPORT_ACTION
    + '(import "stalwart" "header" (func $header (param i32 i32 i32) (result i64)))',
)


@dataclass
class Server:
    kernel: Kernel
    ann: int

    async def mailbox(self, name: str = "INBOX") -> list[bytes]:
        store = self.kernel.store
        found = await store.mailboxes.by_path(self.ann, name)
        if found is None:
            return []
        members = await store.emails.in_mailbox(self.ann, found.id)
        return [await store.emails.raw(self.ann, m.email) for m in members]


@asynccontextmanager
async def server(
    tmp_path: Path, extra_modules: dict[str, Any] | None = None
) -> AsyncIterator[Server]:
    rules = tmp_path / "rules"
    rules.mkdir()
    for name in ("block_senders", "block_executables", "body_score", "list_folder"):
        shutil.copy(EXAMPLES / f"{name}.wat", rules)
    (rules / "broken.wat").write_text(BROKEN)
    (rules / "forward.wat").write_text(FORWARD)
    loaded = {"smtp": plugins.smtp.plugin, "wasm": plugins.wasm.plugin}
    conf = wasm_config(rules, extra_modules)
    async with run_kernel(
        tmp_path, plugins=loaded, names=["directory", "smtp", "wasm"], config=conf
    ) as kernel:
        await kernel.store.directory.add_domain("example.org")
        ann = await kernel.store.directory.add_account("ann@example.org", "ann-secret")
        yield Server(kernel, ann.id)


async def send(smtp: SmtpClient, sender: str, message: bytes, data_code: int = 250) -> list[str]:
    await smtp.transact(f"MAIL FROM:<{sender}>", 250)
    await smtp.transact("RCPT TO:<ann@example.org>", 250)
    await smtp.transact("DATA", 354)
    await smtp.send(message + b".\r\n")
    code, lines = await smtp.reply()
    assert code == data_code, lines
    return lines


SPAMMY = b"From: x@promo.example\r\nSubject: prize\r\n\r\nYou are a WINNER, free gift!\r\n"
LIST = (
    b"From: l@python.org\r\nList-Id: Python <python-list.python.org>\r\nSubject: rc1\r\n\r\nhi\r\n"
)
EXE = (
    b"From: x@vendor.example\r\nSubject: invoice\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
    b"see attachment\r\n--b\r\nContent-Type: application/octet-stream\r\n"
    b'Content-Disposition: attachment; filename="run.exe"\r\n\r\nMZ\r\n--b--\r\n'
)


async def test_wasm_smtp_rules_refuse_score_and_file(tmp_path: Path, wasm_log: LogCapture) -> None:
    async with server(tmp_path) as srv:
        async with await SmtpClient.connect(*listener_address(srv.kernel, "mta")) as smtp:
            await smtp.expect(220)
            await smtp.transact("EHLO client.example", 250)
            # Blocked sender: refused at RCPT, by the domain's parent.
            await smtp.transact("MAIL FROM:<promo@mail.spam.example>", 250)
            assert await smtp.transact("RCPT TO:<ann@example.org>", 550) == [
                "5.7.1 sender domain is blocked"
            ]
            await smtp.transact("RSET", 250)
            # Scored at DATA (the broken module in between is logged and ignored).
            await send(smtp, "x@promo.example", SPAMMY)
            # Filed by List-Id at delivery, into a folder the rule creates.
            await send(smtp, "l@python.org", LIST)
            # An executable attachment: the whole message refused at DATA.
            lines = await send(smtp, "x@vendor.example", EXE, data_code=550)
            assert lines == ["5.7.1 executable attachments are not accepted"]
            await smtp.transact("QUIT", 221)
        [scored] = await srv.mailbox()
        assert b"\r\nX-Spam-Points: 4\r\n" in scored  # winner 3 + free 1
        [listed] = await srv.mailbox("Lists/Python")
        assert b"X-Spam-Points: 0\r\n" in listed and b"Subject: rc1" in listed
        assert all(b"invoice" not in m for m in [scored, listed])
    failures = wasm_log.events("wasm-call-failed")
    assert {f["module"] for f in failures} == {"broken"} and len(failures) == 3
    assert all(f["error"] == "trap" and f["policy"] == "keep" for f in failures)


async def test_wasm_smtp_replaced_module_is_used_next_call(tmp_path: Path) -> None:
    async with server(tmp_path) as srv:
        rules = tmp_path / "rules"
        registry = plugins.wasm.plugin.registry(srv.kernel)
        async with await SmtpClient.connect(*listener_address(srv.kernel, "mta")) as smtp:
            await smtp.expect(220)
            await smtp.transact("EHLO client.example", 250)
            await send(smtp, "x@promo.example", SPAMMY)
            compiles = registry.compiles
            # Replace the score rule atomically (write, then rename over the old file).
            new = (
                (EXAMPLES / "body_score.wat")
                .read_text()
                .replace("(i32.const 12) (local.get $total)", "(i32.const 12) (i32.const 42)")
            )
            assert "(i32.const 42)" in new
            (rules / "body_score.new").write_text(new)
            os.replace(rules / "body_score.new", rules / "body_score.wat")
            await send(smtp, "x@promo.example", SPAMMY)
            await smtp.transact("QUIT", 221)
        first, second = await srv.mailbox()
        assert b"X-Spam-Points: 4\r\n" in first and b"X-Spam-Points: 42\r\n" in second
        assert registry.compiles == compiles + 1


async def test_wasm_smtp_redirect_is_queued_and_not_kept(tmp_path: Path) -> None:
    async with server(tmp_path) as srv:
        queue = getattr(srv.kernel.store, "queue", None)
        if queue is None:
            pytest.skip("this store has no outbound queue")
        async with await SmtpClient.connect(*listener_address(srv.kernel, "mta")) as smtp:
            await smtp.expect(220)
            await smtp.transact("EHLO client.example", 250)
            await send(smtp, "carol@remote.example", b"Subject: forward me\r\n\r\nhi\r\n")
            await send(smtp, "carol@remote.example", b"Subject: keep me\r\n\r\nhi\r\n")
            await smtp.transact("QUIT", 221)
        [kept] = await srv.mailbox()
        assert b"Subject: keep me" in kept
        [queued] = await queue.list()
        assert queued.return_path == "carol@remote.example"
        assert [r.recipient for r in queued.recipients] == ["boss@example.net"]
        raw = await queue.raw(queued.id)
        assert raw.startswith(b"Received: by mx.example.org (wasm rule forward)")
        assert raw.endswith(b"Subject: forward me\r\n\r\nhi\r\n")


async def test_wasm_smtp_failing_module_with_tempfail_policy(tmp_path: Path) -> None:
    flaky = tmp_path / "flaky.wat"
    flaky.write_text(wat('(func (export "on_rcpt") (result i32) unreachable)'))
    modules = {"flaky": {"path": str(flaky), "on_error": "tempfail"}}
    async with (
        server(tmp_path, modules) as srv,
        await SmtpClient.connect(*listener_address(srv.kernel, "mta")) as smtp,
    ):
        await smtp.expect(220)
        await smtp.transact("EHLO client.example", 250)
        await smtp.transact("MAIL FROM:<carol@remote.example>", 250)
        assert await smtp.transact("RCPT TO:<ann@example.org>", 451) == [
            "4.3.0 mail rules unavailable; try again later"
        ]
        await smtp.transact("QUIT", 221)
