"""The facade's free Slots are exactly the scheduler's own search: `free_slots_by_type`
(availability/week.py, every type of a provider with the calendars read once) gives, for each
provider and type, the starts `find_slots` gives, on a calendar with bookings of every kind and
with capacity kept for urgent patients (the clinic file's `[[reserved]]`)."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta

import pytest

from scheduler.availability import find_slots
from scheduler.availability.week import free_slots_by_type
from scheduler.booking import book
from scheduler.clinic_file import DEMO_CLINIC, parse_clinic
from scheduler.clinic_store import install_clinic
from scheduler.fhir.slots import BUSY, FREE, SlotQuery, offered_types, read_slot, schedule_slots
from scheduler.patients import find_or_create_patient

FIRST, LAST = date(2026, 3, 4), date(2026, 3, 10)  # the test clock's Wednesday, a week on


def reserving_clinic():
    with open(DEMO_CLINIC, "rb") as handle:
        data = tomllib.load(handle)
    data["reserved"] = [
        {"appointment_type": "sick-visit", "same_day": 2, "next_day": 1, "release_hours": 2}
    ]
    return parse_clinic(data)


@pytest.fixture(params=["demo", "reserved"])
def busy_clinic(request, sessions, demo_clinic, vault, now):
    """The demo clinic (or one that keeps sick-visit times for urgent patients) with a dozen
    bookings of every type over the week, through the scheduler."""
    clinic = demo_clinic if request.param == "demo" else reserving_clinic()
    with sessions.begin() as db:
        install_clinic(db, clinic)
        for number, kind in enumerate([t.key for t in clinic.appointment_types] * 3):
            patient = find_or_create_patient(db, vault, f"+121255501{number:02d}", now=now)
            day = FIRST + timedelta(days=1 + number % 5)
            found = find_slots(db, clinic, kind, now=now, start_date=day, limit=4)
            if found:
                book(db, clinic, patient_id=patient.id, slot=found[-1], now=now)
    return clinic


def test_every_providers_free_starts_are_find_slots_own(sessions, busy_clinic, now):
    with sessions() as db:
        for provider in busy_clinic.providers:
            kinds = [k.key for k in offered_types(busy_clinic, provider.key)]
            week = free_slots_by_type(
                db, busy_clinic, provider.key, kinds, now=now, start_date=FIRST, end_date=LAST
            )
            for kind in kinds:
                expected = find_slots(
                    db,
                    busy_clinic,
                    kind,
                    now=now,
                    start_date=FIRST,
                    end_date=LAST,
                    provider_key=provider.key,
                    limit=10_000,
                )
                assert [(s.start, s.end) for s in week[kind]] == [
                    (s.start, s.end) for s in expected
                ], (provider.key, kind)
                assert expected, (provider.key, kind)


def test_a_week_of_slots_is_free_and_busy_and_each_reads_back(sessions, busy_clinic, now):
    start = datetime(2026, 3, 5, 5, tzinfo=UTC)
    query = SlotQuery(start, start + timedelta(days=1), ("okafor", "lindqvist"))
    with sessions() as db:
        found = schedule_slots(db, busy_clinic, query, now=now)
        assert {s.status for s in found} == {FREE, BUSY}
        assert found == sorted(found, key=lambda s: s.order())
        for slot in found[::7]:
            assert read_slot(db, busy_clinic, slot.id, now=now) == slot
