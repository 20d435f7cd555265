"""Email/set create's message builder (RFC 8621 §4.6), sans-IO: the bytes it writes parse
back to the Email the client described, and the §4.6 constraints are enforced."""

from __future__ import annotations

from typing import Any

import pytest

from kernel.mail import parse_message
from plugins.jmap.mail.email_build import BuildError, build_message, referenced_blobs
from plugins.jmap.mail.email_render import BodyOptions, EmailMeta, check_properties, render_email


def _roundtrip(email: dict[str, Any], blobs: dict[str, bytes] | None = None) -> dict[str, Any]:
    raw = build_message(email, blobs or {}, now=1_700_000_000, domain="example.org")
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    meta = EmailMeta("E1", "Gb", "T1", {}, {}, len(raw), 0.0, False, "")
    props = check_properties(
        [
            "from",
            "to",
            "cc",
            "subject",
            "sentAt",
            "messageId",
            "inReplyTo",
            "bodyStructure",
            "textBody",
            "htmlBody",
            "attachments",
            "bodyValues",
            "header:X-Custom:asText",
            "header:List-Post:asURLs",
            "header:X-Grouped:asGroupedAddresses",
            "header:Resent-To:asAddresses:all",
        ]
    )
    return render_email(
        raw, parse_message(raw), meta, props, BodyOptions(lambda p: p, fetch_all=True)
    )


def test_jmap_email_build_headers_roundtrip() -> None:
    email = {
        "mailboxIds": {"M1": True},
        "from": [{"name": 'Jöhn "Q" Dœ', "email": "john@example.org"}],
        "to": [
            {"name": "Smith, Jane", "email": "jane@example.org"},
            {"name": None, "email": "x@y"},
        ],
        "subject": "Grüße aus Köln, a long subject line that must be folded " * 3,
        "sentAt": "2024-02-03T04:05:06+01:00",
        "inReplyTo": ["parent@example.org"],
        "header:X-Custom:asText": "plain ascii",
        "header:List-Post:asURLs": ["mailto:list@example.org"],
        "header:X-Grouped:asGroupedAddresses": [
            {"name": "Team", "addresses": [{"name": "A", "email": "a@x"}]},
            {"name": None, "addresses": [{"name": None, "email": "b@x"}]},
        ],
        "header:Resent-To:asAddresses:all": [[{"name": None, "email": "r1@x"}], []],
        "bodyValues": {"1": {"value": "Hello\nWörld"}},
        "textBody": [{"partId": "1", "type": "text/plain"}],
    }
    got = _roundtrip(email)
    assert got["from"] == email["from"]
    assert got["to"] == email["to"]
    assert got["subject"] == email["subject"]
    assert got["sentAt"] == "2024-02-03T04:05:06+01:00"
    assert got["inReplyTo"] == ["parent@example.org"]
    assert got["messageId"][0].endswith("@example.org")  # §4.6: generated
    assert got["header:X-Custom:asText"] == "plain ascii"
    assert got["header:List-Post:asURLs"] == ["mailto:list@example.org"]
    assert (
        got["header:X-Grouped:asGroupedAddresses"] == email["header:X-Grouped:asGroupedAddresses"]
    )
    assert got["header:Resent-To:asAddresses:all"] == [[{"name": None, "email": "r1@x"}], []]
    assert next(iter(got["bodyValues"].values()))["value"] == "Hello\nWörld"
    assert got["textBody"][0]["type"] == "text/plain"


def test_jmap_email_build_text_html_attachments() -> None:
    email = {
        "mailboxIds": {"M1": True},
        "subject": "parts",
        "bodyValues": {"t": {"value": "plain"}, "h": {"value": "<b>html</b> <img src='cid:c1'>"}},
        "textBody": [{"partId": "t", "type": "text/plain"}],
        "htmlBody": [{"partId": "h", "type": "text/html"}],
        "attachments": [
            {"blobId": "B1", "type": "application/pdf", "name": "résumé.pdf"},
            {"blobId": "B2", "type": "image/png", "cid": "c1", "disposition": "inline"},
        ],
    }
    blobs = {"B1": b"%PDF-1.4 \x00\xff binary", "B2": b"\x89PNG"}
    assert referenced_blobs(email) == ["B1", "B2"]
    got = _roundtrip(email, blobs)
    assert [p["type"] for p in got["textBody"]] == ["text/plain"]
    assert [p["type"] for p in got["htmlBody"]] == ["text/html"]
    types = {a["type"]: a for a in got["attachments"]}
    assert types["application/pdf"]["name"] == "résumé.pdf"
    assert types["application/pdf"]["size"] == len(blobs["B1"])
    assert types["image/png"]["cid"] == "c1"
    structure = got["bodyStructure"]
    assert structure["type"] == "multipart/mixed"
    assert structure["subParts"][0]["type"] == "multipart/alternative"
    assert structure["subParts"][0]["subParts"][1]["type"] == "multipart/related"


def test_jmap_email_build_from_body_structure() -> None:
    email = {
        "mailboxIds": {"M1": True},
        "bodyStructure": {
            "type": "multipart/mixed",
            "subParts": [
                {"partId": "a", "type": "text/plain", "header:X-Part:asText": "one"},
                {"blobId": "B", "type": "message/rfc822", "disposition": "attachment"},
            ],
        },
        "bodyValues": {"a": {"value": "x" * 2000}},  # a long line: quoted-printable
    }
    inner = b"Subject: inner\r\n\r\nhello\r\n"
    got = _roundtrip(email, {"B": inner})
    parts = got["bodyStructure"]["subParts"]
    assert parts[0]["type"] == "text/plain" and parts[1]["type"] == "message/rfc822"
    assert parts[1]["size"] == len(inner)
    assert got["bodyValues"]["1"]["value"] == "x" * 2000


@pytest.mark.parametrize(
    ("email", "error", "properties"),
    [
        ({"headers": []}, "invalidProperties", ["headers"]),
        ({"id": "E1"}, "invalidProperties", ["id"]),
        ({"unknown": 1}, "invalidProperties", ["unknown"]),
        (
            {"from": [], "header:From:asAddresses": []},
            "invalidProperties",
            ["header:From:asAddresses"],
        ),
        ({"header:Content-Type": " text/plain"}, "invalidProperties", ["header:Content-Type"]),
        ({"header:From:asDate": "x"}, "invalidProperties", ["header:From:asDate"]),
        ({"sentAt": "not a date"}, "invalidProperties", ["sentAt"]),
        ({"from": "not a list"}, "invalidProperties", ["from"]),
        (
            {"bodyStructure": {"partId": "1"}, "textBody": [{"partId": "1"}]},
            "invalidProperties",
            ["bodyStructure"],
        ),
        (
            {
                "textBody": [{"partId": "1", "type": "text/html"}],
                "bodyValues": {"1": {"value": ""}},
            },
            "invalidProperties",
            ["textBody"],
        ),
        ({"textBody": [{"partId": "nope"}]}, "invalidProperties", ["textBody/0/partId"]),
        (
            {"textBody": [{"partId": "1", "blobId": "B"}], "bodyValues": {"1": {"value": ""}}},
            "invalidProperties",
            ["textBody/0/partId"],
        ),
        (
            {"textBody": [{"partId": "1", "charset": "utf-8"}], "bodyValues": {"1": {"value": ""}}},
            "invalidProperties",
            ["textBody/0/charset"],
        ),
        (
            {
                "textBody": [{"partId": "1"}],
                "bodyValues": {"1": {"value": "", "isTruncated": True}},
            },
            "invalidProperties",
            ["bodyValues/1"],
        ),
        (
            {
                "bodyStructure": {"partId": "1", "header:Content-Transfer-Encoding": " base64"},
                "bodyValues": {"1": {"value": ""}},
            },
            "invalidProperties",
            ["bodyStructure/header:Content-Transfer-Encoding"],
        ),
        (
            {
                "subject": "a",
                "bodyStructure": {"partId": "1", "header:Subject": " b"},
                "bodyValues": {"1": {"value": ""}},
            },
            "invalidProperties",
            ["bodyStructure/header:Subject"],
        ),
    ],
)
def test_jmap_email_build_refuses_what_4_6_forbids(
    email: dict[str, Any], error: str, properties: list[str]
) -> None:
    with pytest.raises(BuildError) as raised:
        build_message({"mailboxIds": {"M1": True}, **email}, {"B": b"x"}, now=0, domain="x")
    assert raised.value.type == error
    assert raised.value.properties == properties


def test_jmap_email_build_missing_blob_is_blob_not_found() -> None:
    email = {"mailboxIds": {"M": True}, "attachments": [{"blobId": "Gmissing"}]}
    with pytest.raises(BuildError) as raised:
        build_message(email, {}, now=0, domain="x")
    assert raised.value.to_json() == {"type": "blobNotFound", "notFound": ["Gmissing"]}


def test_jmap_email_build_empty_draft_is_a_message() -> None:
    raw = build_message({"mailboxIds": {"M": True}}, {}, now=0, domain="x")
    message = parse_message(raw)
    assert message.message_id and message.date is not None
    assert message.root.mime_type == "text/plain"
