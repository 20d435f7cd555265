"""The Date header field (RFC 5322 §3.3), with the obsolete and broken forms seen in mail.

Implementation notes:

- Accepted: an optional day name (any word, with or without comma), one- or two-digit
  days, month names of three or more letters in any case, two- and three-digit years
  (RFC 5322 §4.3: add 2000 below 50, else 1900), missing seconds, fractional seconds,
  ``-`` between day, month and year, numeric zones with or without a colon, the obsolete
  zone names (UT, GMT, EST ... PDT), military letters and unknown names (taken as
  ``-0000``, as RFC 5322 §4.3 says for military zones), a missing zone (``-0000``),
  trailing comments; also ``asctime`` (``Tue Jul  1 10:52:37 2003``) and ISO 8601
  (``2003-07-01T10:52:37+02:00``) forms.
- A leap second (``:60``) becomes ``:59``; out-of-range offsets become UTC. Invalid
  calendar dates (31 February) give ``None``. Nothing here raises.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

__all__ = ["parse_date"]

# RFC 5322 §3.3:
#   date-time   = [ day-of-week "," ] date time [CFWS]
#   date        = day month year
#   time        = time-of-day zone
#   time-of-day = hour ":" minute [ ":" second ]
#   zone        = (FWS ( "+" / "-" ) 4DIGIT) / obs-zone
_RFC5322 = re.compile(
    r"""\s*(?:[A-Za-z]+\s*,?\s*)?
    (\d{1,2})\s*[-\s]?\s*([A-Za-z]{3,})\.?\s*[-\s]?\s*(\d{2,4}),?
    \s+(\d{1,2})\s*[:.]\s*(\d{1,2})(?:\s*[:.]\s*(\d{1,2}))?(?:\.\d*)?
    \s*([+-]\s*\d{1,2}:?\d{2}|[A-Za-z]+)?""",
    re.X,
)
_ASCTIME = re.compile(
    r"""\s*(?:[A-Za-z]+\s*,?\s*)?([A-Za-z]{3,})\s+(\d{1,2}),?
    \s+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d*)?
    \s+(?:([A-Za-z]+|[+-]\d{4})\s+)?(\d{4})""",
    re.X,
)
_ISO = re.compile(
    r"""\s*(\d{4})-(\d{1,2})-(\d{1,2})[Tt\s]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d*)?
    \s*([+-]\d{2}:?\d{2}|[Zz]|[A-Za-z]+)?""",
    re.X,
)
_COMMENT = re.compile(r"\([^()]*\)")

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
# RFC 5322 §4.3: obs-zone.
_ZONES = {
    "ut": 0,
    "utc": 0,
    "gmt": 0,
    "z": 0,
    "est": -5 * 60,
    "edt": -4 * 60,
    "cst": -6 * 60,
    "cdt": -5 * 60,
    "mst": -7 * 60,
    "mdt": -6 * 60,
    "pst": -8 * 60,
    "pdt": -7 * 60,
    # Common non-RFC names.
    "cet": 60,
    "cest": 120,
    "bst": 60,
    "met": 60,
    "mest": 120,
    "eet": 120,
    "eest": 180,
    "jst": 540,
}


@lru_cache(maxsize=256)
def _zone(minutes: int) -> timezone:
    return UTC if minutes == 0 else timezone(timedelta(minutes=minutes))


def _offset(zone: str | None) -> int:
    if not zone:
        return 0
    if zone[0] in "+-":
        digits = zone[1:].replace(":", "").replace(" ", "")
        if len(digits) < 3:
            return 0
        hours, minutes = int(digits[:-2]), int(digits[-2:])
        if hours > 23 or minutes > 59:
            return 0
        total = hours * 60 + minutes
        return -total if zone[0] == "-" else total
    return _ZONES.get(zone.lower(), 0)


def _build(
    year: int, month: int, day: int, hour: int, minute: int, second: int, zone: str | None
) -> datetime | None:
    if second == 60:
        second = 59
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=_zone(_offset(zone)))
    except ValueError:
        return None


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        return year + (2000 if year < 50 else 1900)
    if len(text) == 3:
        return year + 1900
    return year


def parse_date(value: str | None) -> datetime | None:
    """Parse a Date field value into an aware datetime, or ``None`` when unparseable."""
    if not value:
        return None
    if "(" in value:
        value = _COMMENT.sub(" ", value)
    found = _RFC5322.match(value)
    if found is not None:
        day, month_name, year, hour, minute, second, zone = found.groups()
        month = _MONTHS.get(month_name[:3].lower())
        if month is None:
            return None
        return _build(_year(year), month, int(day), int(hour), int(minute), int(second or 0), zone)
    found = _ASCTIME.match(value)
    if found is not None:
        month_name, day, hour, minute, second, zone, year = found.groups()
        month = _MONTHS.get(month_name[:3].lower())
        if month is None:
            return None
        return _build(int(year), month, int(day), int(hour), int(minute), int(second or 0), zone)
    found = _ISO.match(value)
    if found is not None:
        year, month, day, hour, minute, second, zone = found.groups()
        return _build(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), zone
        )
    return None
