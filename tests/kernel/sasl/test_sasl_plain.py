"""PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login) through SaslServer."""

from __future__ import annotations

import pytest

from kernel.sasl import Challenge, Failure, SaslServer, Success, VerifyPassword


def plain() -> SaslServer:
    return SaslServer("PLAIN", tls=True)


def login() -> SaslServer:
    return SaslServer("LOGIN", tls=True)


def test_plain_initial_response_success() -> None:
    server = plain()
    assert server.start(b"\x00tim\x00tanstaaftanstaaf") == VerifyPassword(
        None, "tim", "tanstaaftanstaaf"
    )
    assert server.password_result(True, account="tim@example.com") == Success(
        "tim", None, "tim@example.com"
    )
    assert server.done
    assert server.outcome == Success("tim", None, "tim@example.com")


def test_plain_without_initial_response_sends_empty_challenge() -> None:
    server = plain()
    assert server.start(None) == Challenge(b"")
    assert server.receive(b"\x00tim\x00secret") == VerifyPassword(None, "tim", "secret")
    assert server.password_result(True) == Success("tim", None, None)


def test_plain_authzid_is_passed_through() -> None:
    # RFC 4616 §4: the second example, Kurt acting as Ursel.
    server = plain()
    event = server.start(b"Ursel\x00Kurt\x00xipj3plmq")
    assert event == VerifyPassword("Ursel", "Kurt", "xipj3plmq")
    assert server.password_result(True, "ursel") == Success("Kurt", "Ursel", "ursel")


def test_plain_wrong_password_fails() -> None:
    server = plain()
    server.start(b"\x00tim\x00wrong")
    assert server.password_result(False) == Failure("invalid credentials")
    assert server.done


def test_plain_saslprep_applies_to_authcid_and_password() -> None:
    server = plain()
    event = server.start("\x00I\u00adX\x00pass\u00a0word".encode())
    assert event == VerifyPassword(None, "IX", "pass word")


def test_plain_password_is_not_in_repr() -> None:
    event = plain().start(b"\x00tim\x00hunter2")
    assert "hunter2" not in repr(event)


@pytest.mark.parametrize(
    "message",
    [
        b"",
        b"tim",
        b"\x00tim",
        b"\x00tim\x00pw\x00",
        b"a\x00b\x00c\x00d",
        b"\x00\x00secret",
        b"\x00tim\x00",
        b"\x00tim\xff\x00secret",
        b"\x00tim\x00\xc0\xafsecret",  # overlong UTF-8
        b"\x00tim\x00\xed\xa0\x80",  # UTF-8-encoded surrogate
    ],
)
def test_plain_malformed_message_fails(message: bytes) -> None:
    server = plain()
    assert server.start(message) == Failure("malformed response")
    assert server.done


def test_plain_prohibited_character_fails() -> None:
    # RFC 4616 §2: if preparation fails, verification SHALL fail.
    assert plain().start(b"\x00tim\x00bell\x07") == Failure("invalid credentials")


def test_plain_empty_after_saslprep_fails() -> None:
    # A soft hyphen maps to nothing, leaving an empty authcid.
    assert plain().start("\x00\u00ad\x00secret".encode()) == Failure("invalid credentials")


def test_plain_long_fields_accepted() -> None:
    # RFC 4616 §2: MUST accept up to 255 octets in each field.
    name, password = "n" * 255, "p" * 255
    event = plain().start(f"{'z' * 255}\x00{name}\x00{password}".encode())
    assert event == VerifyPassword("z" * 255, name, password)


def test_plain_over_max_response_fails() -> None:
    server = SaslServer("PLAIN", tls=True, max_response=64)
    assert server.start(b"\x00tim\x00" + b"p" * 100) == Failure("response too long")


def test_login_flow() -> None:
    server = login()
    assert server.start(None) == Challenge(b"Username:")
    assert server.receive(b"tim") == Challenge(b"Password:")
    assert server.receive(b"secret") == VerifyPassword(None, "tim", "secret")
    assert server.password_result(True, "tim") == Success("tim", None, "tim")


def test_login_initial_response_is_username() -> None:
    server = login()
    assert server.start(b"tim") == Challenge(b"Password:")
    assert server.receive(b"secret") == VerifyPassword(None, "tim", "secret")
    assert server.password_result(False) == Failure("invalid credentials")


def test_login_empty_initial_response_prompts_for_username() -> None:
    assert login().start(b"") == Challenge(b"Username:")


@pytest.mark.parametrize(("username", "password"), [(b"", b"pw"), (b"tim", b""), (b"\xff", b"x")])
def test_login_malformed_fails(username: bytes, password: bytes) -> None:
    server = login()
    server.start(None)
    event = server.receive(username)
    if isinstance(event, Challenge):
        event = server.receive(password)
    assert event == Failure("malformed response")


def test_login_cancel() -> None:
    server = login()
    server.start(None)
    assert server.cancel() == Failure("authentication cancelled")
    assert server.receive(b"tim") == Failure("unexpected response")
