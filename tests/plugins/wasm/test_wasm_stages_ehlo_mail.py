"""The optional ``on_ehlo`` and ``on_mail`` entry points (added within ABI version 1):
wired to the SMTP EHLO and MAIL stage hooks, end to end over a real socket with
smtplib; modules without them keep loading and running as before."""

from __future__ import annotations

import shutil
import smtplib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio
from wasm_support import EXAMPLES, IMPORT_ACTION, wat

import plugins.smtp.plugin
import plugins.wasm.plugin
from kernel import Kernel
from kernel.testing import listener_address, run_kernel
from plugins.wasm.abi import ENTRY_POINTS, STAGES
from plugins.wasm.context import CallInput
from plugins.wasm.sandbox import Limits, Sandbox

# Adds "X-Helo: <the name being given>" at EHLO and "X-Stage: <STAGE field>" at MAIL.
ECHO = wat(
    """(data (i32.const 64) "X-Helo") (data (i32.const 80) "X-Stage")
       (func $add (param $name i32) (param $len i32) (param $v i64)
         (drop (call $action (i32.const 7) (i32.const 0) (local.get $name) (local.get $len)
                (i32.wrap_i64 (i64.shr_u (local.get $v) (i64.const 32)))
                (i32.wrap_i64 (local.get $v)))))
       (func (export "on_ehlo") (result i32)
         (call $add (i32.const 64) (i32.const 6) (call $envelope (i32.const 3) (i32.const 0)))
         (i32.const 0))
       (func (export "on_mail") (result i32)
         (call $add (i32.const 80) (i32.const 7) (call $envelope (i32.const 9) (i32.const 0)))
         (i32.const 0))""",
    imports=IMPORT_ACTION
    + '(import "stalwart" "envelope" (func $envelope (param i32 i32) (result i64)))',
)
# A module of the first ABI release: only on_rcpt, refusing recipients starting with b.
RCPT_ONLY = wat(
    """(data (i32.const 64) "no bob")
       (func (export "on_rcpt") (result i32) (local $v i64)
         (local.set $v (call $envelope (i32.const 1) (i32.const 0)))
         (if (i32.eq (i32.load8_u (i32.wrap_i64 (i64.shr_u (local.get $v) (i64.const 32))))
                     (i32.const 98))  ;; "b..."
           (then (drop (call $action (i32.const 4) (i32.const 0) (i32.const 64) (i32.const 6)
                                     (i32.const 0) (i32.const 0)))))
         (i32.const 0))""",
    imports=IMPORT_ACTION
    + '(import "stalwart" "envelope" (func $envelope (param i32 i32) (result i64)))',
)


@dataclass
class Server:
    kernel: Kernel
    ann: int

    async def inbox(self) -> list[bytes]:
        store = self.kernel.store
        found = await store.mailboxes.by_path(self.ann, "INBOX")
        assert found is not None
        members = await store.emails.in_mailbox(self.ann, found.id)
        return [await store.emails.raw(self.ann, m.email) for m in members]


@asynccontextmanager
async def server(tmp_path: Path, modules: dict[str, Any]) -> AsyncIterator[Server]:
    conf = {
        "server": {"hostname": "mx.example.org"},
        "listeners": {
            "mta": {"bind": "127.0.0.1:0", "protocol": "smtp", "role": "mta", "tls": "none"}
        },
        "wasm": {"modules": modules},
        "smtp": {"queue": {"enabled": False}},
    }
    loaded = {"smtp": plugins.smtp.plugin, "wasm": plugins.wasm.plugin}
    async with run_kernel(
        tmp_path, plugins=loaded, names=["directory", "smtp", "wasm"], config=conf
    ) as kernel:
        await kernel.store.directory.add_domain("example.org")
        ann = await kernel.store.directory.add_account("ann@example.org", "ann-secret")
        await kernel.store.directory.add_account("bob@example.org", "bob-secret")
        yield Server(kernel, ann.id)


def _module(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_wasm_stages_entry_points_are_optional() -> None:
    assert STAGES == ("connect", "ehlo", "mail", "rcpt", "data", "delivery")
    assert ENTRY_POINTS["ehlo"] == "on_ehlo" and ENTRY_POINTS["mail"] == "on_mail"
    sandbox = Sandbox()
    old = sandbox.compile_bytes(RCPT_ONLY.encode(), text=True)
    assert old.stages == ("rcpt",)
    echo = sandbox.compile_bytes(ECHO.encode(), text=True)
    assert echo.stages == ("ehlo", "mail")
    bad = wat('(func (export "on_mail") (param i32) (result i32) (i32.const 0))')
    with pytest.raises(ValueError, match="on_mail must be a function"):
        sandbox.compile_bytes(bad.encode(), text=True)


def test_wasm_stages_ehlo_and_mail_allow_only_smtp_time_actions() -> None:
    # fileinto (kind 2) is for delivery; at ehlo and mail it answers WRONG_STAGE (-4).
    probe = wat(
        """(data (i32.const 64) "X")
           (func (export "on_mail") (result i32)
             (if (i32.ne (call $action (i32.const 2) (i32.const 0) (i32.const 64) (i32.const 1)
                                       (i32.const 0) (i32.const 0)) (i32.const -4))
               (then unreachable))
             (i32.const 0))"""
    )
    sandbox = Sandbox()
    compiled = sandbox.compile_bytes(probe.encode(), text=True)
    outcome = sandbox.call(compiled, "probe", "mail", CallInput("mail", {}), Limits())
    assert outcome.error is None and outcome.actions == ()


async def test_wasm_stages_helo_policy_over_smtp(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(EXAMPLES / "helo_policy.wat", rules)
    modules = {
        "helo": {"path": str(rules / "helo_policy.wat")},
        "echo": {"path": _module(tmp_path, "echo.wat", ECHO), "stages": ["ehlo", "mail"]},
        "legacy": {"path": _module(tmp_path, "rcpt_only.wat", RCPT_ONLY)},
    }
    async with server(tmp_path, modules) as srv:
        host, port = listener_address(srv.kernel, "mta")

        def client() -> list[tuple[int, bytes]]:
            replies = []
            with smtplib.SMTP(host, port, local_hostname="localhost", timeout=15) as smtp:
                # A name without a dot is refused at EHLO by helo_policy.
                replies.append(smtp.ehlo("localhost"))
                replies.append(smtp.ehlo("[127.0.0.1]"))
                replies.append(smtp.ehlo("client.example"))
                # The null reverse-path is marked at MAIL.
                smtp.sendmail("", ["ann@example.org"], b"Subject: bounce\r\n\r\nhi\r\n")
                smtp.sendmail("carol@remote.example", ["ann@example.org"], b"Subject: x\r\n\r\n")
                # The module without the new entry points still refuses at RCPT.
                with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                    smtp.sendmail(
                        "carol@remote.example", ["bob@example.org"], b"Subject: y\r\n\r\n"
                    )
                (code, text) = refused.value.recipients["bob@example.org"]
                replies.append((code, text))
            return replies

        refused_helo, literal, good, bob = await trio.to_thread.run_sync(client)
        assert refused_helo == (550, b"HELO must be a domain name")
        assert literal[0] == 250 and good[0] == 250
        assert bob[0] == 550 and b"no bob" in bob[1]
        bounce, plain = await srv.inbox()
        # Accepted EHLO edits apply to the session's messages; MAIL's to the transaction.
        assert b"X-Null-Sender: yes\r\n" in bounce and b"X-Null-Sender" not in plain
        for stored in (bounce, plain):
            assert b"X-Helo: client.example\r\n" in stored and b"X-Stage: mail\r\n" in stored
            assert b"X-Helo: [127.0.0.1]" not in stored  # replaced by the later EHLO
