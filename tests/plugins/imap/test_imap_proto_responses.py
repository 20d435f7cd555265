"""Response serialisation: strings, lists, status responses and untagged data, compared
with the examples of RFC 9051 §7 and §8 and of the extension RFCs."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.imap.proto import responses as r
from plugins.imap.proto.sequence import SequenceSet


def read_string(wire: bytes) -> bytes:
    """A reference reader for one string (quoted or literal) that must fill ``wire``."""
    if wire.startswith(b'"'):
        assert wire.endswith(b'"') and len(wire) >= 2
        inner = wire[1:-1]
        assert not re.search(rb"[\r\n\x00]", inner)
        assert not re.search(rb'(?<!\\)"', inner.replace(b"\\\\", b""))
        return re.sub(rb"\\(.)", rb"\1", inner)
    match = re.match(rb"\{(\d+)\}\r\n", wire)
    assert match, wire
    payload = wire[match.end() :]
    assert len(payload) == int(match.group(1))
    assert b"\x00" not in payload
    return payload


# --- strings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("hello world", b'"hello world"'),
        ("", b'""'),
        ('say "hi" \\ there', b'"say \\"hi\\" \\\\ there"'),
        ("tab\tinside", b'"tab\tinside"'),
        ("two\r\nlines", b"{10}\r\ntwo\r\nlines"),
        ("café", b"{5}\r\ncaf\xc3\xa9"),
        (b"raw bytes", b'"raw bytes"'),
        (b"caf\xe9", b"{4}\r\ncaf\xe9"),
        ("nul\x00dropped", b'"nuldropped"'),
    ],
)
def test_proto_responses_string_quoted_or_literal(value: str | bytes, wire: bytes) -> None:
    assert r.string(value) == wire


def test_proto_responses_string_utf8_quoted_only_when_enabled() -> None:
    # RFC 6855 §3: UTF-8 in quoted strings only after ENABLE UTF8=ACCEPT.
    assert r.string("café", utf8=True) == '"café"'.encode()
    assert r.string("café".encode(), utf8=True) == '"café"'.encode()
    # Invalid UTF-8 is never quoted.
    assert r.string(b"caf\xe9", utf8=True) == b"{4}\r\ncaf\xe9"
    # Line breaks still need a literal.
    assert r.string("é\r\n", utf8=True) == b"{4}\r\n\xc3\xa9\r\n"


def test_proto_responses_string_long_is_literal() -> None:
    value = "x" * (r.QUOTED_MAX + 1)
    assert r.string(value) == b"{%d}\r\n" % len(value) + value.encode()
    assert r.string("x" * r.QUOTED_MAX).startswith(b'"')


def test_proto_responses_nstring() -> None:
    assert r.nstring(None) == b"NIL"
    assert r.nstring("NIL") == b'"NIL"'  # RFC 9051 §4.5: a string, not nil


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("INBOX", b"INBOX"),
        ("foo/bar", b"foo/bar"),
        ("a]b", b"a]b"),  # resp-specials are ASTRING-CHAR
        ("with space", b'"with space"'),
        ("", b'""'),
        ("NIL", b'"NIL"'),
        ("nil", b'"nil"'),
        ("50%", b'"50%"'),
        ("a*", b'"a*"'),
        ("{x", b'"{x"'),
        ("(x)", b'"(x)"'),
        ('a"b', b'"a\\"b"'),
        ("ünï", b"{5}\r\n\xc3\xbcn\xc3\xaf"),
    ],
)
def test_proto_responses_astring(value: str, wire: bytes) -> None:
    assert r.astring(value) == wire


def test_proto_responses_atom_rejects_specials() -> None:
    assert r.atom("IMAP4rev2") == b"IMAP4rev2"
    for bad in ("", "a b", "a]", "é", "(", "x*"):
        with pytest.raises(ValueError):
            r.atom(bad)


def test_proto_responses_mailbox_names() -> None:
    assert r.mailbox("INBOX") == b"INBOX"
    assert r.mailbox("Entwürfe") == b"Entw&APw-rfe"  # RFC 3501 §5.1.3
    assert r.mailbox("Entwürfe", utf8=True) == '"Entwürfe"'.encode()
    assert r.mailbox("R&D") == b"R&-D"
    assert r.mailbox("R&D", utf8=True) == b"R&D"
    assert r.mailbox("My Folder") == b'"My Folder"'


def test_proto_responses_literals_and_lists() -> None:
    assert r.literal(b"abc") == b"{3}\r\nabc"
    assert r.literal8(b"a\x00c") == b"~{3}\r\na\x00c"
    assert r.literal(memoryview(b"xyz")[1:]) == b"{2}\r\nyz"
    assert r.plist([]) == b"()"
    assert r.plist([b"A", b"(B C)"]) == b"(A (B C))"
    assert r.flag_list(["\\Seen", "$Forwarded"]) == b"(\\Seen $Forwarded)"
    assert r.number(4294967296) == b"4294967296"


# Any text, lone surrogates included (they become "?", as in ``encode(..., "replace")``).
_ANY_TEXT = st.text(st.characters(exclude_categories=()))


@given(st.one_of(_ANY_TEXT, st.binary()), st.booleans())
def test_proto_responses_string_reads_back(value: str | bytes, utf8: bool) -> None:
    wire = r.string(value, utf8=utf8)
    data = value.encode("utf-8", "replace") if isinstance(value, str) else value
    assert read_string(wire) == data.replace(b"\x00", b"")
    if not utf8:
        assert wire.startswith(b"{") or wire.isascii()


@given(_ANY_TEXT, st.booleans())
def test_proto_responses_astring_is_atom_or_string(value: str, utf8: bool) -> None:
    wire = r.astring(value, utf8=utf8)
    if wire[:1] in (b'"', b"{"):
        assert read_string(wire) == value.encode("utf-8", "replace").replace(b"\x00", b"")
    else:
        assert wire == value.encode()
        assert re.fullmatch(rb"[\x21\x23\x24\x26\x27\x2b-\x5b\x5d-\x7a\x7c-\x7e]+", wire)


# --- status responses and continuations (RFC 9051 §7.1, §7.6) ----------------------------


def test_proto_responses_tagged() -> None:
    assert r.tagged("a002", "OK", "SELECT completed", code=b"READ-WRITE") == (
        b"a002 OK [READ-WRITE] SELECT completed\r\n"
    )
    assert r.tagged("A001", "NO", "no such mailbox", code=r.code("TRYCREATE")) == (
        b"A001 NO [TRYCREATE] no such mailbox\r\n"
    )
    assert r.tagged("a", "BAD", "bad\r\nline") == b"a BAD bad  line\r\n"
    assert r.tagged("a", "OK", "") == b"a OK completed\r\n"
    assert r.tagged("a", "NO", "Zürich") == b"a NO Z?rich\r\n"
    assert r.tagged("a", "NO", "Zürich", utf8=True) == "a NO Zürich\r\n".encode()


def test_proto_responses_untagged_status() -> None:
    assert r.untagged("OK", "UIDs valid", code=r.code_uidvalidity(3857529045)) == (
        b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
    )
    assert r.untagged("OK", "Predicted next UID", code=r.code_uidnext(4392)) == (
        b"* OK [UIDNEXT 4392] Predicted next UID\r\n"
    )
    assert r.untagged("PREAUTH", "welcome") == b"* PREAUTH welcome\r\n"
    assert r.bye("IMAP4rev2 server terminating connection") == (
        b"* BYE IMAP4rev2 server terminating connection\r\n"
    )
    greeting = r.untagged(
        "OK",
        "IMAP4rev2 Service Ready",
        code=r.code_capability(["STARTTLS", "AUTH=SCRAM-SHA-256", "LOGINDISABLED", "IMAP4rev2"]),
    )
    # RFC 9051 §8 (the line break in the RFC is editorial).
    assert greeting == (
        b"* OK [CAPABILITY STARTTLS AUTH=SCRAM-SHA-256 LOGINDISABLED IMAP4rev2]"
        b" IMAP4rev2 Service Ready\r\n"
    )


def test_proto_responses_codes() -> None:
    # RFC 4315 §3 examples.
    assert r.code_appenduid(38505, SequenceSet.of([3955])) == b"APPENDUID 38505 3955"
    copy = r.code_copyuid(
        38505, SequenceSet.of([304, 319, 320]), SequenceSet.of([3956, 3957, 3958])
    )
    assert copy == b"COPYUID 38505 304,319:320 3956:3958"
    assert r.code_permanentflags(["\\Deleted", "\\Seen", "\\*"]) == (
        b"PERMANENTFLAGS (\\Deleted \\Seen \\*)"
    )
    assert r.code_highestmodseq(715194045007) == b"HIGHESTMODSEQ 715194045007"
    assert r.code_modified(SequenceSet.of([7, 9])) == b"MODIFIED 7,9"
    assert r.code_badcharset(["US-ASCII", "UTF-8"]) == b"BADCHARSET (US-ASCII UTF-8)"
    assert r.code_badcharset(["weird name"]) == b'BADCHARSET ("weird name")'
    assert r.code_badcharset() == b"BADCHARSET"
    assert r.code("UNKNOWN-CTE") == b"UNKNOWN-CTE"
    assert r.code("UIDNEXT", r.number(5)) == b"UIDNEXT 5"


def test_proto_responses_continuation() -> None:
    assert r.continuation("Ready for additional command text") == (
        b"+ Ready for additional command text\r\n"
    )
    assert r.continuation() == b"+ \r\n"
    assert r.continuation_data(b"\x00user") == b"+ AHVzZXI=\r\n"


# --- untagged data -------------------------------------------------------------------------


def test_proto_responses_mailbox_size_and_flags() -> None:
    assert r.exists(23) == b"* 23 EXISTS\r\n"
    assert r.recent(5) == b"* 5 RECENT\r\n"
    assert r.expunge(3) == b"* 3 EXPUNGE\r\n"
    assert r.flags(["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"]) == (
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
    )
    assert r.capability(["IMAP4rev2", "STARTTLS", "AUTH=GSSAPI", "LOGINDISABLED"]) == (
        b"* CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n"
    )
    assert r.enabled(["CONDSTORE", "QRESYNC"]) == b"* ENABLED CONDSTORE QRESYNC\r\n"
    assert r.enabled([]) == b"* ENABLED\r\n"
    assert r.data(b"XFOO", b"1") == b"* XFOO 1\r\n"


def test_proto_responses_vanished() -> None:
    # RFC 7162 §3.2.10 examples.
    earlier = SequenceSet(((41, 41), (43, 116), (118, 118), (120, 211), (214, 540)))
    assert r.vanished(earlier, earlier=True) == (
        b"* VANISHED (EARLIER) 41,43:116,118,120:211,214:540\r\n"
    )
    assert r.vanished(SequenceSet.of([405, 407, 410, 425])) == b"* VANISHED 405,407,410,425\r\n"


def test_proto_responses_list() -> None:
    # RFC 9051 §6.3.9 and §8 examples.
    assert (
        r.list_mailbox(["\\Noselect"], "/", "~/Mail/foo")
        == b'* LIST (\\Noselect) "/" ~/Mail/foo\r\n'
    )
    assert r.list_mailbox(["\\Noselect"], "/", "") == b'* LIST (\\Noselect) "/" ""\r\n'
    assert r.list_mailbox(
        [], "/", "INBOX", extended=[("OLDNAME", r.plist([r.mailbox("inbox")]))]
    ) == (b'* LIST () "/" INBOX ("OLDNAME" (inbox))\r\n')
    childinfo = r.plist([r.quoted("SUBSCRIBED")])
    assert r.list_mailbox(["\\NonExistent"], "/", "Foo", extended=[("CHILDINFO", childinfo)]) == (
        b'* LIST (\\NonExistent) "/" Foo ("CHILDINFO" ("SUBSCRIBED"))\r\n'
    )
    assert r.list_mailbox([], None, "flat") == b"* LIST () NIL flat\r\n"
    assert r.list_mailbox([], "\\", "a\\b") == b'* LIST () "\\\\" "a\\\\b"\r\n'
    assert r.list_mailbox([], ".", "Entwürfe", command="LSUB") == b'* LSUB () "." Entw&APw-rfe\r\n'
    assert r.list_mailbox([], ".", "Entwürfe", utf8=True) == '* LIST () "." "Entwürfe"\r\n'.encode()


def test_proto_responses_status() -> None:
    # RFC 9051 §7.3.3 example.
    assert r.status("blurdybloop", [("MESSAGES", 231), ("UIDNEXT", 44292)]) == (
        b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n"
    )
    assert r.status("Sent Items", []) == b'* STATUS "Sent Items" ()\r\n'
    # RFC 8474 §4.3: MAILBOXID is a parenthesised objectid, passed serialised.
    assert r.status("foo", [("MAILBOXID", b"(F2212ea87-6097-4256-9d51-71338625)")]) == (
        b"* STATUS foo (MAILBOXID (F2212ea87-6097-4256-9d51-71338625))\r\n"
    )


def test_proto_responses_esearch() -> None:
    # RFC 4731 §3.1 and RFC 9051 §7.3.4 examples.
    assert r.esearch([("MIN", 2), ("COUNT", 3)], tag="A282") == (
        b'* ESEARCH (TAG "A282") MIN 2 COUNT 3\r\n'
    )
    assert r.esearch([("ALL", SequenceSet.of([2, 10, 11]))], tag="A283") == (
        b'* ESEARCH (TAG "A283") ALL 2,10:11\r\n'
    )
    assert r.esearch([("MIN", 7), ("MAX", 3800)], tag="A285", uid=True) == (
        b'* ESEARCH (TAG "A285") UID MIN 7 MAX 3800\r\n'
    )
    assert r.esearch([("COUNT", 0)], tag="A1") == b'* ESEARCH (TAG "A1") COUNT 0\r\n'
    # RFC 4731 §3.2 (with CONDSTORE).
    assert r.esearch([("MIN", 2), ("COUNT", 10), ("MODSEQ", 917162500)], tag="a4") == (
        b'* ESEARCH (TAG "a4") MIN 2 COUNT 10 MODSEQ 917162500\r\n'
    )
    assert r.esearch([]) == b"* ESEARCH\r\n"


def test_proto_responses_search_sort_thread() -> None:
    assert r.search([2, 3, 6]) == b"* SEARCH 2 3 6\r\n"
    assert r.search([]) == b"* SEARCH\r\n"
    # RFC 7162 §3.1.5 example.
    assert r.search([2, 5, 6, 7, 11, 12, 18, 19, 20, 23], modseq=917162500) == (
        b"* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)\r\n"
    )
    assert r.sort([2, 84, 882]) == b"* SORT 2 84 882\r\n"
    # RFC 5256 §4 examples.
    tree: list[r.ThreadNode] = [
        (2, []),
        (3, [(6, [(4, [(23, [])]), (44, [(7, [(96, [])])])])]),
    ]
    assert r.thread(tree) == b"* THREAD (2)(3 6 (4 23)(44 7 96))\r\n"
    assert r.thread([(None, [(3, []), (5, [])])]) == b"* THREAD ((3)(5))\r\n"
    assert r.thread([]) == b"* THREAD\r\n"


def test_proto_responses_namespace_and_id() -> None:
    # RFC 9051 §6.3.10 examples.
    assert r.namespace([("", "/")], None, None) == b'* NAMESPACE (("" "/")) NIL NIL\r\n'
    assert r.namespace([("", "/")], [("~", "/")], None) == (
        b'* NAMESPACE (("" "/")) (("~" "/")) NIL\r\n'
    )
    assert r.namespace([("INBOX.", ".")], None, [("Öffentlich/", "/")]) == (
        b'* NAMESPACE (("INBOX." ".")) NIL (("&ANY-ffentlich/" "/"))\r\n'
    )
    # RFC 2971 §3.2 example.
    fields = [("name", "Cyrus"), ("version", "1.5"), ("os", None)]
    assert r.id_response(fields) == b'* ID ("name" "Cyrus" "version" "1.5" "os" NIL)\r\n'
    assert r.id_response(None) == b"* ID NIL\r\n"


def test_proto_responses_quota_acl_metadata() -> None:
    # RFC 9208 §4.2, RFC 4314 §3.6-§3.8 and RFC 5464 §4.4.1 examples.
    assert r.quota("", [("STORAGE", 10, 512)]) == b'* QUOTA "" (STORAGE 10 512)\r\n'
    assert r.quotaroot("INBOX", [""]) == b'* QUOTAROOT INBOX ""\r\n'
    assert r.quotaroot("comp.mail.mime", []) == b"* QUOTAROOT comp.mail.mime\r\n"
    assert r.myrights("INBOX", "rwiptsldaex") == b"* MYRIGHTS INBOX rwiptsldaex\r\n"
    assert r.acl("INBOX", [("Fred", "rwipsldexta")]) == b"* ACL INBOX Fred rwipsldexta\r\n"
    assert r.listrights("~/Mail/saved", "smith", "la", ["r", "swicdkxte"]) == (
        b"* LISTRIGHTS ~/Mail/saved smith la r swicdkxte\r\n"
    )
    assert r.listrights("INBOX", "anyone", "", ["l"]) == b'* LISTRIGHTS INBOX anyone "" l\r\n'
    assert r.metadata("INBOX", [("/private/comment", "My own comment")]) == (
        b'* METADATA INBOX (/private/comment "My own comment")\r\n'
    )
    assert r.metadata("", [("/shared/comment", None)]) == b'* METADATA "" (/shared/comment NIL)\r\n'


# --- FETCH ----------------------------------------------------------------------------------


def test_proto_responses_fetch_flags() -> None:
    # RFC 9051 §8 and §7.5.2 examples.
    assert (
        r.fetch_flags(12, ["\\Seen", "\\Deleted"]) == b"* 12 FETCH (FLAGS (\\Seen \\Deleted))\r\n"
    )
    assert r.fetch_flags(23, [], uid=447) == b"* 23 FETCH (FLAGS () UID 447)\r\n"
    assert r.fetch_flags(4, ["\\Seen"], uid=8, modseq=12121231000) == (
        b"* 4 FETCH (FLAGS (\\Seen) UID 8 MODSEQ (12121231000))\r\n"
    )


def test_proto_responses_fetch_response_items() -> None:
    response = r.FetchResponse(23)
    response.item(b"FLAGS", r.flag_list(["\\Seen"])).item(b"RFC822.SIZE", r.number(44827))
    response.item(b"UID", r.number(447))
    assert response.pieces() == [b"* 23 FETCH (FLAGS (\\Seen) RFC822.SIZE 44827 UID 447)\r\n"]


def test_proto_responses_fetch_response_strings() -> None:
    response = r.FetchResponse(1)
    response.content(b"BODY[1]", None)
    response.content(b"BODY[]<500>", b"")
    response.content(b"BODY[HEADER]", memoryview(b"Subject: x\r\n\r\n"))
    response.content(b"BINARY[2]", b"\x00\x01", binary=True)
    assert response.to_bytes() == (
        b'* 1 FETCH (BODY[1] NIL BODY[]<500> "" BODY[HEADER] {14}\r\nSubject: x\r\n\r\n'
        b" BINARY[2] ~{2}\r\n\x00\x01)\r\n"
    )


def test_proto_responses_fetch_response_streams_large_literals() -> None:
    big = memoryview(b"x" * r.STREAM_THRESHOLD)
    response = r.FetchResponse(7).item(b"UID", b"9").content(b"BODY[]", big)
    pieces = response.pieces()
    assert pieces[0] == b"* 7 FETCH (UID 9 BODY[] {%d}\r\n" % len(big)
    assert pieces[1] is big  # the payload is not copied
    assert pieces[2] == b")\r\n"
    small = r.FetchResponse(7).content(b"BODY[]", memoryview(b"abc")).pieces()
    assert small == [b"* 7 FETCH (BODY[] {3}\r\nabc)\r\n"]
