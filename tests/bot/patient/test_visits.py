"""The patient's own appointments (bot/patient/visits.py), as they text about them: listing them,
picking one by number, reference or words, cancelling only after YES, and moving one with its
kind and provider kept. A reference that is not the patient's changes nothing.

The clinic's now is Wednesday 2026-03-04 09:00 in New York.
"""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import select

from bot.audit.trail import AuditTrail
from bot.tools import Caller, SchedulingTools
from scheduler.models import Appointment, AppointmentStatus, AuditEvent
from scheduler.patients import find_or_create_patient, set_patient_name

PATIENT = "+12125550123"  # the chat fixture's patient
OTHER = "+12125550177"
THU = date(2026, 3, 5)
FRI = date(2026, 3, 6)


@pytest.fixture
def book(sessions, vault, demo_clinic, now):
    """Books as the front desk does, for the patient with `phone` (named, so the chat goes
    straight to the point)."""
    audit = AuditTrail(vault)

    def booked(type_key: str, day: date, at: time, phone: str = PATIENT) -> int:
        with sessions.begin() as db:
            patient = find_or_create_patient(db, vault, phone, now=now)
            if patient.name_enc is None:
                set_patient_name(vault, patient, "Lee Example")
            tools = SchedulingTools(
                db, demo_clinic, audit, Caller(role="staff", channel="slack", staff_id="U1"), now
            )
            slot = tools.find_slots(type_key, start_date=day, end_date=day, around=at, limit=1)[0]
            assert slot.start.astimezone(demo_clinic.zone).time() == at
            return tools.book_appointment(slot, patient_id=patient.id).id

    return booked


@pytest.fixture
def two(book):
    """The patient's check-up on Thursday at 10 and vaccination on Friday at 9."""
    return book("checkup", THU, time(10, 0)), book("vaccination", FRI, time(9, 0))


def _appointment(sessions, appointment_id):
    with sessions() as db:
        return db.get(Appointment, appointment_id)


# --- listing -----------------------------------------------------------------------------------


def test_no_appointments_is_said_with_how_to_book_one(chat):
    assert chat.text("my appointments") == (
        "You have no upcoming appointments. Text 'book' to make one."
    )


def test_the_list_numbers_each_appointment_with_its_reference(chat, two):
    checkup, vaccination = two
    assert chat.text("my appointments") == (
        "You have 2 upcoming appointments:\n"
        f"1. General check-up, Thu Mar 5 at 10:00 AM with Dr. Amara Okafor (ref #{checkup})\n"
        f"2. Vaccination, Fri Mar 6 at 9:00 AM with Nurse Practitioner Celine Moreau "
        f"(ref #{vaccination})"
    )


def test_another_patients_appointments_are_not_listed(chat, book):
    book("checkup", THU, time(10, 0), phone=OTHER)
    assert "no upcoming appointments" in chat.text("my appointments")


# --- a reference that is not the patient's -----------------------------------------------------


@pytest.mark.parametrize("request_", ["cancel #{ref}", "move appointment {ref} to friday"])
def test_another_patients_reference_changes_nothing_and_is_audited(chat, book, sessions, request_):
    theirs = book("checkup", THU, time(10, 0), phone=OTHER)
    mine = book("vaccination", FRI, time(9, 0))
    before = _appointment(sessions, theirs).start_at
    reply = chat.text(request_.format(ref=theirs))
    assert reply.startswith(f"None of your upcoming appointments has the reference #{theirs}.")
    assert f"(ref #{mine})" in reply and "General check-up" not in reply
    held = _appointment(sessions, theirs)
    assert held.status == AppointmentStatus.BOOKED and held.start_at == before
    with sessions() as db:
        refused = db.scalars(select(AuditEvent).where(AuditEvent.kind == "request_refused")).one()
        assert refused.appointment_id == theirs
        assert refused.detail["reason"] == "unknown_reference"
    # And no question is left open that a "yes" could answer.
    chat.text("yes")
    assert _appointment(sessions, theirs).status == AppointmentStatus.BOOKED


def test_an_unknown_reference_with_nothing_booked_says_so(chat, book):
    theirs = book("checkup", THU, time(10, 0), phone=OTHER)
    assert chat.text(f"cancel #{theirs}") == (
        f"None of your appointments has the reference #{theirs}, and you have no upcoming "
        "appointments. Text 'book' to make one."
    )


def test_the_patients_own_reference_picks_that_appointment_among_several(chat, two):
    _, vaccination = two
    assert chat.text(f"cancel #{vaccination}").startswith(
        "Cancel your Vaccination, Fri Mar 6 at 9:00 AM"
    )


# --- picking one -------------------------------------------------------------------------------


def test_with_several_appointments_the_patient_is_asked_which(chat, two):
    asked = chat.text("cancel appointment")
    assert asked.startswith("Which appointment do you want to cancel? Reply with a number.")
    assert "1. General check-up, Thu Mar 5" in asked and "2. Vaccination, Fri Mar 6" in asked


@pytest.mark.parametrize(
    "answer",
    ["2", "#2", "the vaccination", "the one on friday", "the 9am", "the one with nurse moreau"],
)
def test_which_one_by_number_or_words(chat, two, answer):
    chat.text("cancel appointment")
    assert chat.text(answer).startswith("Cancel your Vaccination, Fri Mar 6 at 9:00 AM")


def test_words_in_the_request_itself_pick_the_one_they_fit(chat, two):
    assert chat.text("cancel my vaccination").startswith("Cancel your Vaccination")


def test_words_that_fit_none_ask_again_with_the_list(chat, two):
    chat.text("cancel appointment")
    asked = chat.text("the blue one")
    assert asked.startswith(
        "Sorry, I didn't catch that. Please reply with the number of the appointment."
    )
    assert "1. General check-up" in asked


def test_no_while_picking_changes_nothing(chat, two, sessions):
    chat.text("cancel appointment")
    assert chat.text("no") == "OK, your appointment is unchanged."
    assert all(_appointment(sessions, a).status == AppointmentStatus.BOOKED for a in two)


# --- cancelling asks YES -----------------------------------------------------------------------


def test_cancel_asks_yes_before_anything_changes(chat, book, sessions):
    appointment = book("checkup", THU, time(10, 0))
    assert chat.text("cancel my appointment") == (
        "Cancel your General check-up, Thu Mar 5 at 10:00 AM with Dr. Amara Okafor? Reply YES "
        "to cancel or NO to keep it."
    )
    assert _appointment(sessions, appointment).status == AppointmentStatus.BOOKED


def test_yes_cancels_and_frees_the_time(chat, book, sessions):
    appointment = book("checkup", THU, time(10, 0))
    chat.text("cancel my appointment")
    assert chat.text("yes").startswith(
        "Your General check-up, Thu Mar 5 at 10:00 AM with Dr. Amara Okafor is cancelled."
    )
    assert _appointment(sessions, appointment).status == AppointmentStatus.CANCELLED
    # The time is open again: another patient can book it.
    book("checkup", THU, time(10, 0), phone=OTHER)


def test_no_keeps_it(chat, book, sessions):
    appointment = book("checkup", THU, time(10, 0))
    chat.text("cancel my appointment")
    assert chat.text("no") == "OK, your appointment is unchanged."
    assert _appointment(sessions, appointment).status == AppointmentStatus.BOOKED


# --- moving one --------------------------------------------------------------------------------


def test_a_move_keeps_the_kind_and_provider_and_the_appointment(chat, book, sessions, demo_clinic):
    appointment = book("checkup", THU, time(10, 0))
    offered = chat.text("move my checkup to friday")
    assert offered.startswith("These times are open.")
    assert offered.count("with Dr. Amara Okafor") == 3 and offered.count("Fri Mar 6") == 3
    assert chat.text("1").startswith(
        "Done. Your General check-up is now on Fri Mar 6 at 8:00 AM with Dr. Amara Okafor"
    )
    moved = _appointment(sessions, appointment)
    assert moved.status == AppointmentStatus.BOOKED
    assert moved.start_at.astimezone(demo_clinic.zone).date() == FRI
    with sessions() as db:
        assert len(db.scalars(select(Appointment.id)).all()) == 1


def test_next_week_same_time_is_the_week_after_the_visits_at_its_time(chat, book):
    book("checkup", THU, time(10, 0))
    offered = chat.text("move my appointment to next week, same time")
    assert "1. Thu Mar 12 at 10:00 AM with Dr. Amara Okafor" in offered


def test_a_move_without_a_day_asks_for_one(chat, book):
    book("checkup", THU, time(10, 0))
    assert chat.text("reschedule") == (
        "When would you like to move your General check-up, "
        "Thu Mar 5 at 10:00 AM with Dr. Amara Okafor to? Tell "
        "me a day."
    )
