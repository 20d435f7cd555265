"""CONTEXT=SEARCH/SORT pieces without a server: the RETURN options and CANCELUPDATE
grammar (RFC 5267 §5) and the ADDTO/REMOVEFROM pairs of a sorted context (§4.3.3,
§4.3.4)."""

from __future__ import annotations

import itertools
import random

import pytest

from plugins.imap.proto.commands import CancelUpdate, Search, Sort
from plugins.imap.proto.parser import ParseError, parse_command
from plugins.imap.search_updates import ordered_set, sorted_changes


def test_imap_context_parse_return_options() -> None:
    cmd = parse_command(b"a UID SEARCH RETURN (UPDATE COUNT) DELETED")
    assert isinstance(cmd, Search) and cmd.uid
    assert cmd.returns == ("UPDATE", "COUNT") and cmd.partial is None
    cmd = parse_command(b"a SEARCH RETURN (CONTEXT PARTIAL 500:400) ALL")
    assert isinstance(cmd, Search)
    assert cmd.returns == ("CONTEXT", "PARTIAL") and cmd.partial == (400, 500)
    # UPDATE or CONTEXT alone ask for no result: the same as ALL (RFC 4731 §3.1).
    cmd = parse_command(b"a SORT RETURN (UPDATE) (DATE) UTF-8 ALL")
    assert isinstance(cmd, Sort) and cmd.returns == ("ALL", "UPDATE")
    cmd = parse_command(b"a UID SORT RETURN (partial 1:10 min) (SUBJECT) UTF-8 ALL")
    assert isinstance(cmd, Sort) and cmd.partial == (1, 10) and cmd.returns == ("PARTIAL", "MIN")


@pytest.mark.parametrize(
    "line",
    [
        b"a SEARCH RETURN (PARTIAL 1:5 ALL) ALL",  # RFC 5267 §4.4: one PARTIAL or ALL
        b"a SEARCH RETURN (PARTIAL 1:5 PARTIAL 6:7) ALL",
        b"a SEARCH RETURN (PARTIAL 0:5) ALL",  # nz-number
        b"a SEARCH RETURN (PARTIAL 1:*) ALL",  # no "*" in partial-range
        b"a SEARCH RETURN (PARTIAL) ALL",
        b"a CANCELUPDATE",
        b"a CANCELUPDATE B01",  # quoted only
    ],
)
def test_imap_context_parse_errors(line: bytes) -> None:
    with pytest.raises(ParseError):
        parse_command(line)


def test_imap_context_parse_cancelupdate() -> None:
    assert parse_command(b'a CANCELUPDATE "B01" "B02"') == CancelUpdate("a", ("B01", "B02"))


def _apply(old: list[int], removals: list, additions: list) -> list[int]:
    out = list(old)
    for position, run in removals:
        assert out[position - 1 : position - 1 + len(run)] == run
        del out[position - 1 : position - 1 + len(run)]
    for position, run in additions:
        out[position - 1 : position - 1] = run
    return out


def test_imap_context_sorted_changes_examples() -> None:
    assert sorted_changes([2, 1, 3], [4, 2, 1, 5, 3]) == ([], [(1, [4]), (4, [5])])
    assert sorted_changes([4, 2, 1, 5, 3], [4, 5, 3]) == ([(2, [2, 1])], [])
    assert sorted_changes([1, 2, 3], [1, 2, 3]) == ([], [])
    assert sorted_changes([1, 2], []) == ([(1, [1, 2])], [])


def test_imap_context_sorted_changes_random() -> None:
    rng = random.Random(5267)
    for _ in range(300):
        universe = rng.sample(range(1, 60), rng.randint(0, 30))
        old = [u for u in universe if rng.random() < 0.5]
        new = [u for u in universe if rng.random() < 0.5]
        removals, additions = sorted_changes(old, new)
        assert _apply(old, removals, additions) == new
        # Removal runs are maximal: never two runs at the same position in a row.
        assert all(a[0] != b[0] for a, b in itertools.pairwise(removals))


def test_imap_context_ordered_set() -> None:
    assert str(ordered_set([3, 4, 5, 1, 9, 8])) == "3:5,1,9,8"
    assert str(ordered_set([])) == ""
