"""Dot-stuffing, CRLF normalisation and TOP's cut, fed in every chunking."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.pop3.proto.message import MessageEncoder, header_needs_utf8


def encode(chunks: list[bytes], lines: int | None = None) -> bytes:
    encoder = MessageEncoder(lines)
    out = b"".join(encoder.feed(c) for c in chunks)
    return out + encoder.finish()


def unstuff(body: bytes) -> bytes:
    """What a client makes of a multi-line body (RFC 1939 §3)."""
    assert body.endswith(b"\r\n.\r\n") or body == b".\r\n"
    lines = body[:-3].split(b"\r\n")[:-1] if body != b".\r\n" else []
    for line in lines:
        assert line != b".", "a lone dot inside the body would end it early"
    return b"".join((line[1:] if line.startswith(b".") else line) + b"\r\n" for line in lines)


def normalised(raw: bytes) -> bytes:
    out = re.sub(rb"\r\n|\r|\n", b"\r\n", raw)
    return out if not out or out.endswith(b"\r\n") else out + b"\r\n"


def splits(data: bytes) -> list[list[bytes]]:
    """All at once, byte by byte, and at every single split point."""
    ways = [[data], [data[i : i + 1] for i in range(len(data))]]
    ways += [[data[:i], data[i:]] for i in range(len(data) + 1)]
    return ways


MESSAGE = b"Subject: x\r\n\r\n.leading dot\r\n..two\r\nmid . dot\r\n.\r\nlast"


def test_proto_message_stuffing_and_final_crlf() -> None:
    expected = b"Subject: x\r\n\r\n..leading dot\r\n...two\r\nmid . dot\r\n..\r\nlast\r\n.\r\n"
    for chunks in splits(MESSAGE):
        assert encode(chunks) == expected, chunks


def test_proto_message_line_ends_normalised() -> None:
    raw = b"A: 1\nB: 2\r\rbody\n.dot\r"
    for chunks in splits(raw):
        assert encode(chunks) == b"A: 1\r\nB: 2\r\n\r\nbody\r\n..dot\r\n.\r\n", chunks


def test_proto_message_empty_and_dot_only() -> None:
    assert encode([]) == b".\r\n"
    assert encode([b""]) == b".\r\n"
    assert encode([b"."]) == b"..\r\n.\r\n"
    assert encode([b"\r\n"]) == b"\r\n.\r\n"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (0, b"Subject: x\r\nX: y\r\n\r\n.\r\n"),
        (1, b"Subject: x\r\nX: y\r\n\r\none\r\n.\r\n"),
        (2, b"Subject: x\r\nX: y\r\n\r\none\r\n..two\r\n.\r\n"),
        (3, b"Subject: x\r\nX: y\r\n\r\none\r\n..two\r\nthree\r\n.\r\n"),
        (99, b"Subject: x\r\nX: y\r\n\r\none\r\n..two\r\nthree\r\n.\r\n"),  # whole message
    ],
)
def test_proto_message_top(lines: int, expected: bytes) -> None:
    raw = b"Subject: x\nX: y\n\none\n.two\nthree"
    for chunks in splits(raw):
        assert encode(chunks, lines) == expected, chunks


def test_proto_message_top_stops_reading() -> None:
    encoder = MessageEncoder(1)
    encoder.feed(b"A: b\r\n\r\nfirst\r\nsecond\r\n")
    assert encoder.done
    assert encoder.feed(b"more\r\n") == b""


def test_proto_message_top_without_blank_line_is_all_header() -> None:
    assert encode([b"A: b\r\nC: d"], 0) == b"A: b\r\nC: d\r\n.\r\n"


def test_proto_message_top_with_empty_header() -> None:
    assert encode([b"\r\nbody\r\nmore\r\n"], 1) == b"\r\nbody\r\n.\r\n"


@given(st.binary(max_size=200), st.data())
def test_proto_message_round_trip(raw: bytes, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=5)))
    chunks = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    assert unstuff(encode(chunks)) == normalised(raw)


@given(st.binary(max_size=200), st.integers(0, 5))
def test_proto_message_top_is_a_prefix(raw: bytes, lines: int) -> None:
    whole = unstuff(encode([raw]))
    top = unstuff(encode([raw], lines))
    assert whole.startswith(top)


def test_proto_message_header_needs_utf8() -> None:
    assert header_needs_utf8(b"Subject: caf\xc3\xa9\r\n\r\nbody") is True
    assert header_needs_utf8(b"Subject: cafe\r\n\r\nbody caf\xc3\xa9") is False  # 8-bit body
    assert header_needs_utf8(b"Subject: cafe\n\nbody") is False
    assert header_needs_utf8(b"Subject: caf\xc3\xa9\r\nX: still header") is None
    assert header_needs_utf8(b"\r\nbody caf\xc3\xa9") is False  # empty header
