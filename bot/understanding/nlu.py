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
  month that has a 7th; "the 11th of this month" stays in this month even when past. Days in
  words read the same ("on the third", "the first of March", "march twenty first"), and so does
  a day number right after a weekday ("saturday the 14th", "Saturday 14": the 14th, not 14:00).
  "the first Tuesday of next month", "the second monday in april", "the last friday of the
  month" are that weekday of that month. A date named without a year ("March 9", "3/9", US
  month/day) is this year's unless that is before today, else next year's, except that a date at
  most a month gone is read as that past date. An explicit date before today is returned with
  `date_problem="past"`; a day that does not exist ("February 30th") gives no date and
  `date_problem="impossible"`.
* Times. "9:15am", "14:00", "2 p.m.", "4 o'clock", "half past 2", "a quarter past 3pm", "twenty
  after 3", "quarter to 5", "ten to 4", "a quarter to noon", "noon"; in words ("three pm", "ten
  thirty am", "at three fifteen"); without the colon ("330 pm", "at 1030", but "2026" is a year).
  A bare hour ("at 3", "tomorrow 10") is read in clinic hours: 7-11 morning, 12 noon, 1-6
  afternoon; a part of day said with it, before or after, overrides ("8 in the evening", "8
  tonight", "evening 8" -> 20:00; "quarter to 12 in the morning" -> 11:45). A message that is
  only a number ("3") is a choice, never a time. Numbers inside dates, phone numbers and
  reference numbers are neither. "after 3" and "before 10am" make the time a limit
  (`time_bound`), not a wish.
* Typos. A misspelled word the rules read ("tmorrow", "firday", "cancle", "apointmnt", a
  provider's or visit type's name) is put right before the entities and intents are read, by
  rapidfuzz over those words only (see `correct_typos`); real English words ("cancer", "moth"),
  words of three letters or fewer and SMS keywords never are.
* A message that is only a digit ordinal ("2nd", "the 7th") is a choose with that choice AND the
  date it would name, so the dialogue can use whichever its state expects.

Work is capped (only the first `MAX_CHARS` characters are read; triage reads a little further),
every regex is compiled once at import, a regex is only searched where the text could hold its
match, and the typo index is built once per `Vocabulary`: a typical message takes well under 0.2
ms, the longest input under a millisecond. Message text is never printed or logged.

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
from typing import Any, Callable, Iterable, Mapping, Sequence

from dateutil import parser as dateutil_parser
from dateutil.relativedelta import MO, relativedelta, weekday as rd_weekday
from rapidfuzz import fuzz, process

from bot.understanding import language as languages
from bot.understanding import spanish
from bot.understanding.spanish import plain
from bot.understanding.triage import red_flag

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
    """The words of a clinic's name for something, as messages are matched: lower case, no
    apostrophes, no accents ("revisión" and "revision" are one phrase)."""
    return tuple(_WORD.findall(plain(phrase).translate(_APOSTROPHES)))


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
    _spelling: Any = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_provider_matcher", _phrase_matcher(self.providers))
        object.__setattr__(self, "_type_matcher", _phrase_matcher(self.appointment_types))
        # Built once per vocabulary: its words join the engine's as words a typo may mean.
        words = {word for phrases in (*self.providers.values(), *self.appointment_types.values())
                 for phrase in phrases for word in _words(phrase)}
        object.__setattr__(self, "_spelling", _Spelling(words))

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
    # The language the message is in, "en" or "es" (bot/understanding/language.py): another language is
    # given as the closest one served; a message too short to tell ("ok", "2") as English.
    language: str = "en"

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
            "language": self.language,
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
# "the first Tuesday of next month", "the second monday in april", "the last friday of the month".
_NTH = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
        "fifth": 5, "5th": 5, "last": -1}
_NTH_WEEKDAY = re.compile(
    rf"\b(?:the\s+)?(?P<nth>{'|'.join(_NTH)})\s+(?P<day>{_WEEKDAY})\.?\s+(?:of|in)\s+"
    rf"(?:(?:the\s+)?(?:(?P<which>this|next|coming)\s+)?month\b|(?P<month>{_MONTH})\b\.?{_YEAR})")
# "saturday the 14th", "sat 14th", "Saturday 14": a day number right after a weekday is the day of
# the month, not an hour. Without "th" it must end the phrase or go on as a day would ("saturday
# 14 at 3", "friday 10 for a checkup"): "friday 10am", "monday 9-11", "friday 2 or 3", "tuesday 3
# in the afternoon", "monday 2 kids" are no days, and "friday, 10" with its comma is Friday at 10.
_WEEKDAY_DAY = re.compile(
    rf"\b(?P<weekday>{_WEEKDAY})\.?\s+(?:the\s+)?(?P<day>\d{{1,2}})(?P<suffix>{_ORDINAL_SUFFIX})?\b"
    r"(?(suffix)|(?=\s*(?:$|[,.;!?)]|(?:at|around|about|after|before|by|for|with|please|pls|if"
    r"|then|works?|is|would|could|ok|okay|thanks|thank)\b)))")

# Days of the month in words ("the first of March", "on the third", "the twenty-first", "march
# twenty first") are rewritten as digits, padded to the same length, for the rules above. Bare
# "first"/"second" mean many things ("first thing", "the first available", "the second one"), so
# a word is a day only after a month, before "of <month>", or as "the <ordinal>" where the phrase
# ends or goes on as a date would ("on the third at 2", "the fifth, please").
_FIRST_NINE = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")
_DAY_ORDINALS = {**{word: n for n, word in enumerate(_FIRST_NINE, 1)},
                 "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
                 "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
                 "nineteenth": 19, "twentieth": 20, "thirtieth": 30, "thirtyfirst": 31,
                 **{f"twenty{word}": 20 + n for n, word in enumerate(_FIRST_NINE, 1)}}
_DAY_ORDINAL = (rf"twenty[\s-]?(?:{'|'.join(_FIRST_NINE)})|thirty[\s-]?first"
                rf"|{'|'.join(sorted(_DAY_ORDINALS, key=len, reverse=True))}")
_ORDINAL_WORD_DAY = re.compile(
    rf"\b(?:{_MONTH})\.?\s+(?:the\s+)?(?P<after_month>{_DAY_ORDINAL})\b"
    rf"|\b(?P<before_of>{_DAY_ORDINAL})(?=\s+of\s+(?:(?:{_MONTH})\b|(?:this|next)\s+month\b))"
    rf"|\bthe\s+(?P<the>{_DAY_ORDINAL})(?=\s*(?:$|[,.;:!?)@\d]|(?:at|around|about|after|before"
    r"|by|in the|or|and|please|pls|if|for|with|then|works?|is|morning|afternoon|evening)\b))")

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
_MERIDIEM = r"\s*(?P<meridiem>[ap])\.?\s?m\b\.?"
# "2pm", "9:15am", and typed without the colon, "330 pm", "1130am" (without am/pm only after a
# lead word, "at 1030", see `_compact`).
_TIME_MERIDIEM = re.compile(r"(?<![\d$£€.:])(?P<hour>\d{1,2})(?:[:.](?P<minute>\d{2})"
                            r"|(?P<compact>[0-5]\d))?" + _MERIDIEM)
_TIME_CLOCK = re.compile(r"(?<![\d$£€.:/])(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?![\d:.]\d)")
_TIME_OCLOCK = re.compile(rf"\b{_HOUR}\s*o\s?clock\b")

# Minutes in words, 1-59: "oh five", "fifteen", "thirty", "forty five", "twenty-three".
_UNIT_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
               "eight": 8, "nine": 9}
_TEEN_WORDS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
               "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS_WORDS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}
_MINUTE_VALUES = {**_UNIT_WORDS, **_TEEN_WORDS, **_TENS_WORDS, "oh": 0, "o": 0, "half": 30,
                  "quarter": 15, "a": 0}
_UNIT = "|".join(_UNIT_WORDS)
_MINUTE_WORD = (rf"(?:(?:oh|o)\s+(?:{_UNIT})|(?:{'|'.join(_TENS_WORDS)})(?:[\s-]+(?:{_UNIT}))?"
                rf"|{'|'.join(sorted(_TEEN_WORDS, key=len, reverse=True))})")
_LEAD = (r"\b(?:at|around|about|approximately|approx|by|after|before|from|between|until|till|til)"
         r"\s+(?:around\s+|about\s+)?")
# "three pm", "ten thirty am", "seven thirty p.m.": an hour in words needs am/pm ...
_TIME_WORDS_MERIDIEM = re.compile(rf"\b(?P<hour>{_HOUR_WORD})(?:[\s-]+(?P<minute>{_MINUTE_WORD}))?"
                                  rf"{_MERIDIEM}")
# ... or a lead word and its minutes: "at three fifteen" ("three fifteen" alone may be anything).
_TIME_WORDS_AT = re.compile(rf"{_LEAD}(?P<hour>{_HOUR_WORD})[\s-]+(?P<minute>{_MINUTE_WORD})\b"
                            rf"{_NOT_A_TIME_AFTER}")
_TIME_COMPACT_AT = re.compile(rf"{_LEAD}(?P<hour>\d{{1,2}})(?P<minute>[0-5]\d)\b"
                              rf"{_NOT_A_TIME_AFTER}")

# Minutes after and before an hour: "a quarter past 3pm", "twenty after 3", "5 past 10", "ten to
# 5", "a quarter to noon". Digits before "after"/"to" only in fives or with "minutes" ("2 after
# 3" may be two visits, "10 to 5" is a range).
_THE_HOUR = (rf"(?P<hour>\d{{1,2}}|{_HOUR_WORD}|noon|midday|midnight)(?:{_MERIDIEM}|\b)"
            r"(?:\s*o\s?clock\b)?")
_SOME_MINUTES = r"a quarter|quarter|twenty[\s-]five|twenty|ten|five|\d{1,2}\s+min(?:ute)?s?"
_TIME_PAST = re.compile(rf"\b(?:(?P<minutes>half|fifteen|{_SOME_MINUTES}|\d{{1,2}})\s+past"
                        rf"|(?P<minutes_after>half|fifteen|{_SOME_MINUTES}|5|10|15|20|25)"
                        rf"\s+after)\s+{_THE_HOUR}")
_TIME_TO = re.compile(rf"\b(?P<minutes>{_SOME_MINUTES}"
                      rf"|\d{{1,2}}(?=\s+to\s+(?:noon|midday|midnight)\b))"   # "15 to noon"
                      rf"\s+(?:to|till|til|before|of)\s+{_THE_HOUR}")
_TIME_NOON = re.compile(r"\b(?:12\s+)?(?P<word>noon|midday|mid-day|midnight)\b")
_TIME_AT = re.compile(rf"\b(?:at|around|by|after|before|from|between|until|till|til)"
                      rf"\s+(?:around\s+|about\s+|like\s+)?{_HOUR}\b{_NOT_A_TIME_AFTER}|@\s*"
                      rf"(?P<hour2>\d{{1,2}})\b{_NOT_A_TIME_AFTER}")
# "3 in the afternoon", "8 tonight", "eight tonight"; otherwise a number word needs "in the"
# ("one morning" is no time, nor is "can I get one tonight").
_TIME_WITH_PART = re.compile(rf"(?:\b(?P<hour>\d{{1,2}})\s+(?:in\s+the\s+|this\s+)?"
                             rf"|\b(?P<hourw>{_HOUR_WORD})\s+(?:in\s+the\s+|(?<!one )(?=tonight)))"
                             rf"(?P<part>morning|afternoon|evening|tonight|at night|am|pm)\b")
_SPOKEN_PARTS = {"tonight": "evening", "at night": "evening", "am": "morning", "pm": "afternoon"}
# The part of day first: "morning 11", "evening 5" (not "good morning 2 questions").
_TIME_PART_THEN_HOUR = re.compile(rf"(?<!good )\b(?P<part>morning|afternoon|evening)\s+"
                                  rf"(?P<hour>\d{{1,2}})\b{_NOT_A_TIME_AFTER}")
# A bare hour right after a date ("tomorrow 3", "friday, 10", "tomorrow 1030"): masked dates are
# NUL runs.
_TIME_AFTER_DATE = re.compile(rf"\x00[\x00\s,]*?[\s,](?:at\s+)?(?P<hour>\d{{1,2}})"
                              rf"(?P<minute>[0-5]\d)?\b{_NOT_A_TIME_AFTER}")

# ---------------------------------------------------------------------------------------------
# An appointment's reference number: "#8", "ref 8", "reference no. 8", "appointment #8", "booking
# 8" (the confirmation says "ref #8"), but not "appointment 2 weeks from now" or "appt 3pm".

_REFERENCE = re.compile(
    r"(?:\b(?:ref|reference|confirmation|booking|appointment|cita|referencia|reserva|numero)"
    r"(?:\s+(?:number|num|no\.?|de referencia|numero))?"
    r"\s*#?\s*|#\s*)(?P<ref>\d{1,9})\b(?!\s*(?:[:./-]\d|[ap]\.?\s?m\b|st\b|nd\b|rd\b|th\b|of\b"
    r"|o\s?clock|days?\b|weeks?\b|months?\b|hours?\b|hrs?\b|mins?\b|minutes?\b))")
# With a reference, these words move it: "move #8 to 3pm", "change appointment 8 to friday".
_MOVE_WORD = re.compile(r"\b(?:move|shift|change|switch|push|bring|cambiar|mover|pasar"
                        r"|reprogramar)\b")

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
# Every number word of a time holds one of these ("three", "fifteen", "forty five").
_NUMBER_WORD_STEMS = (*_NUMBER_WORDS, "teen", "twenty", "thirty", "forty", "fifty")
_NOON_WORDS = ("noon", "midday", "mid-day", "midnight")
_TO_WORDS = (" to ", " till ", " til ", " before ", " of ")
_WORDS_MERIDIEM = re.compile(rf"\b(?:{_HOUR_WORD}|{_MINUTE_WORD})\s*[ap]\.?\s?m\b")
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
    return _this_or_next_year(today, lambda year: _calendar(phrase, year))


def _this_or_next_year(today: dt.date, on: Callable[[int], dt.date | None]
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


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> dt.date | None:
    """The nth (or, for -1, the last) such weekday of the month; None when it has no fifth."""
    first = dt.date(year, month, 1)
    if nth < 0:
        day = first + relativedelta(day=31, weekday=rd_weekday(weekday)(-1))
    else:
        day = first + relativedelta(weekday=rd_weekday(weekday)(nth))
    return day if day.month == month else None


def _resolve_nth_weekday(m: re.Match, today: dt.date):
    weekday, nth = _WEEKDAYS[m["day"]], _NTH[m["nth"]]
    if m["month"]:
        month = _MONTHS[m["month"]]
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
    return _day_of_month(today, int(m["day"]), None)


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
_DIGIT = re.compile(r"\d")


def _holds(text: str, words: tuple[str, ...]) -> bool:
    """Whether `text` may match a rule that needs one of `words`: a cheap test before a search."""
    return any(word in text for word in words)


def _day_in_digits(m: re.Match) -> str:
    """ "twenty-first" -> "21st" padded to the word's length, so every span stays where it was."""
    name = next(group for group in ("after_month", "before_of", "the") if m[group])
    day = _DAY_ORDINALS[m[name].replace(" ", "").replace("-", "")]
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    start, end = m.start(name) - m.start(), m.end(name) - m.start()
    return m.group()[:start] + f"{day}{suffix}".ljust(end - start) + m.group()[end:]


def _find_date(text: str, today: dt.date) -> tuple[dt.date | None, str | None, str, str]:
    """The date the message names, its problem, the text with every date phrase masked, and the
    text as the date rules read it before masking (phone numbers blanked, days in digits)."""
    found: tuple[dt.date | None, str | None] | None = None
    has_digit = _DIGIT.search(text) is not None
    if has_digit:
        # ISO first: its dashes would otherwise look like a phone number.
        match = _ISO_DATE.search(text)
        if match:
            found = _resolve_iso(match, today)
            text = _ISO_DATE.sub(lambda m: "\x00" * len(m.group()), text)
        text = _PHONE.sub(lambda m: " " * len(m.group()), text)
    if _holds(text, _ORDINAL_STEMS):
        spelled = _ORDINAL_WORD_DAY.sub(_day_in_digits, text)
        has_digit = has_digit or spelled != text
        text = spelled
    unmasked = text
    for pattern, resolve, needs in _DATE_RULES:
        if not (has_digit if needs is _DIGITS else _holds(text, needs)):
            continue
        match = pattern.search(text)
        if match is None:
            continue
        if found is None:
            found = resolve(match, today)  # None: not a date after all ("24/7")
        text = pattern.sub(lambda m: "\x00" * len(m.group()), text)
    date, problem = found if found else (None, None)
    return date, problem, text, unmasked


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


def _time_and_bound(text: str, part: str | None,
                    unmasked: str) -> tuple[int | None, str | None, str]:
    """Minutes after midnight of the time the message names, whether it is a limit ("after",
    "before", else None), and the text with the time masked. `unmasked` is `text` before its
    dates were masked (same length)."""
    minutes, masked = _find_time(text, part, unmasked)
    if minutes is None:
        return None, None, text
    at = next((i for i, (a, b) in enumerate(zip(text, masked)) if a != b), 0)
    said = text[at:]         # "after 3" is one match of _TIME_AT, "after 3pm" two parts
    lead = _BOUND_LEAD.search(text[:at] + (said.split(" ", 1)[0] + " "
                                           if said.startswith(("after ", "before ")) else ""))
    return minutes, lead["bound"] if lead else None, masked


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
        return (12 * 60 if hour != "midnight" else 24 * 60) - minutes
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
    # Each search runs only where the text could hold its match (see `_DATE_RULES`).
    digits = _DIGIT.search(text) is not None
    words = _holds(text, _NUMBER_WORD_STEMS)
    noon = _holds(text, _NOON_WORDS)
    if not (digits or words or noon):
        return None, text
    # Minutes past or to an hour first: "a quarter past 3pm" is 15:15, not the 3pm in it.
    m = _TIME_PAST.search(text) if _holds(text, ("past", "after")) else None
    if m:
        minutes = _spoken_minutes(m["minutes"] or m["minutes_after"])
        value = _hour_after(m, minutes, part) if minutes <= 59 else None
        return value, _mask(text, m)
    m = _TIME_TO.search(text) if _holds(text, _TO_WORDS) else None
    if m:
        minutes = _spoken_minutes(m["minutes"])
        value = _hour_before(m, minutes, part) if minutes <= 59 else None
        return value, _mask(text, m)
    m = _TIME_MERIDIEM.search(text) if digits else None
    if m:
        if m["compact"] and not 1 <= int(m["hour"]) <= 12:
            return None, _mask(text, m)   # "2026 pm" is no time
        minute = int(m["minute"] or m["compact"] or 0)
        return _clock(int(m["hour"]), minute, m["meridiem"], part), _mask(text, m)
    m = _TIME_WORDS_MERIDIEM.search(text) if words else None
    if m:
        minutes = _spoken_minutes(m["minute"]) if m["minute"] else 0
        return _clock(_hour_value(m["hour"]), minutes, m["meridiem"], part), _mask(text, m)
    m = _TIME_CLOCK.search(text) if digits else None
    if m:
        hour = m["hour"]
        return _clock(int(hour), int(m["minute"]), None, part,
                      twenty_four_hour=len(hour) == 2 and hour[0] == "0"), _mask(text, m)
    m = _TIME_OCLOCK.search(text) if "clock" in text else None
    if m:
        return _clock(_hour_value(m["hour"]), 0, None, part), _mask(text, m)
    m = _TIME_NOON.search(text) if noon else None
    if m:
        return (0 if m["word"] == "midnight" else 12 * 60), _mask(text, m)
    # Read where the dates are still spelled out ("8 tonight": "tonight" is also today), but
    # never an hour that is part of a date ("march 3 in the afternoon").
    for m in _TIME_WITH_PART.finditer(unmasked) if digits or words else ():
        hour = "hour" if m["hour"] else "hourw"
        if text[m.start(hour):m.end(hour)] == m[hour]:
            spoken_part = _SPOKEN_PARTS.get(m["part"], m["part"])
            return _clock(_hour_value(m[hour]), 0, None, spoken_part), _mask(text, m)
    m = _TIME_PART_THEN_HOUR.search(text) if digits else None
    if m:
        return _clock(int(m["hour"]), 0, None, m["part"]), _mask(text, m)
    m = _TIME_COMPACT_AT.search(text) if digits else None
    if m and (value := _compact(m["hour"], m["minute"], part)) is not None:
        return value, _mask(text, m)   # else a year ("by 2026"): read on
    m = _TIME_WORDS_AT.search(text) if words else None
    if m:
        return (_clock(_hour_value(m["hour"]), _spoken_minutes(m["minute"]), None, part),
                _mask(text, m))
    m = _TIME_AT.search(text) if digits or words else None
    if m:
        return _clock(_hour_value(m["hour"] or m["hour2"]), 0, None, part), _mask(text, m)
    m = _TIME_AFTER_DATE.search(text) if digits else None
    if m:
        if m["minute"]:
            return _compact(m["hour"], m["minute"], part), _mask(text, m)
        return _clock(int(m["hour"]), 0, None, part), _mask(text, m)
    return None, text


def _find_part(text: str) -> str | None:
    text = _GREETING_PHRASE.sub(" ", text)
    if "am" in text:
        text = _I_AM.sub(" ", text)
    if ("am" in text or "pm" in text or ".m" in text) and _holds(text, _NUMBER_WORD_STEMS):
        # am/pm said with a time names no part of day, in words as in digits ("3pm")
        text = _WORDS_MERIDIEM.sub(" ", text)
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
# Typos in the words that matter ("tmorrow", "firday", "cancle", "apointmnt").
#
# A word that is not a known word and is close to one of the words the rules read is replaced by
# that word, and the corrected text goes through the same rules as any other. The score is
# rapidfuzz's `fuzz.ratio`, 100 * (1 - indel distance / total length): a missing or extra letter
# costs 1, a wrong or swapped letter 2. The thresholds, and why:
# * 4-5 letters: >= 85, which only a missing or extra letter reaches ("chek" -> check, 89). One
#   wrong letter in five scores 80, and five-letter English words sit that close to each other
#   ("fewer"/"fever", "couch"/"cough", "cheek"/"check").
# * 6 letters or more, to one of the engine's own words: >= 80, one wrong or swapped letter
#   ("firday" 83, "cancle" 83, "wensday" 88, "reschedual" 90).
# * To one of the clinic's words (6 letters or more): >= 85. Their English neighbours are not on
#   the list below, so only a closer slip counts ("vacation" scores 84 to "vaccination" and stays).
# * The first letter must be right and the length within two letters: misspellings rarely get
#   the first letter wrong or lose three letters, and it narrows each lookup to a handful of
#   candidates. Words of 3 letters or fewer are never corrected ("bok", "mon", "sat", "wed",
#   "fry" are each one letter from too much), nor are SMS keywords (STOP, START, HELP stay
#   exact: the whole-message keywords are read before this step anyway).
# * A known word is never corrected: the engine's and the clinic's own words, the abbreviations
#   the rules read, and the real English words below.

# The engine's words of five letters or more: what the intents, dates and parts of day read.
_ENGINE_WORDS = frozenset("""
    monday tuesday wednesday thursday friday saturday sunday january february march april august
    september october november december today tonight tomorrow morning afternoon evening month
    appointment appointments booking schedule reschedule rebook postpone cancel cancellation
    waitlist available availability visit check doctor urgent earliest
""".split())
# Real English words within those thresholds of the engine's words or of the demo clinic's
# (scheduler/demo_clinic.toml): every word of Debian's `wamerican` list that the rules below
# would otherwise change, found once by running them over it. So "cancer" never becomes
# "cancel", "chance" never "cancel", "moth" never "month", "mourning" never "morning", "sundae"
# never "sunday", "earlier" never "earliest".
_REAL_WORDS = frozenset("""
    advisability afternoons amiability annually annuals annul anointment appointed appointee
    appointees apportionment aprils assailable augurs augusta augustan auguster augusts augustus
    blocking blooding blooming boinking boobing booing bookings booming boosting booting boozing
    brooding brooking cancelation canceled cancellations cancelling cancels cancer caning chance
    chancel chancels chanel checked checker checks checkup checkups clanging clanking cleanings
    cleansing clearing cleaving cline constellation consul consular consult consultant consults
    decembers doctoral doctored doctorow doctors earlier earline earliness earnest earthiest
    earthliest easiest eeriest emending evenings evincing feeding feelingly feelings felling
    felting fleeing freeing freida fridays frieda fueling gargantua gargantuan genera generally
    generals headaches henri immunizations infecting infections inflection inflections injection
    mach majoring marc marched marcher marches minoring moaning monarch mondays mont monthly
    months mooning mooring moorings mornings moth motoring mounding mounting mourning nonmember
    novembers octobers physic physically physicals postponed postpones practitioners reebok
    rescheduled reschedules rescheduling retook revising revisions saturdays scheduled scheduler
    schedulers schedules septembers spain sprained sprains spraying sturdy sundae sundas sundays
    sundry throats throaty thursdays tomorrows tuesdays ultrasonic ultrasounds urgently
    vaccinate vaccinating vaccinations vaccines vacua visited visitor visits wapitis wednesdays
    wiliest
""".split())
# The commonest words of patient texts, near none of the engine's words: listed only so that
# they skip the lookup.
_COMMON_WORDS = frozenset("""
    about also anything around back been both come could didnt does dont each even
    from getting give going good have hello here just know like make many maybe more much need
    next okay only other please really right same should some something soon still sure take
    than thank thanks that their them then there these they thing this time very want week were
    what when where which while will with would your
""".split())
_SMS_KEYWORDS = frozenset({"stop", "stopall", "unsubscribe", "quit", "start", "unstop", "help",
                           "info"})
_KNOWN_WORDS = (_ENGINE_WORDS | _REAL_WORDS | _COMMON_WORDS | _SMS_KEYWORDS | set(_WEEKDAYS)
                | set(_MONTHS) | set(_SHORTHAND) | set(_SHORTHAND.values()))
_TYPO_CANDIDATE = re.compile(r"(?<![^\W\d_])[a-z]{4,24}(?![^\W\d_])")
_CLINIC_TARGET = re.compile(r"[a-z]{6,}")


def _by_first_letter(words: Iterable[str]) -> dict[str, tuple[str, ...]]:
    buckets: dict[str, list[str]] = {}
    for word in sorted(words):
        buckets.setdefault(word[0], []).append(word)
    return {letter: tuple(group) for letter, group in buckets.items()}


_ENGINE_BY_LETTER = _by_first_letter(_ENGINE_WORDS)


def _near_in_length(word: str, by_letter: dict[str, tuple[str, ...]]) -> list[str]:
    """The candidates a slip of the keyboard could have made `word` from: the same first letter,
    at most two letters more or fewer ("electrocardiograma" is another test than an
    "ecocardiograma", however alike they score)."""
    return [w for w in by_letter.get(word[0], ()) if abs(len(w) - len(word)) <= 2]


class _Spelling:
    """The words a typo may be meant as (the engine's and one clinic's) and the words never
    corrected; built once per vocabulary."""

    def __init__(self, clinic_words: Iterable[str] = ()) -> None:
        clinic_words = set(clinic_words)
        self._known = _KNOWN_WORDS | clinic_words
        self._clinic = _by_first_letter(
            w for w in clinic_words if _CLINIC_TARGET.fullmatch(w) and w not in _ENGINE_WORDS)

    def correct(self, text: str) -> str:
        fixes = {}
        for word in set(_TYPO_CANDIDATE.findall(text)) - self._known:
            meant = self._closest(word)
            if meant:
                fixes[word] = meant
        if not fixes:
            return text
        return _TYPO_CANDIDATE.sub(lambda m: fixes.get(m.group(), m.group()), text)

    def _closest(self, word: str) -> str | None:
        best = None
        for candidates, cutoff in ((_near_in_length(word, _ENGINE_BY_LETTER),
                                    85 if len(word) <= 5 else 80),
                                   (_near_in_length(word, self._clinic), 85)):
            found = candidates and process.extractOne(word, candidates, scorer=fuzz.ratio,
                                                      score_cutoff=cutoff)
            if found and (best is None or found[1] > best[1]):
                best = found
        return best[0] if best else None


_ENGINE_SPELLING = _Spelling()


def correct_typos(text: str, vocabulary: Vocabulary | None = None) -> str:
    """The normalized `text` with each misspelled word the rules read put right (see above);
    every other word, real words first of all, is left exactly as it was."""
    spelling = vocabulary._spelling if vocabulary is not None else _ENGINE_SPELLING
    return spelling.correct(text)


# ---------------------------------------------------------------------------------------------
# The entry point.

def understand(text: str, now: dt.datetime, vocabulary: Vocabulary | None = None) -> Understanding:
    """Intent and entities of one message; `now` is the clinic's current time (aware, in the
    clinic's zone). Never raises for any text."""
    if not isinstance(text, str):
        text = ""
    told = languages.tell(text[:MAX_CHARS], first=True)
    language = languages.CLOSEST.get(told or "", told) or languages.ENGLISH
    # Triage reads further than the rest (its own cap): an emergency late in a long message
    # must still be seen.
    if red_flag(text) is not None:
        return Understanding(intent="emergency", language=language)
    s = _normalize(text)
    bare = _EDGES.sub("", s)
    today = now.date()
    # Spanish is read unless the message is plainly English: its answers first ("no" is a
    # "no" in both), then its phrasing of dates and times in the rules' words (bot/understanding/spanish.py).
    in_spanish = told in (languages.SPANISH, *languages.CLOSEST) or (
        told is None and languages.mentions_spanish(text))
    if in_spanish:
        answered = spanish.whole_message(s)
        if answered is not None:
            intent, choice = answered
            return Understanding(intent=intent, choice=choice, language=language)

    if _STOP.match(bare) or _STOP_ANYWHERE.search(s):
        return Understanding(intent="stop", language=language)
    if _START.match(bare):
        return Understanding(intent="start", language=language)

    m = _CHOOSE.match(bare)
    if m:
        choice = _choice(m)
        if choice is not None:
            date = problem = None
            if m["suffix"]:
                date, problem = _day_of_month(today, int(m["num"]), None)
            return Understanding(intent="choose", choice=choice, date=date, date_problem=problem,
                                 reference=choice if "#" in s else None, language=language)

    for intent, pattern in ((("help", _HELP), ("greeting", _GREETING), ("confirm", _CONFIRM),
                             ("deny", _DENY))):
        if pattern.match(bare) or (intent == "help" and not bare and "?" in s):
            return Understanding(intent=intent, language=language)

    spanish_intent = None
    if in_spanish:
        unaccented = plain(s)
        spanish_intent = spanish.intent(unaccented)
        if spanish_intent == "stop":
            return Understanding(intent="stop", language=language)
        s = spanish.rewrite(unaccented)
    else:
        # Entities and intents read the text with its typos put right; the whole-message forms
        # above did not, so a keyword is only ever the keyword itself.
        s = correct_typos(s, vocabulary)
    # A reference number is no date or time ("move #12 to friday").
    found_reference = _REFERENCE.search(s)
    reference = int(found_reference["ref"]) if found_reference else None
    date, problem, rest, unmasked = _find_date(
        _mask(s, found_reference) if found_reference else s, today)
    part = _find_part(s)
    minutes, bound, rest = _time_and_bound(rest, part, unmasked)
    when = dt.time(minutes // 60, minutes % 60) if minutes is not None else None
    named = plain(s)
    provider = vocabulary.provider_in(named) if vocabulary else None
    kind = vocabulary.appointment_type_in(named) if vocabulary else None
    urgency = "urgent" if _URGENT.search(s) else None

    intent = spanish_intent
    for name, pattern in _CONTAINED_INTENTS if intent is None else ():
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
                         time_bound=bound if when else None, reference=reference,
                         language=language)


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
