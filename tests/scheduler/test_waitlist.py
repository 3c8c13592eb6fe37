"""The waitlist (scheduler/waitlist.py): joining it, its order (urgent first, then time waiting),
a freed time offered to the best-matching entries with a hold, an unanswered offer moving on to
the next entry, and the first YES winning the time.

The clock is Wednesday 2026-03-04 09:00 in New York; the freed time is Thursday 03-05.
"""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from scheduler import waitlist
from scheduler.availability import find_slots
from scheduler.booking import book
from scheduler.errors import NotFound, SchedulingError
from scheduler.models import Reminder, WaitlistEntry, WaitlistOffer
from scheduler.patients import find_or_create_patient

THU = date(2026, 3, 5)


@pytest.fixture
def patient(sessions, vault, now):
    """A new patient with a phone number, by the last digits of it: patient(1), patient(2)..."""

    def make(n: int) -> int:
        with sessions.begin() as db:
            return find_or_create_patient(db, vault, f"+1212555{n:04d}", now=now).id

    return make


@pytest.fixture
def freed(sessions, demo_clinic, now):
    """A check-up time with Dr. Okafor, Thursday at 10:00, as if just cancelled."""
    with sessions() as db:
        (slot,) = find_slots(
            db,
            demo_clinic,
            "checkup",
            now=now,
            start_date=THU,
            end_date=THU,
            provider_key="okafor",
            around=time(10, 0),
            limit=1,
        )
    assert slot.start.astimezone(demo_clinic.zone).time() == time(10, 0)
    return slot


def join(sessions, clinic, now, patient_id, type_key="checkup", **kw):
    with sessions.begin() as db:
        entry, created = waitlist.join(
            db,
            clinic,
            patient_id=patient_id,
            type_key=type_key,
            now=now,
            created_by=f"patient:{patient_id}",
            **kw,
        )
        return entry.id, created


def offer(sessions, clinic, slot, now, **kw):
    with sessions.begin() as db:
        return [
            (o.id, o.patient_id) for o in waitlist.offer_freed_slot(db, clinic, slot, now=now, **kw)
        ]


def offers(sessions):
    with sessions() as db:
        return {o.patient_id: o for o in db.scalars(select(WaitlistOffer))}


# --- joining -----------------------------------------------------------------------------------


def test_joining_creates_a_waiting_entry(sessions, demo_clinic, now, patient):
    me = patient(1)
    entry_id, created = join(
        sessions,
        demo_clinic,
        now,
        me,
        provider_key="okafor",
        earliest=THU,
        latest=THU + timedelta(days=14),
    )
    assert created
    with sessions() as db:
        entry = db.get(WaitlistEntry, entry_id)
        assert (
            entry.patient_id,
            entry.type_key,
            entry.provider_key,
            entry.status,
            entry.priority,
        ) == (me, "checkup", "okafor", "waiting", "routine")


def test_joining_again_for_the_same_kind_keeps_the_first_entry(sessions, demo_clinic, now, patient):
    me = patient(1)
    first, _ = join(sessions, demo_clinic, now, me)
    again, created = join(sessions, demo_clinic, now + timedelta(hours=1), me)
    assert (again, created) == (first, False)
    with sessions() as db:
        assert len(waitlist.waiting(db, me)) == 1


def test_joining_again_as_urgent_makes_the_entry_urgent_but_never_the_other_way(
    sessions, demo_clinic, now, patient
):
    me = patient(1)
    entry_id, _ = join(sessions, demo_clinic, now, me)
    join(sessions, demo_clinic, now, me, priority="urgent")
    join(sessions, demo_clinic, now, me, priority="routine")
    with sessions() as db:
        assert db.get(WaitlistEntry, entry_id).priority == "urgent"


def test_another_kind_of_visit_is_another_entry(sessions, demo_clinic, now, patient):
    me = patient(1)
    join(sessions, demo_clinic, now, me)
    _, created = join(sessions, demo_clinic, now, me, type_key="vaccination")
    assert created


def test_a_provider_who_does_not_do_the_kind_of_visit_becomes_any_provider(
    sessions, demo_clinic, now, patient
):
    entry_id, _ = join(
        sessions, demo_clinic, now, patient(1), type_key="vaccination", provider_key="tanaka"
    )
    with sessions() as db:
        assert db.get(WaitlistEntry, entry_id).provider_key is None


@pytest.mark.parametrize(
    "wrong, error",
    [
        ({"type_key": "massage"}, NotFound),
        ({"priority": "asap"}, SchedulingError),
        ({"earliest": date(2026, 3, 10), "latest": date(2026, 3, 9)}, SchedulingError),
    ],
)
def test_a_join_that_makes_no_sense_is_refused(sessions, demo_clinic, now, patient, wrong, error):
    me = patient(1)
    with pytest.raises(error):
        join(sessions, demo_clinic, now, me, **wrong)
    with sessions() as db:
        assert waitlist.waiting(db) == []


# --- the order ---------------------------------------------------------------------------------


def test_urgent_entries_come_first_then_the_longest_waiting(sessions, demo_clinic, now, patient):
    early, late, urgent = patient(1), patient(2), patient(3)
    join(sessions, demo_clinic, now, early)
    join(sessions, demo_clinic, now + timedelta(hours=1), late)
    join(sessions, demo_clinic, now + timedelta(hours=2), urgent, priority="urgent")
    with sessions() as db:
        assert [e.patient_id for e in waitlist.waiting(db)] == [urgent, early, late]


# --- a freed time becomes offers ---------------------------------------------------------------


def test_a_freed_time_is_offered_with_a_hold_and_a_text_queued(
    sessions, demo_clinic, now, patient, freed
):
    me = patient(1)
    join(sessions, demo_clinic, now, me)
    ((offer_id, offered_to),) = offer(sessions, demo_clinic, freed, now)
    assert offered_to == me
    with sessions() as db:
        made = db.get(WaitlistOffer, offer_id)
        assert made.status == "offered" and made.expires_at == now + waitlist.HOLD
        assert made.slot_key == waitlist.slot_key(freed) and made.slot == freed.as_dict()
        text = db.scalars(select(Reminder).where(Reminder.offer_id == offer_id)).one()
        assert (text.kind, text.status, text.due_at, text.patient_id) == (
            "offer",
            "pending",
            now,
            me,
        )


def test_a_freed_time_goes_to_the_first_three_in_order(sessions, demo_clinic, now, patient, freed):
    waiting = [patient(n) for n in range(1, 6)]
    for i, patient_id in enumerate(waiting):
        join(sessions, demo_clinic, now + timedelta(minutes=i), patient_id)
    last = waiting[-1]
    join(sessions, demo_clinic, now, last, priority="urgent")  # the last, made urgent
    offered = [patient_id for _, patient_id in offer(sessions, demo_clinic, freed, now)]
    assert offered == [last, waiting[0], waiting[1]]
    assert len(offered) == waitlist.OFFERS_AT_ONCE


def test_only_entries_that_fit_the_freed_time_are_offered_it(
    sessions, demo_clinic, now, patient, freed
):
    fits = patient(1)
    join(sessions, demo_clinic, now, fits, provider_key="okafor", earliest=THU, latest=THU)
    join(sessions, demo_clinic, now, patient(2), type_key="vaccination")
    join(sessions, demo_clinic, now, patient(3), provider_key="lindqvist")
    join(sessions, demo_clinic, now, patient(4), earliest=THU + timedelta(days=1))
    join(sessions, demo_clinic, now, patient(5), latest=THU - timedelta(days=1))
    assert [p for _, p in offer(sessions, demo_clinic, freed, now)] == [fits]


def test_a_patient_who_opted_out_is_not_offered_the_time(
    sessions, vault, demo_clinic, now, patient, freed
):
    gone, stays = patient(1), patient(2)
    join(sessions, demo_clinic, now, gone)
    join(sessions, demo_clinic, now + timedelta(minutes=1), stays)
    with sessions.begin() as db:
        find_or_create_patient(db, vault, "+12125550001", now=now).opted_out_at = now
    assert [p for _, p in offer(sessions, demo_clinic, freed, now)] == [stays]


def test_nothing_is_offered_when_nobody_waits_or_the_time_has_passed(
    sessions, demo_clinic, now, patient, freed
):
    assert offer(sessions, demo_clinic, freed, now) == []
    join(sessions, demo_clinic, now, patient(1))
    assert offer(sessions, demo_clinic, freed, freed.start) == []
    assert offers(sessions) == {}


def test_the_same_time_freed_again_is_not_offered_twice_to_the_same_entry(
    sessions, demo_clinic, now, patient, freed
):
    join(sessions, demo_clinic, now, patient(1))
    assert len(offer(sessions, demo_clinic, freed, now)) == 1
    assert offer(sessions, demo_clinic, freed, now + timedelta(minutes=1)) == []


def test_a_patient_gets_at_most_three_offers_a_day(sessions, demo_clinic, now, patient):
    me = patient(1)
    join(sessions, demo_clinic, now, me)
    with sessions() as db:
        times = find_slots(
            db,
            demo_clinic,
            "checkup",
            now=now,
            start_date=THU,
            end_date=THU,
            provider_key="okafor",
            limit=4,
        )
    assert len(times) == 4
    made = [offer(sessions, demo_clinic, slot, now) for slot in times]
    assert [len(m) for m in made] == [1, 1, 1, 0]


# --- an unanswered offer moves on --------------------------------------------------------------


def test_advance_expires_unanswered_offers_and_offers_the_time_to_the_next(
    sessions, demo_clinic, now, patient, freed
):
    waiting = [patient(n) for n in range(1, 5)]
    for i, patient_id in enumerate(waiting):
        join(sessions, demo_clinic, now + timedelta(minutes=i), patient_id)
    offer(sessions, demo_clinic, freed, now)
    with sessions.begin() as db:  # the hold still runs: nothing moves
        assert waitlist.advance(db, demo_clinic, now=now + timedelta(minutes=14)) == 0
    later = now + waitlist.HOLD
    with sessions.begin() as db:
        assert waitlist.advance(db, demo_clinic, now=later) == 3
    made = offers(sessions)
    assert [made[p].status for p in waiting[:3]] == ["expired"] * 3
    assert made[waiting[3]].status == "offered"
    assert made[waiting[3]].expires_at == later + waitlist.HOLD


def test_advance_offers_nothing_once_the_time_is_booked(sessions, demo_clinic, now, patient, freed):
    first, second, walk_in = patient(1), patient(2), patient(3)
    join(sessions, demo_clinic, now, first)
    offer(sessions, demo_clinic, freed, now, at_once=1)
    join(sessions, demo_clinic, now, second)
    with sessions.begin() as db:  # the desk books the time for someone else meanwhile
        book(db, demo_clinic, patient_id=walk_in, slot=freed, now=now)
    with sessions.begin() as db:
        assert waitlist.advance(db, demo_clinic, now=now + waitlist.HOLD) == 1
    assert set(offers(sessions)) == {first}


# --- the first YES wins ------------------------------------------------------------------------


def test_the_first_yes_books_the_time_and_the_other_offers_are_taken(
    sessions, demo_clinic, now, patient, freed
):
    winner, slower, third = patient(1), patient(2), patient(3)
    for i, patient_id in enumerate((winner, slower, third)):
        join(sessions, demo_clinic, now + timedelta(minutes=i), patient_id)
    offer(sessions, demo_clinic, freed, now)
    answered = now + timedelta(minutes=5)
    with sessions.begin() as db:
        yes = waitlist.latest_offer(db, winner, now=answered)
        appointment = book(db, demo_clinic, patient_id=winner, slot=freed, now=answered)
        waitlist.accepted(db, yes, appointment, now=answered)
        appointment_id = appointment.id
    made = offers(sessions)
    assert made[winner].status == "accepted" and made[winner].appointment_id == appointment_id
    assert made[slower].status == made[third].status == "taken"
    with sessions() as db:
        entry = db.get(WaitlistEntry, made[winner].entry_id)
        assert entry.status == "booked" and entry.appointment_id == appointment_id
        assert [e.patient_id for e in waitlist.waiting(db)] == [slower, third]
        unsent = db.scalars(
            select(Reminder).where(Reminder.offer_id.in_([made[slower].id, made[third].id]))
        ).all()
        assert {(r.status, r.last_error_code) for r in unsent} == {("cancelled", "slot_taken")}


def test_a_later_yes_finds_its_offer_taken_and_keeps_its_place(
    sessions, demo_clinic, now, patient, freed
):
    winner, slower = patient(1), patient(2)
    join(sessions, demo_clinic, now, winner)
    join(sessions, demo_clinic, now + timedelta(minutes=1), slower)
    offer(sessions, demo_clinic, freed, now)
    with sessions.begin() as db:
        yes = waitlist.latest_offer(db, winner, now=now)
        waitlist.accepted(
            db, yes, book(db, demo_clinic, patient_id=winner, slot=freed, now=now), now=now
        )
    with sessions.begin() as db:
        late = waitlist.latest_offer(db, slower, now=now + timedelta(minutes=2))
        assert late.status == "taken"
        waitlist.answered(db, late, "taken", now=now + timedelta(minutes=2))
    with sessions() as db:
        assert [e.patient_id for e in waitlist.waiting(db)] == [slower]
        assert waitlist.latest_offer(db, slower, now=now + timedelta(minutes=3)) is None


def test_a_time_once_accepted_is_never_offered_again(sessions, demo_clinic, now, patient, freed):
    winner = patient(1)
    join(sessions, demo_clinic, now, winner)
    offer(sessions, demo_clinic, freed, now)
    with sessions.begin() as db:
        yes = waitlist.latest_offer(db, winner, now=now)
        waitlist.accepted(
            db, yes, book(db, demo_clinic, patient_id=winner, slot=freed, now=now), now=now
        )
    join(sessions, demo_clinic, now, patient(2))
    assert offer(sessions, demo_clinic, freed, now + timedelta(minutes=1)) == []


def test_leaving_ends_the_open_offer_cancels_its_text_and_frees_the_time_for_the_next(
    sessions, demo_clinic, now, patient, freed
):
    first, second = patient(1), patient(2)
    entry_id, _ = join(sessions, demo_clinic, now, first)
    join(sessions, demo_clinic, now + timedelta(minutes=1), second)
    offer(sessions, demo_clinic, freed, now, at_once=1)
    soon = now + timedelta(minutes=2)
    with sessions.begin() as db:
        assert waitlist.leave(db, demo_clinic, entry_id, now=soon).status == "removed"
        with pytest.raises(SchedulingError, match="not waiting"):
            waitlist.leave(db, demo_clinic, entry_id, now=soon)
        with pytest.raises(NotFound):
            waitlist.leave(db, demo_clinic, 9999, now=soon)
    made = offers(sessions)
    assert made[first].status == "expired"  # a YES from now on finds it expired
    with sessions() as db:
        text = db.scalars(select(Reminder).where(Reminder.offer_id == made[first].id)).one()
        assert (text.status, text.last_error_code) == ("cancelled", "left_waitlist")
    # The time goes at once to the next in line.
    assert made[second].status == "offered" and made[second].expires_at == soon + waitlist.HOLD
