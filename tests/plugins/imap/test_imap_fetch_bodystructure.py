"""FETCH BODY and BODYSTRUCTURE (RFC 9051 §7.5.2): the RFC's examples and every part
kind, extension data, encapsulated messages, and malformed MIME."""

from __future__ import annotations

import base64

from kernel.mail import parse_message
from plugins.imap.fetch import body_structure
from plugins.imap.fetch.bodystructure import MAX_RENDER_DEPTH


def body(raw: bytes, *, utf8: bool = False, rev2: bool = False) -> bytes:
    return body_structure(raw, parse_message(raw), extensible=False, utf8=utf8, rev2=rev2)


def structure(raw: bytes, *, utf8: bool = False, rev2: bool = False) -> bytes:
    return body_structure(raw, parse_message(raw), extensible=True, utf8=utf8, rev2=rev2)


def lines(count: int, total: int, fill: bytes = b"x") -> bytes:
    """``count`` CRLF-separated lines of ``total`` octets, the last without CRLF."""
    head = (fill * (total // count - 2) + b"\r\n") * (count - 1)
    return head + fill * (total - len(head))


def test_fetch_bodystructure_rfc9051_simple_text() -> None:
    # RFC 9051 §7.5.2: "a simple text message of 48 lines and 2279 octets".
    raw = b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n" + lines(48, 2279)
    assert body(raw) == b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 2279 48)'
    assert structure(raw) == (
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 2279 48 NIL NIL NIL NIL)'
    )


def test_fetch_bodystructure_rfc9051_two_parts() -> None:
    # RFC 9051 §7.5.2: "a text and a base64-encoded text attachment" (the line breaks
    # inside the RFC's example are editorial: body-type-mpart = 1*body SP media-subtype).
    raw = (
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=frontier\r\n\r\n"
        b"--frontier\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n"
        + lines(23, 1152)
        + b"\r\n--frontier\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII; NAME=cc.diff\r\n"
        b"Content-ID: <960723163407.20117h@cac.washington.edu>\r\n"
        b"Content-Description: Compiler diff\r\nContent-Transfer-Encoding: BASE64\r\n\r\n"
        + lines(73, 4554, b"Q")
        + b"\r\n--frontier--\r\n"
    )
    assert body(raw) == (
        b'(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)'
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff")'
        b' "<960723163407.20117h@cac.washington.edu>" "Compiler diff"'
        b' "BASE64" 4554 73) "MIXED")'
    )
    assert structure(raw).endswith(b' "MIXED" ("BOUNDARY" "frontier") NIL NIL NIL)')


def test_fetch_bodystructure_default_type_is_us_ascii_text() -> None:
    # RFC 2045 §5.2: no Content-Type means text/plain; charset=us-ascii.
    assert body(b"Subject: x\r\n\r\nhi\r\n") == (
        b'("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 4 1)'
    )
    assert body(b"Content-Type: text/html\r\n\r\n<p>") == (
        b'("TEXT" "HTML" ("CHARSET" "us-ascii") NIL NIL "7BIT" 3 1)'
    )


MIXED = (
    b"From: Sender <s@example.com>\r\nSubject: mixed\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="outer"\r\nContent-Language: en\r\n\r\n'
    b"This is a preamble.\r\n"
    b"--outer\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n"
    b"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=C3=A9\r\nline two\r\n"
    b"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Caf\xc3\xa9</p>\r\n"
    b"--alt--\r\n"
    b"--outer\r\nContent-Type: image/png; name=dot.png\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"Content-Disposition: attachment; filename=dot.png; size=6\r\n"
    b"Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
    b"Content-Language: en, de\r\nContent-Location: http://example.com/dot.png\r\n\r\n"
    b"iVBORw0KGgo=\r\n"
    b"--outer--\r\nepilogue\r\n"
)


def test_fetch_bodystructure_mixed_with_alternative_and_attachment() -> None:
    assert structure(MIXED) == (
        b'((("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 19 2 NIL NIL NIL NIL)'
        b'("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "7BIT" 12 1 NIL NIL NIL NIL)'
        b' "ALTERNATIVE" ("BOUNDARY" "alt") NIL NIL NIL)'
        b'("IMAGE" "PNG" ("NAME" "dot.png") NIL NIL "BASE64" 12'
        b' "Q2hlY2sgSW50ZWdyaXR5IQ==" ("ATTACHMENT" ("FILENAME" "dot.png" "SIZE" "6"))'
        b' ("en" "de") "http://example.com/dot.png")'
        b' "MIXED" ("BOUNDARY" "outer") NIL "en" NIL)'
    )
    assert body(MIXED) == (
        b'((("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 19 2)'
        b'("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "7BIT" 12 1) "ALTERNATIVE")'
        b'("IMAGE" "PNG" ("NAME" "dot.png") NIL NIL "BASE64" 12) "MIXED")'
    )


NESTED = (
    b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n"
    b"--b1\r\nContent-Type: text/plain\r\n\r\nSee the forwarded message.\r\n"
    b"--b1\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n"
    b"From: Inner <inner@example.com>\r\nSubject: inner\r\n"
    b"Content-Type: multipart/mixed; boundary=b2\r\n\r\n"
    b"--b2\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\ninner text\r\n"
    b"--b2\r\nContent-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n"
    b"--b2--\r\n"
    b"--b1--\r\n"
)


def test_fetch_bodystructure_nested_message() -> None:
    inner_envelope = (
        b'(NIL "inner" (("Inner" NIL "inner" "example.com")) (("Inner" NIL "inner" "example.com"))'
        b' (("Inner" NIL "inner" "example.com")) NIL NIL NIL NIL NIL)'
    )
    assert body(NESTED) == (
        b'(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 26 1)'
        b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 258 ' + inner_envelope + b" "
        b'(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 10 1)'
        b'("APPLICATION" "OCTET-STREAM" NIL NIL NIL "BASE64" 8) "MIXED") 14) "MIXED")'
    )
    extended = structure(NESTED)
    assert b' "MIXED" ("BOUNDARY" "b2") NIL NIL NIL) 14 NIL ("INLINE" NIL) NIL NIL)' in extended


def test_fetch_bodystructure_message_global_depends_on_revision() -> None:
    raw = (
        b"Content-Type: message/global\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "Subject: Grüße\r\n\r\nHallo\r\n".encode()
    )
    # IMAP4rev1 (RFC 3501 §9) has only MESSAGE/RFC822 as media-message: a basic body.
    assert body(raw) == b'("MESSAGE" "GLOBAL" NIL NIL NIL "8BIT" 27)'
    assert (
        body(raw, rev2=True, utf8=True)
        == (
            '("MESSAGE" "GLOBAL" NIL NIL NIL "8BIT" 27'
            ' (NIL "Grüße" NIL NIL NIL NIL NIL NIL NIL NIL)'
            ' ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 7 1) 3)'
        ).encode()
    )


def test_fetch_bodystructure_encoded_message_global_is_parsed() -> None:
    # RFC 6532 §3.5 allows base64 for message/global; the parser leaves it a leaf.
    raw = (
        b"Content-Type: message/global\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"U3ViamVjdDogaGkNCg0KYm9keQ0K\r\n"  # "Subject: hi\r\n\r\nbody\r\n"
    )
    assert body(raw, rev2=True) == (
        b'("MESSAGE" "GLOBAL" NIL NIL NIL "BASE64" 30 (NIL "hi" NIL NIL NIL NIL NIL NIL NIL NIL)'
        b' ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 6 1) 1)'
    )


def test_fetch_bodystructure_other_message_types_are_basic() -> None:
    raw = (
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n"
        b"--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n--r--\r\n"
    )
    assert body(raw) == (b'(("MESSAGE" "DELIVERY-STATUS" NIL NIL NIL "7BIT" 21) "REPORT")')


def test_fetch_bodystructure_digest_default_is_message() -> None:
    # RFC 2046 §5.1.5: in a multipart/digest the default Content-Type is message/rfc822.
    raw = (
        b"Content-Type: multipart/digest; boundary=d\r\n\r\n"
        b"--d\r\n\r\nSubject: one\r\n\r\nfirst\r\n--d--\r\n"
    )
    assert body(raw) == (
        b'(("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 21 (NIL "one" NIL NIL NIL NIL NIL NIL NIL NIL)'
        b' ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 5 1) 3) "DIGEST")'
    )


def test_fetch_bodystructure_malformed_multipart_is_text() -> None:
    no_boundary = b"Content-Type: multipart/mixed\r\n\r\nno parts here\r\n"
    assert body(no_boundary) == b'("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 15 1)'
    missing_close = (
        b"Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Type: text/plain\r\n\r\n"
        b"truncated"
    )
    assert body(missing_close) == (
        b'(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 9 1) "MIXED")'
    )


def test_fetch_bodystructure_non_ascii_parameters() -> None:
    raw = (
        b"Content-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''Rechnung%20M%C3%A4rz.pdf\r\n"
        b"Content-Description: =?utf-8?q?M=C3=A4rz?=\r\n\r\n%PDF"
    )
    ascii_form = structure(raw)
    assert b'("ATTACHMENT" ("FILENAME" {18}\r\nRechnung M\xc3\xa4rz.pdf))' in ascii_form
    assert b'"=?utf-8?q?M=C3=A4rz?="' in ascii_form  # body-fld-desc is sent as written
    assert '("FILENAME" "Rechnung März.pdf")'.encode() in structure(raw, utf8=True)


def test_fetch_bodystructure_lf_only_message() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=z\n\n--z\nContent-Type: text/plain\n\n"
        b"one\ntwo\n--z\nContent-Type: text/csv\n\na,b\n--z--\n"
    )
    assert body(raw) == (
        b'(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 7 2)'
        b'("TEXT" "CSV" ("CHARSET" "us-ascii") NIL NIL "7BIT" 3 1) "MIXED")'
    )


def test_fetch_bodystructure_deep_nesting_stays_bounded() -> None:
    # Past the parser's depth limit the rest is described by placeholders that keep the
    # grammar (an all-NIL envelope and an empty text body), without deep recursion.
    depth = 2000
    raw = b"Content-Type: message/rfc822\r\n\r\n" * depth + b"Subject: core\r\n\r\nbottom\r\n"
    result = structure(raw)
    assert result.count(b'"MESSAGE" "RFC822"') == MAX_RENDER_DEPTH + 1
    assert result.count(b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 0 0)') == 1
    assert result.count(b"(") == result.count(b")")


def test_fetch_bodystructure_base64_nested_messages() -> None:
    # An encoded message/rfc822 (invalid per RFC 2046 §5.2.1, seen in the wild) is still
    # described as body-type-msg, from its decoded content.
    inner = b"Subject: deep\r\n\r\ncore\r\n"
    raw = (
        b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(inner)
    )
    assert body(raw) == (
        b'("MESSAGE" "RFC822" NIL NIL NIL "BASE64" 32 (NIL "deep" NIL NIL NIL NIL NIL NIL NIL NIL)'
        b' ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 6 1) 1)'
    )
