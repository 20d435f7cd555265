"""Email rendering (RFC 8621 §4.1, §4.2) from raw bytes, sans-IO: header forms, body
parts, the textBody/htmlBody/attachments split, body values, hostile messages."""

from __future__ import annotations

from typing import Any

import pytest

from kernel.mail import parse_message
from plugins.jmap.mail.email_body_parts import (
    body_tree,
    check_body_properties,
    find_part,
    split_body,
    truncate_utf8,
)
from plugins.jmap.mail.email_header_forms import parse_header_property, text_form
from plugins.jmap.mail.email_render import (
    DEFAULT_PROPERTIES,
    BodyOptions,
    EmailMeta,
    check_properties,
    render_email,
)


def _render(raw: bytes, properties: list[str] | None, **options: Any) -> dict[str, Any]:
    meta = EmailMeta("E1", "Gb", "T1", {"M1": True}, {"$seen": True}, len(raw), 0.0, False, "p")
    message = parse_message(raw)
    return render_email(
        raw,
        message,
        meta,
        check_properties(properties),
        BodyOptions(lambda p: "Gb_" + p, **options),
    )


RFC_EXAMPLE = (
    b'To: "  James Smythe" <james@example.com>, Friends:\r\n'
    b"  jane@example.com, =?UTF-8?Q?John_Sm=C3=AEth?=\r\n"
    b"  <john@example.com>;\r\n"
    b"Subject: =?utf-8?q?H=C3=A9llo?= =?utf-8?q?_w=C3=B6rld?= not=?utf-8?q?decoded?=\r\n"
    b"Subject: second\r\n"
    b"Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n"
    b"Message-ID: <a@b> (comment)\r\n"
    b"References: <x@y>\r\n  <z@w>\r\n"
    b"List-Post: <mailto:list@x> (Postings are Moderated), <https://x/post>\r\n"
    b"X-Junk: \xff\xfe bad\x00 utf8\r\n"
    b"\r\n"
    b"body\r\n"
)


def test_jmap_email_header_forms_follow_rfc_8621_4_1_2() -> None:
    got = _render(
        RFC_EXAMPLE,
        [
            "to",
            "header:To:asGroupedAddresses",
            "subject",
            "header:subject:all",
            "header:Subject:asText:all",
            "messageId",
            "references",
            "sentAt",
            "header:list-post:asURLs",
            "header:X-Junk",
            "header:X-Missing",
            "header:X-Missing:all",
            "header:Date:asDate",
        ],
    )
    # The RFC's own example (§4.1.2.3 and §4.1.2.4).
    assert got["to"] == [
        {"name": "James Smythe", "email": "james@example.com"},
        {"name": None, "email": "jane@example.com"},
        {"name": "John Smîth", "email": "john@example.com"},
    ]
    assert got["header:To:asGroupedAddresses"] == [
        {"name": None, "addresses": [{"name": "James Smythe", "email": "james@example.com"}]},
        {
            "name": "Friends",
            "addresses": [
                {"name": None, "email": "jane@example.com"},
                {"name": "John Smîth", "email": "john@example.com"},
            ],
        },
    ]
    # The last instance counts (§4.1.3); :all keeps them all, in order, Raw by default.
    assert got["subject"] == "second"
    assert got["header:subject:all"] == [
        " =?utf-8?q?H=C3=A9llo?= =?utf-8?q?_w=C3=B6rld?= not=?utf-8?q?decoded?=",
        " second",
    ]
    # White space between adjacent encoded words goes; a glued word is not decoded.
    assert got["header:Subject:asText:all"][0] == "Héllo wörld not=?utf-8?q?decoded?="
    assert got["messageId"] == ["a@b"]
    assert got["references"] == ["x@y", "z@w"]
    assert got["sentAt"] == "2003-07-01T10:52:37+02:00"
    assert got["header:Date:asDate"] == "2003-07-01T10:52:37+02:00"
    assert got["header:list-post:asURLs"] == ["mailto:list@x", "https://x/post"]
    # Raw: invalid UTF-8 becomes U+FFFD, NUL is dropped (§4.1.2.1).
    assert got["header:X-Junk"] == " \ufffd\ufffd bad utf8"
    assert got["header:X-Missing"] is None
    assert got["header:X-Missing:all"] == []
    assert got["id"] == "E1"


@pytest.mark.parametrize(
    "name",
    [
        "header:From:asDate",
        "header:Subject:asAddresses",
        "header:Date:asText",
        "header:To:asMessageIds",
        "header:Message-ID:asURLs",
        "header:From:asBogus",
        "header:From:all:asRaw",
        "header:",
        "header:Fr om",
        "unknownProperty",
    ],
)
def test_jmap_email_forbidden_header_forms_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        check_properties([name])


def test_jmap_email_header_forms_allowed_for_unknown_fields() -> None:
    for form in ("Text", "Addresses", "GroupedAddresses", "MessageIds", "Date", "URLs"):
        parsed = parse_header_property(f"header:X-Custom:as{form}:all")
        assert parsed is not None and parsed.form == form and parsed.all
    assert parse_header_property("header:List-Id:asText") is not None
    assert parse_header_property("header:Resent-To:asAddresses:all") is not None
    assert parse_header_property("subject") is None


def test_jmap_email_text_form_nfc_and_controls() -> None:
    # A decomposed é (e + U+0301) is composed (NFC); control characters from an
    # encoded word are dropped, folding is removed.
    assert text_form(b" e\xcc\x81t\xc3\xa9\r\n folded") == "été folded"
    assert text_form(b" =?utf-8?q?a=07b?=") == "ab"
    assert text_form(b" =?unknown-charset?q?x?=") == "=?unknown-charset?q?x?="


def test_jmap_email_default_properties_and_no_header_message() -> None:
    raw = b"no header block at all, just text\n"
    got = _render(raw, None)
    assert list(got) == list(DEFAULT_PROPERTIES)
    assert got["from"] is None and got["subject"] is None and got["messageId"] is None
    assert got["textBody"][0]["type"] == "text/plain"


# RFC 8621 §4.1.4's example structure, with the parts named A..K in their bodies.
NESTED = b"""Content-Type: multipart/mixed; boundary=1

--1
Content-Type: text/plain
Content-Disposition: inline

A
--1
Content-Type: multipart/mixed; boundary=2

--2
Content-Type: multipart/alternative; boundary=3

--3
Content-Type: multipart/mixed; boundary=4

--4
Content-Type: text/plain
Content-Disposition: inline

B
--4
Content-Type: image/jpeg
Content-Disposition: inline

C
--4
Content-Type: text/plain
Content-Disposition: inline

D
--4--
--3
Content-Type: multipart/related; boundary=5

--5
Content-Type: text/html

E
--5
Content-Type: image/jpeg

F
--5--
--3--
--2
Content-Type: image/jpeg
Content-Disposition: attachment

G
--2
Content-Type: application/x-excel

H
--2
Content-Type: message/rfc822

Subject: J

J
--2--
--1
Content-Type: text/plain
Content-Disposition: inline

K
--1--
"""


def _letters(raw: bytes, nodes: list[Any]) -> str:
    out = ""
    for node in nodes:
        body = raw[node.part.body_start : node.part.body_end].strip()
        out += body.decode()[-1]
    return out


def test_jmap_email_body_split_matches_rfc_example() -> None:
    message = parse_message(NESTED)
    text, html, attachments = split_body(body_tree(message))
    assert _letters(NESTED, text) == "ABCDK"
    assert _letters(NESTED, html) == "AEK"
    assert _letters(NESTED, attachments) == "CFGHJ"


def test_jmap_email_body_structure_part_ids_and_blobs() -> None:
    got = _render(
        NESTED,
        ["bodyStructure", "attachments"],
        body_properties=check_body_properties(
            ["partId", "blobId", "type", "size", "header:Content-Type"]
        ),
    )
    root = got["bodyStructure"]
    assert root["partId"] is None and root["blobId"] is None and root["type"] == "multipart/mixed"
    assert [p["partId"] for p in root["subParts"]] == ["1", None, "3"]
    related = root["subParts"][1]["subParts"][0]["subParts"][1]
    assert [p["partId"] for p in related["subParts"]] == ["2.1.2.1", "2.1.2.2"]
    rfc822 = next(a for a in got["attachments"] if a["type"] == "message/rfc822")
    # §4.1.4: no recursion into message/rfc822; its blob is the attached message.
    assert "subParts" not in rfc822 and rfc822["blobId"] == "Gb_2.4"
    assert rfc822["header:Content-Type"] == " message/rfc822"
    message = parse_message(NESTED)
    part = find_part(message, "2.4")
    assert part is not None and part.mime_type == "message/rfc822"
    assert find_part(message, "2") is None  # a multipart has no partId
    assert find_part(message, "9") is None and find_part(message, "01") is None


def test_jmap_email_body_values_fetch_options() -> None:
    got = _render(NESTED, ["bodyValues"], fetch_html=True)
    assert sorted(got["bodyValues"]) == ["1", "2.1.2.1", "3"]
    got = _render(NESTED, ["bodyValues"], fetch_text=True)
    assert sorted(got["bodyValues"]) == ["1", "2.1.1.1", "2.1.1.3", "3"]
    got = _render(NESTED, ["bodyValues"], fetch_all=True)
    assert sorted(got["bodyValues"]) == ["1", "2.1.1.1", "2.1.1.3", "2.1.2.1", "3"]
    assert _render(NESTED, ["bodyValues"])["bodyValues"] == {}


def test_jmap_email_body_value_truncation_and_encoding_problems() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b"\xc3\xa9\xc3\xa9\xc3\xa9\r\nline\r\n"
        b"--x\r\nContent-Type: text/html\r\n\r\n<p>ab<a href='x'>link</a>\r\n"
        b"--x\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n\r\nodd\r\n"
        b"--x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nuu\r\n"
        b"--x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbad \xff\xfe\r\n"
        b"--x\r\nContent-Type: text/plain\r\n\r\n8bit \xe9t\xe9\r\n"
        b"--x--\r\n"
    )
    values = _render(raw, ["bodyValues"], fetch_all=True, max_bytes=5)["bodyValues"]
    # 5 octets would split the third é: cut to two characters, valid UTF-8.
    assert values["1"] == {"value": "éé", "isEncodingProblem": False, "isTruncated": True}
    # Not inside the <a> tag.
    assert values["2"]["value"] == "<p>ab" and values["2"]["isTruncated"]
    assert values["3"]["isEncodingProblem"]  # unknown charset
    assert values["4"]["isEncodingProblem"]  # unknown transfer encoding
    assert values["5"]["isEncodingProblem"]  # malformed UTF-8
    assert values["6"]["isEncodingProblem"]  # 8-bit junk in a part without charset
    full = _render(raw, ["bodyValues"], fetch_all=True)["bodyValues"]
    assert full["1"]["value"] == "ééé\nline"  # CRLF becomes LF
    assert full["6"]["value"] == "8bit été"  # Windows-1252 fallback
    assert not full["1"]["isTruncated"]


def test_jmap_email_truncate_never_splits_a_code_point() -> None:
    text = "a€b😀c"
    for limit in range(1, len(text.encode()) + 2):
        cut, truncated = truncate_utf8(text, limit, html=False)
        assert len(cut.encode()) <= limit
        assert text.startswith(cut)
        assert truncated == (cut != text)


def test_jmap_email_malformed_messages_render() -> None:
    hostile = [
        b"",
        b"\x00\x01\x02",
        b"Content-Type: multipart/mixed\r\n\r\nno boundary\r\n",
        b"Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\nunterminated",
        b'From: <<<@@@>>>, "unterminated\r\nSubject: =?utf-8?b?!!!?=\r\n\r\nx',
        b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body",
        b'Content-Type: text/plain; charset=""\r\nContent-Transfer-Encoding: base64\r\n\r\n%%%',
        b"Subject: " + b"x" * 100_000 + b"\r\n\r\n",
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n"
        + b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n" * 200,
    ]
    everything = [*DEFAULT_PROPERTIES, "bodyStructure", "headers", "header:From:asAddresses:all"]
    for raw in hostile:
        got = _render(raw, everything, fetch_all=True, max_bytes=10)
        assert got["id"] == "E1"
        assert isinstance(got["bodyStructure"], dict)
        assert isinstance(got["textBody"], list)
    encapsulated = _render(hostile[5], ["attachments", "textBody"])
    assert [a["type"] for a in encapsulated["attachments"]] == ["message/rfc822"]
    assert encapsulated["textBody"] == []


def test_jmap_email_random_bytes_never_break_rendering() -> None:
    import random

    rng = random.Random(8621)
    pieces = [
        b"\r\n",
        b"\n",
        b": ",
        b"Content-Type: multipart/mixed; boundary=q\r\n",
        b"--q\r\n",
        b"--q--",
        b"=?utf-8?b?",
        b"?=",
        b"From: ",
        b"<a@b>",
        b"\xff\xc3",
        b"\x00",
        b'"',
        b"(",
        b"Content-Type: message/rfc822\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
    ]
    everything = [*DEFAULT_PROPERTIES, "bodyStructure", "headers", "header:From:asGroupedAddresses"]
    for _ in range(300):
        raw = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        got = _render(raw, everything, fetch_all=True, max_bytes=rng.randint(0, 20))
        assert got["id"] == "E1"
        for value in got["bodyValues"].values():
            assert isinstance(value["value"], str)


def test_jmap_email_import_received_at_from_topmost_received_field() -> None:
    from plugins.jmap.mail.email_import import received_from_headers

    raw = (
        b"Received: from a by b; Tue, 2 Jan 2024 10:00:00 +0000\r\n"
        b"Received: from c by a; Mon, 1 Jan 2024 10:00:00 +0000\r\n"
        b"Subject: x\r\n\r\n"
    )
    assert received_from_headers(raw) == 1704189600.0
    assert received_from_headers(b"Received: garbage without a date\r\n\r\n") is None
    assert received_from_headers(b"Subject: none\r\n\r\n") is None
