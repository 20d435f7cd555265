"""The Sieve lexer (RFC 5228 §8.1): tokens, strings, numbers, comments, positions."""

from __future__ import annotations

import pytest

from plugins.sieve.errors import SieveSyntaxError
from plugins.sieve.lexer import MAX_NUMBER, TokenKind, tokenize


def kinds_and_values(text: str) -> list[tuple[TokenKind, object]]:
    return [(t.kind, t.value) for t in tokenize(text)]


def test_lexer_tokens_of_a_command() -> None:
    tokens = kinds_and_values('if header :Contains ["From", "to"] "x" { Keep; }')
    assert tokens == [
        (TokenKind.IDENTIFIER, "if"),
        (TokenKind.IDENTIFIER, "header"),
        (TokenKind.TAG, "contains"),
        (TokenKind.SPECIAL, "["),
        (TokenKind.STRING, "From"),
        (TokenKind.SPECIAL, ","),
        (TokenKind.STRING, "to"),
        (TokenKind.SPECIAL, "]"),
        (TokenKind.STRING, "x"),
        (TokenKind.SPECIAL, "{"),
        (TokenKind.IDENTIFIER, "keep"),
        (TokenKind.SPECIAL, ";"),
        (TokenKind.SPECIAL, "}"),
        (TokenKind.END, ""),
    ]


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", 0), ("100", 100), ("1K", 1024), ("2k", 2048), ("3M", 3 * 2**20), ("1G", 2**30)],
)
def test_lexer_numbers_with_quantifiers(text: str, value: int) -> None:
    # RFC 5228 §2.4.1: K, M and G multiply by 2^10, 2^20 and 2^30.
    assert kinds_and_values(text)[0] == (TokenKind.NUMBER, value)


def test_lexer_number_too_large_is_an_error_with_position() -> None:
    with pytest.raises(SieveSyntaxError) as caught:
        list(tokenize(f"stop;\n  size :over {MAX_NUMBER + 1};"))
    assert (caught.value.line, caught.value.column) == (2, 14)


def test_lexer_quoted_string_escapes() -> None:
    # RFC 5228 §2.4.2: \" and \\ are escapes; any other \x stands for x.
    token = next(tokenize(r'"a\"b\\c\d"'))
    assert token.value == 'a"b\\cd'


def test_lexer_multiline_string_dot_stuffing_and_crlf() -> None:
    text = "text: # comment\nLine 1\n..Line 2\n.Line 3\n.\n;"
    token = next(tokenize(text))
    assert token.kind is TokenKind.MULTILINE
    # A leading ".." loses one dot; a single leading dot stays; lines end in CRLF.
    assert token.value == "Line 1\r\n.Line 2\r\n.Line 3\r\n"


def test_lexer_multiline_string_ends_at_lone_dot_with_crlf() -> None:
    token = next(tokenize("text:\r\nabc\r\n.\r\n;"))
    assert token.value == "abc\r\n"


def test_lexer_comments_are_white_space() -> None:
    text = "# hash comment\n/* bracket\n * comment **/ keep; /**/stop;"
    assert [t.value for t in tokenize(text)] == ["keep", ";", "stop", ";", ""]


def test_lexer_positions_count_lines_and_columns() -> None:
    tokens = list(tokenize('keep;\n\n   "multi\nline" stop;'))
    assert [(t.line, t.column) for t in tokens] == [
        (1, 1),
        (1, 5),
        (3, 4),
        (4, 7),
        (4, 11),
        (4, 12),
    ]


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ('keep;\n  "open', 2, 3, "unterminated quoted string"),
        ("keep; /* never closed", 1, 7, "unterminated bracket comment"),
        ("text:\nno end\n", 1, 1, "unterminated multi-line string"),
        ("keep; $", 1, 7, "unexpected character"),
        ("keep\r;", 1, 5, "CR not followed by LF"),
        ("keep; : stop;", 1, 7, "expected an identifier after ':'"),
        ("ke\0ep;", 1, 3, "NUL character"),
    ],
)
def test_lexer_errors_have_positions(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(SieveSyntaxError) as caught:
        list(tokenize(text))
    error = caught.value
    assert (error.line, error.column) == (line, column)
    assert message in str(error)


def test_lexer_identifiers_and_tags_are_lowercased() -> None:
    assert kinds_and_values("FileInto :COPY")[:2] == [
        (TokenKind.IDENTIFIER, "fileinto"),
        (TokenKind.TAG, "copy"),
    ]
