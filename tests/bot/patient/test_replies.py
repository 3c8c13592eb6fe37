"""What patients read (bot/patient/replies/), in English and in Spanish: dates and times as each
language says them, plural forms, a refusal's sentence for each of its codes, the texts the clinic
sends by itself fitting one SMS segment, and the crisis line only where it answers.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time

import pytest

from bot.i18n import speaking
from bot.patient import replies, segments
from scheduler.errors import NotAllowed, NotFound, SchedulingError

LANGUAGES = ["en", "es"]


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# --- dates, times and names --------------------------------------------------------------------


@pytest.mark.parametrize(
    "lang, day, clock, when",
    [
        ("en", "Thu Mar 5", "3:00 PM", "Thu Mar 5 at 3:00 PM"),
        ("es", "jueves 5 de marzo", "3:00 p.m.", "jueves 5 de marzo, 3:00 p.m."),
    ],
)
def test_days_and_times_as_each_language_says_them(demo_clinic, lang, day, clock, when):
    with speaking(lang):
        assert replies.day_text(date(2026, 3, 5)) == day
        assert replies.time_text(time(15, 0)) == clock
        assert replies.time_text(datetime(2026, 3, 5, 15, 0)) == clock
        assert replies.when_text(utc(2026, 3, 5, 20, 0), demo_clinic.zone) == when


def test_when_is_the_clinics_wall_clock_on_either_side_of_the_change_to_summer_time(demo_clinic):
    # New York moves its clocks on Sunday 2026-03-08: 3 PM is 20:00 UTC before, 19:00 after.
    assert replies.when_text(utc(2026, 3, 6, 20, 0), demo_clinic.zone) == "Fri Mar 6 at 3:00 PM"
    assert replies.when_text(utc(2026, 3, 9, 19, 0), demo_clinic.zone) == "Mon Mar 9 at 3:00 PM"


def test_a_morning_time_and_noon(demo_clinic):
    assert replies.time_text(time(8, 5)) == "8:05 AM"
    assert replies.time_text(time(12, 0)) == "12:00 PM"


def test_the_period_of_a_waitlist_entry():
    assert replies.period_text(date(2026, 3, 5), date(2026, 3, 19)) == "Thu Mar 5 to Thu Mar 19"
    with speaking("es"):
        assert replies.period_text(date(2026, 3, 5), date(2026, 3, 19)) == (
            "del jueves 5 de marzo al jueves 19 de marzo"
        )


def test_the_clinics_names_in_the_patients_language(demo_clinic):
    moreau = demo_clinic.provider("moreau")
    assert replies.type_names(demo_clinic)[0] == "General check-up"
    assert replies.provider_name(moreau) == "Nurse Practitioner Celine Moreau"
    with speaking("es"):
        assert replies.type_names(demo_clinic)[0] == "Chequeo general"
        assert replies.provider_name(moreau) == "Enfermera practicante Celine Moreau"
        # A name with no translation is the clinic file's.
        assert replies.provider_name(demo_clinic.provider("okafor")) == "Dr. Amara Okafor"


def test_a_name_the_clinic_file_no_longer_has_is_the_stored_one(demo_clinic):
    assert replies.type_name_of(demo_clinic, "retired-kind", "Old visit") == "Old visit"
    assert replies.provider_name_of(demo_clinic, "gone", "Dr. Gone") == "Dr. Gone"
    assert replies.type_name_of(demo_clinic, "checkup", "stale") == "General check-up"


def test_a_greeting_uses_the_first_name_only(demo_clinic):
    assert replies.greeting(demo_clinic, "Lee Example").startswith(
        "Hi Lee! This is the Maple Street Family Clinic"
    )
    assert replies.greeting(demo_clinic, None).startswith("Hi! This is the Maple Street")


# --- plural forms ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lang, one, several",
    [
        ("en", "Your upcoming appointment: Check-up A.", "You have 3 upcoming appointments:"),
        ("es", "Su próxima cita: Check-up A.", "Tiene 3 citas próximas:"),
    ],
)
def test_the_appointments_list_has_one_or_several(lang, one, several):
    lines = ["Check-up A", "Check-up B", "Check-up C"]
    with speaking(lang):
        assert replies.appointments_list(lines[:1]) == one
        listed = replies.appointments_list(lines)
    assert listed.splitlines() == [several, "1. Check-up A", "2. Check-up B", "3. Check-up C"]


@pytest.mark.parametrize(
    "lang, one, two",
    [
        (
            "en",
            "Sat Mar 7 has only one opening left, so the next ones are listed too.",
            "Sat Mar 7 has only 2 openings left, so the next ones are listed too.",
        ),
        (
            "es",
            "El sábado 7 de marzo solo queda un horario libre",
            "El sábado 7 de marzo solo quedan 2 horarios libres",
        ),
    ],
)
def test_the_offer_says_how_many_openings_the_day_has_left(lang, one, two):
    saturday = date(2026, 3, 7)
    with speaking(lang):
        assert replies.slots_offer(saturday, 1, shown=3).startswith(one)
        assert replies.slots_offer(saturday, 2, shown=3).startswith(two)


def test_the_offer_line_for_each_case():
    saturday = date(2026, 3, 7)
    assert replies.slots_offer(saturday, 0, shown=3) == (
        "There are no openings on Sat Mar 7. The nearest are:"
    )
    assert replies.slots_offer(saturday, 3, exact=False, shown=3) == (
        "That time isn't available on Sat Mar 7. The nearest openings are:"
    )
    assert (
        replies.slots_offer(saturday, 3, shown=3)
        == replies.slots_offer(None)
        == ("These times are open. Reply with a number:")
    )


@pytest.mark.parametrize(
    "lang, one, many",
    [
        ("en", "up to 1 day ahead", "up to 14 days ahead"),
        ("es", "hasta 1 día de anticipación", "hasta 14 días de anticipación"),
    ],
)
def test_the_booking_horizon_in_days(lang, one, many):
    with speaking(lang):
        assert one in replies.beyond_horizon("X", 1)
        assert many in replies.beyond_horizon("X", 14)


def test_choosing_from_one_option_or_several():
    assert replies.choose_range(1) == "Please reply 1 to choose it."
    assert replies.choose_range(3) == "Please reply with a number from 1 to 3."


# --- refusals ----------------------------------------------------------------------------------

REFUSALS = {
    "already_cancelled": "Sorry, that appointment is already cancelled.",
    "closed": "Sorry, that appointment is closed, so it can't be changed by text. Please call "
    "(212) 555-0100.",
    "started": "Sorry, that appointment has already started, so it can't be changed by text. "
    "Please call (212) 555-0100.",
    "other_type": "Sorry, a move keeps the kind of visit. To book a different kind, text 'book'.",
    "passed": "Sorry, that time has already passed. What other day works for you?",
    "notice": "Sorry, that is too soon to book by text. What other day works for you? Or call "
    "(212) 555-0100.",
    "horizon": "Sorry, that is too far ahead to book yet. What day closer to now works for you?",
    "out_of_service": "Sorry, that kind of visit can't be booked right now. Please call "
    "(212) 555-0100.",
}
FALLBACK = "Sorry, I can't do that by text. Please call (212) 555-0100."


@pytest.mark.parametrize("code, said", REFUSALS.items())
def test_each_refusal_code_has_its_own_sentence(demo_clinic, code, said):
    assert replies.booking_refused(SchedulingError("x", code=code), demo_clinic) == said


@pytest.mark.parametrize(
    "error",
    [
        SchedulingError("x"),
        NotFound("x"),
        NotAllowed("x"),
        SchedulingError("x", code="something new"),
    ],
)
def test_a_refusal_without_a_sentence_of_its_own_gets_the_clinics_number(demo_clinic, error):
    assert replies.booking_refused(error, demo_clinic) == FALLBACK


@pytest.mark.parametrize("code", REFUSALS)
def test_each_refusal_code_has_its_own_spanish_sentence(demo_clinic, code):
    with speaking("es"):
        said = replies.booking_refused(SchedulingError("x", code=code), demo_clinic)
        fallback = replies.booking_refused(SchedulingError("x"), demo_clinic)
    assert said.startswith("Lo siento") and said != fallback and "{" not in said
    assert said != REFUSALS[code]
    if "(212) 555-0100" in REFUSALS[code]:
        assert "(212) 555-0100" in said


# --- texts the clinic sends by itself: one SMS segment ----------------------------------------


def _longest_provider(clinic, lang):
    return max((p.name_in(lang) for p in clinic.providers), key=len)


# The longest way to say a day and a time: a two-digit day of September, each weekday of a
# week, at 12:45 PM (New York, 16:45 UTC).
LONG_DAYS = [utc(2026, 9, day, 16, 45) for day in range(21, 28)]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("start", LONG_DAYS, ids=lambda d: d.strftime("%a"))
def test_a_reminder_fits_one_segment_with_the_longest_provider_name(demo_clinic, lang, start):
    with speaking(lang):
        text = replies.reminder(
            demo_clinic, start, demo_clinic.zone, _longest_provider(demo_clinic, lang)
        )
        plain = replies.reminder(demo_clinic, start, demo_clinic.zone, None)
        when = replies.when_text(start, demo_clinic.zone)
    for sent in (text, plain):
        assert len(sent) <= 160 and segments.segments(sent) == 1
        assert segments.is_gsm7(sent)
        assert "(212) 555-0100" in sent  # the way to call, always
        assert " C " in sent and " R " in sent and " X " in sent
        assert segments.for_sms(when) in sent


def test_a_reminder_names_the_provider_when_it_fits(demo_clinic):
    text = replies.reminder(
        demo_clinic, utc(2026, 3, 5, 15, 0), demo_clinic.zone, "Dr. Kenji Tanaka"
    )
    assert text == (
        "Maple Street Family Clinic: your visit is Thu Mar 5 at 10:00 AM with Dr. "
        "Kenji Tanaka. Call (212) 555-0100. Reply C to confirm, R to reschedule, X "
        "to cancel."
    )


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("start", LONG_DAYS, ids=lambda d: d.strftime("%a"))
def test_a_waitlist_offer_fits_one_segment(demo_clinic, lang, start):
    with speaking(lang):
        text = replies.waitlist_offer(demo_clinic, start, demo_clinic.zone, hold_minutes=15)
    assert len(text) <= 160 and segments.segments(text) == 1 and segments.is_gsm7(text)
    assert "15 min" in text and "(212) 555-0100" in text
    assert ("YES" if lang == "en" else "SI") in text


def test_a_clinic_name_too_long_for_one_segment_is_cut_and_the_rest_kept(demo_clinic):
    clinic = dataclasses.replace(
        demo_clinic,
        name="Maple Street Family Clinic and Community Health Center of Lower Manhattan",
    )
    text = replies.reminder(clinic, LONG_DAYS[0], clinic.zone, None)
    assert len(text) <= 160 and text.startswith("Maple Street")
    assert "..." in text and text.endswith("X to cancel.")


# --- emergencies -------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_thoughts_of_self_harm_get_the_988_crisis_line_at_a_us_clinic(demo_clinic, lang):
    with speaking(lang):
        said = replies.emergency(demo_clinic, "self_harm")
    assert "988" in said and "911" in said and "(212) 555-0100" in said


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_clinic_outside_the_us_and_canada_never_gives_988(demo_clinic, lang):
    london = dataclasses.replace(demo_clinic, phone="+442071234567")
    with speaking(lang):
        said = replies.emergency(london, "self_harm")
    assert "988" not in said
    assert "020 7123 4567" in said  # its own number, as written there


@pytest.mark.parametrize("lang", LANGUAGES)
def test_other_emergencies_get_the_emergency_number_without_the_crisis_line(demo_clinic, lang):
    with speaking(lang):
        said = replies.emergency(demo_clinic, None)
        chest = replies.emergency(demo_clinic, "cardiac")
    assert said == chest and "911" in said and "988" not in said


# --- every sentence, both languages -------------------------------------------------------------


def test_spanish_sentences_are_translated_not_english(demo_clinic):
    start = utc(2026, 3, 5, 15, 0)
    with speaking("es"):
        said = [
            replies.ask_name(),
            replies.never_mind(),
            replies.kept(),
            replies.no_appointments(),
            replies.help_text(demo_clinic),
            replies.booked("Chequeo general", start, "Dr. Amara Okafor", demo_clinic, 7),
        ]
    with speaking("en"):
        english = [
            replies.ask_name(),
            replies.never_mind(),
            replies.kept(),
            replies.no_appointments(),
            replies.help_text(demo_clinic),
            replies.booked("Chequeo general", start, "Dr. Amara Okafor", demo_clinic, 7),
        ]
    assert all(es != en for es, en in zip(said, english, strict=True))
    assert "#7" in said[-1] and "jueves 5 de marzo" in said[-1]


def test_outside_any_language_block_the_replies_are_english():
    with speaking("es"):
        pass
    assert replies.kept() == "OK, your appointment is unchanged."
    with speaking("fr"):  # not served: the default
        assert replies.kept() == "OK, your appointment is unchanged."


def test_a_reminder_in_spanish_at_a_week_day_and_time(demo_clinic):
    with speaking("es"):
        text = replies.reminder(demo_clinic, utc(2026, 3, 5, 15, 0), demo_clinic.zone, None)
    assert "jueves 5 de marzo, 10:00 a.m." in text and "(212) 555-0100" in text
    assert text.startswith("Maple Street") and "Responda C" in text
