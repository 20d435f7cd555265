"""Tests for kernel.mail.headers: header blocks, folding, garbage lines, offsets."""

from __future__ import annotations

import pytest

from kernel.mail import Header, find_body_start, header_text, parse_header_block, unfold


def test_headers_offsets_slice_each_field() -> None:
    raw = b"From: a@example.org\r\nSubject: one\r\n two\r\nX-Empty:\r\n\r\nbody"
    headers = parse_header_block(raw)
    assert [h.name for h in headers] == ["From", "Subject", "X-Empty"]
    assert [raw[h.start : h.end] for h in headers] == [
        b"From: a@example.org\r\n",
        b"Subject: one\r\n two\r\n",
        b"X-Empty:\r\n",
    ]
    assert headers[1].value == b" one\r\n two"
    assert headers[1].unfolded() == b" one two"
    assert headers[1].text == "one two"
    assert headers[2].value == b""
    assert find_body_start(raw) == raw.index(b"body")


def test_headers_bare_lf() -> None:
    raw = b"A: 1\nB: 2\n\tcontinued\n\nbody"
    headers = parse_header_block(raw)
    assert [(h.name, h.text) for h in headers] == [("A", "1"), ("B", "2\tcontinued")]
    assert find_body_start(raw) == raw.index(b"body")


def test_headers_whitespace_before_colon_is_obsolete_but_accepted() -> None:
    # RFC 5322 §4.5: obs-optional allows WSP between the name and the colon.
    (header,) = parse_header_block(b"Subject \t: hi\r\n\r\n")
    assert (header.name, header.text) == ("Subject", "hi")


def test_headers_stray_line_between_fields_is_a_continuation() -> None:
    raw = b"Subject: broken\r\nfold without space\r\nTo: b@example.org\r\n\r\nbody"
    headers = parse_header_block(raw)
    assert [(h.name, h.text) for h in headers] == [
        ("Subject", "broken fold without space"),
        ("To", "b@example.org"),
    ]
    assert raw[headers[0].start : headers[0].end] == b"Subject: broken\r\nfold without space\r\n"


def test_headers_stray_line_before_body_starts_the_body() -> None:
    raw = b"Subject: x\r\nHello,\r\n\r\nthis is all body"
    assert [h.name for h in parse_header_block(raw)] == ["Subject"]
    assert find_body_start(raw) == raw.index(b"Hello")


def test_headers_leading_continuation_line_without_field() -> None:
    raw = b"  indented\r\nSubject: s\r\n\r\n"
    assert [(h.name, h.text) for h in parse_header_block(raw)] == [("Subject", "s")]


def test_headers_range_is_respected() -> None:
    raw = b"junk--A: 1\r\nB: 2\r\n\r\nrest"
    headers = parse_header_block(raw, 6, raw.index(b"B:"))
    assert [(h.name, h.start, h.end) for h in headers] == [("A", 6, 12)]


def test_headers_cr_only_is_an_ordinary_character() -> None:
    (header,) = parse_header_block(b"A: x\ry\r\n\r\n")
    assert header.value == b" x\ry"


def test_headers_never_raise_on_garbage() -> None:
    for raw in (b"", b"\r", b"\n", b":", b": value", b"\x00\x00", b"\xff\xfe: x", b" \r\n"):
        parse_header_block(raw)
        assert 0 <= find_body_start(raw) <= len(raw)


def test_headers_value_without_trailing_newline() -> None:
    raw = b"A: 1\r\nB: 2"
    headers = parse_header_block(raw)
    assert headers[-1] == Header("B", b" 2", 6, len(raw))
    assert find_body_start(raw) == len(raw)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"plain", b"plain"),
        (b"a\r\n b", b"a b"),
        (b"a\n\tb", b"a\tb"),
        (b"a\r\nb", b"a b"),
        (b"a\r\n \r\n b", b"a  b"),
    ],
)
def test_headers_unfold(value: bytes, expected: bytes) -> None:
    # RFC 5322 §2.2.3: remove any CRLF immediately followed by WSP.
    assert unfold(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"  ascii  ", "ascii"),
        ("Grüße".encode(), "Grüße"),
        (b"caf\xe9", "café"),
        (b"\x93q\x94", "\u201cq\u201d"),
        (b"a\r\n b", "a b"),
    ],
)
def test_headers_header_text_decoding(value: bytes, expected: str) -> None:
    assert header_text(value) == expected
