"""Business-hours arithmetic: when a team is open, and how many working minutes lie
between two instants.

Pure functions over a :class:`BusinessHours` (a time zone, opening hours per weekday,
public holidays from the ``holidays`` package, extra closed days); no database. A
:class:`~devdesk.triage.models.BusinessCalendar` row is accepted wherever a
``BusinessHours`` is, through its ``hours`` property.

Opening hours are local wall-clock times. Each local day's hours are turned into UTC
instants with :mod:`zoneinfo`, so a day on which the clocks change is as long as it
really is: 09:00-17:00 is eight hours on either side of a DST change, and a night
shift 00:00-04:00 on the night the clocks go forward is three. Everything takes
timezone-aware datetimes and answers with aware datetimes in the calendar's zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
# How far the arithmetic looks for open time before it gives up: a calendar closed
# for ten years (every day a closed day) is a mistake, not a wait.
SEARCH_DAYS = 3660
MINUTE = timedelta(minutes=1)

Interval = tuple[int, int]  # minutes after local midnight, start < end <= 1440
DayHours = tuple[Interval, ...]


class CalendarError(ValueError):
    """Opening hours, a time zone or a holiday region that cannot be used."""


@dataclass(frozen=True)
class BusinessHours:
    """When a team works: ``weekly[0]`` is Monday's intervals, ``weekly[6]`` Sunday's."""

    time_zone: str = "UTC"
    weekly: tuple[DayHours, ...] = ((),) * 7
    holiday_country: str = ""
    holiday_subdivision: str = ""
    closed_days: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise CalendarError("Opening hours need an entry for each of 7 weekdays.")
        check_time_zone(self.time_zone)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


class HasHours(Protocol):
    @property
    def hours(self) -> BusinessHours: ...


Calendar = BusinessHours | HasHours


def _hours(calendar: Calendar) -> BusinessHours:
    return calendar if isinstance(calendar, BusinessHours) else calendar.hours


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, not {value!r}")
    return value


# --- parsing and checking -----------------------------------------------------------

_CLOCK = r"([01]?\d|2[0-4]):([0-5]\d)"
_RANGE_RE = re.compile(rf"^\s*{_CLOCK}\s*[-\u2013]\s*{_CLOCK}\s*$")


def parse_day_hours(text: str) -> DayHours:
    """``"09:00-12:00, 13:00-17:30"`` as intervals; empty text is a closed day.

    Raises :class:`CalendarError` for a malformed, empty, overlapping or unordered range.
    """
    intervals: list[Interval] = []
    for part in (p for p in text.split(",") if p.strip()):
        match = _RANGE_RE.match(part)
        if not match:
            raise CalendarError(
                f"{part.strip()!r} is not a range like 09:00-17:00 (24-hour clock)."
            )
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if start >= MINUTES_PER_DAY or end > MINUTES_PER_DAY:
            raise CalendarError(f"{part.strip()!r}: times go from 00:00 to 24:00.")
        if end <= start:
            raise CalendarError(
                f"{part.strip()!r} ends before it starts; split a night shift at "
                "24:00 into two days."
            )
        if intervals and start < intervals[-1][1]:
            raise CalendarError(
                f"{part.strip()!r} overlaps or comes before the range before it."
            )
        intervals.append((start, end))
    return tuple(intervals)


def format_day_hours(intervals: DayHours) -> str:
    """The inverse of :func:`parse_day_hours`: ``"09:00-17:00"``."""
    return ", ".join(f"{_clock(s)}-{_clock(e)}" for s, e in intervals)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def check_time_zone(name: str) -> str:
    """``name`` if it is an IANA time zone, else :class:`CalendarError`."""
    if name not in _zone_names():
        raise CalendarError(
            f"{name!r} is not an IANA time zone; use a name like Europe/Berlin."
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"{name!r} is not an IANA time zone.") from None
    return name


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def check_holiday_region(country: str, subdivision: str = "") -> tuple[str, str]:
    """The country (ISO 3166-1 alpha-2) and optional subdivision, normalized, if the
    ``holidays`` package knows them; else :class:`CalendarError`."""
    country, subdivision = country.strip().upper(), subdivision.strip().upper()
    if not country:
        if subdivision:
            raise CalendarError("A holiday subdivision needs a country.")
        return "", ""
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise CalendarError(
            f"No public holidays are known for country {country!r}; use a two-letter "
            "code such as DE, US or GB."
        )
    if subdivision and subdivision not in {s.upper() for s in supported[country]}:
        raise CalendarError(
            f"{country} has no subdivision {subdivision!r}; known ones: "
            f"{', '.join(supported[country][:30]) or 'none'}."
        )
    return country, subdivision


# --- days and their open intervals --------------------------------------------------


@lru_cache(maxsize=256)
def _holiday_dates(country: str, subdivision: str, year: int) -> frozenset[date]:
    found = holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    return frozenset(found.keys())


def is_closed_day(calendar: Calendar, day: date) -> bool:
    """Whether ``day`` (a local date) is a public holiday or an extra closed day."""
    hours = _hours(calendar)
    if day in hours.closed_days:
        return True
    if hours.holiday_country:
        return day in _holiday_dates(
            hours.holiday_country, hours.holiday_subdivision, day.year
        )
    return False


def _wall(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """Local wall-clock ``minutes`` after midnight of ``day`` as a UTC instant.

    A time the clocks skip (02:30 on the night they go forward) is read with the
    offset before the change, as PEP 495 does for ``fold=0``.
    """
    if minutes >= MINUTES_PER_DAY:
        day, minutes = day + timedelta(days=1), minutes - MINUTES_PER_DAY
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    return local.astimezone(UTC)


@lru_cache(maxsize=8192)
def day_intervals(
    hours: BusinessHours, day: date
) -> tuple[tuple[datetime, datetime], ...]:
    """The open intervals of local date ``day`` as sorted, disjoint UTC instants."""
    if is_closed_day(hours, day):
        return ()
    zone = hours.zone
    spans = sorted(
        (_wall(day, s, zone), _wall(day, e, zone))
        for s, e in hours.weekly[day.weekday()]
    )
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if end <= start:  # wholly inside the hour the clocks skip
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def _forward(
    hours: BusinessHours, start: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """Open intervals from ``start`` on, clipped so none begins before ``start`` or
    before the previous one ended."""
    day = start.astimezone(hours.zone).date() - timedelta(days=1)
    cursor = start
    for _ in range(SEARCH_DAYS):
        for s, e in day_intervals(hours, day):
            s = max(s, cursor)
            if e > s:
                yield s, e
                cursor = e
        day += timedelta(days=1)


def _backward(
    hours: BusinessHours, end: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """Open intervals before ``end``, latest first, clipped like :func:`_forward`."""
    day = end.astimezone(hours.zone).date() + timedelta(days=1)
    cursor = end
    for _ in range(SEARCH_DAYS):
        for s, e in reversed(day_intervals(hours, day)):
            e = min(e, cursor)
            if e > s:
                yield s, e
                cursor = s
        day -= timedelta(days=1)


# --- the public arithmetic ----------------------------------------------------------


def is_open(calendar: Calendar, at: datetime) -> bool:
    """Whether the calendar is open at the instant ``at`` (intervals are [start, end))."""
    hours = _hours(calendar)
    at = _aware(at, "at").astimezone(UTC)
    local_day = at.astimezone(hours.zone).date()
    return any(
        s <= at < e
        for day in (local_day - timedelta(days=1), local_day)
        for s, e in day_intervals(hours, day)
    )


def add_business_minutes(calendar: Calendar, start: datetime, minutes: int) -> datetime:
    """The instant ``minutes`` of open time after ``start`` (before it, if negative).

    Forward, it is the earliest instant by which that much open time has passed, so
    it lies inside or at the closing edge of an open interval (17:00, not the next
    morning's 09:00); backward, the latest instant with that much open time before
    ``start``. Zero minutes gives ``start`` back. Raises :class:`CalendarError` when
    the calendar has no open time within :data:`SEARCH_DAYS` days.
    """
    hours = _hours(calendar)
    start = _aware(start, "start").astimezone(UTC)
    if minutes == 0:
        return start.astimezone(hours.zone)
    remaining = abs(minutes) * MINUTE
    if minutes > 0:
        for s, e in _forward(hours, start):
            if remaining <= e - s:
                return (s + remaining).astimezone(hours.zone)
            remaining -= e - s
    else:
        for s, e in _backward(hours, start):
            if remaining <= e - s:
                return (e - remaining).astimezone(hours.zone)
            remaining -= e - s
    raise CalendarError(
        f"The calendar has no open hours within {SEARCH_DAYS // 365} years."
    )


def _open_time(hours: BusinessHours, a: datetime, b: datetime) -> timedelta:
    if b < a:
        return -_open_time(hours, b, a)
    total = timedelta()
    for s, e in _forward(hours, a):
        if s >= b:
            break
        total += min(e, b) - s
    return total


def business_seconds_between(calendar: Calendar, a: datetime, b: datetime) -> float:
    """Open time between ``a`` and ``b`` in seconds; negative when ``b`` is before ``a``."""
    a, b = _aware(a, "a").astimezone(UTC), _aware(b, "b").astimezone(UTC)
    return _open_time(_hours(calendar), a, b).total_seconds()


def business_minutes_between(calendar: Calendar, a: datetime, b: datetime) -> int:
    """Whole minutes of open time between ``a`` and ``b`` (rounded towards zero);
    negative when ``b`` is before ``a``.
    ``business_minutes_between(c, s, add_business_minutes(c, s, m)) == m``."""
    a, b = _aware(a, "a").astimezone(UTC), _aware(b, "b").astimezone(UTC)
    open_time = _open_time(_hours(calendar), a, b)
    whole = abs(open_time) // MINUTE
    return whole if open_time >= timedelta() else -whole


# Used where no calendar is configured at all: SLA targets count wall-clock minutes.
ALWAYS_OPEN = BusinessHours(weekly=(((0, MINUTES_PER_DAY),),) * 7)
