"""FETCH values that come from the store rather than the message bytes.

INTERNALDATE, RFC822.SIZE, PREVIEW, MODSEQ, EMAILID and THREADID, each serialised as its
response item wants it.

Implementation notes:

- INTERNALDATE (RFC 9051 §9 ``date-time``): the day is space-padded (``date-day-fixed``),
  month names are English whatever the locale (no ``strftime``), and the zone is the
  datetime's own offset rounded to whole minutes; a naive datetime or a POSIX timestamp
  is UTC (``+0000``).
- PREVIEW (RFC 8970 §3.3): plain text, UTF-8, never NIL without LAZY (§3.2), at most 256
  characters, and "SHOULD limit ... to 200": longer text is cut at 200 characters. Line
  breaks become spaces so that short previews fit a quoted string.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Final

from plugins.imap.proto.responses import string

__all__ = [
    "PREVIEW_LENGTH",
    "email_id",
    "internal_date",
    "modseq",
    "preview",
    "rfc822_size",
    "thread_id",
]

#: RFC 8970 §3.3: the server "SHOULD limit the length of the preview text to 200".
PREVIEW_LENGTH: Final = 200
_MONTHS = (
    b"Jan",
    b"Feb",
    b"Mar",
    b"Apr",
    b"May",
    b"Jun",
    b"Jul",
    b"Aug",
    b"Sep",
    b"Oct",
    b"Nov",
    b"Dec",
)
# RFC 9051 §9: date-time = DQUOTE date-day-fixed "-" date-month "-" date-year
#                          SP time SP zone DQUOTE
_DATE_TIME = b'"%2d-%s-%04d %02d:%02d:%02d %s%02d%02d"'
_LINE_BREAKS = str.maketrans("\r\n", "  ")


def internal_date(value: datetime | float) -> bytes:
    """``"17-Jul-1996 02:44:25 -0700"``: an INTERNALDATE ``date-time`` (RFC 9051 §9).

    Args:
        value: an aware datetime (its zone is kept), a naive one (UTC), or a POSIX
            timestamp (UTC).
    """
    if not isinstance(value, datetime):
        # The store's timestamps: time.gmtime is several times faster than datetime.
        year, month, day, hour, minute, second = time.gmtime(value)[:6]
        return _DATE_TIME % (day, _MONTHS[month - 1], year, hour, minute, second, b"+", 0, 0)
    offset = value.utcoffset()
    minutes = round(offset.total_seconds() / 60) if offset is not None else 0
    hours, minutes = divmod(abs(minutes), 60)
    return _DATE_TIME % (
        value.day,
        _MONTHS[value.month - 1],
        value.year,
        value.hour,
        value.minute,
        value.second,
        b"-" if offset is not None and offset.total_seconds() < 0 else b"+",
        hours,
        minutes,
    )


def rfc822_size(size: int) -> bytes:
    """RFC822.SIZE: the message's size in octets as stored (RFC 9051 §2.3.4)."""
    return b"%d" % size


def preview(text: str, *, utf8: bool = False) -> bytes:
    """PREVIEW: the stored preview text, cut to :data:`PREVIEW_LENGTH` (RFC 8970 §3.3)."""
    return string(text.translate(_LINE_BREAKS)[:PREVIEW_LENGTH], utf8=utf8)


def modseq(value: int) -> bytes:
    """MODSEQ: ``(12345)`` (RFC 7162 §3.1.4.2)."""
    return b"(%d)" % value


def email_id(value: str) -> bytes:
    """EMAILID: ``(M6d99ac3275bb4e)``; ``value`` is an objectid atom (RFC 8474 §5.3)."""
    return b"(" + value.encode("ascii") + b")"


def thread_id(value: str | None) -> bytes:
    """THREADID: ``(T64b478a75b7ea9bd)`` or NIL (RFC 8474 §5.3)."""
    return b"NIL" if value is None else b"(" + value.encode("ascii") + b")"
