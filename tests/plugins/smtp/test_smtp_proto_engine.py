"""The sans-IO engine: framing fed three ways, DATA and BDAT, states, PIPELINING, STARTTLS, AUTH."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.smtp.proto.commands import Auth, Data, Ehlo, Mail, Rcpt, StartTls
from plugins.smtp.proto.engine import SmtpEngine
from plugins.smtp.proto.errors import LocalProtocolError
from plugins.smtp.proto.events import (
    CLOSED,
    NEED_DATA,
    AuthResponse,
    BadCommand,
    ChunkReceived,
    Event,
    MessageReceived,
)
from plugins.smtp.proto.receiver import Defect
from plugins.smtp.proto.responses import Reply
from plugins.smtp.proto.state import State

OK = Reply.of(250, "2.0.0", "ok")


def answer(event: Event) -> Reply:
    """A server that accepts everything it can."""
    if isinstance(event, BadCommand):
        return event.reply
    if isinstance(event, Data):
        return Reply.of(354, None, "go ahead")
    if isinstance(event, StartTls):
        return Reply.of(220, "2.0.0", "ready")
    return OK


def drive(
    chunks: Iterable[bytes],
    respond: Callable[[Event], Reply] = answer,
    **options: object,
) -> tuple[list[Event], bytes]:
    """Feed ``chunks`` then EOF; answer every event; return the events and the output."""
    engine = SmtpEngine(max_message_size=options.pop("max_message_size", 10_000), **options)  # type: ignore[arg-type]
    events: list[Event] = []
    out = bytearray()

    def pump() -> bool:
        while True:
            event = engine.next_event()
            if event is NEED_DATA:
                return True
            if event is CLOSED:
                return False
            events.append(event)  # type: ignore[arg-type]
            out.extend(engine.send(respond(event)))  # type: ignore[arg-type]

    for chunk in chunks:
        engine.receive_data(chunk)
        if not pump():
            return events, bytes(out)
    engine.receive_data(b"")
    pump()
    return events, bytes(out)


def three_ways(data: bytes, **options: object) -> list[Event]:
    """The events for ``data`` fed whole, byte by byte and split at every point: all equal."""
    whole, _ = drive([data], **options)
    assert drive([data[i : i + 1] for i in range(len(data))], **options)[0] == whole
    for cut in range(1, len(data)):
        assert drive([data[:cut], data[cut:]], **options)[0] == whole, f"split at {cut}"
    return whole


TRANSCRIPT = (
    b"EHLO client.example\r\n"
    b"MAIL FROM:<carol@remote.example> SIZE=60\r\n"
    b"RCPT TO:<ann@example.org>\r\n"
    b"DATA\r\n"
    b"Subject: dots\r\n\r\n..leading dot\r\n.\r\n"
    b"QUIT\r\n"
)


def test_engine_transcript_three_ways() -> None:
    events = three_ways(TRANSCRIPT)
    assert [type(e) for e in events] == [Ehlo, Mail, Rcpt, Data, MessageReceived, type(events[5])]
    message = events[4]
    assert isinstance(message, MessageReceived)
    # RFC 5321 §4.5.2: the transparency dot is removed.
    assert message.content == b"Subject: dots\r\n\r\n.leading dot\r\n"
    assert message.defects == frozenset() and not message.chunked


def test_engine_pipelined_replies_in_order() -> None:
    _, out = drive([TRANSCRIPT])
    assert out.split(b"\r\n")[:6] == [
        b"250 2.0.0 ok",
        b"250 2.0.0 ok",
        b"250 2.0.0 ok",
        b"354 go ahead",
        b"250 2.0.0 ok",
        b"250 2.0.0 ok",
    ]


BDAT = (
    b"EHLO c\r\nMAIL FROM:<> BODY=BINARYMIME\r\nRCPT TO:<a@b.example>\r\n"
    b"BDAT 5\r\nab\r\nc"
    b"BDAT 4 LAST\r\n\x00\n.\n"
    b"NOOP\r\n"
)


def test_engine_bdat_three_ways() -> None:
    events = three_ways(BDAT)
    chunk, message = events[3], events[4]
    assert chunk == ChunkReceived(size=5, total=5, defects=frozenset())
    assert isinstance(message, MessageReceived) and message.chunked
    # RFC 3030 §3: BINARYMIME content is arbitrary octets, never dot-unstuffed.
    assert message.content == b"ab\r\nc\x00\n.\n"
    assert message.defects == frozenset()


def test_engine_bdat_zero_last_and_chunk_never_parsed_as_commands() -> None:
    data = b"EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@b.example>\r\nBDAT 6\r\nQUIT\r\nBDAT 0 LAST\r\n"
    events = three_ways(data)
    assert isinstance(events[-1], MessageReceived)
    assert events[-1].content == b"QUIT\r\n"


def test_engine_data_end_only_at_crlf_dot_crlf() -> None:
    # RFC 5321 §4.1.1.4: <LF>.<LF> (and mixtures) never end the data.
    head = b"EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@b.example>\r\nDATA\r\n"
    for fake_end in (b"x\n.\nRSET\r\n", b"x\r\n.\nRSET\r\n", b"x\n.\r\nRSET\r\n", b"x\r.\r\n"):
        events, _ = drive([head + fake_end])
        assert not any(isinstance(e, MessageReceived) for e in events), fake_end
        events = three_ways(head + fake_end + b".\r\n")
        message = events[-1]
        assert isinstance(message, MessageReceived)
        assert message.defects == {Defect.BARE_NEWLINE} and message.content == b""


def test_engine_normalises_bare_newlines_when_configured() -> None:
    data = b"EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@b.example>\r\nDATA\r\nA\nB\rC\n.\nD\r\n.\r\n"
    events = three_ways(data, normalise_newlines=True)
    message = events[-1]
    assert isinstance(message, MessageReceived) and message.defects == frozenset()
    assert message.content == b"A\r\nB\r\nC\r\n.\r\nD\r\n"


def test_engine_nul_in_data_is_a_defect_even_normalised() -> None:
    data = b"EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@b.example>\r\nDATA\r\nA\x00B\r\n.\r\n"
    for normalise in (False, True):
        message = drive([data], normalise_newlines=normalise)[0][-1]
        assert isinstance(message, MessageReceived) and message.defects == {Defect.NUL}


def test_engine_size_limit_counts_and_drops() -> None:
    body = b"x" * 998 + b"\r\n"
    data = b"EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@b.example>\r\nDATA\r\n" + body * 20 + b".\r\n"
    message = drive([data], max_message_size=5000)[0][-1]
    assert isinstance(message, MessageReceived)
    assert message.defects == {Defect.TOO_LARGE}
    assert message.size == 20_000 and message.content == b""


def test_engine_long_text_lines_are_fine() -> None:
    # RFC 5321 §4.5.3.1: no limit on text lines beyond the message size.
    line = b"y" * 5000 + b"\r\n"
    data = b"EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@b.example>\r\nDATA\r\n" + line + b".\r\n"
    message = drive([data])[0][-1]
    assert isinstance(message, MessageReceived) and message.content == line


def test_engine_command_line_limit() -> None:
    # RFC 5321 §4.5.3.1.4: 512 octets with CRLF, plus the configured allowance.
    ok = b"NOOP " + b"a" * (512 - 7) + b"\r\n"
    too_long = b"NOOP " + b"a" * (512 - 6) + b"\r\n"
    events = three_ways(ok + too_long + b"QUIT\r\n", max_line=512)
    assert [type(e).__name__ for e in events] == ["Noop", "BadCommand", "Quit"]
    bad = events[1]
    assert isinstance(bad, BadCommand) and bad.reply.code == 500
    events, _ = drive([too_long], max_line=1024)
    assert type(events[0]).__name__ == "Noop"


def test_engine_huge_line_is_not_buffered() -> None:
    engine = SmtpEngine(max_message_size=1000)
    for _ in range(100):
        engine.receive_data(b"z" * 10_000)
        assert engine.next_event() is NEED_DATA
        assert engine.buffered <= 1
    engine.receive_data(b"\r\nQUIT\r\n")
    bad = engine.next_event()
    assert isinstance(bad, BadCommand) and bad.reply.lines == ("line too long",)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"MAIL FROM:<>\r\n", 503),
        (b"EHLO c\r\nRCPT TO:<a@b.example>\r\n", 503),
        (b"EHLO c\r\nDATA\r\n", 503),
        (b"EHLO c\r\nMAIL FROM:<>\r\nMAIL FROM:<>\r\n", 503),
        (b"STARTTLS\r\n", 503),
        (b"AUTH PLAIN\r\n", 503),
        (b"HELO c\r\nAUTH PLAIN\r\n", 503),
        (b"EHLO c\r\nMAIL FROM:<>\r\nAUTH PLAIN\r\n", 503),
        (b"EHLO c\r\nMAIL FROM:<>\r\nSTARTTLS\r\n", 503),
        (b"EHLO c\r\nMAIL FROM:<> BODY=BINARYMIME\r\nRCPT TO:<a@b.example>\r\nDATA\r\n", 503),
        (b"EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@b.example>\r\nBDAT 1\r\nxDATA\r\n", 503),
    ],
)
def test_engine_sequence_errors(data: bytes, code: int) -> None:
    events, _ = drive([data])
    last = events[-1]
    assert isinstance(last, BadCommand) and last.reply.code == code


def test_engine_data_without_valid_recipient_is_554() -> None:
    # RFC 2920 §3.1: DATA after all RCPTs failed is answered 554.
    def refuse_rcpt(event: Event) -> Reply:
        return Reply.of(550, "5.1.1", "no") if isinstance(event, Rcpt) else answer(event)

    events, out = drive(
        [b"EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<x@b.example>\r\nDATA\r\nhi\r\n"], refuse_rcpt
    )
    assert isinstance(events[3], BadCommand) and events[3].reply.code == 554
    assert b"554 5.5.1 no valid recipients" in out
    assert isinstance(events[4], BadCommand)  # the content is then read as commands


def test_engine_failed_bdat_needs_rset_and_pipelined_chunks_are_discarded() -> None:
    # RFC 3030 §2: after a failed BDAT, further chunks are read and refused until RSET.
    def fail_chunks(event: Event) -> Reply:
        return Reply.of(554, "5.6.0", "no") if isinstance(event, ChunkReceived) else answer(event)

    data = (
        b"EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@b.example>\r\n"
        b"BDAT 4\r\nMAILBDAT 13 LAST\r\nRCPT TO:<x>\r\nRSET\r\nNOOP\r\n"
    )
    events, _ = drive([data], fail_chunks)
    names = [type(e).__name__ for e in events]
    assert names == ["Ehlo", "Mail", "Rcpt", "ChunkReceived", "BadCommand", "Rset", "Noop"]
    assert isinstance(events[4], BadCommand) and events[4].reply.code == 503


def test_engine_starttls_drops_pipelined_input_and_resets() -> None:
    # RFC 3207 §4.2: commands sent before the handshake completes are discarded.
    engine = SmtpEngine(max_message_size=1000)
    engine.receive_data(b"EHLO c\r\nSTARTTLS\r\nMAIL FROM:<evil@x.example>\r\n")
    engine.send(answer(engine.next_event()))  # type: ignore[arg-type]
    assert engine.state is State.READY and engine.extended
    assert isinstance(engine.next_event(), StartTls)
    engine.send(Reply.of(220, "2.0.0", "ready"))
    assert engine.dropped == len(b"MAIL FROM:<evil@x.example>\r\n")
    assert engine.next_event() is NEED_DATA
    assert engine.state is State.INIT and not engine.extended


def test_engine_auth_exchange() -> None:
    engine = SmtpEngine(max_message_size=1000, max_auth_line=100)
    engine.receive_data(b"EHLO c\r\nAUTH LOGIN\r\n")
    engine.send(answer(engine.next_event()))  # type: ignore[arg-type]
    assert isinstance(engine.next_event(), Auth)
    engine.send(Reply.of(334, None, "VXNlcm5hbWU6"))
    engine.receive_data(b"YW5u\r\n" + b"A" * 200 + b"\r\n")
    assert engine.next_event() == AuthResponse(b"YW5u")
    engine.send(Reply.of(334, None, "UGFzc3dvcmQ6"))
    assert engine.next_event() == AuthResponse(None)  # too long: 500 5.5.6
    engine.send(Reply.of(500, "5.5.6", "too long"))
    assert not engine.authenticated
    engine.receive_data(b"AUTH PLAIN AGEAYg==\r\n")
    assert isinstance(engine.next_event(), Auth)
    engine.send(Reply.of(235, "2.7.0", "ok"))
    assert engine.authenticated


def test_engine_reply_owed_and_unsolicited_reply_are_driver_bugs() -> None:
    engine = SmtpEngine(max_message_size=1000)
    engine.receive_data(b"NOOP\r\nNOOP\r\n")
    engine.next_event()
    with pytest.raises(LocalProtocolError):
        engine.next_event()
    engine.send(OK)
    with pytest.raises(LocalProtocolError):
        engine.send(OK)


def test_engine_quit_and_421_close() -> None:
    events, out = drive([b"QUIT\r\nNOOP\r\n"], lambda e: Reply.of(221, "2.0.0", "bye"))
    assert len(events) == 1 and out == b"221 2.0.0 bye\r\n"
    engine = SmtpEngine(max_message_size=10)
    engine.send(Reply.of(421, "4.4.2", "timeout"))
    assert engine.closed and engine.next_event() is CLOSED


def test_engine_eof_mid_data_closes_without_message() -> None:
    events, _ = drive([b"EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@b.example>\r\nDATA\r\npartial"])
    assert not any(isinstance(e, MessageReceived) for e in events)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                b"EHLO c\r\n",
                b"MAIL FROM:<>\r\n",
                b"RCPT TO:<a@b.example>\r\n",
                b"DATA\r\n",
                b"BDAT 3\r\n",
                b"BDAT 0 LAST\r\n",
                b".\r\n",
                b"\r\n",
                b"\n",
                b"\r",
                b".",
                b"\x00",
                b"RSET\r\n",
                b"STARTTLS\r\n",
                b"AUTH PLAIN\r\n",
                b"*\r\n",
                b"x" * 600,
                b"\xff",
            ]
        ),
        max_size=30,
    ),
    st.data(),
)
def test_engine_hostile_streams_never_crash(parts: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(parts)
    cuts = sorted(data.draw(st.sets(st.integers(0, len(stream)), max_size=5)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]

    def respond(event: Event) -> Reply:
        if isinstance(event, Auth):
            return Reply.of(334, None, "")
        if isinstance(event, AuthResponse):
            return Reply.of(535, "5.7.8", "no")
        return answer(event)

    events, _ = drive(chunks, respond, max_line=512)
    assert all(not isinstance(e, bytes) for e in events)
