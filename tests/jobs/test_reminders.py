"""Reminder planning, sending and start-up catch-up, with the clock moved by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import time_machine
from sqlalchemy import select

from bot.messages import DeliveryFailed
from bot.patient import segments
from scheduler.models import Reminder
from scheduler.reminders import ReminderPolicy

NY = "America/New_York"
MON = date(2026, 3, 9)  # the Monday after the spring-forward Sunday (2026-03-08)
PHONE = "+12125550140"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def planned(sessions, appointment_id):
    with sessions() as db:
        return [
            (r.due_at, r.status)
            for r in db.scalars(
                select(Reminder)
                .where(Reminder.appointment_id == appointment_id)
                .order_by(Reminder.due_at)
            )
        ]


def test_booking_plans_its_reminders_24h_and_2h_before(desk, sessions):
    appointment = desk.book(desk.patient(PHONE), MON, time(10, 0))
    # Monday 10:00 EDT is 14:00 UTC: Sunday 10:00 EDT and Monday 08:00 EDT.
    assert planned(sessions, appointment) == [
        (utc(2026, 3, 8, 14), "pending"),
        (utc(2026, 3, 9, 12), "pending"),
    ]


def test_a_reminder_in_quiet_hours_moves_earlier_to_the_last_allowed_minute(desk, sessions):
    appointment = desk.book(desk.patient(PHONE), MON, time(8, 0))
    # 2h before 08:00 is 06:00, quiet: it goes out Sunday 20:59 EDT (00:59 UTC Monday).
    assert planned(sessions, appointment) == [
        (utc(2026, 3, 8, 12), "pending"),
        (utc(2026, 3, 9, 0, 59), "pending"),
    ]


def test_whole_day_offsets_keep_the_wall_clock_time_across_daylight_saving(desk, sessions):
    desk.policy = ReminderPolicy(offsets=(timedelta(days=2),))
    appointment = desk.book(desk.patient(PHONE), MON, time(9, 0))
    # Saturday 09:00 EST (14:00 UTC), not 48 elapsed hours (08:00 EST).
    assert planned(sessions, appointment) == [(utc(2026, 3, 7, 14), "pending")]


def test_the_patients_own_zone_decides_quiet_hours(desk, sessions):
    # 10:00 in New York is 07:00 in Los Angeles: both reminders (07:00 and 05:00 there) fall in
    # quiet hours and move to 20:59 Los Angeles time the evening before each.
    patient = desk.patient(PHONE, timezone="America/Los_Angeles")
    appointment = desk.book(patient, MON, time(10, 0))
    assert planned(sessions, appointment) == [
        (utc(2026, 3, 8, 4, 59), "pending"),
        (utc(2026, 3, 9, 3, 59), "pending"),
    ]


def test_no_reminder_in_the_past_none_for_an_opted_out_patient(desk, sessions, clock):
    soon = desk.book(desk.patient(PHONE), date(2026, 3, 5), time(10, 0))  # 25h ahead
    assert [s for _, s in planned(sessions, soon)] == ["pending", "pending"]
    clock.advance(hours=2)
    today = desk.book(desk.patient("+12125550141"), date(2026, 3, 5), time(9, 0))  # 22h ahead
    assert len(planned(sessions, today)) == 1  # only the 2h one: 24h before is in the past
    out = desk.patient("+12125550142", opted_out_at=clock.now)
    assert planned(sessions, desk.book(out, MON, time(11, 0))) == []


def test_cancelling_or_moving_cancels_or_replans_in_the_same_transaction(desk, sessions):
    patient = desk.patient(PHONE)
    appointment = desk.book(patient, MON, time(10, 0))
    new_slot = desk.slot(MON, time(15, 0))
    with sessions.begin() as db:
        desk.tools(db).reschedule_appointment(appointment, new_slot)
    rows = planned(sessions, appointment)
    assert [s for _, s in rows].count("cancelled") == 2
    assert [d for d, s in rows if s == "pending"] == [utc(2026, 3, 8, 19), utc(2026, 3, 9, 17)]
    with sessions.begin() as db:
        desk.tools(db).cancel_appointment(appointment)
    assert {s for _, s in planned(sessions, appointment)} == {"cancelled"}


def test_per_type_offsets_from_the_clinic_file(demo_clinic):
    import pytest

    from scheduler.clinic_file import ClinicConfigError, parse_clinic

    raw = dict(demo_clinic.raw)
    raw["appointment_types"] = [dict(t) for t in raw["appointment_types"]]
    raw["appointment_types"][0]["reminder_offsets"] = ["2d", "90m"]
    clinic = parse_clinic(raw)
    assert clinic.appointment_types[0].reminder_offsets == (2880, 90)
    assert ReminderPolicy().offsets_for(clinic, clinic.appointment_types[0].key) == (
        timedelta(days=2),
        timedelta(minutes=90),
    )
    raw["appointment_types"][0]["reminder_offsets"] = ["soon"]
    with pytest.raises(ClinicConfigError, match="reminder_offsets"):
        parse_clinic(raw)


def test_due_reminders_are_sent_once_recorded_and_fit_one_sms(
    desk, sessions, clock, make_sender, outbox, vault
):
    appointment = desk.book(desk.patient(PHONE), MON, time(10, 0))
    sender = make_sender()
    assert sender.run().sent == 0  # nothing due yet
    clock.now = utc(2026, 3, 8, 14, 0, 30)
    result = sender.run()
    assert result.sent == 1 and sender.run().sent == 0  # and never again
    [message] = outbox.messages_for(PHONE)
    assert message.kind == "reminder" and len(message.text) <= 160
    assert segments.is_gsm7(message.text)
    assert "Maple Street Family Clinic" in message.text and "Mon Mar 9 at 10:00 AM" in message.text
    assert (
        "(212) 555-0100" in message.text
        and "Reply C to confirm, R to reschedule, X to cancel" in message.text
    )
    assert "check-up" not in message.text.lower()  # never the type or a reason
    assert planned(sessions, appointment)[0][1] == "sent"


def test_provider_named_only_where_the_clinic_allows(demo_clinic):
    import dataclasses

    from bot.patient import replies

    start = utc(2026, 3, 9, 14)
    assert "Okafor" in replies.reminder(demo_clinic, start, demo_clinic.zone, "Dr. Amara Okafor")
    hidden = dataclasses.replace(
        demo_clinic,
        show_provider_in_reminders=False,
        name="The Very Long Named Community Health and Wellness Center of Greater Springfield",
    )
    text = replies.reminder(hidden, start, hidden.zone, None)
    assert len(text) <= 160 and "Reply C to confirm" in text


def test_start_up_catch_up_sends_the_latest_missed_and_expires_the_past(
    desk, sessions, clock, make_sender, outbox
):
    ahead = desk.book(desk.patient(PHONE), MON, time(14, 0))
    gone = desk.book(desk.patient("+12125550141"), MON, time(9, 0))
    # Everything was down from Saturday to Monday 13:00 EDT (17:00 UTC).
    with time_machine.travel(utc(2026, 3, 9, 17), tick=False):
        clock.now = datetime.now(UTC)
        result = make_sender().run()
    assert result.sent == 1
    assert [s for _, s in planned(sessions, ahead)] == ["expired", "sent"]  # 24h superseded
    assert {s for _, s in planned(sessions, gone)} == {"expired"}
    assert len(outbox.messages_for(PHONE)) == 1 and outbox.messages_for("+12125550141") == []


def test_no_text_in_quiet_hours_even_at_start_up(desk, sessions, clock, make_sender, outbox):
    appointment = desk.book(desk.patient(PHONE), MON, time(10, 0))
    clock.now = utc(2026, 3, 9, 5)  # Monday 01:00 EDT: the 24h one is overdue
    assert make_sender().run().sent == 0
    rows = planned(sessions, appointment)
    assert rows[0][1] == "expired" or rows[0] == (utc(2026, 3, 9, 12), "pending")
    clock.now = utc(2026, 3, 9, 12, 1)  # 08:01 EDT
    assert make_sender().run().sent == 1
    assert len(outbox.messages_for(PHONE)) == 1


class Failing:
    def __init__(self, retryable):
        self.retryable, self.calls = retryable, 0

    def send(self, message):
        self.calls += 1
        raise DeliveryFailed("refused", code=21211, retryable=self.retryable)


def test_a_failed_send_is_retried_then_shown_to_admins(
    desk, sessions, clock, make_sender, demo_clinic, vault, audit
):
    from bot.staff.admin import AdminDesk
    from bot.tools import Caller

    appointment = desk.book(desk.patient(PHONE), MON, time(10, 0))
    clock.now = utc(2026, 3, 8, 14, 1)
    flaky = Failing(retryable=True)
    sender = make_sender(flaky)
    for _ in range(4):
        sender.run()
        clock.advance(minutes=20)
    assert flaky.calls == 3
    assert planned(sessions, appointment)[0][1] == "failed"
    admin = AdminDesk(sessions=sessions, clinic=demo_clinic, vault=vault, audit=audit, clock=clock)
    answer = admin.command(
        Caller(role="admin", channel="slack", staff_id="U9"), "reminders failed"
    ).text
    assert "1 failed reminder" in answer and f"appointment #{appointment}" in answer
    assert PHONE not in answer


def test_an_expired_lease_is_claimed_by_another_worker(desk, sessions, clock, make_sender, outbox):
    desk.book(desk.patient(PHONE), MON, time(10, 0))
    clock.now = utc(2026, 3, 8, 14, 1)
    dead = make_sender(owner="dead-worker")
    assert len(dead.claims.claim(clock.now)) == 1  # claimed, then the worker died
    alive = make_sender(owner="alive")
    assert alive.run().sent == 0  # the lease still holds
    clock.advance(minutes=6)
    assert alive.run().sent == 1
    assert len(outbox.messages_for(PHONE)) == 1
