"""Tests for kernel.mail.dates: RFC 5322 dates, obsolete and broken forms, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.mail import parse_date


def tz(hours: int, minutes: int = 0) -> timezone:
    sign = -1 if hours < 0 else 1
    return timezone(sign * timedelta(hours=abs(hours), minutes=minutes))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # RFC 5322 Appendix A examples.
        ("Fri, 21 Nov 1997 09:55:06 -0600", datetime(1997, 11, 21, 9, 55, 6, tzinfo=tz(-6))),
        ("Tue, 1 Jul 2003 10:52:37 +0200", datetime(2003, 7, 1, 10, 52, 37, tzinfo=tz(2))),
        (
            "Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n"
            "   -0330 (Newfoundland Time)",
            datetime(1969, 2, 13, 23, 32, tzinfo=tz(-3, 30)),
        ),
        ("21 Nov 97 09:55:06 GMT", datetime(1997, 11, 21, 9, 55, 6, tzinfo=UTC)),
        # No day of week, no seconds.
        ("1 Jan 2024 00:00 +0000", datetime(2024, 1, 1, tzinfo=UTC)),
        # Two- and three-digit years (RFC 5322 §4.3).
        ("1 Jan 49 00:00:00 +0000", datetime(2049, 1, 1, tzinfo=UTC)),
        ("1 Jan 50 00:00:00 +0000", datetime(1950, 1, 1, tzinfo=UTC)),
        ("1 Jan 103 00:00:00 +0000", datetime(2003, 1, 1, tzinfo=UTC)),
        # Obsolete zones.
        ("Mon, 2 Jan 2006 15:04:05 EST", datetime(2006, 1, 2, 15, 4, 5, tzinfo=tz(-5))),
        ("Mon, 2 Jan 2006 15:04:05 PDT", datetime(2006, 1, 2, 15, 4, 5, tzinfo=tz(-7))),
        ("Mon, 2 Jan 2006 15:04:05 UT", datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC)),
        ("Mon, 2 Jan 2006 15:04:05 Z", datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC)),
        ("Mon, 2 Jan 2006 15:04:05 A", datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC)),
        ("Mon, 2 Jan 2006 15:04:05", datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC)),
        ("Mon, 2 Jan 2006 15:04:05 -0000", datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC)),
        # Broken forms seen in the wild.
        ("Mon,2 Jan 2006 15:04:05 +0100", datetime(2006, 1, 2, 15, 4, 5, tzinfo=tz(1))),
        ("Monday, 02 January 2006 15:04:05 +01:00", datetime(2006, 1, 2, 15, 4, 5, tzinfo=tz(1))),
        ("2-JAN-2006 15:04:05 +0100", datetime(2006, 1, 2, 15, 4, 5, tzinfo=tz(1))),
        ("Mon, 2 Jan 2006 15:04:05.123 +0100", datetime(2006, 1, 2, 15, 4, 5, tzinfo=tz(1))),
        ("Mon, 2 Jan 2006 15:04:05 +0100 (CET)", datetime(2006, 1, 2, 15, 4, 5, tzinfo=tz(1))),
        ("Mon, 2 Jan 2006 15:04:05 CEST", datetime(2006, 1, 2, 15, 4, 5, tzinfo=tz(2))),
        ("Sat, 31 Dec 2016 23:59:60 +0000", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("Mon, 2 Jan 2006 15:04:05 +9999", datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC)),
        # asctime and ISO 8601.
        ("Mon Jan  2 15:04:05 2006", datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC)),
        ("Mon Jan  2 15:04:05 MST 2006", datetime(2006, 1, 2, 15, 4, 5, tzinfo=tz(-7))),
        ("2006-01-02T15:04:05+07:00", datetime(2006, 1, 2, 15, 4, 5, tzinfo=tz(7))),
        ("2006-01-02 15:04:05Z", datetime(2006, 1, 2, 15, 4, 5, tzinfo=UTC)),
        # Unparseable.
        ("", None),
        (None, None),
        ("yesterday", None),
        ("31 Feb 2006 10:00 +0000", None),
        ("2 Foo 2006 10:00 +0000", None),
        ("2 Jan 2006 25:00 +0000", None),
        ("2 Jan 2006", None),
    ],
)
def test_dates_parse_date(value: str | None, expected: datetime | None) -> None:
    parsed = parse_date(value)
    assert parsed == expected
    if parsed is not None and expected is not None:
        assert parsed.utcoffset() == expected.utcoffset()


@given(st.text(max_size=60))
def test_dates_never_raise(value: str) -> None:
    parsed = parse_date(value)
    assert parsed is None or parsed.tzinfo is not None


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2999, 12, 31)))
def test_dates_round_trip_rfc5322_format(moment: datetime) -> None:
    moment = moment.replace(microsecond=0, tzinfo=tz(-3, 30))
    text = moment.strftime("%a, %d %b %Y %H:%M:%S -0330")
    assert parse_date(text) == moment
