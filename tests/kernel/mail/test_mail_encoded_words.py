"""Tests for kernel.mail.encoded_words: RFC 2047 decoding, table-driven."""

from __future__ import annotations

import pytest

from kernel.mail import decode_words


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # RFC 2047 §8 examples.
        ("=?ISO-8859-1?Q?a?=", "a"),
        ("=?ISO-8859-1?Q?a?= b", "a b"),
        ("=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab"),
        ("=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=", "ab"),
        ("=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=", "ab"),
        ("=?ISO-8859-1?Q?a_b?=", "a b"),
        ("=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=", "a b"),
        ("=?US-ASCII?Q?Keith_Moore?=", "Keith Moore"),
        ("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=", "Keld Jørn Simonsen"),
        ("=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"),
        (
            "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= "
            "=?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
            "If you can read this you understand the example.",
        ),
        # Lowercase encoding letter, lowercase hex.
        ("=?utf-8?q?caf=c3=a9?=", "café"),
        ("=?utf-8?b?Y2Fmw6k=?=", "café"),
        # A UTF-8 character split across two words is joined before decoding.
        ("=?utf-8?B?w6k=?= =?utf-8?B?4oKs?=", "é€"),
        ("=?utf-8?Q?=E2=82?= =?utf-8?Q?=AC?=", "€"),
        # Missing base64 padding.
        ("=?utf-8?b?Y2Fmw6k?=", "café"),
        # RFC 2231 §5 language suffix.
        ("=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore"),
        # Unknown charset: kept as written.
        ("=?x-klingon?q?abc?= tail", "=?x-klingon?q?abc?= tail"),
        # Not a text codec: refused, kept.
        ("=?base64?b?YWJj?=", "=?base64?b?YWJj?="),
        # Malformed words are plain text.
        ("=?utf-8?x?abc?=", "=?utf-8?x?abc?="),
        ("=?utf-8?q?unterminated", "=?utf-8?q?unterminated"),
        ("=??q?abc?=", "=??q?abc?="),
        # Glued to text (RFC 2047 §5 forbids it; readers decode anyway).
        ("Re:=?utf-8?q?x?=", "Re:x"),
        # Text between words is kept, white space included.
        ("=?utf-8?q?a?= and =?utf-8?q?b?=", "a and b"),
        # Invalid bytes for the charset become U+FFFD.
        ("=?utf-8?b?/w==?=", "\ufffd"),
        ("no words here", "no words here"),
        ("", ""),
        ("=?", "=?"),
        # Charset aliases.
        ("=?gb2312?b?1tDOxA==?=", "中文"),
        ("=?ks_c_5601-1987?b?x9Gxub7u?=", "한국어"),
        ("=?windows-1252?q?=80?=", "€"),
    ],
)
def test_encoded_words_decode(value: str, expected: str) -> None:
    assert decode_words(value) == expected
