"""SMTP replies and their serialisation.

RFC 5321 §4.2: ``Reply-line = *( Reply-code "-" [ textstring ] CRLF )
Reply-code [ SP textstring ] CRLF``. With ENHANCEDSTATUSCODES every line of a
2xx/4xx/5xx reply starts with the same status code (RFC 2034 §4), except the
greeting and the replies to EHLO/HELO; a :class:`Reply` carries ``status=None``
for those and for 3xx replies.

Implementation notes:

* Text never contains CR, LF or other control characters: they are replaced by
  spaces here, whatever the caller passed (a plugin's verdict text, a client's
  argument echoed back).
* RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets with its CRLF; longer
  text is cut (on a UTF-8 character boundary). SASL challenges (334) are exempt:
  RFC 4954 §4 lets them be as long as the mechanism needs.
* Most replies are the same few (``250 2.1.0 OK`` to every MAIL): :meth:`Reply.of`
  and :meth:`Reply.serialize` remember recent ones (a reply is immutable).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import final

__all__ = ["MAX_REPLY_LINE", "Reply"]

#: RFC 5321 §4.5.3.1.5: the longest reply line, CRLF included.
MAX_REPLY_LINE = 512
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_STATUS = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")
#: How many distinct replies (and their bytes) are remembered.
_REMEMBERED = 256


def _clean(text: str, room: int) -> bytes:
    data = _CONTROL.sub(" ", text).encode("utf-8")
    if len(data) <= room:
        return data
    return data[:room].decode("utf-8", "ignore").encode("utf-8")


@final
@dataclass(frozen=True, slots=True)
class Reply:
    """One (possibly multi-line) reply.

    Args:
        code: the three-digit reply code.
        status: the enhanced status code, or None where none is sent.
        lines: the text lines (at least one; an empty string for no text).

    Raises:
        ValueError: a code outside 200-599, a malformed status, a status whose
            class disagrees with the code (RFC 2034 §4), or no lines.
    """

    code: int
    status: str | None
    lines: tuple[str, ...]

    def __post_init__(self) -> None:
        if not 200 <= self.code <= 599:
            raise ValueError(f"reply code {self.code} is not 2xx-5xx")
        if self.status is not None and (
            not _STATUS.match(self.status) or self.status[0] != str(self.code)[0]
        ):
            raise ValueError(f"status {self.status!r} does not fit reply code {self.code}")
        if not self.lines:
            raise ValueError("a reply needs at least one line")

    @classmethod
    def of(cls, code: int, status: str | None, *lines: str) -> Reply:
        """``Reply.of(250, "2.0.0", "OK")``."""
        return _reply(code, status, lines or ("",))

    @property
    def positive(self) -> bool:
        """2xx or 3xx: the command (or step) succeeded."""
        return self.code < 400

    @property
    def closes(self) -> bool:
        """221 or 421: the server closes the connection after this reply."""
        return self.code in (221, 421)

    def serialize(self) -> bytes:
        """The reply's bytes on the wire."""
        return _wire(self)


@functools.lru_cache(maxsize=_REMEMBERED)
def _reply(code: int, status: str | None, lines: tuple[str, ...]) -> Reply:
    return Reply(code, status, lines)


@functools.lru_cache(maxsize=_REMEMBERED)
def _wire(reply: Reply) -> bytes:
    out = bytearray()
    code = str(reply.code).encode("ascii")
    prefix = (reply.status + " ").encode("ascii") if reply.status else b""
    room = MAX_REPLY_LINE - len(code) - 1 - len(prefix) - 2
    if reply.code == 334:
        room = 1 << 20
    last = len(reply.lines) - 1
    for index, line in enumerate(reply.lines):
        out += code + (b" " if index == last else b"-") + prefix + _clean(line, room) + b"\r\n"
    return bytes(out)
