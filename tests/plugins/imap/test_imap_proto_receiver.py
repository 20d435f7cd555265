"""The IMAP receiver: framing, literals, limits, modes and resynchronisation.

RFC 9051 §4.3 (literals), §7.6 (continuation), RFC 7888 (LITERAL+/LITERAL-), RFC 3516
(literal8). Input is fed three ways (all at once, byte by byte, every split point) as
STYLE.md §1.10 asks, plus hostile input and a hypothesis fuzz test.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugins.imap.proto.commands import Append, AppendMessage, Fetch, Idle, Login, Noop, Search
from plugins.imap.proto.receiver import (
    CLOSED,
    NEED_DATA,
    CommandError,
    Event,
    RawLine,
    Receiver,
    SendContinuation,
)
from plugins.imap.proto.search_keys import TextKey


def drain(r: Receiver, limit: int = 10_000) -> list[Event]:
    """Every event up to NEED_DATA or CLOSED (included), failing if it never stops."""
    out: list[Event] = []
    for _ in range(limit):
        event = r.next_event()
        out.append(event)
        if event is NEED_DATA or event is CLOSED:
            return out
    raise AssertionError("next_event() never returned NEED_DATA or CLOSED")


def feed(chunks: Iterable[bytes], r: Receiver | None = None, *, eof: bool = False) -> list[Event]:
    """Feed the chunks one by one, draining after each; NEED_DATA markers dropped."""
    r = r or Receiver()
    out: list[Event] = []
    for chunk in chunks:
        r.receive_data(chunk)
        out += drain(r)
    if eof:
        r.receive_data(b"")
        out += drain(r)
    return [e for e in out if e is not NEED_DATA]


def split_ways(data: bytes) -> list[list[bytes]]:
    """All at once, byte by byte, and every split point in two."""
    ways = [[data], [data[i : i + 1] for i in range(len(data))]]
    ways += [[data[:i], data[i:]] for i in range(1, len(data))]
    return ways


def without_continuations(events: list[Event]) -> list[Event]:
    return [e for e in events if not isinstance(e, SendContinuation)]


# ------------------------------------------------------------------- three ways

STREAMS: list[tuple[bytes, list[Event]]] = [
    (b"a NOOP\r\n", [Noop("a")]),
    (b"a NOOP\r\nb NOOP\r\n", [Noop("a"), Noop("b")]),
    (b"a NOOP\n", [Noop("a")]),  # a bare LF ends a line too
    (b"a LOGIN {4}\r\nfred {4}\r\npass\r\n", [Login("a", "fred", "pass")]),
    (b"a LOGIN {4+}\r\nfred {0+}\r\n\r\n", [Login("a", "fred", "")]),
    (b"a LOGIN {4}\nfred {2}\nab\n", [Login("a", "fred", "ab")]),
    (b"a LOGIN {4}\r\n\r\n\r\n {2}\r\n{}\r\n", [Login("a", "\r\n\r\n", "{}")]),
    (
        b"a APPEND INBOX {5}\r\nhello ~{3}\r\n\x00\r\n\r\nb NOOP\r\n",
        [
            Append(
                "a", "INBOX", (AppendMessage(b"hello"), AppendMessage(b"\x00\r\n", binary=True))
            ),
            Noop("b"),
        ],
    ),
    (b"a SEARCH TEXT {6}\r\nx\r\ny}{\r\n", [Search("a", TextKey("text", "x\r\ny}{"))]),
    (b"a FROB\r\nb NOOP\r\n", [CommandError("a", "BAD", None, "unknown command FROB"), Noop("b")]),
    (b"\r\n", [CommandError(None, "BAD", None, "missing or invalid tag")]),
    (
        b"a SEARCH CHARSET KOI8-R ALL\r\n",
        [
            CommandError(
                "a", "NO", "BADCHARSET (US-ASCII UTF-8)", "charset 'KOI8-R' is not supported"
            )
        ],
    ),
]


@pytest.mark.parametrize(("data", "expected"), STREAMS, ids=[repr(d[:30]) for d, _ in STREAMS])
def test_receiver_three_ways(data: bytes, expected: list[Event]) -> None:
    for chunks in split_ways(data):
        events = without_continuations(feed(chunks))
        assert len(events) == len(expected), chunks
        for got, want in zip(events, expected, strict=True):
            if isinstance(want, CommandError):
                assert isinstance(got, CommandError), chunks
                assert (got.tag, got.status, got.code) == (want.tag, want.status, want.code)
            else:
                assert got == want, chunks


# ------------------------------------------------------------------ continuations


def test_receiver_sync_literal_asks_for_continuation() -> None:
    r = Receiver()
    r.receive_data(b"a LOGIN {4}\r\n")
    assert drain(r) == [SendContinuation(), NEED_DATA]
    r.receive_data(b"fred {4}\r\n")
    assert drain(r) == [SendContinuation(), NEED_DATA]
    r.receive_data(b"pass\r\n")
    assert drain(r) == [Login("a", "fred", "pass"), NEED_DATA]


def test_receiver_zero_length_sync_literal_still_asks() -> None:
    # RFC 9051 §4.3: even for {0} the client waits for the continuation.
    r = Receiver()
    r.receive_data(b"a LOGIN {0}\r\n")
    assert drain(r) == [SendContinuation(), NEED_DATA]
    r.receive_data(b" x\r\n")
    assert drain(r) == [Login("a", "", "x"), NEED_DATA]


def test_receiver_nonsync_literal_needs_no_continuation() -> None:
    r = Receiver()
    r.receive_data(b"a LOGIN {4+}\r\n")
    assert drain(r) == [NEED_DATA]
    r.receive_data(b"fred x\r\n")
    assert drain(r) == [Login("a", "fred", "x"), NEED_DATA]


def test_receiver_no_continuation_when_the_client_did_not_wait() -> None:
    assert feed([b"a LOGIN {4}\r\nfred x\r\n"]) == [Login("a", "fred", "x")]


def test_receiver_unknown_command_is_refused_before_the_literal() -> None:
    r = Receiver()
    r.receive_data(b"a FROB {5}\r\n")
    events = drain(r)
    assert isinstance(events[0], CommandError)
    assert (events[0].tag, events[0].status) == ("a", "BAD")
    assert not any(isinstance(e, SendContinuation) for e in events)
    r.receive_data(b"b NOOP\r\n")  # the client abandoned the command
    assert drain(r) == [Noop("b"), NEED_DATA]


def test_receiver_bad_tag_is_refused_before_the_literal() -> None:
    r = Receiver()
    r.receive_data(b"a+ LOGIN {5}\r\n")
    events = drain(r)
    assert isinstance(events[0], CommandError)
    assert events[0].tag is None


def test_receiver_uid_command_name_is_checked_before_the_literal() -> None:
    r = Receiver()
    r.receive_data(b"a UID FROB 1 {5}\r\n")
    event = r.next_event()
    assert isinstance(event, CommandError)
    r.receive_data(b"a UID COPY 1 {5}\r\n")
    assert r.next_event() == SendContinuation()


# -------------------------------------------------------------------------- limits


def test_receiver_long_line_is_toobig_and_resynchronises() -> None:
    r = Receiver(max_line=100)
    data = b"a1 SEARCH TEXT " + b"x" * 200 + b"\r\nb NOOP\r\n"
    for chunks in split_ways(data)[:60]:
        events = feed(chunks, Receiver(max_line=100))
        errors = [e for e in events if isinstance(e, CommandError)]
        assert len(errors) == 1, chunks
        assert (errors[0].status, errors[0].code) == ("BAD", "TOOBIG")
        assert errors[0].tag == "a1"
        assert events[-1] == Noop("b")
    assert r.max_line == 100


def test_receiver_long_line_without_tag() -> None:
    events = feed([b"(" * 300 + b"\r\nb NOOP\r\n"], Receiver(max_line=100))
    assert isinstance(events[0], CommandError)
    assert events[0].tag is None
    assert events[-1] == Noop("b")


def test_receiver_line_limit_counts_all_lines_of_a_command() -> None:
    r = Receiver(max_line=60)
    events = feed([b"a LOGIN {2+}\r\nab " + b"x" * 70 + b"\r\nb NOOP\r\n"], r)
    assert isinstance(events[0], CommandError)
    assert events[0].code == "TOOBIG"
    assert events[-1] == Noop("b")


def test_receiver_line_limit_excludes_literals() -> None:
    r = Receiver(max_line=40, max_short_literal=1000)
    assert feed([b"a LOGIN {500+}\r\n" + b"u" * 500 + b" p\r\n"], r) == [Login("a", "u" * 500, "p")]


def test_receiver_discarded_long_line_ending_in_nonsync_literal() -> None:
    r = Receiver(max_line=50)
    data = b"a LOGIN " + b"x" * 100 + b" {12+}\r\nb NOOP\r\nxyz\r\nc NOOP\r\n"
    events = feed([data], r)
    assert [type(e) for e in events] == [CommandError, Noop]
    assert events[-1] == Noop("c")


def test_receiver_discarded_long_line_split_before_its_literal_header() -> None:
    data = b"a LOGIN " + b"x" * 100 + b" {12+}\r\nb NOOP\r\nxyz\r\nc NOOP\r\n"
    cut = data.index(b"{12+}") + 2
    for chunks in ([data[:cut], data[cut:]], [data[i : i + 7] for i in range(0, len(data), 7)]):
        events = feed(chunks, Receiver(max_line=50))
        assert [type(e) for e in events] == [CommandError, Noop], chunks
        assert events[-1] == Noop("c")


def test_receiver_sync_literal_over_limit_is_refused_without_continuation() -> None:
    r = Receiver(max_literal=10)
    r.receive_data(b"a APPEND INBOX {11}\r\n")
    events = drain(r)
    assert events[0] == CommandError("a", "BAD", "TOOBIG", "Literal too big")
    assert events[1:] == [NEED_DATA]
    r.receive_data(b"b NOOP\r\n")
    assert drain(r) == [Noop("b"), NEED_DATA]


def test_receiver_append_literal_at_limit_is_accepted() -> None:
    assert feed([b"a APPEND INBOX {10}\r\n0123456789\r\n"], Receiver(max_literal=10)) == [
        Append("a", "INBOX", (AppendMessage(b"0123456789"),))
    ]


def test_receiver_other_commands_have_the_short_literal_limit() -> None:
    r = Receiver(max_literal=1000, max_short_literal=10)
    events = feed([b"a LOGIN {11}\r\n"], r)
    assert events == [CommandError("a", "BAD", "TOOBIG", "Literal too big")]
    assert (
        feed([b"a APPEND INBOX {11}\r\n"], Receiver(max_literal=1000, max_short_literal=10))[0]
        == SendContinuation()
    )


def test_receiver_nonsync_literal_over_limit_is_discarded() -> None:
    # RFC 7888 §4, first choice: read and discard, answer BAD [TOOBIG] at once.
    data = b"a APPEND INBOX {20+}\r\n" + b"m" * 20 + b" {3+}\r\nabc\r\nb NOOP\r\n"
    for chunks in split_ways(data)[:80]:
        events = feed(chunks, Receiver(max_literal=10))
        assert events[0] == CommandError("a", "BAD", "TOOBIG", "Literal too big"), chunks
        assert events[1:] == [Noop("b")], chunks


def test_receiver_nonsync_literal_beyond_discard_limit_closes() -> None:
    # RFC 7888 §4, second choice, for absurd sizes: BYE [TOOBIG] and close.
    r = Receiver(max_literal=10, max_discard=100)
    r.receive_data(b"a APPEND INBOX {101+}\r\n" + b"x" * 50)
    events = drain(r)
    assert events[0] == CommandError("a", "BAD", "TOOBIG", "Literal too big", close=True)
    assert events[1] is CLOSED
    assert r.next_event() is CLOSED


def test_receiver_absurd_literal_size() -> None:
    r = Receiver()
    r.receive_data(b"a APPEND INBOX {" + b"9" * 400 + b"}\r\nb NOOP\r\n")
    events = drain(r)
    assert events[0] == CommandError("a", "BAD", "TOOBIG", "Literal too big")
    assert events[1] == Noop("b")
    r = Receiver()
    r.receive_data(b"a APPEND INBOX {" + b"9" * 400 + b"+}\r\n")
    events = drain(r)
    assert isinstance(events[0], CommandError)
    assert events[0].close


def test_receiver_literal_minus_limits_nonsync_literals() -> None:
    # RFC 7888 §5: under LITERAL- a non-synchronizing literal is at most 4096 octets.
    ok = b"a APPEND INBOX {4096+}\r\n" + b"x" * 4096 + b"\r\n"
    assert feed([ok], Receiver(literal_mode="LITERAL-")) == [
        Append("a", "INBOX", (AppendMessage(b"x" * 4096),))
    ]
    big = b"a APPEND INBOX {4097+}\r\n" + b"x" * 4097 + b"\r\nb NOOP\r\n"
    events = feed([big], Receiver(literal_mode="LITERAL-"))
    assert events == [CommandError("a", "BAD", "TOOBIG", "Literal too big"), Noop("b")]
    sync = b"a APPEND INBOX {4097}\r\n" + b"x" * 4097 + b"\r\n"
    assert without_continuations(feed([sync], Receiver(literal_mode="LITERAL-"))) == [
        Append("a", "INBOX", (AppendMessage(b"x" * 4097),))
    ]


def test_receiver_without_literal_plus_refuses_nonsync_literals() -> None:
    events = feed([b"a LOGIN {2+}\r\nab x\r\nb NOOP\r\n"], Receiver(literal_mode="none"))
    assert events == [CommandError("a", "BAD", "TOOBIG", "Literal too big"), Noop("b")]


def test_receiver_command_size_limit_bounds_multiappend() -> None:
    r = Receiver(max_literal=100, max_command=250)
    data = b"a APPEND INBOX {100+}\r\n" + b"x" * 100 + b" {100+}\r\n" + b"y" * 100
    data += b" {100+}\r\n" + b"z" * 100 + b"\r\nb NOOP\r\n"
    events = feed([data], r)
    assert events == [CommandError("a", "BAD", "TOOBIG", "Literal too big"), Noop("b")]


def test_receiver_buffer_stays_bounded_on_an_endless_line() -> None:
    r = Receiver(max_line=1000)
    errors = 0
    for _ in range(200):
        r.receive_data(b"x" * 4096)
        for event in drain(r):
            errors += isinstance(event, CommandError)
        assert len(r._buf) <= 1000 + 4096  # one read of look-ahead at most
    assert errors == 1
    r.receive_data(b"\r\na NOOP\r\n")
    assert drain(r) == [Noop("a"), NEED_DATA]


# --------------------------------------------------------------------- bad octets


@pytest.mark.parametrize(
    "line",
    [
        b"a LOGIN fr\x00ed x",
        b'a LOGIN "fr\x00ed" x',
        b"a SELECT caf\xc3\xa9",
        b'a SELECT "caf\xc3\xa9"',
        b"a NOOP\r",
        b"a LOGIN fred {3}\r\na\x00b",
        b"a FETCH 99999999999 FLAGS",
        b"a FETCH -1 FLAGS",
        b"a SEARCH ((((SEEN)",
        b"a SEARCH SEEN))",
    ],
)
def test_receiver_malformed_commands_get_tagged_bad(line: bytes) -> None:
    events = without_continuations(feed([line + b"\r\nb NOOP\r\n"]))
    assert isinstance(events[0], CommandError)
    assert (events[0].tag, events[0].status) == ("a", "BAD")
    assert events[0].text.isascii() and "\r" not in events[0].text and "\n" not in events[0].text
    assert events[1] == Noop("b")


def test_receiver_utf8_mode_allows_utf8_quoted_strings() -> None:
    r = Receiver()
    line = 'a LOGIN "j\u00f6rg" x\r\n'.encode()
    assert isinstance(feed([line], r)[0], CommandError)
    r.utf8 = True
    assert feed([line], r) == [Login("a", "j\u00f6rg", "x")]


# ------------------------------------------------------------------ special modes


def test_receiver_expect_line_for_idle_done() -> None:
    r = Receiver()
    r.receive_data(b"a IDLE\r\nDONE\r\nb NOOP\r\n")
    assert r.next_event() == Idle("a")
    r.expect_line()
    assert r.next_event() == RawLine(b"DONE")
    assert r.next_event() == Noop("b")


def test_receiver_expect_line_for_sasl_is_raw() -> None:
    r = Receiver()
    r.receive_data(b"a AUTHENTICATE PLAIN\r\n")
    drain(r)
    for line in (b"AGZyZWQAdGVzdA==", b"*", b"", b"{5}", b"a NOOP"):
        r.expect_line()
        r.receive_data(line + b"\r\n")
        assert drain(r) == [RawLine(line), NEED_DATA]


def test_receiver_expect_line_split_byte_by_byte() -> None:
    r = Receiver()
    r.expect_line()
    events = feed([bytes([b]) for b in b"DONE\r\n"], r)
    assert events == [RawLine(b"DONE")]


def test_receiver_expect_line_too_long() -> None:
    r = Receiver(max_line=10)
    r.expect_line()
    events = feed([b"x" * 30, b"\r\na NOOP\r\n"], r)
    assert isinstance(events[0], CommandError)
    assert events[0].code == "TOOBIG"
    assert events[1:] == [Noop("a")]


def test_receiver_mode_switches_refused_mid_command() -> None:
    r = Receiver()
    r.receive_data(b"a LOGIN {4}\r\n")
    drain(r)
    with pytest.raises(RuntimeError):
        r.expect_line()
    with pytest.raises(RuntimeError):
        r.take_buffered()


def test_receiver_take_buffered_after_starttls() -> None:
    # RFC 9051 §6.2.1: plaintext sent after STARTTLS must not be executed.
    r = Receiver()
    r.receive_data(b"a STARTTLS\r\nb LOGIN fred pass\r\n")
    event = r.next_event()
    assert type(event).__name__ == "StartTls"
    assert r.take_buffered() == b"b LOGIN fred pass\r\n"
    assert r.next_event() is NEED_DATA


# ----------------------------------------------------------------------------- EOF


def test_receiver_eof_mid_command_is_closed() -> None:
    assert feed([b"a LOGIN {4}\r\nfr"], eof=True)[-1] is CLOSED
    assert feed([b"a NOOP\r\nb NO"], eof=True) == [Noop("a"), CLOSED]


def test_receiver_eof_is_final() -> None:
    r = Receiver()
    r.receive_data(b"")
    assert r.next_event() is CLOSED
    assert r.next_event() is CLOSED
    r.receive_data(b"")
    with pytest.raises(RuntimeError):
        r.receive_data(b"x")


def test_receiver_fetch_with_everything() -> None:
    events = feed([b"a UID FETCH 1:* (FLAGS BODY.PEEK[]) (CHANGEDSINCE 1 VANISHED)\r\n"])
    assert isinstance(events[0], Fetch) and events[0].vanished


# ---------------------------------------------------------------------------- fuzz

_FRAGMENTS = st.sampled_from(
    [
        b"a",
        b" ",
        b"\r\n",
        b"\n",
        b"\r",
        b"{3}",
        b"{3+}",
        b"~{2}",
        b"{0}",
        b"{99999}",
        b"{99999999999999999999+}",
        b"NOOP",
        b"LOGIN",
        b"APPEND",
        b"INBOX",
        b"FETCH",
        b"1:*",
        b"(",
        b")",
        b'"',
        b"\\",
        b"\x00",
        b"\xff",
        b"SEARCH",
        b"UID",
        b"x" * 50,
    ]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_FRAGMENTS, max_size=40), st.integers(min_value=1, max_value=17))
def test_receiver_fuzz_fragments_never_raise_or_hang(parts: list[bytes], step: int) -> None:
    data = b"".join(parts)
    r = Receiver(max_line=200, max_literal=500, max_short_literal=100, max_command=1000)
    for i in range(0, len(data), step):
        r.receive_data(data[i : i + step])
        drain(r)
        assert len(r._cmd) <= 1000
    r.receive_data(b"")
    assert drain(r)[-1] is CLOSED


@settings(max_examples=300)
@given(st.binary(max_size=600), st.integers(min_value=1, max_value=64))
def test_receiver_fuzz_random_bytes_never_raise_or_hang(data: bytes, step: int) -> None:
    r = Receiver(max_line=100, max_literal=300, max_short_literal=50, max_command=400)
    for i in range(0, len(data), step):
        r.receive_data(data[i : i + step])
        for event in drain(r):
            if isinstance(event, CommandError):
                assert event.text.isascii()
    r.receive_data(b"")
    assert drain(r)[-1] is CLOSED
