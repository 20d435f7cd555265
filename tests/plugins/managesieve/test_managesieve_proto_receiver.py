"""The framing layer: atoms, numbers, quoted strings, {n+} and {n} literals, limits.

Every well-formed input is fed three ways (all at once, byte by byte, split at
every point) and must give the same events (STYLE.md §1.10).
"""

from __future__ import annotations

import pytest

from plugins.managesieve.proto.receiver import (
    MAX_TOKENS,
    NEED_DATA,
    Atom,
    CommandReceiver,
    Continue,
    Line,
    Malformed,
    Number,
    String,
)


def receiver(**limits: int) -> CommandReceiver:
    options = {"max_line": 1024, "max_literal": 100, "max_discard": 1000}
    options.update(limits)
    return CommandReceiver(**options)


def drain(r: CommandReceiver) -> list[object]:
    out = []
    while (event := r.next_event()) is not NEED_DATA:
        out.append(event)
    return out


def feed_in_chunks(data: bytes, chunks: list[bytes], **limits: int) -> list[object]:
    r = receiver(**limits)
    events: list[object] = []
    for chunk in chunks:
        r.receive_data(chunk)
        events += drain(r)
    assert b"".join(chunks) == data
    return events


def three_ways(data: bytes, **limits: int) -> list[object]:
    whole = feed_in_chunks(data, [data], **limits)
    assert feed_in_chunks(data, [data[i : i + 1] for i in range(len(data))], **limits) == whole
    for cut in range(1, len(data)):
        assert feed_in_chunks(data, [data[:cut], data[cut:]], **limits) == whole, cut
    return whole


def test_receiver_atoms_numbers_and_quoted_strings() -> None:
    events = three_ways(b'HAVESPACE "my \\"script\\" \\\\ x" 4096\r\nlogout\r\n')
    assert events == [
        Line((Atom("HAVESPACE"), String(b'my "script" \\ x'), Number(4096))),
        Line((Atom("logout"),)),
    ]


def test_receiver_non_synchronising_literal_spans_lines() -> None:
    script = b'keep;\r\n# a comment with "quotes" and {3+}\r\n'
    data = b'PUTSCRIPT "a" {%d+}\r\n' % len(script) + script + b"\r\nNOOP\r\n"
    assert three_ways(data) == [
        Line((Atom("PUTSCRIPT"), String(b"a"), String(script))),
        Line((Atom("NOOP"),)),
    ]


def test_receiver_two_literals_in_one_command() -> None:
    data = b"RENAMESCRIPT {3+}\r\nold {3+}\r\nnew\r\n"
    assert three_ways(data) == [Line((Atom("RENAMESCRIPT"), String(b"old"), String(b"new")))]


def test_receiver_synchronising_literal_asks_for_continuation() -> None:
    r = receiver()
    r.receive_data(b'PUTSCRIPT "a" {5}\r\n')
    assert r.next_event() == Continue(5)
    assert r.next_event() is NEED_DATA
    r.receive_data(b"keep;\r\n")
    assert r.next_event() == Line((Atom("PUTSCRIPT"), String(b"a"), String(b"keep;")))


def test_receiver_empty_literal_and_empty_quoted() -> None:
    assert three_ways(b'SETACTIVE ""\r\nAUTHENTICATE "PLAIN" {0+}\r\n\r\n') == [
        Line((Atom("SETACTIVE"), String(b""))),
        Line((Atom("AUTHENTICATE"), String(b"PLAIN"), String(b""))),
    ]


def test_receiver_bare_lf_ends_a_line() -> None:
    assert three_ways(b"CAPABILITY\nNOOP\n") == [
        Line((Atom("CAPABILITY"),)),
        Line((Atom("NOOP"),)),
    ]


@pytest.mark.parametrize(
    "line",
    [
        b'NOOP "unterminated\r\n',
        b'NOOP "bad \\n escape"\r\n',
        b"NOOP (paren)\r\n",
        b'NOOP "a""b"\r\n',
        b"NOOP 99999999999\r\n",
        b'NOOP "\xff\xfe"\r\n',
        b"NOOP a\rb\r\n",
        b"NOOP " + b"x" * 1025 + b"\r\n",
        b"NOOP" + b" a" * (MAX_TOKENS + 1) + b"\r\n",
    ],
)
def test_receiver_syntax_errors_are_refused_and_the_stream_goes_on(line: bytes) -> None:
    events = three_ways(line + b"NOOP\r\n", max_line=4096)
    assert len(events) == 2
    assert isinstance(events[0], Malformed) and not events[0].close
    assert events[1] == Line((Atom("NOOP"),))


def test_receiver_syntax_error_still_consumes_the_literal() -> None:
    data = b'PUTSCRIPT "x\\q" {9+}\r\nNOOP\r\nxx\r\nNOOP\r\n'
    events = three_ways(data)
    assert isinstance(events[0], Malformed)
    assert events[1:] == [Line((Atom("NOOP"),))]


def test_receiver_long_line_closes() -> None:
    r = receiver(max_line=64)
    r.receive_data(b"NOOP " + b"a" * 100)
    event = r.next_event()
    assert isinstance(event, Malformed) and event.close
    assert r.buffered == 0


def test_receiver_long_line_split_over_literals_closes() -> None:
    r = receiver(max_line=64)
    r.receive_data((b"NOOP {1+}\r\nx " * 10) + b"\r\n")
    events = drain(r)
    assert isinstance(events[0], Malformed) and events[0].close


def test_receiver_oversized_synchronising_literal_is_refused_at_once() -> None:
    r = receiver()
    r.receive_data(b'PUTSCRIPT "a" {101}\r\nNOOP\r\n')
    event = r.next_event()
    assert event == Malformed("literal too large", too_large=True, first_atom="PUTSCRIPT")
    assert r.next_event() == Line((Atom("NOOP"),))


def test_receiver_oversized_literal_is_discarded() -> None:
    data = b'PUTSCRIPT "a" {150+}\r\n' + b"x" * 150 + b"\r\nNOOP\r\n"
    events = three_ways(data)
    assert events == [
        Malformed("literal too large", too_large=True, first_atom="PUTSCRIPT"),
        Line((Atom("NOOP"),)),
    ]


def test_receiver_huge_literal_closes_without_reading_it() -> None:
    r = receiver()
    r.receive_data(b'PUTSCRIPT "a" {4294967295+}\r\n')
    event = r.next_event()
    assert isinstance(event, Malformed) and event.close and event.too_large


def test_receiver_literal_size_out_of_range_closes() -> None:
    r = receiver()
    r.receive_data(b"NOOP {99999999999999+}\r\n")
    event = r.next_event()
    assert isinstance(event, Malformed) and event.close


def test_receiver_drop_buffer_forgets_a_partial_command() -> None:
    r = receiver()
    r.receive_data(b'PUTSCRIPT "a" {10+}\r\nkee')
    assert r.next_event() is NEED_DATA
    assert r.drop_buffer() == 0  # the 3 octets were consumed into the literal
    r.receive_data(b"NOOP\r\n")
    assert r.next_event() == Line((Atom("NOOP"),))
