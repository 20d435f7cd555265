"""The preview's white-space collapsing (RFC 8970 §2 previews) against the regex it replaced."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from kernel.mail import parse_message, preview

_WHITESPACE = re.compile(r"\s+")
# Letters, ASCII and Unicode white space (NBSP, NEL, LINE SEPARATOR, ideographic space).
_TEXT = st.text(alphabet="ab \t\x0b\x0c\x1c\x85\xa0\u2028\u3000xyz.", max_size=2000)


def _reference(text: str, length: int) -> str:
    return _WHITESPACE.sub(" ", text).strip()[:length].rstrip()


@given(_TEXT, st.integers(min_value=1, max_value=300))
def test_preview_collapses_white_space_like_the_regex(text: str, length: int) -> None:
    raw = b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + text.encode()
    message = parse_message(raw)
    body = raw[message.root.body_start :].decode()
    assert preview(raw, message, length) == _reference(body, length)


def test_preview_of_mostly_white_space_reads_past_the_prefix() -> None:
    text = " " * 5000 + "word " * 100
    raw = b"\r\n" + text.encode()
    assert preview(raw, parse_message(raw), 20) == "word word word word"
