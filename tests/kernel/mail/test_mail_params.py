"""Tests for kernel.mail.params: Content-Type / Content-Disposition, RFC 2231, tables."""

from __future__ import annotations

import pytest

from kernel.mail import parse_content_disposition, parse_content_type

DEFAULT = ("text", "plain", {"charset": "us-ascii"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text/plain", ("text", "plain", {})),
        ("TEXT/HTML; Charset=UTF-8", ("text", "html", {"charset": "UTF-8"})),
        ('text/plain; charset="iso-8859-1"', ("text", "plain", {"charset": "iso-8859-1"})),
        (
            " text / plain ; format=flowed;delsp=yes",
            ("text", "plain", {"format": "flowed", "delsp": "yes"}),
        ),
        ("text/plain;charset=us-ascii (Plain text)", ("text", "plain", {"charset": "us-ascii"})),
        ("text/plain (comment); charset=utf-8", ("text", "plain", {"charset": "utf-8"})),
        # Missing semicolon between type and parameter.
        ("text/plain charset=utf-8", ("text", "plain", {"charset": "utf-8"})),
        # Unquoted value with spaces runs to the next semicolon.
        (
            "application/pdf; name=my file.pdf; x=1",
            ("application", "pdf", {"name": "my file.pdf", "x": "1"}),
        ),
        # Quoted-pair escapes and a semicolon inside quotes.
        (r'text/plain; name="a\"b;c"', ("text", "plain", {"name": 'a"b;c'})),
        # Unterminated quoted string runs to the end.
        ('text/plain; name="open', ("text", "plain", {"name": "open"})),
        # First duplicate wins; attributes are lowercased.
        ("text/plain; CHARSET=a; charset=b", ("text", "plain", {"charset": "a"})),
        # A parameter without a value is dropped.
        ("text/plain; flag; charset=x", ("text", "plain", {"charset": "x"})),
        (
            'multipart/mixed; boundary="----=_Part_1_2.3"',
            ("multipart", "mixed", {"boundary": "----=_Part_1_2.3"}),
        ),
        # A boundary that looks like an encoded-word is left alone.
        (
            'multipart/mixed; boundary="=?x?q?y?="',
            ("multipart", "mixed", {"boundary": "=?x?q?y?="}),
        ),
        # RFC 2231 §3: continuations, in section order whatever the written order.
        (
            'message/external-body; access-type=URL; URL*1="cgi/foo"; URL*0="ftp://"',
            ("message", "external-body", {"access-type": "URL", "url": "ftp://cgi/foo"}),
        ),
        # RFC 2231 §4: charset and language.
        (
            "application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A",
            ("application", "x-stuff", {"title": "This is ***fun***"}),
        ),
        # RFC 2231 §4.1: mixed encoded and plain sections.
        (
            "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; "
            'title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn\'t it!"',
            ("application", "x-stuff", {"title": "This is even more ***fun*** isn't it!"}),
        ),
        (
            "application/pdf; name*=utf-8''%E2%82%AC%20rates.pdf",
            ("application", "pdf", {"name": "€ rates.pdf"}),
        ),
        # The RFC 2231 form wins over the plain one.
        (
            "application/pdf; name=\"fallback.pdf\"; name*=utf-8''r%C3%A9sum%C3%A9.pdf",
            ("application", "pdf", {"name": "résumé.pdf"}),
        ),
        # Quoted extended value (invalid, common) and an unknown charset.
        ("text/plain; name*=\"utf-8''a%20b\"", ("text", "plain", {"name": "a b"})),
        ("text/plain; name*=x-unknown''caf%C3%A9", ("text", "plain", {"name": "café"})),
        ("text/plain; name*=iso-8859-1''caf%E9", ("text", "plain", {"name": "café"})),
        # Broken percent escapes survive.
        ("text/plain; name*=utf-8''100%", ("text", "plain", {"name": "100%"})),
        # RFC 2047 words in quoted name/filename parameters (common in the wild).
        (
            'application/pdf; name="=?utf-8?B?UsOpc3Vtw6kucGRm?="',
            ("application", "pdf", {"name": "Résumé.pdf"}),
        ),
        # RFC 2045 §5.2 default on missing or invalid values.
        ("", DEFAULT),
        ("text", DEFAULT),
        ("/plain", DEFAULT),
        ("text/plain/extra", DEFAULT),
        ("garbage; charset=utf-8", ("text", "plain", {"charset": "utf-8"})),
        ("ünïcode/type", DEFAULT),
    ],
)
def test_params_content_type(value: str, expected: tuple[str, str, dict[str, str]]) -> None:
    assert parse_content_type(value) == expected


def test_params_content_type_missing_is_text_plain_us_ascii() -> None:
    # RFC 2045 §5.2.
    assert parse_content_type(None) == DEFAULT


def test_params_content_type_caller_default() -> None:
    # RFC 2046 §5.1.5: in a digest the default is message/rfc822.
    assert parse_content_type(None, ("message", "rfc822")) == ("message", "rfc822", {})


def test_params_results_are_fresh_dicts() -> None:
    first = parse_content_type("text/plain; charset=utf-8")
    first[2]["charset"] = "changed"
    assert parse_content_type("text/plain; charset=utf-8")[2] == {"charset": "utf-8"}


def test_params_long_values_parse_uncached() -> None:
    long_name = "x" * 1000
    assert parse_content_type(f'text/plain; name="{long_name}"')[2] == {"name": long_name}
    assert parse_content_disposition(f'attachment; filename="{long_name}"') == (
        "attachment",
        {"filename": long_name},
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, (None, {})),
        ("", (None, {})),
        ("inline", ("inline", {})),
        ("ATTACHMENT", ("attachment", {})),
        (
            'attachment; filename="genome.jpeg";\r\n'
            ' modification-date="Wed, 12 Feb 1997 16:29:51 -0500"',
            (
                "attachment",
                {"filename": "genome.jpeg", "modification-date": "Wed, 12 Feb 1997 16:29:51 -0500"},
            ),
        ),
        ("attachment;filename*=UTF-8''%E2%82%AC.txt", ("attachment", {"filename": "€.txt"})),
        (
            'attachment; filename="=?iso-8859-1?q?d=E9j=E0.txt?="',
            ("attachment", {"filename": "déjà.txt"}),
        ),
        # No type, just a parameter.
        ("filename=a.pdf", (None, {"filename": "a.pdf"})),
        ('; filename="a.pdf"', (None, {"filename": "a.pdf"})),
    ],
)
def test_params_content_disposition(
    value: str | None, expected: tuple[str | None, dict[str, str]]
) -> None:
    assert parse_content_disposition(value) == expected
