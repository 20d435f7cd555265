"""Hypothesis fuzzing: whatever the client sends, SaslServer only ever returns events."""

from __future__ import annotations

import base64

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel.sasl import (
    MECHANISMS,
    Challenge,
    Failure,
    LookupScram,
    SaslServer,
    Success,
    VerifyPassword,
    VerifyToken,
    derive_scram_keys,
)

KEYS = derive_scram_keys("pencil", salt=b"0123456789abcdef", iterations=1)
EVENTS = (Challenge, VerifyPassword, LookupScram, VerifyToken, Success, Failure)

# Pieces of the mechanisms' grammars, so that the fuzzer gets past the first checks.
TOKENS = [
    "n", "y", "p=tls-unique", "F", ",", "=", "a=", "n=", "r=", "c=", "p=", "m=", "i=", "s=",
    "x=", "biws", "eSws", "=2C", "=3D", "=2X", "user", "abc", "abcXYZ", "XYZ", "\x00", "\x01",
    "auth=", "Bearer ", "bearer tok", "host=h", "port=143", "port=0", "é", "\u00ad", "\u0627",
    base64.b64encode(bytes(32)).decode(), "AAAA", "==",
]  # fmt: skip
grammar_text = st.lists(st.sampled_from(TOKENS), max_size=16).map("".join)
client_data = st.one_of(
    st.binary(max_size=200),
    grammar_text.map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.text(max_size=60).map(lambda s: s.encode("utf-8", "surrogatepass")),
)


def drive(server: SaslServer, initial: bytes | None, data: st.DataObject) -> None:
    event = server.start(initial)
    for _ in range(8):
        assert isinstance(event, EVENTS)
        if isinstance(event, Challenge):
            if data.draw(st.booleans(), label="cancel") and data.draw(st.booleans()):
                event = server.cancel()
            else:
                event = server.receive(data.draw(client_data, label="response"))
        elif isinstance(event, VerifyPassword):
            event = server.password_result(data.draw(st.booleans(), label="ok"), "acct")
        elif isinstance(event, LookupScram):
            keys = data.draw(st.sampled_from([KEYS, None]), label="keys")
            event = server.scram_credentials(keys, "acct")
        elif isinstance(event, VerifyToken):
            event = server.token_result(data.draw(st.booleans(), label="ok"), "acct")
        else:
            break
    assert isinstance(event, EVENTS)
    if server.done:
        # Anything after the end is a failure, never an exception.
        assert isinstance(server.receive(data.draw(client_data)), Failure)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    mechanism=st.sampled_from(MECHANISMS),
    initial=st.one_of(st.none(), client_data),
    data=st.data(),
)
def test_fuzz_any_client_input_yields_events(
    mechanism: str, initial: bytes | None, data: st.DataObject
) -> None:
    server = SaslServer(mechanism, tls=True, _nonce="XYZ", max_response=150)
    drive(server, initial, data)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), tail=grammar_text, flag=st.sampled_from(["n,,", "y,,", "n,a=x,"]))
def test_fuzz_scram_client_final(data: st.DataObject, tail: str, flag: str) -> None:
    # Reach the client-final parser with a valid client-first message every time.
    server = SaslServer("SCRAM-SHA-256", tls=True, _nonce="XYZ")
    assert isinstance(server.start(f"{flag}n=user,r=abc".encode()), LookupScram)
    assert isinstance(server.scram_credentials(KEYS), Challenge)
    prefix = data.draw(st.sampled_from(["", "c=biws,r=abcXYZ", "c=biws,r=abcXYZ,p="]))
    event = server.receive((prefix + tail).encode("utf-8", "surrogatepass"))
    assert isinstance(event, Failure | Challenge | Success)
