"""Capacity kept for urgent patients, end to end over SMS: the real app with a clinic file whose
`[[reserved]]` table keeps two same-day and one next-day sick-visit times per provider (for
Nurse Practitioner Moreau on Wednesday: 09:00, 11:30 and 14:30; tests/scheduler/test_reserved.py
works them out). The clock is Wednesday 2026-03-04 09:00 in New York."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app import create_app
from bot.tools import Caller, SchedulingTools
from scheduler.availability import Slot
from scheduler.models import Appointment, AppointmentStatus, WaitlistOffer
from scheduler.patients import find_patient
from tests.reserved_support import reserving_clinic_file
from tests.twilio_support import NOW, Phone, sms_settings

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def app(tmp_path, fake_twilio):
    clinic_file = reserving_clinic_file(tmp_path)
    settings = sms_settings(
        tmp_path, twilio_api_base_url=fake_twilio.base_url, clinic_config=clinic_file
    )
    return create_app(
        {
            "SETTINGS": settings,
            "CLOCK": lambda: NOW,
            "TESTING": True,
            "TWILIO_REPLY_BUDGET_SECONDS": 5.0,
        }
    )


def signed_up(app, number: str) -> Phone:
    phone = Phone(app.test_client(), number)
    phone.text("Hi")
    assert "signed up" in phone.text("YES")
    return phone


def test_an_urgent_patient_gets_a_same_day_time_a_routine_patient_could_not_book(app, services):
    routine = signed_up(app, "+12125550141")
    asked = routine.text("Can I book a sick visit with nurse moreau today at 11:30?")
    assert "what is your full name" in asked.lower()
    refused = routine.text("Robin Testperson")
    assert "isn't available" in refused and "11:00 AM" in refused
    assert "11:30 AM" not in refused
    later = routine.text("anything later?")  # past 11:30 (and 11:15, which reaches into it)
    assert "Wed Mar 4 at 12:30 PM" in later and "11:30 AM" not in later

    urgent = signed_up(app, "+12125550142")
    urgent.text("I have had a fever for three days and need to be seen")
    assert "Sick visit" in urgent.text("Casey Testperson")
    offer = urgent.text("today")
    first = offer.split("\n1. ")[1].split("\n")[0]
    assert first == "Wed Mar 4 at 11:30 AM with Nurse Practitioner Celine Moreau"
    booked = urgent.text("1")
    assert "You're booked" in booked and "11:30 AM" in booked

    with services.sessions() as db:
        patient = find_patient(db, services.vault, "+12125550142")
        [appointment] = db.scalars(
            select(Appointment).where(Appointment.patient_id == patient.id)
        ).all()
        assert appointment.provider.key == "moreau"
        assert appointment.start_at.astimezone(NEW_YORK).strftime("%a %H:%M") == "Wed 11:30"
        other = find_patient(db, services.vault, "+12125550141")
        assert db.scalars(select(Appointment).where(Appointment.patient_id == other.id)).all() == []


def test_an_urgent_waitlisted_patient_takes_a_freed_reserved_time_with_yes(app, services):
    """Staff booked Moreau's reserved 14:30 for someone urgent and then cancelled it: the
    urgent waiting patient is offered it (a routine one waiting longer is not), and their YES,
    in a conversation where nothing urgent was said, books it at the entry's level."""
    signed_up(app, "+12125550143")
    urgent = signed_up(app, "+12125550144")
    staff = Caller(role="staff", channel="slack", staff_id="U0TEST")
    reserved_time = datetime(2026, 3, 4, 14, 30, tzinfo=NEW_YORK).astimezone(UTC)
    with services.sessions.begin() as db:
        tools = SchedulingTools(db, services.clinic, services.audit, staff, NOW)
        waiting = {}
        for phone, level in (("+12125550143", "routine"), ("+12125550144", "urgent")):
            patient = find_patient(db, services.vault, phone)
            waiting[level] = patient.id
            tools.join_waitlist("sick-visit", patient_id=patient.id, priority=level)
        other = find_patient(db, services.vault, "+12125550143")
        slot = Slot(
            "sick-visit", "moreau", reserved_time, reserved_time + timedelta(minutes=20), None, None
        )
        held = tools.book_appointment(slot, patient_id=other.id, urgency="urgent")
        tools.cancel_appointment(held.id)
    with services.sessions() as db:
        offered = db.scalars(select(WaitlistOffer.patient_id)).all()
        assert offered == [waiting["urgent"]]

    taken = urgent.text("YES")
    assert "It's yours" in taken and "2:30 PM" in taken
    with services.sessions() as db:
        [appointment] = db.scalars(
            select(Appointment).where(Appointment.status == AppointmentStatus.BOOKED)
        ).all()
        assert appointment.patient_id == waiting["urgent"]
        assert appointment.start_at == reserved_time
