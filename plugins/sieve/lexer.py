"""The Sieve lexer (RFC 5228 §8.1): script text to tokens with line and column.

Implementation notes:

- Scripts are UTF-8 (RFC 5228 §8.1). Bytes that are not valid UTF-8 are kept as lone
  surrogates (``surrogateescape``), so a string such as a mailbox name can later be
  checked for validity and encoded back byte for byte.
- Liberty: a bare LF is accepted wherever the grammar says CRLF (scripts written on Unix
  and the whole Pigeonhole suite use LF). A bare CR outside a CRLF pair is an error, as
  is a NUL octet.
- Line breaks inside strings are CRLF, as the grammar writes them, also when the
  script used bare LF; ``\\x`` for any other ``x`` stands for ``x`` ("quoted-other").
  Multi-line strings lose one leading dot on lines that start with two
  ("dot-stuffing"); a line holding only ``.`` ends them.
- Identifiers and tags are case-insensitive, so the lexer lowercases them; numbers carry
  their quantifier already applied (RFC 5228 §2.4.1: K = 2^10, M = 2^20, G = 2^30).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import final

from plugins.sieve.errors import SieveSyntaxError

__all__ = ["MAX_NUMBER", "Token", "TokenKind", "decode_script", "tokenize"]

# RFC 5228 §2.4.1 only asks for 2^31 - 1; larger values are allowed, up to 2^63 - 1.
MAX_NUMBER = 2**63 - 1


class TokenKind(Enum):
    """The kinds of token of RFC 5228 §8.1, plus the single-character separators."""

    IDENTIFIER = "identifier"
    TAG = "tag"
    NUMBER = "number"
    STRING = "string"
    MULTILINE = "multi-line string"
    SPECIAL = "separator"
    END = "end of script"


@final
@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its value and where it starts (1-based line and column)."""

    kind: TokenKind
    value: str | int
    line: int
    column: int


# RFC 5228 §8.1:
#   white-space     = 1*(SP / CRLF / HTAB) / comment
#   comment         = bracket-comment / hash-comment
#   hash-comment    = "#" *octet-not-crlf CRLF
#   bracket-comment = "/*" *not-star 1*STAR *(not-star-slash *not-star 1*STAR) "/"
_SPACE = re.compile(r"(?:[ \t\n]|\r\n|#[^\r\n]*(?:\r?\n|\Z)|/\*(?:[^*]|\*+[^*/])*\*+/)+")
# identifier = (ALPHA / "_") *(ALPHA / DIGIT / "_");  tag = ":" identifier
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# number = 1*DIGIT [ QUANTIFIER ];  QUANTIFIER = "K" / "M" / "G"
_NUMBER = re.compile(r"([0-9]+)([KMGkmg]?)")
# multi-line = "text:" *(SP / HTAB) (hash-comment / CRLF)
#              *(multiline-literal / multiline-dotstart) "." CRLF
_MULTILINE_START = re.compile(r"text:[ \t]*(?:#[^\r\n]*)?(\r?\n)", re.I)
_MULTILINE_END = re.compile(r"^\.\r?$", re.M)
# quoted-string = DQUOTE quoted-text DQUOTE
# quoted-text   = *(quoted-safe / quoted-special / quoted-other)
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
_ESCAPE = re.compile(r"\\(.)", re.S)
_QUANTIFIERS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}
_SPECIALS = frozenset("[](){};,")


def decode_script(script: str | bytes) -> str:
    """The script as text; invalid UTF-8 bytes become lone surrogates (kept, not lost)."""
    if isinstance(script, str):
        return script
    return script.decode("utf-8", "surrogateescape")


_BARE_LF = re.compile(r"(?<!\r)\n")


def _crlf(value: str) -> str:
    """Line breaks in strings are CRLF (RFC 5228 §8.1), whatever the file used."""
    return _BARE_LF.sub("\r\n", value) if "\n" in value else value


def _unstuff(body: str) -> str:
    """Undo dot-stuffing: a line starting with ``..`` loses its first dot."""
    if ".." not in body:
        return body
    lines = body.split("\n")
    return "\n".join(line[1:] if line.startswith("..") else line for line in lines)


def tokenize(text: str) -> Iterator[Token]:
    """Yield the tokens of ``text``, ending with one ``END`` token.

    Raises:
        SieveSyntaxError: an invalid character, an unterminated string or comment, or a
            number that is too large.
    """
    pos, line, line_start = 0, 1, 0
    end = len(text)

    def error(message: str, at: int) -> SieveSyntaxError:
        at_line = line + text.count("\n", pos, at)
        at_col = at - (text.rfind("\n", 0, at) + 1) + 1
        return SieveSyntaxError(message, at_line, at_col)

    nul = text.find("\0")
    if nul >= 0:
        raise error("NUL character in script", nul)
    while True:
        space = _SPACE.match(text, pos)
        if space is not None:
            newlines = text.count("\n", pos, space.end())
            if newlines:
                line += newlines
                line_start = text.rfind("\n", pos, space.end()) + 1
            pos = space.end()
        if pos >= end:
            yield Token(TokenKind.END, "", line, pos - line_start + 1)
            return
        column = pos - line_start + 1
        char = text[pos]
        if char in _SPECIALS:
            yield Token(TokenKind.SPECIAL, char, line, column)
            pos += 1
            continue
        if char == '"':
            found = _QUOTED.match(text, pos)
            if found is None:
                raise error("unterminated quoted string", pos)
            raw = found.group(1)
            if "\r" in raw.replace("\r\n", ""):
                raise error("bare CR in quoted string", pos)
            value = _ESCAPE.sub(r"\1", raw) if "\\" in raw else raw
            yield Token(TokenKind.STRING, _crlf(value), line, column)
            newlines = raw.count("\n")
            if newlines:
                line += newlines
                line_start = pos + 1 + raw.rfind("\n") + 1
            pos = found.end()
            continue
        if char == ":":
            found = _IDENTIFIER.match(text, pos + 1)
            if found is None:
                raise error("expected an identifier after ':'", pos)
            yield Token(TokenKind.TAG, found.group(0).lower(), line, column)
            pos = found.end()
            continue
        if char.isdigit() and char.isascii():
            found = _NUMBER.match(text, pos)
            assert found is not None
            number = int(found.group(1)) * _QUANTIFIERS[found.group(2).lower()]
            if number > MAX_NUMBER:
                raise error("number is too large", pos)
            yield Token(TokenKind.NUMBER, number, line, column)
            pos = found.end()
            continue
        multi = _MULTILINE_START.match(text, pos)
        if multi is not None:
            body_start = multi.end()
            closing = _MULTILINE_END.search(text, body_start)
            if closing is None:
                raise error("unterminated multi-line string (no line with only '.')", pos)
            body = text[body_start : closing.start()]
            yield Token(TokenKind.MULTILINE, _crlf(_unstuff(body)), line, column)
            line += text.count("\n", pos, closing.end())
            pos = closing.end()
            line_start = pos
            if pos < end and text[pos] == "\n":
                pos += 1
                line += 1
                line_start = pos
            continue
        found = _IDENTIFIER.match(text, pos)
        if found is not None:
            yield Token(TokenKind.IDENTIFIER, found.group(0).lower(), line, column)
            pos = found.end()
            continue
        if text.startswith("/*", pos):
            raise error("unterminated bracket comment", pos)
        if char == "\r":
            raise error("CR not followed by LF", pos)
        shown = repr(char) if char.isprintable() else f"U+{ord(char):04X}"
        raise error(f"unexpected character {shown}", pos)
