"""Comparators (RFC 4790 §9) and match types (RFC 5228 §2.7.1, RFC 5231, regex draft)."""

from __future__ import annotations

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.sieve.comparators import get_comparator
from plugins.sieve.errors import SieveLimitExceeded
from plugins.sieve.matching import MatchSpec, check_regex, glob_match

OCTET = get_comparator("i;octet")
CASEMAP = get_comparator("i;ascii-casemap")
NUMERIC = get_comparator("i;ascii-numeric")


def spend(amount: int) -> None:
    del amount


def test_comparator_default_is_ascii_casemap() -> None:
    # RFC 5228 §2.7.3: "the default comparator is i;ascii-casemap".
    assert get_comparator(None).name == "i;ascii-casemap"


def test_comparator_octet_is_case_sensitive() -> None:
    assert OCTET.equals("Frop", "Frop") and not OCTET.equals("Frop", "frop")
    assert OCTET.contains("xFropx", "Frop") and not OCTET.contains("xfropx", "Frop")
    assert OCTET.compare("B", "a") < 0


def test_comparator_casemap_folds_only_ascii() -> None:
    assert CASEMAP.equals("FrOp", "fRoP")
    assert not CASEMAP.equals("É", "é")
    assert CASEMAP.contains("HELLO there", "hello")
    # RFC 4790 §9.2: ordering compares the upper-cased strings.
    assert CASEMAP.compare("a", "B") < 0
    assert CASEMAP.compare("[", "a") > 0


@pytest.mark.parametrize(
    ("left", "right", "relation"),
    [("2", "10", -1), ("010", "10", 0), ("10abc", "10", 0), ("abc", "99999", 1), ("abc", "x", 0)],
)
def test_comparator_ascii_numeric(left: str, right: str, relation: int) -> None:
    # RFC 4790 §9.1.1: leading digits; strings without them are "positive infinity".
    assert NUMERIC.compare(left, right) == relation
    assert NUMERIC.equals(left, right) == (relation == 0)


@pytest.mark.parametrize(
    ("value", "pattern", "captures"),
    [
        ("frop", "frop", ["frop"]),
        ("frop", "fr?p", ["frop", "o"]),
        ("frop", "*", ["frop", "frop"]),
        ("", "*", ["", ""]),
        ("a.b.c", "*.*", ["a.b.c", "a", "b.c"]),
        (
            "coyote@ACME.Example.COM",
            "coyote@**.COM",
            ["coyote@ACME.Example.COM", "", "ACME.Example"],
        ),
        (
            "[acme-users] [fwd] version 1.0",
            "[*] *",
            ["[acme-users] [fwd] version 1.0", "acme-users", "[fwd] version 1.0"],
        ),
        ("a*b", "a\\*b", ["a*b"]),
        ("a?b", "a\\?b", ["a?b"]),
        ("a\\b", "a\\\\b", ["a\\b"]),
        ("abcabc", "*c?b*", ["abcabc", "ab", "a", "c"]),
    ],
)
def test_matches_wildcards_and_non_greedy_captures(
    value: str, pattern: str, captures: list[str]
) -> None:
    # RFC 5229 §3.2: "The wildcards match as little as possible (non-greedy matching)."
    assert glob_match(value, pattern, OCTET) == captures


@pytest.mark.parametrize(
    ("value", "pattern"), [("frop", "fr?"), ("frop", "x*"), ("a*b", "a\\*c"), ("ab", "a?b")]
)
def test_matches_misses(value: str, pattern: str) -> None:
    assert glob_match(value, pattern, OCTET) is None


def test_matches_casemap_keeps_original_case_in_captures() -> None:
    assert glob_match("Hello WORLD", "hello *", CASEMAP) == ["Hello WORLD", "WORLD"]


def _reference(value: str, pattern: str) -> bool:
    out = []
    escaped = False
    for char in pattern:
        if escaped:
            out.append(regex.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "*":
            out.append(".*?")
        elif char == "?":
            out.append(".")
        else:
            out.append(regex.escape(char))
    if escaped:  # a trailing backslash stands for itself
        out.append(regex.escape("\\"))
    return regex.fullmatch("".join(out), value, flags=regex.S, timeout=5) is not None


@settings(max_examples=400, deadline=None)
@given(st.text("ab*?\\", max_size=8), st.text("ab*?\\", max_size=10))
def test_matches_agrees_with_a_reference_matcher(pattern: str, value: str) -> None:
    assert (glob_match(value, pattern, OCTET) is not None) == _reference(value, pattern)


def test_match_spec_is_contains_and_first_success_wins() -> None:
    spec = MatchSpec("matches", None, OCTET)
    assert spec.match(["one", "two"], ["x*", "t*"], spend) == (True, ["two", "wo"])
    assert MatchSpec("is", None, CASEMAP).match(["A"], ["a"], spend) == (True, None)
    assert MatchSpec("contains", None, OCTET).match(["abc"], [""], spend) == (True, None)
    assert MatchSpec("is", None, OCTET).match([], [""], spend) == (False, None)


@pytest.mark.parametrize(
    ("relation", "values", "key", "expected"),
    [
        ("eq", ["a", "b"], "2", True),
        ("gt", ["a"], "1", False),
        ("ge", [], "0", True),
        ("ne", ["a"], "1", False),
    ],
)
def test_relational_count(relation: str, values: list[str], key: str, expected: bool) -> None:
    # RFC 5231 §4.1: ":count" compares the number of values with the key.
    spec = MatchSpec("count", relation, NUMERIC)
    assert spec.match(values, [key], spend)[0] is expected


@pytest.mark.parametrize(
    ("relation", "value", "key", "expected"),
    [
        ("gt", "10", "9", True),
        ("lt", "10", "9", False),
        ("le", "b", "B", True),
        ("ne", "a", "b", True),
    ],
)
def test_relational_value(relation: str, value: str, key: str, expected: bool) -> None:
    comparator = NUMERIC if value.isdigit() else CASEMAP
    assert MatchSpec("value", relation, comparator).match([value], [key], spend)[0] is expected


def test_regex_match_captures_and_case_folding() -> None:
    spec = MatchSpec("regex", None, CASEMAP)
    assert spec.match(["Subject: Hello World"], ["hello (w[a-z]+)"], spend) == (
        True,
        ["Hello World", "World"],
    )
    assert MatchSpec("regex", None, OCTET).match(["Hello"], ["^hello"], spend) == (False, None)


def test_regex_invalid_at_run_time_does_not_match_and_is_logged() -> None:
    logged: list[str] = []
    spec = MatchSpec("regex", None, OCTET, log=logged.append)
    assert spec.match(["["], ["["], spend) == (False, None)
    assert logged and "invalid regular expression" in logged[0]
    assert check_regex("(") is not None and check_regex("[[:alpha:]]+") is None


def test_regex_timeout_is_a_limit_error() -> None:
    spec = MatchSpec("regex", None, OCTET, timeout=0.05)
    with pytest.raises(SieveLimitExceeded, match="regular expression took too long"):
        spec.match(["a" * 40 + "!"], ["^(a|aa)+$"], spend)


def test_glob_slow_path_is_charged() -> None:
    charged: list[int] = []
    glob_match("x" * 5000 + "ab", "*a?*", OCTET, charged.append)
    assert sum(charged) > 0
