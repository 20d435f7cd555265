"""OAUTHBEARER (RFC 7628) through SaslServer, using the RFC's §4 examples."""

from __future__ import annotations

import base64
import json

import pytest

from kernel.sasl import Challenge, Failure, SaslServer, SaslStateError, Success, VerifyToken

TOKEN = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="
# RFC 7628 §4.1: the decoded initial client response.
IMAP_REQUEST = (
    b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
    b"auth=Bearer " + TOKEN.encode() + b"\x01\x01"
)


def oauth(**kwargs: object) -> SaslServer:
    return SaslServer("OAUTHBEARER", tls=True, **kwargs)  # type: ignore[arg-type]


def test_oauthbearer_rfc7628_example_decodes() -> None:
    # RFC 7628 §4.1, as base64 on the wire.
    wire = (
        "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyI"
        "HZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB"
    )
    assert base64.b64decode(wire) == IMAP_REQUEST


def test_oauthbearer_success() -> None:
    server = oauth()
    assert server.start(IMAP_REQUEST) == VerifyToken(
        "user@example.com", TOKEN, "server.example.com", 143
    )
    assert server.token_result(True, "user@example.com") == Success(
        "user@example.com", "user@example.com", "user@example.com"
    )


def test_oauthbearer_without_initial_response() -> None:
    server = oauth()
    assert server.start(None) == Challenge(b"")
    event = server.receive(b"n,,\x01auth=bearer abc.def-_~+/==\x01\x01")
    assert event == VerifyToken(None, "abc.def-_~+/==", None, None)


def test_oauthbearer_failure_sends_error_then_fails() -> None:
    server = oauth()
    server.start(IMAP_REQUEST)
    challenge = server.token_result(False)
    assert isinstance(challenge, Challenge)
    assert json.loads(challenge.data) == {"status": "invalid_token"}
    assert not server.done
    # RFC 7628 §3.2.3: the client's dummy response.
    assert server.receive(b"\x01") == Failure("invalid token")
    assert server.done


def test_oauthbearer_error_includes_configured_discovery() -> None:
    server = oauth(
        oauth_scope="example_scope",
        oauth_openid_configuration="https://example.com/.well-known/openid-configuration",
    )
    server.start(IMAP_REQUEST)
    challenge = server.token_result(False, status="insufficient_scope")
    assert isinstance(challenge, Challenge)
    assert json.loads(challenge.data) == {
        "status": "insufficient_scope",
        "scope": "example_scope",
        "openid-configuration": "https://example.com/.well-known/openid-configuration",
    }


def test_oauthbearer_empty_auth_gets_error_without_question() -> None:
    # RFC 7628 §4.3: an empty auth= asks for discovery information.
    server = oauth()
    event = server.start(
        b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=\x01\x01"
    )
    assert isinstance(event, Challenge)
    assert json.loads(event.data)["status"] == "invalid_token"
    assert server.cancel() == Failure("authentication cancelled")


def test_oauthbearer_missing_auth_gets_error() -> None:
    event = oauth().start(b"n,,\x01host=example.com\x01\x01")
    assert isinstance(event, Challenge)


def test_oauthbearer_unknown_keys_ignored() -> None:
    event = oauth().start(b"n,,\x01mthd=POST\x01auth=Bearer t0k\x01\x01")
    assert event == VerifyToken(None, "t0k", None, None)


def test_oauthbearer_success_needs_account() -> None:
    server = oauth()
    server.start(IMAP_REQUEST)
    with pytest.raises(ValueError):
        server.token_result(True)
    # The question is still pending after the misuse.
    assert isinstance(server.token_result(True, "u"), Success)


def test_oauthbearer_answer_without_question_raises() -> None:
    server = oauth()
    server.start(None)
    with pytest.raises(SaslStateError):
        server.token_result(True, "u")


def test_oauthbearer_token_not_in_repr() -> None:
    assert TOKEN not in repr(oauth().start(IMAP_REQUEST))


@pytest.mark.parametrize(
    "message",
    [
        b"",
        b"\x01",
        b"n,,",
        b"n,,\x01auth=Bearer x\x01",
        b"n,,\x01auth=Bearer x",
        b"n,,\x01auth=Bearer x\x01auth=Bearer y\x01\x01",
        b"n,,\x01=x\x01\x01",
        b"n,,\x01au th=x\x01\x01",
        b"n,,\x01auth=Bearer x\x01port=0143\x01\x01",
        b"n,,\x01auth=Bearer x\x01port=70000\x01\x01",
        b"n,user=someuser@example.com,\x01auth=Bearer x\x01\x01",
        b"n,,extra\x01auth=Bearer x\x01\x01",
        b"n,,\x01auth=Bearer \xc3\xa9\x01\x01",
        b"\xff,,\x01auth=Bearer x\x01\x01",
    ],
)
def test_oauthbearer_malformed_fails(message: bytes) -> None:
    assert oauth().start(message) == Failure("malformed response")


def test_oauthbearer_channel_binding_refused() -> None:
    event = oauth().start(b"p=tls-unique,,\x01auth=Bearer x\x01\x01")
    assert event == Failure("channel binding not supported")
