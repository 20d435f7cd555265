"""The date and index extensions (RFC 5260): ``date``, ``currentdate``, ``:index``.

Implementation notes:

- ``date`` (RFC 5260 §4) reads a date from a header field (for ``Received``, from the
  text after the last ``;``), parsed by :func:`kernel.mail.parse_date`; a field that does
  not parse is skipped. Without ``:zone`` or ``:originalzone`` the date is shifted to
  the host's local zone (§4.1), taken from :meth:`Host.now`.
- ``currentdate`` (§5) reads :meth:`Host.now`.
- Date parts (§4.2): year, month, day, date, julian, hour, minute, second, time,
  iso8601, std11, zone, weekday; unknown constant parts and malformed constant zones are
  compile errors.
- ``:index``/``:last`` (§6) select among the fields of the named header.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from kernel.mail import parse_date
from plugins.sieve.compiled import Node
from plugins.sieve.extensions.base import chain
from plugins.sieve.extensions.common import INDEX_TAGS, field_values, validate_index
from plugins.sieve.spec import ArgKind, Extension, Spec, TagSpec, match_tags

if TYPE_CHECKING:
    from plugins.sieve.context import CompileContext
    from plugins.sieve.interpreter import Run

__all__ = ["EXTENSIONS", "date_part"]

# RFC 5260 §4.1: time-zone = ( "+" / "-" ) 4DIGIT
_ZONE = re.compile(r"([+-])([0-9]{2})([0-9]{2})")
_PARTS = frozenset(
    {
        "year",
        "month",
        "day",
        "date",
        "julian",
        "hour",
        "minute",
        "second",
        "time",
        "iso8601",
        "std11",
        "zone",
        "weekday",
    }
)
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# RFC 5260 §4.2: julian is the Modified Julian Day; day 0 is 1858-11-17.
_MJD_EPOCH = datetime(1858, 11, 17).date()


def _zone_text(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


def date_part(moment: datetime, part: str) -> str | None:
    """RFC 5260 §4.2: the text of ``part`` of ``moment`` (``None`` if unknown)."""
    part = part.lower()
    if part == "year":
        return f"{moment.year:04d}"
    if part == "month":
        return f"{moment.month:02d}"
    if part == "day":
        return f"{moment.day:02d}"
    if part == "date":
        return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    if part == "julian":
        return str((moment.date() - _MJD_EPOCH).days)
    if part == "hour":
        return f"{moment.hour:02d}"
    if part == "minute":
        return f"{moment.minute:02d}"
    if part == "second":
        return f"{moment.second:02d}"
    if part == "time":
        return f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    if part == "iso8601":
        zone = _zone_text(moment)
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f"{zone[:3]}:{zone[3:]}"
    if part == "std11":
        return (
            f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} "
            f"{moment.year:04d} {moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} "
            f"{_zone_text(moment)}"
        )
    if part == "zone":
        return _zone_text(moment)
    if part == "weekday":
        return str((moment.weekday() + 1) % 7)
    return None


def _parse_zone(text: str) -> timezone | None:
    found = _ZONE.fullmatch(text)
    if found is None:
        return None
    hours, minutes = int(found.group(2)), int(found.group(3))
    if hours > 23 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if found.group(1) == "-" else delta)


def _validate(ctx: CompileContext, node: Node) -> None:
    zone = node.tag("zone")
    if isinstance(zone, str) and ctx.constant(zone) and _parse_zone(zone) is None:
        ctx.error(node, f"invalid time zone '{zone}' for the {node.name} test")
    part = node.args[-2] if len(node.args) >= 2 else None
    if isinstance(part, str) and ctx.constant(part) and part.lower() not in _PARTS:
        ctx.error(node, f"invalid date part '{part}' for the {node.name} test")


def _shift(run: Run, node: Node, moment: datetime) -> datetime | None:
    if node.has("originalzone"):
        return moment
    zone_text = node.tag("zone")
    if zone_text is not None:
        zone = _parse_zone(run.string(zone_text))
        if zone is None:
            return None
        return moment.astimezone(zone)
    local = run.host.now().tzinfo
    return moment.astimezone(local)


def _date(run: Run, node: Node) -> bool:
    name = run.string(node.args[0])
    part = run.string(node.args[1])
    keys = run.strings(node.args[2])
    values: list[str] = []
    for value in field_values(run, None, name, node):
        if name.lower() == "received":
            value = value.rpartition(";")[2]
        moment = parse_date(value)
        if moment is None:
            continue
        shifted = _shift(run, node, moment)
        text = None if shifted is None else date_part(shifted, part)
        if text is not None:
            values.append(text)
    return run.match(node, values, keys)


def _currentdate(run: Run, node: Node) -> bool:
    part = run.string(node.args[0])
    keys = run.strings(node.args[1])
    moment = _shift(run, node, run.host.now())
    text = None if moment is None else date_part(moment, part)
    return run.match(node, [] if text is None else [text], keys)


EXTENSIONS = (
    Extension(
        name="date",
        capabilities=("date",),
        specs=(
            Spec(
                "date",
                requires="date",
                is_test=True,
                positional=(ArgKind.STRING, ArgKind.STRING, ArgKind.STRING_LIST),
                tags=(
                    *match_tags(),
                    *INDEX_TAGS,
                    TagSpec("zone", ArgKind.STRING, group="zone"),
                    TagSpec("originalzone", group="zone"),
                ),
                validate=chain(_validate, validate_index),
            ),
            Spec(
                "currentdate",
                requires="date",
                is_test=True,
                positional=(ArgKind.STRING, ArgKind.STRING_LIST),
                tags=(*match_tags(), TagSpec("zone", ArgKind.STRING)),
                validate=_validate,
            ),
        ),
        tests={"date": _date, "currentdate": _currentdate},
    ),
    Extension(name="index", capabilities=("index",)),
)
