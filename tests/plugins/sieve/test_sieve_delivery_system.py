"""System scripts at the SMTP RCPT and DATA stages, compiled at start and on reload."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest
from sieve_delivery_support import ANN, BOB, events, message, sieve_log, sieve_server

from kernel.errors import ConfigError

RCPT_SCRIPT = """
require ["envelope", "reject", "editheader"];
if envelope :all :is "to" "bob@example.org" { reject "bob is away for good"; }
addheader "X-Rcpt-Checked" "yes";
"""

DATA_SCRIPT = """
require ["editheader", "fileinto", "reject"];
addheader "X-System" "checked";
deleteheader "X-Internal";
if header :contains "subject" "viagra" { fileinto "Junk"; }
if header :contains "subject" "virus" { reject "infected attachment"; }
"""


async def test_sieve_system_rcpt_script_refuses_recipient(tmp_path: Path) -> None:
    path = tmp_path / "rcpt.sieve"
    path.write_text(RCPT_SCRIPT)
    async with sieve_server(tmp_path, {"system": {"rcpt": str(path)}}) as server:
        refused = await server.send(message("to both"), [ANN, BOB])
        assert list(refused) == [BOB]
        code, text = refused[BOB]
        assert code == 550 and b"5.7.1 bob is away for good" in text
        ((_, raw),) = await server.folder(ANN)
        assert b"X-Rcpt-Checked: yes\r\n" in raw
        assert await server.folder(BOB) == []


async def test_sieve_system_data_script_edits_quarantines_and_rejects(tmp_path: Path) -> None:
    path = tmp_path / "data.sieve"
    path.write_text(DATA_SCRIPT)
    async with sieve_server(tmp_path, {"system": {"data": str(path)}}) as server:
        plain = message("hello", extra="X-Internal: secret\r\n")
        assert await server.send(plain, [ANN, BOB]) == {}
        for user in (ANN, BOB):
            ((_, raw),) = await server.folder(user)
            assert b"X-System: checked\r\n" in raw and b"X-Internal" not in raw
        assert await server.send(message("cheap viagra", message_id="<2@x>"), [ANN]) == {}
        junk = await server.folder(ANN, "Junk")
        assert len(junk) == 1 and b"Subject: cheap viagra" in junk[0][1]
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await server.send(message("a virus", message_id="<3@x>"), [ANN])
        assert refused.value.smtp_code == 550
        assert b"infected attachment" in refused.value.smtp_error
        assert len(await server.folder(ANN)) == 1


async def test_sieve_system_script_runs_before_user_script(tmp_path: Path) -> None:
    path = tmp_path / "data.sieve"
    path.write_text(DATA_SCRIPT)
    async with sieve_server(tmp_path, {"system": {"data": str(path)}}) as server:
        # The user's script does not see the system's header edits (they apply to the
        # stored copy), but both take effect.
        await server.install(ANN, 'require "fileinto"; fileinto "Archive";')
        assert await server.send(message("both"), [ANN]) == {}
        ((_, raw),) = await server.folder(ANN, "Archive")
        assert b"X-System: checked" in raw


async def test_sieve_system_script_reload(tmp_path: Path) -> None:
    path = tmp_path / "data.sieve"
    path.write_text('require "reject"; if header :contains "subject" "one" { reject "no one"; }')
    async with sieve_server(tmp_path, {"system": {"data": str(path)}}) as server:
        with pytest.raises(smtplib.SMTPDataError):
            await server.send(message("one"), [ANN])
        # A broken script on reload: logged, the previous one stays in force.
        path.write_text('reject "missing require";')
        with sieve_log() as records:
            result = await server.kernel.reload()
        assert result.ok
        (failed,) = events(records, "sieve-system-script-failed")
        assert failed["stage"] == "data"
        with pytest.raises(smtplib.SMTPDataError):
            await server.send(message("one"), [ANN])
        # A fixed script on reload replaces it.
        path.write_text('require "reject"; if header :contains "subject" "two" { reject "no"; }')
        assert (await server.kernel.reload()).ok
        assert await server.send(message("one"), [ANN]) == {}
        with pytest.raises(smtplib.SMTPDataError):
            await server.send(message("two"), [ANN])


async def test_sieve_system_script_broken_at_start(tmp_path: Path) -> None:
    path = tmp_path / "rcpt.sieve"
    path.write_text('fileinto "x";')
    with pytest.RaisesGroup(
        pytest.RaisesExc(ConfigError, match="sieve.system.rcpt"),
        flatten_subgroups=True,
        allow_unwrapped=True,
    ):
        async with sieve_server(tmp_path, {"system": {"rcpt": str(path)}}):
            pass


async def test_sieve_system_script_error_accepts(tmp_path: Path) -> None:
    path = tmp_path / "data.sieve"
    path.write_text('require "ihave"; error "system script broke";')
    async with sieve_server(tmp_path, {"system": {"data": str(path)}}) as server:
        with sieve_log() as records:
            assert await server.send(message("fine"), [ANN]) == {}
        assert len(await server.folder(ANN)) == 1
        (error,) = events(records, "sieve-error")
        assert "system script broke" in str(error["error"])
