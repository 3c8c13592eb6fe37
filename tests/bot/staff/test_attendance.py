"""Attendance at the staff desk without Slack: `/appt attended` and `/appt noshow`, the day
schedule's Attended / No-show tokens, who may mark, and the "unmarked" rule every channel reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.audit.trail import AuditTrail
from bot.staff import attendance
from bot.staff.choices import parse_action, plain_token
from bot.staff.desk import StaffDesk
from bot.tools import Caller
from scheduler import staff_users
from scheduler.models import Appointment, AppointmentStatus, AuditEvent

STAFF = "U0STAFF"


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


@pytest.fixture
def visit(desk, staff):
    """A sick visit with Dr. Okafor today (Wednesday) at 3 PM; the clock is 9 AM."""
    answer = desk.command(staff, "book +12125550177 sick visit today 3pm okafor")
    assert answer.ok and answer.appointment_id, answer.text
    return answer.appointment_id


def status_of(sessions, appointment_id):
    with sessions() as db:
        return db.get(Appointment, appointment_id).status


def events(sessions, kind):
    with sessions() as db:
        return db.scalars(
            select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.seq)
        ).all()


def test_a_visit_not_started_yet_is_refused_politely_and_nothing_changes(
    desk, staff, visit, sessions
):
    answer = desk.command(staff, f"attended {visit}")
    assert not answer.ok
    assert answer.text == (
        f"#{visit} has not started yet (Wed Mar 4 at 3:00 PM), so it cannot be marked attended "
        "or a no-show. Mark it once the visit has begun."
    )
    assert status_of(sessions, visit) == AppointmentStatus.BOOKED
    assert events(sessions, "attendance_marked") == []
    [refused] = events(sessions, "request_refused")
    assert refused.actor == f"staff:{STAFF}" and refused.detail["action"] == "attendance"


def test_attended_and_noshow_mark_a_started_visit_audited_with_the_staff_member(
    desk, staff, visit, sessions, clock
):
    clock.advance(hours=6, minutes=10)  # 3:10 PM: the visit has started
    answer = desk.command(staff, f"attended #{visit}")
    assert answer.ok, answer.text
    assert answer.text.startswith(f"Marked #{visit} attended: Sick visit for patient #1 with Dr.")
    assert answer.text.endswith(f"Wrong one? /appt noshow {visit}")
    assert status_of(sessions, visit) == AppointmentStatus.FULFILLED
    again = desk.command(staff, f"attended {visit}")
    assert again.ok and again.text == f"#{visit} was already marked attended; it still is."
    corrected = desk.command(staff, f"no-show {visit}")
    assert corrected.ok and corrected.text.startswith(f"Marked #{visit} a no-show:")
    assert status_of(sessions, visit) == AppointmentStatus.NOSHOW
    marked = events(sessions, "attendance_marked")
    assert [(e.detail["outcome"], e.detail["previous"]) for e in marked] == [
        ("fulfilled", "booked"),
        ("fulfilled", "fulfilled"),
        ("noshow", "fulfilled"),
    ]
    assert all(e.actor == f"staff:{STAFF}" and e.appointment_id == visit for e in marked)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("attended", "Usage: /appt attended <id>"),
        ("noshow", "Usage: /appt noshow <id>"),
        ("attended twelve", "Appointment ids are numbers"),
        ("noshow 42 please", "Appointment ids are numbers"),
        ("attended 999", "There is no appointment #999."),
        ("no-show 999", "There is no appointment #999."),
    ],
)
def test_bad_or_unknown_ids_get_a_polite_answer(desk, staff, text, expected):
    answer = desk.command(staff, text)
    assert not answer.ok and expected in answer.text


def test_a_patient_cannot_mark_attendance_even_their_own_visit(desk, visit, sessions, clock):
    clock.advance(hours=6, minutes=10)
    patient = Caller("patient", "sms", patient_id=1)
    answer = desk.command(patient, f"attended {visit}")
    assert not answer.ok
    assert answer.text == "That didn't work: only the clinic records whether a visit was attended."
    assert status_of(sessions, visit) == AppointmentStatus.BOOKED
    [refused] = events(sessions, "request_refused")
    assert (refused.actor, refused.detail["reason"]) == ("patient:1", "NotAllowed")


def test_a_cancelled_visit_cannot_be_marked(desk, staff, visit, sessions, clock):
    assert desk.command(staff, f"cancel {visit}").ok
    clock.advance(hours=6, minutes=10)
    answer = desk.command(staff, f"noshow {visit}")
    assert not answer.ok and "marked cancelled" in answer.text
    assert status_of(sessions, visit) == AppointmentStatus.CANCELLED


def test_the_schedule_offers_marking_a_started_visit_and_keeps_it_once_marked(
    desk, staff, visit, clock
):
    later = desk.command(staff, "book +12125550188 sick visit today 4:30pm okafor")
    assert later.ok, later.text
    clock.advance(hours=6, minutes=10)
    okafor = next(e for e in desk.command(staff, "today okafor").schedule if e.key == "okafor")
    assert [(v.id, v.can_mark) for v in okafor.appointments] == [
        (visit, True),
        (later.appointment_id, False),  # not started yet
    ]
    desk.command(staff, f"attended {visit}")
    shown = desk.command(staff, "today okafor")
    [okafor] = shown.schedule
    first = okafor.appointments[0]
    assert (first.id, first.status, first.can_mark) == (
        visit,
        "fulfilled",
        False,
    )
    assert f"#{visit} Sick visit, patient #1 - attended" in shown.text


def test_the_schedules_buttons_mark_and_answer_with_the_day_again(
    desk, staff, visit, sessions, clock
):
    assert parse_action(plain_token("fulfilled", visit)).op == "fulfilled"
    assert parse_action(f"n:{visit}").op == "noshow"
    clock.advance(hours=6, minutes=10)
    answer = desk.act(staff, f"n:{visit}", once="C1:1.1")
    assert answer.ok and answer.note.startswith(f"Marked #{visit} a no-show:")
    assert answer.day.isoformat() == "2026-03-04" and answer.schedule
    assert answer.text.startswith(answer.note) and "- no-show" in answer.text
    assert status_of(sessions, visit) == AppointmentStatus.NOSHOW
    # Not a one-time offer: the other button corrects it, from the same message.
    corrected = desk.act(staff, f"f:{visit}", once="C1:1.1")
    assert corrected.ok and status_of(sessions, visit) == AppointmentStatus.FULFILLED
    [first, second] = events(sessions, "attendance_marked")
    assert first.actor == second.actor == f"staff:{STAFF}"
    missing = desk.act(staff, "f:999")
    assert not missing.ok and missing.text == "There is no appointment #999."


@pytest.mark.parametrize("token", ["f", "n:", "f:abc", "f:1:checkup:okafor:1772719200:", "x:1"])
def test_malformed_attendance_tokens_are_refused(desk, staff, token):
    answer = desk.act(staff, token)
    assert not answer.ok and "no longer valid" in answer.text


def test_unmarked_is_still_booked_more_than_a_day_after_the_end():
    end = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    day = timedelta(days=1)
    assert attendance.unmarked("booked", end, end + day + timedelta(seconds=1))
    assert attendance.unmarked(AppointmentStatus.BOOKED, end, end + 3 * day)
    assert not attendance.unmarked("booked", end, end + day)  # exactly a day: not yet
    assert not attendance.unmarked("booked", end, end + timedelta(hours=2))
    for status in ("fulfilled", "noshow", "cancelled", "arrived"):
        assert not attendance.unmarked(status, end, end + 3 * day), status
