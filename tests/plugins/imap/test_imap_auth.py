"""LOGIN, AUTHENTICATE (with and without SASL-IR), LOGINDISABLED, failure limits."""

from __future__ import annotations

import base64
import imaplib
from pathlib import Path

import trio

from kernel.testing import listener_address
from plugins.imap.testing import PASSWORD, USER, Transcript, imap_server


def _plain(user: str = USER, password: str = PASSWORD) -> str:
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


async def test_auth_authenticate_plain_with_initial_response(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        res = await t.transact(f"AUTHENTICATE PLAIN {_plain()}")
        assert b"[CAPABILITY " in res.tagged
        await t.transact("LOGIN x y", expect="bad")  # already authenticated


async def test_auth_authenticate_plain_with_continuation(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await t.send(b"a1 AUTHENTICATE PLAIN\r\n")
        assert await t.read_response() == b"+ "
        await t.send(_plain().encode() + b"\r\n")
        assert (await t.read_response()).startswith(b"a1 OK")


async def test_auth_cancel_and_garbage_are_bad(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await t.send(b"a1 AUTHENTICATE PLAIN\r\n")
        assert await t.read_response() == b"+ "
        await t.send(b"*\r\n")
        assert (await t.read_response()).startswith(b"a1 BAD")
        await t.send(b"a2 AUTHENTICATE PLAIN\r\n")
        await t.read_response()
        await t.send(b"!!not base64!!\r\n")
        assert (await t.read_response()).startswith(b"a2 BAD")
        res = await t.transact("AUTHENTICATE NOSUCH", expect="no")
        assert res.tagged.startswith(b"t1 NO")


async def test_auth_wrong_password_and_failure_limit(tmp_path: Path) -> None:
    limited = imap_server(tmp_path, imap={"max_auth_failures": 2})
    async with limited as kernel, await Transcript.connect(kernel) as t:
        res = await t.transact(f"LOGIN {USER} wrong", expect="no")
        assert b"[AUTHENTICATIONFAILED]" in res.tagged
        await t.send(b"a2 LOGIN ann@example.org wrong\r\n")
        assert (await t.read_response()).startswith(b"a2 NO")
        assert (await t.read_response()).startswith(b"* BYE")


async def test_auth_logindisabled_without_tls(tmp_path: Path) -> None:
    server = imap_server(tmp_path, plaintext=False)
    async with server as kernel, await Transcript.connect(kernel) as t:
        assert b"LOGINDISABLED" in t.greeting and b"AUTH=PLAIN" not in t.greeting
        res = await t.transact(f"LOGIN {USER} {PASSWORD}", expect="no")
        assert b"[PRIVACYREQUIRED]" in res.tagged


async def test_auth_imaplib_login(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        host, port = listener_address(kernel, "imap")

        def run() -> list[str]:
            client = imaplib.IMAP4(host, port, timeout=15)
            try:
                client.login(USER, PASSWORD)
                caps = list(client.capabilities)
                client.authenticate  # noqa: B018 - the attribute exists
            finally:
                client.logout()
            client = imaplib.IMAP4(host, port, timeout=15)
            try:
                client.authenticate("PLAIN", lambda _: f"\0{USER}\0{PASSWORD}".encode())
            finally:
                client.logout()
            return caps

        caps = await trio.to_thread.run_sync(run)
        assert "IDLE" in caps and "UIDPLUS" in caps
