"""Tests for kernel.mail.body, transfer and charsets: decoding bodies and the preview."""

from __future__ import annotations

import base64
import binascii
import quopri

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.mail import (
    decode_base64,
    decode_body,
    decode_bytes,
    decode_quoted_printable,
    decode_text,
    html_to_text,
    lookup_charset,
    parse_message,
    preview,
)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"QUJD", b"ABC"),
        (b"QUJDRA==", b"ABCD"),
        (b"QUJDRA", b"ABCD"),
        (b"QUJDREU", b"ABCDE"),
        (b"QUJDR", b"ABC"),
        (b"QU JD\r\nRE\tVG\r\n", b"ABCDEF"),
        (b"QU!!JD*", b"ABC"),
        (b"QQ==QQ==", b"AA"),
        (b"QQ==\r\nQUI=\r\n", b"AAB"),
        (b"", b""),
        (b"====", b""),
        (b"\xff\xfe", b""),
    ],
)
def test_transfer_decode_base64_tolerant(data: bytes, expected: bytes) -> None:
    assert decode_base64(data) == expected


@given(st.binary(max_size=300))
def test_transfer_decode_base64_round_trip(data: bytes) -> None:
    assert decode_base64(base64.encodebytes(data)) == data
    assert decode_base64(base64.b64encode(data).rstrip(b"=")) == data


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"caf=C3=A9", b"caf\xc3\xa9"),
        (b"caf=c3=a9", b"caf\xc3\xa9"),
        (b"soft=\r\nbreak", b"softbreak"),
        (b"soft=\nbreak", b"softbreak"),
        (b"trailing   \r\nspace\t\r\n", b"trailing\r\nspace\r\n"),
        (b"end with space  ", b"end with space"),
        (b"bad =ZZ escape", b"bad =ZZ escape"),
        (b"a_b", b"a_b"),
    ],
)
def test_transfer_decode_quoted_printable(data: bytes, expected: bytes) -> None:
    assert decode_quoted_printable(data) == expected


@given(st.binary(max_size=300))
def test_transfer_decode_quoted_printable_round_trip(data: bytes) -> None:
    data = data.replace(b"\r", b"").replace(b"\n", b"\r\n")
    encoded = binascii.b2a_qp(data, quotetabs=True, istext=False)
    assert decode_quoted_printable(encoded) == data
    assert decode_quoted_printable(quopri.encodestring(data)) == data


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        (None, "ascii"),
        ("US-ASCII", "ascii"),
        ("utf8", "utf-8"),
        ("UTF-8", "utf-8"),
        ("latin1", "cp1252"),
        ("ISO-8859-1", "cp1252"),
        ("iso-8859-15", "iso8859-15"),
        ("gb2312", "gb18030"),
        ("ks_c_5601-1987", "cp949"),
        ("iso-2022-jp", "iso2022_jp_2"),
        ("Shift_JIS", "cp932"),
        ('"koi8-r"', "koi8-r"),
        ("unknown-8bit", "ascii"),
        ("x-no-such-charset", None),
        ("base64", None),
        ("rot13", None),
        ("idna", None),
    ],
)
def test_charsets_lookup(label: str | None, codec: str | None) -> None:
    assert lookup_charset(label) == codec


@pytest.mark.parametrize(
    ("data", "charset", "expected"),
    [
        ("héllo".encode(), "us-ascii", "héllo"),
        (b"h\xe9llo", "us-ascii", "héllo"),
        (b"h\xe9llo", None, "héllo"),
        (b"h\xe9llo", "utf-8", "h\ufffdllo"),
        (b"h\xe9llo", "x-nonsense", "héllo"),
        ("€".encode("cp1252"), "iso-8859-1", "€"),
        ("Привет".encode("koi8-r"), "KOI8-R", "Привет"),
        ("中文".encode("gbk"), "gb2312", "中文"),
        ("日本".encode("shift_jis"), "shift_jis", "日本"),
        ("日本".encode("euc_jp"), "euc-jp", "日本"),
    ],
)
def test_charsets_decode_bytes(data: bytes, charset: str | None, expected: str) -> None:
    assert decode_bytes(data, charset) == expected


def test_body_decode_body_and_text_by_encoding() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Transfer-Encoding: base64\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"\r\nY2Fmw6kK\r\n"
        b"--b\r\nContent-Transfer-Encoding: quoted-printable\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\ncaf=E9\r\n"
        b"--b\r\nContent-Transfer-Encoding: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"\r\ncaf\xc3\xa9\r\n"
        b"--b\r\nContent-Transfer-Encoding: x-custom\r\n\r\nas is\r\n"
        b"--b--\r\n"
    )
    parts = parse_message(raw).root.children
    assert [decode_body(raw, part) for part in parts] == [
        b"caf\xc3\xa9\n",
        b"caf\xe9",
        b"caf\xc3\xa9",
        b"as is",
    ]
    assert [decode_text(raw, part) for part in parts] == ["café\n", "café", "café", "as is"]


def test_body_decode_body_limit_reads_a_prefix() -> None:
    encoded = base64.encodebytes(b"x" * 3000)
    raw = b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded
    root = parse_message(raw).root
    prefix = decode_body(raw, root, 100)
    assert 70 <= len(prefix) <= 75 and set(prefix) == {ord("x")}
    assert decode_body(raw, root) == b"x" * 3000


def test_preview_prefers_plain_alternative() -> None:
    raw = (
        b"Content-Type: multipart/alternative; boundary=a\r\n\r\n"
        b"--a\r\nContent-Type: text/html\r\n\r\n<p>HTML version</p>\r\n"
        b"--a\r\nContent-Type: text/plain\r\n\r\nPlain   version\r\n\r\n  here\r\n"
        b"--a--\r\n"
    )
    assert preview(raw, parse_message(raw)) == "Plain version here"


def test_preview_html_only_strips_markup() -> None:
    raw = (
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><title>T</title><style>p {color: red}</style></head>"
        b"<body><!-- hidden --><script>alert(1)</script>"
        b"<p>Caf\xc3\xa9 &amp; cr&egrave;me</p><br>next&nbsp;line</body></html>"
    )
    assert preview(raw, parse_message(raw)) == "Café & crème next line"


def test_preview_skips_attachments_and_truncates() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=m\r\n\r\n"
        b"--m\r\nContent-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\nattached\r\n"
        b"--m\r\nContent-Type: image/png\r\n\r\nPNG\r\n"
        b"--m\r\nContent-Type: text/plain\r\n\r\n" + b"word " * 100 + b"\r\n--m--\r\n"
    )
    text = preview(raw, parse_message(raw), length=20)
    assert text == "word word word word"
    assert len(preview(raw, parse_message(raw))) <= 256


def test_preview_of_message_without_text_is_empty() -> None:
    raw = b"Content-Type: image/gif\r\nContent-Transfer-Encoding: base64\r\n\r\nR0lGODlh"
    assert preview(raw, parse_message(raw)) == ""


def test_preview_decodes_quoted_printable() -> None:
    raw = (
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"Gr=C3=BC=C3=9Fe=\r\n aus K=C3=B6ln"
    )
    assert preview(raw, parse_message(raw)) == "Grüße aus Köln"


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<b>bold</b> text", "bold text"),
        ("a<br/>b", "a b"),
        ("unterminated <tag", "unterminated "),
        ("&lt;not a tag&gt;", "<not a tag>"),
        ("<script>never</script>shown", " shown"),
    ],
)
def test_body_html_to_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text
