"""FETCH sections (RFC 9051 §6.4.5, §7.5.2) and BINARY (RFC 3516): part numbering on the
RFC's complex example, header subsets, partial fetches, decoding and labels."""

from __future__ import annotations

import pytest

from kernel.mail import parse_message
from plugins.imap.fetch import (
    SectionContent,
    UnknownCte,
    binary_section,
    binary_size,
    body_section,
    rfc822_section,
    section_label,
)
from plugins.imap.proto.fetch_items import BinarySection, BinarySize, BodySection, Section

# RFC 9051 §6.4.5.1: "an example of a complex message with some of its part specifiers".
COMPLEX = (
    b"Subject: complex\r\nContent-Type: multipart/mixed; boundary=A\r\n\r\n"
    b"--A\r\nContent-Type: text/plain\r\n\r\npart 1\r\n"
    b"--A\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"cGFydCAy\r\n"
    b"--A\r\nContent-Type: message/rfc822\r\n\r\n"
    b"Subject: part 3\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
    b"--B\r\nContent-Type: text/plain\r\n\r\npart 3.1\r\n"
    b"--B\r\nContent-Type: application/octet-stream\r\n\r\npart 3.2\r\n--B--\r\n"
    b"--A\r\nContent-Type: multipart/mixed; boundary=C\r\n\r\n"
    b"--C\r\nContent-Type: image/gif\r\nContent-Transfer-Encoding: base64\r\n\r\nR0lGODlh\r\n"
    b"--C\r\nContent-Type: message/rfc822\r\n\r\n"
    b"Subject: part 4.2\r\nContent-Type: multipart/mixed; boundary=D\r\n\r\n"
    b"--D\r\nContent-Type: text/plain\r\n\r\npart 4.2.1\r\n"
    b"--D\r\nContent-Type: multipart/alternative; boundary=E\r\n\r\n"
    b"--E\r\nContent-Type: text/plain\r\n\r\npart 4.2.2.1\r\n"
    b"--E\r\nContent-Type: text/richtext\r\n\r\npart 4.2.2.2\r\n--E--\r\n"
    b"--D--\r\n"
    b"--C--\r\n"
    b"--A--\r\n"
)


def fetch(raw: bytes, section: Section, partial: tuple[int, int] | None = None) -> SectionContent:
    return body_section(raw, parse_message(raw), BodySection(section, partial=partial))


def content(raw: bytes, part: tuple[int, ...], specifier: str = "", *fields: str) -> bytes | None:
    data = fetch(raw, Section(part, specifier, fields)).data  # type: ignore[arg-type]
    return None if data is None else bytes(data)


@pytest.mark.parametrize(
    ("part", "specifier", "expected"),
    [
        ((1,), "", b"part 1"),
        ((2,), "", b"cGFydCAy"),
        ((3,), "HEADER", b"Subject: part 3\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"),
        ((3, 1), "", b"part 3.1"),
        ((3, 2), "", b"part 3.2"),
        ((4, 1), "", b"R0lGODlh"),
        ((4, 1), "MIME", b"Content-Type: image/gif\r\nContent-Transfer-Encoding: base64\r\n\r\n"),
        (
            (4, 2),
            "HEADER",
            b"Subject: part 4.2\r\nContent-Type: multipart/mixed; boundary=D\r\n\r\n",
        ),
        ((4, 2, 1), "", b"part 4.2.1"),
        ((4, 2, 2, 1), "", b"part 4.2.2.1"),
        ((4, 2, 2, 2), "", b"part 4.2.2.2"),
        ((4, 2, 2, 2), "MIME", b"Content-Type: text/richtext\r\n\r\n"),
        ((), "HEADER", b"Subject: complex\r\nContent-Type: multipart/mixed; boundary=A\r\n\r\n"),
    ],
)
def test_fetch_sections_rfc9051_complex_example(
    part: tuple[int, ...], specifier: str, expected: bytes
) -> None:
    assert content(COMPLEX, part, specifier) == expected


def test_fetch_sections_text_and_whole_parts() -> None:
    assert content(COMPLEX, ()) == COMPLEX
    assert content(COMPLEX, (), "TEXT") == COMPLEX[COMPLEX.index(b"--A") :]
    text_3 = content(COMPLEX, (3,), "TEXT")
    assert text_3 is not None
    assert text_3.startswith(b"--B\r\n") and text_3.endswith(b"--B--")
    # The body of a message/rfc822 part is the whole encapsulated message.
    header_3 = content(COMPLEX, (3,), "HEADER")
    assert header_3 is not None
    assert content(COMPLEX, (3,)) == header_3 + text_3
    alternative = content(COMPLEX, (4, 2, 2))
    assert alternative is not None
    assert alternative.startswith(b"--E\r\n") and alternative.endswith(b"--E--")


@pytest.mark.parametrize(
    ("part", "specifier"),
    [
        ((5,), ""),
        ((0,), ""),
        ((4, 3), ""),
        ((3, 3), ""),
        ((1, 1), ""),
        ((1,), "HEADER"),  # a text part has no message header
        ((4,), "TEXT"),  # nor a multipart
        ((4, 1), "HEADER.FIELDS"),
        ((9,), "MIME"),
    ],
)
def test_fetch_sections_missing_part_is_nil(part: tuple[int, ...], specifier: str) -> None:
    # RFC 9051 §4.5: "* FETCH 1 (BODY[1] NIL)" indicates absence of the body part.
    assert content(COMPLEX, part, specifier, "SUBJECT") is None


def test_fetch_sections_single_part_message_has_part_1() -> None:
    raw = b"Subject: plain\r\nContent-Type: text/plain\r\n\r\njust text\r\n"
    # RFC 9051 §6.4.5.1: a non-multipart message only has a part 1, its body.
    assert content(raw, (1,)) == b"just text\r\n"
    assert content(raw, (1,), "MIME") == b"Subject: plain\r\nContent-Type: text/plain\r\n\r\n"
    assert content(raw, (2,)) is None
    assert content(raw, (1,), "HEADER") is None


def test_fetch_sections_top_level_message_rfc822() -> None:
    raw = (
        b"Content-Type: message/rfc822\r\n\r\n"
        b"Subject: inside\r\nContent-Type: text/plain\r\n\r\ninner body\r\n"
    )
    assert content(raw, (1,), "HEADER") == b"Subject: inside\r\nContent-Type: text/plain\r\n\r\n"
    assert content(raw, (1,), "TEXT") == b"inner body\r\n"
    assert content(raw, (1, 1)) == b"inner body\r\n"


RFC_HEADER = (
    b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
    b"From: Terry Gray <gray@cac.washington.edu>\r\n"
    b"Subject: IMAP4rev2 WG mtg summary and minutes\r\n"
    b"To: imap@cac.washington.edu\r\n"
    b"cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n"
    b"Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    b"\r\n"
)


def test_fetch_sections_rfc9051_sample_header() -> None:
    # RFC 9051 §8: "* 12 FETCH (BODY[HEADER] {342}".
    result = fetch(RFC_HEADER + b"The body.\r\n", Section(specifier="HEADER"))
    assert result.label == b"BODY[HEADER]"
    assert result.data is not None and len(result.data) == 342
    assert bytes(result.data) == RFC_HEADER


def test_fetch_sections_header_fields() -> None:
    raw = RFC_HEADER + b"The body.\r\n"
    result = fetch(raw, Section((), "HEADER.FIELDS", ("DATE", "FROM")))
    # RFC 9051 §6.4.5 example label; field names match case-insensitively, the fields
    # keep the message's order, and the blank line is included.
    assert result.label == b"BODY[HEADER.FIELDS (DATE FROM)]"
    assert result.data == (
        b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
        b"From: Terry Gray <gray@cac.washington.edu>\r\n\r\n"
    )
    assert content(raw, (), "HEADER.FIELDS", "CC", "X-NONE") == (
        b"cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n\r\n"
    )
    assert content(raw, (), "HEADER.FIELDS", "X-NONE") == b"\r\n"
    not_fields = content(raw, (), "HEADER.FIELDS.NOT", "DATE", "FROM", "SUBJECT", "TO", "CC")
    assert not_fields == (
        b"Message-Id: <B27397-0100000@cac.washington.edu>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n"
    )


def test_fetch_sections_header_fields_keep_folding_and_repeats() -> None:
    raw = b"Received: one\r\n  folded\r\nX-A: 1\r\nreceived: two\r\n\r\nbody"
    assert content(raw, (), "HEADER.FIELDS", "RECEIVED") == (
        b"Received: one\r\n  folded\r\nreceived: two\r\n\r\n"
    )


def test_fetch_sections_header_fields_of_encapsulated_message() -> None:
    label = fetch(COMPLEX, Section((4, 2), "HEADER.FIELDS", ("SUBJECT",)))
    assert label.label == b"BODY[4.2.HEADER.FIELDS (SUBJECT)]"
    assert label.data == b"Subject: part 4.2\r\n\r\n"


def test_fetch_sections_no_body_no_blank_line() -> None:
    # RFC 9051 §6.4.5.1: no blank line "in the case of a message that has no body and no
    # blank line".
    raw = b"Subject: only a header\r\nFrom: a@example.com\r\n"
    assert content(raw, (), "HEADER") == raw
    assert content(raw, (), "HEADER.FIELDS", "SUBJECT") == b"Subject: only a header\r\n"
    assert content(raw, (), "TEXT") == b""


def test_fetch_sections_lf_only_message() -> None:
    raw = b"Subject: unix\nFrom: a@example.com\n\nline one\nline two\n"
    assert content(raw, (), "HEADER.FIELDS", "FROM") == b"From: a@example.com\n\n"
    assert content(raw, (), "TEXT") == b"line one\nline two\n"
    assert content(raw, (1,)) == b"line one\nline two\n"


def test_fetch_sections_partial() -> None:
    raw = b"Subject: x\r\n\r\n" + b"y" * 1486  # 1500 octets
    # RFC 9051 §6.4.5: "BODY[]<0.2048> of a 1500-octet message will return BODY[]<0> with
    # a literal of size 1500, not BODY[]".
    whole = fetch(raw, Section(), (0, 2048))
    assert whole.label == b"BODY[]<0>"
    assert whole.data == raw
    middle = fetch(raw, Section(), (10, 5))
    assert middle.label == b"BODY[]<10>" and middle.data == b"\r\n\r\ny"
    beyond = fetch(raw, Section(), (1500, 10))
    assert beyond.label == b"BODY[]<1500>" and beyond.data == b""
    # A substring of HEADER.FIELDS is taken after subsetting.
    subset = fetch(RFC_HEADER, Section((), "HEADER.FIELDS", ("TO",)), (4, 4))
    assert subset.label == b"BODY[HEADER.FIELDS (TO)]<4>" and subset.data == b"imap"
    missing = fetch(raw, Section((2,)), (0, 10))
    assert missing.label == b"BODY[2]<0>" and missing.data is None


def test_fetch_sections_content_is_a_view() -> None:
    raw = COMPLEX
    result = fetch(raw, Section((3,)))
    assert isinstance(result.data, memoryview)
    assert result.data.obj is raw


def test_fetch_sections_labels() -> None:
    assert section_label("BODY", Section()) == b"BODY[]"
    assert section_label("BODY", Section((1, 2), "MIME"), 0) == b"BODY[1.2.MIME]<0>"
    assert section_label("BODY", Section((), "HEADER.FIELDS.NOT", ("X-A", "NIL"))) == (
        b'BODY[HEADER.FIELDS.NOT (X-A "NIL")]'
    )
    assert section_label("BINARY", Section((3,)), 100) == b"BINARY[3]<100>"
    assert section_label("BINARY.SIZE", Section()) == b"BINARY.SIZE[]"


def test_fetch_sections_rfc822_items() -> None:
    raw = b"Subject: old\r\n\r\nbody\r\n"
    message = parse_message(raw)
    assert rfc822_section(raw, message, "RFC822") == SectionContent(b"RFC822", memoryview(raw))
    assert rfc822_section(raw, message, "RFC822.HEADER") == SectionContent(
        b"RFC822.HEADER", b"Subject: old\r\n\r\n"
    )
    assert rfc822_section(raw, message, "RFC822.TEXT") == SectionContent(
        b"RFC822.TEXT", b"body\r\n"
    )


# --- BINARY (RFC 3516) ------------------------------------------------------------------

BINARY_MESSAGE = (
    b"Content-Type: multipart/mixed; boundary=bin\r\n\r\n"
    b"--bin\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"Caf=C3=A9 soft=\r\nbreak\r\n"
    b"--bin\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"AAEC\r\nAwA=\r\n"
    b"--bin\r\nContent-Type: text/plain\r\n\r\nunix\nlines\r\nmixed\n"
    b"--bin\r\nContent-Type: application/x-thing\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n"
    b"begin 644 f\r\n"
    b"--bin\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    b"raw\x00\xffbytes\r\n"
    b"--bin--\r\n"
)


def binary(
    part: tuple[int, ...], partial: tuple[int, int] | None = None
) -> SectionContent | UnknownCte:
    raw = BINARY_MESSAGE
    return binary_section(raw, parse_message(raw), BinarySection(part, partial=partial))


def size(part: tuple[int, ...]) -> tuple[bytes, int] | UnknownCte:
    return binary_size(BINARY_MESSAGE, parse_message(BINARY_MESSAGE), BinarySize(part))


def test_fetch_sections_binary_quoted_printable() -> None:
    result = binary((1,))
    assert result == SectionContent(b"BINARY[1]", "Café softbreak".encode(), binary=False)
    assert size((1,)) == (b"BINARY.SIZE[1]", 15)


def test_fetch_sections_binary_base64_with_nul_is_literal8() -> None:
    result = binary((2,))
    assert result == SectionContent(b"BINARY[2]", b"\x00\x01\x02\x03\x00", binary=True)
    assert size((2,)) == (b"BINARY.SIZE[2]", 5)
    # Partial offsets refer to the decoded data (RFC 3516 §4.2).
    assert binary((2,), (1, 2)) == SectionContent(b"BINARY[2]<1>", b"\x01\x02", binary=False)


def test_fetch_sections_binary_text_gets_crlf() -> None:
    # RFC 3516 §6: textual sections go out with CRLF line ends whatever the storage.
    result = binary((3,))
    assert isinstance(result, SectionContent)
    # The line break before the delimiter belongs to the delimiter (RFC 2046 §5.1.1).
    assert result.data == b"unix\r\nlines\r\nmixed"
    assert size((3,)) == (b"BINARY.SIZE[3]", len(b"unix\r\nlines\r\nmixed"))


def test_fetch_sections_binary_unknown_encoding() -> None:
    # RFC 3516 §4.3: the session fails the FETCH with NO [UNKNOWN-CTE].
    assert binary((4,)) == UnknownCte("x-uuencode")
    assert size((4,)) == UnknownCte("x-uuencode")


def test_fetch_sections_binary_identity_encoding_is_a_view() -> None:
    result = binary((5,))
    assert isinstance(result, SectionContent)
    assert isinstance(result.data, memoryview)
    assert result.data == b"raw\x00\xffbytes" and result.binary


def test_fetch_sections_binary_missing_and_containers() -> None:
    assert binary((9,)) == SectionContent(b"BINARY[9]", None)
    assert size((9,)) == (b"BINARY.SIZE[9]", 0)
    whole = binary(())
    assert isinstance(whole, SectionContent) and whole.label == b"BINARY[]"
    assert whole.data == BINARY_MESSAGE
    raw = COMPLEX
    inner = binary_section(raw, parse_message(raw), BinarySection((3,)))
    assert isinstance(inner, SectionContent)
    assert inner.data == content(raw, (3,))


def test_fetch_sections_binary_lf_only_message() -> None:
    raw = (
        b"Content-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\nGr\xc3\xbc\xc3\x9fe\nzwei\n"
    )
    message = parse_message(raw)
    result = binary_section(raw, message, BinarySection((1,)))
    assert result == SectionContent(b"BINARY[1]", b"Gr\xc3\xbc\xc3\x9fe\r\nzwei\r\n")
    assert binary_size(raw, message, BinarySize((1,))) == (b"BINARY.SIZE[1]", 15)
