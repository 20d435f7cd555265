"""Units of the outbound side: the client's reply parser (incl. hostile input), command
lines, dot-stuffing, DSN composition, backoff, and destination lookup via the DNS fixture."""

from __future__ import annotations

import email
import email.policy

import pytest

from kernel.testing.dns import dns_server
from plugins.smtp.outbound.clientproto import (
    MAX_LINE,
    MAX_LINES,
    Capabilities,
    ClientReply,
    ReplyError,
    ReplyReader,
    auth_plain,
    dot_stuff,
    mail_command,
    needs_8bit,
    rcpt_command,
    xtext,
)
from plugins.smtp.outbound.dsn import Notice, build_dsn, wants
from plugins.smtp.outbound.resolve import RouteError, destinations, make_resolver
from plugins.smtp.outbound.settings import QueueSettings, Route

EHLO = (
    b"250-mx.remote.test hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n"
    b"250-DSN\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n"
)


def _all_replies(data: bytes, split: int | None = None) -> list[ClientReply]:
    reader = ReplyReader()
    out = []
    chunks = [data] if split is None else [data[:split], data[split:]]
    for chunk in chunks:
        reader.feed(chunk)
        while (reply := reader.next_reply()) is not None:
            out.append(reply)
    return out


def test_smtp_outbound_reply_reader_multiline_every_split() -> None:
    data = b"220 mx ready\r\n" + EHLO + b"550 5.1.1 no such user\r\n"
    whole = _all_replies(data)
    assert [r.code for r in whole] == [220, 250, 550]
    for split in range(len(data) + 1):
        assert _all_replies(data, split) == whole
    caps = Capabilities.from_ehlo(whole[1])
    assert {"PIPELINING", "DSN", "STARTTLS", "8BITMIME"} <= set(caps.keywords)
    assert caps.size_limit == 1000 and caps.auth_mechanisms == {"PLAIN", "LOGIN"}
    assert whole[2].enhanced == "5.1.1" and whole[2].permanent and str(whole[2]).startswith("550")
    assert ClientReply(451, ("try later",)).status() == "4.0.0"
    assert ClientReply(451, ("5.1.1 mismatched class",)).enhanced is None  # RFC 2034 §4


def test_smtp_outbound_reply_reader_bare_code_and_lf_only() -> None:
    [reply] = _all_replies(b"250\n")
    assert reply.code == 250 and reply.lines == ("",)


@pytest.mark.parametrize(
    "hostile",
    [
        b"hello\r\n",
        b"25 short\r\n",
        b"600 bad class\r\n",
        b"250-first\r\n251 other code\r\n",
        b"250" + b"x" * (MAX_LINE + 10) + b"\r\n",
        b"x" * (MAX_LINE + 10),
        b"".join(b"250-line\r\n" for _ in range(MAX_LINES + 1)),
    ],
)
def test_smtp_outbound_reply_reader_refuses_hostile_input(hostile: bytes) -> None:
    with pytest.raises(ReplyError):
        _all_replies(hostile)


def test_smtp_outbound_command_lines() -> None:
    caps = Capabilities.from_ehlo(_all_replies(EHLO)[0])
    assert mail_command("a@b", caps, size=10, body="8BITMIME", ret="HDRS", envid="x+y") == (
        b"MAIL FROM:<a@b> SIZE=10 BODY=8BITMIME RET=HDRS ENVID=x+2By\r\n"
    )
    assert mail_command("", Capabilities(), size=10, body="8BITMIME", ret="FULL") == (
        b"MAIL FROM:<>\r\n"  # nothing the server did not offer
    )
    assert rcpt_command("r@x", caps, notify="FAILURE,DELAY", orcpt="rfc822;r=1@x") == (
        b"RCPT TO:<r@x> NOTIFY=FAILURE,DELAY ORCPT=rfc822;r+3D1@x\r\n"
    )
    assert rcpt_command("r@x", Capabilities(), notify="NEVER") == b"RCPT TO:<r@x>\r\n"
    assert xtext("a b+é") == "a+20b+2B+C3+A9"
    assert auth_plain("u", "p") == b"AUTH PLAIN AHUAcA==\r\n"
    assert needs_8bit("é".encode()) and not needs_8bit(b"plain")


def test_smtp_outbound_dot_stuffing() -> None:
    assert dot_stuff(b"a\r\n.b\r\n..c\r\n") == b"a\r\n..b\r\n...c\r\n.\r\n"
    # Bare LF and CR become CRLF: a lone "." line inside can never end DATA early.
    assert dot_stuff(b"x\n.\ny") == b"x\r\n..\r\ny\r\n.\r\n"
    assert dot_stuff(b"x\r.\r\n") == b"x\r\n..\r\n.\r\n"
    assert dot_stuff(b"") == b".\r\n"


def test_smtp_outbound_notify_rules() -> None:
    assert wants(None, "a@b", "failed") and wants(None, "a@b", "delayed")
    assert not wants(None, "a@b", "delivered")
    assert not wants(None, "", "failed")  # never to the null sender
    assert not wants("NEVER", "a@b", "failed")
    assert wants("SUCCESS", "a@b", "relayed") and not wants("SUCCESS", "a@b", "failed")


def test_smtp_outbound_dsn_is_a_well_formed_report() -> None:
    original = b"Subject: hi\r\nFrom: a@b\r\n\r\nbody\r\n"
    notice = Notice(
        "x@remote.test",
        "failed",
        "5.1.1",
        orcpt="rfc822;X@remote.test",
        remote_mta="mx1.remote.test",
        diagnostic="550 5.1.1 no\r\nsuch user",
        last_attempt=1_700_000_000,
    )
    raw = build_dsn(
        reporting_mta="mx.example.org",
        return_path="a@b",
        notices=[notice],
        original=original,
        arrival=1_699_999_000,
        env_id="env-1",
        now=1_700_000_000,
    )
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["To"] == "a@b" and message["From"].addresses[0].username == "MAILER-DAEMON"
    _, status, returned = message.iter_parts()
    fields = status.as_bytes().decode()
    for expected in (
        "Original-Envelope-Id: env-1",
        "Arrival-Date: Tue, 14 Nov 2023 21:56:40 +0000",
        "Original-Recipient: rfc822; X@remote.test",
        "Diagnostic-Code: smtp; 550 5.1.1 no such user",  # no line break injected
        "Last-Attempt-Date: Tue, 14 Nov 2023 22:13:20 +0000",
    ):
        assert expected in fields
    assert returned.get_content_type() == "message/rfc822"
    headers_only = build_dsn(
        reporting_mta="m",
        return_path="a@b",
        notices=[notice],
        original=original,
        arrival=0,
        ret="HDRS",
    )
    assert b"text/rfc822-headers" in headers_only and b"body\r\n" not in headers_only


def test_smtp_outbound_backoff_and_routes() -> None:
    settings = QueueSettings(
        hostname="h",
        retry_initial=60,
        retry_factor=2,
        retry_max=300,
        routes={"*": Route("smart", 587), "x.test": Route("direct", 25)},
    )
    assert [settings.backoff(n) for n in (1, 2, 3, 4, 5)] == [60, 120, 240, 300, 300]
    assert settings.route("X.TEST").host == "direct" and settings.route("y.test").host == "smart"


ZONES = {
    "pref.test": {"MX": ["20 b.pref.test.", "10 a.pref.test.", "30 none.pref.test."]},
    "a.pref.test": {"A": ["127.0.0.2"], "AAAA": ["::1"]},
    "b.pref.test": {"A": ["127.0.0.3"]},
    "none.pref.test": {"TXT": ['"no address"']},
    "implicit.test": {"A": ["127.0.0.4"]},
    "null.test": {"MX": ["0 ."]},
    "empty.test": {"TXT": ['"nothing"']},
    "smart.test": {"A": ["127.0.0.9"]},
}


async def test_smtp_outbound_destinations_via_dns_fixture() -> None:
    async with dns_server(ZONES) as dns:
        settings = QueueSettings(
            hostname="h", nameservers=(dns.host,), resolver_port=dns.port, remote_port=2525
        )
        resolver = make_resolver(settings)
        hosts = await destinations("pref.test", settings, resolver)
        assert [(h.host, h.addresses, h.port) for h in hosts] == [
            ("a.pref.test", ("127.0.0.2", "::1"), 2525),
            ("b.pref.test", ("127.0.0.3",), 2525),
        ]
        v4 = QueueSettings(
            hostname="h", nameservers=(dns.host,), resolver_port=dns.port, ipv6=False
        )
        assert (await destinations("pref.test", v4, resolver))[0].addresses == ("127.0.0.2",)
        [implicit] = await destinations("implicit.test", settings, resolver)
        assert (implicit.host, implicit.addresses) == ("implicit.test", ("127.0.0.4",))
        [literal] = await destinations("[127.0.0.7]", settings, resolver)
        assert literal.addresses == ("127.0.0.7",)
        failures = {}
        for domain in ("null.test", "missing.test", "empty.test", "[nonsense]"):
            with pytest.raises(RouteError) as info:
                await destinations(domain, settings, resolver)
            failures[domain] = (info.value.status, info.value.permanent)
        assert failures == {
            "null.test": ("5.1.10", True),  # RFC 7505
            "missing.test": ("5.1.2", True),
            "empty.test": ("5.1.2", True),
            "[nonsense]": ("5.1.2", True),
        }
        dns.servfail.add("pref.test")
        with pytest.raises(RouteError) as temporary:
            await destinations("pref.test", settings, resolver)
        assert temporary.value.status == "4.4.3" and not temporary.value.permanent
        routed = QueueSettings(
            hostname="h",
            nameservers=(dns.host,),
            resolver_port=dns.port,
            routes={"*": Route("smart.test", 587, "u", "p")},
        )
        [smart] = await destinations("pref.test", routed, resolver)
        assert (smart.host, smart.addresses, smart.port, smart.auth) == (
            "smart.test",
            ("127.0.0.9",),
            587,
            ("u", "p"),
        )
