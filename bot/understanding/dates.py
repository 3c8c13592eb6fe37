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

The project's rules find the date phrase; python-dateutil does the calendar underneath: its parser
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

from bot.understanding.text import DIGIT, ORDINAL_SUFFIX, holds

# A year-less date at most this many days before today is read as a past date, not next year's.
RECENT_PAST_DAYS = 31

MONTHS = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
WEEKDAYS = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tues": 1,
    "tue": 1,
    "wednesday": 2,
    "weds": 2,
    "wed": 2,
    "thursday": 3,
    "thurs": 3,
    "thur": 3,
    "thu": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
_WEEKDAY = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_COUNT = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "couple": 2,
    "a couple": 2,
    "a couple of": 2,
    "couple of": 2,
}
_YEAR = r"(?:,?\s*(?P<year>20\d\d)\b)?"

_ISO_DATE = re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})\b")
_US_DATE = re.compile(
    r"(?<![\d/.])(?P<month>\d{1,2})/(?P<day>\d{1,2})(?:/(?P<year>\d{4}|\d{2}))?"
    r"(?![\d/])"
)
_MONTH_DAY = re.compile(
    rf"\b(?P<month>{_MONTH})\.?\s+(?:the\s+)?(?P<day>\d{{1,2}})"
    rf"(?:{ORDINAL_SUFFIX})?\b{_YEAR}"
)
_DAY_MONTH = re.compile(
    rf"\b(?:the\s+)?(?P<day>\d{{1,2}})(?:{ORDINAL_SUFFIX})?\s+(?:of\s+)?"
    rf"(?P<month>{_MONTH})\b\.?{_YEAR}"
)
_ORDINAL_DAY = re.compile(
    rf"\b(?:the\s+)?(?P<day>\d{{1,2}}){ORDINAL_SUFFIX}\b"
    rf"(?:\s+of\s+(?P<which>this|next)\s+month\b)?"
)
_DAY_AFTER_TOMORROW = re.compile(r"\b(?:the\s+)?day after (?:tomorrow|tmrw|tmr|tmrow|tomorow)\b")
_TODAY = re.compile(r"\b(?:today|tonight|tonite|this (?:morning|afternoon|evening))\b")
_YESTERDAY = re.compile(r"\byesterday\b")
_TOMORROW = re.compile(r"\b(?:tomorrow|tmrw|tmr|tmrow|tomorow|tomm?or+ow|2moro|2morrow)\b")
_COUNT_WORDS = (
    r"\d{1,3}|a couple of|a couple|couple of|an?|one|two|three|four|five|six|seven"
    r"|eight|nine|ten"
)
_IN_DAYS = re.compile(
    rf"\bin\s+(?P<count>{_COUNT_WORDS})\s+(?P<unit>days?|weeks?|fortnights?)\b"
    rf"|\b(?P<count2>{_COUNT_WORDS})\s+(?P<unit2>days?|weeks?|fortnights?)\s+"
    rf"(?:from\s+)?(?:now|today)\b"
)
_WEEKDAY_NEXT_WEEK = re.compile(
    rf"\b(?:on\s+)?(?P<day>{_WEEKDAY})\.?\s+(?:of\s+|in\s+)?next\s+week\b"
    rf"|\bnext\s+week\s*,?\s*(?:on\s+)?(?P<day2>{_WEEKDAY})\b"
)
_WEEKDAY_NAME = re.compile(
    rf"\b(?:(?:this|next|coming|this coming|on)\s+)?(?P<day>{_WEEKDAY})\b\.?"
)
_NEXT_WEEK = re.compile(r"\bnext\s+week\b")
# "the first Tuesday of next month", "the second monday in april", "the last friday of the month".
_NTH = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "last": -1,
}
_NTH_WEEKDAY = re.compile(
    rf"\b(?:the\s+)?(?P<nth>{'|'.join(_NTH)})\s+(?P<day>{_WEEKDAY})\.?\s+(?:of|in)\s+"
    rf"(?:(?:the\s+)?(?:(?P<which>this|next|coming)\s+)?month\b|(?P<month>{_MONTH})\b\.?{_YEAR})"
)
# "saturday the 14th", "sat 14th", "Saturday 14": a day number right after a weekday is the day of
# the month, not an hour. Without "th" it must end the phrase or go on as a day would ("saturday
# 14 at 3", "friday 10 for a checkup"): "friday 10am", "monday 9-11", "friday 2 or 3", "tuesday 3
# in the afternoon", "monday 2 kids" are no days, and "friday, 10" with its comma is Friday at 10.
_WEEKDAY_DAY = re.compile(
    rf"\b(?P<weekday>{_WEEKDAY})\.?\s+(?:the\s+)?(?P<day>\d{{1,2}})(?P<suffix>{ORDINAL_SUFFIX})?\b"
    r"(?(suffix)|(?=\s*(?:$|[,.;!?)]|(?:at|around|about|after|before|by|for|with|please|pls|if"
    r"|then|works?|is|would|could|ok|okay|thanks|thank)\b)))"
)

# Days of the month in words ("the first of March", "on the third", "the twenty-first", "march
# twenty first") are rewritten as digits, padded to the same length, for the rules above. Bare
# "first"/"second" mean many things ("first thing", "the first available", "the second one"), so
# a word is a day only after a month, before "of <month>", or as "the <ordinal>" where the phrase
# ends or goes on as a date would ("on the third at 2", "the fifth, please").
_FIRST_NINE = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")
_DAY_ORDINALS = {
    **{word: n for n, word in enumerate(_FIRST_NINE, 1)},
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
    "thirtyfirst": 31,
    **{f"twenty{word}": 20 + n for n, word in enumerate(_FIRST_NINE, 1)},
}
_DAY_ORDINAL = (
    rf"twenty[\s-]?(?:{'|'.join(_FIRST_NINE)})|thirty[\s-]?first"
    rf"|{'|'.join(sorted(_DAY_ORDINALS, key=len, reverse=True))}"
)
_ORDINAL_WORD_DAY = re.compile(
    rf"\b(?:{_MONTH})\.?\s+(?:the\s+)?(?P<after_month>{_DAY_ORDINAL})\b"
    rf"|\b(?P<before_of>{_DAY_ORDINAL})(?=\s+of\s+(?:(?:{_MONTH})\b|(?:this|next)\s+month\b))"
    rf"|\bthe\s+(?P<the>{_DAY_ORDINAL})(?=\s*(?:$|[,.;:!?)@\d]|(?:at|around|about|after|before"
    r"|by|in the|or|and|please|pls|if|for|with|then|works?|is|morning|afternoon|evening)\b))"
)

# Phone-number-like runs (7+ digits with separators) are neither dates nor times.
_PHONE = re.compile(r"(?<![\d:])\+?\(?\d(?:[\s\-.()]{0,2}\d){6,}")


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
    return int(text) if text.isdigit() else _COUNT.get(text, 1)


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
    weekday, nth = WEEKDAYS[m["day"]], _NTH[m["nth"]]
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
    (_NTH_WEEKDAY, _resolve_nth_weekday, tuple(_NTH)),
    (_MONTH_DAY, _resolve_named_month, _DIGITS),
    (_DAY_MONTH, _resolve_named_month, _DIGITS),
    (_US_DATE, _resolve_numeric, _DIGITS),
    (_WEEKDAY_DAY, _resolve_weekday_day, _DIGITS),
    (_ORDINAL_DAY, _resolve_ordinal, _DIGITS),
    (_IN_DAYS, _resolve_in_days, ("day", "week", "fortnight")),
    (_DAY_AFTER_TOMORROW, _resolve_day_after_tomorrow, ("after",)),
    (_TODAY, _resolve_today, ("today", "tonight", "tonite", "this")),
    (_YESTERDAY, _resolve_yesterday, ("yesterday",)),
    (_TOMORROW, _resolve_tomorrow, ("tom", "tmr", "2mor")),
    (_WEEKDAY_NEXT_WEEK, _resolve_weekday_next_week, ("next",)),
    (_WEEKDAY_NAME, _resolve_weekday, ("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
    (_NEXT_WEEK, _resolve_next_week, ("next",)),
)
# Every day-of-month word holds one of these ("first", "twelfth", "twenty-third", "thirtieth").
_ORDINAL_STEMS = ("first", "second", "third", "fth", "xth", "nth", "rth", "hth", "ieth")


def _day_in_digits(m: re.Match) -> str:
    """ "twenty-first" -> "21st" padded to the word's length, so every span stays where it was."""
    name = next(group for group in ("after_month", "before_of", "the") if m[group])
    day = _DAY_ORDINALS[m[name].replace(" ", "").replace("-", "")]
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    start, end = m.start(name) - m.start(), m.end(name) - m.start()
    return m.group()[:start] + f"{day}{suffix}".ljust(end - start) + m.group()[end:]


def find_date(text: str, today: dt.date) -> tuple[dt.date | None, str | None, str, str]:
    """The date the message names, its problem, the text with every date phrase masked, and the
    text as the date rules read it before masking (phone numbers blanked, days in digits)."""
    found: tuple[dt.date | None, str | None] | None = None
    has_digit = DIGIT.search(text) is not None
    if has_digit:
        # ISO first: its dashes would otherwise look like a phone number.
        match = _ISO_DATE.search(text)
        if match:
            found = _resolve_iso(match, today)
            text = _ISO_DATE.sub(lambda m: "\x00" * len(m.group()), text)
        text = _PHONE.sub(lambda m: " " * len(m.group()), text)
    if holds(text, _ORDINAL_STEMS):
        spelled = _ORDINAL_WORD_DAY.sub(_day_in_digits, text)
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
