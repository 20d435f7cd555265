"""Sequence sets (RFC 9051 §9 ``sequence-set``), for message numbers and UIDs.

``*`` is the largest number in use (:data:`STAR`); ``$`` is the saved search result of
SEARCHRES (RFC 5182 §2), kept symbolic until the session resolves it.

    sequence-set    = (seq-number / seq-range) ["," sequence-set]
    seq-range       = seq-number ":" seq-number
    seq-number      = nz-number / "*"
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final, final

__all__ = ["STAR", "SequenceSet"]

#: ``*``: the number of the last message (or the highest UID) in the mailbox.
STAR: Final = 0


@final
@dataclass(frozen=True, slots=True)
class SequenceSet:
    """A parsed sequence set.

    Attributes:
      ranges: ``(low, high)`` pairs as written, each end a positive number or
        :data:`STAR`; ``3:1`` is kept as written and means ``1:3`` (RFC 9051 §9).
      saved: ``$`` (RFC 5182): the session substitutes its saved result; ``ranges``
        is then empty.
    """

    ranges: tuple[tuple[int, int], ...] = ()
    saved: bool = False

    def resolve(self, largest: int) -> list[tuple[int, int]]:
        """Concrete ``(low, high)`` ranges with ``*`` replaced by ``largest``, low <= high.

        ``largest`` 0 (an empty mailbox) makes ``*`` 0, so ``1:*`` is ``(0, 1)``; callers
        intersect with the numbers that exist. Raises ``ValueError`` for ``$``.
        """
        if self.saved:
            raise ValueError("a saved search result ($) must be substituted by the session")
        out = []
        for low, high in self.ranges:
            a = largest if low == STAR else low
            b = largest if high == STAR else high
            out.append((a, b) if a <= b else (b, a))
        return out

    def contains(self, number: int, largest: int) -> bool:
        """Whether ``number`` is in the set when the largest number in use is ``largest``."""
        return any(low <= number <= high for low, high in self.resolve(largest))

    def select(self, numbers: Iterable[int], largest: int) -> Iterator[int]:
        """The members of the sorted ``numbers`` that are in the set, in order."""
        ranges = self.resolve(largest)
        return (n for n in numbers if any(low <= n <= high for low, high in ranges))

    @classmethod
    def of(cls, numbers: Iterable[int]) -> SequenceSet:
        """The compact set of the given positive numbers (for responses: COPYUID, ESEARCH)."""
        ranges: list[tuple[int, int]] = []
        for n in sorted(set(numbers)):
            if ranges and ranges[-1][1] == n - 1:
                ranges[-1] = (ranges[-1][0], n)
            else:
                ranges.append((n, n))
        return cls(tuple(ranges))

    def __str__(self) -> str:
        if self.saved:
            return "$"

        def one(n: int) -> str:
            return "*" if n == STAR else str(n)

        return ",".join(one(a) if a == b else f"{one(a)}:{one(b)}" for a, b in self.ranges)
