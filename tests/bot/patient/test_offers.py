"""Booking's offers (bot/patient/offers.py), driven as a patient texts: the openings offered for
a day, a limit ("after 3"), the neighbouring times ("anything later?"), a time taken meanwhile,
and the same kind of visit twice on one day.

The clinic's now is Wednesday 2026-03-04 09:00 in New York; the patient gives their name with
the first message, so no turn goes to the name question.
"""

from __future__ import annotations

import re
from datetime import date, time

import pytest
from sqlalchemy import select

from bot.audit.trail import AuditTrail
from bot.tools import Caller, SchedulingTools
from scheduler.models import Appointment
from scheduler.patients import find_or_create_patient

HELLO = "Hi, my name is Lee Example. "
THU = date(2026, 3, 5)
SAT = date(2026, 3, 7)


def options(reply: str) -> list[str]:
    """The numbered options of a reply, as a phone shows them ("1. Thu Mar 5 at ...")."""
    return re.findall(r"^\d+\. (.+)$", reply, re.MULTILINE)


def clock_time(label: str) -> time:
    """The time an option starts ("Thu Mar 5 at 3:15 PM with ..." -> 15:15)."""
    hour, minute, half = re.search(r" at (\d+):(\d\d) (AM|PM)", label).groups()
    return time(int(hour) % 12 + (12 if half == "PM" else 0), int(minute))


@pytest.fixture
def desk(sessions, vault, demo_clinic, now):
    """Books for other patients, as staff do, to fill the schedule."""
    audit = AuditTrail(vault)

    def book(type_key: str, day: date, at: time, phone: str) -> int:
        with sessions.begin() as db:
            patient = find_or_create_patient(db, vault, phone, now=now)
            tools = SchedulingTools(
                db, demo_clinic, audit, Caller(role="staff", channel="slack", staff_id="U1"), now
            )
            slot = tools.find_slots(type_key, start_date=day, end_date=day, around=at, limit=1)[0]
            assert slot.start.astimezone(demo_clinic.zone).time() == at
            return tools.book_appointment(slot, patient_id=patient.id).id

    return book


def _mine(sessions, vault, now, phone="+12125550123"):
    with sessions() as db:
        patient = find_or_create_patient(db, vault, phone, now=now)
        return db.scalars(
            select(Appointment)
            .where(Appointment.patient_id == patient.id)
            .order_by(Appointment.start_at)
        ).all()


def test_a_day_with_fewer_than_three_openings_lists_the_next_ones_too(chat, desk):
    # Saturday's echo: Dr. Lindqvist 9:00-13:00, one scanner; three visits leave only 12:15.
    for i, at in enumerate((time(9, 0), time(10, 0), time(11, 15))):
        desk("cardiac-echo", SAT, at, f"+1212555020{i}")
    reply = chat.text(HELLO + "I need an echo on saturday")
    assert "Sat Mar 7 has only one opening left, so the next ones are listed too." in reply
    offered = options(reply)
    assert len(offered) == 3
    assert offered[0].startswith("Sat Mar 7 at 12:15 PM")
    assert not any(o.startswith("Sat Mar 7") for o in offered[1:])


def test_a_day_with_no_openings_says_so_and_offers_the_nearest(chat):
    reply = chat.text(HELLO + "I need an echo on sunday")  # nobody works on Sundays
    assert reply.count("There are no openings on Sun Mar 8. The nearest are:") == 1
    assert all(o.startswith("Mon Mar 9") for o in options(reply))


def test_after_3_offers_only_times_from_3_on(chat):
    reply = chat.text(HELLO + "I need a checkup tomorrow after 3")
    offered = options(reply)
    assert len(offered) == 3
    assert all(o.startswith("Thu Mar 5") and clock_time(o) >= time(15, 0) for o in offered)
    assert clock_time(offered[0]) == time(15, 0)  # "after 3" takes 3:00, as people mean it


def test_before_10_offers_only_times_up_to_10(chat):
    offered = options(chat.text(HELLO + "a checkup tomorrow before 10am"))
    assert offered and all(clock_time(o) <= time(10, 0) for o in offered)


def test_a_time_asked_for_is_offered_first_with_the_nearest_beside_it(chat):
    offered = options(chat.text(HELLO + "a checkup tomorrow at 10am"))
    assert clock_time(offered[0]) == time(10, 0)
    assert {clock_time(o) for o in offered[1:]} == {time(9, 45), time(10, 15)}


def test_anything_later_offers_the_next_times_after_the_latest_offered(chat):
    first = options(chat.text(HELLO + "a checkup tomorrow at 10am"))
    latest = max(clock_time(o) for o in first)
    later = options(chat.text("anything later?"))
    assert len(later) == 3
    assert all(o.startswith("Thu Mar 5") and clock_time(o) > latest for o in later)
    assert clock_time(later[0]) == time(10, 30)  # the nearest first, in order


def test_earlier_offers_the_times_before_the_earliest_offered(chat):
    first = options(chat.text(HELLO + "a checkup tomorrow at 3pm"))
    earliest = min(clock_time(o) for o in first)
    earlier = options(chat.text("something earlier?"))
    assert earlier and all(clock_time(o) < earliest for o in earlier)


def test_a_number_after_later_books_from_the_new_offer(chat, sessions, vault, now, demo_clinic):
    chat.text(HELLO + "a checkup tomorrow at 10am")
    later = options(chat.text("later"))
    assert "You're booked" in chat.text("2")
    (booked,) = _mine(sessions, vault, now)
    assert booked.start_at.astimezone(demo_clinic.zone).time() == clock_time(later[1])


def test_a_time_taken_meanwhile_is_said_so_with_open_times_instead(
    chat, desk, sessions, vault, now
):
    offered = options(chat.text(HELLO + "a vaccination tomorrow at 9am"))
    assert clock_time(offered[0]) == time(9, 0)
    desk("vaccination", THU, time(9, 0), "+12125550201")  # someone else takes it first
    reply = chat.text("1")
    assert reply.startswith("Sorry, that time was just taken. These times are open.")
    assert "9:00 AM" not in "\n".join(options(reply))
    assert _mine(sessions, vault, now) == []


def test_a_kind_of_visit_can_be_chosen_by_its_number(chat, demo_clinic):
    asked = chat.text(HELLO + "I need an appointment")
    kinds = options(asked)
    assert kinds == [kind.name for kind in demo_clinic.appointment_types]
    assert "What day works for your Sick visit?" in chat.text("2")


def test_a_day_beyond_the_booking_horizon_is_refused_with_the_limit(chat):
    reply = chat.text(HELLO + "a sick visit on March 30")
    assert "can be booked up to 14 days ahead" in reply and not options(reply)


def test_a_day_already_past_is_said_so_and_the_earliest_openings_offered(chat):
    reply = chat.text(HELLO + "a checkup on March 2")
    assert reply.startswith("Thanks, Lee.\nMon Mar 2 has already passed.")
    # From today, after the check-up's two hours' notice (it is 9:00).
    offered = options(reply)
    assert offered[0].startswith("Wed Mar 4") and clock_time(offered[0]) >= time(11, 0)


# --- the same kind of visit twice the same day -------------------------------------------------


def _booked_at_ten_then_offered_the_same_day(chat):
    chat.text(HELLO + "a checkup tomorrow at 10am")
    assert "You're booked" in chat.text("1")
    assert options(chat.text("book a checkup tomorrow"))


def test_the_same_kind_of_visit_twice_the_same_day_is_asked_first(chat, sessions, vault, now):
    _booked_at_ten_then_offered_the_same_day(chat)
    asked = chat.text("1")
    assert asked.startswith(
        "You already have that kind of visit that day: General check-up, Thu Mar 5 at 10:00 AM"
    )
    assert len(_mine(sessions, vault, now)) == 1


def test_yes_books_the_second_visit_that_day_after_all(chat, sessions, vault, now):
    _booked_at_ten_then_offered_the_same_day(chat)
    chat.text("1")
    assert "You're booked" in chat.text("yes")
    assert len(_mine(sessions, vault, now)) == 2


def test_no_books_nothing_more(chat, sessions, vault, now):
    _booked_at_ten_then_offered_the_same_day(chat)
    chat.text("1")
    assert chat.text("no") == "OK, nothing new is booked."
    assert len(_mine(sessions, vault, now)) == 1


def test_another_kind_of_visit_the_same_day_is_booked_without_asking(chat, sessions, vault, now):
    _booked_at_ten_then_offered_the_same_day(chat)
    chat.text("never mind")
    chat.text("book a vaccination tomorrow")
    assert "You're booked" in chat.text("1")
    assert len(_mine(sessions, vault, now)) == 2
