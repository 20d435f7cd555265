"""Every IMAP command but SEARCH/SORT/THREAD/FETCH/STORE (plugins.imap.proto.parser)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from plugins.imap.proto.commands import (
    Append,
    AppendMessage,
    Authenticate,
    Capability,
    Check,
    Close,
    Command,
    Compress,
    Copy,
    Create,
    Delete,
    DeleteAcl,
    Enable,
    Examine,
    Expunge,
    GetAcl,
    GetMetadata,
    GetQuota,
    GetQuotaRoot,
    Id,
    Idle,
    List,
    ListMetadata,
    ListRights,
    Login,
    Logout,
    Lsub,
    Move,
    MyRights,
    Namespace,
    Noop,
    Notify,
    NotifyEvent,
    NotifyGroup,
    QResync,
    Rename,
    Select,
    SetAcl,
    SetMetadata,
    SetQuota,
    StartTls,
    Status,
    Subscribe,
    UidExpunge,
    Unselect,
    Unsubscribe,
)
from plugins.imap.proto.fetch_items import BodySection, Section, SimpleItem
from plugins.imap.proto.parser import COMMAND_NAMES, ParseError, parse_command, parse_tag
from plugins.imap.proto.parser.auth import decode_base64
from plugins.imap.proto.sequence import STAR, SequenceSet


def seq(*ranges: tuple[int, int]) -> SequenceSet:
    return SequenceSet(tuple(ranges))


PST = timezone(timedelta(hours=-8))

VALID: list[tuple[bytes, Command]] = [
    # RFC 9051 §6.1: any state.
    (b"a CAPABILITY", Capability("a")),
    (b"a capability", Capability("a")),
    (b"a NOOP", Noop("a")),
    (b"a LOGOUT", Logout("a")),
    (b"a ID NIL", Id("a", None)),
    (b"a ID ()", Id("a", ())),
    (
        b'a ID ("name" "sodr" "version" "19.34" "vendor" NIL)',
        Id("a", (("name", "sodr"), ("version", "19.34"), ("vendor", None))),
    ),
    (b"a ID ({4}\r\nname {1}\r\nx)", Id("a", (("name", "x"),))),
    # RFC 9051 §6.2: not authenticated.
    (b"a STARTTLS", StartTls("a")),
    (b"a AUTHENTICATE plain", Authenticate("a", "PLAIN")),
    (b"a AUTHENTICATE PLAIN =", Authenticate("a", "PLAIN", b"")),
    (
        b"a AUTHENTICATE PLAIN AGZyZWQAdGVzdA==",
        Authenticate("a", "PLAIN", b"\x00fred\x00test"),
    ),
    (b"a AUTHENTICATE SCRAM-SHA-256 eA==", Authenticate("a", "SCRAM-SHA-256", b"x")),
    (b"a LOGIN fred test", Login("a", "fred", "test")),
    (b'a LOGIN "fred" "p w\\"d"', Login("a", "fred", 'p w"d')),
    (b"a LOGIN {4+}\r\nfred {2}\r\n}]", Login("a", "fred", "}]")),
    (b"a LOGIN fred]x pass", Login("a", "fred]x", "pass")),
    # RFC 9051 §6.3: authenticated.
    (b"a ENABLE utf8=accept CONDSTORE", Enable("a", ("UTF8=ACCEPT", "CONDSTORE"))),
    (b"a ENABLE IMAP4rev2", Enable("a", ("IMAP4REV2",))),
    (b"a SELECT inbox", Select("a", "INBOX")),
    (b'a SELECT "Sent Items"', Select("a", "Sent Items")),
    (b"a SELECT INBOX (CONDSTORE)", Select("a", "INBOX", condstore=True)),
    (
        b"a SELECT INBOX (QRESYNC (67890007 20050715194045000))",
        Select("a", "INBOX", qresync=QResync(67890007, 20050715194045000)),
    ),
    (
        b"a SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541))",
        Select(
            "a",
            "INBOX",
            qresync=QResync(67890007, 90060115194045000, seq((41, 211), (214, 541))),
        ),
    ),
    (
        b"a EXAMINE INBOX (QRESYNC (67890007 90060115194045000 1:29997 "
        b"(5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976:29997)))",
        Examine(
            "a",
            "INBOX",
            qresync=QResync(
                67890007,
                90060115194045000,
                seq((1, 29997)),
                (
                    seq((5000, 5000), (7500, 7500), (9000, 9000), (9990, 9999)),
                    seq(
                        (15000, 15000),
                        (22500, 22500),
                        (27000, 27000),
                        (29970, 29970),
                        (29973, 29973),
                        (29976, 29997),
                    ),
                ),
            ),
        ),
    ),
    (
        b"a SELECT INBOX (QRESYNC (1 2 (1:3 10:12)))",
        Select("a", "INBOX", qresync=QResync(1, 2, None, (seq((1, 3)), seq((10, 12))))),
    ),
    (
        b"a SELECT INBOX (CONDSTORE QRESYNC (1 2))",
        Select("a", "INBOX", condstore=True, qresync=QResync(1, 2)),
    ),
    (b"a EXAMINE blurdybloop", Examine("a", "blurdybloop")),
    (b"a CREATE owatagusiam/", Create("a", "owatagusiam/")),
    (
        b"a CREATE MySpecial (USE (\\drafts \\Sent))",
        Create("a", "MySpecial", ("\\Drafts", "\\Sent")),
    ),
    (b"a CREATE X (USE ())", Create("a", "X", ())),
    (b"a CREATE X (USE (\\Important))", Create("a", "X", ("\\Important",))),
    (b"a DELETE blurdybloop", Delete("a", "blurdybloop")),
    (b"a RENAME blurdybloop sarasoop", Rename("a", "blurdybloop", "sarasoop")),
    (b"a RENAME inbox old-mail", Rename("a", "INBOX", "old-mail")),
    (b"a SUBSCRIBE #news.comp.mail.mime", Subscribe("a", "#news.comp.mail.mime")),
    (b"a UNSUBSCRIBE #news.comp.mail.mime", Unsubscribe("a", "#news.comp.mail.mime")),
    (b'a LIST "" ""', List("a", "", ("",))),
    (b'a LIST "#news.comp.mail.misc" "*"', List("a", "#news.comp.mail.misc", ("*",))),
    (b"a LIST ~/Mail/ %", List("a", "~/Mail/", ("%",))),
    (b'a LIST "" INBOX', List("a", "", ("INBOX",))),
    (b'a LIST () "" %', List("a", "", ("%",), extended=True)),
    (
        b'a LIST (SUBSCRIBED) "" "*"',
        List("a", "", ("*",), subscribed=True, extended=True),
    ),
    (
        b'a LIST (subscribed remote RECURSIVEMATCH) "" %',
        List("a", "", ("%",), subscribed=True, remote=True, recursive_match=True, extended=True),
    ),
    (
        b'a LIST (SPECIAL-USE) "" "*"',
        List("a", "", ("*",), special_use=True, extended=True),
    ),
    (
        b'a LIST (SPECIAL-USE RECURSIVEMATCH) "" "*"',
        List("a", "", ("*",), special_use=True, recursive_match=True, extended=True),
    ),
    (b'a LIST "" (INBOX Drafts/%)', List("a", "", ("INBOX", "Drafts/%"), extended=True)),
    (
        b'a LIST "" % RETURN (CHILDREN SUBSCRIBED special-use)',
        List(
            "a",
            "",
            ("%",),
            return_children=True,
            return_subscribed=True,
            return_special_use=True,
            extended=True,
        ),
    ),
    (b'a LIST "" % RETURN ()', List("a", "", ("%",), extended=True)),
    (
        b'a LIST "" % RETURN (CHILDREN CHILDREN)',
        List("a", "", ("%",), return_children=True, extended=True),
    ),
    (
        b'a LIST "" % RETURN (STATUS (MESSAGES UNSEEN SIZE MAILBOXID))',
        List(
            "a",
            "",
            ("%",),
            return_status=("MESSAGES", "UNSEEN", "SIZE", "MAILBOXID"),
            extended=True,
        ),
    ),
    (
        b'a LIST "" % RETURN (METADATA (/shared/comment /private/comment))',
        List(
            "a",
            "",
            ("%",),
            return_metadata=ListMetadata(("/shared/comment", "/private/comment")),
            extended=True,
        ),
    ),
    (
        b'a LIST "" % RETURN (METADATA (MAXSIZE 1024 /shared/comment))',
        List(
            "a", "", ("%",), return_metadata=ListMetadata(("/shared/comment",), 1024), extended=True
        ),
    ),
    (
        b'a LIST "" % RETURN (METADATA ((MAXSIZE 10) (/shared/a /shared/b)))',
        List(
            "a",
            "",
            ("%",),
            return_metadata=ListMetadata(("/shared/a", "/shared/b"), 10),
            extended=True,
        ),
    ),
    (b'a LSUB "#news." "comp.mail.*"', Lsub("a", "#news.", "comp.mail.*")),
    (b"a NAMESPACE", Namespace("a")),
    (
        b"a STATUS blurdybloop (UIDNEXT MESSAGES)",
        Status("a", "blurdybloop", ("UIDNEXT", "MESSAGES")),
    ),
    (
        b"a STATUS inbox (messages uidnext uidvalidity unseen deleted size recent "
        b"highestmodseq appendlimit mailboxid)",
        Status(
            "a",
            "INBOX",
            (
                "MESSAGES",
                "UIDNEXT",
                "UIDVALIDITY",
                "UNSEEN",
                "DELETED",
                "SIZE",
                "RECENT",
                "HIGHESTMODSEQ",
                "APPENDLIMIT",
                "MAILBOXID",
            ),
        ),
    ),
    (
        b"a APPEND saved-messages {3}\r\nabc",
        Append("a", "saved-messages", (AppendMessage(b"abc"),)),
    ),
    (
        b'a APPEND saved-messages (\\Seen) "07-Feb-1994 21:52:25 -0800" {5+}\r\nhello',
        Append(
            "a",
            "saved-messages",
            (AppendMessage(b"hello", ("\\Seen",), datetime(1994, 2, 7, 21, 52, 25, tzinfo=PST)),),
        ),
    ),
    (
        b'a APPEND INBOX " 7-Feb-1994 21:52:25 -0800" {1}\r\nx',
        Append(
            "a",
            "INBOX",
            (AppendMessage(b"x", (), datetime(1994, 2, 7, 21, 52, 25, tzinfo=PST)),),
        ),
    ),
    (b"a APPEND INBOX () {0}\r\n", Append("a", "INBOX", (AppendMessage(b""),))),
    (
        b"a APPEND INBOX ~{3}\r\n\x00\x01\x02",
        Append("a", "INBOX", (AppendMessage(b"\x00\x01\x02", binary=True),)),
    ),
    (
        b"a APPEND INBOX UTF8 (~{2+}\r\nhi)",
        Append("a", "INBOX", (AppendMessage(b"hi", binary=True, utf8=True),)),
    ),
    (
        b"a APPEND INBOX utf8 ({2}\r\nhi)",
        Append("a", "INBOX", (AppendMessage(b"hi", utf8=True),)),
    ),
    (
        b"a APPEND INBOX (\\Seen) {3}\r\none (\\Draft $Junk) {3}\r\ntwo {5}\r\nthree",
        Append(
            "a",
            "INBOX",
            (
                AppendMessage(b"one", ("\\Seen",)),
                AppendMessage(b"two", ("\\Draft", "$Junk")),
                AppendMessage(b"three"),
            ),
        ),
    ),
    (b"a IDLE", Idle("a")),
    (b"a NOTIFY NONE", Notify("a", None)),
    (
        b"a NOTIFY SET (selected (MessageNew (uid body.peek[header.fields (from to subject)]) "
        b"MessageExpunge)) (subtree Lists (MessageNew MessageExpunge FlagChange)) "
        b"(mailboxes (INBOX Drafts) NONE) (personal (MailboxName SubscriptionChange))",
        Notify(
            "a",
            (
                NotifyGroup(
                    "SELECTED",
                    (),
                    (
                        NotifyEvent(
                            "MessageNew",
                            (
                                SimpleItem("UID"),
                                BodySection(
                                    Section((), "HEADER.FIELDS", ("FROM", "TO", "SUBJECT")),
                                    peek=True,
                                ),
                            ),
                        ),
                        NotifyEvent("MessageExpunge"),
                    ),
                ),
                NotifyGroup(
                    "SUBTREE",
                    ("Lists",),
                    (
                        NotifyEvent("MessageNew"),
                        NotifyEvent("MessageExpunge"),
                        NotifyEvent("FlagChange"),
                    ),
                ),
                NotifyGroup("MAILBOXES", ("INBOX", "Drafts"), ()),
                NotifyGroup(
                    "PERSONAL", (), (NotifyEvent("MailboxName"), NotifyEvent("SubscriptionChange"))
                ),
            ),
        ),
    ),
    (
        b"a NOTIFY SET STATUS (inboxes (messagenew messageexpunge AnnotationChange "
        b"MailboxMetadataChange ServerMetadataChange XFoo)) (selected-delayed NONE) "
        b"(subscribed NONE)",
        Notify(
            "a",
            (
                NotifyGroup(
                    "INBOXES",
                    (),
                    (
                        NotifyEvent("MessageNew"),
                        NotifyEvent("MessageExpunge"),
                        NotifyEvent("AnnotationChange"),
                        NotifyEvent("MailboxMetadataChange"),
                        NotifyEvent("ServerMetadataChange"),
                        NotifyEvent("XFoo"),
                    ),
                ),
                NotifyGroup("SELECTED-DELAYED"),
                NotifyGroup("SUBSCRIBED"),
            ),
            status=True,
        ),
    ),
    # RFC 9208 QUOTA.
    (b'a GETQUOTA ""', GetQuota("a", "")),
    (b"a GETQUOTAROOT inbox", GetQuotaRoot("a", "INBOX")),
    (
        b'a SETQUOTA "" (storage 512 MESSAGE 1000)',
        SetQuota("a", "", (("STORAGE", 512), ("MESSAGE", 1000))),
    ),
    (b'a SETQUOTA "" ()', SetQuota("a", "", ())),
    # RFC 4314 ACL.
    (b"a SETACL INBOX Fred rwipslxetad", SetAcl("a", "INBOX", "Fred", "replace", "rwipslxetad")),
    (b"a SETACL INBOX Fred +k", SetAcl("a", "INBOX", "Fred", "add", "k")),
    (b'a SETACL INBOX "Fred" "-x"', SetAcl("a", "INBOX", "Fred", "remove", "x")),
    (b'a SETACL INBOX Fred ""', SetAcl("a", "INBOX", "Fred", "replace", "")),
    (b"a DELETEACL INBOX Fred", DeleteAcl("a", "INBOX", "Fred")),
    (b"a GETACL INBOX", GetAcl("a", "INBOX")),
    (b"a LISTRIGHTS ~/Mail/saved smith", ListRights("a", "~/Mail/saved", "smith")),
    (b"a MYRIGHTS INBOX", MyRights("a", "INBOX")),
    # RFC 5464 METADATA.
    (b'a GETMETADATA "" /shared/comment', GetMetadata("a", "", ("/shared/comment",))),
    (
        b'a GETMETADATA "INBOX" (/shared/comment /private/comment)',
        GetMetadata("a", "INBOX", ("/shared/comment", "/private/comment")),
    ),
    (
        b"a GETMETADATA (MAXSIZE 1024 DEPTH infinity) INBOX /private/filters",
        GetMetadata("a", "INBOX", ("/private/filters",), 1024, "infinity"),
    ),
    (
        b'a GETMETADATA "INBOX" (MAXSIZE 1024) (/shared/comment /private/comment)',
        GetMetadata("a", "INBOX", ("/shared/comment", "/private/comment"), 1024),
    ),
    (
        b'a GETMETADATA "INBOX" (DEPTH 1) (/private/filters/values)',
        GetMetadata("a", "INBOX", ("/private/filters/values",), None, "1"),
    ),
    (
        b"a SETMETADATA INBOX (/private/comment {33}\r\nMy new comment across\r\ntwo lines.)",
        SetMetadata("a", "INBOX", (("/private/comment", b"My new comment across\r\ntwo lines."),)),
    ),
    (
        b'a SETMETADATA "" (/shared/comment "x" /private/comment NIL /shared/b ~{1}\r\n\x00)',
        SetMetadata(
            "a",
            "",
            (("/shared/comment", b"x"), ("/private/comment", None), ("/shared/b", b"\x00")),
        ),
    ),
    # RFC 4978.
    (b"a COMPRESS deflate", Compress("a", "DEFLATE")),
    # RFC 9051 §6.4: selected.
    (b"a CHECK", Check("a")),
    (b"a CLOSE", Close("a")),
    (b"a UNSELECT", Unselect("a")),
    (b"a EXPUNGE", Expunge("a")),
    (b"a UID EXPUNGE 3000:3002", UidExpunge("a", seq((3000, 3002)))),
    (b"a uid expunge $", UidExpunge("a", SequenceSet(saved=True))),
    (b"a COPY 2:4 MEETING", Copy("a", seq((2, 4)), "MEETING")),
    (b"a UID COPY 1:* inbox", Copy("a", seq((1, STAR)), "INBOX", uid=True)),
    (b"a MOVE 1:3 Trash", Move("a", seq((1, 3)), "Trash")),
    (b"a UID MOVE 42 Trash", Move("a", seq((42, 42)), "Trash", uid=True)),
    (b"a UID MOVE $ {5}\r\nTrash", Move("a", SequenceSet(saved=True), "Trash", uid=True)),
    # Tags: any ASTRING-CHAR but "+".
    (b"A001] NOOP", Noop("A001]")),
    (b"~x.1 NOOP", Noop("~x.1")),
]


@pytest.mark.parametrize(
    ("wire", "expected"), VALID, ids=[w[:40].decode("latin-1") for w, _ in VALID]
)
def test_parser_commands_valid(wire: bytes, expected: Command) -> None:
    assert parse_command(wire) == expected


INVALID: list[bytes] = [
    b"",
    b" NOOP",
    b"a",
    b"a ",
    b"a+b NOOP",  # "+" is not allowed in a tag
    b"a* NOOP",
    b"a{1} NOOP",
    b"a\x00 NOOP",
    b"\xffa NOOP",
    b"a FROB",
    b"a NOOP extra",
    b"a NOOP ",
    b"a  NOOP",
    b"a\tNOOP",
    b"a UID",
    b"a UID NOOP",
    b"a UID SELECT INBOX",
    b"a ID",
    b'a ID ("name")',
    b'a ID ("name" "x" "v")',
    b'a ID (name "x")',  # field names are strings, not atoms
    b"a ID (" + b'"f" "v" ' * 30 + b'"f" "v")',  # 31 pairs
    b'a ID ("' + b"f" * 31 + b'" "v")',
    b'a ID ("f" "' + b"v" * 1025 + b'")',
    b"a STARTTLS now",
    b"a AUTHENTICATE",
    b"a AUTHENTICATE PLAIN AGZy!",
    b"a AUTHENTICATE PLAIN AGZ",
    b"a AUTHENTICATE PLAIN ==",
    b"a AUTHENTICATE PLAIN  eA==",
    b"a AUTHENTICATE PLAIN eA== x",
    b"a LOGIN fred",
    b"a LOGIN fred pass extra",
    b"a LOGIN (fred) pass",
    b"a LOGIN fred {2}\r\n\xff\xfe",
    b"a ENABLE",
    b"a ENABLE ",
    b"a SELECT",
    b"a SELECT INBOX ()",
    b"a SELECT INBOX (FOO)",
    b"a SELECT INBOX (CONDSTORE CONDSTORE)",
    b"a SELECT INBOX (QRESYNC)",
    b"a SELECT INBOX (QRESYNC ())",
    b"a SELECT INBOX (QRESYNC (0 1))",
    b"a SELECT INBOX (QRESYNC (1 0))",
    b"a SELECT INBOX (QRESYNC (1 2 1:*))",
    b"a SELECT INBOX (QRESYNC (1 2 $))",
    b"a SELECT INBOX (QRESYNC (1 2 1:3 1:3))",
    b"a SELECT INBOX (QRESYNC (1 2 (1:3)))",
    b"a SELECT INBOX (QRESYNC (1 2) QRESYNC (1 2))",
    b"a CREATE",
    b"a CREATE X (USE)",
    b"a CREATE X (USE (Drafts))",
    b"a CREATE X (FOO (1))",
    b"a CREATE X (USE () USE ())",
    b"a DELETE",
    b"a RENAME x",
    b"a SUBSCRIBE",
    b"a UNSUBSCRIBE a b",
    b"a LIST",
    b'a LIST ""',
    b'a LIST "" % %',
    b'a LIST "" ()',
    b'a LIST (FOO) "" %',
    b'a LIST (RECURSIVEMATCH) "" %',
    b'a LIST (REMOTE RECURSIVEMATCH) "" %',
    b'a LIST "" % RETURN',
    b'a LIST "" % RETURN (FOO)',
    b'a LIST "" % RETURN (STATUS ())',
    b'a LIST "" % RETURN (STATUS (BOGUS))',
    b'a LIST "" % RETURN (METADATA ())',
    b'a LIST "" % RETURN (METADATA (/a/*))',
    b'a LIST "" % RETURN (METADATA ((DEPTH 1) /a))',
    b'a LIST "" % RETURNS (CHILDREN)',
    b'a LSUB ""',
    b'a LSUB "" % %',
    b"a STATUS INBOX",
    b"a STATUS INBOX ()",
    b"a STATUS INBOX (MESSAGES",
    b"a STATUS INBOX (FOO)",
    b"a APPEND INBOX",
    b"a APPEND INBOX abc",
    b'a APPEND INBOX "abc"',
    b"a APPEND INBOX (\\Seen)",
    b"a APPEND INBOX (\\Seen) {3}\r\nabc extra",
    b'a APPEND INBOX "7-Feb-1994 21:52:25 -0800" {1}\r\nx',
    b"a APPEND INBOX {3}\r\na\x00b",
    b"a APPEND INBOX UTF8 {2}\r\nhi",
    b"a APPEND INBOX UTF8 (~{2}\r\nhi",
    b"a APPEND INBOX {3}\r\nabc{1}\r\nx",
    b"a IDLE now",
    b"a NOTIFY",
    b"a NOTIFY ALL",
    b"a NOTIFY NONE now",
    b"a NOTIFY SET",
    b"a NOTIFY SET ()",
    b"a NOTIFY SET (selected)",
    b"a NOTIFY SET (everything (MessageNew))",
    b"a NOTIFY SET (subtree (MessageNew))",
    b"a NOTIFY SET (subtree () (MessageNew))",
    b"a NOTIFY SET (selected ())",
    b"a NOTIFY SET (selected (MessageNew (FOO)))",
    b"a GETQUOTA",
    b"a GETQUOTAROOT",
    b'a SETQUOTA "" (STORAGE)',
    b'a SETQUOTA "" (STORAGE -1)',
    b'a SETQUOTA "" STORAGE 1',
    b"a SETACL INBOX Fred",
    b"a DELETEACL INBOX",
    b"a GETACL",
    b"a LISTRIGHTS INBOX",
    b"a MYRIGHTS INBOX x",
    b"a GETMETADATA INBOX",
    b"a GETMETADATA INBOX /a/*",
    b"a GETMETADATA INBOX ()",
    b"a GETMETADATA (DEPTH 2) INBOX /a",
    b"a GETMETADATA (FOO 1) INBOX /a",
    b"a GETMETADATA (MAXSIZE 1) INBOX (MAXSIZE 2) /a",
    b"a SETMETADATA INBOX ()",
    b"a SETMETADATA INBOX (/a)",
    b"a SETMETADATA INBOX /a x",
    b"a SETMETADATA INBOX (/a x)",
    b"a COMPRESS",
    b"a COMPRESS GZIP",
    b"a CHECK x",
    b"a CLOSE x",
    b"a UNSELECT x",
    b"a EXPUNGE 1",
    b"a UID EXPUNGE",
    b"a UID EXPUNGE 0",
    b"a COPY 1",
    b"a COPY 1 a b",
    b"a COPY x INBOX",
    b"a MOVE 1:* ",
    b"a UID MOVE -1 x",
]


@pytest.mark.parametrize("wire", INVALID, ids=[w[:40].decode("latin-1") for w in INVALID])
def test_parser_commands_invalid(wire: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_command(wire)
    assert info.value.status == "BAD"
    assert info.value.text.isascii()


def test_parser_commands_errors_carry_the_tag() -> None:
    with pytest.raises(ParseError) as info:
        parse_command(b"A42 FETCH x")
    assert info.value.tag == "A42"
    with pytest.raises(ParseError) as info:
        parse_command(b"A43 FROBNICATE")
    assert info.value.tag == "A43"
    with pytest.raises(ParseError) as info:
        parse_command(b"a+ NOOP")
    assert info.value.tag is None


def test_parser_commands_every_name_has_a_parser() -> None:
    for name in COMMAND_NAMES - {"UID"}:
        with pytest.raises(ParseError) as info:
            parse_command(b"t " + name.encode() + b" \x01")
        assert "unknown command" not in info.value.text


def test_parser_commands_utf8_mailbox_needs_utf8_mode() -> None:
    wire = 'a SELECT "Entw\u00fcrfe"'.encode()
    with pytest.raises(ParseError):
        parse_command(wire)
    assert parse_command(wire, utf8=True) == Select("a", "Entw\u00fcrfe")


def test_parser_commands_literal_mailbox_may_be_utf8_without_utf8_mode() -> None:
    # A literal carries any CHAR8; the session decides what the octets mean.
    wire = "a SELECT {9}\r\nEntw\u00fcrfe".encode()
    assert parse_command(wire) == Select("a", "Entw\u00fcrfe")


def test_parser_commands_parse_tag() -> None:
    assert parse_tag(b"abc NOOP") == "abc"
    assert parse_tag(b"abc") == "abc"
    assert parse_tag(b"a+c NOOP") is None
    assert parse_tag(b"(a NOOP") is None
    assert parse_tag(b"") is None


def test_parser_commands_decode_base64() -> None:
    assert decode_base64(b"") == b""
    assert decode_base64(b"AGZyZWQAdGVzdA==") == b"\x00fred\x00test"
    assert decode_base64(b"eA==") == b"x"
    assert decode_base64(b"eA=") is None
    assert decode_base64(b"e A==") is None
    assert decode_base64(b"*") is None
