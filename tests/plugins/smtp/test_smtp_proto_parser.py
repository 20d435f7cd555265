"""The SMTP command parser: commands, paths (RFC 5321 §4.1.2, RFC 6531 §3.3), parameters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.smtp.proto.commands import (
    Auth,
    Bdat,
    Data,
    Ehlo,
    Expn,
    Help,
    Mail,
    Mailbox,
    Noop,
    Quit,
    Rcpt,
    Rset,
    StartTls,
    Vrfy,
)
from plugins.smtp.proto.errors import RemoteProtocolError
from plugins.smtp.proto.parser import decode_xtext, parse_command


def error(line: bytes) -> tuple[int, str | None, str]:
    with pytest.raises(RemoteProtocolError) as info:
        parse_command(line)
    reply = info.value.reply
    return reply.code, reply.status, reply.lines[0]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"EHLO client.example", Ehlo("client.example")),
        (b"ehlo [192.0.2.1]", Ehlo("[192.0.2.1]")),
        (b"HELO client.example", Ehlo("client.example", extended=False)),
        (b"EHLO my_host", Ehlo("my_host")),  # a liberty: any visible token
        (b"DATA", Data()),
        (b"data  ", Data()),
        (b"RSET", Rset()),
        (b"NOOP anything at all", Noop()),
        (b"QUIT", Quit()),
        (b"STARTTLS", StartTls()),
        (b"VRFY ann", Vrfy("ann")),
        (b"EXPN list", Expn("list")),
        (b"HELP", Help()),
        (b"HELP MAIL", Help("MAIL")),
        (b"BDAT 0 LAST", Bdat(0, last=True)),
        (b"bdat 1000 last", Bdat(1000, last=True)),
        (b"BDAT 42", Bdat(42)),
        (b"AUTH PLAIN", Auth("PLAIN")),
        (b"auth plain AGFubgBzZWNyZXQ=", Auth("PLAIN", "AGFubgBzZWNyZXQ=")),
        (b"AUTH SCRAM-SHA-256 =", Auth("SCRAM-SHA-256", "=")),
    ],
)
def test_parse_command_valid(line: bytes, expected: object) -> None:
    assert parse_command(line) == expected


@pytest.mark.parametrize(
    ("line", "code", "status"),
    [
        (b"GET / HTTP/1.1", 500, "5.5.1"),
        (b"", 500, "5.5.1"),
        (b"TURN", 502, "5.5.1"),
        (b"ETRN example.org", 502, "5.5.1"),
        (b"EHLO", 501, None),  # RFC 2034 §3: no status on EHLO replies
        (b"EHLO two words", 501, None),
        (b"EHLO [300.1.1.1]", 501, None),
        (b"DATA now", 501, "5.5.4"),
        (b"QUIT please", 501, "5.5.4"),
        (b"STARTTLS x", 501, "5.5.4"),
        (b"VRFY", 501, "5.5.4"),
        (b"BDAT", 501, "5.5.4"),
        (b"BDAT -1", 501, "5.5.4"),
        (b"BDAT 10 NOTLAST", 501, "5.5.4"),
        (b"BDAT 1234567890123456789", 501, "5.5.4"),
        (b"AUTH", 501, "5.5.4"),
        (b"AUTH PL@IN", 501, "5.5.4"),
        (b"AUTH PLAIN a b", 501, "5.5.4"),
        (b"MAIL <a@b.example>", 501, "5.1.7"),
        (b"MAIL FROM:a@b.example", 501, "5.1.7"),
        (b"RCPT TO:<>", 501, "5.1.3"),
        (b"RCPT TO:<a@b.example", 501, "5.1.3"),
        (b"NOOP \x00", 500, "5.5.2"),
        (b"NOOP a\rb", 500, "5.5.2"),
        (b"NOOP a\nb", 500, "5.5.2"),
        (b"NOOP \xff\xfe", 500, "5.5.2"),
    ],
)
def test_parse_command_errors(line: bytes, code: int, status: str | None) -> None:
    assert error(line)[:2] == (code, status)


@pytest.mark.parametrize(
    ("path", "mailbox"),
    [
        ("<ann@example.org>", Mailbox("ann", "example.org")),
        ("<Ann@EXAMPLE.org>", Mailbox("Ann", "example.org")),
        ('<"john doe"@example.org>', Mailbox("john doe", "example.org")),
        ('<"a\\"b\\\\c"@example.org>', Mailbox('a"b\\c', "example.org")),
        ("<first.last+tag@example.org>", Mailbox("first.last+tag", "example.org")),
        ("<u@[192.0.2.1]>", Mailbox("u", "[192.0.2.1]")),
        ("<u@[IPv6:2001:DB8::1]>", Mailbox("u", "[IPv6:2001:db8::1]")),
        ("<u@[x-tag:anything]>", Mailbox("u", "[x-tag:anything]")),
        # RFC 5321 §4.1.1.3: a source route is accepted and ignored.
        ("<@relay.example,@other.example:ann@example.org>", Mailbox("ann", "example.org")),
        # RFC 6531 §3.3: UTF-8 local parts and U-label domains.
        ("<δοκιμή@παράδειγμα.δοκιμή>", Mailbox("δοκιμή", "παράδειγμα.δοκιμή")),
    ],
)
def test_parse_mail_paths(path: str, mailbox: Mailbox) -> None:
    cmd = parse_command(f"MAIL FROM:{path}".encode())
    assert isinstance(cmd, Mail)
    assert cmd.sender == mailbox


def test_parse_mail_null_path_and_space_after_colon() -> None:
    assert parse_command(b"MAIL FROM:<>") == Mail(None)
    cmd = parse_command(b"mail from: <ann@example.org>")  # a liberty
    assert isinstance(cmd, Mail) and cmd.sender == Mailbox("ann", "example.org")


def test_parse_rcpt_postmaster_without_domain() -> None:
    # RFC 5321 §4.5.1: "RCPT TO:<Postmaster>" must be supported.
    cmd = parse_command(b"RCPT TO:<postmaster>")
    assert isinstance(cmd, Rcpt) and cmd.recipient == Mailbox("Postmaster", "")
    assert error(b"MAIL FROM:<postmaster>")[:2] == (501, "5.1.7")


@pytest.mark.parametrize(
    "path",
    [
        "<a..b@example.org>",
        "<.a@example.org>",
        "<a@example..org>",
        "<a@-example.org>",
        "<a@example.org.>",
        "<a@[1.2.3]>",
        "<a@[IPv6:zz::1]>",
        "<a b@example.org>",
        '<"unterminated@example.org>',
        "<@relay.example ann@example.org>",
        "<a@>",
        "<@example.org>",
    ],
)
def test_parse_bad_paths(path: str) -> None:
    assert error(f"RCPT TO:{path}".encode())[:2] == (501, "5.1.3")


def test_parse_path_length_limits() -> None:
    # RFC 5321 §4.5.3.1.1-3: 64-octet local part, 255-octet domain, 256-octet path.
    assert isinstance(parse_command(b"RCPT TO:<" + b"a" * 64 + b"@example.org>"), Rcpt)
    assert error(b"RCPT TO:<" + b"a" * 65 + b"@example.org>")[2] == "address too long"
    label = b"b" * 63
    long_domain = b".".join([label] * 4)  # 255 octets
    assert error(b"RCPT TO:<aa@" + long_domain + b">")[2] == "path too long"
    assert error(b"RCPT TO:<a@" + b"c" * 64 + b".org>")[2] == "domain label too long"


def test_parse_mail_parameters() -> None:
    cmd = parse_command(
        b"MAIL FROM:<a@example.org> SIZE=1000 BODY=8bitmime SMTPUTF8 RET=hdrs "
        b"ENVID=QQ+2B1 AUTH=e+3Dmc2@example.com"
    )
    assert isinstance(cmd, Mail)
    params = cmd.params
    assert (params.size, params.body, params.smtputf8, params.ret) == (
        1000,
        "8BITMIME",
        True,
        "HDRS",
    )
    assert (params.envid, params.auth) == ("QQ+1", "e=mc2@example.com")
    assert params.raw[0] == ("SIZE", "1000")
    auth_unknown = parse_command(b"MAIL FROM:<a@example.org> AUTH=<>")
    assert isinstance(auth_unknown, Mail) and auth_unknown.params.auth == "<>"


def test_parse_rcpt_parameters() -> None:
    cmd = parse_command(
        b"RCPT TO:<a@example.org> NOTIFY=success,Delay ORCPT=rfc822;a+2Bb@x.example"
    )
    assert isinstance(cmd, Rcpt)
    assert cmd.params.notify == frozenset({"SUCCESS", "DELAY"})
    assert cmd.params.orcpt == ("rfc822", "a+b@x.example")
    never = parse_command(b"RCPT TO:<a@example.org> NOTIFY=NEVER")
    assert isinstance(never, Rcpt) and never.params.notify == frozenset({"NEVER"})


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"MAIL FROM:<a@example.org> FOO=bar", 555),
        (b"MAIL FROM:<a@example.org> NOTIFY=NEVER", 555),
        (b"RCPT TO:<a@example.org> SIZE=10", 555),
        (b"MAIL FROM:<a@example.org> SIZE=big", 501),
        (b"MAIL FROM:<a@example.org> SIZE", 501),
        (b"MAIL FROM:<a@example.org> SIZE=1 SIZE=2", 501),
        (b"MAIL FROM:<a@example.org> BODY=9BIT", 501),
        (b"MAIL FROM:<a@example.org> SMTPUTF8=yes", 501),
        (b"MAIL FROM:<a@example.org> RET=ALL", 501),
        (b"MAIL FROM:<a@example.org> ENVID=a+zz", 501),
        (b"MAIL FROM:<a@example.org> ENVID=" + b"x" * 101, 501),
        (b"MAIL FROM:<a@example.org> =x", 501),
        (b"MAIL FROM:<a@example.org>SIZE=1", 501),
        (b"RCPT TO:<a@example.org> NOTIFY=NEVER,SUCCESS", 501),
        (b"RCPT TO:<a@example.org> NOTIFY=SUCCESS,SUCCESS", 501),
        (b"RCPT TO:<a@example.org> ORCPT=nosemicolon", 501),
        (b"RCPT TO:<a@example.org> ORCPT=rfc822;", 501),
    ],
)
def test_parse_parameter_errors(line: bytes, code: int) -> None:
    got, status, _ = error(line)
    assert (got, status) == (code, "5.5.4")


def test_decode_xtext() -> None:
    # RFC 3461 §4: "+" followed by two upper-case hex digits is an octet.
    assert decode_xtext("a+2Bb+3Dc") == "a+b=c"
    assert decode_xtext("+C3+A9") == "é"
    for bad in ("a+2b", "a=b", "a b", "+C3"):
        with pytest.raises(RemoteProtocolError):
            decode_xtext(bad)


def test_mailbox_str_quotes_when_needed() -> None:
    assert str(Mailbox("ann", "example.org")) == "ann@example.org"
    assert str(Mailbox("john doe", "example.org")) == '"john doe"@example.org'
    assert str(Mailbox('a"b', "example.org")) == '"a\\"b"@example.org'
    assert str(Mailbox("Postmaster", "")) == "Postmaster"


_LOCAL = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="\x7f"),
    min_size=1,
    max_size=30,
)
_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)


@given(local=_LOCAL, labels=st.lists(_LABEL, min_size=1, max_size=4))
def test_mailbox_round_trips(local: str, labels: list[str]) -> None:
    mailbox = Mailbox(local, ".".join(labels))
    cmd = parse_command(f"RCPT TO:<{mailbox}>".encode())
    assert isinstance(cmd, Rcpt) and cmd.recipient == mailbox


@given(st.binary(max_size=200))
def test_parse_command_never_raises_anything_else(line: bytes) -> None:
    try:
        parse_command(line)
    except RemoteProtocolError as exc:
        assert 500 <= exc.reply.code <= 555
