"""The local engine's understanding: one text message in, an intent and its entities out.

`understand(text, now, vocabulary)` reads a message the way a clinic receptionist would and returns
an `Understanding`: what the person wants (the intent) and the date, time, part of day, provider,
appointment type, urgency and numbered choice it mentions. It keeps no state: the dialogue layer
decides, with the conversation's state, what a bare "yes" or "tomorrow at 3" means there.

Rules, in the clinic's words (all relative to `now.date()`, the clinic's today):

* Intent. A red flag (see `bot.triage`) is always "emergency". Then the whole message is tried as
  an SMS keyword (STOP, STOPALL, UNSUBSCRIBE, END, QUIT -> stop; START, UNSTOP -> start), a bare
  option ("2", "#2", "option 2", "2nd", "the second one" -> choose), help ("help", "info", "?"),
  a greeting ("hi", "good morning"), a yes ("yes", "ok", "sounds good") or a no ("no", "none of
  those"). Otherwise the first of reschedule, cancel, waitlist, list and book whose words appear
  wins, in that order ("cancel and find me a different time" is reschedule). A message with only
  entities ("tomorrow at 3", "a cleaning on friday") is book; then a message that merely starts
  with yes/no/a greeting gets that intent; the rest is unknown.
* Dates. Weekday names ("tue", "thurs", "this friday", "next tuesday") mean the next such day
  strictly after today: a patient saying "next Tuesday" on a Wednesday nearly always means the
  coming Tuesday, and "friday" said on a Friday means a week later ("today" says today).
  "Monday next week" / "next week Monday" is that weekday in the next ISO week; "next week" alone
  is its Monday. "the 7th" is this month's 7th unless that is before today, else the first later
  month that has a 7th; "the 11th of this month" stays in this month even when past. A date named
  without a year ("March 9", "3/9", US month/day) is this year's unless that is before today, else
  next year's, except that a date at most a month gone is read as that past date. An explicit date before today is returned with `date_problem="past"`; a day that
  does not exist ("February 30th") gives no date and `date_problem="impossible"`.
* Times. "9:15am", "14:00", "2 p.m.", "4 o'clock", "half past 2", "quarter to 5", "ten to 4",
  "noon". A bare hour ("at 3", "tomorrow 10") is read in clinic hours: 7-11 morning, 12 noon, 1-6
  afternoon; a part of day said with it overrides ("8 in the evening" -> 20:00). A message that is
  only a number ("3") is a choice, never a time. Numbers inside dates and phone numbers are neither.
  "after 3" and "before 10am" make the time a limit (`time_bound`), not a wish.
* A message that is only a digit ordinal ("2nd", "the 7th") is a choose with that choice AND the
  date it would name, so the dialogue can use whichever its state expects.

Work is capped (only the first `MAX_CHARS` characters are read; triage reads a little further) and
every regex is compiled once at import: a typical message takes 20-70 microseconds, the longest
input well under a millisecond. Message text is never printed or logged.

The project's rules find the date phrase; python-dateutil does the calendar underneath: its parser
reads the matched phrase strictly ("March 9th", "9 of March 2027", "3/9", "2027-03-09", a day that
does not exist is refused), and `relativedelta` does the weekday and month arithmetic. dateutil's
fuzzy mode is never run over the whole message: it guesses (a bare "3" becomes the 3rd, "may" the
month), which is why the rules pick the phrase first.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from dateutil import parser as dateutil_parser
from dateutil.relativedelta import MO, relativedelta, weekday as rd_weekday

from bot.triage import red_flag

MAX_CHARS = 500
# A year-less date at most this many days before today is read as a past date, not next year's.
RECENT_PAST_DAYS = 31

INTENTS = ("book", "cancel", "reschedule", "list", "confirm", "deny", "choose", "waitlist", "help",
           "stop", "start", "emergency", "greeting", "unknown")

# ---------------------------------------------------------------------------------------------
# Vocabulary: the clinic's own names for its providers and appointment types.

_WORD = re.compile(r"[^\W_]+")
_TITLES = ("dr", "doctor")


def _words(phrase: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(phrase.lower().translate(_APOSTROPHES)))


def _phrase_matcher(phrases: Mapping[str, Sequence[str]]) -> tuple[re.Pattern | None, dict]:
    """One regex for all phrases (longest first, whole words, any punctuation between words)
    and a map from a match's words back to the key."""
    lookup: dict[tuple[str, ...], str] = {}
    for key, names in phrases.items():
        for name in names:
            words = _words(name)
            if words and words not in lookup:  # the first key to claim a phrase keeps it
                lookup[words] = key
    if not lookup:
        return None, lookup
    ordered = sorted(lookup, key=lambda w: (-len(" ".join(w)), w))
    body = "|".join(r"[\W_]+".join(map(re.escape, words)) for words in ordered)
    # A plural of the last word also names the thing ("flu shots", "check-ups").
    return re.compile(rf"(?<![^\W_])(?:{body})(?:e?s)?(?![^\W_])"), lookup


@dataclass(frozen=True)
class Vocabulary:
    """Phrases that name each provider and each appointment type, by key."""

    providers: Mapping[str, Sequence[str]]
    appointment_types: Mapping[str, Sequence[str]]
    _provider_matcher: Any = field(init=False, repr=False, compare=False, hash=False)
    _type_matcher: Any = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_provider_matcher", _phrase_matcher(self.providers))
        object.__setattr__(self, "_type_matcher", _phrase_matcher(self.appointment_types))

    @classmethod
    def from_clinic(cls, clinic: Any) -> "Vocabulary":
        """Names, aliases and synonyms from the clinic file; for a titled name ("Dr. Amara
        Okafor") also the name without the title, and title + surname in both spellings."""
        providers: dict[str, list[str]] = {}
        for provider in clinic.providers:
            names = [provider.name, *provider.aliases]
            words = _words(provider.name)
            if len(words) >= 2 and words[0] in _TITLES:
                names.append(" ".join(words[1:]))
                for title in _TITLES:
                    names.append(f"{title} {words[-1]}")
                    names.append(f"{title} {' '.join(words[1:])}")
            providers[provider.key] = names
        types = {kind.key: [kind.name, *kind.synonyms, kind.key.replace("-", " ").replace("_", " ")]
                 for kind in clinic.appointment_types}
        return cls(providers=providers, appointment_types=types)

    def provider_in(self, text: str) -> str | None:
        return _lookup(self._provider_matcher, text)

    def appointment_type_in(self, text: str) -> str | None:
        return _lookup(self._type_matcher, text)


def _lookup(matcher: tuple[re.Pattern | None, dict], text: str) -> str | None:
    pattern, lookup = matcher
    if pattern is None:
        return None
    match = None
    for found in pattern.finditer(text):
        # The first named, unless the next follows at once: then the pair is one name and the
        # last word its head ("flu vaccine" is a vaccine, though "flu" alone is a sick visit).
        if match is not None and text[match.end():found.start()].strip(" -"):
            break
        match = found
    if match is None:
        return None
    words = tuple(_WORD.findall(match.group()))
    key = lookup.get(words)
    if key is None:  # matched through the plural ending
        *head, last = words
        for singular in (last[:-1], last[:-2]):
            key = key or lookup.get((*head, singular))
    return key


# ---------------------------------------------------------------------------------------------
# The result.

@dataclass(frozen=True)
class Understanding:
    """What one message says. Entities are filled whatever the intent."""

    intent: str
    date: dt.date | None = None
    time: dt.time | None = None
    part_of_day: str | None = None        # "morning" | "afternoon" | "evening"
    provider: str | None = None           # provider key
    appointment_type: str | None = None   # appointment type key
    urgency: str | None = None            # "urgent" | None
    choice: int | None = None             # 1-based numbered option
    date_problem: str | None = None       # "impossible" | "past" | None
    # "after" | "before": `time` is a limit ("after 3"). Not in `as_json` (the CLI's contract).
    time_bound: str | None = None
    # An appointment's reference number the message names ("cancel #8", "move appointment 8",
    # "ref 8"): the dialogue acts on it only if it is the patient's. Not in `as_json` either.
    reference: int | None = None

    def as_json(self) -> dict:
        return {
            "intent": self.intent,
            "date": self.date.isoformat() if self.date else None,
            "time": self.time.strftime("%H:%M") if self.time else None,
            "part_of_day": self.part_of_day,
            "provider": self.provider,
            "appointment_type": self.appointment_type,
            "urgency": self.urgency,
            "choice": self.choice,
        }


# ---------------------------------------------------------------------------------------------
# Normalization and whole-message forms.

# Apostrophes vanish so patterns need one spelling: "can't" -> "cant", "o'clock" -> "oclock".
_APOSTROPHES = str.maketrans("", "", "'\u2019\u2018`\u00b4\u02bc")
_SPACES = re.compile(r"\s+")
# Leading/trailing noise around a whole-message form: spaces, punctuation, emoji.
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")

_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
_ORDINAL_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
                  "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10}
MAX_CHOICE = 20

_STOP = re.compile(r"^(?:stop|stopall|stop all|unsubscribe|end|quit|(?:please )?stop(?: it)?"
                   r"(?: please)?|stop now)$")
_STOP_ANYWHERE = re.compile(
    r"\b(?:stop (?:texting|messaging|contacting|emailing|calling)(?: me)?|unsubscribe"
    r"|stop sending (?:me )?(?:texts|messages|reminders)"
    r"|(?:dont|do not) (?:text|message|contact) me|opt me out|opt out"
    r"|(?:remove|delete|take) my (?:phone |cell )?number (?:from|off) (?:your|the) (?:list|texts))\b")
_START = re.compile(r"^(?:start|unstop)$")
_HELP = re.compile(r"^(?:help|help me|info|information|menu|commands|\?+|what can you do"
                   r"|how does this work)$")
_HELP_ANYWHERE = re.compile(r"\b(?:help|info|what can you do|how does this work|what do you do"
                            r"|how do i use)\b|^\?+$")
_GREETING_WORDS = (r"hi|hello|hey|hiya|heya|howdy|hullo|greetings"
                   r"|good (?:morning|afternoon|evening|day)")
_GREETING = re.compile(rf"^(?:{_GREETING_WORDS})(?:[\W_]+(?:there|again|all|team|folks|doc|you))?$")
_GREETING_START = re.compile(r"^(?:hi|hello|hey|hiya|heya|howdy|greetings|good (?:morning|afternoon"
                             r"|evening|day))\b")
_GREETING_PHRASE = re.compile(r"\bgood (?:morning|afternoon|evening|day|night)\b")

_YES = (r"yes|y|ya|yeah|yea|yep|yup|ok|okay|k|kk|sure|confirm|confirmed|correct"
        r"|sounds good|sounds great|sounds perfect|that works|works for me|that works for me"
        r"|perfect|great|good|fine|thats fine|thats right|right|alright|all right|absolutely"
        r"|of course|definitely|go ahead|do it|book it|lets do it|confirm (?:it|that"
        r"|my appointment|the appointment|my booking)|i confirm|ill be there|see you then")
_NO = (r"no|n|nope|nah|not that|not that one|none|none of those|none of them|none of these"
       r"|neither|not those|not really|no way|wrong|incorrect|that doesnt work|doesnt work"
       r"|that wont work|wont work|not for me")
# Politeness around a yes or a no, never one by itself ("thanks" alone is neither).
_FILLER = r"please|pls|thanks|thank you|thx|ty|sorry|oh|um|hmm|well"
_CONFIRM = re.compile(rf"^(?:(?:{_FILLER})[\W_]+)*(?:{_YES})(?:[\W_]+(?:{_YES}|{_FILLER}))*$")
_DENY = re.compile(rf"^(?:(?:{_FILLER})[\W_]+)*(?:{_NO})(?:[\W_]+(?:{_NO}|{_FILLER}))*$")
_YES_START = re.compile(r"^(?:yes|yeah|yep|yup|ok|okay|sure|sounds good|that works|perfect)\b")
_NO_START = re.compile(r"^(?:no|nope|nah|not that|none of those|none)\b")

_ORDINAL_SUFFIX = r"(?:st|nd|rd|th)"
_CHOOSE = re.compile(
    rf"^(?:(?:ill|i will|id like|i would like|lets|let s|can i)\s+(?:take|do|go with|have|pick|get)"
    rf"\s+|(?:i (?:want|choose|pick|prefer))\s+|(?:take|pick|choose|go with)\s+)?"
    rf"(?:the\s+)?(?:option|number|no\.?|choice|slot|#)?\s*"
    rf"(?:(?P<num>\d{{1,2}})(?P<suffix>{_ORDINAL_SUFFIX})?"
    rf"|(?P<word>{'|'.join(_NUMBER_WORDS)})|(?P<ordinal>{'|'.join(_ORDINAL_WORDS)}))"
    rf"(?:\s+(?:one|option|slot|choice|time))?"
    rf"(?:[\W_]+(?:please|pls|thanks|thank you))?$")

# ---------------------------------------------------------------------------------------------
# Intents found anywhere in the message, tried in this order.

_CONTAINED_INTENTS: tuple[tuple[str, re.Pattern], ...] = (
    ("reschedule", re.compile(
        r"\b(?:re ?schedul\w*|re-schedul\w*|rebook\w*|re-book\w*|^move$|moved|postpone\w*"
        r"|move (?:it|this|that|to|back|forward|my (?:\w+ )?(?:appointment|appt|booking|visit|slot"
        r"|time)|the (?:appointment|appt|booking|visit|time))"
        # "move my flu shot", "move the checkup to friday", "change the vaccination to monday",
        # "push the checkup back": the visit named by its kind.
        r"|(?:move|shift) (?:my|the|our|his|her) [a-z][a-z -]{0,30}?(?:\b(?:to|till|until|back"
        r"|forward|up|out|later|earlier)\b|$)"
        r"|change (?:my|the|our|his|her) (?!name|number|phone|address|email)[a-z][a-z -]{0,30}?"
        r" to\b|push (?:my|the|our|his|her) [a-z][a-z -]{0,30}? (?:back|forward|out)"
        r"|push (?:it|my appointment|my appt|the appointment) (?:back|forward|out)|bring (?:it|my appointment) forward"
        r"|change (?:my|the|our|his|her) (?:appointment|appt|booking|time|day|date)|change it"
        r"|(?:a |an )?(?:different|another|other|new|later|earlier) (?:time|day|date|slot)"
        r"|switch (?:my|the) (?:appointment|appt|time|day))\b")),
    ("cancel", re.compile(
        r"\b(?:cancel\w*\b(?! list)|call off|(?:delete|drop|remove) my (?:appointment|appt|booking)"
        r"|(?:dont|do not|no longer) need (?:my|the|that) (?:appointment|appt|booking)"
        r"|(?:cant|cannot|can not|wont|will not|unable to|not able to|wont be able to"
        r"|will not be able to|not going to|couldnt) (?:make it|come|come in|attend"
        r"|make (?:my|the) (?:appointment|appt)))\b"
        # The visit named by its kind: "I can't make the checkup", "drop the flu shot", "get
        # rid of my physical", "I don't need the vaccination anymore".
        r"|\b(?:cant|cannot|can not|wont|will not|unable to|not able to|couldnt)(?: be able to)?"
        r" (?:make|attend|go to|come to|come for) (?:my|the|our|his|her|that|this)\b"
        r"|\b(?:drop|scratch|delete|remove|get rid of|call off) (?:my|the|our|his|her|that|this)"
        r" (?!(?:phone |cell )?(?:number|info|details|data|name|address|email|reminders?)\b)[a-z]|\bno longer (?:need|want) (?:my|the|our|his|her|that|this)\b"
        r"|\b(?:dont|do not) (?:need|want) (?:my|the|our|his|her|that|this) [a-z][a-z -]{0,30}?"
        r"\b(?:anymore|any more)\b")),
    ("waitlist", re.compile(
        r"\b(?:wait ?list\w*|wait-list\w*|waiting list|cancellation list|put me on (?:the|a|your) list"
        r"|(?:notify|tell|text|let) me (?:know )?(?:if|when) (?:something|anything|a slot|a spot"
        r"|a time|one|an appointment|a space) (?:opens|comes up|frees up|becomes available"
        r"|is available|opens up))\b")),
    ("list", re.compile(
        r"\b(?:my (?:upcoming |next |future )?(?:appointments|appts|bookings)"
        r"|(?:when|what|what time|what day|where)(?: is|s|was)? my (?:next )?(?:appointment|appt"
        r"|booking)|is my (?:appointment|appt|booking) still on"
        r"|what (?:do|did) i have (?:booked|scheduled|coming up)"
        r"|do i have (?:an |any )?(?:appointment|appointments|appt|appts|bookings?)"
        r"|do i have anything (?:booked|scheduled|coming up)"
        r"|(?:what |which )?(?:appointments|appts|bookings) (?:do|did) i have"
        r"|upcoming (?:appointments|appts|bookings)"
        r"|(?:list|show|see|check|view)(?: me)? my (?:appointment|appt|booking)s?"
        r"|am i (?:booked|scheduled)|when am i (?:coming in|booked|scheduled|due)"
        r"|when do i (?:come in|see the (?:doctor|doc|nurse))"
        r"|(?:ref|reference|confirmation|booking|appointment|appt) (?:number|no|num|#))\b"
        # The visit named by its kind: "when is my vaccination", "is my flu shot still on".
        r"|\b(?:when|what time|what day)(?: is|s|was) my [a-z]"
        r"|\bis my [a-z][a-z -]{0,30}? still (?:on|happening|booked|scheduled)\b"
        r"|\bdo i have (?:a|an|my) [a-z][a-z -]{0,30}? (?:booked|scheduled|coming up)\b"
        r"|\bwhat (?:day|time|date) (?:was|is) (?:that|it)\b|\bwhen (?:is|was) (?:it|that)\b"
        r"|\b(?:send|text|give) me (?:a |the |my )?confirmation\b")),
    ("book", re.compile(
        r"\b(?:book\w*|appointment|appt|schedule|sched|make an? |set up"
        r"|see (?:the|a|my) (?:doctor|doc|dr|nurse|provider|physician)|see dr|see doctor"
        r"|come in|get in|coming in|stop by|visit|slots?|openings?|availability|available|free"
        r"|(?:i|we|he|she|my \w+) (?:need|needs|want|wants)(?: to (?:see|get|have|come|book|make))?"
        r" (?:a|an|to|someone|somebody)|(?:id|i would|we would|wed) like (?:a|an|to)"
        r"|can i (?:get|have|see|come)|any (?:time|times|day|days))\b")),
)

# ---------------------------------------------------------------------------------------------
# Dates.

_MONTHS = {"january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
           "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
           "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11,
           "nov": 11, "december": 12, "dec": 12}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAYS = {"monday": 0, "mon": 0, "tuesday": 1, "tues": 1, "tue": 1, "wednesday": 2, "weds": 2,
             "wed": 2, "thursday": 3, "thurs": 3, "thur": 3, "thu": 3, "friday": 4, "fri": 4,
             "saturday": 5, "sat": 5, "sunday": 6, "sun": 6}
_WEEKDAY = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
_COUNT = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
          "seven": 7, "eight": 8, "nine": 9, "ten": 10, "couple": 2, "a couple": 2,
          "a couple of": 2, "couple of": 2}
_YEAR = r"(?:,?\s*(?P<year>20\d\d)\b)?"

_ISO_DATE = re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})\b")
_US_DATE = re.compile(r"(?<![\d/.])(?P<month>\d{1,2})/(?P<day>\d{1,2})(?:/(?P<year>\d{4}|\d{2}))?"
                      r"(?![\d/])")
_MONTH_DAY = re.compile(rf"\b(?P<month>{_MONTH})\.?\s+(?:the\s+)?(?P<day>\d{{1,2}})"
                        rf"(?:{_ORDINAL_SUFFIX})?\b{_YEAR}")
_DAY_MONTH = re.compile(rf"\b(?:the\s+)?(?P<day>\d{{1,2}})(?:{_ORDINAL_SUFFIX})?\s+(?:of\s+)?"
                        rf"(?P<month>{_MONTH})\b\.?{_YEAR}")
_ORDINAL_DAY = re.compile(rf"\b(?:the\s+)?(?P<day>\d{{1,2}}){_ORDINAL_SUFFIX}\b"
                          rf"(?:\s+of\s+(?P<which>this|next)\s+month\b)?")
_DAY_AFTER_TOMORROW = re.compile(r"\b(?:the\s+)?day after (?:tomorrow|tmrw|tmr|tmrow|tomorow)\b")
_TODAY = re.compile(r"\b(?:today|tonight|tonite|this (?:morning|afternoon|evening))\b")
_YESTERDAY = re.compile(r"\byesterday\b")
_TOMORROW = re.compile(r"\b(?:tomorrow|tmrw|tmr|tmrow|tomorow|tomm?or+ow|2moro|2morrow)\b")
_COUNT_WORDS = (r"\d{1,3}|a couple of|a couple|couple of|an?|one|two|three|four|five|six|seven"
                r"|eight|nine|ten")
_IN_DAYS = re.compile(rf"\bin\s+(?P<count>{_COUNT_WORDS})\s+(?P<unit>days?|weeks?|fortnights?)\b"
                      rf"|\b(?P<count2>{_COUNT_WORDS})\s+(?P<unit2>days?|weeks?|fortnights?)\s+"
                      rf"(?:from\s+)?(?:now|today)\b")
_WEEKDAY_NEXT_WEEK = re.compile(
    rf"\b(?:on\s+)?(?P<day>{_WEEKDAY})\.?\s+(?:of\s+|in\s+)?next\s+week\b"
    rf"|\bnext\s+week\s*,?\s*(?:on\s+)?(?P<day2>{_WEEKDAY})\b")
_WEEKDAY_NAME = re.compile(rf"\b(?:(?:this|next|coming|this coming|on)\s+)?(?P<day>{_WEEKDAY})\b\.?")
_NEXT_WEEK = re.compile(r"\bnext\s+week\b")

# Phone-number-like runs (7+ digits with separators) are neither dates nor times.
_PHONE = re.compile(r"(?<![\d:])\+?\(?\d(?:[\s\-.()]{0,2}\d){6,}")
# Durations and counts: "2 hours", "3 kids" hold no time of day.
_NOT_A_TIME_AFTER = (r"(?!\s*(?:st|nd|rd|th|%|/|-\d|\.\d|min|mins|minutes?|hours?|hrs?|days?"
                     r"|weeks?|wks?|months?|years?|yrs?|y o|kids|children|people|persons|patients"
                     r"|of|pills|tablets|times|point|more|other|others)\b)")

# ---------------------------------------------------------------------------------------------
# Times.

_HOUR_WORD = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_HOUR = rf"(?P<hour>\d{{1,2}}|{_HOUR_WORD})"
_TIME_MERIDIEM = re.compile(r"(?<![\d$£€.:])(?P<hour>\d{1,2})(?:[:.](?P<minute>\d{2}))?\s*"
                            r"(?P<meridiem>[ap])\.?\s?m\b\.?")
_TIME_CLOCK = re.compile(r"(?<![\d$£€.:/])(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?![\d:.]\d)")
_TIME_OCLOCK = re.compile(rf"\b{_HOUR}\s*o\s?clock\b")
_TIME_PAST_TO = re.compile(
    rf"\b(?P<minutes>half|quarter|a quarter|five|ten|twenty|twenty five|twenty-five"
    rf"|\d{{1,2}} minutes|5|10|20|25)\s+(?P<dir>past|after)\s+{_HOUR}\b"
    rf"|\b(?P<minutes2>quarter|a quarter|five|ten|twenty|twenty five|twenty-five|\d{{1,2}} minutes)"
    rf"\s+(?P<dir2>to|till|til|before|of)\s+(?P<hour2>\d{{1,2}}|{_HOUR_WORD})\b")
_TIME_NOON = re.compile(r"\b(?:12\s+)?(?P<word>noon|midday|mid-day|midnight)\b")
_TIME_AT = re.compile(rf"\b(?:at|around|by|after|before|from|between|until|till|til)"
                      rf"\s+(?:around\s+|about\s+|like\s+)?{_HOUR}\b{_NOT_A_TIME_AFTER}|@\s*"
                      rf"(?P<hour2>\d{{1,2}})\b{_NOT_A_TIME_AFTER}")
# "3 in the afternoon", "8 tonight"; a number word needs "in the" ("one morning" is no time).
_TIME_WITH_PART = re.compile(rf"(?:\b(?P<hour>\d{{1,2}})\s+(?:in\s+the\s+|this\s+)?"
                             rf"|\b(?P<hourw>{_HOUR_WORD})\s+in\s+the\s+)"
                             rf"(?P<part>morning|afternoon|evening|tonight|at night)\b")
# A bare hour right after a date ("tomorrow 3", "friday, 10"): masked dates are NUL runs.
_TIME_AFTER_DATE = re.compile(rf"\x00[\x00\s,]*?[\s,](?:at\s+)?(?P<hour>\d{{1,2}})\b"
                              rf"{_NOT_A_TIME_AFTER}")
_MINUTES_WORDS = {"half": 30, "quarter": 15, "a quarter": 15, "five": 5, "ten": 10, "twenty": 20,
                  "twenty five": 25, "twenty-five": 25}

# ---------------------------------------------------------------------------------------------
# An appointment's reference number: "#8", "ref 8", "reference no. 8", "appointment #8", "booking
# 8" (the confirmation says "ref #8"), but not "appointment 2 weeks from now" or "appt 3pm".

_REFERENCE = re.compile(
    r"(?:\b(?:ref|reference|confirmation|booking|appointment)(?:\s+(?:number|num|no\.?))?"
    r"\s*#?\s*|#\s*)(?P<ref>\d{1,9})\b(?!\s*(?:[:./-]\d|[ap]\.?\s?m\b|st\b|nd\b|rd\b|th\b"
    r"|o\s?clock|days?\b|weeks?\b|months?\b|hours?\b|hrs?\b|mins?\b|minutes?\b))")
# With a reference, these words move it: "move #8 to 3pm", "change appointment 8 to friday".
_MOVE_WORD = re.compile(r"\b(?:move|shift|change|switch|push|bring)\b")

# ---------------------------------------------------------------------------------------------
# Part of day and urgency.

_PARTS = re.compile(
    r"\b(?:(?P<morning>(?:mornings?|first thing|early in the day|before work)\b"
    r"|(?<!\d)(?<!\d )a\.m\b\.?|(?<!\d)(?<!\d )am\b(?!\s+(?:i|not|free|available|able|looking|hoping|trying|going|wondering|in|so|very|a"
    r"|an|the|feeling|sick|really|just|still|now|currently|unable|calling|writing|texting|booked"
    r"|here|out|at|on|off|busy|working|sorry|new|due|pregnant|allergic|interested)\b))"
    r"|(?P<afternoon>(?:afternoons?|arvo|lunch ?time|lunch hour|lunch break|over lunch|at lunch"
    r"|after lunch)\b|(?<!\d)(?<!\d )(?:pm\b|p\.m\b\.?))"
    r"|(?P<evening>(?:evenings?|after work|tonight|tonite|(?<!last )night)\b))")
_I_AM = re.compile(r"\b(?:i|we|me) am\b|\bi m\b")
_URGENT = re.compile(r"\b(?:urgent\w*|asap|a\.s\.a\.p|as soon as (?:possible|you can|i can)"
                     r"|soonest|right away|earliest|first available|next available|immediately"
                     r"|emergency|straight away|right now)\b")


# ---------------------------------------------------------------------------------------------
# Helpers.

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
    this_year = _calendar(phrase, today.year)
    if this_year is not None and this_year >= today:
        return this_year, None
    if this_year is not None and (today - this_year).days <= RECENT_PAST_DAYS:
        return this_year, "past"
    next_year = _calendar(phrase, today.year + 1)
    return (next_year, None) if next_year is not None else (None, "impossible")


def _explicit(phrase: str, today: dt.date) -> tuple[dt.date | None, str | None]:
    candidate = _calendar(phrase, today.year)
    if candidate is None:
        return None, "impossible"
    return candidate, ("past" if candidate < today else None)


def _nth_of_month(today: dt.date, months_ahead: int, day: int) -> dt.date | None:
    first = today.replace(day=1) + relativedelta(months=months_ahead)
    return _calendar(f"{first.year}-{first.month}-{day}", first.year)


def _day_of_month(today: dt.date, day: int, which: str | None) -> tuple[dt.date | None, str | None]:
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


def _hour_value(text: str) -> int:
    return int(text) if text.isdigit() else _NUMBER_WORDS[text]


def _mask(text: str, match: re.Match) -> str:
    start, end = match.span()
    return text[:start] + "\x00" * (end - start) + text[end:]


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
    if not 1 <= int(m["day"]) <= 31:    # dateutil would read "dec 45" as December 2045
        return None, "impossible"
    phrase = f"{m['month']} {m['day']}"
    if m["year"]:
        return _explicit(f"{phrase} {m['year']}", today)
    return _yearless(today, phrase)


def _resolve_ordinal(m: re.Match, today: dt.date):
    return _day_of_month(today, int(m["day"]), m["which"])


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
    return _weekday_next_week(today, _WEEKDAYS[m["day"] or m["day2"]]), None


def _resolve_weekday(m: re.Match, today: dt.date):
    return _next_weekday(today, _WEEKDAYS[m["day"]]), None


def _resolve_next_week(m: re.Match, today: dt.date):
    return _weekday_next_week(today, 0), None


# Most specific first: the first that matches gives the date; all of them are masked so the
# numbers inside them are never read as times.
_DATE_RULES = (
    (_MONTH_DAY, _resolve_named_month),
    (_DAY_MONTH, _resolve_named_month),
    (_US_DATE, _resolve_numeric),
    (_ORDINAL_DAY, _resolve_ordinal),
    (_IN_DAYS, _resolve_in_days),
    (_DAY_AFTER_TOMORROW, _resolve_day_after_tomorrow),
    (_TODAY, _resolve_today),
    (_YESTERDAY, _resolve_yesterday),
    (_TOMORROW, _resolve_tomorrow),
    (_WEEKDAY_NEXT_WEEK, _resolve_weekday_next_week),
    (_WEEKDAY_NAME, _resolve_weekday),
    (_NEXT_WEEK, _resolve_next_week),
)


def _find_date(text: str, today: dt.date) -> tuple[dt.date | None, str | None, str]:
    """The date the message names, its problem, and the text with every date phrase masked."""
    found: tuple[dt.date | None, str | None] | None = None
    # ISO first: its dashes would otherwise look like a phone number.
    match = _ISO_DATE.search(text)
    if match:
        found = _resolve_iso(match, today)
        text = _ISO_DATE.sub(lambda m: "\x00" * len(m.group()), text)
    text = _PHONE.sub(lambda m: " " * len(m.group()), text)
    for pattern, resolve in _DATE_RULES:
        match = pattern.search(text)
        if match is None:
            continue
        if found is None:
            found = resolve(match, today)  # None: not a date after all ("24/7")
        text = pattern.sub(lambda m: "\x00" * len(m.group()), text)
    date, problem = found if found else (None, None)
    return date, problem, text


def _clock(hour: int, minute: int, meridiem: str | None, part: str | None,
           twenty_four_hour: bool = False) -> int | None:
    """Minutes after midnight for a spoken hour, or None when it is no time of day."""
    if not 0 <= minute <= 59:
        return None
    if meridiem:
        if not 1 <= hour <= 12:
            return None if hour > 23 or hour == 0 and meridiem == "p" else hour * 60 + minute
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


def _time_and_bound(text: str, part: str | None) -> tuple[int | None, str | None, str]:
    """Minutes after midnight of the time the message names, whether it is a limit ("after",
    "before", else None), and the text with the time masked."""
    minutes, masked = _find_time(text, part)
    if minutes is None:
        return None, None, text
    at = next((i for i, (a, b) in enumerate(zip(text, masked)) if a != b), 0)
    said = text[at:]         # "after 3" is one match of _TIME_AT, "after 3pm" two parts
    lead = _BOUND_LEAD.search(text[:at] + (said.split(" ", 1)[0] + " "
                                           if said.startswith(("after ", "before ")) else ""))
    return minutes, lead["bound"] if lead else None, masked


def _find_time(text: str, part: str | None) -> tuple[int | None, str]:
    """Minutes after midnight of the time the message names, and the text with it masked."""
    m = _TIME_MERIDIEM.search(text)
    if m:
        value = _clock(int(m["hour"]), int(m["minute"] or 0), m["meridiem"], part)
        return value, _mask(text, m)
    m = _TIME_CLOCK.search(text)
    if m:
        hour = m["hour"]
        return _clock(int(hour), int(m["minute"]), None, part,
                      twenty_four_hour=len(hour) == 2 and hour[0] == "0"), _mask(text, m)
    m = _TIME_OCLOCK.search(text)
    if m:
        return _clock(_hour_value(m["hour"]), 0, None, part), _mask(text, m)
    m = _TIME_PAST_TO.search(text)
    if m:
        if m["minutes"]:
            spoken, hour, sign = m["minutes"], m["hour"], 1
        else:
            spoken, hour, sign = m["minutes2"], m["hour2"], -1
        minutes = _MINUTES_WORDS.get(spoken)
        if minutes is None:
            minutes = int(spoken.split()[0])
        base = _clock(_hour_value(hour), 0, None, part)
        if base is None or minutes > 59:
            return None, _mask(text, m)
        return (base + sign * minutes) % (24 * 60), _mask(text, m)
    m = _TIME_NOON.search(text)
    if m:
        return (0 if m["word"] == "midnight" else 12 * 60), _mask(text, m)
    m = _TIME_WITH_PART.search(text)
    if m:
        spoken_part = {"tonight": "evening", "at night": "evening"}.get(m["part"], m["part"])
        return (_clock(_hour_value(m["hour"] or m["hourw"]), 0, None, spoken_part),
                _mask(text, m))
    m = _TIME_AT.search(text)
    if m:
        return _clock(_hour_value(m["hour"] or m["hour2"]), 0, None, part), _mask(text, m)
    m = _TIME_AFTER_DATE.search(text)
    if m:
        return _clock(int(m["hour"]), 0, None, part), _mask(text, m)
    return None, text


def _find_part(text: str) -> str | None:
    text = _GREETING_PHRASE.sub(" ", text)
    if "am" in text:
        text = _I_AM.sub(" ", text)
    m = _PARTS.search(text)
    return m.lastgroup if m else None


# Texting shorthand for the words the rules read ("nxt wk"): spelled out first.
_SHORTHAND = {"nxt": "next", "wk": "week", "wks": "weeks", "appt": "appointment",
              "appts": "appointments", "aft": "afternoon"}
_SHORT = re.compile(r"\b(?:" + "|".join(_SHORTHAND) + r")\b")


def _normalize(text: str) -> str:
    text = _SPACES.sub(" ", text[:MAX_CHARS].lower().translate(_APOSTROPHES)).strip()
    return _SHORT.sub(lambda m: _SHORTHAND[m.group()], text)


# ---------------------------------------------------------------------------------------------
# The entry point.

def understand(text: str, now: dt.datetime, vocabulary: Vocabulary | None = None) -> Understanding:
    """Intent and entities of one message; `now` is the clinic's current time (aware, in the
    clinic's zone). Never raises for any text."""
    if not isinstance(text, str):
        text = ""
    # Triage reads further than the rest (its own cap): an emergency late in a long message
    # must still be seen.
    if red_flag(text) is not None:
        return Understanding(intent="emergency")
    s = _normalize(text)
    bare = _EDGES.sub("", s)
    today = now.date()

    if _STOP.match(bare) or _STOP_ANYWHERE.search(s):
        return Understanding(intent="stop")
    if _START.match(bare):
        return Understanding(intent="start")

    m = _CHOOSE.match(bare)
    if m:
        choice = _choice(m)
        if choice is not None:
            date = problem = None
            if m["suffix"]:
                date, problem = _day_of_month(today, int(m["num"]), None)
            return Understanding(intent="choose", choice=choice, date=date, date_problem=problem,
                                 reference=choice if "#" in s else None)

    if _HELP.match(bare) or (not bare and "?" in s):
        return Understanding(intent="help")
    if _GREETING.match(bare):
        return Understanding(intent="greeting")
    if _CONFIRM.match(bare):
        return Understanding(intent="confirm")
    if _DENY.match(bare):
        return Understanding(intent="deny")

    # Entities. A reference number is no date or time ("move #12 to friday").
    found_reference = _REFERENCE.search(s)
    reference = int(found_reference["ref"]) if found_reference else None
    date, problem, rest = _find_date(_mask(s, found_reference) if found_reference else s, today)
    part = _find_part(s)
    minutes, bound, rest = _time_and_bound(rest, part)
    when = dt.time(minutes // 60, minutes % 60) if minutes is not None else None
    provider = vocabulary.provider_in(s) if vocabulary else None
    kind = vocabulary.appointment_type_in(s) if vocabulary else None
    urgency = "urgent" if _URGENT.search(s) else None

    intent = None
    for name, pattern in _CONTAINED_INTENTS:
        if pattern.search(s):
            intent = name
            break
    if reference is not None and intent in (None, "book", "list") and _MOVE_WORD.search(s):
        intent = "reschedule"
    if intent is None:
        if date or problem or when or part or provider or kind or urgency:
            intent = "book"
        elif _YES_START.match(bare):
            intent = "confirm"
        elif _NO_START.match(bare):
            intent = "deny"
        elif _HELP_ANYWHERE.search(s):
            intent = "help"
        elif _GREETING_START.match(bare):
            intent = "greeting"
        else:
            intent = "unknown"
    return Understanding(intent=intent, date=date, time=when, part_of_day=part, provider=provider,
                         appointment_type=kind, urgency=urgency, date_problem=problem,
                         time_bound=bound if when else None, reference=reference)


def _choice(m: re.Match) -> int | None:
    if m["num"]:
        value = int(m["num"])
    elif m["word"]:
        value = _NUMBER_WORDS[m["word"]]
    else:
        value = _ORDINAL_WORDS[m["ordinal"]]
    return value if 1 <= value <= MAX_CHOICE else None


# ---------------------------------------------------------------------------------------------
# `python -m bot.nlu`: JSON lines in, JSON lines out.

class _BadLine(ValueError):
    pass


def _parse_now(raw: Any, zone: Any) -> dt.datetime:
    if raw is None:
        return dt.datetime.now(zone)
    if not isinstance(raw, str):
        raise _BadLine('"now" must be an ISO-8601 date-time string')
    try:
        value = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        raise _BadLine('"now" is not an ISO-8601 date-time') from None
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value.astimezone(zone)


def _zone(name: Any, default: str) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name is None:
        name = default
    if not isinstance(name, str) or not name.strip():
        raise _BadLine('"tz" must be an IANA time zone name')
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise _BadLine('"tz" is not a known IANA time zone') from None


def answer_line(line: bytes | str, vocabulary: Vocabulary | None, default_tz: str) -> dict:
    """The JSON object for one input line: the understanding, or {"error": ...}."""
    try:
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                raise _BadLine("line is not UTF-8") from None
        if not line.strip():
            raise _BadLine("empty line")
        try:
            request = json.loads(line)
        except (ValueError, RecursionError):
            raise _BadLine("line is not JSON") from None
        if not isinstance(request, dict):
            raise _BadLine("line must be a JSON object")
        text = request.get("text")
        if not isinstance(text, str):
            raise _BadLine('"text" must be a string')
        zone = _zone(request.get("tz"), default_tz)
        now = _parse_now(request.get("now"), zone)
        return understand(text, now, vocabulary).as_json()
    except _BadLine as exc:
        return {"error": str(exc)}
    except Exception as exc:  # never a traceback for one bad line
        return {"error": f"could not read this line ({type(exc).__name__})"}


def main() -> int:
    """Serve JSON lines on stdin/stdout until EOF; exit status 2 when the clinic cannot load."""
    try:
        from scheduler.clinic import load_clinic

        clinic = load_clinic(os.environ.get("CLINIC_CONFIG") or None)
        vocabulary = Vocabulary.from_clinic(clinic)
        default_tz = clinic.timezone
    except Exception as exc:  # the operator gets one line, not a stack trace
        sys.stderr.write(f"bot.nlu: cannot load the clinic file: {exc}\n")
        return 2
    stdin, stdout = sys.stdin.buffer, sys.stdout
    for line in iter(stdin.readline, b""):
        stdout.write(json.dumps(answer_line(line, vocabulary, default_tz)) + "\n")
        stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
