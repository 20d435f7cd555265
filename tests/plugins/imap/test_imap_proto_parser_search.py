"""SEARCH, SORT and THREAD: every search key, charsets, RETURN options (RFC 9051 §6.4.4,
RFC 3501 §6.4.4, RFC 4731, RFC 5182, RFC 5256, RFC 5267, RFC 5957, RFC 7162, RFC 5032,
RFC 8474)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.imap.proto.commands import Search, Sort, SortCriterion, Thread
from plugins.imap.proto.parser import ParseError, parse_command
from plugins.imap.proto.parser.search import MAX_DEPTH
from plugins.imap.proto.search_keys import (
    All,
    AnyOf,
    DateKey,
    EmailIdKey,
    FlagKey,
    HeaderKey,
    KeywordKey,
    ModSeqKey,
    NotKey,
    SearchKey,
    SeqSetKey,
    SizeKey,
    TextKey,
    ThreadIdKey,
    UidKey,
    WithinKey,
)
from plugins.imap.proto.sequence import STAR, SequenceSet


def key(text: str, *, utf8: bool = False) -> SearchKey:
    cmd = parse_command(b"t SEARCH " + text.encode(), utf8=utf8)
    assert isinstance(cmd, Search)
    return cmd.criteria


KEYS: list[tuple[str, SearchKey]] = [
    ("ALL", All()),
    ("ANSWERED", FlagKey("\\Answered", True)),
    ("DELETED", FlagKey("\\Deleted", True)),
    ("DRAFT", FlagKey("\\Draft", True)),
    ("FLAGGED", FlagKey("\\Flagged", True)),
    ("SEEN", FlagKey("\\Seen", True)),
    ("RECENT", FlagKey("\\Recent", True)),
    ("UNANSWERED", FlagKey("\\Answered", False)),
    ("UNDELETED", FlagKey("\\Deleted", False)),
    ("UNDRAFT", FlagKey("\\Draft", False)),
    ("UNFLAGGED", FlagKey("\\Flagged", False)),
    ("UNSEEN", FlagKey("\\Seen", False)),
    ("NEW", All((FlagKey("\\Recent", True), FlagKey("\\Seen", False)))),
    ("OLD", FlagKey("\\Recent", False)),
    ("BCC fred", TextKey("bcc", "fred")),
    ('BODY "hello world"', TextKey("body", "hello world")),
    ("CC {3}\r\nx y", TextKey("cc", "x y")),
    ("FROM Smith", TextKey("from", "Smith")),
    ("SUBJECT afternoon", TextKey("subject", "afternoon")),
    ("TEXT string", TextKey("text", "string")),
    ("TO fred@example.com", TextKey("to", "fred@example.com")),
    ("BEFORE 1-Feb-1994", DateKey("internal", "before", date(1994, 2, 1))),
    ("ON 01-Feb-1994", DateKey("internal", "on", date(1994, 2, 1))),
    ('SINCE "1-Feb-1994"', DateKey("internal", "since", date(1994, 2, 1))),
    ("SENTBEFORE 1-Feb-1994", DateKey("sent", "before", date(1994, 2, 1))),
    ("SENTON 1-Feb-1994", DateKey("sent", "on", date(1994, 2, 1))),
    ("SENTSINCE 1-Feb-1994", DateKey("sent", "since", date(1994, 2, 1))),
    ("KEYWORD $Forwarded", KeywordKey("$Forwarded", True)),
    ("UNKEYWORD Junk", KeywordKey("Junk", False)),
    ('HEADER Message-ID "<x@y>"', HeaderKey("Message-ID", "<x@y>")),
    ('HEADER X-Spam ""', HeaderKey("X-Spam", "")),
    ("LARGER 1024", SizeKey("larger", 1024)),
    ("SMALLER 9223372036854775807", SizeKey("smaller", 2**63 - 1)),
    ("NOT SEEN", NotKey(FlagKey("\\Seen", True))),
    ("NOT NOT SEEN", NotKey(NotKey(FlagKey("\\Seen", True)))),
    ("OR SEEN FLAGGED", AnyOf(FlagKey("\\Seen", True), FlagKey("\\Flagged", True))),
    (
        "OR (SEEN FROM x) NOT 1:5",
        AnyOf(
            All((FlagKey("\\Seen", True), TextKey("from", "x"))),
            NotKey(SeqSetKey(SequenceSet(((1, 5),)))),
        ),
    ),
    ("UID 1:*", UidKey(SequenceSet(((1, STAR),)))),
    ("UID $", UidKey(SequenceSet(saved=True))),
    ("2,4:7,9,12:*", SeqSetKey(SequenceSet(((2, 2), (4, 7), (9, 9), (12, STAR))))),
    ("$", SeqSetKey(SequenceSet(saved=True))),
    ("*", SeqSetKey(SequenceSet(((STAR, STAR),)))),
    ("(SEEN)", FlagKey("\\Seen", True)),
    ("((SEEN))", FlagKey("\\Seen", True)),
    ("MODSEQ 0", ModSeqKey(0)),
    ("MODSEQ 620162338", ModSeqKey(620162338)),
    ('MODSEQ "/flags/\\\\draft" all 620162338', ModSeqKey(620162338, "/flags/\\draft", "all")),
    ('MODSEQ "/flags/$mdnsent" PRIV 1', ModSeqKey(1, "/flags/$mdnsent", "priv")),
    ("OLDER 3600", WithinKey("older", 3600)),
    ("YOUNGER 60", WithinKey("younger", 60)),
    ("EMAILID M6d99ac3275bb4e", EmailIdKey("M6d99ac3275bb4e")),
    ("THREADID T64b478a75b7ea9_-", ThreadIdKey("T64b478a75b7ea9_-")),
    ("seen", FlagKey("\\Seen", True)),
    ("from SMITH", TextKey("from", "SMITH")),
]


@pytest.mark.parametrize(("text", "expected"), KEYS, ids=[k for k, _ in KEYS])
def test_parser_search_every_key(text: str, expected: SearchKey) -> None:
    assert key(text) == expected


def test_parser_search_several_keys_are_anded() -> None:
    assert key("FLAGGED SINCE 1-Feb-1994 NOT FROM Smith") == All(
        (
            FlagKey("\\Flagged", True),
            DateKey("internal", "since", date(1994, 2, 1)),
            NotKey(TextKey("from", "Smith")),
        )
    )


def test_parser_search_utf8_strings() -> None:
    assert key("CHARSET UTF-8 TEXT {6}\r\nXXX\u00e9x") == TextKey("text", "XXX\u00e9x")
    assert key('SUBJECT "\u00e9t\u00e9"', utf8=True) == TextKey("subject", "\u00e9t\u00e9")


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (b"t SEARCH ALL", Search("t", All())),
        (b"t UID SEARCH ALL", Search("t", All(), uid=True)),
        (b"t SEARCH CHARSET utf-8 ALL", Search("t", All(), charset="UTF-8")),
        (b'T SEARCH CHARSET "US-ASCII" ALL', Search("T", All(), charset="US-ASCII")),
        (b"t SEARCH RETURN () ALL", Search("t", All(), returns=("ALL",))),
        (
            b"t SEARCH RETURN (MIN max COUNT ALL SAVE) ALL",
            Search("t", All(), returns=("MIN", "MAX", "COUNT", "ALL", "SAVE")),
        ),
        (b"t SEARCH RETURN (SAVE) ALL", Search("t", All(), returns=("SAVE",))),
        (b"t SEARCH RETURN (MIN MIN) ALL", Search("t", All(), returns=("MIN",))),
        (
            b"t UID SEARCH RETURN (COUNT) CHARSET UTF-8 UNSEEN",
            Search("t", FlagKey("\\Seen", False), "UTF-8", ("COUNT",), uid=True),
        ),
    ],
)
def test_parser_search_command(wire: bytes, expected: Search) -> None:
    assert parse_command(wire) == expected


@pytest.mark.parametrize(
    "wire",
    [
        b"t SEARCH",
        b"t SEARCH ",
        b"t SEARCH FOO",
        b"t SEARCH ALL ",
        b"t SEARCH ALL  SEEN",
        b"t SEARCH ()",
        b"t SEARCH (SEEN",
        b"t SEARCH SEEN)",
        b"t SEARCH NOT",
        b"t SEARCH OR SEEN",
        b"t SEARCH FROM",
        b"t SEARCH FROM (x)",
        b"t SEARCH BEFORE x",
        b"t SEARCH BEFORE 32-Jan-2000",
        b"t SEARCH LARGER -1",
        b"t SEARCH LARGER 99999999999999999999",
        b"t SEARCH SMALLER x",
        b"t SEARCH UID",
        b"t SEARCH UID 0",
        b"t SEARCH 0",
        b"t SEARCH 1:0",
        b"t SEARCH KEYWORD",
        b"t SEARCH KEYWORD \\Seen",
        b"t SEARCH HEADER Subject",
        b"t SEARCH MODSEQ",
        b"t SEARCH MODSEQ x",
        b'a SEARCH MODSEQ "/flags/x" 5',
        b'a SEARCH MODSEQ "/flags/x" none 5',
        b'a SEARCH MODSEQ "/other" all 5',
        b"t SEARCH OLDER 0",
        b"t SEARCH YOUNGER",
        b"t SEARCH EMAILID",
        b"t SEARCH EMAILID a.b",
        b"t SEARCH THREADID " + b"x" * 256,
        b"t SEARCH CHARSET",
        b"t SEARCH CHARSET UTF-8",
        b"t SEARCH RETURN",
        b"t SEARCH RETURN ALL",
        b"t SEARCH RETURN (FOO) ALL",
        b"t SEARCH RETURN (PARTIAL 1:*) ALL",  # RFC 5267 §5: no "*" in partial-range
        b"t SEARCH RETURN () CHARSET UTF-8",
        b"t SEARCH CHARSET UTF-8 RETURN () ALL",
        b"t SEARCH TEXT {2}\r\n\xff\xfe",
        b't SEARCH TEXT "\xc3\xa9"',
    ],
)
def test_parser_search_invalid(wire: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_command(wire)
    assert info.value.status == "BAD"
    assert info.value.tag in ("t", "a")


@pytest.mark.parametrize("charset", [b"KOI8-R", b"ISO-8859-1", b'"x y"', b"UTF-16"])
def test_parser_search_unsupported_charset_is_no_badcharset(charset: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_command(b"B283 SEARCH CHARSET " + charset + b" TEXT XXXXXX")
    assert info.value.status == "NO"
    assert info.value.code == "BADCHARSET (US-ASCII UTF-8)"
    assert info.value.tag == "B283"


def test_parser_search_nesting_is_bounded() -> None:
    ok = "(" * MAX_DEPTH + "SEEN" + ")" * MAX_DEPTH
    assert key(ok) == FlagKey("\\Seen", True)
    for deep in (
        "(" * (MAX_DEPTH + 2) + "SEEN" + ")" * (MAX_DEPTH + 2),
        "NOT " * 5000 + "SEEN",
        "OR " * 5000 + "SEEN " * 5001,
    ):
        with pytest.raises(ParseError, match="deeply"):
            key(deep)


# ---------------------------------------------------------------------------- SORT


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (
            b"a SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994",
            Sort(
                "a",
                (SortCriterion("SUBJECT"),),
                "UTF-8",
                DateKey("internal", "since", date(1994, 2, 1)),
            ),
        ),
        (
            b"a UID SORT (REVERSE ARRIVAL cc date from size subject to DISPLAYFROM "
            b"reverse DISPLAYTO) US-ASCII ALL",
            Sort(
                "a",
                (
                    SortCriterion("ARRIVAL", True),
                    SortCriterion("CC"),
                    SortCriterion("DATE"),
                    SortCriterion("FROM"),
                    SortCriterion("SIZE"),
                    SortCriterion("SUBJECT"),
                    SortCriterion("TO"),
                    SortCriterion("DISPLAYFROM"),
                    SortCriterion("DISPLAYTO", True),
                ),
                "US-ASCII",
                All(),
                uid=True,
            ),
        ),
        (
            b"E01 UID SORT RETURN () (REVERSE DATE) UTF-8 UNDELETED UNKEYWORD $Junk",
            Sort(
                "E01",
                (SortCriterion("DATE", True),),
                "UTF-8",
                All((FlagKey("\\Deleted", False), KeywordKey("$Junk", False))),
                returns=("ALL",),
                uid=True,
            ),
        ),
        (
            b"a SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL",
            Sort(
                "a",
                (SortCriterion("DATE"),),
                "UTF-8",
                All(),
                returns=("MIN", "MAX", "COUNT"),
            ),
        ),
        (
            b"a THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000",
            Thread("a", "ORDEREDSUBJECT", "UTF-8", DateKey("internal", "since", date(2000, 3, 5))),
        ),
        (
            b"a UID THREAD references US-ASCII TEXT x",
            Thread("a", "REFERENCES", "US-ASCII", TextKey("text", "x"), uid=True),
        ),
    ],
)
def test_parser_search_sort_and_thread(wire: bytes, expected: Sort | Thread) -> None:
    assert parse_command(wire) == expected


@pytest.mark.parametrize(
    "wire",
    [
        b"a SORT",
        b"a SORT () UTF-8 ALL",
        b"a SORT (DATE)",
        b"a SORT (DATE) UTF-8",
        b"a SORT DATE UTF-8 ALL",
        b"a SORT (REVERSE) UTF-8 ALL",
        b"a SORT (REVERSE  DATE) UTF-8 ALL",
        b"a SORT (BOGUS) UTF-8 ALL",
        b"a SORT RETURN (BOGUS) (DATE) UTF-8 ALL",
        b"a THREAD",
        b"a THREAD REFERENCES",
        b"a THREAD REFERENCES UTF-8",
        b"a THREAD REFS UTF-8 ALL",
        b"a THREAD (REFERENCES) UTF-8 ALL",
    ],
)
def test_parser_search_sort_and_thread_invalid(wire: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_command(wire)
    assert info.value.status == "BAD"


def test_parser_search_sort_unsupported_charset() -> None:
    with pytest.raises(ParseError) as info:
        parse_command(b"a SORT (DATE) KOI8-R ALL")
    assert (info.value.status, info.value.code) == ("NO", "BADCHARSET (US-ASCII UTF-8)")
    with pytest.raises(ParseError) as info:
        parse_command(b"a THREAD REFERENCES KOI8-R ALL")
    assert info.value.status == "NO"


_WORDS = st.sampled_from(
    [
        "ALL",
        "NOT",
        "OR",
        "(",
        ")",
        "SEEN",
        "FROM",
        "x",
        '"q"',
        "1:*",
        "$",
        "UID",
        "BEFORE",
        "1-Feb-1994",
        "LARGER",
        "5",
        "HEADER",
        "MODSEQ",
        "CHARSET",
        "UTF-8",
        "RETURN",
        "()",
        " ",
    ]
)


@settings(max_examples=300)
@given(st.lists(_WORDS, max_size=12))
def test_parser_search_random_keys_parse_or_fail_cleanly(words: list[str]) -> None:
    wire = ("t SEARCH " + " ".join(words)).encode()
    try:
        cmd = parse_command(wire)
    except ParseError as e:
        assert e.tag == "t"
    else:
        assert isinstance(cmd, Search)
