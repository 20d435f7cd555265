"""The engine: framing fed three ways, limits, the state table, pipelining."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from plugins.pop3.proto import responses
from plugins.pop3.proto.commands import Capa, Dele, List, Noop, Pass, Quit, Retr, Stat, User
from plugins.pop3.proto.engine import CLOSED, MAX_ERRORS, NEED_DATA, Pop3Engine, Refusal
from plugins.pop3.proto.receiver import TOO_LONG, LineReceiver
from plugins.pop3.proto.state import State

SCRIPT = b"CAPA\r\nUSER ann\r\nPASS a b c\r\nSTAT\r\nLIST 1\r\nRETR 2\r\nDELE 1\r\nNOOP\nQUIT\r\n"
EXPECTED = [Capa(), User("ann"), Pass("a b c"), Stat(), List(1), Retr(2), Dele(1), Noop(), Quit()]


def drain(engine: Pop3Engine) -> list[object]:
    """Every event up to NEED_DATA or CLOSED; logs in after PASS, as a session would."""
    events = []
    while (event := engine.next_event()) not in (NEED_DATA, CLOSED):
        events.append(event)
        if isinstance(event, User):
            engine.user = event.name
        if isinstance(event, Pass):
            engine.authenticated()
    return events


def feed_in_pieces(pieces: list[bytes]) -> list[object]:
    engine = Pop3Engine()
    events: list[object] = []
    for piece in pieces:
        engine.receive_data(piece)
        events += drain(engine)
    return events


def test_proto_engine_all_at_once() -> None:
    assert feed_in_pieces([SCRIPT]) == EXPECTED


def test_proto_engine_byte_by_byte() -> None:
    assert feed_in_pieces([SCRIPT[i : i + 1] for i in range(len(SCRIPT))]) == EXPECTED


def test_proto_engine_every_split_point() -> None:
    for split in range(len(SCRIPT) + 1):
        assert feed_in_pieces([SCRIPT[:split], SCRIPT[split:]]) == EXPECTED, split


def test_proto_engine_states() -> None:
    engine = Pop3Engine()
    assert engine.state is State.AUTHORIZATION
    engine.receive_data(b"STAT\r\nNOOP\r\nPASS x\r\nCAPA\r\n")
    # RFC 1939 §3: wrong state -> negative reply; PASS needs a USER first.
    assert drain(engine) == [
        Refusal(responses.WRONG_STATE),
        Refusal(responses.WRONG_STATE),
        Refusal(responses.PASS_NEEDS_USER),
        Capa(),
    ]
    engine.authenticated()
    engine.receive_data(b"USER ann\r\nSTLS\r\nUTF8\r\nAUTH PLAIN\r\nSTAT\r\n")
    assert drain(engine) == [Refusal(responses.WRONG_STATE)] * 4 + [Stat()]
    engine.enter_update()
    engine.receive_data(b"STAT\r\n")
    assert drain(engine) == [Refusal(responses.WRONG_STATE)]


def test_proto_engine_user_is_forgotten_by_other_auth_commands() -> None:
    engine = Pop3Engine()
    engine.receive_data(b"USER ann\r\n")
    assert drain(engine) == [User("ann")]
    assert engine.user == "ann"
    engine.receive_data(b"AUTH PLAIN\r\nPASS pw\r\n")
    events = drain(engine)
    assert engine.user is None
    assert events[-1] == Refusal(responses.PASS_NEEDS_USER)


def test_proto_engine_refuses_unknown_and_invalid() -> None:
    engine = Pop3Engine()
    engine.receive_data(b"XYZZY\r\nUSER\r\n\r\n")
    assert drain(engine) == [
        Refusal(responses.UNKNOWN_COMMAND),
        Refusal(responses.err("USER expected one login name")),
        Refusal(responses.UNKNOWN_COMMAND),
    ]


def test_proto_engine_overlong_line_gets_one_reply() -> None:
    engine = Pop3Engine(max_line=300)
    # Sent in pieces: the engine buffers at most the limit, then discards to the end.
    engine.receive_data(b"USER " + b"x" * 250)
    assert engine.next_event() is NEED_DATA
    engine.receive_data(b"y" * 5000)
    assert engine.next_event() is NEED_DATA
    engine.receive_data(b"z" * 100 + b"\r\nNOOP\r\n")
    assert engine.next_event() == Refusal(responses.LINE_TOO_LONG)
    assert engine.next_event() == Refusal(responses.WRONG_STATE)  # NOOP, still unauthenticated
    assert engine.next_event() is NEED_DATA


def test_proto_engine_limit_has_the_rfc_floor() -> None:
    # RFC 2449 §4: commands up to 255 octets (with CRLF) must be accepted.
    engine = Pop3Engine(max_line=10)
    engine.receive_data(b"USER " + b"a" * 248 + b"\r\n")
    assert engine.next_event() == User("a" * 248)
    engine.receive_data(b"USER " + b"a" * 249 + b"\r\n")
    assert engine.next_event() == Refusal(responses.LINE_TOO_LONG)


def test_proto_engine_closes_after_too_many_errors() -> None:
    engine = Pop3Engine()
    engine.receive_data(b"BOGUS\r\n" * MAX_ERRORS)
    events = drain(engine)
    assert events[-1] == Refusal(responses.TOO_MANY_ERRORS, close=True)
    assert all(not e.close for e in events[:-1])  # type: ignore[attr-defined]


def test_proto_engine_a_good_command_resets_the_error_count() -> None:
    engine = Pop3Engine()
    engine.receive_data((b"BOGUS\r\n" * (MAX_ERRORS - 1) + b"CAPA\r\n") * 3)
    assert not any(isinstance(e, Refusal) and e.close for e in drain(engine))


def test_proto_engine_closed() -> None:
    engine = Pop3Engine()
    engine.receive_data(b"CAPA\r\nQUI")
    engine.receive_data(b"")
    assert engine.next_event() == Capa()
    assert engine.next_event() is CLOSED  # a partial line at EOF is not a command


def test_proto_engine_drop_buffer_for_stls() -> None:
    engine = Pop3Engine()
    engine.receive_data(b"STLS\r\nUSER evil\r\n")
    assert engine.next_event() is not None
    assert engine.drop_buffer() == len(b"USER evil\r\n")
    assert engine.next_event() is NEED_DATA


def test_proto_engine_sasl_lines() -> None:
    engine = Pop3Engine()
    engine.receive_data(b"AUTH PLAIN\r\n" + b"A" * 5000 + b"\r\n" + b"B" * 20 + b"\r\n")
    engine.next_event()
    assert engine.next_sasl_line(6000) == b"A" * 5000  # longer than a command may be
    assert engine.next_sasl_line(10) is TOO_LONG
    assert engine.next_sasl_line(10) is NEED_DATA
    engine.receive_data(b"")
    assert engine.next_sasl_line(10) is CLOSED


def test_proto_receiver_bare_lf_and_cr() -> None:
    receiver = LineReceiver(100)
    receiver.receive_data(b"a\nb\r\nc\r\r\n")
    assert [receiver.next_line() for _ in range(3)] == [b"a", b"b", b"c\r"]


@given(st.lists(st.binary(max_size=400), max_size=10), st.integers(min_value=0, max_value=3))
def test_proto_engine_never_raises(chunks: list[bytes], logins: int) -> None:
    engine = Pop3Engine(max_line=256)
    for i, chunk in enumerate(chunks):
        engine.receive_data(chunk)
        drain(engine)
        if i == logins:
            engine.authenticated()
    engine.receive_data(b"")
    drain(engine)
