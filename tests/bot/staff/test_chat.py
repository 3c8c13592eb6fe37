"""Staff in plain words through the engine (a Slack DM, the staff console): same engine, staff scope."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from bot.messages import InboundMessage
from scheduler.models import Appointment, AppointmentStatus, AuditEvent, Patient, WaitlistEntry
from scheduler.patients import find_patient

STAFF = "U0STAFF"


class StaffChat:
    def __init__(self, engine, clock, sender=STAFF, role="staff"):
        self.engine, self.clock, self.sender, self.role = engine, clock, sender, role
        self._ids = itertools.count(1)

    def text(self, text: str) -> str:
        message = InboundMessage(
            "slack", self.sender, text, f"Ev{next(self._ids)}", self.clock.now, role=self.role
        )
        return "\n".join(r.as_text() for r in self.engine.handle(message))


@pytest.fixture
def staff(conversation, clock):
    return StaffChat(conversation, clock)


def appointments(sessions):
    with sessions() as db:
        return db.scalars(select(Appointment).order_by(Appointment.id)).all()


def test_staff_books_for_a_new_patient_by_phone_and_name(staff, sessions, vault):
    asked = staff.text("book a checkup for +1 212 555 0199 tomorrow morning")
    assert "new to the clinic" in asked and "full name" in asked
    offer = staff.text("Robin Testpatient")
    assert "Robin Testpatient's General check-up on Thu Mar 5" in offer and "\n1. " in offer
    done = staff.text("2")
    assert done.startswith("Booked #1: General check-up for Robin Testpatient"), done
    [appointment] = appointments(sessions)
    with sessions() as db:
        patient = find_patient(db, vault, "+12125550199")
        assert appointment.patient_id == patient.id and appointment.booked_via == "slack"
        assert vault.decrypt(patient.name_enc) == "Robin Testpatient"
        actors = {e.actor for e in db.scalars(select(AuditEvent))}
    assert f"staff:{STAFF}" in actors and not any(a.startswith("patient:") for a in actors if a)


def test_staff_books_for_a_known_patient_asking_only_what_is_missing(staff, sessions):
    staff.text("book a checkup for +1 212 555 0199 tomorrow 10am")
    staff.text("SKIP")
    asked = staff.text("book for 212-555-0199")
    assert "What kind of visit?" in asked and "1. General check-up" in asked
    day = staff.text("1")
    assert "What day" in day
    done = staff.text("friday at 11")
    assert "Booked #2" in done and "Fri Mar 6 at 11:00 AM" in done, done
    assert len(appointments(sessions)) == 2


def test_staff_find_slots_list_a_day_move_and_cancel(staff, sessions):
    slots = staff.text("what's open for an echo next tuesday with dr tanaka")
    assert "Heart ultrasound (echo) on Tue Mar 10" in slots and "Tanaka" in slots
    staff.text("book a sick visit for +12125550199 tomorrow at 9")
    staff.text("skip")
    day = staff.text("show dr okafor's schedule tomorrow")
    assert "Thu Mar 5" in day and "9:00 AM  #1 Sick visit" in day and "Lindqvist" not in day
    moved_offer = staff.text("move 1 to friday afternoon")
    assert "new time for appointment #1 on Fri Mar 6" in moved_offer
    moved = staff.text("1")
    assert moved.startswith("Moved #1") and "Fri Mar 6" in moved
    confirm = staff.text("cancel appointment #1")
    assert "Reply YES" in confirm
    assert staff.text("yes").startswith("Cancelled #1")
    assert appointments(sessions)[0].status == AppointmentStatus.CANCELLED


def test_staff_put_a_patient_on_the_waitlist_in_plain_words(staff, sessions):
    answer = staff.text("put +1 212 555 0199 on the waitlist for a checkup, urgent")
    assert "on the waitlist for a General check-up" in answer and "(urgent)" in answer
    assert appointments(sessions) == []
    with sessions() as db:
        [entry] = db.scalars(select(WaitlistEntry)).all()
    assert (entry.type_key, entry.priority) == ("checkup", "urgent")
    assert "which patient" in staff.text("add to the waitlist for a checkup").lower()


def test_staff_turns_never_trigger_patient_triage_or_create_patients(staff, sessions):
    answer = staff.text("patient has chest pain, book a sick visit for +12125550199 today 3pm")
    assert "911" not in answer and "new to the clinic" in answer
    with sessions() as db:
        assert db.scalars(select(Patient)).all() == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("cancel 999", "There is no appointment #999"),
        ("move", "Which appointment?"),
        ("find someone", "Which patient?"),
        ("blorp", "didn't catch that"),
        ("yes", "nothing waiting"),
        ("help", "I can book for a patient"),
        ("x" * 3000, "too long"),
    ],
)
def test_staff_bad_input_gets_a_clear_answer(staff, text, expected):
    assert expected in staff.text(text)


def test_who_is_booked_with_a_provider_shows_their_day(staff):
    staff.text("book a sick visit for +12125550199 tomorrow at 9")
    staff.text("skip")
    day = staff.text("who is booked with dr okafor tomorrow?")
    assert "Thu Mar 5" in day and "9:00 AM  #1 Sick visit" in day


def test_thanks_gets_a_welcome(staff):
    assert staff.text("thanks!") == "You're welcome."


def test_an_offer_reprompts_for_an_out_of_range_number(staff):
    staff.text("book a checkup for +12125550199 friday")
    staff.text("skip")
    assert "number from 1 to 8" in staff.text("12")


def test_an_iso_date_is_a_day_not_a_phone_number(staff):
    answer = staff.text("what's open for a checkup on 2026-03-09")
    assert "on Mon Mar 9" in answer and "phone" not in answer
