"""SASLprep (RFC 4013), the stringprep profile for user names and passwords.

Implementation notes:

- The tables come from the standard library's :mod:`stringprep` module, which implements
  RFC 3454 over Unicode 3.2; normalisation uses :data:`unicodedata.ucd_3_2_0` for the
  same reason (RFC 3454 §4 pins Unicode 3.2, and newer NFKC tables differ).
- ``allow_unassigned`` picks between the two kinds of strings of RFC 3454 §7: *queries*
  (what a client presents: unassigned code points pass through) and *stored strings*
  (what goes into the directory, or into a SCRAM key derivation: they are refused). Note
  that every code point assigned after Unicode 3.2, emoji included, is "unassigned" here.
"""

from __future__ import annotations

import stringprep
import unicodedata
from collections.abc import Callable
from typing import Final

__all__ = ["saslprep"]

# RFC 4013 §2.3: the prohibited output tables.
_PROHIBITED: Final[tuple[tuple[str, Callable[[str], bool]], ...]] = (
    ("non-ASCII space", stringprep.in_table_c12),
    ("ASCII control character", stringprep.in_table_c21),
    ("non-ASCII control character", stringprep.in_table_c22),
    ("private use character", stringprep.in_table_c3),
    ("non-character code point", stringprep.in_table_c4),
    ("surrogate code point", stringprep.in_table_c5),
    ("character inappropriate for plain text", stringprep.in_table_c6),
    ("character inappropriate for canonical representation", stringprep.in_table_c7),
    ("display property change or deprecated character", stringprep.in_table_c8),
    ("tagging character", stringprep.in_table_c9),
)


def saslprep(text: str, *, allow_unassigned: bool = False) -> str:
    """Prepare ``text`` with the SASLprep profile (RFC 4013 §2).

    Args:
      text: the string to prepare.
      allow_unassigned: ``True`` for a query string (a presented user name or password),
        ``False`` for a stored string (RFC 3454 §7).

    Returns:
      The prepared string, which may be empty (callers decide whether that is allowed).

    Raises:
      ValueError: the output holds a prohibited or (for stored strings) unassigned code
        point, or fails the bidirectional check.
    """
    # RFC 4013 §2.1: non-ASCII spaces map to SPACE, "commonly mapped to nothing" (B.1)
    # characters to nothing.
    mapped = "".join(
        " " if stringprep.in_table_c12(char) else char
        for char in text
        if not stringprep.in_table_b1(char)
    )
    # RFC 4013 §2.2: Unicode normalization form KC.
    prepared = unicodedata.ucd_3_2_0.normalize("NFKC", mapped)
    for char in prepared:
        for what, in_table in _PROHIBITED:
            # RFC 4013 §2.3: prohibited output.
            if in_table(char):
                raise ValueError(f"SASLprep: prohibited {what} U+{ord(char):04X}")
        # RFC 4013 §2.5; RFC 3454 §7: stored strings must not hold unassigned code points.
        if not allow_unassigned and stringprep.in_table_a1(char):
            raise ValueError(f"SASLprep: unassigned code point U+{ord(char):04X}")
    # RFC 4013 §2.4; RFC 3454 §6: a string with any RandALCat character must hold no
    # LCat character, and must start and end with a RandALCat character.
    if any(stringprep.in_table_d1(char) for char in prepared):
        if any(stringprep.in_table_d2(char) for char in prepared):
            raise ValueError("SASLprep: mixes right-to-left and left-to-right characters")
        if not (stringprep.in_table_d1(prepared[0]) and stringprep.in_table_d1(prepared[-1])):
            raise ValueError("SASLprep: right-to-left text must start and end right-to-left")
    return prepared
