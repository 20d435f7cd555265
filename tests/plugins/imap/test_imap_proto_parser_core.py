"""Tokens of the IMAP grammar (plugins.imap.proto.parser.core): RFC 9051 §4, §9."""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.imap.proto.parser.core import MAX_NUMBER, MAX_NUMBER64, ParseError, Reader
from plugins.imap.proto.sequence import STAR, SequenceSet


def reader(data: bytes, *, utf8: bool = False) -> Reader:
    return Reader(data, utf8=utf8)


def whole(fn_name: str, data: bytes, *, utf8: bool = False) -> object:
    """Run one Reader method and require it to consume everything."""
    r = reader(data, utf8=utf8)
    value = getattr(r, fn_name)()
    assert r.at_end(), f"{fn_name} left {r.data[r.pos :]!r}"
    return value


# ----------------------------------------------------------------------------- atoms


def test_parser_core_atom_stops_at_specials() -> None:
    for special in b'(){ %*"\\]':
        r = reader(b"abc" + bytes([special]) + b"x")
        assert r.atom() == "abc"
        assert r.peek() == special


@pytest.mark.parametrize("data", [b"", b"(", b" x", b"\x00a", b"\x80abc", b"\x7f"])
def test_parser_core_atom_rejects(data: bytes) -> None:
    with pytest.raises(ParseError):
        reader(data).atom()


def test_parser_core_atom_refuses_8bit_inside() -> None:
    r = reader("caf\u00e9".encode())
    assert r.atom() == "caf"  # stops at the first 8-bit octet, which then fails to parse
    with pytest.raises(ParseError):
        r.end()


def test_parser_core_keyword_is_case_insensitive() -> None:
    r = reader(b"fEtCh rest")
    assert r.take_keyword("FETCH")
    assert r.peek() == 0x20


def test_parser_core_take_keyword_needs_whole_atom() -> None:
    r = reader(b"ALLX")
    assert not r.take_keyword("ALL")
    assert r.pos == 0


# -------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("method", "data", "value"),
    [
        ("number", b"0", 0),
        ("number", b"007", 7),
        ("number", str(MAX_NUMBER).encode(), MAX_NUMBER),
        ("nz_number", b"1", 1),
        ("number64", str(MAX_NUMBER64).encode(), MAX_NUMBER64),
        ("nz_number64", b"12345678901234", 12345678901234),
    ],
)
def test_parser_core_numbers(method: str, data: bytes, value: int) -> None:
    assert whole(method, data) == value


@pytest.mark.parametrize(
    ("method", "data"),
    [
        ("number", str(MAX_NUMBER + 1).encode()),
        ("number", b"9" * 5000),  # no slow or failing int() on huge digit strings
        ("number", b"-1"),
        ("number", b""),
        ("nz_number", b"0"),
        ("nz_number", b"01"),
        ("number64", str(MAX_NUMBER64 + 1).encode()),
        ("nz_number64", b"0"),
    ],
)
def test_parser_core_numbers_rejected(method: str, data: bytes) -> None:
    with pytest.raises(ParseError):
        getattr(reader(data), method)()


# -------------------------------------------------------------------------- strings


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (b'""', b""),
        (b'"hello world"', b"hello world"),
        (b'"a\\"b"', b'a"b'),
        (b'"a\\\\b"', b"a\\b"),
        (b'"(){}%*]"', b"(){}%*]"),
    ],
)
def test_parser_core_quoted(data: bytes, value: bytes) -> None:
    assert whole("quoted", data) == value


@pytest.mark.parametrize(
    "data",
    [b'"abc', b'"a\\nb"', b'"a\\', b'"a\rb"', b'"a\x00b"', b'abc"', b'"a\r\n{1}\r\nb"'],
)
def test_parser_core_quoted_rejects(data: bytes) -> None:
    with pytest.raises(ParseError):
        reader(data).quoted()


def test_parser_core_quoted_8bit_only_with_utf8() -> None:
    data = '"Gr\u00fc\u00dfe"'.encode()
    with pytest.raises(ParseError, match="UTF8=ACCEPT"):
        reader(data).quoted()
    assert whole("quoted", data, utf8=True) == "Gr\u00fc\u00dfe".encode()


def test_parser_core_quoted_utf8_must_be_valid() -> None:
    with pytest.raises(ParseError, match="UTF-8"):
        reader(b'"\xff\xfe"', utf8=True).quoted()


@pytest.mark.parametrize(
    ("data", "value", "is8"),
    [
        (b"{0}\r\n", b"", False),
        (b"{3}\r\nabc", b"abc", False),
        (b"{3+}\r\na\r\n", b"a\r\n", False),
        (b"~{3}\r\n\x00\x01\x02", b"\x00\x01\x02", True),
        (b"~{2+}\r\n\x00x", b"\x00x", True),
    ],
)
def test_parser_core_literal(data: bytes, value: bytes, is8: bool) -> None:
    r = reader(data)
    assert r.literal(binary=True) == (value, is8)
    assert r.at_end()


@pytest.mark.parametrize(
    ("data", "binary"),
    [
        (b"{3}\r\na\x00b", False),  # NUL needs literal8
        (b"~{1}\r\nx", False),  # literal8 not allowed here
        (b"{5}\r\nabc", False),  # truncated
        (b"{3}abc", False),  # no CRLF
        (b"{-1}\r\n", True),
        (b"{99999999999999999999}\r\n", True),
        (b"{ 3}\r\nabc", True),
    ],
)
def test_parser_core_literal_rejects(data: bytes, binary: bool) -> None:
    with pytest.raises(ParseError):
        reader(data).literal(binary=binary)


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (b"fred", b"fred"),
        (b"a]b", b"a]b"),  # resp-specials are ASTRING-CHARs
        (b'"x y"', b"x y"),
        (b"{2}\r\nxy", b"xy"),
    ],
)
def test_parser_core_astring(data: bytes, value: bytes) -> None:
    assert whole("astring", data) == value


@pytest.mark.parametrize("data", [b"%x", b"*", b"(", b"~{1}\r\nx", b""])
def test_parser_core_astring_rejects(data: bytes) -> None:
    with pytest.raises(ParseError):
        reader(data).astring()


def test_parser_core_nstring() -> None:
    assert whole("nstring", b"NIL") is None
    assert whole("nstring", b"nil") is None
    assert whole("nstring", b'"NIL"') == b"NIL"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"inbox", "INBOX"),
        (b'"InBoX"', "INBOX"),
        (b"{5}\r\niNBOX", "INBOX"),
        (b"inbox/sub", "inbox/sub"),  # only the whole name is special
        (b"Archive", "Archive"),
        ('"\u0131nbox"'.encode(), "\u0131nbox"),  # dotless i is not ASCII i
    ],
)
def test_parser_core_mailbox_inbox_is_case_insensitive(data: bytes, name: str) -> None:
    assert whole("mailbox", data, utf8=True) == name


def test_parser_core_mailbox_rejects_invalid_utf8_literal() -> None:
    with pytest.raises(ParseError):
        reader(b"{2}\r\n\xff\xfe").mailbox()


@pytest.mark.parametrize(
    ("data", "pattern"),
    [(b"*", "*"), (b"%", "%"), (b"Foo/%]", "Foo/%]"), (b'"a b*"', "a b*"), (b'""', "")],
)
def test_parser_core_list_mailbox(data: bytes, pattern: str) -> None:
    assert whole("list_mailbox", data) == pattern


# ---------------------------------------------------------------------------- flags


@pytest.mark.parametrize(
    ("data", "flag"),
    [
        (b"\\seen", "\\Seen"),
        (b"\\ANSWERED", "\\Answered"),
        (b"\\Flagged", "\\Flagged"),
        (b"\\deleted", "\\Deleted"),
        (b"\\draft", "\\Draft"),
        (b"\\recent", "\\Recent"),
        (b"\\Custom", "\\Custom"),
        (b"$Forwarded", "$Forwarded"),
        (b"MyKeyword", "MyKeyword"),
    ],
)
def test_parser_core_flag(data: bytes, flag: str) -> None:
    assert whole("flag", data) == flag


def test_parser_core_flag_list() -> None:
    assert whole("flag_list", b"()") == ()
    assert whole("flag_list", b"(\\seen $Junk)") == ("\\Seen", "$Junk")


@pytest.mark.parametrize("data", [b"(\\seen", b"(\\seen  x)", b"( x)", b"(x )", b"(\\)", b"(\\*)"])
def test_parser_core_flag_list_rejects(data: bytes) -> None:
    with pytest.raises(ParseError):
        r = reader(data)
        r.flag_list()
        r.end()


# -------------------------------------------------------------------- sequence sets


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"1", SequenceSet(((1, 1),))),
        (b"1:*", SequenceSet(((1, STAR),))),
        (b"*", SequenceSet(((STAR, STAR),))),
        (b"4:2", SequenceSet(((4, 2),))),
        (b"2,4:7,9,12:*", SequenceSet(((2, 2), (4, 7), (9, 9), (12, STAR)))),
        (b"$", SequenceSet(saved=True)),
        (b"4294967295", SequenceSet(((MAX_NUMBER, MAX_NUMBER),))),
    ],
)
def test_parser_core_sequence_set(data: bytes, expected: SequenceSet) -> None:
    assert whole("sequence_set", data) == expected


@pytest.mark.parametrize(
    "data", [b"0", b"1:0", b"1,,2", b"1:2:3", b",1", b"1,", b"$,1", b"4294967296", b"01", b"1:"]
)
def test_parser_core_sequence_set_rejects(data: bytes) -> None:
    with pytest.raises(ParseError):
        reader(data).sequence_set()


def test_parser_core_sequence_set_star_and_saved_can_be_refused() -> None:
    with pytest.raises(ParseError):
        reader(b"1:*").sequence_set(star=False)
    with pytest.raises(ParseError):
        reader(b"$").sequence_set(saved=False)


# ----------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("data", "day"),
    [
        (b"1-Feb-1994", date(1994, 2, 1)),
        (b"01-feb-1994", date(1994, 2, 1)),
        (b'"29-FEB-2024"', date(2024, 2, 29)),
        (b"31-Dec-1999", date(1999, 12, 31)),
    ],
)
def test_parser_core_date(data: bytes, day: date) -> None:
    assert whole("date", data) == day


@pytest.mark.parametrize(
    "data", [b"29-Feb-2023", b"1-Foo-1994", b"1-Feb-94", b"123-Feb-1994", b'"1-Feb-1994', b"x"]
)
def test_parser_core_date_rejects(data: bytes) -> None:
    with pytest.raises(ParseError):
        r = reader(data)
        r.date()
        r.end()


def test_parser_core_date_time() -> None:
    value = whole("date_time", b'" 7-Feb-1994 21:52:25 -0800"')
    assert value == datetime(1994, 2, 7, 21, 52, 25, tzinfo=timezone(timedelta(hours=-8)))
    value = whole("date_time", b'"17-Jul-1996 02:44:25 +0530"')
    assert isinstance(value, datetime)
    assert value.utcoffset() == timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(
    "data",
    [
        b'"7-Feb-1994 21:52:25 -0800"',  # date-day-fixed needs SP or two digits
        b'"07-Feb-1994 25:52:25 -0800"',
        b'"07-Feb-1994 21:52:25 -0860"',
        b'"07-Feb-1994 21:52:25"',
        b'"07-Xyz-1994 21:52:25 +0000"',
        b'"30-Feb-1994 21:52:25 +0000"',
        b"07-Feb-1994 21:52:25 +0000",
    ],
)
def test_parser_core_date_time_rejects(data: bytes) -> None:
    with pytest.raises(ParseError):
        reader(data).date_time()


# ---------------------------------------------------------------------------- fuzz


@given(st.binary(max_size=200))
def test_parser_core_reader_methods_never_raise_other_errors(data: bytes) -> None:
    for method in (
        "atom",
        "astring",
        "nstring",
        "quoted",
        "list_mailbox",
        "mailbox",
        "flag_list",
        "sequence_set",
        "date",
        "date_time",
        "number64",
    ):
        with contextlib.suppress(ParseError):
            getattr(reader(data, utf8=True), method)()
