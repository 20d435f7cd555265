"""SaslServer as a whole: mechanism selection, TLS policy, ordering and limits."""

from __future__ import annotations

import pytest

import kernel.sasl as sasl
from kernel.sasl import (
    MECHANISMS,
    Challenge,
    Failure,
    MechanismNotAllowed,
    SaslServer,
    SaslStateError,
    Success,
    UnknownMechanism,
    VerifyPassword,
    available_mechanisms,
)


def test_available_mechanisms_with_tls() -> None:
    assert available_mechanisms(tls=True) == list(MECHANISMS)
    assert MECHANISMS[0] == "SCRAM-SHA-256"


def test_available_mechanisms_without_tls() -> None:
    assert available_mechanisms(tls=False) == ["SCRAM-SHA-256", "SCRAM-SHA-1"]


def test_available_mechanisms_plaintext_allowed() -> None:
    assert available_mechanisms(tls=False, allow_plaintext_without_tls=True) == list(MECHANISMS)


def test_available_mechanisms_enabled_subset_keeps_preference_order() -> None:
    assert available_mechanisms(tls=True, enabled=["login", "SCRAM-SHA-256"]) == [
        "SCRAM-SHA-256",
        "LOGIN",
    ]


def test_server_unknown_mechanism() -> None:
    with pytest.raises(UnknownMechanism):
        SaslServer("CRAM-MD5", tls=True)
    with pytest.raises(ValueError):
        SaslServer("GSSAPI", tls=True)


def test_server_disabled_mechanism_is_unknown() -> None:
    with pytest.raises(UnknownMechanism):
        SaslServer("LOGIN", tls=True, enabled=["PLAIN"])


@pytest.mark.parametrize("name", ["PLAIN", "LOGIN", "OAUTHBEARER"])
def test_server_plaintext_mechanism_needs_tls(name: str) -> None:
    with pytest.raises(MechanismNotAllowed):
        SaslServer(name, tls=False)
    assert SaslServer(name, tls=False, allow_plaintext_without_tls=True).mechanism == name


def test_server_mechanism_name_case_insensitive() -> None:
    assert SaslServer("plain", tls=True).mechanism == "PLAIN"


def test_server_receive_before_start_fails() -> None:
    server = SaslServer("PLAIN", tls=True)
    assert server.receive(b"\x00a\x00b") == Failure("unexpected response")
    assert server.done


def test_server_start_twice_fails() -> None:
    server = SaslServer("LOGIN", tls=True)
    server.start(None)
    assert server.start(None) == Failure("unexpected response")


def test_server_response_after_success_fails() -> None:
    server = SaslServer("PLAIN", tls=True)
    server.start(b"\x00a\x00b")
    assert server.password_result(True) == Success("a", None)
    assert server.receive(b"more") == Failure("unexpected response")
    assert server.outcome == Failure("unexpected response")


def test_server_response_while_question_pending_fails() -> None:
    server = SaslServer("PLAIN", tls=True)
    assert isinstance(server.start(b"\x00a\x00b"), VerifyPassword)
    assert server.receive(b"x") == Failure("unexpected response")
    with pytest.raises(SaslStateError):
        server.password_result(True)


def test_server_answer_without_question_raises() -> None:
    server = SaslServer("PLAIN", tls=True)
    with pytest.raises(SaslStateError):
        server.password_result(True)
    server.start(None)
    with pytest.raises(SaslStateError):
        server.password_result(True)
    with pytest.raises(SaslStateError):
        server.scram_credentials(None)


def test_server_answer_twice_raises() -> None:
    server = SaslServer("PLAIN", tls=True)
    server.start(b"\x00a\x00b")
    server.password_result(False)
    with pytest.raises(SaslStateError):
        server.password_result(True)


def test_server_response_too_long_fails() -> None:
    server = SaslServer("LOGIN", tls=True, max_response=8)
    assert server.start(None) == Challenge(b"Username:")
    assert server.receive(b"x" * 9) == Failure("response too long")


def test_server_cancel() -> None:
    server = SaslServer("SCRAM-SHA-256", tls=True)
    assert server.start(None) == Challenge(b"")
    assert server.cancel() == Failure("authentication cancelled")
    assert server.done


def test_server_abort_is_temporary() -> None:
    server = SaslServer("PLAIN", tls=True)
    server.start(b"\x00a\x00b")
    failure = server.abort("directory unavailable")
    assert failure == Failure("directory unavailable", temporary=True)
    assert server.outcome == failure
    with pytest.raises(SaslStateError):
        server.password_result(True)


def test_server_bad_injected_nonce_refused() -> None:
    with pytest.raises(ValueError):
        SaslServer("SCRAM-SHA-256", tls=True, _nonce="a,b")


def test_server_outcome_none_while_running() -> None:
    server = SaslServer("LOGIN", tls=True)
    server.start(None)
    assert server.outcome is None and not server.done


def test_sasl_exports_resolve() -> None:
    assert all(hasattr(sasl, name) for name in sasl.__all__)
    for name in ("SaslServer", "Challenge", "Success", "Failure", "ScramKeys"):
        assert getattr(getattr(sasl, name), "__final__", False), name
