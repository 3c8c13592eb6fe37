"""What the staff channel reads: notices say ids and times only, never a name or a number."""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import UTC, datetime, timedelta

import pytest

from bot.staff import notice_replies as say
from bot.staff.notices import StaffNotice

AT = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)  # Wed 9:00 AM in New York
START = AT + timedelta(days=1)  # Thu Mar 5 at 9:00 AM
# Digits, spaces and phone punctuation, seven characters or more: how a phone number looks.
PHONE_LIKE = re.compile(r"\d[\d ().+-]{5,}\d")


def a_notice(kind: str, **overrides) -> StaffNotice:
    given = dict(
        at=AT,
        channel="sms",
        patient_id=7,
        appointment_id=3,
        start=START,
        provider="okafor",
        message_kind="reminder",
        code=30003,
        appointment_type="checkup",
        language=None,
    )
    return StaffNotice(kind, **{**given, **overrides})


# --- notices in the staff channel -------------------------------------------------------------------


def test_a_notice_has_no_field_for_a_name_a_number_or_message_text():
    carried = {f.name for f in fields(StaffNotice)}
    assert not {
        name
        for name in carried
        if re.search(r"name|phone|number|text|body|category|triage|symptom", name)
    }


@pytest.mark.parametrize(
    "kind, expected",
    [
        (
            "booked",
            [
                "New booking #3",
                "patient #7",
                "(SMS)",
                "Thu Mar 5 at 9:00 AM",
                "with Dr. Amara Okafor",
            ],
        ),
        (
            "rescheduled",
            ["Patient #7 moved appointment #3", "Thu Mar 5 at 9:00 AM", "with Dr. Amara Okafor"],
        ),
        ("cancelled", ["Patient #7 cancelled appointment #3", "which was Thu Mar 5 at 9:00 AM"]),
        ("red_flag", ["patient #7", "at 9:00 AM", "call 911"]),
        ("red_flag_unanswered", ["patient #7", "at 9:00 AM", "/appt contact 7"]),
        ("urgent_waitlist", ["Patient #7", "General check-up", "urgent"]),
        ("undelivered", ["A reminder text to patient #7", "9:00 AM", "error 30003"]),
        ("a_kind_added_later", ["a_kind_added_later", "patient #7", "at 9:00 AM"]),
    ],
)
def test_each_notice_says_ids_and_times_and_no_phone_number(demo_clinic, kind, expected):
    text = say.notice(a_notice(kind), demo_clinic)
    assert all(part in text for part in expected), text
    assert not PHONE_LIKE.search(text), text


def test_a_notice_says_the_language_a_patient_speaks_when_it_is_not_english(demo_clinic):
    spanish = say.notice(a_notice("booked", language="es", channel="web"), demo_clinic)
    english = say.notice(a_notice("booked", language="en", channel="web"), demo_clinic)
    assert "(web chat, speaks Spanish)" in spanish
    assert "(web chat)" in english and "speaks" not in english


def test_a_notice_without_a_time_or_with_a_provider_no_longer_listed_still_reads(demo_clinic):
    text = say.notice(a_notice("booked", start=None, provider="retired"), demo_clinic)
    assert text == "New booking #3 by patient #7 (SMS): an unknown time."
