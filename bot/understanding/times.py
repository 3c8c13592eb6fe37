"""Times in a message: the time of day, the part of day, a limit ("after 3") and urgency.

`time_of_day` reads the text the date rules have masked (bot/understanding/dates.py), so a
number inside a date, a phone number or a reference number is never an hour. The rules:

* "9:15am", "14:00", "2 p.m.", "4 o'clock", "half past 2", "a quarter past 3pm", "twenty after
  3", "quarter to 5", "ten to 4", "a quarter to noon", "noon"; in words ("three pm", "ten thirty
  am", "at three fifteen"); without the colon ("330 pm", "at 1030", but "2026" is a year).
* A bare hour ("at 3", "tomorrow 10") is read in clinic hours: 7-11 morning, 12 noon, 1-6
  afternoon; a part of day said with it, before or after, overrides ("8 in the evening", "8
  tonight", "evening 8" -> 20:00; "quarter to 12 in the morning" -> 11:45).
* "after 3" and "before 10am" make the time a limit, not a wish.
* Durations and counts ("2 hours", "3 kids") hold no time of day.

`part_of_day` names "morning", "afternoon" or "evening" ("first thing", "after lunch",
"tonight"); `urgency` is "urgent" for "asap", "earliest", "first available" and the like.
"""

from __future__ import annotations

import datetime as dt
import re

from bot.understanding.text import DIGIT, NUMBER_WORDS, holds, mask

# Durations and counts: "2 hours", "3 kids" hold no time of day.
_NOT_A_TIME_AFTER = (
    r"(?!\s*(?:st|nd|rd|th|%|/|-\d|\.\d|min|mins|minutes?|hours?|hrs?|days?"
    r"|weeks?|wks?|months?|years?|yrs?|y o|kids|children|people|persons|patients"
    r"|of|pills|tablets|times|point|more|other|others)\b)"
)

_HOUR_WORD = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_HOUR = rf"(?P<hour>\d{{1,2}}|{_HOUR_WORD})"
_MERIDIEM = r"\s*(?P<meridiem>[ap])\.?\s?m\b\.?"
# "2pm", "9:15am", and typed without the colon, "330 pm", "1130am" (without am/pm only after a
# lead word, "at 1030", see `_compact`).
_TIME_MERIDIEM = re.compile(
    r"(?<![\d$£€.:])(?P<hour>\d{1,2})(?:[:.](?P<minute>\d{2})"
    r"|(?P<compact>[0-5]\d))?" + _MERIDIEM
)
_TIME_CLOCK = re.compile(r"(?<![\d$£€.:/])(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?![\d:.]\d)")
_TIME_OCLOCK = re.compile(rf"\b{_HOUR}\s*o\s?clock\b")

# Minutes in words, 1-59: "oh five", "fifteen", "thirty", "forty five", "twenty-three".
_UNIT_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
_TEEN_WORDS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS_WORDS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}
_MINUTE_VALUES = {
    **_UNIT_WORDS,
    **_TEEN_WORDS,
    **_TENS_WORDS,
    "oh": 0,
    "o": 0,
    "half": 30,
    "quarter": 15,
    "a": 0,
}
_UNIT = "|".join(_UNIT_WORDS)
_MINUTE_WORD = (
    rf"(?:(?:oh|o)\s+(?:{_UNIT})|(?:{'|'.join(_TENS_WORDS)})(?:[\s-]+(?:{_UNIT}))?"
    rf"|{'|'.join(sorted(_TEEN_WORDS, key=len, reverse=True))})"
)
_LEAD = (
    r"\b(?:at|around|about|approximately|approx|by|after|before|from|between|until|till|til)"
    r"\s+(?:around\s+|about\s+)?"
)
# "three pm", "ten thirty am", "seven thirty p.m.": an hour in words needs am/pm ...
_TIME_WORDS_MERIDIEM = re.compile(
    rf"\b(?P<hour>{_HOUR_WORD})(?:[\s-]+(?P<minute>{_MINUTE_WORD}))?"
    rf"{_MERIDIEM}"
)
# ... or a lead word and its minutes: "at three fifteen" ("three fifteen" alone may be anything).
_TIME_WORDS_AT = re.compile(
    rf"{_LEAD}(?P<hour>{_HOUR_WORD})[\s-]+(?P<minute>{_MINUTE_WORD})\b"
    rf"{_NOT_A_TIME_AFTER}"
)
_TIME_COMPACT_AT = re.compile(
    rf"{_LEAD}(?P<hour>\d{{1,2}})(?P<minute>[0-5]\d)\b"
    rf"{_NOT_A_TIME_AFTER}"
)

# Minutes after and before an hour: "a quarter past 3pm", "twenty after 3", "5 past 10", "ten to
# 5", "a quarter to noon". Digits before "after"/"to" only in fives or with "minutes" ("2 after
# 3" may be two visits, "10 to 5" is a range).
_THE_HOUR = (
    rf"(?P<hour>\d{{1,2}}|{_HOUR_WORD}|noon|midday|midnight)(?:{_MERIDIEM}|\b)"
    r"(?:\s*o\s?clock\b)?"
)
_SOME_MINUTES = r"a quarter|quarter|twenty[\s-]five|twenty|ten|five|\d{1,2}\s+min(?:ute)?s?"
_TIME_PAST = re.compile(
    rf"\b(?:(?P<minutes>half|fifteen|{_SOME_MINUTES}|\d{{1,2}})\s+past"
    rf"|(?P<minutes_after>half|fifteen|{_SOME_MINUTES}|5|10|15|20|25)"
    rf"\s+after)\s+{_THE_HOUR}"
)
_TIME_TO = re.compile(
    rf"\b(?P<minutes>{_SOME_MINUTES}"
    rf"|\d{{1,2}}(?=\s+to\s+(?:noon|midday|midnight)\b))"  # "15 to noon"
    rf"\s+(?:to|till|til|before|of)\s+{_THE_HOUR}"
)
_TIME_NOON = re.compile(r"\b(?:12\s+)?(?P<word>noon|midday|mid-day|midnight)\b")
_TIME_AT = re.compile(
    rf"\b(?:at|around|by|after|before|from|between|until|till|til)"
    rf"\s+(?:around\s+|about\s+|like\s+)?{_HOUR}\b{_NOT_A_TIME_AFTER}|@\s*"
    rf"(?P<hour2>\d{{1,2}})\b{_NOT_A_TIME_AFTER}"
)
# "3 in the afternoon", "8 tonight", "eight tonight"; otherwise a number word needs "in the"
# ("one morning" is no time, nor is "can I get one tonight").
_TIME_WITH_PART = re.compile(
    rf"(?:\b(?P<hour>\d{{1,2}})\s+(?:in\s+the\s+|this\s+)?"
    rf"|\b(?P<hourw>{_HOUR_WORD})\s+(?:in\s+the\s+|(?<!one )(?=tonight)))"
    rf"(?P<part>morning|afternoon|evening|tonight|at night|am|pm)\b"
)
_SPOKEN_PARTS = {"tonight": "evening", "at night": "evening", "am": "morning", "pm": "afternoon"}
# The part of day first: "morning 11", "evening 5" (not "good morning 2 questions").
_TIME_PART_THEN_HOUR = re.compile(
    rf"(?<!good )\b(?P<part>morning|afternoon|evening)\s+"
    rf"(?P<hour>\d{{1,2}})\b{_NOT_A_TIME_AFTER}"
)
# A bare hour right after a date ("tomorrow 3", "friday, 10", "tomorrow 1030"): masked dates are
# NUL runs.
_TIME_AFTER_DATE = re.compile(
    rf"\x00[\x00\s,]*?[\s,](?:at\s+)?(?P<hour>\d{{1,2}})"
    rf"(?P<minute>[0-5]\d)?\b{_NOT_A_TIME_AFTER}"
)

# Parts of day and urgency. A greeting's "good morning" names none.
_GREETING_PHRASE = re.compile(r"\bgood (?:morning|afternoon|evening|day|night)\b")
_PARTS = re.compile(
    r"\b(?:(?P<morning>(?:mornings?|first thing|early in the day|before work)\b"
    r"|(?<!\d)(?<!\d )a\.m\b\.?|(?<!\d)(?<!\d )am\b(?!\s+(?:i|not|free|available|able|looking|hoping|trying|going|wondering|in|so|very|a"
    r"|an|the|feeling|sick|really|just|still|now|currently|unable|calling|writing|texting|booked"
    r"|here|out|at|on|off|busy|working|sorry|new|due|pregnant|allergic|interested)\b))"
    r"|(?P<afternoon>(?:afternoons?|arvo|lunch ?time|lunch hour|lunch break|over lunch|at lunch"
    r"|after lunch)\b|(?<!\d)(?<!\d )(?:pm\b|p\.m\b\.?))"
    r"|(?P<evening>(?:evenings?|after work|tonight|tonite|(?<!last )night)\b))"
)
# Every number word of a time holds one of these ("three", "fifteen", "forty five").
_NUMBER_WORD_STEMS = (*NUMBER_WORDS, "teen", "twenty", "thirty", "forty", "fifty")
_NOON_WORDS = ("noon", "midday", "mid-day", "midnight")
_TO_WORDS = (" to ", " till ", " til ", " before ", " of ")
_WORDS_MERIDIEM = re.compile(rf"\b(?:{_HOUR_WORD}|{_MINUTE_WORD})\s*[ap]\.?\s?m\b")
_I_AM = re.compile(r"\b(?:i|we|me) am\b|\bi m\b")
_URGENT = re.compile(
    r"\b(?:urgent\w*|asap|a\.s\.a\.p|as soon as (?:possible|you can|i can)"
    r"|soonest|right away|earliest|first available|next available|immediately"
    r"|emergency|straight away|right now)\b"
)


def _hour_value(text: str) -> int:
    return int(text) if text.isdigit() else NUMBER_WORDS[text]


def _clock(
    hour: int, minute: int, meridiem: str | None, part: str | None, twenty_four_hour: bool = False
) -> int | None:
    """Minutes after midnight for a spoken hour, or None when it is no time of day."""
    if not 0 <= minute <= 59:
        return None
    if meridiem:
        if not 1 <= hour <= 12:
            return None if hour > 23 or (hour == 0 and meridiem == "p") else hour * 60 + minute
        hour = hour % 12 + (12 if meridiem == "p" else 0)
    elif twenty_four_hour or hour == 0 or hour > 12:
        if hour > 23:
            return None
    elif part == "morning":
        hour %= 12
    elif part in ("afternoon", "evening"):
        hour = hour if hour == 12 else hour + 12
    elif hour <= 6:  # clinic hours: "at 3" is 3 in the afternoon
        hour += 12
    return hour * 60 + minute


# "after 3", "before 10am", "any time after 2:30": the time is a limit, not a wish.
_BOUND_LEAD = re.compile(r"\b(?P<bound>after|before)\s+(?:about\s+|around\s+)?$")


def time_of_day(text: str, part: str | None, unmasked: str) -> tuple[dt.time | None, str | None]:
    """The time the message names, and whether it is a limit ("after", "before", else None).
    `text` has its dates masked and `unmasked` is it before (same length; see
    `dates.find_date`); `part` is the part of day the message names."""
    minutes, masked = _find_time(text, part, unmasked)
    if minutes is None:
        return None, None
    at = next((i for i, (a, b) in enumerate(zip(text, masked, strict=True)) if a != b), 0)
    said = text[at:]  # "after 3" is one match of _TIME_AT, "after 3pm" two parts
    lead = _BOUND_LEAD.search(
        text[:at] + (said.split(" ", 1)[0] + " " if said.startswith(("after ", "before ")) else "")
    )
    return dt.time(minutes // 60, minutes % 60), lead["bound"] if lead else None


def _compact(hour: str, minute: str, part: str | None) -> int | None:
    """A clock time typed without its colon: "1030" is 10:30 and "0930" 09:30, but "2026" is a
    year (and "1530" too, as far as anyone can tell), not a time."""
    if hour.startswith("0"):
        return _clock(int(hour), int(minute), None, part, twenty_four_hour=True)
    return _clock(int(hour), int(minute), None, part) if 1 <= int(hour) <= 12 else None


def _spoken_minutes(spoken: str) -> int:
    """ "a quarter" 15, "twenty-five" 25, "oh five" 5, "10 minutes" 10."""
    first = spoken.split()[0]
    if first.isdigit():
        return int(first)
    return sum(_MINUTE_VALUES.get(word, 0) for word in re.split(r"[\s-]+", spoken))


def _hour_before(m: re.Match, minutes: int, part: str | None) -> int | None:
    """ "ten to 5": the said hour less the minutes. Said with am/pm ("quarter to 12pm") that
    names the hour; said with a part of day ("quarter to 12 in the morning") that names the
    time itself, 11:45; said bare, the clinic-hours rule reads the hour ("ten to 7" is 6:50)."""
    hour = m["hour"]
    if hour in ("noon", "midday", "midnight"):
        # "0 to midnight" is midnight itself, not a 24:00 that is no time of day.
        return ((12 * 60 if hour != "midnight" else 24 * 60) - minutes) % (24 * 60)
    value = _hour_value(hour)
    if part and not m["meridiem"]:
        return _clock(value - 1 if value > 1 else 12, 60 - minutes, None, part)
    base = _clock(value, 0, m["meridiem"], part)
    return None if base is None else (base - minutes) % (24 * 60)


def _hour_after(m: re.Match, minutes: int, part: str | None) -> int | None:
    hour = m["hour"]
    if hour in ("noon", "midday", "midnight"):
        return (0 if hour == "midnight" else 12 * 60) + minutes
    return _clock(_hour_value(hour), minutes, m["meridiem"], part)


def _find_time(text: str, part: str | None, unmasked: str) -> tuple[int | None, str]:
    """Minutes after midnight of the time the message names, and the text with it masked."""
    # Each search runs only where the text could hold its match (see `text.holds`).
    digits = DIGIT.search(text) is not None
    words = holds(text, _NUMBER_WORD_STEMS)
    noon = holds(text, _NOON_WORDS)
    if not (digits or words or noon):
        return None, text
    # Minutes past or to an hour first: "a quarter past 3pm" is 15:15, not the 3pm in it.
    m = _TIME_PAST.search(text) if holds(text, ("past", "after")) else None
    if m:
        minutes = _spoken_minutes(m["minutes"] or m["minutes_after"])
        value = _hour_after(m, minutes, part) if minutes <= 59 else None
        return value, mask(text, m)
    m = _TIME_TO.search(text) if holds(text, _TO_WORDS) else None
    if m:
        minutes = _spoken_minutes(m["minutes"])
        value = _hour_before(m, minutes, part) if minutes <= 59 else None
        return value, mask(text, m)
    m = _TIME_MERIDIEM.search(text) if digits else None
    if m:
        if m["compact"] and not 1 <= int(m["hour"]) <= 12:
            return None, mask(text, m)  # "2026 pm" is no time
        minute = int(m["minute"] or m["compact"] or 0)
        return _clock(int(m["hour"]), minute, m["meridiem"], part), mask(text, m)
    m = _TIME_WORDS_MERIDIEM.search(text) if words else None
    if m:
        minutes = _spoken_minutes(m["minute"]) if m["minute"] else 0
        return _clock(_hour_value(m["hour"]), minutes, m["meridiem"], part), mask(text, m)
    m = _TIME_CLOCK.search(text) if digits else None
    if m:
        hour = m["hour"]
        return _clock(
            int(hour),
            int(m["minute"]),
            None,
            part,
            twenty_four_hour=len(hour) == 2 and hour[0] == "0",
        ), mask(text, m)
    m = _TIME_OCLOCK.search(text) if "clock" in text else None
    if m:
        return _clock(_hour_value(m["hour"]), 0, None, part), mask(text, m)
    m = _TIME_NOON.search(text) if noon else None
    if m:
        return (0 if m["word"] == "midnight" else 12 * 60), mask(text, m)
    # Read where the dates are still spelled out ("8 tonight": "tonight" is also today), but
    # never an hour that is part of a date ("march 3 in the afternoon").
    for m in _TIME_WITH_PART.finditer(unmasked) if digits or words else ():
        hour = "hour" if m["hour"] else "hourw"
        if text[m.start(hour) : m.end(hour)] == m[hour]:
            spoken_part = _SPOKEN_PARTS.get(m["part"], m["part"])
            return _clock(_hour_value(m[hour]), 0, None, spoken_part), mask(text, m)
    m = _TIME_PART_THEN_HOUR.search(text) if digits else None
    if m:
        return _clock(int(m["hour"]), 0, None, m["part"]), mask(text, m)
    m = _TIME_COMPACT_AT.search(text) if digits else None
    if m and (value := _compact(m["hour"], m["minute"], part)) is not None:
        return value, mask(text, m)  # else a year ("by 2026"): read on
    m = _TIME_WORDS_AT.search(text) if words else None
    if m:
        return (
            _clock(_hour_value(m["hour"]), _spoken_minutes(m["minute"]), None, part),
            mask(text, m),
        )
    m = _TIME_AT.search(text) if digits or words else None
    if m:
        return _clock(_hour_value(m["hour"] or m["hour2"]), 0, None, part), mask(text, m)
    m = _TIME_AFTER_DATE.search(text) if digits else None
    if m:
        if m["minute"]:
            return _compact(m["hour"], m["minute"], part), mask(text, m)
        return _clock(int(m["hour"]), 0, None, part), mask(text, m)
    return None, text


def part_of_day(text: str) -> str | None:
    """ "morning", "afternoon" or "evening", as the message names it, or None. A greeting's "good
    morning", an "I am" and an am/pm said with a time name no part of day."""
    text = _GREETING_PHRASE.sub(" ", text)
    if "am" in text:
        text = _I_AM.sub(" ", text)
    if ("am" in text or "pm" in text or ".m" in text) and holds(text, _NUMBER_WORD_STEMS):
        # am/pm said with a time names no part of day, in words as in digits ("3pm")
        text = _WORDS_MERIDIEM.sub(" ", text)
    m = _PARTS.search(text)
    return m.lastgroup if m else None


def urgency(text: str) -> str | None:
    """ "urgent" when the message asks for the soonest time ("asap", "first available"), else
    None."""
    return "urgent" if _URGENT.search(text) else None
