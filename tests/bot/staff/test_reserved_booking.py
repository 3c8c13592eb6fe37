"""Staff book a time kept for urgent patients from Slack by saying so: `/appt book <phone> <type>
<when> [provider] urgent`. The clinic keeps two same-day and one next-day sick-visit times per
provider (Nurse Practitioner Moreau on Wednesday 2026-03-04: 09:00, 11:30 and 14:30, worked out in
tests/scheduler/test_reserved.py); the clock is that Wednesday, 09:00 in New York."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.audit.trail import AuditTrail
from bot.staff.choices import parse_action, slot_token
from bot.staff.desk import StaffDesk
from scheduler import staff_users
from scheduler.availability import Slot
from scheduler.clinic_file import parse_clinic
from scheduler.models import Appointment, AuditEvent
from tests.scheduler.test_reserved import RULE, raw_clinic

NEW_YORK = ZoneInfo("America/New_York")
STAFF = "U0STAFF"


@pytest.fixture
def demo_clinic():
    """The demo clinic with the reserving rule (the `sessions` fixture installs it)."""
    return parse_clinic(raw_clinic(RULE))


@pytest.fixture
def desk(sessions, demo_clinic, vault, clock):
    with sessions.begin() as db:
        staff_users.add_user(db, STAFF, "staff", added_by="test", now=clock())
    return StaffDesk(
        sessions=sessions, clinic=demo_clinic, vault=vault, audit=AuditTrail(vault), clock=clock
    )


@pytest.fixture
def staff(desk):
    return desk.authorize(STAFF, "test")


def booked_times(sessions) -> list[str]:
    with sessions() as db:
        return [
            f"{a.start_at.astimezone(NEW_YORK):%a %H:%M} {a.provider.key}"
            for a in db.scalars(select(Appointment))
        ]


def test_a_reserved_time_is_booked_at_once_only_when_staff_say_urgent(desk, staff, sessions):
    routine = desk.command(staff, "book +12125550177 sick visit today 2:30pm moreau")
    assert routine.appointment_id is None and "at 2:30 PM" not in " ".join(
        c.label for c in routine.choices
    )
    assert booked_times(sessions) == []

    urgent = desk.command(staff, "book +12125550177 sick visit today 2:30pm moreau urgent")
    assert urgent.ok and urgent.appointment_id is not None, urgent.text
    assert booked_times(sessions) == ["Wed 14:30 moreau"]
    with sessions() as db:
        [event] = db.scalars(select(AuditEvent).where(AuditEvent.kind == "appointment_booked"))
        assert (event.actor, event.detail["urgency"]) == (f"staff:{STAFF}", "urgent")


def test_urgent_choices_include_reserved_times_and_book_them_at_the_urgent_level(
    desk, staff, sessions
):
    answer = desk.command(staff, "book +12125550177 sick visit today moreau urgent")
    labels = [c.label for c in answer.choices]
    assert any("11:30 AM" in label for label in labels), labels
    assert {parse_action(c.token).op for c in answer.choices} == {"book_urgent"}
    kept = next(c for c in answer.choices if "11:30 AM" in c.label)
    done = desk.act(staff, kept.token, once="C1:2.1")
    assert done.ok, done.text
    assert booked_times(sessions) == ["Wed 11:30 moreau"]

    routine = desk.command(staff, "book +12125550178 sick visit today moreau")
    assert {parse_action(c.token).op for c in routine.choices} == {"book"}
    assert not any("at 2:30 PM" in c.label for c in routine.choices)
    # A routine choice forged to the reserved 14:30 is refused at the click.
    patient = parse_action(routine.choices[0].token).target
    kept_at = datetime(2026, 3, 4, 14, 30, tzinfo=NEW_YORK).astimezone(UTC)
    forged = slot_token(
        "book",
        patient,
        Slot("sick-visit", "moreau", kept_at, kept_at + timedelta(minutes=20), None, None),
    )
    refused = desk.act(staff, forged, once="C1:3.1")
    assert not refused.ok
    assert booked_times(sessions) == ["Wed 11:30 moreau"]


def test_a_move_into_a_reserved_time_needs_staff_to_say_urgent(desk, staff, sessions):
    booked = desk.command(staff, "book +12125550177 sick visit friday 10am moreau")
    assert booked.ok and booked.appointment_id, booked.text
    routine = desk.command(staff, f"move #{booked.appointment_id} today 2:30pm")
    assert routine.appointment_id is None and routine.choices
    assert {parse_action(c.token).op for c in routine.choices} == {"move"}
    assert not any("at 2:30 PM" in c.label for c in routine.choices)
    assert booked_times(sessions) == ["Fri 10:00 moreau"]

    urgent = desk.command(staff, f"move #{booked.appointment_id} today 2:30pm urgent")
    assert urgent.ok, urgent.text
    assert booked_times(sessions) == ["Wed 14:30 moreau"]
    choices = desk.command(staff, f"move #{booked.appointment_id} today urgent")
    assert {parse_action(c.token).op for c in choices.choices} == {"move_urgent"}
    kept = next(c for c in choices.choices if "11:30 AM" in c.label)
    assert desk.act(staff, kept.token, once="C1:4.1").ok
    assert booked_times(sessions) == ["Wed 11:30 moreau"]
