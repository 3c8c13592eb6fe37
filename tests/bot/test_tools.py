"""The scheduling tools (bot/tools.py): the only way a conversation changes the schedule, each
bound to one caller. A patient acts only on their own appointments; staff act for anyone. Each
change plans its reminders, offers a freed time to the waitlist, and is audited in the same
transaction as the change itself.

The clinic's now is Wednesday 2026-03-04 09:00 in New York.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from bot.audit.trail import AuditTrail
from bot.tools import Caller, SchedulingTools
from scheduler.errors import NotAllowed, NotFound, SchedulingError
from scheduler.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Reminder,
    WaitlistEntry,
    WaitlistOffer,
)
from scheduler.patients import find_or_create_patient
from scheduler.reminders import ReminderPolicy

MON = date(2026, 3, 9)
STAFF = Caller(role="staff", channel="slack", staff_id="U1")


@pytest.fixture
def audit(vault):
    return AuditTrail(vault)


@pytest.fixture
def patients(sessions, vault, now):
    """Two patients' ids: the one texting (`me`) and someone else (`them`)."""
    with sessions.begin() as db:
        me = find_or_create_patient(db, vault, "+12125550123", now=now).id
        them = find_or_create_patient(db, vault, "+12125550199", now=now).id
    return me, them


@pytest.fixture
def tools_for(demo_clinic, audit, now):
    def tools(db, caller, **kw):
        return SchedulingTools(db, demo_clinic, audit, caller, now, **kw)

    return tools


def patient(patient_id, **kw):
    return Caller(role="patient", channel="sms", patient_id=patient_id, **kw)


def slot_at(tools, at, day=MON, type_key="checkup", provider="okafor"):
    found = tools.find_slots(
        type_key, start_date=day, end_date=day, provider_key=provider, around=at, limit=1
    )
    assert found and found[0].start.astimezone(tools.clinic.zone).time() == at
    return found[0]


def book(sessions, tools_for, patient_id, at=time(10, 0), **kw):
    with sessions.begin() as db:
        tools = tools_for(db, STAFF)
        return tools.book_appointment(slot_at(tools, at, **kw), patient_id=patient_id).id


def events(sessions, kind):
    with sessions() as db:
        return db.scalars(
            select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.seq)
        ).all()


# --- a patient acts only for themself ----------------------------------------------------------


def test_a_patient_books_for_themself(sessions, tools_for, patients):
    me, _ = patients
    with sessions.begin() as db:
        tools = tools_for(db, patient(me))
        appointment = tools.book_appointment(slot_at(tools, time(10, 0)))
        assert appointment.patient_id == me and appointment.booked_via == "sms"
    (booked,) = events(sessions, "appointment_booked")
    assert booked.actor == f"patient:{me}" and booked.appointment_id == appointment.id
    assert booked.detail["type"] == "checkup" and booked.detail["provider"] == "okafor"


def test_a_patient_may_not_book_for_another_patient(sessions, tools_for, patients):
    me, them = patients
    with sessions.begin() as db:
        tools = tools_for(db, patient(me))
        with pytest.raises(NotAllowed):
            tools.book_appointment(slot_at(tools, time(10, 0)), patient_id=them)
    with sessions() as db:
        assert db.scalars(select(Appointment)).all() == []
    (refused,) = events(sessions, "request_refused")
    assert refused.actor == f"patient:{me}"
    assert refused.patient_id == me  # filed under who asked, not whom they named
    assert refused.detail == {"action": "book", "reason": "NotAllowed"}


@pytest.mark.parametrize(
    "act",
    [
        lambda tools, appointment: tools.cancel_appointment(appointment),
        lambda tools, appointment: tools.reschedule_appointment(
            appointment, slot_at(tools, time(11, 0))
        ),
    ],
    ids=["cancel", "reschedule"],
)
def test_a_patient_may_not_change_another_patients_appointment(sessions, tools_for, patients, act):
    me, them = patients
    theirs = book(sessions, tools_for, them)
    with sessions.begin() as db:
        with pytest.raises(NotFound):  # as if it did not exist: no hint that it does
            act(tools_for(db, patient(me)), theirs)
    with sessions() as db:
        kept = db.get(Appointment, theirs)
        assert kept.status == AppointmentStatus.BOOKED
        assert kept.start_at.astimezone(UTC).hour == 14  # still 10:00 New York
    (refused,) = events(sessions, "request_refused")
    assert refused.appointment_id == theirs and refused.detail["reason"] == "NotFound"


def test_a_patient_caller_without_an_id_is_refused_not_given_every_patient():
    with pytest.raises(ValueError, match="patient's id"):
        Caller(role="patient", channel="sms")


def test_a_patient_cannot_see_another_patients_appointments(sessions, tools_for, patients):
    me, them = patients
    theirs = book(sessions, tools_for, them)
    with sessions() as db:
        tools = tools_for(db, patient(me))
        with pytest.raises(NotFound):
            tools.get_appointment(theirs)
        with pytest.raises(NotAllowed):
            tools.list_appointments(patient_id=them)
        assert tools.list_appointments() == []


def test_a_patient_may_not_confirm_another_patients_appointment(sessions, tools_for, patients):
    me, them = patients
    theirs = book(sessions, tools_for, them)
    with sessions.begin() as db, pytest.raises(NotFound):
        tools_for(db, patient(me)).confirm_appointment(theirs)
    with sessions() as db:
        assert db.get(Appointment, theirs).confirmed_at is None
    (refused,) = events(sessions, "request_refused")
    assert (refused.patient_id, refused.appointment_id) == (me, theirs)
    assert refused.detail == {"action": "confirm", "reason": "NotFound"}


# --- staff act for any patient -----------------------------------------------------------------


def test_staff_book_list_and_cancel_for_any_patient(sessions, tools_for, patients):
    me, them = patients
    for_me, for_them = (
        book(sessions, tools_for, me),
        book(sessions, tools_for, them, at=time(11, 0)),
    )
    with sessions.begin() as db:
        tools = tools_for(db, STAFF)
        assert [a.id for a in tools.list_appointments(patient_id=them)] == [for_them]
        assert tools.get_appointment(for_me).patient_id == me
        tools.cancel_appointment(for_them)
    (cancelled,) = events(sessions, "appointment_cancelled")
    assert cancelled.actor == "staff:U1" and cancelled.patient_id == them


def test_staff_must_say_which_patient(sessions, tools_for, patients):
    with sessions.begin() as db:
        tools = tools_for(db, STAFF)
        with pytest.raises(NotFound, match="which patient"):
            tools.book_appointment(slot_at(tools, time(10, 0)))


# --- reminders ---------------------------------------------------------------------------------


def _reminders(sessions, appointment_id, status="pending"):
    with sessions() as db:
        return sorted(
            r.due_at
            for r in db.scalars(
                select(Reminder).where(
                    Reminder.appointment_id == appointment_id, Reminder.status == status
                )
            )
        )


def test_booking_plans_the_reminders_of_the_policy_given(sessions, tools_for, patients):
    me, _ = patients
    policy = ReminderPolicy(offsets=(timedelta(hours=48), timedelta(hours=3)), quiet_hours=None)
    with sessions.begin() as db:
        tools = tools_for(db, patient(me), policy=policy)
        appointment = tools.book_appointment(slot_at(tools, time(10, 0), day=date(2026, 3, 12)))
        start, appointment_id = appointment.start_at, appointment.id
    assert _reminders(sessions, appointment_id) == [
        start - timedelta(hours=48),
        start - timedelta(hours=3),
    ]


def test_a_whole_day_offset_keeps_the_wall_clock_time_across_the_clock_change(
    sessions, tools_for, patients
):
    me, _ = patients
    policy = ReminderPolicy(offsets=(timedelta(hours=48),), quiet_hours=None)
    with sessions.begin() as db:
        tools = tools_for(db, patient(me), policy=policy)
        appointment_id = tools.book_appointment(slot_at(tools, time(10, 0))).id
    # Monday 10:00 daylight time; Saturday 10:00 standard time is 15:00 UTC, 47 hours before.
    assert _reminders(sessions, appointment_id) == [datetime(2026, 3, 7, 15, 0, tzinfo=UTC)]


def test_the_default_policy_reminds_a_day_and_two_hours_before(sessions, tools_for, patients):
    me, _ = patients
    with sessions.begin() as db:
        tools = tools_for(db, patient(me))
        appointment = tools.book_appointment(slot_at(tools, time(14, 0)))
        start, appointment_id = appointment.start_at, appointment.id
    assert _reminders(sessions, appointment_id) == [
        start - timedelta(hours=24),
        start - timedelta(hours=2),
    ]


def test_a_reminder_that_would_fall_in_quiet_hours_goes_out_before_them(
    sessions, tools_for, patients
):
    me, _ = patients
    policy = ReminderPolicy(offsets=(timedelta(hours=2),), quiet_hours=(time(21, 0), time(8, 0)))
    with sessions.begin() as db:
        tools = tools_for(db, patient(me), policy=policy)
        appointment_id = tools.book_appointment(slot_at(tools, time(9, 0))).id
    # 7:00 on Monday is quiet: the last minute before the quiet began, Sunday 20:59 New York
    # (the clocks moved that morning: 00:59 UTC, daylight time).
    assert _reminders(sessions, appointment_id) == [datetime(2026, 3, 9, 0, 59, tzinfo=UTC)]


def test_a_move_replans_the_reminders_and_a_cancel_drops_them(sessions, tools_for, patients):
    me, _ = patients
    appointment = book(sessions, tools_for, me)
    before = _reminders(sessions, appointment)
    with sessions.begin() as db:
        tools = tools_for(db, patient(me))
        moved = tools.reschedule_appointment(appointment, slot_at(tools, time(15, 0)))
        start = moved.start_at
    assert _reminders(sessions, appointment) == [
        start - timedelta(hours=24),
        start - timedelta(hours=2),
    ]
    assert _reminders(sessions, appointment, "cancelled") == before
    with sessions.begin() as db:
        tools_for(db, patient(me)).cancel_appointment(appointment)
    assert _reminders(sessions, appointment) == []


# --- the waitlist ------------------------------------------------------------------------------


def test_cancelling_offers_the_freed_time_to_the_waitlist(sessions, tools_for, patients):
    me, them = patients
    appointment = book(sessions, tools_for, me)
    with sessions.begin() as db:
        entry, _ = tools_for(db, patient(them)).join_waitlist("checkup")
        entry_id = entry.id
    with sessions.begin() as db:
        cancelled = tools_for(db, patient(me)).cancel_appointment(appointment)
        freed_at = cancelled.start_at
    with sessions() as db:
        offer = db.scalars(select(WaitlistOffer)).one()
        assert (offer.entry_id, offer.patient_id, offer.status) == (entry_id, them, "offered")
        assert offer.slot["start"] == freed_at.isoformat() and offer.slot["provider"] == "okafor"
        text = db.scalars(select(Reminder).where(Reminder.kind == "offer")).one()
        assert text.offer_id == offer.id and text.patient_id == them


def test_a_patient_leaves_only_their_own_waitlist_entry_and_it_is_audited(
    sessions, tools_for, patients
):
    me, them = patients
    with sessions.begin() as db:
        entry, _ = tools_for(db, patient(them)).join_waitlist("checkup")
        entry_id = entry.id
    with sessions.begin() as db, pytest.raises(NotFound):
        tools_for(db, patient(me)).leave_waitlist(entry_id)
    with sessions.begin() as db:
        assert tools_for(db, patient(them)).leave_waitlist(entry_id).status == "removed"
    with sessions() as db:
        kinds = [(e.kind, e.patient_id) for e in db.scalars(select(AuditEvent)).all()]
        assert ("request_refused", me) in kinds and ("waitlist_left", them) in kinds


def test_moving_away_offers_the_old_time_to_the_waitlist(sessions, tools_for, patients):
    me, them = patients
    appointment = book(sessions, tools_for, me)
    with sessions.begin() as db:
        tools_for(db, patient(them)).join_waitlist("checkup")
    with sessions.begin() as db:
        tools = tools_for(db, patient(me))
        old_start = tools.get_appointment(appointment).start_at
        tools.reschedule_appointment(appointment, slot_at(tools, time(15, 0)))
    with sessions() as db:
        offer = db.scalars(select(WaitlistOffer)).one()
        assert offer.slot["start"] == old_start.isoformat()


@pytest.mark.parametrize(
    "heard, asked, ranked",
    [
        (None, "urgent", "routine"),  # a patient's wish does not rank them
        ("urgent", "routine", "urgent"),  # what triage heard does
        ("soon", "urgent", "soon"),
    ],
)
def test_a_patients_waitlist_priority_comes_from_triage(
    sessions, tools_for, patients, heard, asked, ranked
):
    me, _ = patients
    with sessions.begin() as db:
        entry, _ = tools_for(db, patient(me, urgency=heard)).join_waitlist(
            "checkup", priority=asked
        )
        assert entry.priority == ranked
    (joined,) = events(sessions, "waitlist_joined")
    assert joined.detail["priority"] == ranked and joined.detail["triage"] == heard


def test_staff_set_the_waitlist_priority_for_a_patient(sessions, tools_for, patients):
    _, them = patients
    with sessions.begin() as db:
        entry, _ = tools_for(db, STAFF).join_waitlist("checkup", patient_id=them, priority="urgent")
        assert entry.priority == "urgent" and entry.patient_id == them
    (joined,) = events(sessions, "waitlist_joined")
    assert joined.actor == "staff:U1" and joined.detail["triage"] is None


def test_joining_the_waitlist_twice_keeps_one_entry_and_audits_once(sessions, tools_for, patients):
    me, _ = patients
    with sessions.begin() as db:
        tools = tools_for(db, patient(me))
        first, created = tools.join_waitlist("checkup")
        again, created_again = tools.join_waitlist("checkup")
        assert created and not created_again and again.id == first.id
    with sessions() as db:
        assert len(db.scalars(select(WaitlistEntry)).all()) == 1
    assert len(events(sessions, "waitlist_joined")) == 1


def test_a_patient_may_not_put_another_patient_on_the_waitlist(sessions, tools_for, patients):
    me, them = patients
    with sessions.begin() as db, pytest.raises(NotAllowed):
        tools_for(db, patient(me)).join_waitlist("checkup", patient_id=them)
    with sessions() as db:
        assert db.scalars(select(WaitlistEntry)).all() == []
    (refused,) = events(sessions, "request_refused")
    assert refused.patient_id == me
    assert refused.detail == {"action": "waitlist", "reason": "NotAllowed"}


# --- audited in the same transaction -----------------------------------------------------------


def test_a_booking_rolled_back_leaves_neither_the_appointment_nor_its_audit_event(
    sessions, tools_for, patients
):
    me, _ = patients
    with sessions() as db:
        tools = tools_for(db, patient(me))
        tools.book_appointment(slot_at(tools, time(10, 0)))
        db.rollback()
    with sessions() as db:
        assert db.scalars(select(Appointment)).all() == []
        assert db.scalars(select(Reminder)).all() == []
        assert db.scalars(select(AuditEvent)).all() == []


def test_a_cancel_rolled_back_keeps_the_appointment_and_audits_nothing(
    sessions, tools_for, patients
):
    me, _ = patients
    appointment = book(sessions, tools_for, me)
    with sessions() as db:
        tools_for(db, patient(me)).cancel_appointment(appointment)
        db.rollback()
    with sessions() as db:
        assert db.get(Appointment, appointment).status == AppointmentStatus.BOOKED
    assert events(sessions, "appointment_cancelled") == []


def test_every_change_is_audited_when_it_commits(sessions, tools_for, patients):
    me, _ = patients
    appointment = book(sessions, tools_for, me)
    with sessions.begin() as db:
        tools = tools_for(db, patient(me))
        tools.confirm_appointment(appointment)
        tools.reschedule_appointment(appointment, slot_at(tools, time(15, 0)))
        tools.cancel_appointment(appointment)
    with sessions() as db:
        kinds = [
            e.kind
            for e in db.scalars(
                select(AuditEvent)
                .where(AuditEvent.appointment_id == appointment)
                .order_by(AuditEvent.seq)
            )
        ]
        assert kinds == [
            "appointment_booked",
            "appointment_confirmed",
            "appointment_rescheduled",
            "appointment_cancelled",
        ]
        assert tools.audit.verify(db).ok
    (moved,) = events(sessions, "appointment_rescheduled")
    assert moved.detail["old_start"] < moved.detail["start"]


def test_staff_mark_attendance_once_the_visit_has_started(
    sessions, demo_clinic, audit, tools_for, patients
):
    me, _ = patients
    appointment = book(sessions, tools_for, me)  # Monday 10:00 in New York (14:00 UTC)
    with sessions.begin() as db:
        with pytest.raises(SchedulingError) as early:
            tools_for(db, STAFF).mark_attendance(appointment, "fulfilled")
        assert early.value.code == "not_started"
    started = datetime(2026, 3, 9, 14, 10, tzinfo=UTC)
    with sessions.begin() as db:
        tools = SchedulingTools(db, demo_clinic, audit, STAFF, started)
        assert tools.mark_attendance(appointment, "noshow").status == AppointmentStatus.NOSHOW
        # A correction: it was attended after all.
        assert tools.mark_attendance(appointment, "fulfilled").status == AppointmentStatus.FULFILLED
        with pytest.raises(SchedulingError) as odd:
            tools.mark_attendance(appointment, "maybe")
        assert odd.value.code == "bad_outcome"
        with pytest.raises(NotFound):
            tools.mark_attendance(4242, "noshow")
    marked = events(sessions, "attendance_marked")
    assert [(e.detail["outcome"], e.detail["previous"]) for e in marked] == [
        ("noshow", "booked"),
        ("fulfilled", "noshow"),
    ]
    assert all(e.actor == "staff:U1" and e.appointment_id == appointment for e in marked)
    refused = [e.detail for e in events(sessions, "request_refused")]
    assert [d["action"] for d in refused] == ["attendance"] * 3
    assert refused[0]["reason"] == "SchedulingError"


def test_a_patient_cannot_mark_attendance_nor_a_cancelled_visit_be_marked(
    sessions, demo_clinic, audit, tools_for, patients
):
    me, _ = patients
    appointment = book(sessions, tools_for, me)
    started = datetime(2026, 3, 9, 14, 10, tzinfo=UTC)
    with sessions.begin() as db:
        with pytest.raises(NotAllowed):
            SchedulingTools(db, demo_clinic, audit, patient(me), started).mark_attendance(
                appointment, "fulfilled"
            )
        tools_for(db, STAFF).cancel_appointment(appointment)
    with sessions.begin() as db:
        with pytest.raises(SchedulingError) as closed:
            SchedulingTools(db, demo_clinic, audit, STAFF, started).mark_attendance(
                appointment, "noshow"
            )
        assert closed.value.code == "closed"
        assert db.get(Appointment, appointment).status == AppointmentStatus.CANCELLED
    assert events(sessions, "attendance_marked") == []
