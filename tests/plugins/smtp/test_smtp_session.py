"""Session behaviour over real sockets: simple commands, limits, timeouts, shutdown, config."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from smtp_support import MESSAGE, config, listener, smtp_server

import plugins.smtp.plugin
from kernel import ConfigError, Kernel
from plugins.smtp.testing import SmtpClient


async def test_simple_commands(tmp_path: Path) -> None:
    async with (
        smtp_server(tmp_path) as server,
        await SmtpClient.connect(*server.address()) as smtp,
    ):
        assert await smtp.expect(220) == ["mx.example.org ESMTP ready"]
        await smtp.transact("NOOP", 250)
        # RFC 5321 §3.5.3: VRFY answers 252 and reveals nothing.
        assert (await smtp.transact("VRFY ann", 252))[0].startswith("2.0.0 cannot VRFY")
        await smtp.transact("EXPN staff", 502)
        help_lines = await smtp.transact("HELP", 214)
        assert all(line.startswith("2.0.0 ") for line in help_lines)
        await smtp.transact("EHLO client.example", 250)
        await smtp.transact("MAIL FROM:<>", 250)
        await smtp.transact("RSET", 250)
        await smtp.transact("RCPT TO:<ann@example.org>", 503)
        await smtp.transact("MAIL FROM:<carol@remote.example>", 250)
        await smtp.transact("EHLO client.example", 250)  # ends the transaction too
        await smtp.transact("DATA", 503)
        await smtp.transact("TURN", 502)
        assert await smtp.transact("QUIT", 221) == ["2.0.0 mx.example.org closing"]
        assert await smtp.until_closed() == b""


async def test_idle_timeout_says_421(tmp_path: Path) -> None:
    conf = config(listeners={"mta": listener("mta", limits={"idle_timeout": "200ms"})})
    async with (
        smtp_server(tmp_path, conf) as server,
        await SmtpClient.connect(*server.address()) as smtp,
    ):
        await smtp.expect(220)
        # RFC 5321 §4.5.3.2: the server closes an idle session with 421.
        assert await smtp.expect(421) == ["4.4.2 timeout: closing connection"]
        assert await smtp.until_closed() == b""


async def test_shutdown_closes_idle_sessions_and_lets_transactions_finish(
    tmp_path: Path,
) -> None:
    async with smtp_server(tmp_path) as server:
        idle = await SmtpClient.connect(*server.address())
        busy = await SmtpClient.connect(*server.address())
        async with idle, busy:
            await idle.expect(220)
            await busy.expect(220)
            await busy.transact("EHLO client.example", 250)
            await busy.transact("MAIL FROM:<carol@remote.example>", 250)
            await busy.transact("RCPT TO:<ann@example.org>", 250)
            await busy.transact("DATA", 354)
            server.kernel.request_stop()
            assert await idle.expect(421) == ["4.3.2 server shutting down"]
            await busy.send(MESSAGE + b".\r\n")
            await busy.expect(250)
            assert await busy.expect(421) == ["4.3.2 server shutting down"]
            with trio.fail_after(10):
                await server.kernel.wait_draining()


async def test_connection_rate_limit(tmp_path: Path) -> None:
    conf = config(smtp={"rate_limit": {"connections_per_ip": 2, "window": "1h"}})
    async with smtp_server(tmp_path, conf) as server:
        for _ in range(2):
            async with await SmtpClient.connect(*server.address()) as smtp:
                await smtp.expect(220)
                await smtp.transact("QUIT", 221)
        async with await SmtpClient.connect(*server.address()) as smtp:
            assert await smtp.expect(421) == [
                "4.7.0 too many connections from your address; try again later"
            ]


async def test_message_rate_limit(tmp_path: Path) -> None:
    conf = config(smtp={"rate_limit": {"messages_per_ip": 1, "window": "1h"}})
    async with (
        smtp_server(tmp_path, conf) as server,
        await SmtpClient.connect(*server.address()) as smtp,
    ):
        await smtp.expect(220)
        await smtp.transact("EHLO client.example", 250)
        await smtp.transact("MAIL FROM:<carol@remote.example>", 250)
        await smtp.transact("RSET", 250)
        lines = await smtp.transact("MAIL FROM:<carol@remote.example>", 451)
        assert lines == ["4.7.0 message rate exceeded; try later"]


async def test_submissions_role_needs_implicit_tls(tmp_path: Path) -> None:
    conf = config(listeners={"bad": listener("submissions", "none")})
    with pytest.raises(ConfigError, match="role submissions needs tls: implicit"):
        async with smtp_server(tmp_path, conf):
            pass


async def test_unknown_role_is_a_config_error(tmp_path: Path) -> None:
    conf = config(listeners={"bad": listener("relay")})
    with pytest.raises(ExceptionGroup) as info:  # raised by the kernel's run() in its nursery
        async with smtp_server(tmp_path, conf):
            pass
    assert info.group_contains(ConfigError, match="has no role 'relay'", depth=None)


def test_packaged_conf_d_and_its_commented_smtp_section_are_valid(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    fragment = (root / "conf.d" / "20-smtp.yaml").read_text()
    commented = fragment[fragment.index("# smtp:") :].splitlines()
    site = tmp_path / "site"
    site.mkdir()
    (site / "90-smtp.yaml").write_text("\n".join(line[2:] for line in commented) + "\n")
    kernel = Kernel(
        data_dir=tmp_path / "var",
        layers=[root / "conf.d", site],
        plugins=["directory", "smtp"],
        extra_plugins={"smtp": plugins.smtp.plugin},
        environ={},
    )
    assert kernel.config["smtp"]["hostname"] == "mx.example.org"
    assert kernel.config["smtp"]["max_message_size"] == 50 * 2**20
    assert {kernel.config.listeners[n]["role"] for n in ("smtp", "submission", "submissions")} == {
        "mta",
        "submission",
        "submissions",
    }


async def test_failed_starttls_handshake_is_reported_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = config(listeners={"mta": listener("mta", "starttls")})
    async with (
        smtp_server(tmp_path, conf) as server,
        await SmtpClient.connect(*server.address()) as smtp,
    ):
        await smtp.expect(220)
        await smtp.transact("EHLO client.example", 250)
        await smtp.transact("STARTTLS", 220)
        await smtp.send(b"this is not a TLS ClientHello\r\n" * 10)
        await smtp.until_closed()
    log = capsys.readouterr().err
    assert "error=tls-handshake" in log
    assert "session-failed" not in log
