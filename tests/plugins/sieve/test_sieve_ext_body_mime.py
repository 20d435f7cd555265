"""body (RFC 5173) and mime/foreverypart/extracttext (RFC 5703)."""

from __future__ import annotations

import pytest
from sieve_support import names, run

from plugins.sieve import FileInto

MULTIPART = (
    b"From: a@example.org\r\n"
    b"To: b@example.org\r\n"
    b"Subject: parts\r\n"
    b"Content-Type: multipart/mixed; boundary=outer\r\n"
    b"\r\n"
    b"This is the prologue.\r\n"
    b"--outer\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Caf=C3=A9 au lait\r\n"
    b"--outer\r\n"
    b"Content-Type: text/html\r\n"
    b"X-Part: html\r\n"
    b"\r\n"
    b"<p>Visible <b>words</b></p>\r\n"
    b"--outer\r\n"
    b"Content-Type: application/pdf; name=report.pdf\r\n"
    b'Content-Disposition: attachment; filename="report.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"JVBERi0xLjQK\r\n"
    b"--outer--\r\n"
    b"The epilogue.\r\n"
)


def matched(source: str, message: bytes = MULTIPART) -> bool:
    return names(run(source + " { discard; }", message)) == ["discard"]


@pytest.mark.parametrize(
    ("transform", "key", "expected"),
    [
        (":raw", "Caf=C3=A9", True),
        (":raw", "--outer", True),
        (":text", "Café au lait", True),
        (":text", "Visible words", True),
        (":text", "<b>", False),
        (":text", "JVBERi0", False),
        (':content "text/plain"', "Café", True),
        (':content "text/plain"', "Visible", False),
        (':content "text"', "<b>words</b>", True),
        (':content "multipart"', "prologue", True),
        (':content "multipart"', "--outer", False),
        (':content "application/pdf"', "%PDF-1.4", True),
        (':content "text/plain/x"', "", False),
    ],
)
def test_body_transforms(transform: str, key: str, expected: bool) -> None:
    source = f'require "body"; if body {transform} :contains "{key}"'
    assert matched(source) is expected


def test_body_of_a_header_only_message_matches_nothing() -> None:
    # RFC 5173 §5: a message without the empty line has no body at all.
    assert not matched('require "body"; if body :raw :contains ""', b"Subject: x\r\n")


def test_body_does_not_set_match_variables() -> None:
    source = (
        'require ["body", "variables", "fileinto"];\n'
        'if body :raw :matches "*au*" { fileinto "x${1}"; }'
    )
    assert run(source, MULTIPART).actions == (FileInto("x"),)


def test_header_mime_options() -> None:
    base = 'require "mime"; if header :mime :anychild '
    assert matched(base + ':type "Content-Type" "application"')
    assert matched(base + ':subtype "Content-Type" "pdf"')
    assert matched(base + ':contenttype "Content-Type" "text/html"')
    assert matched(base + ':param "filename" "Content-Disposition" "report.pdf"')
    assert not matched('require "mime"; if header :mime :subtype "Content-Type" "pdf"')
    assert matched('require "mime"; if exists :mime :anychild ["X-Part", "Content-Disposition"]')


def test_foreverypart_visits_every_part_and_break_leaves() -> None:
    source = (
        'require ["foreverypart", "mime", "variables", "fileinto"];\n'
        'set "seen" "";\n'
        "foreverypart {\n"
        '  if header :mime :contenttype "Content-Type" "application/pdf" { break; }\n'
        '  if header :mime :type "Content-Type" "" { set "seen" "${seen}?"; }\n'
        '  if header :mime :matches :type "Content-Type" "*" { set "seen" "${seen}${1},"; }\n'
        "}\n"
        'fileinto "${seen}";'
    )
    assert run(source, MULTIPART).actions == (FileInto("multipart,text,text,"),)


def test_extracttext_gives_the_text_of_the_current_part() -> None:
    source = (
        'require ["foreverypart", "mime", "variables", "extracttext", "fileinto"];\n'
        "foreverypart {\n"
        '  if header :mime :subtype "Content-Type" "html" {\n'
        '    extracttext :first 7 "text"; fileinto "${text}";\n'
        "  }\n"
        "}"
    )
    assert run(source, MULTIPART).actions == (FileInto("Visible"),)


def test_foreverypart_nesting_limit() -> None:
    source = 'require "foreverypart";' + "foreverypart {" * 5 + "}" * 5
    from sieve_support import compile_error

    assert "nested deeper than 4" in str(compile_error(source))
