"""variables (RFC 5229): set and its modifiers, match variables, the string test."""

from __future__ import annotations

import pytest
from sieve_support import names, run

from plugins.sieve import FileInto, Settings
from plugins.sieve.variables import apply_modifiers, expand, truncate_utf8


def stored(source: str, **kwargs: object) -> str:
    """Run ``source`` (which ends with fileinto "${result}") and return the mailbox."""
    outcome = run('require ["fileinto", "variables"];\n' + source, **kwargs)  # type: ignore[arg-type]
    action = outcome.actions[0]
    assert isinstance(action, FileInto), outcome
    return action.mailbox


@pytest.mark.parametrize(
    ("modifiers", "value", "expected"),
    [
        (":lower", "HeLLo", "hello"),
        (":upper", "HeLLo", "HELLO"),
        (":lowerfirst", "HeLLo", "heLLo"),
        (":upperfirst", "heLLo", "HeLLo"),
        (":lower :upperfirst", "vAlUe", "Value"),
        (":upperfirst :lower", "vAlUe", "Value"),
        (":length", "äbc", "3"),
        (":quotewildcard", "a*b?c\\", "a\\*b\\?c\\\\"),
        (":length :quotewildcard", "a*", "3"),
    ],
)
def test_set_modifiers_apply_in_precedence_order(modifiers: str, value: str, expected: str) -> None:
    # RFC 5229 §4.1: higher precedence first (lower/upper 40 ... length 10).
    source = f'set {modifiers} "result" "{value}"; fileinto "${{result}}";'
    assert stored(source.replace("\\", "\\\\")) == expected


def test_encodeurl_modifier() -> None:
    # RFC 5435 §6: percent-encode everything outside the URI unreserved set.
    assert apply_modifiers("a b/é~", {"encodeurl"}) == "a%20b%2F%C3%A9~"
    source = 'require "enotify"; set :encodeurl "r" "a&b"; fileinto "${r}";'
    assert stored(source) == "a%26b"


def test_quoting_modifiers_never_cut_an_escape_at_the_limit() -> None:
    assert apply_modifiers("@" * 10, {"encodeurl"}, limit=8) == "%40%40"
    assert apply_modifiers("*" * 10, {"quotewildcard"}, limit=5) == "\\*\\*"


def test_match_variables_from_matches() -> None:
    # RFC 5229 §3.2: ${0} is the whole match, ${1}.. the wildcards, non-greedy.
    source = (
        'if header :matches "subject" "* *" { set "result" "${2}-${1}-${0}"; }\n'
        'fileinto "${result}";'
    )
    assert stored(source) == "there-Hello-Hello there"


def test_match_variables_survive_failed_matches_and_ignore_out_of_range() -> None:
    source = (
        'if header :matches "subject" "Hello *" { }\n'
        'if header :matches "subject" "nope*" { }\n'
        'fileinto "${1}|${9}|${001}";'
    )
    assert stored(source) == "there||there"


def test_match_variables_from_regex() -> None:
    source = (
        'require "regex";\nif address :regex "from" "^([a-z]+)@(.*)$" { fileinto "${2}/${1}"; }'
    )
    assert stored(source) == "example.org/alice"


def test_string_test_and_count() -> None:
    # RFC 5229 §5: :count counts the non-empty strings.
    source = (
        'require ["relational", "comparator-i;ascii-numeric"];\n'
        'if string :count "eq" :comparator "i;ascii-numeric" ["a", "", "b"] "2" { discard; }'
    )
    assert names(run('require "variables";' + source)) == ["discard"]
    assert names(run('require "variables"; if string "Abc" "abc" { discard; }')) == [
        "implicit-keep"
    ]


def test_unknown_variables_expand_to_nothing_and_references_are_single_pass() -> None:
    source = 'set "company" "ACME"; fileinto "${BAD${Company}|${unknown}|${President, x}";'
    assert stored(source) == "${BADACME||${President, x}"


def test_variable_size_is_limited() -> None:
    # RFC 5229 §6: at least 4000 octets; longer values are truncated.
    source = 'set "a" "' + "x" * 5000 + '"; set :length "n" "${a}"; fileinto "${n}";'
    assert stored(source, settings=Settings(max_variable_size=4000)) == "4000"
    assert truncate_utf8("ééé", 5) == "éé"


def test_expand_refuses_to_grow_past_the_limit() -> None:
    with pytest.raises(ValueError, match="too long"):
        expand("${a}" * 10, lambda namespace, name: "x" * 100, limit=500)
