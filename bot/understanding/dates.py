"""Date phrases in a message and the day each one means, in the clinic's words.

`find_date(text, today)` returns the date the message names (relative to `today`, the clinic's
today), a problem with it, and the text with every date phrase masked, so the numbers inside a
date are never read as a time (bot/understanding/times.py reads what is left).

* Weekday names ("tue", "thurs", "this friday", "next tuesday") mean the next such day strictly
  after today: a patient saying "next Tuesday" on a Wednesday nearly always means the coming
  Tuesday, and "friday" said on a Friday means a week later ("today" says today). "Monday next
  week" / "next week Monday" is that weekday in the next ISO week; "next week" alone is its
  Monday.
* "the 7th" is this month's 7th unless that is before today, else the first later month that has
  a 7th; "the 11th of this month" stays in this month even when past. Days in words read the same
  ("on the third", "the first of March", "march twenty first"), and so does a day number right
  after a weekday ("saturday the 14th", "Saturday 14": the 14th, not 14:00). "the first Tuesday
  of next month", "the second monday in april", "the last friday of the month" are that weekday
  of that month.
* A date named without a year ("March 9", "3/9", US month/day) is this year's unless that is
  before today, else next year's, except that a date at most a month gone is read as that past
  date. An explicit date before today comes with the problem "past"; a day that does not exist
  ("February 30th") gives no date and the problem "impossible".
* Numbers inside phone numbers are no date (nor time).

The project's rules find the date phrase (their words and patterns are
bot/understanding/date_patterns.py's); python-dateutil does the calendar underneath: its parser
reads the matched phrase strictly ("March 9th", "9 of March 2027", "3/9", "2027-03-09", a day that
does not exist is refused), and `relativedelta` does the weekday and month arithmetic. dateutil's
fuzzy mode is never run over the whole message: it guesses (a bare "3" becomes the 3rd, "may" the
month), which is why the rules pick the phrase first.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from dateutil import parser as dateutil_parser
from dateutil.relativedelta import MO, relativedelta
from dateutil.relativedelta import weekday as rd_weekday

from bot.understanding.date_patterns import (
    COUNT,
    DAY_AFTER_TOMORROW,
    DAY_MONTH,
    IN_DAYS,
    ISO_DATE,
    MONTH_DAY,
    MONTHS,
    NEXT_WEEK,
    NTH,
    NTH_WEEKDAY,
    ORDINAL_DAY,
    ORDINAL_STEMS,
    ORDINAL_WORD_DAY,
    PHONE,
    TODAY,
    TOMORROW,
    US_DATE,
    WEEKDAY_DAY,
    WEEKDAY_NAME,
    WEEKDAY_NEXT_WEEK,
    WEEKDAYS,
    YESTERDAY,
    day_in_digits,
)
from bot.understanding.text import DIGIT, holds

# A year-less date at most this many days before today is read as a past date, not next year's.
RECENT_PAST_DAYS = 31


def _calendar(phrase: str, year: int) -> dt.date | None:
    """dateutil's reading of one matched date phrase, the year taken from `year` when the phrase
    has none; None when that day does not exist (February 30th, or Feb 29 outside leap years)."""
    phrase = _THE.sub(" ", phrase)
    try:
        return dateutil_parser.parse(phrase, default=dt.datetime(year, 1, 1), fuzzy=False).date()
    except (ValueError, OverflowError):
        return None


_THE = re.compile(r"\bthe\b")


def _yearless(today: dt.date, phrase: str) -> tuple[dt.date | None, str | None]:
    """This year's date unless it is before today, else next year's; a day that exists in
    neither year (Feb 29 outside leap years, Feb 30) is impossible. A date only a few weeks gone
    ("March 2nd" on March 4th) is a slip, not next year: it comes back as past."""
    return _this_or_next_year(today, lambda year: _calendar(phrase, year))


def _this_or_next_year(
    today: dt.date, on: Callable[[int], dt.date | None]
) -> tuple[dt.date | None, str | None]:
    """`_yearless` for any year-less day: `on(year)` is that day in the year, or None."""
    this_year = on(today.year)
    if this_year is not None and this_year >= today:
        return this_year, None
    if this_year is not None and (today - this_year).days <= RECENT_PAST_DAYS:
        return this_year, "past"
    next_year = on(today.year + 1)
    return (next_year, None) if next_year is not None else (None, "impossible")


def _explicit(phrase: str, today: dt.date) -> tuple[dt.date | None, str | None]:
    candidate = _calendar(phrase, today.year)
    if candidate is None:
        return None, "impossible"
    return candidate, ("past" if candidate < today else None)


def _nth_of_month(today: dt.date, months_ahead: int, day: int) -> dt.date | None:
    first = today.replace(day=1) + relativedelta(months=months_ahead)
    try:  # numbers already, nothing for a parser to read
        return first.replace(day=day)
    except ValueError:
        return None


def day_of_month(today: dt.date, day: int, which: str | None) -> tuple[dt.date | None, str | None]:
    if not 1 <= day <= 31:
        return None, "impossible"
    if which == "this":
        candidate = _nth_of_month(today, 0, day)
        if candidate is None:
            return None, "impossible"
        return candidate, ("past" if candidate < today else None)
    if which == "next":
        candidate = _nth_of_month(today, 1, day)
        return (candidate, None) if candidate else (None, "impossible")
    for ahead in range(0, 13):
        candidate = _nth_of_month(today, ahead, day)
        if candidate is not None and candidate >= today:
            return candidate, None
    return None, "impossible"


def _next_weekday(today: dt.date, weekday: int) -> dt.date:
    return today + relativedelta(days=1, weekday=rd_weekday(weekday)(+1))


def _weekday_next_week(today: dt.date, weekday: int) -> dt.date:
    monday = today + relativedelta(weekday=MO(-1))
    return monday + relativedelta(weeks=1, days=weekday)


def _count(text: str) -> int:
    return int(text) if text.isdigit() else COUNT.get(text, 1)


# Each entry: pattern, and a resolver from (match, today) to (date, problem).
def _resolve_iso(m: re.Match, today: dt.date):
    return _explicit(m.group(0), today)


def _resolve_numeric(m: re.Match, today: dt.date):
    month, day = int(m["month"]), int(m["day"])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None  # "24/7" is no date (and dateutil would swap it into July 24th)
    if m["year"]:
        year = int(m["year"])
        return _explicit(f"{year + 2000 if year < 100 else year}-{month}-{day}", today)
    return _yearless(today, f"{month}/{day}")


def _resolve_named_month(m: re.Match, today: dt.date):
    if not 1 <= int(m["day"]) <= 31:  # dateutil would read "dec 45" as December 2045
        return None, "impossible"
    phrase = f"{m['month']} {m['day']}"
    if m["year"]:
        return _explicit(f"{phrase} {m['year']}", today)
    return _yearless(today, phrase)


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> dt.date | None:
    """The nth (or, for -1, the last) such weekday of the month; None when it has no fifth."""
    first = dt.date(year, month, 1)
    if nth < 0:
        day = first + relativedelta(day=31, weekday=rd_weekday(weekday)(-1))
    else:
        day = first + relativedelta(weekday=rd_weekday(weekday)(nth))
    return day if day.month == month else None


def _resolve_nth_weekday(m: re.Match, today: dt.date):
    weekday, nth = WEEKDAYS[m["day"]], NTH[m["nth"]]
    if m["month"]:
        month = MONTHS[m["month"]]
        if m["year"]:
            day = _nth_weekday(int(m["year"]), month, weekday, nth)
            return (day, "past" if day < today else None) if day else (None, "impossible")
        return _this_or_next_year(today, lambda year: _nth_weekday(year, month, weekday, nth))
    # "of the month" and "of this month" are this month, even when it is already past.
    ahead = 1 if m["which"] in ("next", "coming") else 0
    first = today.replace(day=1) + relativedelta(months=ahead)
    day = _nth_weekday(first.year, first.month, weekday, nth)
    return (day, "past" if day < today else None) if day else (None, "impossible")


def _resolve_weekday_day(m: re.Match, today: dt.date):
    return day_of_month(today, int(m["day"]), None)


def _resolve_ordinal(m: re.Match, today: dt.date):
    return day_of_month(today, int(m["day"]), m["which"])


def _resolve_day_after_tomorrow(m: re.Match, today: dt.date):
    return today + dt.timedelta(days=2), None


def _resolve_today(m: re.Match, today: dt.date):
    return today, None


def _resolve_yesterday(m: re.Match, today: dt.date):
    return today - dt.timedelta(days=1), "past"


def _resolve_tomorrow(m: re.Match, today: dt.date):
    return today + dt.timedelta(days=1), None


def _resolve_in_days(m: re.Match, today: dt.date):
    unit = m["unit"] or m["unit2"]
    count = _count(m["count"] or m["count2"])
    per = {"d": 1, "w": 7, "f": 14}[unit[0]]
    if count * per > 3660:
        return None, "impossible"
    return today + dt.timedelta(days=count * per), None


def _resolve_weekday_next_week(m: re.Match, today: dt.date):
    return _weekday_next_week(today, WEEKDAYS[m["day"] or m["day2"]]), None


def _resolve_weekday(m: re.Match, today: dt.date):
    return _next_weekday(today, WEEKDAYS[m["day"]]), None


def _resolve_next_week(m: re.Match, today: dt.date):
    return _weekday_next_week(today, 0), None


# Most specific first: the first that matches gives the date; all of them are masked so the
# numbers inside them are never read as times. The third column: words one of which the text
# must hold for the search to be worth running (`_DIGITS`: a digit), as searching is most of what
# a message costs.
_DIGITS = tuple("0123456789")
_DATE_RULES = (
    (NTH_WEEKDAY, _resolve_nth_weekday, tuple(NTH)),
    (MONTH_DAY, _resolve_named_month, _DIGITS),
    (DAY_MONTH, _resolve_named_month, _DIGITS),
    (US_DATE, _resolve_numeric, _DIGITS),
    (WEEKDAY_DAY, _resolve_weekday_day, _DIGITS),
    (ORDINAL_DAY, _resolve_ordinal, _DIGITS),
    (IN_DAYS, _resolve_in_days, ("day", "week", "fortnight")),
    (DAY_AFTER_TOMORROW, _resolve_day_after_tomorrow, ("after",)),
    (TODAY, _resolve_today, ("today", "tonight", "tonite", "this")),
    (YESTERDAY, _resolve_yesterday, ("yesterday",)),
    (TOMORROW, _resolve_tomorrow, ("tom", "tmr", "2mor")),
    (WEEKDAY_NEXT_WEEK, _resolve_weekday_next_week, ("next",)),
    (WEEKDAY_NAME, _resolve_weekday, ("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
    (NEXT_WEEK, _resolve_next_week, ("next",)),
)


def find_date(text: str, today: dt.date) -> tuple[dt.date | None, str | None, str, str]:
    """The date the message names, its problem, the text with every date phrase masked, and the
    text as the date rules read it before masking (phone numbers blanked, days in digits)."""
    found: tuple[dt.date | None, str | None] | None = None
    has_digit = DIGIT.search(text) is not None
    if has_digit:
        # ISO first: its dashes would otherwise look like a phone number.
        match = ISO_DATE.search(text)
        if match:
            found = _resolve_iso(match, today)
            text = ISO_DATE.sub(lambda m: "\x00" * len(m.group()), text)
        text = PHONE.sub(lambda m: " " * len(m.group()), text)
    if holds(text, ORDINAL_STEMS):
        spelled = ORDINAL_WORD_DAY.sub(day_in_digits, text)
        has_digit = has_digit or spelled != text
        text = spelled
    unmasked = text
    for pattern, resolve, needs in _DATE_RULES:
        if not (has_digit if needs is _DIGITS else holds(text, needs)):
            continue
        match = pattern.search(text)
        if match is None:
            continue
        if found is None:
            found = resolve(match, today)  # None: not a date after all ("24/7")
        text = pattern.sub(lambda m: "\x00" * len(m.group()), text)
    date, problem = found if found else (None, None)
    return date, problem, text, unmasked
