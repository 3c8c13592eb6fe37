"""How a message writes a date: the month and weekday names, the counts and ordinals, and the
pattern that finds each date phrase ("March 9", "3/9", "next tuesday", "the first Tuesday of next
month", "in two weeks", "the twenty-first"), with days in words rewritten as digits for them.

What day each phrase means is bot/understanding/dates.py's, which runs these patterns in order.
"""

from __future__ import annotations

import re

from bot.understanding.text import ORDINAL_SUFFIX

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
COUNT = {
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

ISO_DATE = re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})\b")
US_DATE = re.compile(
    r"(?<![\d/.])(?P<month>\d{1,2})/(?P<day>\d{1,2})(?:/(?P<year>\d{4}|\d{2}))?"
    r"(?![\d/])"
)
MONTH_DAY = re.compile(
    rf"\b(?P<month>{_MONTH})\.?\s+(?:the\s+)?(?P<day>\d{{1,2}})"
    rf"(?:{ORDINAL_SUFFIX})?\b{_YEAR}"
)
DAY_MONTH = re.compile(
    rf"\b(?:the\s+)?(?P<day>\d{{1,2}})(?:{ORDINAL_SUFFIX})?\s+(?:of\s+)?"
    rf"(?P<month>{_MONTH})\b\.?{_YEAR}"
)
ORDINAL_DAY = re.compile(
    rf"\b(?:the\s+)?(?P<day>\d{{1,2}}){ORDINAL_SUFFIX}\b"
    rf"(?:\s+of\s+(?P<which>this|next)\s+month\b)?"
)
DAY_AFTER_TOMORROW = re.compile(r"\b(?:the\s+)?day after (?:tomorrow|tmrw|tmr|tmrow|tomorow)\b")
TODAY = re.compile(r"\b(?:today|tonight|tonite|this (?:morning|afternoon|evening))\b")
YESTERDAY = re.compile(r"\byesterday\b")
TOMORROW = re.compile(r"\b(?:tomorrow|tmrw|tmr|tmrow|tomorow|tomm?or+ow|2moro|2morrow)\b")
_COUNT_WORDS = (
    r"\d{1,3}|a couple of|a couple|couple of|an?|one|two|three|four|five|six|seven"
    r"|eight|nine|ten"
)
IN_DAYS = re.compile(
    rf"\bin\s+(?P<count>{_COUNT_WORDS})\s+(?P<unit>days?|weeks?|fortnights?)\b"
    rf"|\b(?P<count2>{_COUNT_WORDS})\s+(?P<unit2>days?|weeks?|fortnights?)\s+"
    rf"(?:from\s+)?(?:now|today)\b"
)
WEEKDAY_NEXT_WEEK = re.compile(
    rf"\b(?:on\s+)?(?P<day>{_WEEKDAY})\.?\s+(?:of\s+|in\s+)?next\s+week\b"
    rf"|\bnext\s+week\s*,?\s*(?:on\s+)?(?P<day2>{_WEEKDAY})\b"
)
WEEKDAY_NAME = re.compile(rf"\b(?:(?:this|next|coming|this coming|on)\s+)?(?P<day>{_WEEKDAY})\b\.?")
NEXT_WEEK = re.compile(r"\bnext\s+week\b")
# "the first Tuesday of next month", "the second monday in april", "the last friday of the month".
NTH = {
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
NTH_WEEKDAY = re.compile(
    rf"\b(?:the\s+)?(?P<nth>{'|'.join(NTH)})\s+(?P<day>{_WEEKDAY})\.?\s+(?:of|in)\s+"
    rf"(?:(?:the\s+)?(?:(?P<which>this|next|coming)\s+)?month\b|(?P<month>{_MONTH})\b\.?{_YEAR})"
)
# "saturday the 14th", "sat 14th", "Saturday 14": a day number right after a weekday is the day of
# the month, not an hour. Without "th" it must end the phrase or go on as a day would ("saturday
# 14 at 3", "friday 10 for a checkup"): "friday 10am", "monday 9-11", "friday 2 or 3", "tuesday 3
# in the afternoon", "monday 2 kids" are no days, and "friday, 10" with its comma is Friday at 10.
WEEKDAY_DAY = re.compile(
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
ORDINAL_WORD_DAY = re.compile(
    rf"\b(?:{_MONTH})\.?\s+(?:the\s+)?(?P<after_month>{_DAY_ORDINAL})\b"
    rf"|\b(?P<before_of>{_DAY_ORDINAL})(?=\s+of\s+(?:(?:{_MONTH})\b|(?:this|next)\s+month\b))"
    rf"|\bthe\s+(?P<the>{_DAY_ORDINAL})(?=\s*(?:$|[,.;:!?)@\d]|(?:at|around|about|after|before"
    r"|by|in the|or|and|please|pls|if|for|with|then|works?|is|morning|afternoon|evening)\b))"
)

# Phone-number-like runs (7+ digits with separators) are neither dates nor times.
PHONE = re.compile(r"(?<![\d:])\+?\(?\d(?:[\s\-.()]{0,2}\d){6,}")

# Every day-of-month word holds one of these ("first", "twelfth", "twenty-third", "thirtieth").
ORDINAL_STEMS = ("first", "second", "third", "fth", "xth", "nth", "rth", "hth", "ieth")


def day_in_digits(m: re.Match) -> str:
    """ "twenty-first" -> "21st" padded to the word's length, so every span stays where it was."""
    name = next(group for group in ("after_month", "before_of", "the") if m[group])
    day = _DAY_ORDINALS[m[name].replace(" ", "").replace("-", "")]
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    start, end = m.start(name) - m.start(), m.end(name) - m.start()
    return m.group()[:start] + f"{day}{suffix}".ljust(end - start) + m.group()[end:]
