"""Times of day, parts of day, limits and urgency (bot/understanding/times.py), read directly.

`time_of_day` reads normalized text whose dates are masked (NUL runs, see dates.py), alongside the
same text unmasked; where no date was said the two are the same.
"""

from __future__ import annotations

from datetime import time

import pytest

from bot.understanding.times import part_of_day, time_of_day, urgency


@pytest.mark.parametrize(
    "text, part, expected",
    [
        ("9:15am", None, time(9, 15)),
        ("14:00", None, time(14, 0)),
        ("a quarter past 3pm", None, time(15, 15)),
        ("ten to 4", None, time(15, 50)),
        ("noon", None, time(12, 0)),
        ("at three fifteen", None, time(15, 15)),
        ("at 1030", None, time(10, 30)),  # typed without its colon
        ("at 3", None, time(15, 0)),  # a bare hour is read in clinic hours
        ("at 10", None, time(10, 0)),
        ("at 8", "evening", time(20, 0)),  # the part of day said with it overrides
        ("quarter to 12 in the morning", "morning", time(11, 45)),
    ],
)
def test_a_time_is_read_as_the_clinic_would_hear_it(text, part, expected):
    assert time_of_day(text, part, text) == (expected, None)


@pytest.mark.parametrize("text", ["by 2026", "for 2 hours", "3 kids", "three fifteen"])
def test_years_durations_counts_and_bare_number_words_are_no_time(text):
    assert time_of_day(text, None, text) == (None, None)


@pytest.mark.parametrize(
    "text, expected, bound",
    [
        ("after 3", time(15, 0), "after"),
        ("before 10am", time(10, 0), "before"),
        ("any time after 2:30", time(14, 30), "after"),
    ],
)
def test_after_or_before_makes_the_time_a_limit(text, expected, bound):
    assert time_of_day(text, None, text) == (expected, bound)


def test_a_number_inside_a_masked_date_is_never_an_hour():
    masked = "\x00" * len("march 3") + " in the afternoon"
    assert time_of_day(masked, "afternoon", "march 3 in the afternoon") == (None, None)


def test_a_bare_hour_right_after_a_date_is_the_time_on_that_day():
    masked = "\x00" * len("tomorrow") + " 3"
    assert time_of_day(masked, None, "tomorrow 3") == (time(15, 0), None)


def test_an_hour_said_with_tonight_is_read_where_the_date_is_still_spelled_out():
    masked = "8 " + "\x00" * len("tonight")
    assert time_of_day(masked, "evening", "8 tonight") == (time(20, 0), None)


@pytest.mark.parametrize(
    "text, part",
    [
        ("first thing", "morning"),
        ("after lunch", "afternoon"),
        ("tonight", "evening"),
        ("in the evening", "evening"),
        ("good morning", None),  # a greeting
        ("i am free", None),  # "am" as in "I am"
        ("three pm", None),  # am/pm said with a time
        ("last night", None),
    ],
)
def test_a_part_of_day_is_named_by_its_words_not_by_a_greeting_or_a_time(text, part):
    assert part_of_day(text) == part


@pytest.mark.parametrize(
    "text, expected",
    [
        ("asap", "urgent"),
        ("first available please", "urgent"),
        ("as soon as possible", "urgent"),
        ("earliest", "urgent"),
        ("whenever", None),
        ("next week", None),
    ],
)
def test_asking_for_the_soonest_time_is_urgent(text, expected):
    assert urgency(text) == expected


@pytest.mark.parametrize("text", ["0 to midnight", "00 to midnight", "5 to midnight"])
def test_minutes_before_midnight_never_raise(text):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.understanding.nlu import understand

    understood = understand(text, datetime(2026, 3, 4, 10, tzinfo=ZoneInfo("America/New_York")))
    assert understood.time is None or understood.time.hour in (0, 23)
