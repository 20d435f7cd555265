"""FETCH, STORE and their UID forms: every fetch item, macros, modifiers (RFC 9051 §6.4.5,
§6.4.6; RFC 3501 §6.4.5; RFC 3516; RFC 7162; RFC 8474; RFC 8970)."""

from __future__ import annotations

import pytest

from plugins.imap.proto.commands import Fetch, Store
from plugins.imap.proto.fetch_items import (
    BinarySection,
    BinarySize,
    BodySection,
    FetchItem,
    Section,
    SimpleItem,
)
from plugins.imap.proto.parser import ParseError, parse_command
from plugins.imap.proto.parser.fetch import MACROS
from plugins.imap.proto.sequence import STAR, SequenceSet


def items(text: str) -> tuple[FetchItem, ...]:
    cmd = parse_command(b"t FETCH 1 " + text.encode())
    assert isinstance(cmd, Fetch)
    return cmd.items


ITEMS: list[tuple[str, FetchItem]] = [
    ("ENVELOPE", SimpleItem("ENVELOPE")),
    ("FLAGS", SimpleItem("FLAGS")),
    ("INTERNALDATE", SimpleItem("INTERNALDATE")),
    ("RFC822.SIZE", SimpleItem("RFC822.SIZE")),
    ("RFC822", SimpleItem("RFC822")),
    ("RFC822.HEADER", SimpleItem("RFC822.HEADER")),
    ("RFC822.TEXT", SimpleItem("RFC822.TEXT")),
    ("BODY", SimpleItem("BODY")),
    ("BODYSTRUCTURE", SimpleItem("BODYSTRUCTURE")),
    ("UID", SimpleItem("UID")),
    ("MODSEQ", SimpleItem("MODSEQ")),
    ("EMAILID", SimpleItem("EMAILID")),
    ("THREADID", SimpleItem("THREADID")),
    ("PREVIEW", SimpleItem("PREVIEW")),
    ("PREVIEW (LAZY)", SimpleItem("PREVIEW")),
    ("preview (lazy LAZY)", SimpleItem("PREVIEW")),
    ("uid", SimpleItem("UID")),
    ("BODY[]", BodySection(Section())),
    ("BODY.PEEK[]", BodySection(Section(), peek=True)),
    ("body.peek[]<0.2048>", BodySection(Section(), peek=True, partial=(0, 2048))),
    ("BODY[HEADER]", BodySection(Section((), "HEADER"))),
    ("BODY[TEXT]", BodySection(Section((), "TEXT"))),
    ("BODY[1]", BodySection(Section((1,)))),
    ("BODY[1.2.3]", BodySection(Section((1, 2, 3)))),
    ("BODY[1.2.MIME]", BodySection(Section((1, 2), "MIME"))),
    ("BODY[4.2.HEADER]", BodySection(Section((4, 2), "HEADER"))),
    ("BODY[3.TEXT]", BodySection(Section((3,), "TEXT"))),
    (
        "BODY[HEADER.FIELDS (DATE FROM)]",
        BodySection(Section((), "HEADER.FIELDS", ("DATE", "FROM"))),
    ),
    (
        'BODY.PEEK[header.fields.not (x-spam "Received")]<10.20>',
        BodySection(
            Section((), "HEADER.FIELDS.NOT", ("X-SPAM", "RECEIVED")), peek=True, partial=(10, 20)
        ),
    ),
    (
        "BODY[2.HEADER.FIELDS (Subject)]",
        BodySection(Section((2,), "HEADER.FIELDS", ("SUBJECT",))),
    ),
    ("BINARY[]", BinarySection(())),
    ("BINARY[1.2]", BinarySection((1, 2))),
    ("BINARY.PEEK[1]<0.100>", BinarySection((1,), peek=True, partial=(0, 100))),
    ("BINARY.SIZE[1]", BinarySize((1,))),
    ("BINARY.SIZE[]", BinarySize(())),
]


@pytest.mark.parametrize(("text", "item"), ITEMS, ids=[t for t, _ in ITEMS])
def test_parser_fetch_every_item(text: str, item: FetchItem) -> None:
    assert items(text) == (item,)
    assert items(f"({text})") == (item,)


def test_parser_fetch_macros_are_expanded() -> None:
    flags, date, size, env, body = (
        SimpleItem("FLAGS"),
        SimpleItem("INTERNALDATE"),
        SimpleItem("RFC822.SIZE"),
        SimpleItem("ENVELOPE"),
        SimpleItem("BODY"),
    )
    assert items("ALL") == (flags, date, size, env)
    assert items("fast") == (flags, date, size)
    assert items("FULL") == (flags, date, size, env, body)


def test_parser_fetch_list_keeps_order() -> None:
    assert items("(UID FLAGS BODY.PEEK[HEADER] PREVIEW (LAZY) MODSEQ)") == (
        SimpleItem("UID"),
        SimpleItem("FLAGS"),
        BodySection(Section((), "HEADER"), peek=True),
        SimpleItem("PREVIEW"),
        SimpleItem("MODSEQ"),
    )


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (
            b"a FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])",
            Fetch(
                "a",
                SequenceSet(((2, 4),)),
                (
                    SimpleItem("FLAGS"),
                    BodySection(Section((), "HEADER.FIELDS", ("DATE", "FROM"))),
                ),
            ),
        ),
        (
            b"a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)",
            Fetch(
                "a",
                SequenceSet(((1, STAR),)),
                (SimpleItem("FLAGS"),),
                changed_since=12345,
                uid=True,
            ),
        ),
        (
            b"a FETCH 1:* FLAGS (CHANGEDSINCE 1)",
            Fetch("a", SequenceSet(((1, STAR),)), (SimpleItem("FLAGS"),), changed_since=1),
        ),
        (
            b"a UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)",
            Fetch(
                "a",
                SequenceSet(((300, 500),)),
                (SimpleItem("FLAGS"),),
                changed_since=12345,
                vanished=True,
                uid=True,
            ),
        ),
        (
            b"a UID FETCH 1 PREVIEW (VANISHED CHANGEDSINCE 3)",
            Fetch(
                "a",
                SequenceSet(((1, 1),)),
                (SimpleItem("PREVIEW"),),
                changed_since=3,
                vanished=True,
                uid=True,
            ),
        ),
        (
            b"a FETCH $ ALL (CHANGEDSINCE 9)",
            Fetch(
                "a",
                SequenceSet(saved=True),
                MACROS["ALL"],
                changed_since=9,
            ),
        ),
    ],
)
def test_parser_fetch_command(wire: bytes, expected: Fetch) -> None:
    assert parse_command(wire) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "()",
        "(FLAGS",
        "FLAGS)",
        "(ALL)",  # macros only stand alone
        "(FLAGS ALL)",
        "FOO",
        "(FLAGS  UID)",
        "BODY[",
        "BODY[]<",
        "BODY[]<0>",
        "BODY[]<0.0>",
        "BODY[]<-1.5>",
        "BODY[0]",
        "BODY[1.0]",
        "BODY[01]",
        "BODY[MIME]",
        "BODY[1.]",
        "BODY[1.FOO]",
        "BODY[HEADER.FIELDS]",
        "BODY[HEADER.FIELDS ()]",
        "BODY[HEADER.FIELDS (a]",
        "BODY[HEADER] ",
        "BODY [HEADER]",
        "BINARY[TEXT]",
        "BINARY[1.MIME]",
        "BINARY.SIZE[1]<0.5>",
        "FLAGS[]",
        "RFC822.SIZE[1]",
        "PREVIEW (FUZZY)",
        "PREVIEW ()",
        "FLAGS (CHANGEDSINCE 0)",
        "FLAGS (CHANGEDSINCE x)",
        "FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)",
        "FLAGS (FOO)",
        "FLAGS ()",
        "FLAGS (VANISHED)",  # needs UID FETCH and CHANGEDSINCE
        "FLAGS (CHANGEDSINCE 1 VANISHED)",  # needs UID FETCH
        "FLAGS (CHANGEDSINCE 1) x",
    ],
)
def test_parser_fetch_invalid(text: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_command(b"t FETCH 1 " + text.encode())
    assert (info.value.status, info.value.tag) == ("BAD", "t")


@pytest.mark.parametrize(
    "wire",
    [
        b"t FETCH",
        b"t FETCH 1",
        b"t FETCH 0 FLAGS",
        b"t FETCH x FLAGS",
        b"t UID FETCH 1 (FLAGS) (VANISHED)",
    ],
)
def test_parser_fetch_invalid_command(wire: bytes) -> None:
    with pytest.raises(ParseError):
        parse_command(wire)


# --------------------------------------------------------------------------- STORE


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (
            b"A003 STORE 2:4 +FLAGS (\\Deleted)",
            Store("A003", SequenceSet(((2, 4),)), "add", ("\\Deleted",)),
        ),
        (
            b"a STORE 1 FLAGS ()",
            Store("a", SequenceSet(((1, 1),)), "set", ()),
        ),
        (
            b"a STORE 1 flags.silent \\seen $Junk",
            Store("a", SequenceSet(((1, 1),)), "set", ("\\Seen", "$Junk"), silent=True),
        ),
        (
            b"a UID STORE 1:* -FLAGS.SILENT (\\Flagged foo)",
            Store(
                "a",
                SequenceSet(((1, STAR),)),
                "remove",
                ("\\Flagged", "foo"),
                silent=True,
                uid=True,
            ),
        ),
        (
            b"d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)",
            Store(
                "d105",
                SequenceSet(((7, 7), (5, 5), (9, 9))),
                "add",
                ("\\Deleted",),
                silent=True,
                unchanged_since=320162338,
            ),
        ),
        (
            b"a UID STORE $ (unchangedsince 0) FLAGS (\\Seen)",
            Store("a", SequenceSet(saved=True), "set", ("\\Seen",), unchanged_since=0, uid=True),
        ),
    ],
)
def test_parser_fetch_store(wire: bytes, expected: Store) -> None:
    assert parse_command(wire) == expected


@pytest.mark.parametrize(
    "wire",
    [
        b"a STORE",
        b"a STORE 1",
        b"a STORE 1 FLAGS",
        b"a STORE 1 +FLAGS",
        b"a STORE 1 *FLAGS (x)",
        b"a STORE 1 FLAGZ (x)",
        b"a STORE 1 FLAGS.LOUD (x)",
        b"a STORE 1 +-FLAGS (x)",
        b"a STORE 1 FLAGS (x",
        b"a STORE 1 FLAGS x  y",
        b"a STORE 1 FLAGS (\\)",
        b"a STORE 1 () FLAGS (x)",
        b"a STORE 1 (UNCHANGEDSINCE) FLAGS (x)",
        b"a STORE 1 (UNCHANGEDSINCE 1 UNCHANGEDSINCE 2) FLAGS (x)",
        b"a STORE 1 (FOO 1) FLAGS (x)",
        b"a STORE 1 X-GM-LABELS (x)",
        b"a STORE 1 FLAGS (x) extra",
    ],
)
def test_parser_fetch_store_invalid(wire: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_command(wire)
    assert info.value.status == "BAD"
