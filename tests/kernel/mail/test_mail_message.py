"""Tests for kernel.mail.message: realistic messages parsed into MIME trees with offsets.

Every test checks that the offsets slice the original bytes exactly.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

from kernel.mail import (
    Address,
    Group,
    Message,
    Part,
    decode_body,
    decode_text,
    parse_header_block,
    parse_message,
    part_by_path,
    walk,
)


def body(raw: bytes, part: Part) -> bytes:
    return raw[part.body_start : part.body_end]


def header(raw: bytes, part: Part) -> bytes:
    return raw[part.header_start : part.header_end]


def check_offsets(raw: bytes, message: Message) -> None:
    for part in walk(message.root):
        assert 0 <= part.header_start <= part.header_end <= part.body_end <= len(raw)
        for child in part.children:
            assert part.body_start <= child.header_start <= child.body_end <= part.body_end


PLAIN = (
    b"Return-Path: <alice@example.org>\r\n"
    b"From: Alice Example <alice@example.org>\r\n"
    b"To: Bob <bob@example.net>\r\n"
    b"Subject: Lunch tomorrow?\r\n"
    b"Date: Tue, 1 Jul 2025 10:52:37 +0200\r\n"
    b"Message-ID: <lunch-1@example.org>\r\n"
    b"\r\n"
    b"Hi Bob,\r\n"
    b"\r\n"
    b"Are we still on for lunch?\r\n"
    b"Alice\r\n"
)


def test_message_plain_text() -> None:
    message = parse_message(PLAIN)
    root = message.root
    assert (root.content_type, root.subtype) == ("text", "plain")
    assert root.params == {"charset": "us-ascii"}
    assert root.transfer_encoding == "7bit"
    assert header(PLAIN, root).endswith(b"Message-ID: <lunch-1@example.org>\r\n\r\n")
    assert body(PLAIN, root) == b"Hi Bob,\r\n\r\nAre we still on for lunch?\r\nAlice\r\n"
    assert root.body_lines == 4
    assert message.size == len(PLAIN)
    assert message.subject == "Lunch tomorrow?"
    assert message.from_ == (Address("Alice Example", "alice@example.org"),)
    assert message.to == (Address("Bob", "bob@example.net"),)
    assert message.date == datetime(2025, 7, 1, 8, 52, 37, tzinfo=UTC)
    assert message.message_id == "lunch-1@example.org"
    assert part_by_path(message, ()) is root
    assert part_by_path(message, (1,)) is root
    assert part_by_path(message, (2,)) is None
    assert part_by_path(message, (1, 1)) is None


ALTERNATIVE = (
    b"From: news@example.com\r\n"
    b"To: reader@example.net\r\n"
    b"Subject: Weekly digest\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="==alt-7f3a=="\r\n'
    b"\r\n"
    b"This is a message in MIME format.\r\n"
    b"\r\n"
    b"--==alt-7f3a==\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Caf=C3=A9 news this week. This line is long enough to need a soft line br=\r\n"
    b"eak.\r\n"
    b"\r\n"
    b"--==alt-7f3a==\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b"<html><body><p>Caf\xc3\xa9 <b>news</b> this week.</p></body></html>\r\n"
    b"--==alt-7f3a==--\r\n"
    b"epilogue text\r\n"
)


def test_message_multipart_alternative_with_html() -> None:
    message = parse_message(ALTERNATIVE)
    root = message.root
    assert root.mime_type == "multipart/alternative"
    assert root.params == {"boundary": "==alt-7f3a=="}
    plain, markup = root.children
    assert plain.mime_type == "text/plain"
    assert plain.transfer_encoding == "quoted-printable"
    assert header(ALTERNATIVE, plain) == (
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )
    # RFC 2046 §5.1.1: the CRLF before the delimiter belongs to the delimiter.
    assert body(ALTERNATIVE, plain).endswith(b"br=\r\neak.\r\n")
    assert decode_text(ALTERNATIVE, plain) == (
        "Café news this week. This line is long enough to need a soft line break.\r\n"
    )
    assert body(ALTERNATIVE, markup) == (
        b"<html><body><p>Caf\xc3\xa9 <b>news</b> this week.</p></body></html>"
    )
    assert markup.body_lines == 1
    assert part_by_path(ALTERNATIVE_MESSAGE := message, (2,)) is markup
    assert part_by_path(ALTERNATIVE_MESSAGE, (3,)) is None
    check_offsets(ALTERNATIVE, message)


PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n" * 20
PDF_BASE64 = base64.encodebytes(PDF).replace(b"\n", b"\r\n")
MIXED = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: Bob <bob@example.net>\r\n"
    b"Subject: Contract\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed;\r\n"
    b'\tboundary="----=_Part_0_1234.5678"\r\n'
    b"\r\n"
    b"------=_Part_0_1234.5678\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"The signed contract is attached.\r\n"
    b"------=_Part_0_1234.5678\r\n"
    b"Content-Type: application/pdf;\r\n"
    b" name*0*=utf-8''Vertrag%20f%C3%BCr;\r\n"
    b' name*1=" Bob.pdf"\r\n'
    b"Content-Disposition: attachment;\r\n"
    b" filename*=utf-8''Vertrag%20f%C3%BCr%20Bob.pdf; size=1234\r\n"
    b"Content-Transfer-Encoding: BASE64\r\n"
    b"Content-ID: <contract@example.org>\r\n"
    b"Content-Description: The contract\r\n"
    b"Content-Language: de, en\r\n"
    b"\r\n" + PDF_BASE64 + b"------=_Part_0_1234.5678--\r\n"
)


def test_message_multipart_mixed_base64_attachment_rfc2231_filename() -> None:
    message = parse_message(MIXED)
    text, attachment = message.root.children
    assert body(MIXED, text) == b"The signed contract is attached."
    assert attachment.mime_type == "application/pdf"
    assert attachment.params == {"name": "Vertrag für Bob.pdf"}
    assert attachment.disposition == "attachment"
    assert attachment.disposition_params == {"filename": "Vertrag für Bob.pdf", "size": "1234"}
    assert attachment.filename == "Vertrag für Bob.pdf"
    assert attachment.transfer_encoding == "base64"
    assert attachment.content_id == "<contract@example.org>"
    assert attachment.cid == "contract@example.org"
    assert attachment.description == "The contract"
    assert attachment.language == ("de", "en")
    assert attachment.body_lines == 0
    assert body(MIXED, attachment) == PDF_BASE64.removesuffix(b"\r\n")
    assert decode_body(MIXED, attachment) == PDF
    assert attachment.is_attachment
    check_offsets(MIXED, message)


IMAGE = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(64)))
RELATED = (
    b"From: designer@example.com\r\n"
    b"To: client@example.net\r\n"
    b"Subject: Mock-up\r\n"
    b"Content-Type: multipart/mixed; boundary=outer\r\n"
    b"\r\n"
    b"--outer\r\n"
    b'Content-Type: multipart/related; boundary="related"; type="multipart/alternative"\r\n'
    b"\r\n"
    b"--related\r\n"
    b"Content-Type: multipart/alternative; boundary=alt\r\n"
    b"\r\n"
    b"--alt\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"See the mock-up below.\r\n"
    b"--alt\r\n"
    b"Content-Type: text/html\r\n"
    b"\r\n"
    b'<p>See the mock-up below.</p><img src="cid:mock@example.com">\r\n'
    b"--alt--\r\n"
    b"--related\r\n"
    b"Content-Type: image/png\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"Content-ID: <mock@example.com>\r\n"
    b"Content-Disposition: inline\r\n"
    b"\r\n" + IMAGE + b"\r\n"
    b"--related--\r\n"
    b"--outer\r\n"
    b"Content-Type: text/plain; name=notes.txt\r\n"
    b"Content-Disposition: attachment\r\n"
    b"\r\n"
    b"notes\r\n"
    b"--outer--\r\n"
)


def test_message_nested_multipart_related() -> None:
    message = parse_message(RELATED)
    shapes = [(part.mime_type, len(part.children)) for part in walk(message.root)]
    assert shapes == [
        ("multipart/mixed", 2),
        ("multipart/related", 2),
        ("multipart/alternative", 2),
        ("text/plain", 0),
        ("text/html", 0),
        ("image/png", 0),
        ("text/plain", 0),
    ]
    related = part_by_path(message, (1,))
    assert related is not None and related.params["type"] == "multipart/alternative"
    assert body(RELATED, part_by_path(message, (1, 1, 1))) == b"See the mock-up below."
    image = part_by_path(message, (1, 2))
    assert image is not None and image.cid == "mock@example.com"
    assert image.disposition == "inline"
    assert decode_body(RELATED, image) == b"\x89PNG\r\n\x1a\n" + bytes(range(64))
    notes = part_by_path(message, (2,))
    assert notes is not None and notes.filename == "notes.txt"
    assert body(RELATED, notes) == b"notes"
    assert part_by_path(message, (1, 1, 3)) is None
    check_offsets(RELATED, message)


FORWARDED_INNER = (
    b"From: Carol <carol@example.com>\r\n"
    b"To: Alice <alice@example.org>\r\n"
    b"Subject: =?iso-8859-1?q?R=E9union?=\r\n"
    b"Date: Mon, 30 Jun 2025 09:00:00 -0400\r\n"
    b"Message-ID: <reunion@example.com>\r\n"
    b"Content-Type: multipart/alternative; boundary=inner\r\n"
    b"\r\n"
    b"--inner\r\n"
    b"Content-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"R\xe9union \xe0 10h.\r\n"
    b"--inner\r\n"
    b"Content-Type: text/html; charset=iso-8859-1\r\n"
    b"\r\n"
    b"<p>R&eacute;union</p>\r\n"
    b"--inner--\r\n"
)
FORWARD = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: Bob <bob@example.net>\r\n"
    b"Subject: Fwd: Reunion\r\n"
    b"Content-Type: multipart/mixed; boundary=fwd\r\n"
    b"\r\n"
    b"--fwd\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"Forwarding this.\r\n"
    b"--fwd\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"Content-Disposition: attachment\r\n"
    b"\r\n" + FORWARDED_INNER + b"--fwd--\r\n"
)


def test_message_rfc822_attachment() -> None:
    message = parse_message(FORWARD)
    attached = part_by_path(message, (2,))
    assert attached is not None and attached.mime_type == "message/rfc822"
    assert body(FORWARD, attached) == FORWARDED_INNER.removesuffix(b"\r\n")
    inner = attached.message
    assert inner is not None
    assert attached.children == (inner.root,)
    assert inner.subject == "Réunion"
    assert inner.from_ == (Address("Carol", "carol@example.com"),)
    assert inner.date == datetime(2025, 6, 30, 9, tzinfo=timezone(timedelta(hours=-4)))
    assert inner.message_id == "reunion@example.com"
    assert inner.size == attached.body_size
    assert inner.start == attached.body_start
    assert inner.root.header_start == attached.body_start
    assert attached.body_lines == FORWARDED_INNER.count(b"\n")
    inner_text = part_by_path(message, (2, 1))
    assert inner_text is not None
    assert body(FORWARD, inner_text) == b"R\xe9union \xe0 10h."
    assert decode_text(FORWARD, inner_text) == "Réunion à 10h."
    html = part_by_path(message, (2, 2))
    assert html is not None and body(FORWARD, html) == b"<p>R&eacute;union</p>"
    assert part_by_path(message, (2, 3)) is None
    assert [h.name for h in parse_header_block(FORWARD, inner.root.header_start)][:2] == [
        "From",
        "To",
    ]
    check_offsets(FORWARD, message)


def test_message_rfc822_with_non_multipart_body_is_part_one() -> None:
    inner = b"Subject: inner\r\n\r\ninner body\r\n"
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"--b--\r\n"
    )
    message = parse_message(raw)
    leaf = part_by_path(message, (1, 1))
    assert leaf is not None and body(raw, leaf) == b"inner body"
    assert part_by_path(message, (1, 2)) is None


def test_message_top_level_rfc822_numbers_continue_inside() -> None:
    raw = (
        b"Content-Type: message/rfc822\r\n\r\n"
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n"
        b"--x\r\n\r\none\r\n--x\r\n\r\ntwo\r\n--x--\r\n"
    )
    message = parse_message(raw)
    assert part_by_path(message, (1,)) is message.root
    two = part_by_path(message, (1, 2))
    assert two is not None and body(raw, two) == b"two"


def test_message_rfc822_base64_encoded_is_a_leaf() -> None:
    inner = base64.b64encode(b"Subject: hidden\r\n\r\nbody\r\n")
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + inner
        + b"\r\n--b--\r\n"
    )
    part = parse_message(raw).root.children[0]
    assert part.mime_type == "message/rfc822"
    assert part.message is None and part.children == ()
    assert decode_body(raw, part) == b"Subject: hidden\r\n\r\nbody\r\n"


BARE_LF = (
    b"From: unix@example.org\n"
    b"Subject: bare LF\n"
    b"Content-Type: multipart/mixed; boundary=lf\n"
    b"\n"
    b"--lf\n"
    b"Content-Type: text/plain\n"
    b"\n"
    b"line one\n"
    b"line two\n"
    b"--lf\n"
    b"\n"
    b"no headers here\n"
    b"--lf--\n"
)


def test_message_bare_lf_line_endings() -> None:
    message = parse_message(BARE_LF)
    assert message.subject == "bare LF"
    first, second = message.root.children
    assert body(BARE_LF, first) == b"line one\nline two"
    assert first.body_lines == 2
    assert header(BARE_LF, second) == b"\n"
    assert body(BARE_LF, second) == b"no headers here"
    assert second.mime_type == "text/plain"
    check_offsets(BARE_LF, message)


UTF8_HEADERS = (
    "From: Jörg Müller <jörg@bücher.example>\r\n"
    "To: 山田太郎 <taro@example.jp>\r\n"
    "Subject: Grüße aus Köln — 東京\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Hallo, schöne Grüße!\r\n"
).encode()


def test_message_eight_bit_utf8_headers() -> None:
    # RFC 6532 §3.2: header values may contain UTF-8.
    message = parse_message(UTF8_HEADERS)
    assert message.subject == "Grüße aus Köln — 東京"
    assert message.from_ == (Address("Jörg Müller", "jörg@bücher.example"),)
    assert message.to == (Address("山田太郎", "taro@example.jp"),)
    assert decode_text(UTF8_HEADERS, message.root) == "Hallo, schöne Grüße!\r\n"


def test_message_latin1_header_bytes_fall_back() -> None:
    raw = b"Subject: Caf\xe9\r\n\r\nx"
    assert parse_message(raw).subject == "Café"


ENCODED_WORDS = (
    b"From: =?UTF-8?B?Sm/Dq2wgRHVwb250?= <joel@example.fr>\r\n"
    b"To: =?iso-8859-1?q?Andr=E9?= Pirard <pirard@example.be>, "
    b'"=?utf-8?q?Z=C3=BCrich?= Office" <zh@example.ch>\r\n'
    b"Subject: =?utf-8?q?Pr=C3=A9sentation_du?=\r\n"
    b"  =?utf-8?q?_projet?= =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=\r\n"
    b"\r\n"
    b"body\r\n"
)


def test_message_encoded_words_in_subject_and_from() -> None:
    message = parse_message(ENCODED_WORDS)
    assert message.subject == "Présentation du projet日本語"
    assert message.from_ == (Address("Joël Dupont", "joel@example.fr"),)
    assert message.to == (
        Address("André Pirard", "pirard@example.be"),
        Address("Zürich Office", "zh@example.ch"),
    )


ISO_2022_JP = (
    b"Subject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=\r\n"
    b"Content-Type: text/plain; charset=ISO-2022-JP\r\n"
    b"Content-Transfer-Encoding: 7bit\r\n"
    b"\r\n"
    b'\x1b$B$3$s$K$A$O!"@$3&\x1b(B\r\n'
)


def test_message_iso_2022_jp_body() -> None:
    message = parse_message(ISO_2022_JP)
    assert message.subject == "こんにちは"
    assert decode_text(ISO_2022_JP, message.root) == "こんにちは、世界\r\n"


def test_message_windows_1252_body() -> None:
    raw = (
        b"Content-Type: text/plain; charset=windows-1252\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n"
        b"\r\n"
        b"=93Smart quotes=94 cost =8020 =96 na=EFve.\r\n"
    )
    message = parse_message(raw)
    assert decode_text(raw, message.root) == "\u201cSmart quotes\u201d cost €20 \u2013 naïve.\r\n"


def test_message_latin1_label_decodes_as_windows_1252() -> None:
    raw = b"Content-Type: text/plain; charset=latin1\r\n\r\n\x93quoted\x94 caf\xe9"
    assert decode_text(raw, parse_message(raw).root) == "\u201cquoted\u201d café"


def test_message_missing_close_boundary_runs_to_end() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nsecond, truncated"
    )
    message = parse_message(raw)
    first, second = message.root.children
    assert body(raw, first) == b"first"
    assert body(raw, second) == b"second, truncated"
    assert second.body_end == len(raw)


def test_message_wrong_boundary_is_a_text_leaf() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=expected\r\n\r\n"
        b"--actual\r\nContent-Type: text/plain\r\n\r\nhello\r\n--actual--\r\n"
    )
    root = parse_message(raw).root
    assert root.mime_type == "text/plain"
    assert root.children == ()
    assert "boundary" not in root.params
    assert body(raw, root) == raw[raw.index(b"--actual") :]


def test_message_multipart_without_boundary_is_a_text_leaf() -> None:
    raw = b"Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nhi\r\n--x--\r\n"
    root = parse_message(raw).root
    assert (root.mime_type, root.children) == ("text/plain", ())


def test_message_boundary_prefix_of_longer_line_is_not_a_delimiter() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=abc\r\n\r\n"
        b"--abc\r\n\r\nkeep --abcdef and\r\n--abcdef\r\ninside\r\n--abc \t\r\n\r\nlast\r\n--abc--"
    )
    first, second = parse_message(raw).root.children
    assert body(raw, first) == b"keep --abcdef and\r\n--abcdef\r\ninside"
    assert body(raw, second) == b"last"


def test_message_preamble_and_epilogue_ignored() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=q\r\n\r\n"
        b"preamble\r\n--q-not\r\n--q\r\n\r\nonly\r\n--q--\r\n--q\r\n\r\nepilogue\r\n"
    )
    (only,) = parse_message(raw).root.children
    assert body(raw, only) == b"only"


def test_message_digest_parts_default_to_rfc822() -> None:
    raw = (
        b"Content-Type: multipart/digest; boundary=d\r\n\r\n"
        b"--d\r\n\r\nSubject: one\r\n\r\nfirst\r\n"
        b"--d\r\nContent-Type: text/plain\r\n\r\nnot a message\r\n--d--\r\n"
    )
    first, second = parse_message(raw).root.children
    assert first.mime_type == "message/rfc822"
    assert first.message is not None and first.message.subject == "one"
    assert second.mime_type == "text/plain"


def test_message_without_header_body_separator() -> None:
    raw = b"From: a@example.org\r\nSubject: no separator\r\nThis is the body.\r\nMore.\r\n"
    message = parse_message(raw)
    assert message.subject == "no separator"
    assert body(raw, message.root) == b"This is the body.\r\nMore.\r\n"
    assert header(raw, message.root) == b"From: a@example.org\r\nSubject: no separator\r\n"


def test_message_header_only() -> None:
    raw = b"Subject: nothing else"
    message = parse_message(raw)
    assert message.subject == "nothing else"
    assert message.root.header_end == message.root.body_end == len(raw)
    assert message.root.body_lines == 0


def test_message_empty() -> None:
    message = parse_message(b"")
    assert message.size == 0
    assert message.root.mime_type == "text/plain"
    assert (message.root.header_start, message.root.header_end, message.root.body_end) == (0, 0, 0)
    assert message.subject is None and message.from_ == () and message.date is None


def test_message_body_only() -> None:
    raw = b"\r\njust a body\r\n"
    message = parse_message(raw)
    assert message.root.header_end == 2
    assert body(raw, message.root) == b"just a body\r\n"


def test_message_nul_bytes() -> None:
    raw = (
        b"Subject: nul\x00here\r\nX-Bad\x00Name: v\r\n"
        b"Content-Type: multipart/mixed; boundary=n\r\n\r\n"
        b"--n\r\n\r\n\x00\x00binary\x00\r\n--n--\r\n"
    )
    message = parse_message(raw)
    # The line with a NUL in its name is no field: it is folded into the one before.
    assert message.subject == "nul\x00here X-Bad\x00Name: v"
    (part,) = message.root.children
    assert body(raw, part) == b"\x00\x00binary\x00"


def test_message_enormous_header_line() -> None:
    subject = b"x" * 2_000_000
    raw = b"Subject: " + subject + b"\r\nTo: a@example.org\r\n\r\nbody"
    message = parse_message(raw)
    assert message.subject == subject.decode()
    assert message.to == (Address(None, "a@example.org"),)
    assert body(raw, message.root) == b"body"


def test_message_groups_and_references() -> None:
    raw = (
        b"To: undisclosed-recipients:;\r\n"
        b"Cc: Team: a@example.org, B <b@example.org>;\r\n"
        b"In-Reply-To: <parent@example.org>\r\n"
        b"References: <root@example.org>\r\n <parent@example.org>\r\n"
        b"\r\n"
    )
    message = parse_message(raw)
    assert message.to == (Group("undisclosed-recipients", ()),)
    assert message.cc == (
        Group("Team", (Address(None, "a@example.org"), Address("B", "b@example.org"))),
    )
    assert message.in_reply_to == ("parent@example.org",)
    assert message.references == ("root@example.org", "parent@example.org")


def test_message_first_content_type_wins() -> None:
    raw = b"Content-Type: text/html\r\nContent-Type: text/plain\r\n\r\n<p>x</p>"
    assert parse_message(raw).root.mime_type == "text/html"


def test_message_mbox_from_line_is_skipped() -> None:
    raw = b"From alice@example.org Tue Jul  1 10:52:37 2025\r\nSubject: mbox\r\n\r\nbody"
    message = parse_message(raw)
    assert message.subject == "mbox"
    assert body(raw, message.root) == b"body"


def test_message_depth_limit_stops_descending() -> None:
    depth = 80
    raw = b""
    for level in range(depth):
        raw += b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (level, level)
    raw += b"\r\ninnermost\r\n"
    message = parse_message(raw, max_depth=10)
    levels = 0
    part = message.root
    while part.children:
        (part,) = part.children
        levels += 1
    assert levels == 10
    assert part.mime_type == "text/plain"
    check_offsets(raw, message)
    deep = parse_message(raw)
    assert sum(1 for _ in walk(deep.root)) == 65


def test_message_part_limit_stops_splitting() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=p\r\n\r\n"
    raw += b"".join(b"--p\r\n\r\npart %d\r\n" % n for n in range(50)) + b"--p--\r\n"
    message = parse_message(raw, max_parts=10)
    children = message.root.children
    assert len(children) == 10
    assert body(raw, children[-1]).startswith(b"part 9\r\n--p\r\n")
    assert body(raw, children[-1]).endswith(b"part 49\r\n--p--\r\n")
    assert len(parse_message(raw).root.children) == 50


def test_message_transfer_encoding_is_lowercased_and_defaulted() -> None:
    raw = b"Content-Transfer-Encoding: Quoted-Printable\r\n\r\na=3Db"
    message = parse_message(raw)
    assert message.root.transfer_encoding == "quoted-printable"
    assert decode_body(raw, message.root) == b"a=b"
    assert parse_message(b"\r\n").root.transfer_encoding == "7bit"
