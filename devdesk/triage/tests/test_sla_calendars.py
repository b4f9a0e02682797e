"""Business-hours arithmetic, by examples and by properties, across DST and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devdesk.triage.calendars import (
    BusinessHours,
    CalendarError,
    add_business_minutes,
    business_minutes_between,
    check_holiday_region,
    is_open,
    parse_day_hours,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS_9_TO_5 = (((540, 1020),),) * 5 + ((), ())

berlin = BusinessHours(
    "Europe/Berlin",
    (((540, 720), (780, 1020)),) * 5 + ((), ()),
    holiday_country="DE",
    holiday_subdivision="BE",
    closed_days=frozenset({date(2024, 12, 24)}),
)
new_york = BusinessHours("America/New_York", WEEKDAYS_9_TO_5, holiday_country="US")
# Open around the clock on Sundays, when both zones change their clocks.
night_shift = BusinessHours("Europe/Berlin", (((0, 240),),) * 6 + (((0, 1440),),))
CALENDARS = [berlin, new_york, night_shift]

# Instants around the 2024 DST changes of both zones, and the year's holidays.
instants = st.datetimes(
    min_value=datetime(2024, 3, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=datetime(2024, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
minutes = st.integers(min_value=1, max_value=5 * 8 * 60 * 4)
calendars = st.sampled_from(CALENDARS)


@given(calendars, instants, minutes)
def test_adding_then_measuring_gives_the_minutes_back(calendar, start, m):
    end = add_business_minutes(calendar, start, m)
    assert business_minutes_between(calendar, start, end) == m


@given(calendars, instants, minutes)
def test_subtracting_then_measuring_gives_the_minutes_back(calendar, end, m):
    start = add_business_minutes(calendar, end, -m)
    assert start <= end
    assert business_minutes_between(calendar, start, end) == m


@given(calendars, instants, minutes, minutes)
def test_adding_more_minutes_never_ends_earlier(calendar, start, a, b):
    low, high = sorted((a, b))
    assert add_business_minutes(calendar, start, low) <= add_business_minutes(
        calendar, start, high
    )


@given(calendars, instants, minutes)
def test_the_result_ends_open_time(calendar, start, m):
    end = add_business_minutes(calendar, start, m)
    assert end > start
    assert is_open(calendar, end - timedelta(microseconds=1))


@given(calendars, instants, instants, instants)
@settings(max_examples=50)
def test_measuring_adds_up_over_consecutive_spans(calendar, a, b, c):
    a, b, c = sorted((a, b, c))
    whole = business_minutes_between(calendar, a, c)
    parts = business_minutes_between(calendar, a, b) + business_minutes_between(
        calendar, b, c
    )
    assert parts in {whole, whole - 1}  # each part rounds its seconds down
    assert business_minutes_between(calendar, c, a) == -whole


def test_results_are_aware_and_in_the_calendars_zone():
    start = datetime(2024, 6, 3, 7, 0, tzinfo=UTC)
    end = add_business_minutes(berlin, start, 60)
    assert end.tzinfo is not None
    assert end == datetime(2024, 6, 3, 10, 0, tzinfo=BERLIN)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_minutes(berlin, datetime(2024, 6, 3, 9, 0), 5)  # noqa: DTZ001


def test_lunch_break_is_not_counted():
    start = datetime(2024, 6, 3, 11, 30, tzinfo=BERLIN)
    assert add_business_minutes(berlin, start, 60) == datetime(
        2024, 6, 3, 13, 30, tzinfo=BERLIN
    )


def test_easter_holidays_in_berlin_are_skipped():
    # Thursday before Good Friday, 16:00; Good Friday and Easter Monday are closed.
    start = datetime(2024, 3, 28, 16, 0, tzinfo=BERLIN)
    assert add_business_minutes(berlin, start, 120) == datetime(
        2024, 4, 2, 10, 0, tzinfo=BERLIN
    )
    assert not is_open(berlin, datetime(2024, 4, 1, 10, 0, tzinfo=BERLIN))


def test_berlin_subdivision_holiday_is_closed_but_not_elsewhere():
    # International Women's Day is a holiday in Berlin only.
    womens_day = datetime(2024, 3, 8, 10, 0, tzinfo=BERLIN)
    assert not is_open(berlin, womens_day)
    bavaria = BusinessHours("Europe/Berlin", WEEKDAYS_9_TO_5, "DE", "BY")
    assert is_open(bavaria, womens_day)


def test_extra_closed_days_are_closed():
    assert not is_open(berlin, datetime(2024, 12, 24, 10, 0, tzinfo=BERLIN))
    assert is_open(berlin, datetime(2024, 12, 23, 10, 0, tzinfo=BERLIN))


def test_us_independence_day_is_skipped_in_new_york():
    start = datetime(2024, 7, 3, 16, 0, tzinfo=NEW_YORK)
    assert add_business_minutes(new_york, start, 120) == datetime(
        2024, 7, 5, 10, 0, tzinfo=NEW_YORK
    )


def test_weekday_hours_keep_their_length_across_the_spring_change():
    # Berlin moves to summer time on Sunday 31 March 2024; New York on 10 March.
    friday = datetime(2024, 3, 8, 17, 0, tzinfo=NEW_YORK)
    monday = datetime(2024, 3, 11, 9, 0, tzinfo=NEW_YORK)
    assert business_minutes_between(new_york, friday, monday) == 0
    assert add_business_minutes(new_york, friday, 60) == datetime(
        2024, 3, 11, 10, 0, tzinfo=NEW_YORK
    )


def test_the_night_the_clocks_go_forward_is_an_hour_shorter():
    sunday = datetime(2024, 3, 31, 0, 0, tzinfo=BERLIN)
    monday = datetime(2024, 4, 1, 0, 0, tzinfo=BERLIN)
    assert business_minutes_between(night_shift, sunday, monday) == 23 * 60


def test_the_night_the_clocks_go_back_is_an_hour_longer():
    sunday = datetime(2024, 10, 27, 0, 0, tzinfo=BERLIN)
    monday = datetime(2024, 10, 28, 0, 0, tzinfo=BERLIN)
    assert business_minutes_between(night_shift, sunday, monday) == 25 * 60
    # 02:30 happens twice; the arithmetic counts real time.
    end = add_business_minutes(night_shift, sunday, 3 * 60)
    assert end == datetime(2024, 10, 27, 2, 0, fold=1, tzinfo=BERLIN)
    assert end.astimezone(UTC) == datetime(2024, 10, 27, 1, 0, tzinfo=UTC)


def test_is_open_respects_interval_edges():
    assert is_open(berlin, datetime(2024, 6, 3, 9, 0, tzinfo=BERLIN))
    assert not is_open(berlin, datetime(2024, 6, 3, 12, 0, tzinfo=BERLIN))
    assert not is_open(berlin, datetime(2024, 6, 8, 10, 0, tzinfo=BERLIN))  # Saturday


def test_a_calendar_without_open_hours_gives_a_clear_error():
    closed = BusinessHours("UTC", ((),) * 7)
    with pytest.raises(CalendarError, match="no open hours"):
        add_business_minutes(closed, datetime(2024, 1, 1, tzinfo=UTC), 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9-17", "not a range"),
        ("17:00-09:00", "ends before it starts"),
        ("09:00-12:00, 11:00-13:00", "overlaps"),
        ("09:00-25:00", "not a range"),
    ],
)
def test_bad_hours_are_refused_with_a_reason(text, message):
    with pytest.raises(CalendarError, match=message):
        parse_day_hours(text)


def test_hours_parse_into_minutes():
    assert parse_day_hours("08:30-12:00, 13:00-24:00") == ((510, 720), (780, 1440))
    assert parse_day_hours("  ") == ()


def test_unknown_holiday_regions_and_zones_are_refused():
    with pytest.raises(CalendarError, match="No public holidays"):
        check_holiday_region("XX")
    with pytest.raises(CalendarError, match="no subdivision"):
        check_holiday_region("DE", "ZZ")
    assert check_holiday_region("de", "by") == ("DE", "BY")
    with pytest.raises(CalendarError, match="IANA"):
        BusinessHours("Mars/Olympus", WEEKDAYS_9_TO_5)
