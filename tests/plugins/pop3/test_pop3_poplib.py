"""Every command and response code through Python's ``poplib``, the client of record."""

from __future__ import annotations

import poplib
from pathlib import Path

import pytest
import trio
from pop3_support import PASSWORD, USER, message, pop3_server

from kernel.errors import StoreError
from plugins.pop3.ops.login import LAST_LOGINS

UTF8_MESSAGE = "Subject: Grüße\r\n\r\nHallo\r\n".encode()


async def test_poplib_every_command(tmp_path: Path) -> None:
    async with pop3_server(tmp_path) as server:
        raws = [message(1, b"one\r\ntwo\r\n"), message(2), UTF8_MESSAGE]
        emails = [await server.deliver(raw) for raw in raws]

        def session(client: poplib.POP3) -> dict[str, object]:
            out: dict[str, object] = {"capa": client.capa(), "utf8": client.utf8()}
            client.user(USER)
            out["pass"] = client.pass_(PASSWORD)
            out["stat"] = client.stat()
            out["list"] = client.list()[1]
            out["uidl"] = client.uidl()[1]
            out["top"] = client.top(1, 1)[1]
            out["retr"] = client.retr(3)[1]  # UTF-8 mode is on
            out["dele"] = client.dele(1)
            out["noop"] = client.noop()
            out["rset"] = client.rset()
            out["dele2"] = client.dele(2)
            out["quit"] = client.quit()
            return out

        out = await server.poplib(session, login=False)
        assert {"TOP", "UIDL", "USER", "SASL", "PIPELINING", "UTF8"} <= set(out["capa"])  # type: ignore[arg-type]
        assert out["utf8"] == b"+OK UTF-8 mode enabled"
        assert out["pass"] == b"+OK maildrop has 3 messages (%d octets)" % sum(map(len, raws))
        assert out["stat"] == (3, sum(map(len, raws)))
        assert out["list"] == [b"%d %d" % (n, len(r)) for n, r in enumerate(raws, start=1)]
        assert len(out["uidl"]) == 3  # type: ignore[arg-type]
        assert out["top"][-2:] == [b"", b"one"]  # type: ignore[index]
        assert out["retr"][0] == "Subject: Grüße".encode()  # type: ignore[index]
        assert out["dele"] == b"+OK message 1 deleted"
        assert out["noop"] == b"+OK"
        assert out["rset"] == b"+OK maildrop has 3 messages (%d octets)" % sum(map(len, raws))
        assert out["quit"] == b"+OK Bye (2 messages left)"
        assert await server.inbox_emails() == [emails[0], emails[2]]


async def test_poplib_response_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"pop3": {"login_delay": "1h"}}
    async with pop3_server(tmp_path, config) as server:
        await server.deliver(UTF8_MESSAGE)

        def login(password: str) -> None:
            client = poplib.POP3(server.host, server.port, timeout=30)
            try:
                client.user(USER)
                client.pass_(password)
            finally:
                client.close()

        def error(password: str = PASSWORD) -> str:
            with pytest.raises(poplib.error_proto) as info:
                login(password)
            return str(info.value.args[0], "ascii")

        assert (await trio.to_thread.run_sync(error, "wrong")).startswith("-ERR [AUTH] ")
        # [UTF8]: RETR of a message that needs UTF-8 mode, outside it.
        with pytest.raises(poplib.error_proto, match=r"-ERR \[UTF8\]"):
            await server.poplib(lambda c: c.retr(1))
        # [LOGIN-DELAY]: that login was less than an hour ago.
        assert (await trio.to_thread.run_sync(error)).startswith("-ERR [LOGIN-DELAY] ")
        del server.kernel.stash[LAST_LOGINS]  # the delay is kept per process: forget it
        # [IN-USE]: another session holds the maildrop.
        assert await server.kernel.store.maildrop.acquire(server.account, "other", 60)
        assert (await trio.to_thread.run_sync(error)).startswith("-ERR [IN-USE] ")
        # [SYS/TEMP]: the directory cannot be asked.

        async def down(credentials: object) -> None:
            await trio.lowlevel.checkpoint()
            raise StoreError("unreachable")

        monkeypatch.setattr(server.kernel, "authenticate", down)
        assert (await trio.to_thread.run_sync(error)).startswith("-ERR [SYS/TEMP] ")
