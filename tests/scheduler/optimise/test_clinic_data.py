"""The clinic's own waiting list through the optimiser: the instance built from the demo clinic and
the database passes the file format's checks, its solutions pass the independent checker, booked
time and breaks are never offered, and a request for one provider goes to that provider only."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from bot.audit.trail import AuditTrail
from scheduler import urgency, waitlist
from scheduler.models import Appointment, AppointmentStatus, Patient, WaitlistEntry
from scheduler.optimise import solve
from scheduler.optimise.clinic_data import build, named, plan
from tests.jobs_support import Desk
from tests.scheduler.optimise.checker import assert_valid

MON = date(2026, 3, 9)
TUE = MON + timedelta(days=1)


@pytest.fixture
def desk(sessions, demo_clinic, vault, clock):
    return Desk(sessions, demo_clinic, vault, AuditTrail(vault), clock)


def wait(desk, phone: str, type_key: str = "checkup", **fields) -> int:
    patient = desk.patient(phone)
    with desk.sessions.begin() as db:
        entry, _ = waitlist.join(
            db,
            desk.clinic,
            patient_id=patient,
            type_key=type_key,
            now=desk.clock.now,
            created_by="test",
            **fields,
        )
        return entry.id


def local(desk, hhmm: str, day: date = MON) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=desk.clinic.zone)


def overlaps(spans, start: datetime, end: datetime) -> bool:
    return any(
        datetime.fromisoformat(a) < end and start < datetime.fromisoformat(b) for a, b in spans
    )


def available(data: dict, kind: str, key: str) -> list:
    return next(item["available"] for item in data[kind] if item["id"] == key)


def test_the_clinic_instance_passes_the_file_checks_and_its_solution_the_checker(desk, sessions):
    desk.book(desk.patient("+12125550101"), MON, time(10, 0))
    for i, type_key in enumerate(["checkup", "sick-visit", "vaccination", "cardiac-echo"] * 3):
        wait(desk, f"+1212555012{i % 10}" if i < 10 else f"+121255501{30 + i}", type_key)
    with sessions() as db:
        built = build(db, desk.clinic, MON, TUE, now=desk.clock.now)
    assert built.instance is not None and len(built.instance.requests) == 12
    assert_valid(built.data, solve(built.instance, time_limit=3).to_json())
    assert_valid(built.data, solve(built.instance, greedy_only=True).to_json())


def test_booked_time_and_breaks_are_never_available_and_the_booking_stays(desk, sessions):
    booked = desk.book(desk.patient("+12125550101"), MON, time(10, 0))
    with sessions() as db:
        before = db.get(Appointment, booked)
        was = (before.start_at, before.provider_id, before.room_id, before.status)
    for i in range(6):
        wait(desk, f"+1212555012{i}", provider_key="okafor")
    with sessions() as db:
        built = build(db, desk.clinic, MON, MON, now=desk.clock.now)
        okafor = available(built.data, "providers", "okafor")
        # The 10:00 check-up holds 10:00-10:35 (its buffer too); lunch is 12:00-13:00.
        assert not overlaps(okafor, local(desk, "10:00"), local(desk, "10:35"))
        assert not overlaps(okafor, local(desk, "12:00"), local(desk, "13:00"))
        assert overlaps(okafor, local(desk, "09:00"), local(desk, "09:30"))
        found = plan(db, desk.clinic, MON, now=desk.clock.now, time_limit=3)
    assert found.status in ("optimal", "feasible", "greedy") and len(found.proposals) == 6
    for proposal in found.proposals:
        start, end = proposal.slot.start, proposal.slot.end + timedelta(minutes=5)
        assert proposal.slot.provider_key == "okafor"
        assert not (start < local(desk, "10:35") and local(desk, "10:00") < end)
        assert not (start < local(desk, "13:00") and local(desk, "12:00") < proposal.slot.end)
    with sessions() as db:
        after = db.get(Appointment, booked)
        assert (after.start_at, after.provider_id, after.room_id, after.status) == was
        assert was[3] == AppointmentStatus.BOOKED
    # The proposals do not overlap one another either (the provider sees one at a time).
    spans = sorted((p.slot.start, p.slot.end) for p in found.proposals)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))


def test_a_request_for_one_provider_only_that_provider_can_take(desk, sessions):
    entry = wait(desk, "+12125550120", provider_key="lindqvist")
    with sessions() as db:
        built = build(db, desk.clinic, MON, MON, now=desk.clock.now)
        [request] = built.data["requests"]
        assert request["specialty"] == named("lindqvist")
        able = [p["id"] for p in built.data["providers"] if named("lindqvist") in p["specialties"]]
        assert able == ["lindqvist"]
        [proposal] = plan(db, desk.clinic, MON, now=desk.clock.now, time_limit=2).proposals
    assert (proposal.entry_id, proposal.slot.provider_key) == (entry, "lindqvist")


def test_weights_follow_urgency_and_an_unknown_level_counts_as_routine(desk, sessions):
    urgent = wait(desk, "+12125550120", priority="urgent")
    soon = wait(desk, "+12125550121", "sick-visit", priority="soon")
    odd = wait(desk, "+12125550122", "vaccination")
    with sessions.begin() as db:
        db.get(WaitlistEntry, odd).priority = "whenever"  # a level this code does not know
    with sessions() as db:
        built = build(db, desk.clinic, MON, MON, now=desk.clock.now)
    assert built.weights == {
        urgent: urgency.WEIGHT["urgent"],
        soon: urgency.WEIGHT["soon"],
        odd: urgency.WEIGHT["routine"],
    }


def test_who_cannot_be_offered_or_be_placed_is_left_out(desk, sessions, clock):
    placed = wait(desk, "+12125550120")
    wait(desk, "+12125550121", earliest=TUE)  # not waiting for Monday
    opted_out = wait(desk, "+12125550122")
    scan = wait(desk, "+12125550123", "abdominal-ultrasound")  # imaging: nobody on Mondays
    offered = wait(desk, "+12125550124", "sick-visit")
    with sessions.begin() as db:
        db.get(Patient, db.get(WaitlistEntry, opted_out).patient_id).opted_out_at = clock.now
        slot = desk.tools(db).find_slots("sick-visit", start_date=MON, end_date=MON, limit=1)[0]
        waitlist.offer_slot(db, db.get(WaitlistEntry, offered), slot, now=clock.now)
    with sessions() as db:
        built = build(db, desk.clinic, MON, MON, now=clock.now)
    assert set(built.weights) == {placed, scan} and built.unplaceable == (scan,)
    assert [entry for entry, _ in built.entries.values()] == [placed]
    # The live offer's time is held: nobody else is offered it.
    holder = available(built.data, "providers", slot.provider_key)
    assert not overlaps(holder, slot.start, slot.end)


def test_nothing_waiting_or_a_past_day_is_nothing_to_solve(desk, sessions, clock):
    with sessions() as db:
        assert plan(db, desk.clinic, MON, now=clock.now).status == "empty"
    wait(desk, "+12125550120")
    with sessions() as db:
        past = plan(db, desk.clinic, date(2026, 3, 2), now=clock.now)
        assert (past.status, past.waiting, past.proposals) == ("empty", 0, ())
        # Today: only from the type's notice on (09:00 now, check-ups need 2 hours).
        today = plan(db, desk.clinic, date(2026, 3, 4), now=clock.now, time_limit=2)
    [proposal] = today.proposals
    assert proposal.slot.start >= datetime(2026, 3, 4, 16, 0, tzinfo=UTC)
    with sessions() as db:
        assert db.scalars(select(WaitlistEntry.status)).all() == ["waiting"]
