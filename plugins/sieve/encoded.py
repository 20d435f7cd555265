"""The encoded-character extension (RFC 5228 §2.4.2.4): ``${hex:..}`` and ``${unicode:..}``.

Implementation notes:

- Decoding happens once, at compile time, on every string of a script that requires
  ``encoded-character``; a sequence that does not match the grammar is left as written
  (RFC 5228 §2.4.2.4: "${hex:40" stays as it is), and decoded text is never decoded
  again (``${hex:4${hex:30}}`` gives ``${hex:40}``).
- Octets from ``${hex:}`` that are not valid UTF-8 become lone surrogates
  (``surrogateescape``), like invalid bytes in the script itself.
- A code point outside 0-D7FF and E000-10FFFF is a compile error.
"""

from __future__ import annotations

import re

__all__ = ["decode_encoded_characters"]

# RFC 5228 §2.4.2.4:
#   encoded-arb-octets   = "${hex:" hex-pair-seq "}"
#   hex-pair-seq         = *blank hex-pair *(1*blank hex-pair) *blank
#   hex-pair             = 1*2HEXDIG
#   encoded-unicode-char = "${unicode:" unicode-hex-seq "}"
#   unicode-hex-seq      = *blank unicode-hex *(1*blank unicode-hex) *blank
#   unicode-hex          = 1*HEXDIG
#   blank                = WSP / CRLF
_ENCODED = re.compile(
    r"\$\{(?:(hex):([ \t\r\n]*[0-9a-f]{1,2}(?:[ \t\r\n]+[0-9a-f]{1,2})*[ \t\r\n]*)"
    r"|(unicode):([ \t\r\n]*[0-9a-f]+(?:[ \t\r\n]+[0-9a-f]+)*[ \t\r\n]*))\}",
    re.I,
)


def decode_encoded_characters(value: str) -> tuple[str, str | None]:
    """Decode the encoded characters in ``value``.

    Returns:
        ``(decoded, problem)``: the decoded string and, when a code point is invalid,
        the error message (the invalid sequence is then left as written).
    """
    problem: str | None = None

    def replace(found: re.Match[str]) -> str:
        nonlocal problem
        if found.group(1) is not None:
            data = bytes(int(pair, 16) for pair in found.group(2).split())
            return data.decode("utf-8", "surrogateescape")
        text = []
        for digits in found.group(4).split():
            code = int(digits, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                problem = f"invalid Unicode character U+{digits.upper()} in encoded character"
                return found.group(0)
            text.append(chr(code))
        return "".join(text)

    return _ENCODED.sub(replace, value), problem
