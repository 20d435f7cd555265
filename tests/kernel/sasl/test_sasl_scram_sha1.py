"""SCRAM-SHA-1 (RFC 5802): the RFC 5802 §5 example exchange, and what differs by hash.

The exchange code is the one SCRAM-SHA-256 uses (``tests/kernel/sasl/test_sasl_scram.py``
covers its parsing and failure paths); these tests pin the SHA-1 arithmetic to the RFC's
example, check it with an independent Hi() loop, and check that keys of one hash are
never used for the other.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from scram_reference import hi as reference_hi
from scram_reference import hmac_digest

from kernel.sasl import (
    MECHANISMS,
    SCRAM_HASHES,
    Challenge,
    Failure,
    LookupScram,
    SaslServer,
    ScramKeys,
    Success,
    derive_scram_keys,
)
from kernel.testing.sasl_client import ScramClient

# RFC 5802 §5: username 'user', password 'pencil'.
CLIENT_FIRST = b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
SERVER_NONCE = "3rfcNHYJY1ZVvWVs7j"
SALT = base64.b64decode("QSXCR+Q6sek8bf92")
SERVER_FIRST = b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
CLIENT_FINAL = b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
SERVER_FINAL = b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac_digest(key, data, "sha1")


def hi(password: bytes, salt: bytes, iterations: int) -> bytes:
    return reference_hi(password, salt, iterations, "sha1")


def sha1_keys() -> ScramKeys:
    return derive_scram_keys("pencil", salt=SALT, iterations=4096, hash_name="sha1")


def test_scram_sha1_is_a_mechanism() -> None:
    assert "SCRAM-SHA-1" in MECHANISMS
    assert SCRAM_HASHES == {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-1": "sha1"}


def test_scram_sha1_rfc5802_example_with_success_data() -> None:
    # RFC 5804 §2.1: ManageSieve carries the server-final message in OK (SASL ...).
    server = SaslServer("SCRAM-SHA-1", tls=False, success_data=True, _nonce=SERVER_NONCE)
    assert server.start(CLIENT_FIRST) == LookupScram("user", None, "sha1")
    assert server.scram_credentials(sha1_keys(), "user@example.com") == Challenge(SERVER_FIRST)
    assert server.receive(CLIENT_FINAL) == Success("user", None, "user@example.com", SERVER_FINAL)


def test_scram_sha1_rfc5802_example_with_final_challenge() -> None:
    server = SaslServer("scram-sha-1", tls=True, _nonce=SERVER_NONCE)
    assert server.start(None) == Challenge(b"")
    assert server.receive(CLIENT_FIRST) == LookupScram("user", None, "sha1")
    assert server.scram_credentials(sha1_keys()) == Challenge(SERVER_FIRST)
    assert server.receive(CLIENT_FINAL) == Challenge(SERVER_FINAL)
    assert server.receive(b"") == Success("user", None, None, None)


def test_derive_scram_sha1_keys_match_independent_hi() -> None:
    keys = sha1_keys()
    salted = hi(b"pencil", SALT, 4096)
    assert keys.hash_name == "sha1"
    assert keys.stored_key == hashlib.sha1(_hmac(salted, b"Client Key")).digest()
    assert keys.server_key == _hmac(salted, b"Server Key")
    assert len(keys.stored_key) == len(keys.server_key) == 20


def test_scram_sha1_test_client_reproduces_the_example() -> None:
    client = ScramClient("user", "pencil", "fyko+d2lbbFgONRv9qkxdawL", hash_name="sha1")
    assert client.mechanism == "SCRAM-SHA-1"
    assert client.first() == CLIENT_FIRST
    assert client.final(SERVER_FIRST) == CLIENT_FINAL
    assert client.verify(SERVER_FINAL)
    assert not client.verify(b"v=" + base64.b64encode(b"\0" * 20))


def test_scram_sha256_vector_unchanged_by_the_hash_parameter() -> None:
    # RFC 7677 §3, through the same code with the default hash.
    client = ScramClient("user", "pencil", "rOprNGfwEbeRWgbNEkqO")
    server_first = (
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    )
    assert client.final(server_first).endswith(b",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    assert client.verify(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")


def test_scram_sha1_wrong_password_fails() -> None:
    server = SaslServer("SCRAM-SHA-1", tls=False, success_data=True)
    client = ScramClient("user", "wrong", hash_name="sha1")
    server.start(client.first())
    challenge = server.scram_credentials(sha1_keys(), "user")
    assert isinstance(challenge, Challenge)
    assert server.receive(client.final(challenge.data)) == Failure("invalid credentials")


def test_scram_sha1_unknown_user_runs_mock_exchange_with_sha1_sizes() -> None:
    server = SaslServer("SCRAM-SHA-1", tls=False, success_data=True, mock_secret=b"k")
    client = ScramClient("nobody", "pencil", hash_name="sha1")
    server.start(client.first())
    challenge = server.scram_credentials(None)
    assert isinstance(challenge, Challenge)
    # A proof of SHA-1 size is well-formed: the failure is "invalid credentials", the
    # same as a wrong password (RFC 5802 §9), not "malformed".
    assert server.receive(client.final(challenge.data)) == Failure("invalid credentials")


def test_scram_mock_salt_is_the_same_for_both_hashes() -> None:
    salts = []
    for mechanism in ("SCRAM-SHA-1", "SCRAM-SHA-256"):
        server = SaslServer(mechanism, tls=False, mock_secret=b"k")
        server.start(b"n,,n=ghost,r=abc")
        challenge = server.scram_credentials(None)
        assert isinstance(challenge, Challenge)
        salts.append(challenge.data.split(b",")[1])
    assert salts[0] == salts[1]


def test_scram_keys_of_the_other_hash_are_refused() -> None:
    server = SaslServer("SCRAM-SHA-1", tls=False)
    server.start(CLIENT_FIRST)
    with pytest.raises(ValueError, match="sha256 keys"):
        server.scram_credentials(derive_scram_keys("pencil", salt=SALT))
    server = SaslServer("SCRAM-SHA-256", tls=False)
    server.start(CLIENT_FIRST)
    with pytest.raises(ValueError, match="sha1 keys"):
        server.scram_credentials(sha1_keys())


def test_scram_sha1_proof_of_sha256_size_is_malformed() -> None:
    server = SaslServer("SCRAM-SHA-1", tls=False, _nonce=SERVER_NONCE)
    server.start(CLIENT_FIRST)
    server.scram_credentials(sha1_keys())
    proof = base64.b64encode(b"\0" * 32).decode()
    final = f"c=biws,r=fyko+d2lbbFgONRv9qkxdawL{SERVER_NONCE},p={proof}".encode()
    assert server.receive(final) == Failure("malformed response")


def test_scram_keys_validation_by_hash() -> None:
    ScramKeys(b"s", 1, b"a" * 20, b"b" * 20, "sha1")
    with pytest.raises(ValueError, match="20 bytes"):
        ScramKeys(b"s", 1, b"a" * 32, b"b" * 32, "sha1")
    with pytest.raises(ValueError, match="32 bytes"):
        ScramKeys(b"s", 1, b"a" * 20, b"b" * 20)
    with pytest.raises(ValueError, match="md5"):
        ScramKeys(b"s", 1, b"a" * 16, b"b" * 16, "md5")
    with pytest.raises(ValueError, match="md5"):
        derive_scram_keys("pencil", hash_name="md5")
    with pytest.raises(ValueError):
        ScramClient("user", "pencil", hash_name="md5")
