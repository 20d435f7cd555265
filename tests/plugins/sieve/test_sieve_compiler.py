"""The Sieve compiler: validation against the registry, positions, and the JSON form."""

from __future__ import annotations

import json

import pytest
from sieve_support import ENVELOPE, MESSAGE, compile_error, run

from plugins.sieve import CompiledScript, Interpreter, StaticHost, compile_script
from plugins.sieve.errors import SieveCompileError
from plugins.sieve.limits import Limits


def first(source: str) -> tuple[int, int, str]:
    error = compile_error(source)
    diagnostic = error.diagnostics[0]
    return diagnostic.line, diagnostic.column, diagnostic.message


@pytest.mark.parametrize(
    ("source", "line", "column", "fragment"),
    [
        ('fileinto "x";', 1, 1, 'requires the "fileinto" extension'),
        ('require "fileinto";\nkeep;\nrequire "copy";', 3, 1, "require must come before"),
        ('require "frobnicate";', 1, 9, "unsupported extension 'frobnicate'"),
        ('require ["redirect"];', 1, 9, "unsupported extension 'redirect'"),
        ("frobnicate;", 1, 1, "unknown command 'frobnicate'"),
        ("if frobnicate { keep; }", 1, 4, "unknown test 'frobnicate'"),
        ("if keep { stop; }", 1, 4, "cannot use command 'keep' as a test"),
        ("true;", 1, 1, "cannot use test 'true' as a command"),
        ('if header :frop "a" "b" {}', 1, 11, "unknown tagged argument ':frop'"),
        ('if header :is :contains "a" "b" {}', 1, 15, "':contains' conflicts with ':is'"),
        ('if header "a" {}', 1, 4, "requires 2 positional argument(s), but 1"),
        ('if header "a" "b" :is {}', 1, 19, "must come before the positional"),
        ("if size 100 {}", 1, 4, "exactly one of ':over' or ':under'"),
        ('if size :over "big" {}', 1, 15, "expects a number, found string"),
        ("redirect 5;", 1, 10, "expects a string, found number"),
        ('redirect ["a@b.c"];', 1, 10, "expects a string, found string list"),
        ('redirect "not an address";', 1, 1, "redirect address 'not an address' is invalid"),
        ("elsif true { }", 1, 1, "'elsif' must follow 'if' or 'elsif'"),
        ("if true { } stop; else { }", 1, 19, "'else' must follow"),
        ("if true;", 1, 1, "requires a block"),
        ("keep { stop; }", 1, 1, "does not take a block"),
        ('if true { require "fileinto"; }', 1, 11, "require must come before"),
        ('if header :count "gt" "a" "1" {}', 1, 11, 'requires the "relational" extension'),
        ('if header :comparator "i;frob" "a" "b" {}', 1, 4, "unknown comparator"),
        ('if header :comparator "i;ascii-numeric" "a" "b" {}', 1, 4, "comparator-i;ascii-numeric"),
        ("if not (true) {}", 1, 4, "requires one test"),
        ("if anyof true {}", 1, 4, "requires a test list"),
        ("if true true {}", 1, 4, "accepts no sub-tests"),
    ],
)
def test_compiler_errors_have_positions(source: str, line: int, column: int, fragment: str) -> None:
    got_line, got_column, message = first(source)
    assert fragment in message
    assert (got_line, got_column) == (line, column)


def test_compiler_reports_every_problem() -> None:
    error = compile_error("frob;\nfrab;\nif nothing {}")
    assert [(d.line, d.column) for d in error.diagnostics] == [(1, 1), (2, 1), (3, 4)]
    assert str(error).startswith("line 1, column 1:")


def test_compiler_rejects_oversized_scripts() -> None:
    with pytest.raises(SieveCompileError, match="over the 100 limit"):
        compile_script("keep;" * 30, limits=Limits(max_script_size=100))


def test_compiler_checks_relational_operator_and_numeric_substring() -> None:
    base = 'require ["relational", "comparator-i;ascii-numeric"];\n'
    assert "invalid relational operator 'xx'" in first(base + 'if header :count "xx" "a" "1" {}')[2]
    message = first(base + 'if header :contains :comparator "i;ascii-numeric" "a" "1" {}')[2]
    assert "cannot be used with ':contains'" in message


def test_compiler_checks_constant_regex() -> None:
    line, column, message = first('require "regex";\nif header :regex "a" "(" {}')
    assert (line, column) == (2, 4)
    assert "invalid regular expression" in message


def test_compiler_encoded_character_decodes_and_rejects_bad_code_points() -> None:
    script = compile_script('require ["encoded-character", "fileinto"]; fileinto "${hex:41 42}";')
    assert script.commands[0].args == ("AB",)
    line, _column, message = first(
        'require ["encoded-character", "fileinto"];\nfileinto "${unicode:D800}";'
    )
    assert line == 2 and "invalid Unicode character" in message


def test_compiler_variables_namespace_checks() -> None:
    base = 'require ["variables", "fileinto"];\n'
    assert "unknown variable namespace" in first(base + 'fileinto "${frop.x}";')[2]
    assert "match variable index 33 is too large" in first(base + 'fileinto "${33}";')[2]
    assert "cannot assign to match variable" in first(base + 'set "1" "x";')[2]
    assert "invalid variable name" in first(base + 'set "a-b" "x";')[2]
    compile_script(base + 'set "a" "${32}"; set :lower :upperfirst "b" "${a}";')


def test_compiler_ihave_enables_and_skips_blocks() -> None:
    # RFC 5463 §4: the block is validated with the extension enabled when it exists ...
    compile_script('require "ihave"; if ihave "fileinto" { fileinto "x"; }')
    # ... and not validated at all when it does not.
    compile_script('require "ihave"; if ihave "frobnicate" { frobnicate 1 2 3; }')
    assert "requires the" in first('require "ihave"; if true { fileinto "x"; }')[2]


def test_compiler_extension_conflicts_and_dependencies() -> None:
    assert "conflicts" in first('require ["imapflags", "imap4flags"]; keep;')[2]
    assert "conflicts" in first('require ["notify", "enotify"]; keep;')[2]
    assert "requires 'foreverypart'" in first('require ["extracttext", "variables"]; keep;')[2]


def test_compiler_dead_if_false_block_is_not_validated() -> None:
    script = compile_script("if false { frobnicate; } keep;")
    assert script.commands[0].block == ()


def test_compiled_form_round_trips_through_json() -> None:
    source = (
        'require ["fileinto", "variables", "relational", "imap4flags", "copy"];\n'
        'if header :matches "subject" "Hello *" { set "rest" "${1}"; }\n'
        'if address :count "ge" "to" "2" { fileinto :copy :flags ["\\\\Seen"] "Lists"; }\n'
        "elsif true { keep; } else { discard; }\n"
    )
    script = compile_script(source, name="test")
    text = json.dumps(script.to_json())
    restored = CompiledScript.from_json(json.loads(text))
    assert restored == script
    interpreter = Interpreter()
    assert interpreter.run(restored, MESSAGE, ENVELOPE, StaticHost()) == interpreter.run(
        script, MESSAGE, ENVELOPE, StaticHost()
    )


def test_compiled_form_rejects_other_versions() -> None:
    data = compile_script("keep;").to_json()
    data["version"] = 999
    with pytest.raises(ValueError, match="not supported"):
        CompiledScript.from_json(data)


def test_compiler_include_tree_checked_with_resolver() -> None:
    scripts = {
        "a": 'require "include"; include "b";',
        "b": 'require "include"; include "a";',
        "broken": "frob;",
    }

    def resolver(name: str, location: str) -> str | None:
        return scripts.get(name)

    with pytest.raises(SieveCompileError, match="circular include"):
        compile_script('require "include"; include "a";', resolver=resolver)
    with pytest.raises(SieveCompileError, match="does not exist"):
        compile_script('require "include"; include "missing";', resolver=resolver)
    compile_script('require "include"; include :optional "missing";', resolver=resolver)
    with pytest.raises(SieveCompileError, match="failed to compile included script 'broken'"):
        compile_script('require "include"; include "broken";', resolver=resolver)
    assert "invalid script name" in first('require "include"; include "../x";')[2]


def test_compiler_unknown_capabilities_in_testsuite_are_not_offered() -> None:
    assert "unsupported extension" in first('require "vnd.dovecot.testsuite";')[2]


def test_compiler_accepts_a_realistic_script() -> None:
    outcome = run(
        'require ["fileinto", "envelope", "subaddress", "variables"];\n'
        'if envelope :detail "to" "lists" { fileinto "Lists"; stop; }\n'
        "keep;\n"
    )
    assert outcome.ok
