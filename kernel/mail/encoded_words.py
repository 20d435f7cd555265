"""RFC 2047 encoded-words (``=?charset?B?...?=``) in header text.

Implementation notes:

- Both encodings, any charset :mod:`kernel.mail.charsets` knows, and the RFC 2231 §5
  language suffix (``=?utf-8*en?Q?...?=``).
- RFC 2047 §6.2: white space between two adjacent encoded-words is dropped. Runs of
  adjacent words in the same charset are joined *before* decoding, because many encoders
  split a multi-byte character across two words.
- Liberties taken with the wild: encoded-words are decoded wherever they appear (inside
  quoted strings, glued to other text), although RFC 2047 §5 allows them only in some
  places; a word with an unknown charset, or that fails to decode, is kept as written;
  undecodable bytes become U+FFFD. Nothing here raises.
"""

from __future__ import annotations

import re

from kernel.mail.charsets import decode_bytes, lookup_charset
from kernel.mail.transfer import decode_base64, decode_quoted_printable

__all__ = ["decode_words"]

# RFC 2047 §2:
#   encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
#   encoded-text = 1*<Any printable ASCII character other than "?" or SPACE>
# RFC 2231 §5: charset may carry "*" language.
_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")


def _decode_word(charset: str, encoding: str, text: str) -> bytes | None:
    if lookup_charset(charset) is None:
        return None
    data = text.encode("utf-8", "surrogatepass")
    if encoding in "bB":
        return decode_base64(data)
    return decode_quoted_printable(data, header=True)


def decode_words(value: str) -> str:
    """Decode every RFC 2047 encoded-word in ``value``; other text is kept as is."""
    if "=?" not in value:
        return value
    out: list[str] = []
    run_charset = ""
    run: list[bytes] = []
    pos = 0
    for word in _WORD.finditer(value):
        charset = word.group(1).lower()
        data = _decode_word(charset, word.group(2), word.group(3))
        gap = value[pos : word.start()]
        if data is None:
            if run:
                out.append(decode_bytes(b"".join(run), run_charset))
                run = []
            out.append(gap)
            out.append(word.group(0))
        elif run and (not gap or gap.isspace()):
            # RFC 2047 §6.2: "any 'linear-white-space' that separates a pair of adjacent
            # 'encoded-word's is ignored".
            if charset != run_charset:
                out.append(decode_bytes(b"".join(run), run_charset))
                run = []
                run_charset = charset
            run.append(data)
        else:
            if run:
                out.append(decode_bytes(b"".join(run), run_charset))
            out.append(gap)
            run = [data]
            run_charset = charset
        pos = word.end()
    if run:
        out.append(decode_bytes(b"".join(run), run_charset))
    out.append(value[pos:])
    return "".join(out)
