"""Messages that actions send (plugins.sieve.compose), and robustness on odd messages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sieve_support import ENVELOPE, MESSAGE, NOW, host

from plugins.sieve import (
    Envelope,
    Interpreter,
    MessageView,
    Redirect,
    Reject,
    Settings,
    compile_script,
    redirect_message,
    reject_message,
)
from plugins.sieve.compose import envelope_sender

ENVELOPE_WITH_ORCPT = Envelope("s@example.org", "r@example.com", "o@example.com", "user")


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("sender", "s@example.org"),
        (" recipient ", "r@example.com"),
        ("orig_recipient", "o@example.com"),
        ("user_email", "me@example.com"),
        ("postmaster", "postmaster@example.com"),
        ("<bounce@example.net>", "bounce@example.net"),
        ("<>", ""),
    ],
)
def test_redirect_envelope_sender_choices(setting: str, expected: str) -> None:
    settings = Settings(user_email="me@example.com", postmaster="postmaster@example.com")
    assert envelope_sender(setting, ENVELOPE_WITH_ORCPT, settings) == expected


def test_redirect_keeps_null_sender_and_message() -> None:
    settings = Settings(redirect_envelope_from="<bounce@example.net>", redirect_loop_header=None)
    envelope = Envelope("", "r@example.com")
    outgoing = redirect_message(Redirect("x@example.net"), envelope, MESSAGE, settings)
    assert outgoing is not None
    assert outgoing.mail_from == "" and outgoing.recipients == ("x@example.net",)
    assert outgoing.data == MESSAGE


def test_redirect_loop_protection() -> None:
    # RFC 5228 §4.2: a redirect must not loop; the copy is marked with the user's address.
    settings = Settings(user_email="me@example.com")
    outgoing = redirect_message(Redirect("x@example.net"), ENVELOPE, MESSAGE, settings)
    assert outgoing is not None
    assert outgoing.data.startswith(b"X-Sieve-Redirected-From: me@example.com\r\n")
    assert redirect_message(Redirect("y@example.net"), ENVELOPE, outgoing.data, settings) is None
    looped = b"X-Sieve-Redirected-From: bob+lists@example.com\r\n" + MESSAGE
    assert redirect_message(Redirect("y@example.net"), ENVELOPE, looped, Settings()) is None


def test_reject_report_goes_to_the_sender() -> None:
    settings = Settings(postmaster="postmaster@example.com")
    outgoing = reject_message(
        Reject("Not wanted."), ENVELOPE, MessageView(MESSAGE), settings, NOW, "id@x"
    )
    assert outgoing is not None
    assert outgoing.mail_from == "" and outgoing.recipients == ("alice@example.org",)
    data = outgoing.data
    assert b"multipart/report; report-type=delivery-status" in data
    assert b"Not wanted." in data and b"Subject: Hello there" in data
    assert (
        reject_message(
            Reject("x"), Envelope("", "r@e.com"), MessageView(MESSAGE), settings, NOW, "i"
        )
        is None
    )


_SCRIPT = compile_script(
    'require ["body", "mime", "foreverypart", "extracttext", "variables", "date",'
    ' "relational", "comparator-i;ascii-numeric", "envelope", "editheader", "regex"];\n'
    'if header :contains "subject" "a" { addheader "X-Seen" "1"; }\n'
    'if address :domain :matches ["from", "to", "cc"] "*.*" { set "d" "${1}"; }\n'
    'if body :text :contains "x" { set "b" "1"; }\n'
    'if body :content "text" :regex "([a-z]+)" { set "c" "${1}"; }\n'
    'if date :matches "date" "date" "*" { set "date" "${0}"; }\n'
    'if header :mime :anychild :param "name" "Content-Type" "*" { set "p" "1"; }\n'
    'foreverypart { extracttext :first 10 "t"; if exists :mime "content-id" { break; } }\n'
    'if size :over 10 { deleteheader :index 1 "received"; }\n'
    "keep;\n"
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                b"Subject: a\r\n",
                b"From: x@y.z\r\n",
                b"To: <@a:b@c>, ,;\r\n",
                b"Content-Type: multipart/mixed; boundary=b\r\n",
                b"\r\n",
                b"--b\r\n",
                b"--b--\r\n",
                b"Content-Transfer-Encoding: base64\r\n",
                b"=?x?q?y?=\r\n",
                b"Date: 32 Foo 99 99:99\r\n",
                b"Content-Type: text/html\r\n",
                b"<b>x</b>\r\n",
                b"\xff\xfe\r\n",
                b" folded\r\n",
                b"Received: x\r\n",
                b"\n",
            ]
        ),
        max_size=40,
    ).map(b"".join)
)
def test_odd_messages_never_crash_the_interpreter(message: bytes) -> None:
    outcome = Interpreter().run(_SCRIPT, message, ENVELOPE, host())
    assert outcome.ok, outcome.error
