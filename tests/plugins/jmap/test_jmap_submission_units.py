"""Unit tests of the EmailSubmission helpers: envelope derivation, Bcc removal, address
checks and the JMAP form of queue records, with malformed and hostile input."""

from __future__ import annotations

import pytest

from kernel.store import QueuedMessage, QueuedRecipient
from plugins.jmap.mail.submission_set import _release_time
from plugins.jmap.mail.submission_view import (
    derive_envelope,
    is_valid_address,
    strip_bcc,
    submission_object,
    undo_status,
)
from plugins.jmap.standard import SetError


def test_jmap_submission_envelope_from_sender_and_recipients() -> None:
    raw = (
        b"From: Ann <ann@example.org>, Info <info@example.org>\r\n"
        b"Sender: ann@example.org\r\n"
        b'To: Friends: a@x.test, "B, b" <b@y.test>;, a@x.test\r\n'
        b"Cc: (comment) c@z.test\r\n"
        b"Bcc: d@z.test,\r\n\t c@z.test\r\n"
        b"Subject: x\r\n\r\nTo: body@x.test\r\n"
    )
    mail_from, rcpt = derive_envelope(raw)
    assert mail_from == "ann@example.org"  # Sender wins when From has two addresses
    assert rcpt == ["a@x.test", "b@y.test", "c@z.test", "d@z.test"]  # body ignored


def test_jmap_submission_envelope_needs_one_sender() -> None:
    assert derive_envelope(b"From: a@x.test, b@x.test\r\nTo: c@x.test\r\n\r\n")[0] is None
    assert derive_envelope(b"To: c@x.test\r\n\r\n") == (None, ["c@x.test"])
    assert derive_envelope(b"") == (None, [])
    assert derive_envelope(b"From: <>\r\nTo: ;;;,,<\r\n\r\n")[1] == []
    garbage = bytes(range(256)) * 20
    _, rcpt = derive_envelope(garbage)  # never raises
    assert isinstance(rcpt, list)


def test_jmap_submission_bcc_is_removed_only_from_the_header() -> None:
    raw = (
        b"From: a@x.test\r\nBCC: secret@x.test,\r\n  other@x.test\r\nTo: b@x.test\r\n"
        b"bcc: more@x.test\r\n\r\nBcc: stays in the body\r\n"
    )
    out = strip_bcc(raw)
    assert out == b"From: a@x.test\r\nTo: b@x.test\r\n\r\nBcc: stays in the body\r\n"
    plain = b"From: a@x.test\r\n\r\nbody"
    assert strip_bcc(plain) is plain
    assert strip_bcc(b"Bcc: x@y.test") == b""  # a header block with no end
    assert strip_bcc(b"From: a@x\nBcc: b@x\n\nbody") == b"From: a@x\n\nbody"  # bare LF


@pytest.mark.parametrize(
    ("address", "valid"),
    [
        ("bob@example.org", True),
        ("b.o+b@sub.example.org", True),
        ("bob@[127.0.0.1]", True),
        ("bob", False),
        ("@example.org", False),
        ("bob@", False),
        ("bob@-x.org", False),
        ("b ob@example.org", False),
        ("<bob@example.org>", False),
        ("bob@example.org\r\nRCPT TO:<evil@x.test>", False),
        ("a" * 250 + "@example.org", False),
        (None, False),
        (3, False),
    ],
)
def test_jmap_submission_recipient_syntax(address: object, valid: bool) -> None:
    assert is_valid_address(address) is valid


def test_jmap_submission_release_time() -> None:
    assert _release_time({}, 100.0) is None
    assert _release_time({"HOLDFOR": "60"}, 100.0) == 160.0
    assert _release_time({"HOLDFOR": "0"}, 100.0) is None
    assert _release_time({"HOLDUNTIL": "1970-01-01T00:03:20Z"}, 100.0) == 200.0
    for bad in (
        {"HOLDFOR": "-5"},
        {"HOLDFOR": "1e3"},
        {"HOLDFOR": None},
        {"HOLDFOR": "9" * 20},
        {"HOLDUNTIL": "tomorrow"},
        {"HOLDUNTIL": "2030-01-01T00:00:00"},  # no zone
        {"HOLDFOR": "1", "HOLDUNTIL": "1970-01-01T00:03:20Z"},
        {"HOLDFOR": str(31 * 86400)},  # past maxDelayedSend
    ):
        with pytest.raises(SetError) as caught:
            _release_time(bad, 100.0)
        assert caught.value.type == "invalidProperties"


def _rcpt(
    status: str, attempts: int, nxt: float | None, code: int | None = None
) -> QueuedRecipient:
    return QueuedRecipient(
        1, f"{status}@x.test", status, attempts, nxt, None, code, "2.0.0" if code else None,
        "ok" if code else None, None, None, None, None, None,
    )  # fmt: skip


def _message(*recipients: QueuedRecipient, undo: str = "final") -> QueuedMessage:
    return QueuedMessage(
        7, 1, 2, 3, 4, "blob", 10, "ann@example.org", None, None, None, False, 0, 0.0,
        1_700_000_000.0, 2e9, undo, 5, tuple(recipients),
    )  # fmt: skip


def test_jmap_submission_object_and_undo_status() -> None:
    pending = _message(_rcpt("pending", 0, 1.0))
    assert undo_status(pending) == "pending"
    assert undo_status(_message(_rcpt("pending", 0, 1.0), _rcpt("deferred", 1, 2.0))) == "final"
    assert undo_status(_message(_rcpt("failed", 0, None), undo="canceled")) == "canceled"
    assert undo_status(_message()) == "final"
    obj = submission_object(
        _message(_rcpt("delivered", 1, None, 250), _rcpt("deferred", 1, 5.0, 451))
    )
    assert obj["id"] == "S7" and obj["identityId"] == "I2" and obj["emailId"] == "E3"
    assert obj["threadId"] == "T4" and obj["sendAt"] == "2023-11-14T22:13:20Z"
    assert obj["deliveryStatus"]["delivered@x.test"] == {
        "smtpReply": "250 2.0.0 ok",
        "delivered": "yes",
        "displayed": "unknown",
    }
    assert obj["deliveryStatus"]["deferred@x.test"]["delivered"] == "queued"
    assert obj["envelope"]["mailFrom"] == {"email": "ann@example.org", "parameters": None}
    assert obj["dsnBlobIds"] == [] and obj["mdnBlobIds"] == []
