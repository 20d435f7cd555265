"""Comparators (RFC 4790 §9; RFC 5228 §2.7.3): i;octet, i;ascii-casemap, i;ascii-numeric.

Implementation notes:

- Strings are Python text in which invalid UTF-8 octets are lone surrogates, so code
  point order is UTF-8 octet order and ``i;octet`` is plain ``str`` comparison.
- ``i;ascii-casemap`` folds only ASCII letters (RFC 4790 §9.2: "ASCII letters are
  converted to upper case"); everything else compares as octets. :func:`fold` gives a
  key with the same length as its input, so match positions map back to the original.
- ``i;ascii-numeric`` (RFC 4790 §9.1) reads the leading digits; a string that does not
  start with a digit is "positive infinity", equal only to another such string. It has
  no substring operation (the compiler rejects ``:contains``/``:matches`` with it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

__all__ = ["COMPARATORS", "Comparator", "get_comparator"]

_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _numeric(value: str) -> int | None:
    """RFC 4790 §9.1.1: the value of the leading digits, ``None`` for "infinity"."""
    end = 0
    while end < len(value) and "0" <= value[end] <= "9":
        end += 1
    return int(value[:end]) if end else None


@final
@dataclass(frozen=True, slots=True)
class Comparator:
    """One comparator: equality, ordering and (unless numeric) substring operations."""

    name: str

    def fold(self, value: str) -> str:
        """The matching key of ``value`` (same length as ``value``)."""
        if self.name == "i;ascii-casemap":
            return value.translate(_ASCII_UPPER)
        return value

    def equals(self, value: str, key: str) -> bool:
        """RFC 4790 §4.2 equality."""
        if self.name == "i;ascii-numeric":
            return _numeric(value) == _numeric(key)
        return self.fold(value) == self.fold(key)

    def compare(self, value: str, key: str) -> int:
        """RFC 4790 §4.3 ordering: negative, zero or positive."""
        if self.name == "i;ascii-numeric":
            left, right = _numeric(value), _numeric(key)
            if left is None or right is None:
                return (left is None) - (right is None)
            return (left > right) - (left < right)
        left_text, right_text = self.fold(value), self.fold(key)
        return (left_text > right_text) - (left_text < right_text)

    def contains(self, value: str, key: str) -> bool:
        """RFC 4790 §4.2.2 substring match (RFC 5228 §2.7.1 ``:contains``)."""
        return self.fold(key) in self.fold(value)


COMPARATORS: dict[str, Comparator] = {
    name: Comparator(name) for name in ("i;octet", "i;ascii-casemap", "i;ascii-numeric")
}


def get_comparator(name: str | None) -> Comparator:
    """The comparator called ``name`` (RFC 5228 §2.7.3: ``i;ascii-casemap`` by default)."""
    return COMPARATORS[(name or "i;ascii-casemap").lower()]
