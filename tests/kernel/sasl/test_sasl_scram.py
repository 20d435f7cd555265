"""SCRAM-SHA-256 (RFC 5802, RFC 7677): the RFC 7677 test vector and a client of our own.

The client below computes SaltedPassword with its own Hi() loop (RFC 5802 §2.2) rather
than hashlib.pbkdf2_hmac, so it shares no code path with kernel.sasl.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from scram_reference import hi as reference_hi
from scram_reference import hmac_digest

from kernel.sasl import (
    Challenge,
    Failure,
    LookupScram,
    SaslServer,
    ScramKeys,
    Success,
    derive_scram_keys,
)

# RFC 7677 §3
CLIENT_FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
SERVER_FIRST = (
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
CLIENT_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac_digest(key, data, "sha256")


def hi(password: bytes, salt: bytes, iterations: int) -> bytes:
    return reference_hi(password, salt, iterations, "sha256")


class ScramClient:
    """A minimal SCRAM-SHA-256 client (ASCII passwords only)."""

    def __init__(self, username: str, password: str, *, gs2: str = "n,,", nonce: str = "cl1ent"):
        self.password = password.encode()
        self.gs2 = gs2
        self.bare = f"n={username.replace('=', '=3D').replace(',', '=2C')},r={nonce}"
        self.server_signature = b""

    def first(self) -> bytes:
        return (self.gs2 + self.bare).encode()

    def final(self, server_first: bytes, *, nonce: str | None = None, cbind: str | None = None):
        attrs = dict(item.split("=", 1) for item in server_first.decode().split(","))
        salted = hi(self.password, base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = _hmac(salted, b"Client Key")
        stored_key = hashlib.sha256(client_key).digest()
        channel = cbind if cbind is not None else base64.b64encode(self.gs2.encode()).decode()
        without_proof = f"c={channel},r={nonce if nonce is not None else attrs['r']}"
        auth_message = f"{self.bare},{server_first.decode()},{without_proof}".encode()
        signature = _hmac(stored_key, auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        self.server_signature = _hmac(_hmac(salted, b"Server Key"), auth_message)
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()


def scram(**kwargs: object) -> SaslServer:
    return SaslServer("SCRAM-SHA-256", tls=False, **kwargs)  # type: ignore[arg-type]


def test_scram_rfc7677_vector_with_success_data() -> None:
    server = scram(success_data=True, _nonce=SERVER_NONCE)
    assert server.start(CLIENT_FIRST) == LookupScram("user", None)
    keys = derive_scram_keys("pencil", salt=SALT, iterations=4096)
    assert server.scram_credentials(keys, "user@example.com") == Challenge(SERVER_FIRST)
    assert server.receive(CLIENT_FINAL) == Success("user", None, "user@example.com", SERVER_FINAL)


def test_scram_rfc7677_vector_with_final_challenge() -> None:
    # RFC 4954 §4: SMTP cannot carry data with 235, so v= goes in a 334 challenge.
    server = scram(_nonce=SERVER_NONCE)
    assert server.start(None) == Challenge(b"")
    assert server.receive(CLIENT_FIRST) == LookupScram("user", None)
    server.scram_credentials(derive_scram_keys("pencil", salt=SALT))
    assert server.receive(CLIENT_FINAL) == Challenge(SERVER_FINAL)
    assert server.receive(b"") == Success("user", None, None, None)


def test_scram_final_challenge_nonempty_response_fails() -> None:
    server = scram(_nonce=SERVER_NONCE)
    server.start(CLIENT_FIRST)
    server.scram_credentials(derive_scram_keys("pencil", salt=SALT))
    server.receive(CLIENT_FINAL)
    assert server.receive(b"x") == Failure("malformed response")


def test_scram_final_challenge_cancel_fails() -> None:
    # The client rejects our ServerSignature by aborting.
    server = scram(_nonce=SERVER_NONCE)
    server.start(CLIENT_FIRST)
    server.scram_credentials(derive_scram_keys("pencil", salt=SALT))
    server.receive(CLIENT_FINAL)
    assert server.cancel() == Failure("authentication cancelled")


def test_derive_scram_keys_rfc7677_values() -> None:
    keys = derive_scram_keys("pencil", salt=SALT, iterations=4096)
    # SaltedPassword, computed independently of the PBKDF2 in the module.
    salted = hi(b"pencil", SALT, 4096)
    assert keys.stored_key == hashlib.sha256(_hmac(salted, b"Client Key")).digest()
    assert keys.server_key == _hmac(salted, b"Server Key")
    assert (keys.salt, keys.iterations) == (SALT, 4096)
    # And the vector's proof and signature check out against those keys.
    without_proof, _, proof = CLIENT_FINAL.rpartition(b",p=")
    auth_message = CLIENT_FIRST[3:] + b"," + SERVER_FIRST + b"," + without_proof
    client_key = bytes(
        a ^ b
        for a, b in zip(base64.b64decode(proof), _hmac(keys.stored_key, auth_message), strict=True)
    )
    assert hashlib.sha256(client_key).digest() == keys.stored_key
    assert b"v=" + base64.b64encode(_hmac(keys.server_key, auth_message)) == SERVER_FINAL


def test_derive_scram_keys_random_salt() -> None:
    first, second = derive_scram_keys("pw", iterations=1), derive_scram_keys("pw", iterations=1)
    assert len(first.salt) == 16
    assert first.salt != second.salt


def test_derive_scram_keys_applies_saslprep() -> None:
    # RFC 4013 §3: U+2168 and "I<U+00AD>X" both prepare to "IX".
    assert derive_scram_keys("\u2168", salt=SALT, iterations=1) == derive_scram_keys(
        "I\u00adX", salt=SALT, iterations=1
    )


@pytest.mark.parametrize("password", ["bell\x07", "\U0001f600"])
def test_derive_scram_keys_rejects_unpreparable_password(password: str) -> None:
    # Stored strings (RFC 5802 §2.2): prohibited and unassigned code points are refused.
    with pytest.raises(ValueError):
        derive_scram_keys(password, iterations=1)


def test_scram_keys_validation() -> None:
    with pytest.raises(ValueError):
        ScramKeys(salt=b"", iterations=4096, stored_key=bytes(32), server_key=bytes(32))
    with pytest.raises(ValueError):
        ScramKeys(salt=b"s", iterations=0, stored_key=bytes(32), server_key=bytes(32))
    with pytest.raises(ValueError):
        ScramKeys(salt=b"s", iterations=1, stored_key=bytes(20), server_key=bytes(32))


def run_exchange(
    server: SaslServer, client: ScramClient, keys: ScramKeys | None, **final: str
) -> object:
    assert isinstance(server.start(client.first()), LookupScram)
    server_first = server.scram_credentials(keys)
    assert isinstance(server_first, Challenge)
    return server.receive(client.final(server_first.data, **final))


def test_scram_full_exchange_with_independent_client() -> None:
    client = ScramClient("alice,admin=1", "correct horse", nonce="abc")
    server = scram(success_data=True)
    assert server.start(client.first()) == LookupScram("alice,admin=1", None)
    server_first = server.scram_credentials(derive_scram_keys("correct horse", iterations=4096))
    assert isinstance(server_first, Challenge)
    assert server_first.data.startswith(b"r=abc")
    event = server.receive(client.final(server_first.data))
    assert isinstance(event, Success)
    assert event.additional_data == b"v=" + base64.b64encode(client.server_signature)


def test_scram_wrong_password_fails() -> None:
    event = run_exchange(
        scram(), ScramClient("user", "wrong"), derive_scram_keys("pencil", iterations=4096)
    )
    assert event == Failure("invalid credentials")


def test_scram_unknown_user_runs_mock_exchange_then_fails() -> None:
    server = scram(mock_secret=b"k" * 32)
    client = ScramClient("nobody", "pencil")
    assert server.start(client.first()) == LookupScram("nobody", None)
    server_first = server.scram_credentials(None)
    assert isinstance(server_first, Challenge)
    attrs = dict(item.split("=", 1) for item in server_first.data.decode().split(","))
    assert attrs["r"].startswith("cl1ent") and len(attrs["r"]) > len("cl1ent")
    assert len(base64.b64decode(attrs["s"])) == 16
    assert attrs["i"] == "4096"
    assert server.receive(client.final(server_first.data)) == Failure("invalid credentials")


def test_scram_unknown_user_salt_is_stable_per_name() -> None:
    def salt_for(name: str, secret: bytes) -> bytes:
        server = scram(mock_secret=secret)
        server.start(ScramClient(name, "x").first())
        event = server.scram_credentials(None)
        assert isinstance(event, Challenge)
        return event.data.split(b",")[1]

    assert salt_for("ghost", b"a" * 32) == salt_for("ghost", b"a" * 32)
    assert salt_for("ghost", b"a" * 32) != salt_for("spook", b"a" * 32)
    assert salt_for("ghost", b"a" * 32) != salt_for("ghost", b"b" * 32)


def test_scram_tampered_nonce_fails() -> None:
    keys = derive_scram_keys("pencil", iterations=4096)
    event = run_exchange(scram(), ScramClient("user", "pencil"), keys, nonce="cl1entFORGED")
    assert event == Failure("nonce mismatch")


def test_scram_tampered_channel_binding_fails() -> None:
    keys = derive_scram_keys("pencil", iterations=4096)
    # The client claims "y,," in c= after sending "n,," first.
    event = run_exchange(scram(), ScramClient("user", "pencil"), keys, cbind="eSws")
    assert event == Failure("channel binding mismatch")


def test_scram_flag_y_accepted() -> None:
    # RFC 5802 §6: "y" only fails when the server supports channel binding; we do not.
    client = ScramClient("user", "pencil", gs2="y,,")
    event = run_exchange(scram(), client, derive_scram_keys("pencil", iterations=4096))
    assert event == Challenge(b"v=" + base64.b64encode(client.server_signature))


def test_scram_flag_p_refused() -> None:
    event = scram().start(b"p=tls-unique,,n=user,r=abc")
    assert event == Failure("channel binding not supported")


def test_scram_authzid_and_escaped_username() -> None:
    client = ScramClient("a,b=c", "pw", gs2="n,a=adm=2Cin,")
    server = scram(success_data=True)
    assert server.start(client.first()) == LookupScram("a,b=c", "adm,in")
    challenge = server.scram_credentials(derive_scram_keys("pw", iterations=4096), "admin")
    assert isinstance(challenge, Challenge)
    event = server.receive(client.final(challenge.data))
    assert isinstance(event, Success)
    assert (event.authcid, event.authzid, event.account) == ("a,b=c", "adm,in", "admin")


def test_scram_mandatory_extension_refused() -> None:
    assert scram().start(b"n,,m=ext,n=user,r=abc") == Failure("mandatory extension not supported")


def test_scram_optional_extension_ignored() -> None:
    assert scram().start(b"n,,n=user,r=abc,x=whatever") == LookupScram("user", None)


@pytest.mark.parametrize(
    "message",
    [
        b"",
        b"x,,n=user,r=abc",
        b"n,n=user,r=abc",
        b"n,,r=abc,n=user",
        b"n,,n=user",
        b"n,,n=user,r=",
        b"n,,n=us=2Xer,r=abc",
        b"n,,n=user,r=a,bc",
        b"n,b=x,n=user,r=abc",
        b"n,a=,n=user,r=abc",
        b"F,n,,n=user,r=abc",
        b"n,,n=\xff,r=abc",
    ],
)
def test_scram_malformed_client_first_fails(message: bytes) -> None:
    assert scram().start(message) == Failure("malformed response")


def test_scram_username_failing_saslprep_fails() -> None:
    assert scram().start(b"n,,n=us\x07er,r=abc") == Failure("invalid username encoding")


@pytest.mark.parametrize(
    "final",
    [
        b"c=biws,r=abcXYZ",
        b"c=biws,r=abcXYZ,p=!!!",
        b"c=biws,r=abcXYZ,p=AAAA",
        b"r=abcXYZ,c=biws,p=" + base64.b64encode(bytes(32)),
        b"c=biws,p=" + base64.b64encode(bytes(32)),
        b"c=bi,r=abcXYZ,p=" + base64.b64encode(bytes(32)),
    ],
)
def test_scram_malformed_client_final_fails(final: bytes) -> None:
    server = scram(_nonce="XYZ")
    server.start(b"n,,n=user,r=abc")
    server.scram_credentials(derive_scram_keys("pencil", iterations=1))
    assert server.receive(final) == Failure("malformed response")


def test_scram_unknown_user_and_wrong_password_look_alike() -> None:
    keys = derive_scram_keys("pencil", iterations=4096)
    known = run_exchange(scram(), ScramClient("user", "guess"), keys)
    unknown = run_exchange(scram(), ScramClient("nobody", "guess"), None)
    assert known == unknown == Failure("invalid credentials")
