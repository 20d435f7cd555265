"""The session end to end over a real socket: greeting, login, states, limits, errors."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trio

from plugins.imap.testing import PASSWORD, USER, Transcript, imap_server


async def test_session_greeting_login_select_logout(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        assert t.greeting.startswith(b"* OK [CAPABILITY IMAP4rev1 IMAP4rev2")
        assert b"AUTH=PLAIN" in t.greeting
        res = await t.transact("CAPABILITY")
        assert res.lines(b"CAPABILITY")
        await t.transact("SELECT INBOX", expect="bad")  # not authenticated yet
        res = await t.transact(f"LOGIN {USER} {PASSWORD}")
        assert b"[CAPABILITY " in res.tagged
        res = await t.transact("SELECT INBOX")
        assert b"* 0 EXISTS" in res.untagged
        assert b"[READ-WRITE]" in res.tagged
        res = await t.transact("LOGOUT")
        assert res.lines(b"BYE")


async def _tls(t: Transcript) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    stream = trio.SSLStream(t.stream, context, server_hostname="localhost")
    await stream.do_handshake()
    t.stream = stream


async def test_session_starttls_then_login(tmp_path: Path) -> None:
    server = imap_server(tmp_path, plaintext=False, tls="starttls")
    async with server as kernel, await Transcript.connect(kernel) as t:
        assert b"STARTTLS" in t.greeting and b"LOGINDISABLED" in t.greeting
        await t.transact("STARTTLS")
        await _tls(t)
        res = await t.transact("CAPABILITY")
        caps = res.lines(b"CAPABILITY")[0]
        assert b"STARTTLS" not in caps and b"LOGINDISABLED" not in caps
        assert b"AUTH=PLAIN" in caps
        await t.transact(f"LOGIN {USER} {PASSWORD}")
        await t.transact("STARTTLS", expect="bad")


async def test_session_starttls_drops_pipelined_plaintext(tmp_path: Path) -> None:
    """RFC 9051 §6.2.1: commands sent after STARTTLS before the handshake are dropped."""
    server = imap_server(tmp_path, tls="starttls")
    async with server as kernel, await Transcript.connect(kernel) as t:
        await t.send(f"a1 STARTTLS\r\na2 LOGIN {USER} {PASSWORD}\r\n".encode())
        assert (await t.read_response()).startswith(b"a1 OK")
        await _tls(t)
        res = await t.transact("NOOP")  # a2 was never run: only NOOP answers
        assert res.untagged == []
        await t.transact("SELECT INBOX", expect="bad")  # still not logged in


async def test_session_bad_input_never_drops_the_connection(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await t.send(b"\r\n")
        assert (await t.read_response()).startswith(b"* BAD")
        await t.transact("FROB", expect="bad")
        await t.transact("LOGIN", expect="bad")
        await t.send(b"x" * 70000 + b"\r\n")
        assert b"TOOBIG" in await t.read_response()
        await t.transact(f"LOGIN {USER} {PASSWORD}")
        await t.transact("FETCH 1 FLAGS", expect="bad")  # no mailbox selected
        await t.transact("SELECT INBOX")
        await t.transact("FETCH 1 FLAGS", expect="bad")  # no message 1
        await t.transact("FETCH 1:* (BODY[1.2.3]<0.10>)")  # nothing to fetch: OK
        await t.transact("UID FETCH 99 FLAGS")
        await t.transact("STORE 1 +FLAGS (\\Recent)", expect="bad")
        await t.transact('SEARCH CHARSET KOI8-R TEXT "x"', expect="no")
        await t.transact("SELECT nosuch", expect="no")
        await t.transact("FETCH 1:* FLAGS", expect="bad")  # the failed SELECT closed INBOX
        await t.transact("ENABLE IMAP4rev2")
        await t.transact("NOOP")


async def test_session_unauthenticated_timeout_says_bye(tmp_path: Path) -> None:
    server = imap_server(tmp_path, imap={"timeouts": {"unauthenticated": "200ms"}})
    async with server as kernel, await Transcript.connect(kernel) as t:
        assert (await t.read_response()).startswith(b"* BYE")


async def test_session_config_rejects_short_autologout(tmp_path: Path) -> None:
    from kernel.errors import ConfigError

    with pytest.raises(ConfigError, match="30m"):
        async with imap_server(tmp_path, imap={"timeouts": {"authenticated": "5m"}}):
            pass


async def test_session_idle_timeout_says_bye(tmp_path: Path) -> None:
    server = imap_server(tmp_path, imap={"timeouts": {"idle": "200ms"}})
    async with server as kernel, await Transcript.connect(kernel) as t:
        await t.transact(f"LOGIN {USER} {PASSWORD}")
        await t.transact("SELECT INBOX")
        await t.send(b"i1 IDLE\r\n")
        assert (await t.read_response()).startswith(b"+")
        assert (await t.read_response()).startswith(b"* BYE")


async def test_session_selected_mailbox_deleted_elsewhere(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        a = await Transcript.connect(kernel)
        b = await Transcript.connect(kernel)
        async with a, b:
            for t in (a, b):
                await t.transact(f"LOGIN {USER} {PASSWORD}")
            await a.transact("CREATE Doomed")
            await b.transact("SELECT Doomed")
            await a.transact("DELETE Doomed")
            await b.send(b"n1 NOOP\r\n")
            assert (await b.read_response()).startswith(b"* BYE")
            # Deleting the mailbox one has selected just closes it.
            await a.transact("CREATE Mine")
            await a.transact("SELECT Mine")
            res = await a.transact("DELETE Mine")
            assert res.untagged == [b"* OK [CLOSED] Mailbox closed"]
            await a.transact("FETCH 1:* FLAGS", expect="bad")


async def test_session_internal_error_is_no_serverbug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plugins.imap import dispatch
    from plugins.imap.proto import commands

    async def broken(session: object, cmd: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setitem(dispatch.OPS, commands.Namespace, broken)
    async with imap_server(tmp_path) as kernel, await Transcript.connect(kernel) as t:
        await t.transact(f"LOGIN {USER} {PASSWORD}")
        res = await t.transact("NAMESPACE", expect="no")
        assert b"[SERVERBUG]" in res.tagged
        await t.transact("NOOP")


async def test_session_kernel_drain_says_bye_at_once(tmp_path: Path) -> None:
    async with imap_server(tmp_path) as kernel:
        t = await Transcript.connect(kernel)
        await t.transact(f"LOGIN {USER} {PASSWORD}")
        kernel.request_stop()
        with trio.fail_after(3):  # well before the 5 s shutdown_timeout of tests
            assert await t.read_response() == b"* BYE [UNAVAILABLE] Server shutting down"
        await t.stream.aclose()
