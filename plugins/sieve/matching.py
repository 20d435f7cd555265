"""Match types: ``:is``, ``:contains``, ``:matches`` (RFC 5228 §2.7.1), ``:regex``
(draft-ietf-sieve-regex-01) and relational ``:count``/``:value`` (RFC 5231 §4).

Implementation notes:

- ``:matches`` wildcards are matched by a small linear matcher, never by translating to a
  regular expression: the pattern splits at ``*`` into segments (literal characters and
  ``?``); the first segment is anchored at the start, the last at the end, and each one
  in between is taken at its left-most occurrence. That finds a match whenever one
  exists, and gives each ``*`` the shortest text, which is the non-greedy capture
  RFC 5229 §3.2 asks for. ``\\`` escapes ``*``, ``?`` and itself (RFC 5228 §2.7.1).
- ``:regex`` uses the ``regex`` package with a per-call timeout (the standard library's
  ``re`` cannot be interrupted); the comparator ``i;ascii-casemap`` makes it
  case-insensitive. A pattern that fails to compile at run time (built from variables)
  does not match and is reported through ``log``. Compiled patterns are cached.
- Keys are tried for each value in turn, values in order; the first success wins and
  its captures become the match variables (RFC 5229 §3.2).
- Every comparison is charged to the run's step budget in proportion to its size, so a
  script matching huge values many times still ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import final

import regex

from plugins.sieve.comparators import Comparator, get_comparator
from plugins.sieve.errors import SieveLimitExceeded

__all__ = ["MatchSpec", "check_regex", "glob_match"]

_ANY = None  # a "?" in a compiled glob segment
_DEFAULT_COMPARATOR = get_comparator(None)
Segment = tuple[str | None, ...]


@lru_cache(maxsize=512)
def _compile_glob(pattern: str, casemap: bool) -> tuple[Segment, ...]:
    """The pattern's segments, split at unescaped ``*``."""
    segments: list[Segment] = []
    current: list[str | None] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            index += 1
            char = pattern[index]
            current.append(char.upper() if casemap and char.isascii() else char)
        elif char == "*":
            segments.append(tuple(current))
            current = []
        elif char == "?":
            current.append(_ANY)
        else:
            current.append(char.upper() if casemap and char.isascii() else char)
        index += 1
    segments.append(tuple(current))
    return tuple(segments)


def _segment_at(value: str, pos: int, segment: Segment) -> bool:
    if pos + len(segment) > len(value):
        return False
    for offset, char in enumerate(segment):
        if char is not _ANY and value[pos + offset] != char:
            return False
    return True


def _find(
    value: str, start: int, stop: int, segment: Segment, charge: Callable[[int], None]
) -> int:
    """Left-most position in ``[start, stop]`` where ``segment`` matches, else -1."""
    if _ANY not in segment:
        found = value.find("".join(segment), start)  # type: ignore[arg-type]
        return found if 0 <= found <= stop else -1
    # The slow path compares up to len(segment) characters at every position.
    charge((stop - start + 1) * len(segment) // 64)
    for pos in range(start, stop + 1):
        if _segment_at(value, pos, segment):
            return pos
    return -1


def _no_charge(amount: int) -> None:
    del amount


def glob_match(
    value: str,
    pattern: str,
    comparator: Comparator,
    charge: Callable[[int], None] = _no_charge,
) -> list[str] | None:
    """Match ``value`` against a ``:matches`` pattern (``charge`` pays for slow scans).

    Returns:
        ``None`` when it does not match; otherwise the match variables: index 0 the whole
        value, then one string per wildcard in pattern order.
    """
    casemap = comparator.name == "i;ascii-casemap"
    segments = _compile_glob(pattern, casemap)
    folded = comparator.fold(value)
    first, last = segments[0], segments[-1]
    if len(segments) == 1:
        if len(first) != len(folded) or not _segment_at(folded, 0, first):
            return None
        return [value, *(value[i] for i, c in enumerate(first) if c is _ANY)]
    if not _segment_at(folded, 0, first):
        return None
    positions = [0]
    cursor = len(first)
    for segment in segments[1:-1]:
        found = _find(folded, cursor, len(folded) - len(segment), segment, charge)
        if found < 0:
            return None
        positions.append(found)
        cursor = found + len(segment)
    end = len(folded) - len(last)
    if end < cursor or not _segment_at(folded, end, last):
        return None
    positions.append(end)
    captures = [value]
    for number, segment in enumerate(segments):
        start = positions[number]
        if number > 0:
            previous_end = positions[number - 1] + len(segments[number - 1])
            captures.append(value[previous_end:start])
        captures.extend(value[start + i] for i, c in enumerate(segment) if c is _ANY)
    return captures


@lru_cache(maxsize=256)
def _compile_regex(pattern: str, casemap: bool) -> regex.Pattern[str] | None:
    flags = regex.IGNORECASE if casemap else 0
    try:
        return regex.compile(pattern, flags)
    except (regex.error, ValueError, OverflowError, RecursionError):
        return None


def check_regex(pattern: str) -> str | None:
    """Why ``pattern`` is not a valid regular expression, or ``None`` when it is."""
    try:
        regex.compile(pattern)
    except (regex.error, ValueError, OverflowError, RecursionError) as error:
        return str(error)
    return None


_RELATIONS: dict[str, Callable[[int], bool]] = {
    "gt": lambda c: c > 0,
    "ge": lambda c: c >= 0,
    "lt": lambda c: c < 0,
    "le": lambda c: c <= 0,
    "eq": lambda c: c == 0,
    "ne": lambda c: c != 0,
}


@final
@dataclass(frozen=True, slots=True)
class MatchSpec:
    """A match type, its relation (for ``:count``/``:value``) and comparator.

    ``charge`` is called with the work done (roughly, characters compared) so the
    interpreter can enforce its step budget; ``timeout`` bounds each regex call.
    """

    kind: str = "is"
    relation: str | None = None
    comparator: Comparator = _DEFAULT_COMPARATOR
    timeout: float = 1.0
    log: Callable[[str], None] | None = None

    def _one(self, value: str, key: str, charge: Callable[[int], None]) -> list[str] | bool | None:
        kind = self.kind
        if kind == "is":
            return self.comparator.equals(value, key)
        if kind == "contains":
            return self.comparator.contains(value, key)
        if kind == "matches":
            return glob_match(value, key, self.comparator, charge)
        if kind == "value":
            return _RELATIONS[self.relation or "eq"](self.comparator.compare(value, key))
        compiled = _compile_regex(key, self.comparator.name == "i;ascii-casemap")
        if compiled is None:
            if self.log is not None:
                self.log(f"invalid regular expression '{key}': treated as not matching")
            return False
        try:
            found = compiled.search(value, timeout=self.timeout)
        except TimeoutError as error:
            raise SieveLimitExceeded("regular expression took too long") from error
        if found is None:
            return None
        return [found.group(0), *(group or "" for group in found.groups())]

    def match(
        self,
        values: Iterable[str],
        keys: Sequence[str],
        charge: Callable[[int], None],
    ) -> tuple[bool, list[str] | None]:
        """Whether any value matches any key; with the match variables of ``:matches``
        and ``:regex`` (``None`` for other match types).
        """
        if self.kind == "count":
            count = str(sum(1 for _ in values))
            test = _RELATIONS[self.relation or "eq"]
            for key in keys:
                charge(1)
                if test(self.comparator.compare(count, key)):
                    return True, None
            return False, None
        for value in values:
            for key in keys:
                charge(1 + (len(value) + len(key)) // 64)
                result = self._one(value, key, charge)
                if result is True:
                    return True, None
                if isinstance(result, list):
                    return True, result
        return False, None
