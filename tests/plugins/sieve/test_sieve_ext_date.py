"""date, currentdate and index (RFC 5260)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sieve_support import host, names, run

from plugins.sieve import FileInto
from plugins.sieve.extensions.date import date_part

MOMENT = datetime(2009, 7, 20, 21, 44, 43, tzinfo=timezone(timedelta(hours=3)))


@pytest.mark.parametrize(
    ("part", "value"),
    [
        ("year", "2009"),
        ("month", "07"),
        ("day", "20"),
        ("date", "2009-07-20"),
        ("julian", "55032"),
        ("hour", "21"),
        ("minute", "44"),
        ("second", "43"),
        ("time", "21:44:43"),
        ("iso8601", "2009-07-20T21:44:43+03:00"),
        ("std11", "Mon, 20 Jul 2009 21:44:43 +0300"),
        ("zone", "+0300"),
        ("weekday", "1"),
    ],
)
def test_date_parts(part: str, value: str) -> None:
    # RFC 5260 §4.2 (julian: the Modified Julian Day).
    assert date_part(MOMENT, part) == value


def test_date_zone_handling() -> None:
    base = 'require "date"; if '
    # :originalzone keeps the field's zone, :zone converts, default is the local zone.
    assert names(run(base + 'date :originalzone "date" "hour" "21" { discard; }')) == ["discard"]
    assert names(run(base + 'date :zone "-0100" "date" "time" "17:44:43" { discard; }')) == [
        "discard"
    ]
    static = host(clock=datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=-5))))
    source = base + 'date "date" "iso8601" "2009-07-20T13:44:43-05:00" { discard; }'
    assert names(run(source, static=static)) == ["discard"]


def test_date_invalid_zone_is_a_compile_error() -> None:
    from sieve_support import compile_error

    assert "invalid time zone" in str(
        compile_error('require "date"; if date :zone "0100" "date" "year" "2009" {}')
    )
    assert "invalid date part" in str(
        compile_error('require "date"; if date "date" "fortnight" "1" {}')
    )


def test_date_received_field_and_unparsable_dates() -> None:
    message = (
        b"Received: from x by y; Tue, 21 Jul 2009 10:00:00 +0000\r\n"
        b"Date: not a date\r\n\r\nbody\r\n"
    )
    base = 'require "date"; if date :originalzone '
    assert names(run(base + '"received" "date" "2009-07-21" { discard; }', message)) == ["discard"]
    assert names(run(base + ':matches "date" "date" "*" { discard; }', message)) == [
        "implicit-keep"
    ]


def test_currentdate_uses_the_host_clock() -> None:
    static = host(clock=datetime(2024, 3, 1, 12, 30, 45, tzinfo=UTC))
    source = (
        'require ["date", "variables", "fileinto"];\n'
        'if currentdate :matches "date" "*" { fileinto "${0}"; }'
    )
    assert run(source, static=static).actions == (FileInto("2024-03-01"),)


def test_index_selects_one_occurrence() -> None:
    message = b"X-A: one\r\nX-A: two\r\nX-A: three\r\n\r\nbody\r\n"
    base = 'require "index"; if header :index '
    assert names(run(base + '2 "x-a" "two" { discard; }', message)) == ["discard"]
    assert names(run(base + '1 :last "x-a" "three" { discard; }', message)) == ["discard"]
    assert names(run(base + '4 "x-a" "" { discard; }', message)) == ["implicit-keep"]
