"""Variables (RFC 5229): references in strings, names, and the ``set`` modifiers.

Implementation notes:

- Expansion is one pass over the string (RFC 5229 §3): every ``${name}`` that matches
  the grammar is replaced, anything else stays as written, unknown variables become
  the empty string.
- Limits that Pigeonhole applies at compile time, kept here: a variable name has at
  most 64 characters, a namespace at most 4 components, a match variable index is at
  most 32, and a script declares at most 255 variables.
- Modifiers apply from the highest precedence down (RFC 5229 §4.1): 40 ``:lower`` /
  ``:upper``, 30 ``:lowerfirst`` / ``:upperfirst``, 20 ``:quotewildcard`` /
  ``:quoteregex`` (draft-ietf-sieve-regex-01 §5), 15 ``:encodeurl`` (RFC 5435 §6),
  10 ``:length``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = [
    "MAX_MATCH_INDEX",
    "MAX_NAMESPACE_PARTS",
    "MAX_NAME_LENGTH",
    "MODIFIERS",
    "apply_modifiers",
    "expand",
    "is_constant",
    "references",
    "split_name",
    "truncate_utf8",
]

MAX_NAME_LENGTH = 64
MAX_NAMESPACE_PARTS = 4
MAX_MATCH_INDEX = 32

# RFC 5229 §3:
#   variable-ref  = "${" [namespace] variable-name "}"
#   namespace     = identifier "." *sub-namespace
#   sub-namespace = variable-name "."
#   variable-name = num-variable / identifier
#   num-variable  = 1*DIGIT
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_REFERENCE = re.compile(rf"\$\{{((?:{_IDENT}\.(?:(?:[0-9]+|{_IDENT})\.)*)?(?:[0-9]+|{_IDENT}))\}}")
_NAME = re.compile(rf"(?:{_IDENT}\.(?:(?:[0-9]+|{_IDENT})\.)*)?(?:[0-9]+|{_IDENT})")

# (tag, precedence) of RFC 5229 §4.1 and the extensions that add modifiers.
MODIFIERS: dict[str, int] = {
    "lower": 40,
    "upper": 40,
    "lowerfirst": 30,
    "upperfirst": 30,
    "quotewildcard": 20,
    "quoteregex": 20,
    "encodeurl": 15,
    "length": 10,
}
_REGEX_SPECIALS = re.compile(r"([\\^$.\[\]|()?*+{}])")
# RFC 5435 §6 refers to the URI "unreserved" set: ALPHA / DIGIT / "-" / "." / "_" / "~".
_URL_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def is_constant(value: str) -> bool:
    """Whether ``value`` holds no variable reference (RFC 5229 §3 "constant strings")."""
    return "${" not in value or _REFERENCE.search(value) is None


def references(value: str) -> list[str]:
    """The variable names referenced in ``value``, as written."""
    return _REFERENCE.findall(value) if "${" in value else []


def split_name(name: str) -> tuple[tuple[str, ...], str] | None:
    """Split a variable name into (namespace parts, name); ``None`` if it is invalid."""
    if _NAME.fullmatch(name) is None:
        return None
    *namespace, last = name.split(".")
    return tuple(part.lower() for part in namespace), last.lower()


def expand(
    value: str,
    lookup: Callable[[tuple[str, ...], str], str | None],
    limit: int | None = None,
) -> str:
    """Replace each variable reference with ``lookup(namespace, name)``.

    ``lookup`` gets the lowercased namespace parts and name; it returns the value, or
    ``None`` to leave the reference as written (an unknown namespace at run time).

    Raises:
        ValueError: the result would be longer than ``limit`` characters (checked while
            expanding, so a short string cannot blow up memory).
    """
    if "${" not in value:
        return value
    size = len(value)

    def replace(found: re.Match[str]) -> str:
        nonlocal size
        *namespace, name = found.group(1).split(".")
        result = lookup(tuple(part.lower() for part in namespace), name.lower())
        text = found.group(0) if result is None else result
        size += len(text) - len(found.group(0))
        if limit is not None and size > limit:
            raise ValueError("expanded string is too long")
        return text

    return _REFERENCE.sub(replace, value)


def truncate_utf8(value: str, limit: int) -> str:
    """``value`` cut to at most ``limit`` UTF-8 bytes, on a character boundary."""
    if len(value) * 4 <= limit:
        return value
    data = value.encode("utf-8", "surrogateescape")
    if len(data) <= limit:
        return value
    data = data[:limit]
    # Drop a trailing partial UTF-8 sequence.
    cut = len(data)
    while cut > 0 and data[cut - 1] & 0xC0 == 0x80:
        cut -= 1
    if cut > 0 and data[cut - 1] >= 0xC0:
        width = 2 if data[cut - 1] < 0xE0 else 3 if data[cut - 1] < 0xF0 else 4
        if len(data) - (cut - 1) < width:
            data = data[: cut - 1]
    return data.decode("utf-8", "surrogateescape")


def _bounded(pieces: list[str], limit: int | None) -> str:
    """Join ``pieces``, stopping before the one that would pass ``limit`` bytes (so an
    escape or a percent-encoded octet is never cut in two).
    """
    if limit is None:
        return "".join(pieces)
    out: list[str] = []
    size = 0
    for piece in pieces:
        width = len(piece.encode("utf-8", "surrogateescape"))
        if size + width > limit:
            break
        out.append(piece)
        size += width
    return "".join(out)


def _encode_url(value: str, limit: int | None) -> str:
    pieces = []
    for char in value:
        data = char.encode("utf-8", "surrogateescape")
        if len(data) == 1 and data[0] in _URL_SAFE:
            pieces.append(char)
        else:
            pieces.append("".join(f"%{byte:02X}" for byte in data))
    return _bounded(pieces, limit)


def apply_modifiers(
    value: str, modifiers: set[str] | frozenset[str], limit: int | None = None
) -> str:
    """Apply ``set`` modifiers to ``value`` in precedence order (RFC 5229 §4.1).

    With ``limit`` (the variable size), the quoting modifiers stop before an escape
    sequence would be cut by the later truncation.
    """
    for modifier in sorted(modifiers, key=lambda m: -MODIFIERS[m]):
        if modifier == "lower":
            value = value.lower()
        elif modifier == "upper":
            value = value.upper()
        elif modifier == "lowerfirst":
            value = value[:1].lower() + value[1:]
        elif modifier == "upperfirst":
            value = value[:1].upper() + value[1:]
        elif modifier == "quotewildcard":
            value = _bounded(["\\" + c if c in "\\*?" else c for c in value], limit)
        elif modifier == "quoteregex":
            value = _bounded(
                ["\\" + c if _REGEX_SPECIALS.fullmatch(c) else c for c in value], limit
            )
        elif modifier == "encodeurl":
            value = _encode_url(value, limit)
        elif modifier == "length":
            value = str(len(value))
    return value
