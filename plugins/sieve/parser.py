"""The Sieve parser (RFC 5228 §8.2): tokens to a syntax tree of commands and tests.

Implementation notes:

- Recursive descent over :func:`plugins.sieve.lexer.tokenize`; nesting of blocks and of
  tests is bounded by ``max_nesting`` so a hostile script cannot exhaust the stack.
- The tree is purely syntactic: which commands, tests and tags exist is checked later by
  the compiler (:mod:`plugins.sieve.compiler`) against the required extensions.
- A single string and a one-element string list are different nodes (``"a"`` versus
  ``["a"]``): some positions accept only a string (RFC 5228 §2.4.2: "a string list
  with only a single string ... may be written without brackets", not the other way).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

from plugins.sieve.errors import SieveSyntaxError
from plugins.sieve.lexer import Token, TokenKind, decode_script, tokenize

__all__ = [
    "Argument",
    "CommandNode",
    "NumberArg",
    "StringArg",
    "StringListArg",
    "TagArg",
    "TestNode",
    "parse",
]

DEFAULT_MAX_NESTING = 64


@final
@dataclass(frozen=True, slots=True)
class StringArg:
    """A quoted or multi-line string."""

    value: str
    line: int
    column: int
    multiline: bool = False


@final
@dataclass(frozen=True, slots=True)
class StringListArg:
    """A bracketed string list ``["a", "b"]``."""

    values: tuple[str, ...]
    line: int
    column: int


@final
@dataclass(frozen=True, slots=True)
class NumberArg:
    """A number, quantifier applied."""

    value: int
    line: int
    column: int


@final
@dataclass(frozen=True, slots=True)
class TagArg:
    """A tagged argument, lowercased, without the colon."""

    name: str
    line: int
    column: int


Argument = StringArg | StringListArg | NumberArg | TagArg


@final
@dataclass(frozen=True, slots=True)
class TestNode:
    """``test = identifier arguments``; ``test_list`` says whether tests were in ``()``."""

    name: str
    arguments: tuple[Argument, ...]
    tests: tuple[TestNode, ...]
    test_list: bool
    line: int
    column: int


@final
@dataclass(frozen=True, slots=True)
class CommandNode:
    """``command = identifier arguments (";" / block)``; ``block`` is None after ``;``."""

    name: str
    arguments: tuple[Argument, ...]
    tests: tuple[TestNode, ...]
    test_list: bool
    block: tuple[CommandNode, ...] | None
    line: int
    column: int


@final
class _Parser:
    """One parse: a token cursor and the nesting depth."""

    def __init__(self, text: str, max_nesting: int) -> None:
        self._tokens = tokenize(text)
        self._token = next(self._tokens)
        self._max_nesting = max_nesting

    def _advance(self) -> Token:
        token = self._token
        if token.kind is not TokenKind.END:
            self._token = next(self._tokens)
        return token

    def _is(self, special: str) -> bool:
        return self._token.kind is TokenKind.SPECIAL and self._token.value == special

    def _fail(self, expected: str) -> SieveSyntaxError:
        token = self._token
        found = token.kind.value if token.kind is not TokenKind.SPECIAL else repr(token.value)
        if token.kind in (TokenKind.IDENTIFIER, TokenKind.TAG):
            found = f"{token.kind.value} {token.value!r}"
        return SieveSyntaxError(f"expected {expected}, found {found}", token.line, token.column)

    def _check_depth(self, depth: int) -> None:
        if depth > self._max_nesting:
            token = self._token
            raise SieveSyntaxError(
                f"nesting deeper than {self._max_nesting} levels", token.line, token.column
            )

    # RFC 5228 §8.2:  commands = *command;  start = commands
    def commands(self, depth: int) -> tuple[CommandNode, ...]:
        result: list[CommandNode] = []
        while self._token.kind is TokenKind.IDENTIFIER:
            result.append(self.command(depth))
        return tuple(result)

    def script(self) -> tuple[CommandNode, ...]:
        result = self.commands(0)
        if self._token.kind is not TokenKind.END:
            raise self._fail("a command")
        return result

    # RFC 5228 §8.2:  command = identifier arguments (";" / block)
    #                 block   = "{" commands "}"
    def command(self, depth: int) -> CommandNode:
        name = self._advance()
        arguments, tests, test_list = self.arguments(depth)
        block: tuple[CommandNode, ...] | None = None
        if self._is(";"):
            self._advance()
        elif self._is("{"):
            self._check_depth(depth + 1)
            self._advance()
            block = self.commands(depth + 1)
            if not self._is("}"):
                raise self._fail("a command or '}'")
            self._advance()
        else:
            raise self._fail("';' or '{'")
        return CommandNode(
            str(name.value), arguments, tests, test_list, block, name.line, name.column
        )

    # RFC 5228 §8.2:  arguments = *argument [ test / test-list ]
    #                 argument  = string-list / number / tag
    #                 test-list = "(" test *("," test) ")"
    def arguments(self, depth: int) -> tuple[tuple[Argument, ...], tuple[TestNode, ...], bool]:
        arguments: list[Argument] = []
        while True:
            token = self._token
            if token.kind in (TokenKind.STRING, TokenKind.MULTILINE):
                self._advance()
                arguments.append(
                    StringArg(
                        str(token.value),
                        token.line,
                        token.column,
                        token.kind is TokenKind.MULTILINE,
                    )
                )
            elif token.kind is TokenKind.NUMBER:
                self._advance()
                arguments.append(NumberArg(int(token.value), token.line, token.column))
            elif token.kind is TokenKind.TAG:
                self._advance()
                arguments.append(TagArg(str(token.value), token.line, token.column))
            elif self._is("["):
                arguments.append(self.string_list())
            else:
                break
        if self._token.kind is TokenKind.IDENTIFIER:
            self._check_depth(depth + 1)
            return tuple(arguments), (self.test(depth + 1),), False
        if self._is("("):
            self._check_depth(depth + 1)
            self._advance()
            tests = [self.test(depth + 1)]
            while self._is(","):
                self._advance()
                tests.append(self.test(depth + 1))
            if not self._is(")"):
                raise self._fail("',' or ')'")
            self._advance()
            return tuple(arguments), tuple(tests), True
        return tuple(arguments), (), False

    # RFC 5228 §8.2:  test = identifier arguments
    def test(self, depth: int) -> TestNode:
        if self._token.kind is not TokenKind.IDENTIFIER:
            raise self._fail("a test")
        name = self._advance()
        arguments, tests, test_list = self.arguments(depth)
        return TestNode(str(name.value), arguments, tests, test_list, name.line, name.column)

    # RFC 5228 §8.2:  string-list = "[" string *("," string) "]" / string
    def string_list(self) -> StringListArg:
        start = self._advance()
        values: list[str] = []
        while True:
            token = self._token
            if token.kind not in (TokenKind.STRING, TokenKind.MULTILINE):
                raise self._fail("a string")
            values.append(str(self._advance().value))
            if self._is("]"):
                self._advance()
                return StringListArg(tuple(values), start.line, start.column)
            if not self._is(","):
                raise self._fail("',' or ']'")
            self._advance()


def parse(
    script: str | bytes, *, max_nesting: int = DEFAULT_MAX_NESTING
) -> tuple[CommandNode, ...]:
    """Parse a whole script into its top-level commands.

    Args:
        script: the script, as text or as UTF-8 bytes.
        max_nesting: deepest allowed nesting of blocks and tests.

    Returns:
        The top-level commands in order.

    Raises:
        SieveSyntaxError: the first lexical or grammatical error, with its position.
    """
    return _Parser(decode_script(script), max_nesting).script()
