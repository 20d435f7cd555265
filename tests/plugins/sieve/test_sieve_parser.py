"""The Sieve parser (RFC 5228 §8.2): structure, errors with positions, and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.sieve.compiler import compile_script
from plugins.sieve.errors import SieveCompileError, SieveSyntaxError
from plugins.sieve.parser import (
    CommandNode,
    NumberArg,
    StringArg,
    StringListArg,
    TagArg,
    parse,
)


def test_parser_builds_commands_tests_and_blocks() -> None:
    (command,) = parse('if anyof (header :is "x" "y", not exists ["a"]) { keep; } ')
    assert command.name == "if"
    (test,) = command.tests
    assert test.name == "anyof" and test.test_list
    header, negation = test.tests
    assert header.arguments == (
        TagArg("is", 1, 18),
        StringArg("x", 1, 22),
        StringArg("y", 1, 26),
    )
    assert negation.tests[0].arguments == (StringListArg(("a",), 1, 42),)
    assert command.block == (CommandNode("keep", (), (), False, None, 1, 51),)


def test_parser_single_string_and_one_element_list_differ() -> None:
    (command,) = parse('x "a" ["a"] 5;')
    assert isinstance(command.arguments[0], StringArg)
    assert isinstance(command.arguments[1], StringListArg)
    assert isinstance(command.arguments[2], NumberArg)


@pytest.mark.parametrize(
    ("script", "line", "column", "expected"),
    [
        ("keep", 1, 5, "expected ';' or '{'"),
        ("keep;\nif true { stop; ", 2, 17, "expected a command or '}'"),
        ('if header ["a", ] "b" {}', 1, 17, "expected a string"),
        ('if header ["a" "b"] "c" {}', 1, 16, "expected ',' or ']'"),
        ("if anyof (true, ) {}", 1, 17, "expected a test"),
        ("if anyof (true; false) {}", 1, 15, "expected ',' or ')'"),
        ("keep; }", 1, 7, "expected a command"),
        ('"string";', 1, 1, "expected a command"),
    ],
)
def test_parser_errors_have_positions(script: str, line: int, column: int, expected: str) -> None:
    with pytest.raises(SieveSyntaxError) as caught:
        parse(script)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert expected in str(caught.value)


def test_parser_nesting_is_limited() -> None:
    deep = "if true {" * 40 + "}" * 40
    with pytest.raises(SieveSyntaxError, match="nesting deeper than 32"):
        parse(deep, max_nesting=32)
    tests = "if " + "not " * 40 + "true {}"
    with pytest.raises(SieveSyntaxError, match="nesting"):
        parse(tests, max_nesting=32)


def test_parser_accepts_bytes_with_invalid_utf8() -> None:
    (command,) = parse(b'fileinto "\xff";')
    argument = command.arguments[0]
    assert isinstance(argument, StringArg)
    assert argument.value.encode("utf-8", "surrogateescape") == b"\xff"


_TOKENS = st.sampled_from(
    [
        "if",
        "elsif",
        "else",
        "require",
        "keep",
        "stop",
        "header",
        "address",
        "not",
        "anyof",
        "allof",
        "true",
        "false",
        ":is",
        ":matches",
        ":count",
        '"ge"',
        '"a*"',
        '"fileinto"',
        "[",
        "]",
        "(",
        ")",
        "{",
        "}",
        ";",
        ",",
        "1K",
        "text:\nx\n.\n",
        "#c\n",
        "/* */",
        " ",
        "\n",
        '"${hex:40}"',
        "fileinto",
        "set",
        '"v"',
        "${",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_parser_random_bytes_never_crash(data: bytes) -> None:
    try:
        compile_script(data)
    except SieveCompileError as error:
        assert error.line >= 1 and error.column >= 1


@settings(max_examples=300, deadline=None)
@given(st.lists(_TOKENS, max_size=60).map(" ".join))
def test_parser_random_token_soup_never_crashes(script: str) -> None:
    try:
        compile_script('require ["fileinto", "variables", "relational"];\n' + script)
    except SieveCompileError as error:
        assert error.diagnostics
