"""Date phrases and the day each means (bot/understanding/dates.py), read directly.

`find_date` works on normalized text (lower case); today is Wednesday 2026-03-04.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot.understanding.dates import day_of_month, find_date

TODAY = date(2026, 3, 4)  # a Wednesday


@pytest.mark.parametrize(
    "text, day, problem",
    [
        ("next tuesday", date(2026, 3, 10), None),  # the coming Tuesday, not the one after
        ("wednesday", date(2026, 3, 11), None),  # said on a Wednesday: a week later
        ("monday next week", date(2026, 3, 9), None),
        ("in two weeks", date(2026, 3, 18), None),
        ("the 2nd", date(2026, 4, 2), None),  # this month's is gone: next month's
        ("the 11th of this month", date(2026, 3, 11), None),
        ("saturday 14", date(2026, 3, 14), None),  # the 14th, not 14:00
        ("the first tuesday of next month", date(2026, 4, 7), None),
        ("the twenty-first", date(2026, 3, 21), None),
        ("march 2nd", date(2026, 3, 2), "past"),  # a slip, not next year
        ("2026-01-05", date(2026, 1, 5), "past"),
        ("february 30th", None, "impossible"),
        ("dec 45", None, "impossible"),
    ],
)
def test_a_date_phrase_means_its_day_in_the_clinics_words(text, day, problem):
    assert find_date(text, TODAY)[:2] == (day, problem)


@pytest.mark.parametrize("text", ["24/7", "first thing", "the first available", "call me"])
def test_what_only_looks_like_a_date_names_none(text):
    assert find_date(text, TODAY)[:2] == (None, None)


@pytest.mark.parametrize(
    "text", ["next tuesday at 3", "saturday 14 at 10", "the 2nd at 9", "march 9 2027 at 4"]
)
def test_a_date_is_masked_in_place_so_its_numbers_are_never_an_hour(text):
    _, _, masked, unmasked = find_date(text, TODAY)
    assert len(masked) == len(unmasked) == len(text)
    assert masked.endswith(text[text.index(" at ") :])
    assert masked[: text.index(" at ")].strip("\x00") == ""


def test_a_phone_number_is_blanked_and_is_no_date():
    text = "call 212-555-0123 tomorrow"
    day, problem, masked, unmasked = find_date(text, TODAY)
    assert (day, problem) == (date(2026, 3, 5), None)
    assert unmasked == "call" + " " * 14 + "tomorrow"
    assert not any(c.isdigit() for c in masked)


def test_days_in_words_reach_the_rules_as_digits_in_the_same_place():
    _, _, _, unmasked = find_date("on the third at 2", TODAY)
    assert unmasked == "on the 3rd   at 2"


@pytest.mark.parametrize(
    "day, which, expected",
    [
        (2, None, (date(2026, 4, 2), None)),  # the first such day from today on
        (4, None, (TODAY, None)),
        (2, "this", (date(2026, 3, 2), "past")),  # pinned to this month, even when gone
        (31, "next", (None, "impossible")),  # April has no 31st
        (32, None, (None, "impossible")),
    ],
)
def test_a_day_of_the_month_is_this_months_or_the_next_that_has_it(day, which, expected):
    assert day_of_month(TODAY, day, which) == expected
