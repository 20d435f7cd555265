"""Property tests of the framing layer and engine: any bytes give events, never an exception."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.managesieve.proto.engine import CLOSED, NEED_DATA, Refusal, SaslResponse, SieveEngine
from plugins.managesieve.proto.receiver import (
    Atom,
    CommandReceiver,
    Continue,
    Line,
    Malformed,
    String,
)
from plugins.managesieve.proto.responses import encode_string

# Pieces that make the grammar's interesting cases likely.
PIECES = st.sampled_from(
    [
        *(b"PUTSCRIPT ", b"NOOP", b'"', b"\\", b"{", b"}", b"+", b"5", b"0", b" ", b"\r\n"),
        *(b"\n", b"\r", b"AUTHENTICATE", b'"x"', b"{3+}\r\n", b"{2}\r\n", b"\x00", b"\xff"),
        *(b"(", b"*"),
    ]
)
STREAMS = st.lists(st.one_of(PIECES, st.binary(max_size=8)), max_size=40).map(b"".join)


def run(chunks: list[bytes], authenticated: bool) -> list[object]:
    engine = SieveEngine(max_line=64, max_literal=16, max_discard=32, max_name=128)
    if authenticated:
        engine.authenticated()
    events: list[object] = []
    for chunk in filter(None, chunks):  # b"" would mean end of stream
        engine.receive_data(chunk)
        while (event := engine.next_event()) is not NEED_DATA:
            assert event is not CLOSED
            events.append(event)
            if isinstance(event, Refusal) and event.close:
                return events
    return events


@settings(max_examples=300, deadline=None)
@given(data=STREAMS, cut=st.integers(min_value=0, max_value=400), auth=st.booleans())
def test_engine_any_bytes_any_split(data: bytes, cut: int, auth: bool) -> None:
    whole = run([data], auth)
    cut %= len(data) + 1
    assert run([data[:cut], data[cut:]], auth) == whole
    for event in whole:
        assert not isinstance(event, Line | Malformed)  # the engine wraps them
        if isinstance(event, Refusal):
            assert event.response.status in ("NO", "BYE")


@settings(max_examples=200, deadline=None)
@given(data=STREAMS.filter(bool))
def test_sasl_responses_any_bytes(data: bytes) -> None:
    engine = SieveEngine(max_line=64, max_literal=16, max_discard=32, max_name=128)
    engine.receive_data(data)
    while (event := engine.next_sasl_response()) is not NEED_DATA:
        assert isinstance(event, SaslResponse | Refusal | Continue)
        if isinstance(event, Refusal):
            break


@given(st.binary(max_size=2000))
def test_encode_string_round_trips(value: bytes) -> None:
    encoded = encode_string(value)
    if encoded.startswith(b"{"):
        header, _, body = encoded.partition(b"\r\n")
        assert int(header[1:-1]) == len(body) and body == value
    else:
        assert encoded.startswith(b'"') and encoded.endswith(b'"')
        # What a peer reads back: the receiver parses the same quoted syntax.
        receiver = CommandReceiver(max_line=4096, max_literal=0, max_discard=0)
        receiver.receive_data(b"NOOP " + encoded + b"\r\n")
        assert receiver.next_event() == Line((Atom("NOOP"), String(value)))
