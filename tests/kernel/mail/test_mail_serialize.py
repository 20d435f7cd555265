"""Tests for kernel.mail.serialize: the stored JSON form of a parsed message."""

from __future__ import annotations

import json

import pytest

from kernel.mail import FORMAT_VERSION, from_json, parse_message, part_by_path, to_json

SAMPLE = (
    b"From: =?utf-8?q?J=C3=B6rg?= <j@example.de>\r\n"
    b"Sender: list@example.org\r\n"
    b"Reply-To: Team: a@example.org, b@example.org;\r\n"
    b"To: Bob <bob@example.net>\r\n"
    b"Cc: c@example.net\r\n"
    b"Bcc: d@example.net\r\n"
    b"Subject: Stored\r\n"
    b"Date: Mon, 2 Jan 2006 15:04:05 -0330\r\n"
    b"Message-ID: <stored@example.de>\r\n"
    b"In-Reply-To: <parent@example.de>\r\n"
    b"References: <root@example.de> <parent@example.de>\r\n"
    b"Content-Type: multipart/mixed; boundary=s\r\n"
    b"\r\n"
    b"--s\r\n"
    b"Content-Type: text/plain; charset=utf-8; format=flowed\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"Content-Language: en\r\n"
    b"\r\n"
    b"caf=C3=A9\r\n"
    b"--s\r\n"
    b"Content-Type: application/pdf; name*=utf-8''%E2%82%AC.pdf\r\n"
    b"Content-Disposition: attachment; filename=e.pdf\r\n"
    b"Content-ID: <pdf@example.de>\r\n"
    b"Content-Description: receipt\r\n"
    b"Content-Location: http://example.de/e.pdf\r\n"
    b"Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"JVBERi0=\r\n"
    b"--s\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n"
    b"Subject: inner\r\n"
    b"From: x@example.com\r\n"
    b"\r\n"
    b"inner body\r\n"
    b"--s--\r\n"
)


def test_serialize_round_trip_keeps_every_field() -> None:
    message = parse_message(SAMPLE)
    stored = json.loads(json.dumps(to_json(message)))
    loaded = from_json(stored)
    assert loaded == message
    assert loaded.date is not None and loaded.date.utcoffset() == message.date.utcoffset()  # type: ignore[union-attr]
    inner = part_by_path(loaded, (3,))
    assert inner is not None and inner.message is not None
    assert inner.children == (inner.message.root,)
    assert inner.message.subject == "inner"


def test_serialize_is_compact() -> None:
    stored = to_json(parse_message(b"Subject: hi\r\n\r\nbody\r\n"))
    assert stored == {
        "v": FORMAT_VERSION,
        "s": 21,
        "r": {"o": [0, 15, 21], "t": "text/plain", "n": 1, "p": {"charset": "us-ascii"}},
        "su": "hi",
    }
    # An encapsulated root is stored once, under "m", not again as a child.
    text = json.dumps(to_json(parse_message(SAMPLE)))
    assert text.count('"inner"') == 1


def test_serialize_rejects_other_versions() -> None:
    stored = to_json(parse_message(b"\r\n"))
    stored["v"] = FORMAT_VERSION + 1
    with pytest.raises(ValueError, match="version"):
        from_json(stored)
    del stored["v"]
    with pytest.raises(ValueError, match="version"):
        from_json(stored)


def test_serialize_empty_message() -> None:
    message = parse_message(b"")
    assert from_json(to_json(message)) == message
