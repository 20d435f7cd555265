"""The session's maildrop view: numbers, marks, unique-ids; and the reply serialiser."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from plugins.pop3.proto import responses
from plugins.pop3.proto.capabilities import capability_lines
from plugins.pop3.proto.maildrop import AlreadyDeleted, MaildropView, NoSuchMessage, unique_id


@dataclass(frozen=True)
class Entry:
    uid: int
    size: int


def view() -> MaildropView[Entry]:
    return MaildropView(7, [Entry(3, 100), Entry(5, 200), Entry(9, 50)])


def test_proto_maildrop_numbers_and_stat() -> None:
    v = view()
    assert len(v) == 3 and v.stat() == (3, 350)
    assert v.get(2) == Entry(5, 200)
    for bad in (0, 4, 10**9):
        with pytest.raises(NoSuchMessage):
            v.get(bad)


def test_proto_maildrop_marks_and_reset() -> None:
    v = view()
    v.delete(2)
    # RFC 1939 §5: marked messages are not counted, listed or referable.
    assert v.stat() == (2, 150)
    assert [n for n, _ in v.live()] == [1, 3]
    with pytest.raises(AlreadyDeleted):
        v.get(2)
    with pytest.raises(AlreadyDeleted):
        v.delete(2)
    assert v.to_remove() == [Entry(5, 200)]
    assert v.remaining() == 2
    v.reset()
    assert v.stat() == (3, 350) and v.to_remove() == []


def test_proto_maildrop_retrieved_for_expire_zero() -> None:
    v = view()
    v.retrieved(1)
    v.delete(3)
    assert v.to_remove() == [Entry(9, 50)]
    assert v.to_remove(retrieved_too=True) == [Entry(3, 100), Entry(9, 50)]
    assert v.remaining(retrieved_too=True) == 1


def test_proto_maildrop_unique_ids() -> None:
    v = view()
    # RFC 1939 §7: 1-70 characters in 0x21-0x7E; here %08X (uid) %08X (uidvalidity).
    assert v.unique_id(1) == "0000000300000007"
    assert unique_id(0xABCDEF, 2**40) == "1000000000000ABCDEF"  # wider past 32 bits
    ids = {unique_id(v, u) for v in (1, 2, 2**33) for u in (1, 2, 2**32 + 1)}
    assert len(ids) == 9
    assert all(0 < len(i) <= 70 and all(0x21 <= ord(c) <= 0x7E for c in i) for i in ids)


def test_proto_responses_lines() -> None:
    assert responses.ok().to_bytes() == b"+OK\r\n"
    assert responses.err("no", "IN-USE").to_bytes() == b"-ERR [IN-USE] no\r\n"
    # RFC 1939 §3: at most 512 octets with CRLF; no line breaks smuggled in.
    long = responses.ok("x" * 1000 + "\r\ny").to_bytes()
    assert len(long) == 512 and long.endswith(b"\r\n") and long.count(b"\r\n") == 1
    assert responses.multiline(responses.ok("l"), ["a", ".b", b"."]) == (
        b"+OK l\r\na\r\n..b\r\n..\r\n.\r\n"
    )


def test_proto_capabilities() -> None:
    lines = capability_lines(
        user=False, mechanisms=[], stls=True, login_delay=0, expire="NEVER", implementation=""
    )
    assert lines == [
        "TOP",
        "UIDL",
        "RESP-CODES",
        "AUTH-RESP-CODE",
        "PIPELINING",
        "STLS",
        "LOGIN-DELAY 0",
        "EXPIRE NEVER",
        "UTF8 USER",
    ]
    lines = capability_lines(
        user=True, mechanisms=["PLAIN"], stls=False, login_delay=900, expire="5", implementation="x"
    )
    assert "USER" in lines and "SASL PLAIN" in lines and "STLS" not in lines
    assert lines[-3:] == ["EXPIRE 5", "UTF8 USER", "IMPLEMENTATION x"]
    assert responses.continuation(b"") == b"+ \r\n"  # RFC 5034 §4: the empty challenge
    assert responses.continuation(b"hi") == b"+ aGk=\r\n"
