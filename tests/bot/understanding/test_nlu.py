"""The local engine's understanding: intents and entities of single messages, and the CLI.

Every expectation is against a fixed clinic "now": Wednesday 2026-03-04 10:00 in New York.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time as clock
from datetime import date, datetime, time
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from bot.understanding.nlu import INTENTS, Understanding, Vocabulary, correct_typos, understand

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=NEW_YORK)
REPO = Path(__file__).resolve().parents[3]
JSON_KEYS = {
    "intent",
    "date",
    "time",
    "part_of_day",
    "provider",
    "appointment_type",
    "urgency",
    "choice",
    "language",
}

VOCABULARY = Vocabulary(
    providers={
        "okafor": ["Dr. Amara Okafor", "dr okafor", "okafor", "amara okafor"],
        "lindqvist": ["dr lindqvist", "doctor lindqvist", "henrik"],
    },
    appointment_types={
        "cleaning": ["cleaning", "teeth cleaning", "hygiene"],
        "checkup": ["checkup", "check-up", "physical"],
        "vaccination": ["vaccination", "flu shot", "shot"],
        "sick-visit": ["sick visit", "flu"],
    },
)


def test_now_is_a_wednesday():
    assert NOW.date().strftime("%A") == "Wednesday"


def expect(
    intent,
    *,
    d=None,
    t=None,
    part=None,
    choice=None,
    provider=None,
    kind=None,
    urgency=None,
    problem=None,
):
    return dict(
        intent=intent,
        date=d,
        time=t,
        part_of_day=part,
        choice=choice,
        provider=provider,
        appointment_type=kind,
        urgency=urgency,
        date_problem=problem,
    )


def D(month, day, year=2026):
    return date(year, month, day)


def T(hour, minute=0):
    return time(hour, minute)


PHRASINGS = [
    # book
    ("book", expect("book")),
    ("I'd like to book an appointment", expect("book")),
    ("can I schedule a visit", expect("book")),
    ("I need to see the doctor", expect("book")),
    ("I need a cleaning", expect("book", kind="cleaning")),
    ("can I come in tuesday", expect("book", d=D(3, 10))),
    ("tomorrow at 3", expect("book", d=D(3, 5), t=T(15))),
    ("a cleaning on friday", expect("book", d=D(3, 6), kind="cleaning")),
    ("book a flu vaccination", expect("book", kind="vaccination")),  # not the "flu" sick visit
    ("I have the flu", expect("book", kind="sick-visit")),
    ("I need a shot, I have the flu", expect("book", kind="vaccination")),
    # cancel
    ("cancel my appointment", expect("cancel")),
    ("CANCEL", expect("cancel")),
    ("I can't make it tomorrow", expect("cancel", d=D(3, 5))),
    ("Cancel my 3pm appointment tomorrow", expect("cancel", d=D(3, 5), t=T(15))),
    ("I can't make the checkup on friday", expect("cancel", d=D(3, 6), kind="checkup")),
    ("drop the cleaning", expect("cancel", kind="cleaning")),
    ("get rid of my physical", expect("cancel", kind="checkup")),
    ("i dont need the flu shot anymore", expect("cancel", kind="vaccination")),
    ("no longer need my checkup", expect("cancel", kind="checkup")),
    ("scratch my appointment", expect("cancel")),
    ("remove my number from your list", expect("stop")),  # no visit to cancel: opt-out
    ("book a checkup, I can't do mornings", expect("book", kind="checkup", part="morning")),
    # reschedule
    ("can we move my appointment", expect("reschedule")),
    ("reschedule", expect("reschedule")),
    ("I need to change my appointment", expect("reschedule")),
    ("is there a different time", expect("reschedule")),
    ("cancel it and find me another day", expect("reschedule")),
    ("move it to friday at 2", expect("reschedule", d=D(3, 6), t=T(14))),
    ("move the flu shot to thursday", expect("reschedule", d=D(3, 5), kind="vaccination")),
    ("can you move my cleaning to next week", expect("reschedule", d=D(3, 9), kind="cleaning")),
    ("change the checkup to friday", expect("reschedule", d=D(3, 6), kind="checkup")),
    ("push the checkup back a week", expect("reschedule", kind="checkup")),
    ("i need to move my physical", expect("reschedule", kind="checkup")),
    ("change my phone number", expect("unknown")),
    # list
    ("when is my vaccination", expect("list", kind="vaccination")),
    ("wait what day was that again", expect("list")),
    ("nxt wk", expect("book", d=D(3, 9))),
    ("appt tmrw aft", expect("book", d=D(3, 5), part="afternoon")),
    ("Can you send me a confirmation?", expect("list")),
    ("is my flu shot still on", expect("list", kind="vaccination")),
    ("do i have a checkup booked", expect("list", kind="checkup")),
    ("my appointments", expect("list")),
    ("When is my appointment?", expect("list")),
    ("what do I have booked", expect("list")),
    ("what are my appointments next week", expect("list", d=D(3, 9))),
    ("what appointments do I have", expect("list")),
    ("Which appointments do I have?", expect("list")),
    ("what's my next appointment", expect("list")),
    ("upcoming appointments", expect("list")),
    ("is my appointment still on", expect("list")),
    ("when am I coming in", expect("list")),
    ("what appointments do you have tomorrow", expect("book", d=D(3, 5))),
    # confirm
    ("yes", expect("confirm")),
    ("y", expect("confirm")),
    ("yeah", expect("confirm")),
    ("yep", expect("confirm")),
    ("OK", expect("confirm")),
    ("okay", expect("confirm")),
    ("sure", expect("confirm")),
    ("confirm", expect("confirm")),
    ("sounds good", expect("confirm")),
    ("that works", expect("confirm")),
    ("Yes please!", expect("confirm")),
    # deny
    ("no", expect("deny")),
    ("n", expect("deny")),
    ("nope", expect("deny")),
    ("not that", expect("deny")),
    ("none of those", expect("deny")),
    ("No thanks.", expect("deny")),
    # choose
    ("3", expect("choose", choice=3)),
    ("2", expect("choose", choice=2)),
    ("option 2", expect("choose", choice=2)),
    ("#2", expect("choose", choice=2)),
    ("the second one", expect("choose", choice=2)),
    ("2nd", expect("choose", choice=2, d=D(4, 2))),
    ("7th", expect("choose", choice=7, d=D(3, 7))),
    ("I'll take 3", expect("choose", choice=3)),
    ("Option 4 please", expect("choose", choice=4)),
    # waitlist
    ("waitlist", expect("waitlist")),
    ("wait list please", expect("waitlist")),
    ("put me on the list", expect("waitlist")),
    ("notify me if something opens", expect("waitlist")),
    ("put me on the cancellation list", expect("waitlist")),
    # help
    ("help", expect("help")),
    ("HELP", expect("help")),
    ("info", expect("help")),
    ("what can you do", expect("help")),
    ("?", expect("help")),
    # stop and start (the whole body is the keyword)
    ("STOP", expect("stop")),
    ("  stop. ", expect("stop")),
    ("StopAll", expect("stop")),
    ("UNSUBSCRIBE", expect("stop")),
    ("End", expect("stop")),
    ("QUIT!", expect("stop")),
    ("stop texting me", expect("stop")),
    ("stop texting", expect("stop")),
    ("START", expect("start")),
    ("unstop", expect("start")),
    # greeting
    ("hi", expect("greeting")),
    ("Hello!", expect("greeting")),
    ("good morning", expect("greeting")),
    ("hey there", expect("greeting")),
    # emergency wins over everything, entities included
    ("I have chest pain, can I come in today at 3?", expect("emergency")),
    ("STOP I can't breathe", expect("emergency")),
    # relative dates
    ("today", expect("book", d=D(3, 4))),
    ("tonight", expect("book", d=D(3, 4), part="evening")),
    ("tomorrow", expect("book", d=D(3, 5))),
    ("tmrw", expect("book", d=D(3, 5))),
    ("tmr", expect("book", d=D(3, 5))),
    ("day after tomorrow", expect("book", d=D(3, 6))),
    ("in 3 days", expect("book", d=D(3, 7))),
    ("in a week", expect("book", d=D(3, 11))),
    ("in 2 weeks", expect("book", d=D(3, 18))),
    # weekdays: the next one strictly after today
    ("wednesday", expect("book", d=D(3, 11))),
    ("this friday", expect("book", d=D(3, 6))),
    ("next tuesday", expect("book", d=D(3, 10))),
    ("tue", expect("book", d=D(3, 10))),
    ("tues", expect("book", d=D(3, 10))),
    ("thurs", expect("book", d=D(3, 5))),
    ("Monday next week", expect("book", d=D(3, 9))),
    ("next week Monday", expect("book", d=D(3, 9))),
    ("friday next week", expect("book", d=D(3, 13))),
    ("next week", expect("book", d=D(3, 9))),
    # days of the month
    ("on the 7th", expect("book", d=D(3, 7))),
    ("on the 3rd", expect("book", d=D(4, 3))),
    ("11th of this month", expect("book", d=D(3, 11))),
    ("the 2nd of this month", expect("book", d=D(3, 2), problem="past")),
    ("the 1st of next month", expect("book", d=D(4, 1))),
    # named dates
    ("March 9th", expect("book", d=D(3, 9))),
    ("9 March", expect("book", d=D(3, 9))),
    ("March 9", expect("book", d=D(3, 9))),
    ("mar 9", expect("book", d=D(3, 9))),
    ("3/9", expect("book", d=D(3, 9))),
    ("3/9/2027", expect("book", d=D(3, 9, 2027))),
    ("2027-03-09", expect("book", d=D(3, 9, 2027))),
    ("March 1", expect("book", d=D(3, 1), problem="past")),  # days ago: a slip, not next year
    ("January 15", expect("book", d=D(1, 15, 2027))),  # weeks ago: next year
    ("3/1/2026", expect("book", d=D(3, 1), problem="past")),
    ("2026-03-01", expect("book", d=D(3, 1), problem="past")),
    ("February 30th", expect("book", problem="impossible")),
    ("April 31", expect("book", problem="impossible")),
    ("dec 45", expect("book", problem="impossible")),  # not December 2045
    ("Feb 29 2028", expect("book", d=D(2, 29, 2028))),
    ("Feb 29 2027", expect("book", problem="impossible")),
    ("Feb 29", expect("book", problem="impossible")),
    # times
    ("tomorrow 9:15am", expect("book", d=D(3, 5), t=T(9, 15))),
    ("9.15 am", expect("book", t=T(9, 15))),
    ("14:00", expect("book", t=T(14))),
    ("2pm", expect("book", t=T(14))),
    ("2 p.m.", expect("book", t=T(14))),
    ("at 3", expect("book", t=T(15))),
    ("at 8", expect("book", t=T(8))),
    ("at 12", expect("book", t=T(12))),
    ("4 o'clock", expect("book", t=T(16))),
    ("half past 2", expect("book", t=T(14, 30))),
    ("quarter past 10", expect("book", t=T(10, 15))),
    ("quarter to 5", expect("book", t=T(16, 45))),
    ("ten to 4", expect("book", t=T(15, 50))),
    ("noon", expect("book", t=T(12))),
    ("midday", expect("book", t=T(12))),
    ("12am", expect("book", t=T(0))),
    ("quarter to 5 in the evening", expect("book", t=T(16, 45), part="evening")),
    ("8 in the evening", expect("book", t=T(20), part="evening")),
    ("10 in the morning", expect("book", t=T(10), part="morning")),
    ("3 in the afternoon", expect("book", t=T(15), part="afternoon")),
    ("next Tuesday afternoon", expect("book", d=D(3, 10), part="afternoon")),
    ("the 7th at half past 2", expect("book", d=D(3, 7), t=T(14, 30))),
    ("March 9th 14:00", expect("book", d=D(3, 9), t=T(14))),
    ("friday, 10", expect("book", d=D(3, 6), t=T(10))),
    ("between 2 and 4 on friday", expect("book", d=D(3, 6), t=T(14))),
    ("Do you have anything on the 12th around 2?", expect("book", d=D(3, 12), t=T(14))),
    ("May 5th at 11", expect("book", d=D(5, 5), t=T(11))),
    ("tomorrow morning at 10", expect("book", d=D(3, 5), t=T(10), part="morning")),
    # part of day
    ("morning", expect("book", part="morning")),
    ("tomorrow am", expect("book", d=D(3, 5), part="morning")),
    ("afternoon please", expect("book", part="afternoon")),
    ("evening", expect("book", part="evening")),
    ("after work on friday", expect("book", d=D(3, 6), part="evening")),
    ("lunchtime tomorrow", expect("book", d=D(3, 5), part="afternoon")),
    ("I am free tomorrow", expect("book", d=D(3, 5))),
    # numbers that are no time
    ("call me at 555-123-4567 tomorrow", expect("book", d=D(3, 5))),
    ("I'm 45 years old", expect("unknown")),
    # providers and appointment types
    ("with Dr. Okafor", expect("book", provider="okafor")),
    ("DR. AMARA OKAFOR tomorrow", expect("book", d=D(3, 5), provider="okafor")),
    ("doctor lindqvist at 9", expect("book", t=T(9), provider="lindqvist")),
    ("a teeth cleaning", expect("book", kind="cleaning")),
    ("hygiene appointment", expect("book", kind="cleaning")),
    ("flu shot", expect("book", kind="vaccination")),
    ("flu shots for the kids", expect("book", kind="vaccination")),
    ("I have the flu", expect("book", kind="sick-visit")),
    # urgency
    ("urgent", expect("book", urgency="urgent")),
    ("asap", expect("book", urgency="urgent")),
    ("as soon as possible please", expect("book", urgency="urgent")),
    ("soonest you have", expect("book", urgency="urgent")),
    ("I need to be seen right away", expect("book", urgency="urgent")),
    ("earliest with okafor", expect("book", provider="okafor", urgency="urgent")),
    # bad input
    ("", expect("unknown")),
    ("   ", expect("unknown")),
    ("x" * 10_000, expect("unknown")),
    ("😀😀😀", expect("unknown")),
    ("Привет, как дела", expect("unknown")),
    ("你好", expect("unknown")),
    ("<script>alert(1)</script>", expect("unknown")),
    ("'; DROP TABLE appointments;--", expect("unknown")),
    ("asdf qwerty", expect("unknown")),
    # times as people write them: hours and minutes in words
    ("three pm", expect("book", t=T(15))),
    ("eleven am", expect("book", t=T(11))),
    ("twelve pm", expect("book", t=T(12))),
    ("ten thirty am", expect("book", t=T(10, 30))),
    ("half past eleven", expect("book", t=T(11, 30))),
    ("at three fifteen", expect("book", t=T(15, 15))),
    ("two forty five pm", expect("book", t=T(14, 45))),
    # minutes after and before the hour, in words or digits
    ("a quarter past 3pm", expect("book", t=T(15, 15))),
    ("twenty after 3", expect("book", t=T(15, 20))),
    ("ten to 5", expect("book", t=T(16, 50))),
    ("quarter to 12 in the morning", expect("book", t=T(11, 45), part="morning")),
    ("a quarter to noon", expect("book", t=T(11, 45))),
    ("5 past 10", expect("book", t=T(10, 5))),
    # a part of day before or after a bare hour
    ("morning 11", expect("book", t=T(11), part="morning")),
    ("evening 5", expect("book", t=T(17), part="evening")),
    ("afternoon 12", expect("book", t=T(12), part="afternoon")),
    ("8 tonight", expect("book", d=D(3, 4), t=T(20), part="evening")),
    ("12 o'clock in the afternoon", expect("book", t=T(12), part="afternoon")),
    # clock times typed without the colon
    ("330 pm", expect("book", t=T(15, 30))),
    ("at 1030", expect("book", t=T(10, 30))),
    ("1130am", expect("book", t=T(11, 30))),
    ("after work", expect("book", part="evening")),
    ("first thing", expect("book", part="morning")),
    ("first thing tomorrow", expect("book", d=D(3, 5), part="morning")),
    # days of the month in words (the 1st is days gone: a slip, as "March 1" above)
    ("the first of March", expect("book", d=D(3, 1), problem="past")),
    ("on the third", expect("book", d=D(4, 3))),
    ("the twenty-first", expect("book", d=D(3, 21))),
    ("march twenty first", expect("book", d=D(3, 21))),
    # the nth weekday of a month
    ("the first Tuesday of next month", expect("book", d=D(4, 7))),
    ("the second monday in april", expect("book", d=D(4, 13))),
    ("the last friday of the month", expect("book", d=D(3, 27))),
    # a day number right after a weekday is the day of the month, never an hour
    ("saturday the 14th", expect("book", d=D(3, 14))),
    ("sat 14th", expect("book", d=D(3, 14))),
    ("Saturday 14", expect("book", d=D(3, 14))),
]


def _fields(u: Understanding) -> dict:
    return dict(
        intent=u.intent,
        date=u.date,
        time=u.time,
        part_of_day=u.part_of_day,
        choice=u.choice,
        provider=u.provider,
        appointment_type=u.appointment_type,
        urgency=u.urgency,
        date_problem=u.date_problem,
    )


@pytest.mark.parametrize("text, expected", PHRASINGS, ids=[p[0][:40] for p in PHRASINGS])
def test_phrasing_is_understood(text, expected):
    assert _fields(understand(text, NOW, VOCABULARY)) == expected


def test_the_table_covers_at_least_ninety_phrasings_and_every_intent():
    assert len(PHRASINGS) >= 90
    assert {e["intent"] for _, e in PHRASINGS} == set(INTENTS)


ROLLOVERS = [
    # year end: Wednesday 2026-12-30
    (datetime(2026, 12, 30, 9, 0, tzinfo=NEW_YORK), "tomorrow", D(12, 31)),
    (datetime(2026, 12, 30, 9, 0, tzinfo=NEW_YORK), "day after tomorrow", D(1, 1, 2027)),
    (datetime(2026, 12, 30, 9, 0, tzinfo=NEW_YORK), "on the 5th", D(1, 5, 2027)),
    (datetime(2026, 12, 30, 9, 0, tzinfo=NEW_YORK), "Jan 3", D(1, 3, 2027)),
    (datetime(2026, 12, 30, 9, 0, tzinfo=NEW_YORK), "in a week", D(1, 6, 2027)),
    (datetime(2026, 12, 30, 9, 0, tzinfo=NEW_YORK), "next week", D(1, 4, 2027)),
    (datetime(2026, 12, 30, 9, 0, tzinfo=NEW_YORK), "monday", D(1, 4, 2027)),
    (datetime(2026, 12, 30, 9, 0, tzinfo=NEW_YORK), "November 2", D(11, 2, 2027)),
    (datetime(2026, 12, 30, 9, 0, tzinfo=NEW_YORK), "12/31", D(12, 31)),
    # month end: Saturday 2026-01-31 (February 2026 has 28 days)
    (datetime(2026, 1, 31, 9, 0, tzinfo=NEW_YORK), "tomorrow", D(2, 1)),
    (datetime(2026, 1, 31, 9, 0, tzinfo=NEW_YORK), "on the 15th", D(2, 15)),
    (datetime(2026, 1, 31, 9, 0, tzinfo=NEW_YORK), "on the 30th", D(3, 30)),
    (datetime(2026, 1, 31, 9, 0, tzinfo=NEW_YORK), "on the 29th", D(3, 29)),
    (datetime(2026, 1, 31, 9, 0, tzinfo=NEW_YORK), "on the 31st", D(1, 31)),
    # leap years: 2028 has a February 29th, 2027 does not
    (datetime(2028, 1, 31, 9, 0, tzinfo=NEW_YORK), "on the 29th", D(2, 29, 2028)),
    (datetime(2027, 1, 31, 9, 0, tzinfo=NEW_YORK), "on the 29th", D(3, 29, 2027)),
    (datetime(2027, 6, 1, 9, 0, tzinfo=NEW_YORK), "Feb 29", D(2, 29, 2028)),
    (datetime(2028, 2, 28, 9, 0, tzinfo=NEW_YORK), "tomorrow", D(2, 29, 2028)),
]


@pytest.mark.parametrize("now, text, expected", ROLLOVERS)
def test_dates_roll_over_month_and_year_ends_and_leap_days(now, text, expected):
    result = understand(text, now)
    assert result.date == expected
    assert result.date_problem is None


def test_a_day_this_short_month_lacks_is_impossible_when_pinned_to_it():
    result = understand("the 30th of this month", datetime(2026, 2, 10, 9, tzinfo=NEW_YORK))
    assert result.date is None and result.date_problem == "impossible"


def test_relative_dates_use_the_clinic_day_not_the_utc_day():
    late_evening = datetime(2026, 3, 4, 23, 30, tzinfo=NEW_YORK)  # already the 5th in UTC
    assert understand("tomorrow", late_evening).date == D(3, 5)


def test_without_a_vocabulary_there_is_no_provider_or_type():
    result = understand("a cleaning with Dr. Okafor tomorrow", NOW)
    assert (result.provider, result.appointment_type) == (None, None)
    assert result.intent == "book" and result.date == D(3, 5)


def test_vocabulary_prefers_the_longest_phrase_and_whole_words():
    vocabulary = Vocabulary(
        providers={"a": ["okafor"], "b": ["amara okafor"]},
        appointment_types={"x": ["scan"], "y": ["heart scan"]},
    )
    result = understand("heart scan with Amara Okafor", NOW, vocabulary)
    assert (result.provider, result.appointment_type) == ("b", "y")
    assert understand("okaforville scanner", NOW, vocabulary).provider is None
    assert understand("okaforville scanner", NOW, vocabulary).appointment_type is None


def test_vocabulary_from_clinic_uses_names_aliases_and_synonyms():
    clinic = SimpleNamespace(
        providers=[
            SimpleNamespace(key="okafor", name="Dr. Amara Okafor", aliases=("amara",)),
            SimpleNamespace(key="moreau", name="Nurse Celine Moreau", aliases=()),
        ],
        appointment_types=[
            SimpleNamespace(key="teeth-cleaning", name="Teeth cleaning", synonyms=("hygiene",))
        ],
    )
    vocabulary = Vocabulary.from_clinic(clinic)
    assert understand("doctor okafor", NOW, vocabulary).provider == "okafor"
    assert understand("Amara please", NOW, vocabulary).provider == "okafor"
    assert understand("nurse celine moreau", NOW, vocabulary).provider == "moreau"
    assert understand("hygiene visit", NOW, vocabulary).appointment_type == "teeth-cleaning"
    assert understand("teeth cleaning", NOW, vocabulary).appointment_type == "teeth-cleaning"


def test_a_bare_number_is_a_choice_never_a_time():
    result = understand("3", NOW)
    assert (result.intent, result.choice, result.time) == ("choose", 3, None)
    assert understand("at 3", NOW).time == T(15)
    assert understand("3pm", NOW).time == T(15)
    assert understand("3 o'clock", NOW).time == T(15)


@pytest.mark.parametrize(
    "text, time_, bound",
    [
        ("any time after 3", T(15), "after"),
        ("after 3pm", T(15), "after"),
        ("tomorrow after 2:30", T(14, 30), "after"),
        ("friday after about 4", T(16), "after"),
        ("before 10am", T(10), "before"),
        ("before noon", T(12), "before"),
        ("anytime before 11 on monday", T(11), "before"),
        ("at 3", T(15), None),
        ("3pm", T(15), None),
        ("ten after 3", T(15, 10), None),
        ("half past 2", T(14, 30), None),
        ("after lunch", None, None),
    ],
)
def test_after_or_before_a_time_makes_it_a_limit(text, time_, bound):
    result = understand(text, NOW)
    assert (result.time, result.time_bound) == (time_, bound)


def test_as_json_has_exactly_the_contract_keys_in_iso_form():
    data = understand("tomorrow 9:15am with dr okafor asap", NOW, VOCABULARY).as_json()
    assert set(data) == JSON_KEYS
    assert data == {
        "intent": "book",
        "date": "2026-03-05",
        "time": "09:15",
        "part_of_day": None,
        "provider": "okafor",
        "appointment_type": None,
        "urgency": "urgent",
        "choice": None,
        "language": "en",
    }
    json.dumps(data)


def test_odd_input_never_raises_and_long_input_stays_fast():
    for text in (
        "\x00" * 50,
        "9" * 10_000,
        "/" * 600,
        "at " * 3000,
        "the 7th " * 2000,
        "\ud800",
        None,
    ):
        assert understand(text, NOW, VOCABULARY).intent in INTENTS
    started = clock.perf_counter()
    understand("tomorrow at 3 " * 1000, NOW, VOCABULARY)
    assert (
        clock.perf_counter() - started < 0.5
    )  # typical: well under 1 ms; catastrophic backtracking: seconds


# ---------------------------------------------------------------------------------------------
# python -m bot.nlu


def _run_cli(lines: list[str]) -> list[str]:
    pytest.importorskip("scheduler.clinic_file")
    env = {k: v for k, v in __import__("os").environ.items() if k != "CLINIC_CONFIG"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.understanding.nlu"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout.splitlines()


def test_cli_answers_each_line_with_the_contract_keys():
    out = _run_cli(
        [
            json.dumps(
                {
                    "text": "tomorrow at 3 with dr okafor",
                    "now": "2026-03-04T10:00:00",
                    "tz": "America/New_York",
                }
            ),
            json.dumps({"text": "yes", "now": "2026-03-04T10:00:00"}),
        ]
    )
    assert len(out) == 2
    first, second = (json.loads(line) for line in out)
    assert set(first) == JSON_KEYS and set(second) == JSON_KEYS
    assert first["intent"] == "book" and first["date"] == "2026-03-05"
    assert first["time"] == "15:00" and first["provider"] == "okafor"
    assert second["intent"] == "confirm"


def test_cli_converts_a_now_with_offset_into_the_zone():
    # 03:00 UTC on the 5th is 22:00 on the 4th in New York, so "tomorrow" is the 5th.
    out = _run_cli(
        [
            json.dumps(
                {"text": "tomorrow", "now": "2026-03-05T03:00:00+00:00", "tz": "America/New_York"}
            )
        ]
    )
    assert json.loads(out[0])["date"] == "2026-03-05"


def test_cli_answers_a_bad_line_with_an_error_and_goes_on():
    out = _run_cli(
        [
            "this is not json",
            json.dumps({"text": 42}),
            json.dumps({"text": "hi", "tz": "Mars/Olympus_Mons"}),
            json.dumps({"text": "hi", "now": "last tuesday"}),
            json.dumps(["text"]),
            json.dumps({"text": "cancel my appointment"}),
        ]
    )
    assert len(out) == 6
    answers = [json.loads(line) for line in out]
    for answer in answers[:5]:
        assert set(answer) == {"error"}
    assert answers[5]["intent"] == "cancel"


@pytest.mark.parametrize(
    "text, intent, reference, time_",
    [
        ("cancel appointment #1", "cancel", 1, None),
        ("cancel ref 8", "cancel", 8, None),
        ("please cancel booking number 12", "cancel", 12, None),
        ("move #1 to 3pm", "reschedule", 1, T(15)),
        ("move appointment 1 to friday 3pm", "reschedule", 1, T(15)),
        ("change appt #7 at 10", "reschedule", 7, T(10)),
        ("#3", "choose", 3, None),
        ("book an appointment 2 weeks from now", "book", None, None),
        ("appointment 3pm tomorrow", "book", None, T(15)),
        ("cancel my appointment on 3/9", "cancel", None, None),
        ("what's my ref number", "list", None, None),
    ],
)
def test_a_reference_number_is_read_and_is_never_a_time(text, intent, reference, time_):
    understood = understand(text, NOW, VOCABULARY)
    assert (understood.intent, understood.reference, understood.time) == (intent, reference, time_)


@pytest.mark.parametrize(
    "text, reference",
    [
        ("call me on 5551234567", None),
        ("call me at 555 123 4567", None),
        ("in 2026", None),
        ("by 2026", None),
        ("#1030", 1030),
        ("appointment 1030", 1030),
        ("ref 1130", 1130),
        ("1030", None),
        ("330", None),
        ("I was born in 1985", None),
    ],
)
def test_numbers_that_are_no_clock_time_stay_no_time(text, reference):
    understood = understand(text, NOW, VOCABULARY)
    assert (understood.time, understood.reference) == (None, reference)


@pytest.mark.parametrize(
    "text, date_, time_",
    [
        ("friday, 10", D(3, 6), T(10)),  # the comma keeps it an hour
        ("friday 10am", D(3, 6), T(10)),
        ("friday 10 am", D(3, 6), T(10)),
        ("monday 9:30", D(3, 9), T(9, 30)),
        ("tuesday 3 in the afternoon", D(3, 10), T(15)),
        ("friday 2 or 3", D(3, 6), T(14)),
        ("friday 10", D(3, 10), None),  # the 10th, a Tuesday: the day number wins
        ("friday 10 for a checkup", D(3, 10), None),
        ("friday 10 morning", D(3, 6), T(10)),
        ("saturday 14 at 3", D(3, 14), T(15)),
        ("monday 2 kids need flu shots", D(3, 9), None),
        ("thu 5th at 2", D(3, 5), T(14)),
    ],
)
def test_a_number_after_a_weekday_is_an_hour_only_when_it_reads_as_one(text, date_, time_):
    understood = understand(text, NOW, VOCABULARY)
    assert (understood.date, understood.time) == (date_, time_)


@pytest.mark.parametrize(
    "text, date_, problem",
    [
        ("the first of next month", D(4, 1), None),
        ("the fifth of this month", D(3, 5), None),
        ("on the thirty-first", D(3, 31), None),
        ("the second of march", D(3, 2), "past"),
        ("the twentieth, please", D(3, 20), None),
        ("the twelfth at 3", D(3, 12), None),
        ("the first monday of the month", D(3, 2), "past"),  # this month's, though gone
        ("the fifth monday of april", None, "impossible"),  # April 2026 has four
        ("the first tuesday in october", D(10, 6), None),
        ("the last sunday of february", D(2, 22), "past"),  # days gone: a slip
        ("the last sunday of january", D(1, 31, 2027), None),  # weeks gone: next year's
        ("the 2nd thursday of next month", D(4, 9), None),
    ],
)
def test_days_named_by_their_place_in_the_month(text, date_, problem):
    understood = understand(text, NOW, VOCABULARY)
    assert (understood.date, understood.date_problem) == (date_, problem)


@pytest.mark.parametrize(
    "text, date_",
    [
        ("first thing tomorrow", D(3, 5)),
        ("the first available", None),
        ("the second one at 3", None),
        ("for the first time", None),
        ("my first visit", None),
        ("the third floor", None),
        ("second opinion please", None),
    ],
)
def test_first_and_second_are_no_day_of_the_month_by_themselves(text, date_):
    assert understand(text, NOW, VOCABULARY).date == date_


@pytest.mark.parametrize(
    "text, time_",
    [
        ("ten to 7", T(6, 50)),  # the clinic-hours rule reads the hour said
        ("quarter to 1 in the afternoon", T(12, 45)),
        ("twenty to 8 tonight", T(19, 40)),
        ("quarter to 12pm", T(11, 45)),
        ("10 minutes past 2", T(14, 10)),
        ("at seven oh five am", T(7, 5)),
        ("around ten thirty", T(10, 30)),
        ("at 0930", T(9, 30)),
        ("tomorrow 230", T(14, 30)),
        ("good morning 2 questions", None),  # a greeting is no part of day for an hour
        ("can I get one tonight", None),  # "one" is a visit here, not 1 o'clock
        ("10 to 5", None),  # a range, not 16:50
    ],
)
def test_minutes_words_and_parts_of_day_around_an_hour(text, time_):
    assert understand(text, NOW, VOCABULARY).time == time_


def test_am_or_pm_said_with_a_time_in_words_names_no_part_of_day():
    assert understand("three pm", NOW).part_of_day is None
    assert understand("3pm", NOW).part_of_day is None
    assert understand("tomorrow pm", NOW).part_of_day == "afternoon"


# ---------------------------------------------------------------------------------------------
# A published corpus: Facebook Duckling's English time corpus, `Duckling/Time/EN/Corpus.hs`
# (github.com/facebook/duckling, BSD licence), the expressions of its `allExamples` (and the US
# `defaultCorpus` extras) that a patient booking a visit could text. Duckling resolves them
# against Tuesday 2013-02-12 04:30; the expectations here are recomputed for this file's NOW
# under this engine's rules, where those differ on purpose from Duckling's: "next tuesday" is the
# coming Tuesday, a bare hour is read in clinic hours ("3:30" is 15:30, "at 4:23" 16:23), a date
# without a year at most a month gone is that past date, and a weekday with a date keeps the date
# (so "Fri, Jul 18" is July 18th although it is a Saturday in 2026).
# Left out, as nothing a clinic bot should book from: "now"/"right now", past days ("yesterday",
# "last tuesday", "last week", "3 weeks ago"), whole weeks, months, quarters, seasons and years
# ("this week", "next month", "October 2014", "this quarter", "this summer", "last year",
# "1954"), holidays ("thanksgiving", "christmas", "mother's day"), durations in seconds, minutes
# and hours ("in 15 minutes", "in 2.5 hours"), ranges and intervals ("July 13-15", "9:30 -
# 11:00", "3-4pm", "next 3 days", "within 2 weeks"), time zones ("4pm CET"), "by EOD",
# "early/mid/late March", weekends, British "half three", one-letter meridiems ("3:15p") and
# "ish", "at 3 15" (its own negative corpus has "3 30"), "friday after next", and weekdays that
# disagree with their date under this NOW ("Tuesday the 19th": read as the 19th).

DUCKLING_EN = [
    # (expression, date, time, part of day, date problem)
    ("today", D(3, 4), None, None, None),
    ("tomorrow", D(3, 5), None, None, None),
    ("monday", D(3, 9), None, None, None),
    ("mon.", D(3, 9), None, None, None),
    ("this monday", D(3, 9), None, None, None),
    ("tuesday", D(3, 10), None, None, None),
    ("thursday", D(3, 5), None, None, None),
    ("thu", D(3, 5), None, None, None),
    ("thu.", D(3, 5), None, None, None),
    ("friday", D(3, 6), None, None, None),
    ("fri", D(3, 6), None, None, None),
    ("fri.", D(3, 6), None, None, None),
    ("saturday", D(3, 7), None, None, None),
    ("sat", D(3, 7), None, None, None),
    ("sat.", D(3, 7), None, None, None),
    ("sunday", D(3, 8), None, None, None),
    ("sun", D(3, 8), None, None, None),
    ("sun.", D(3, 8), None, None, None),
    ("the 1st of march", D(3, 1), None, None, "past"),
    ("first of march", D(3, 1), None, None, "past"),
    ("march first", D(3, 1), None, None, "past"),
    ("march 3", D(3, 3), None, None, "past"),
    ("march 3 2015", D(3, 3, 2015), None, None, "past"),
    ("march 3rd 2015", D(3, 3, 2015), None, None, "past"),
    ("march third 2015", D(3, 3, 2015), None, None, "past"),
    ("3/3/2015", D(3, 3, 2015), None, None, "past"),
    ("2015-03-03", D(3, 3, 2015), None, None, "past"),
    ("on the 15th", D(3, 15), None, None, None),
    ("the 15th of february", D(2, 15), None, None, "past"),
    ("15 of february", D(2, 15), None, None, "past"),
    ("february the 15th", D(2, 15), None, None, "past"),
    ("february 15", D(2, 15), None, None, "past"),
    ("15th february", D(2, 15), None, None, "past"),
    ("Aug 8", D(8, 8), None, None, None),
    ("Fri, Jul 18", D(7, 18), None, None, None),
    ("Jul 18, Fri", D(7, 18), None, None, None),
    ("April 14, 2015", D(4, 14, 2015), None, None, "past"),
    ("next tuesday", D(3, 10), None, None, None),
    ("around next tuesday", D(3, 10), None, None, None),
    ("next week", D(3, 9), None, None, None),
    ("around next week", D(3, 9), None, None, None),
    ("next wednesday", D(3, 11), None, None, None),
    ("wednesday of next week", D(3, 11), None, None, None),
    ("wednesday next week", D(3, 11), None, None, None),
    ("next monday", D(3, 9), None, None, None),
    ("the day after tomorrow", D(3, 6), None, None, None),
    ("day after tomorrow 5pm", D(3, 6), T(17), None, None),
    ("last Monday of March", D(3, 30), None, None, None),
    ("first tuesday of october", D(10, 6), None, None, None),
    ("first tuesday in october", D(10, 6), None, None, None),
    ("third tuesday of september 2014", D(9, 16, 2014), None, None, "past"),
    ("at 3am", None, T(3), None, None),
    ("3 in the AM", None, T(3), "morning", None),
    ("at 3 AM", None, T(3), None, None),
    ("3 oclock am", None, T(3), "morning", None),
    ("at three am", None, T(3), None, None),
    ("3:18am", None, T(3, 18), None, None),
    ("at 3pm", None, T(15), None, None),
    ("@ 3pm", None, T(15), None, None),
    ("3PM", None, T(15), None, None),
    ("3pm", None, T(15), None, None),
    ("3 oclock pm", None, T(15), "afternoon", None),
    ("3 o'clock in the afternoon", None, T(15), "afternoon", None),
    ("3pm approximately", None, T(15), None, None),
    ("at about 3pm", None, T(15), None, None),
    ("at 15 past 3pm", None, T(15, 15), None, None),
    ("a quarter past 3pm", None, T(15, 15), None, None),
    ("3:15 in the afternoon", None, T(15, 15), "afternoon", None),
    ("15:15", None, T(15, 15), None, None),
    ("3:15pm", None, T(15, 15), None, None),
    ("3:15PM", None, T(15, 15), None, None),
    ("at 20 past 3pm", None, T(15, 20), None, None),
    ("3:20 in the afternoon", None, T(15, 20), "afternoon", None),
    ("twenty after 3pm", None, T(15, 20), None, None),
    ("at three twenty", None, T(15, 20), None, None),
    ("at half past three pm", None, T(15, 30), None, None),
    ("half past 3 pm", None, T(15, 30), None, None),
    ("15:30", None, T(15, 30), None, None),
    ("3:30pm", None, T(15, 30), None, None),
    ("330 p.m.", None, T(15, 30), None, None),
    ("3:30 p m", None, T(15, 30), None, None),
    ("3:30", None, T(15, 30), None, None),
    ("nine fifty nine a m", None, T(9, 59), None, None),
    ("a quarter to noon", None, T(11, 45), None, None),
    ("11:45am", None, T(11, 45), None, None),
    ("15 to noon", None, T(11, 45), None, None),
    ("8 tonight", D(3, 4), T(20), "evening", None),
    ("eight tonight", D(3, 4), T(20), "evening", None),
    ("8 this evening", D(3, 4), T(20), "evening", None),
    ("at 8 in the evening", None, T(20), "evening", None),
    ("in the evening at eight", None, T(20), "evening", None),
    ("at 7:30 PM on Fri, Sep 20", D(9, 20), T(19, 30), None, None),
    ("at 9am on Saturday", D(3, 7), T(9), None, None),
    ("on Saturday for 9am", D(3, 7), T(9), None, None),
    ("in a week", D(3, 11), None, None, None),
    ("in 1 week", D(3, 11), None, None, None),
    ("in 7 days", D(3, 11), None, None, None),
    ("in a day", D(3, 5), None, None, None),
    ("a day from now", D(3, 5), None, None, None),
    ("today at 2pm", D(3, 4), T(14), None, None),
    ("at 2pm", None, T(14), None, None),
    ("3pm tomorrow", D(3, 5), T(15), None, None),
    ("until 2:00pm", None, T(14), None, None),
    ("after 2 pm", None, T(14), None, None),
    ("from 2 pm", None, T(14), None, None),
    ("before 11 am", None, T(11), None, None),
    ("by 2:00pm", None, T(14), None, None),
    ("in the afternoon", None, None, "afternoon", None),
    ("after lunch", None, None, "afternoon", None),
    ("10:30", None, T(10, 30), None, None),
    ("approximately 1030", None, T(10, 30), None, None),
    ("this morning", D(3, 4), None, "morning", None),
    ("this evening", D(3, 4), None, "evening", None),
    ("tonight", D(3, 4), None, "evening", None),
    ("at 12pm", None, T(12), None, None),
    ("at noon", None, T(12), None, None),
    ("at 12am", None, T(0), None, None),
    ("at midnight", None, T(0), None, None),
    ("tomorrow afternoon at 5", D(3, 5), T(17), "afternoon", None),
    ("at 5 tomorrow afternoon", D(3, 5), T(17), "afternoon", None),
    ("at 5pm tomorrow", D(3, 5), T(17), None, None),
    ("tomorrow at 5pm", D(3, 5), T(17), None, None),
    ("tomorrow afternoon", D(3, 5), None, "afternoon", None),
    ("tomorrow evening", D(3, 5), None, "evening", None),
    ("tomorrow at lunch", D(3, 5), None, "afternoon", None),
    ("monday mOrnIng", D(3, 9), None, "morning", None),
    ("monday early morning", D(3, 9), None, "morning", None),
    ("february the 15th in the morning", D(2, 15), None, "morning", "past"),
    ("15 of february in the morning", D(2, 15), None, "morning", "past"),
    ("on the first", D(4, 1), None, None, None),
    ("the 1st", D(4, 1), None, None, None),
    ("at 1030", None, T(10, 30), None, None),
    ("around 1030", None, T(10, 30), None, None),
    ("ten thirty am", None, T(10, 30), None, None),
    ("at 730 in the evening", None, T(19, 30), "evening", None),
    ("seven thirty p.m.", None, T(19, 30), None, None),
    ("tonight at 11", D(3, 4), T(23), "evening", None),
    ("4:23am", None, T(4, 23), None, None),
    ("four twenty-three a m", None, T(4, 23), None, None),
    ("4th of July", D(7, 4), None, None, None),
    ("4 of july", D(7, 4), None, None, None),
    ("2/15", D(2, 15), None, None, "past"),
    ("on 2/15", D(2, 15), None, None, "past"),
    ("4/25 at 4:00pm", D(4, 25), T(16), None, None),
    ("1:30 PM on Sat, Sep 21", D(9, 21), T(13, 30), None, None),
    ("at 1:30pm", None, T(13, 30), None, None),
    ("1:30pm", None, T(13, 30), None, None),
]

# Duckling's negative corpus: none of these is a time (or a date).
DUCKLING_EN_NEGATIVE = [
    "laughing out loud",
    "1 adult",
    "we are separated",
    "25",
    "this is the one",
    "in 61",
    "this one",
    "this past one",
    "at single",
    "at a couple of",
    "at a few",
    "at dozens",
    "single o'clock",
    "dozens o'clock",
    "rat 6",
    "3 30",
    "three twenty",
    "at 650.650.6500",
    "at 650-650-6500",
    "two sixty a m",
]


@pytest.mark.parametrize(
    "text, date_, time_, part, problem", DUCKLING_EN, ids=[e[0] for e in DUCKLING_EN]
)
def test_duckling_english_corpus_expressions_are_understood(text, date_, time_, part, problem):
    understood = understand(text, NOW, VOCABULARY)
    assert (understood.date, understood.time, understood.part_of_day, understood.date_problem) == (
        date_,
        time_,
        part,
        problem,
    )


@pytest.mark.parametrize("text", DUCKLING_EN_NEGATIVE)
def test_duckling_english_negative_corpus_names_no_time(text):
    understood = understand(text, NOW, VOCABULARY)
    assert (understood.date, understood.time) == (None, None)


def test_the_corpus_table_keeps_at_least_forty_expressions():
    assert len(DUCKLING_EN) >= 40 and len({e[0] for e in DUCKLING_EN}) == len(DUCKLING_EN)


# ---------------------------------------------------------------------------------------------
# Typos in the words that matter.

TYPOS = [
    (
        "i wnat to bok an apointmnt for a chek up on firday",
        expect("book", d=D(3, 6), kind="checkup"),
    ),
    ("need a checkup on firday", expect("book", d=D(3, 6), kind="checkup")),
    ("cancle my appointment", expect("cancel")),
    ("CANCLE", expect("cancel")),
    ("reschedual", expect("reschedule")),
    ("i need to reschedual my apointment", expect("reschedule")),
    ("tomorow", expect("book", d=D(3, 5))),
    ("tmorrow", expect("book", d=D(3, 5))),
    ("tommorow at 3", expect("book", d=D(3, 5), t=T(15))),
    ("wensday", expect("book", d=D(3, 11))),
    ("thrusday aftrnoon", expect("book", d=D(3, 5), part="afternoon")),
    ("saterday morning", expect("book", d=D(3, 7), part="morning")),
    ("febuary 3", expect("book", d=D(2, 3), problem="past")),
    ("septmber 9", expect("book", d=D(9, 9))),
    ("any availible times", expect("book")),
    ("can i get a vacination", expect("book", kind="vaccination")),
    ("teeth cleening", expect("book", kind="cleaning")),
    ("with dr okafr", expect("book", provider="okafor")),
    ("doctor lindqvst friday", expect("book", d=D(3, 6), provider="lindqvist")),
]


@pytest.mark.parametrize("text, expected", TYPOS, ids=[p[0][:40] for p in TYPOS])
def test_a_typo_in_a_word_that_matters_is_read_as_that_word(text, expected):
    assert _fields(understand(text, NOW, VOCABULARY)) == expected


# Near misses: real words one or two letters from a word the rules read, and the short words
# that stay exactly what they are. Each is left exactly as written.
NEAR_MISSES = [
    "i have cancer",
    "any chance you have friday",
    "a moth got in",
    "in mourning this week",
    "look for an appointment",
    "man i need a checkup",
    "small fry",
    "we got wed in june",
    "sat in the waiting room",
    "the march for science",
    "i need a new physics tutor",
    "my vacation is next week",
    "the sundae was great",
    "is there something earlier",
    "she was appointed in may",
    "booking blocked",
    "fewer visits",
    "a bad cough",
    "im feeling fine",
    "clearing my throat",
    "i want to consult dr okafor",
    "spring break",
    "the door was locked",
    "monday or sunday",
    "a short shot",
    "check the mouth",
    "moaning all night",
    "stop",
    "start",
    "help",
    "stpo",
    "strat",
    "hlep",
    "unstop",
    "info",
    "quit",
    "stopall",
    "unsubscribe",
    "electrocardiogram",
    "months",
    "cancelled",
    "canceled",
]


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_a_real_word_or_a_short_word_is_never_corrected_into_another(text):
    assert correct_typos(text, VOCABULARY) == text
    assert correct_typos(text) == text


@pytest.mark.parametrize(
    "text, intent",
    [
        ("I have cancer", "unknown"),
        ("any chance you have friday?", "book"),
        ("stpo", "unknown"),
        ("hlep", "unknown"),
        ("strat", "unknown"),
        ("STOP", "stop"),
        ("cancle", "cancel"),  # a typo is an intent, never an SMS keyword
        ("look at my appointments", "list"),
    ],
)
def test_near_misses_keep_their_meaning_and_keywords_stay_exact(text, intent):
    assert understand(text, NOW, VOCABULARY).intent == intent


def test_typos_are_corrected_to_the_clinics_own_words():
    clinic = SimpleNamespace(
        providers=[
            SimpleNamespace(key="moreau", name="Nurse Celine Moreau", aliases=("nurse moreau",))
        ],
        appointment_types=[
            SimpleNamespace(key="ultrasound", name="Abdominal ultrasound", synonyms=("sonogram",))
        ],
    )
    vocabulary = Vocabulary.from_clinic(clinic)
    assert understand("nurse moreu", NOW, vocabulary).provider == "moreau"
    assert understand("an ultrasund", NOW, vocabulary).appointment_type == "ultrasound"
    assert understand("a sonagram tomorow", NOW, vocabulary).appointment_type == "ultrasound"
    # Without that vocabulary those words mean nothing, and stay as they are.
    assert correct_typos("nurse moreu an ultrasund") == "nurse moreu an ultrasund"
