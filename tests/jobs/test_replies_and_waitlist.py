"""Answers that act: C, R and X to a reminder; the waitlist's offers, holds and the YES race."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from adapters.outbox import Outbox
from bot.audit.trail import AuditTrail
from bot.engine.conversation import ConversationEngine
from bot.sessions import SessionStore
from jobs.reminders.sender import ReminderSender
from scheduler import waitlist
from scheduler.clinic_store import install_clinic
from scheduler.db import make_engine, session_factory
from scheduler.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    WaitlistEntry,
    WaitlistOffer,
)
from tests.clock import Clock
from tests.jobs_support import Chat, Desk

MON = date(2026, 3, 9)
PHONE = "+12125550140"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def reminded(desk, clock, make_sender, at=time(10, 0)):
    appointment = desk.book(desk.patient(PHONE), MON, at)
    clock.now = utc(2026, 3, 8, 14, 1)
    assert make_sender().run().sent == 1
    return appointment


def test_c_confirms_the_reminded_appointment(desk, clock, make_sender, chat_as, sessions):
    appointment = reminded(desk, clock, make_sender)
    assert "is confirmed" in chat_as(PHONE).text("C")
    with sessions() as db:
        assert db.get(Appointment, appointment).confirmed_at == clock.now
        assert (
            db.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.kind == "appointment_confirmed")
            )
            == 1
        )


def test_r_starts_the_reschedule_flow_for_that_appointment(
    desk, clock, make_sender, chat_as, sessions
):
    appointment = reminded(desk, clock, make_sender)
    chat = chat_as(PHONE)
    assert "When would you like to move" in chat.text("r")
    offered = chat.text("tuesday")
    assert "1." in offered
    assert "now on" in chat.text("1")
    with sessions() as db:
        moved = db.get(Appointment, appointment)
        assert moved.start_at.astimezone(desk.clinic.zone).date() == date(2026, 3, 10)


def test_x_cancels_only_after_x_again(desk, clock, make_sender, chat_as, sessions):
    appointment = reminded(desk, clock, make_sender)
    chat = chat_as(PHONE)
    assert "Reply X again to confirm" in chat.text("X")
    assert "is cancelled" in chat.text("x")
    with sessions() as db:
        assert db.get(Appointment, appointment).status == AppointmentStatus.CANCELLED
    # Something else after the first X keeps it.
    other = desk.book(desk.patient(PHONE), MON, time(15, 0))
    clock.now = utc(2026, 3, 9, 17, 1)
    make_sender().run()
    assert "Reply X again" in chat.text("X")
    assert "unchanged" in chat.text("no")
    with sessions() as db:
        assert db.get(Appointment, other).status == AppointmentStatus.BOOKED


def test_bare_letters_without_a_reminder_are_not_acted_on(desk, chat_as, sessions):
    appointment = desk.book(desk.patient(PHONE), MON, time(10, 0))
    assert "didn't catch" in chat_as(PHONE).text("X")
    with sessions() as db:
        assert db.get(Appointment, appointment).status == AppointmentStatus.BOOKED


def test_joining_the_waitlist_by_text(desk, chat_as, sessions):
    desk.patient(PHONE)
    chat = chat_as(PHONE)
    assert "Reply with a number" in chat.text("put me on the waitlist")
    assert "You're on the Maple Street Family Clinic waitlist" in chat.text("1")
    assert "already on the waitlist" in chat.text("waitlist for a checkup")
    with sessions() as db:
        [entry] = db.scalars(select(WaitlistEntry)).all()
        assert (entry.type_key, entry.priority, entry.status) == ("checkup", "routine", "waiting")


def test_offers_go_in_ranked_order_and_expiry_moves_on(desk, sessions, clock, make_sender, outbox):
    holder = desk.patient("+12125550150")
    appointment = desk.book(holder, MON, time(10, 0))
    phones = [f"+1212555016{i}" for i in range(5)]
    ids = [desk.patient(phone) for phone in phones]
    with sessions.begin() as db:
        tools = desk.tools(db)
        for i, patient_id in enumerate(ids):
            clock.advance(minutes=1)
            tools.now = clock.now
            tools.join_waitlist(
                "checkup", patient_id=patient_id, priority="urgent" if i == 4 else "routine"
            )
    with sessions.begin() as db:
        desk.tools(db).cancel_appointment(appointment)
    make_sender().run()
    offered = [p for p in phones if outbox.messages_for(p)]
    assert offered == [phones[0], phones[1], phones[4]]  # the urgent one, then the longest waiting
    assert "Reply YES within 15 min" in outbox.messages_for(phones[4])[0].text
    clock.advance(minutes=16)
    with sessions.begin() as db:
        assert waitlist.advance(db, desk.clinic, now=clock.now) == 3
    make_sender().run()
    assert [p for p in phones if outbox.messages_for(p)] == phones


def test_three_yeses_at_the_same_moment_one_booking_two_polite_refusals(
    database_url, vault, demo_clinic, now
):
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    with sessions.begin() as db:
        install_clinic(db, demo_clinic)
    clock, audit = Clock(now), AuditTrail(vault)
    desk = Desk(sessions, demo_clinic, vault, audit, clock)
    appointment = desk.book(desk.patient("+12125550150"), MON, time(10, 0))
    phones = ["+12125550171", "+12125550172", "+12125550173"]
    ids = [desk.patient(phone) for phone in phones]
    with sessions.begin() as db:
        for patient_id in ids:
            desk.tools(db).join_waitlist("checkup", patient_id=patient_id)
    with sessions.begin() as db:
        desk.tools(db).cancel_appointment(appointment)
    outbox = Outbox(sessions, vault, clock)
    ReminderSender(sessions, demo_clinic, vault, audit, outbox, clock=clock).run()
    assert all(outbox.messages_for(p) for p in phones)

    conversation = ConversationEngine(
        sessions=sessions,
        clinic=demo_clinic,
        vault=vault,
        audit=audit,
        store=SessionStore(vault, timedelta(minutes=30)),
        clock=clock,
    )
    barrier, answers = threading.Barrier(3), {}

    def yes(phone):
        chat = Chat(conversation, clock, phone)
        barrier.wait()
        answers[phone] = chat.text("YES")

    threads = [threading.Thread(target=yes, args=(p,)) for p in phones]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [p for p, a in answers.items() if "It's yours" in a]
    lost = [p for p, a in answers.items() if "just taken by someone else" in a]
    assert len(won) == 1 and len(lost) == 2, answers
    with sessions() as db:
        booked = db.scalars(
            select(Appointment).where(Appointment.status == AppointmentStatus.BOOKED)
        ).all()
        assert len(booked) == 1
        statuses = sorted(db.scalars(select(WaitlistOffer.status)).all())
        assert statuses == ["accepted", "taken", "taken"]
        assert sorted(db.scalars(select(WaitlistEntry.status)).all()) == [
            "booked",
            "waiting",
            "waiting",
        ]  # the two keep their place
    engine.dispose()
