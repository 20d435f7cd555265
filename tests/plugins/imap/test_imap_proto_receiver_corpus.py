"""Every command of the parser tests, framed by the receiver and fed three ways.

STYLE.md §1.10: all at once, byte by byte, and split at every point; the result must be
the same command each time (continuation requests aside).
"""

from __future__ import annotations

import pytest
from test_imap_proto_parser_commands import VALID
from test_imap_proto_parser_fetch import ITEMS
from test_imap_proto_parser_search import KEYS
from test_imap_proto_receiver import feed, split_ways, without_continuations

from plugins.imap.proto.commands import Command, Fetch, Search
from plugins.imap.proto.parser import parse_command
from plugins.imap.proto.receiver import Receiver

CORPUS: list[bytes] = (
    [wire for wire, _ in VALID]
    + [b"t SEARCH " + text.encode() for text, _ in KEYS]
    + [b"t UID FETCH 1:* (" + text.encode() + b") (CHANGEDSINCE 5)" for text, _ in ITEMS]
)


@pytest.mark.parametrize("wire", CORPUS, ids=[w[:40].decode("latin-1") for w in CORPUS])
def test_receiver_corpus_three_ways(wire: bytes) -> None:
    expected: Command = parse_command(wire)
    data = wire + b"\r\n"
    for chunks in split_ways(data):
        assert without_continuations(feed(chunks, Receiver())) == [expected], chunks


def test_receiver_corpus_is_pipelined_in_one_read() -> None:
    data = b"".join(wire + b"\r\n" for wire in CORPUS)
    events = without_continuations(feed([data], Receiver()))
    assert events == [parse_command(wire) for wire in CORPUS]
    assert any(isinstance(e, Search) for e in events)
    assert any(isinstance(e, Fetch) for e in events)
