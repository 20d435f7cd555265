"""The engine (commands, state table, SASL responses), script names and response bytes."""

from __future__ import annotations

import pytest

from plugins.managesieve.proto import codes
from plugins.managesieve.proto import commands as c
from plugins.managesieve.proto.engine import (
    CLOSED,
    MAX_ERRORS,
    NEED_DATA,
    Refusal,
    SaslResponse,
    SieveEngine,
)
from plugins.managesieve.proto.responses import Response, capability_lines, encode_string


def engine() -> SieveEngine:
    return SieveEngine(max_line=1024, max_literal=100, max_discard=1000, max_name=128)


def events(e: SieveEngine, data: bytes) -> list[object]:
    e.receive_data(data)
    out = []
    while (event := e.next_event()) is not NEED_DATA:
        out.append(event)
        if event is CLOSED:
            break
    return out


def test_engine_parses_every_command() -> None:
    e = engine()
    e.authenticated()
    data = (
        b'capability\r\nNoop "tag"\r\nHAVESPACE "s" 10\r\nPUTSCRIPT "s" {5+}\r\nkeep;\r\n'
        b'CHECKSCRIPT "keep;"\r\nLISTSCRIPTS\r\nSETACTIVE ""\r\nGETSCRIPT "s"\r\n'
        b'DELETESCRIPT "s"\r\nRENAMESCRIPT "a" "b"\r\nUNAUTHENTICATE\r\nLOGOUT\r\n'
    )
    assert events(e, data) == [
        c.Capability(),
        c.Noop(b"tag"),
        c.HaveSpace("s", 10),
        c.PutScript("s", b"keep;"),
        c.CheckScript(b"keep;"),
        c.ListScripts(),
        c.SetActive(""),
        c.GetScript("s"),
        c.DeleteScript("s"),
        c.RenameScript("a", "b"),
        c.Unauthenticate(),
        c.Logout(),
    ]


def test_engine_authenticate_forms() -> None:
    e = engine()
    assert events(e, b'AUTHENTICATE "plain"\r\nAuthenticate "PLAIN" "AGEAYg=="\r\n') == [
        c.Authenticate("PLAIN", None),
        c.Authenticate("PLAIN", b"AGEAYg=="),
    ]


@pytest.mark.parametrize(
    "line",
    [b'PUTSCRIPT "s" "keep;"', b"LISTSCRIPTS", b'GETSCRIPT "s"', b"UNAUTHENTICATE"],
)
def test_engine_refuses_commands_before_login(line: bytes) -> None:
    # RFC 5804 §2: "Servers MUST reject all other commands with a NO response."
    assert events(engine(), line + b"\r\n") == [Refusal(codes.NEED_AUTH)]


def test_engine_refuses_authenticate_and_starttls_after_login() -> None:
    e = engine()
    e.authenticated()
    out = events(e, b'AUTHENTICATE "PLAIN"\r\nSTARTTLS\r\n')
    assert out == [Refusal(codes.ALREADY_AUTHENTICATED), Refusal(codes.ALREADY_AUTHENTICATED)]


@pytest.mark.parametrize(
    "line",
    [
        b"FROBNICATE",
        b'"CAPABILITY"',
        b"CAPABILITY extra",
        b'HAVESPACE "s" "10"',
        b'PUTSCRIPT "s"',
        b"GETSCRIPT s",
        b'GETSCRIPT ""',
        b'GETSCRIPT "a\\\\b\x01"',
        b"NOOP 5",
    ],
)
def test_engine_bad_commands_get_no(line: bytes) -> None:
    e = engine()
    e.authenticated()
    [event] = events(e, line + b"\r\n")
    assert isinstance(event, Refusal) and event.response.status == "NO" and not event.close


def test_engine_closes_after_many_errors_in_a_row() -> None:
    e = engine()
    out = events(e, b"BOGUS\r\n" * MAX_ERRORS)
    last = out[-1]
    assert isinstance(last, Refusal) and last.close and last.response.status == "BYE"


def test_engine_oversized_putscript_literal_is_quota_maxsize() -> None:
    e = engine()
    e.authenticated()
    [event] = events(e, b'PUTSCRIPT "s" {101+}\r\n' + b"x" * 101 + b"\r\n")
    assert isinstance(event, Refusal) and event.response.code == codes.QUOTA_MAXSIZE


def test_engine_long_line_is_bye() -> None:
    [event] = events(engine(), b"NOOP " + b"x" * 2000)
    assert isinstance(event, Refusal) and event.close and event.response.status == "BYE"


def test_engine_eof_is_closed() -> None:
    e = engine()
    assert events(e, b"") == [CLOSED]


def test_engine_sasl_responses() -> None:
    e = engine()
    e.receive_data(b'"AGEAYg=="\r\n{4+}\r\nYWJj\r\n"*"\r\n"not base64!"\r\n"a" "b"\r\n')
    assert e.next_sasl_response() == SaslResponse(b"\0a\0b")
    assert e.next_sasl_response() == SaslResponse(b"abc")
    assert e.next_sasl_response() == SaslResponse(None, cancelled=True)
    assert e.next_sasl_response() == SaslResponse(None)
    assert e.next_sasl_response() == SaslResponse(None)
    assert e.next_sasl_response() is NEED_DATA


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        (b"main", "main"),
        ("Café".encode(), "Café"),
        ("Cafe\u0301".encode(), "Café"),  # NFC (Net-Unicode, RFC 5198 §2)
        (("é" * 128).encode(), "é" * 128),  # §1.6: 128 characters, 256 octets
    ],
)
def test_script_name_accepts_and_normalises(raw: bytes, name: str) -> None:
    assert c.script_name(raw, max_length=128) == name


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"a\x00b",
        b"a\tb",
        b"a\x7fb",
        "a\u0085b".encode(),
        "a\u2028b".encode(),
        b"\xff",
        b"x" * 129,
    ],
)
def test_script_name_rejects(raw: bytes) -> None:
    # RFC 5804 §1.6: control characters, DELETE, C1, LINE/PARAGRAPH SEPARATOR; empty; too long.
    with pytest.raises(ValueError):
        c.script_name(raw, max_length=128)


def test_script_name_empty_allowed_for_setactive() -> None:
    assert c.script_name(b"", max_length=128, allow_empty=True) == ""


def test_responses_serialise() -> None:
    assert Response("OK").to_bytes() == b"OK\r\n"
    assert (
        codes.NO_SUCH_SCRIPT.to_bytes() == b'NO (NONEXISTENT) "There is no script by that name"\r\n'
    )
    tag = Response("OK", codes.TAG, b"STARTTLS-SYNC-42", "Done").to_bytes()
    assert tag == b'OK (TAG "STARTTLS-SYNC-42") "Done"\r\n'
    multi = Response("NO", text="line 1: a\r\nline 2: b").to_bytes()
    assert multi == b"NO {20}\r\nline 1: a\r\nline 2: b\r\n"


def test_encode_string_quotes_or_literal() -> None:
    assert encode_string('a "b" \\c') == b'"a \\"b\\" \\\\c"'
    assert encode_string(b"x" * 1025).startswith(b"{1025}\r\n")
    assert encode_string(b"\xff") == b"{1}\r\n\xff"
    assert capability_lines([("SIEVE", "fileinto"), ("STARTTLS", None)]) == (
        b'"SIEVE" "fileinto"\r\n"STARTTLS"\r\n'
    )
