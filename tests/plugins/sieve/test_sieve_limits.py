"""Safety limits: every one turns into an error outcome, never a hang or a crash."""

from __future__ import annotations

import itertools

import pytest
from sieve_support import ENVELOPE, MESSAGE, compile_error, host, run

from plugins.sieve import Interpreter, Limits, SieveLimitExceeded, compile_script


def limited(source: str, **limits: object) -> str:
    outcome = run(source, limits=Limits(**limits))  # type: ignore[arg-type]
    assert not outcome.ok
    assert isinstance(outcome.error, SieveLimitExceeded)
    return str(outcome.error)


def test_limit_steps() -> None:
    source = 'require "variables";' + 'if true { set "a" "b"; }' * 200
    assert "steps" in limited(source, max_steps=100)


def test_limit_run_time_with_a_fake_clock() -> None:
    ticks = itertools.count(0, 0.5)
    interpreter = Interpreter(limits=Limits(max_run_seconds=2.0))
    script = compile_script('require "variables";' + 'set "a" "b";' * 2000)
    outcome = interpreter.run(script, MESSAGE, ENVELOPE, host(), clock=lambda: next(ticks))
    assert isinstance(outcome.error, SieveLimitExceeded)
    assert "longer than 2.0 seconds" in str(outcome.error)


def test_limit_regex_time() -> None:
    source = (
        'require ["regex", "variables"]; set "s" "'
        + "a" * 30
        + '!";\nif string :regex "${s}" "^(a|aa)+$" { discard; }'
    )
    assert "regular expression took too long" in limited(source, regex_timeout=0.02)


def test_limit_actions_and_redirects() -> None:
    source = 'require "fileinto";' + "".join(f'fileinto "m{i}";' for i in range(10))
    assert "actions exceeds the limit of 5" in limited(source, max_actions=5)
    source = "".join(f'redirect "u{i}@example.com";' for i in range(3))
    assert "more than 2 redirect" in limited(source, max_redirects=2)


def test_limit_include_depth_and_count() -> None:
    chain = {("personal", f"s{i}"): f'require "include"; include "s{i + 1}";' for i in range(20)}
    outcome = run(
        'require "include"; include "s0";',
        static=host(scripts=chain),
        limits=Limits(max_include_depth=3),
    )
    assert isinstance(outcome.error, SieveLimitExceeded) and "include nesting" in str(outcome.error)
    scripts = {("personal", "x"): "keep;"}
    source = 'require "include";' + 'include "x";' * 5
    outcome = run(source, static=host(scripts=scripts), limits=Limits(max_includes=3))
    assert isinstance(outcome.error, SieveLimitExceeded) and "too many included" in str(
        outcome.error
    )


def test_limit_expanded_strings() -> None:
    source = 'require "variables"; set "a" "' + "x" * 4000 + '"; set "b" "' + "${a}" * 50 + '";'
    assert "too long" in limited(source, max_string_size=10_000)


def test_limit_script_size_and_nesting_at_compile_time() -> None:
    assert "over the" in str(compile_error("keep;" * 300_000))
    with pytest.raises(Exception, match="nesting"):
        compile_script("if true {" * 40 + "}" * 40)


def test_limit_huge_glob_work_is_charged() -> None:
    value = "x" * 20000
    source = (
        f'require "variables"; set "v" "{value}"; if string :matches "${{v}}" "*?y*" {{ discard; }}'
    )
    assert "steps" in limited(source, max_steps=500, max_variable_size=50_000)


def test_limit_declared_variables() -> None:
    source = 'require "variables";' + "".join(f'set "v{i}" "x";' for i in range(12))
    with pytest.raises(Exception, match="too many variables declared"):
        compile_script(source, limits=Limits(max_variables=10))
