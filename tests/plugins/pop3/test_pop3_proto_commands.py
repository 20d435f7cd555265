"""The command parser: every command, its arguments, and what it refuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.pop3.proto.commands import (
    Apop,
    Auth,
    Capa,
    Dele,
    Invalid,
    List,
    Noop,
    Pass,
    Quit,
    Retr,
    Rset,
    SaslResponse,
    Stat,
    Stls,
    Top,
    Uidl,
    Unknown,
    User,
    Utf8,
    decode_base64,
    parse_command,
    parse_sasl_response,
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"CAPA", Capa()),
        (b"capa", Capa()),
        (b"STLS", Stls()),
        (b"UTF8", Utf8()),
        (b"USER ann@example.org", User("ann@example.org")),
        (b"PASS secret", Pass("secret")),
        (b"PASS with  two spaces ", Pass("with  two spaces ")),  # RFC 1939 §7
        (
            b"APOP mrose c4c9334bac560ecc979e58001b3e22fb",
            Apop("mrose", "c4c9334bac560ecc979e58001b3e22fb"),
        ),
        (b"AUTH", Auth(None)),
        (b"AUTH plain", Auth("PLAIN")),
        (b"AUTH PLAIN AGFubgBwdw==", Auth("PLAIN", b"\0ann\0pw")),
        (b"AUTH PLAIN =", Auth("PLAIN", b"")),  # RFC 5034 §4: "=" is empty
        (b"STAT", Stat()),
        (b"LIST", List()),
        (b"LIST 2", List(2)),
        (b"LIST 007", List(7)),
        (b"RETR 1", Retr(1)),
        (b"DELE 12", Dele(12)),
        (b"NOOP", Noop()),
        (b"RSET", Rset()),
        (b"QUIT", Quit()),
        (b"TOP 1 0", Top(1, 0)),
        (b"TOP 3 10", Top(3, 10)),
        (b"UIDL", Uidl()),
        (b"UIDL 4", Uidl(4)),
        (b"LIST  2", List(2)),  # runs of spaces are tolerated
        (b"uidl\t4", Uidl(4)),
    ],
)
def test_proto_commands_parse(line: bytes, expected: object) -> None:
    assert parse_command(line) == expected


@pytest.mark.parametrize(
    ("line", "keyword", "reason"),
    [
        (b"STAT 1", "STAT", "takes no arguments"),
        (b"QUIT now", "QUIT", "takes no arguments"),
        (b"LIST x", "LIST", "invalid message number"),
        (b"LIST -1", "LIST", "invalid message number"),
        (b"LIST 1 2", "LIST", "too many arguments"),
        (b"RETR", "RETR", "expected one message number"),
        (b"RETR 1 2", "RETR", "expected one message number"),
        (b"DELE 12345678901", "DELE", "invalid message number"),
        (b"RETR \xd9\xa3", "RETR", "invalid message number"),  # an Arabic-Indic digit
        (b"TOP 1", "TOP", "expected a message number and a number of lines"),
        (b"TOP x 1", "TOP", "invalid message number"),
        (b"TOP 1 -1", "TOP", "invalid number of lines"),
        (b"USER", "USER", "expected one login name"),
        (b"USER a b", "USER", "expected one login name"),
        (b"PASS", "PASS", "expected a password"),
        (b"APOP x", "APOP", "expected name and digest"),
        (b"AUTH PLAIN !!!!", "AUTH", "invalid base64 in the initial response"),
        (b"AUTH PLAIN AAA=BBB", "AUTH", "invalid base64 in the initial response"),
        (b"AUTH PLAIN a b", "AUTH", "too many arguments"),
        (b"USER \xff", "", "commands must be UTF-8"),
    ],
)
def test_proto_commands_invalid(line: bytes, keyword: str, reason: str) -> None:
    assert parse_command(line) == Invalid(keyword, reason)


@pytest.mark.parametrize("line", [b"", b"   ", b"XTND XMIT", b"HELO x", b"RE-TR 1", b"\x00\x01"])
def test_proto_commands_unknown(line: bytes) -> None:
    assert isinstance(parse_command(line), Unknown)


def test_proto_commands_hide_secrets_in_repr() -> None:
    assert "secret" not in repr(parse_command(b"PASS secret"))
    assert "AGFu" not in repr(parse_command(b"AUTH PLAIN AGFubgBwdw=="))


def test_proto_commands_utf8_user_and_password() -> None:
    # RFC 6856 §2.2: UTF-8 user names and passwords.
    assert parse_command("USER jöran@example.org".encode()) == User("jöran@example.org")
    assert parse_command("PASS pässwörd".encode()) == Pass("pässwörd")


def test_proto_commands_strict_base64() -> None:
    # RFC 5034 §4: reject characters outside the alphabet and misplaced padding.
    assert decode_base64("AGFubgBwdw==") == b"\0ann\0pw"
    assert decode_base64("") == b""
    for bad in ("=AAA", "AAA=BBB", "AA", "A\nAA=", "ÄAAA", "AA AA"):
        assert decode_base64(bad) is None


@given(st.binary(max_size=300))
def test_proto_commands_never_raise(line: bytes) -> None:
    parse_command(line)


def test_proto_commands_sasl_responses() -> None:
    # RFC 5034 §4: "*" cancels; otherwise strict base64, an empty line being empty data.
    assert parse_sasl_response(b"*") == SaslResponse(None, cancelled=True)
    assert parse_sasl_response(b"AGFubgBwdw==") == SaslResponse(b"\0ann\0pw")
    assert parse_sasl_response(b"") == SaslResponse(b"")
    assert parse_sasl_response(b"=AAA") == SaslResponse(None)
    assert "AGFu" not in repr(parse_sasl_response(b"AGFubgBwdw=="))
