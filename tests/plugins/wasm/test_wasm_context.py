"""What the getters read: decoded headers, MIME leaves, capped text, tables; malformed
and hostile messages never raise."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.wasm.abi import EnvField, PartField
from plugins.wasm.context import CallInput, MessageView, build_tables

MESSAGE = (
    b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
    b"X-Tag: one\r\nx-tag: two,\r\n  folded\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hi <b>there</b></p>\r\n"
    b"--b\r\nContent-Type: message/rfc822\r\n\r\n"
    b"Subject: inner\r\nContent-Type: text/plain\r\n\r\ninner text\r\n"
    b"--b\r\nContent-Type: application/zip; name=a.zip\r\nContent-Disposition: attachment\r\n"
    b"\r\nUEsDBA==\r\n--b--\r\n"
)


def test_wasm_context_headers_are_decoded_and_counted() -> None:
    view = MessageView(MESSAGE, 1000)
    assert view.header("subject", 0) == "Grüße"
    assert view.header_count("X-TAG") == 2
    # RFC 5322 §2.2.3: unfolding removes the CRLF only, the white space stays.
    assert view.header("X-Tag", 1) == "two,  folded"
    assert view.header("X-Tag", 2) is None and view.header("X-Tag", -1) is None
    assert view.header("Subject", 1) is None  # the inner message's field is not top-level


def test_wasm_context_parts_are_the_mime_leaves() -> None:
    view = MessageView(MESSAGE, 1000)
    assert [view.part_field(i, PartField.MIME_TYPE) for i in range(3)] == [
        "text/html",
        "text/plain",
        "application/zip",
    ]
    assert view.part_text(0).strip() == "Hi there"  # HTML as text
    assert view.part_text(1).strip() == "inner text"  # inside the message/rfc822
    assert view.part_text(2) is None and view.part_text(3) is None
    assert view.part_field(2, PartField.FILENAME) == "a.zip"
    assert view.part_field(2, PartField.DISPOSITION) == "attachment"
    assert (
        view.part_field(2, PartField.SIZE) == "8"
    )  # RFC 2046 §5.1.1: the CRLF goes with the boundary
    assert view.part_field(2, 99) is None and view.part_field(9, PartField.MIME_TYPE) is None


def test_wasm_context_text_is_capped() -> None:
    big = b"Content-Type: text/plain\r\n\r\n" + b"free " * 1_000_000
    text = MessageView(big, 1000).part_text(0)
    assert text is not None and len(text) == 1000


def test_wasm_context_envelope_and_tables() -> None:
    tables = build_tables({"set": ["A.example"], "map": {"K": "Value"}})
    assert tables == {"set": {"a.example": ""}, "map": {"k": "Value"}}
    data = CallInput(
        "rcpt", {EnvField.MAIL_FROM: "", EnvField.RCPT_TO: ("a@x", "b@x")}, None, tables
    )
    assert data.envelope_field(EnvField.MAIL_FROM, 0) == ""
    assert data.envelope_field(EnvField.MAIL_FROM, 1) is None
    assert data.envelope_field(EnvField.RCPT_TO, 1) == "b@x"
    assert data.envelope_field(EnvField.STAGE, 0) == "rcpt"
    assert data.envelope_field(EnvField.HELO, 0) is None
    assert data.lookup("set", "a.EXAMPLE") == "" and data.lookup("map", "k") == "Value"
    assert data.lookup("set", "b.example") is None and data.lookup("nope", "k") is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_wasm_context_any_bytes_are_readable(raw: bytes) -> None:
    view = MessageView(raw, 100)
    view.header("Subject", 0)
    view.header_count("From")
    for index in range(len(view.parts)):
        view.part_text(index)
        for which in PartField:
            view.part_field(index, which)
