"""What a patient answered to a reminder, kept on the appointment (`Appointment.reminder_answer`,
bot/patient/reminder_replies.py): "C" when they confirm, "R" when they ask to move it, "X" once
the X flow has cancelled it; the last answer counts.

The reminder is sent for real (jobs/reminders/ through the outbox) the day before a Monday
10:00 visit; the patient answers over SMS.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from adapters.outbox import Outbox
from bot.audit.trail import AuditTrail
from jobs.reminders.sender import ReminderSender
from scheduler.models import Appointment, AppointmentStatus
from tests.jobs_support import Chat, Desk

MON = date(2026, 3, 9)
PHONE = "+12125550140"


@pytest.fixture
def audit(vault):
    return AuditTrail(vault)


@pytest.fixture
def desk(sessions, demo_clinic, vault, audit, clock):
    return Desk(sessions, demo_clinic, vault, audit, clock)


@pytest.fixture
def chat(conversation, clock):
    return Chat(conversation, clock, PHONE)


@pytest.fixture
def remind(sessions, demo_clinic, vault, audit, clock):
    """Send what is due at `at` (UTC): the reminders the desk's bookings planned."""

    def send(at: datetime) -> None:
        clock.now = at
        outbox = Outbox(sessions, vault, clock)
        ReminderSender(sessions, demo_clinic, vault, audit, outbox, clock=clock).run()

    return send


@pytest.fixture
def reminded(desk, remind):
    """A Monday 10:00 visit whose reminder went out on Sunday."""
    appointment = desk.book(desk.patient(PHONE), MON, time(10, 0))
    remind(datetime(2026, 3, 8, 14, 1, tzinfo=UTC))
    return appointment


def answer_of(sessions, appointment_id):
    with sessions() as db:
        appointment = db.get(Appointment, appointment_id)
        return appointment.reminder_answer, appointment.status


def test_an_appointment_has_no_answer_until_the_reminder_is_answered(reminded, sessions):
    assert answer_of(sessions, reminded) == (None, AppointmentStatus.BOOKED)


@pytest.mark.parametrize("said", ["C", "c.", "Yes, see you then"])
def test_confirming_sets_c(reminded, chat, sessions, said):
    assert "is confirmed" in chat.text(said)
    assert answer_of(sessions, reminded) == ("C", AppointmentStatus.BOOKED)


def test_asking_to_reschedule_sets_r_when_the_flow_starts(reminded, chat, sessions):
    assert "When would you like to move" in chat.text("R")
    assert answer_of(sessions, reminded) == ("R", AppointmentStatus.BOOKED)
    chat.text("tuesday")
    assert "now on" in chat.text("1")
    assert answer_of(sessions, reminded) == ("R", AppointmentStatus.BOOKED)


def test_x_sets_x_only_when_the_second_x_cancels(reminded, chat, sessions):
    assert "Reply X again to confirm" in chat.text("X")
    assert answer_of(sessions, reminded) == (None, AppointmentStatus.BOOKED)
    assert "is cancelled" in chat.text("x")
    assert answer_of(sessions, reminded) == ("X", AppointmentStatus.CANCELLED)


def test_yes_after_the_first_x_also_cancels_and_sets_x(reminded, chat, sessions):
    chat.text("X")
    assert "is cancelled" in chat.text("yes")
    assert answer_of(sessions, reminded) == ("X", AppointmentStatus.CANCELLED)


def test_an_x_then_no_keeps_the_appointment_and_the_earlier_answer(reminded, chat, sessions):
    chat.text("C")
    chat.text("X")
    assert "unchanged" in chat.text("no")
    assert answer_of(sessions, reminded) == ("C", AppointmentStatus.BOOKED)


def test_the_last_answer_counts(reminded, chat, sessions):
    chat.text("C")
    assert "When would you like to move" in chat.text("R")
    assert answer_of(sessions, reminded) == ("R", AppointmentStatus.BOOKED)
    chat.text("never mind")
    assert "is confirmed" in chat.text("C")
    assert answer_of(sessions, reminded) == ("C", AppointmentStatus.BOOKED)


def test_letters_without_a_reminder_set_nothing(desk, chat, sessions):
    appointment = desk.book(desk.patient(PHONE), MON, time(10, 0))
    chat.text("C")
    assert answer_of(sessions, appointment) == (None, AppointmentStatus.BOOKED)
