"""Slot search on the demo clinic (SQLite), with expectations worked out by hand from
demo_clinic.toml. The fixed clock is Wednesday 2026-03-04 09:00 in New York; the dates used are
the following days: Thursday 03-05 (all four providers work), Friday 03-06 (Okafor until 13:00),
Sunday 03-08 (nobody works).

Every test runs twice: with only the appointments' time-window index (busy time is read by one
scan of the window) and with the per-provider/room/equipment indexes (read holder by holder).
Both ways must give the same answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text, update

from scheduler.availability import Slot, busy, find_slots, is_bookable
from scheduler.booking import book
from scheduler.errors import NotFound, OutsideBookingWindow, SlotUnavailable
from scheduler.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    Patient,
    Provider,
    Resource,
)

NEW_YORK = ZoneInfo("America/New_York")
THURSDAY = date(2026, 3, 5)
FRIDAY = date(2026, 3, 6)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A New York wall time as an aware UTC instant."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


def local_times(slots: list[Slot]) -> list[str]:
    return [slot.local_start(NEW_YORK).strftime("%a %H:%M") for slot in slots]


def slot(
    clinic, type_key: str, provider_key: str, start: datetime, room_key: str | None = None
) -> Slot:
    kind = clinic.appointment_type(type_key)
    return Slot(
        type_key,
        provider_key,
        start,
        start + timedelta(minutes=kind.duration_minutes),
        room_key,
        kind.equipment,
    )


HOLDER_INDEXES = {
    "ix_appointments_provider": "provider_id",
    "ix_appointments_room": "room_id",
    "ix_appointments_equipment": "equipment_id",
}


@pytest.fixture(params=["window-index", "holder-indexes"])
def sessions(request, sessions, engine):
    with engine.begin() as connection:
        for name, column in HOLDER_INDEXES.items():
            connection.execute(
                text(
                    f"CREATE INDEX IF NOT EXISTS {name} ON appointments ({column}, start_at)"
                    if request.param == "holder-indexes"
                    else f"DROP INDEX IF EXISTS {name}"
                )
            )
    with sessions() as session:
        assert busy._indexed_by_holder(session) == (request.param == "holder-indexes")
    return sessions


@pytest.fixture
def patient_id(sessions) -> int:
    with sessions.begin() as session:
        patient = Patient()
        session.add(patient)
        session.flush()
        return patient.id


def booked(sessions, clinic, now, patient_id, *slots: Slot) -> None:
    with sessions.begin() as session:
        for wanted in slots:
            book(session, clinic, patient_id=patient_id, slot=wanted, now=now)


def search(sessions, clinic, type_key, now, **kwargs) -> list[Slot]:
    with sessions() as session:
        return find_slots(session, clinic, type_key, now=now, **kwargs)


def test_slots_start_at_opening_time_on_the_step_grid(sessions, demo_clinic, now):
    found = search(
        sessions, demo_clinic, "checkup", now, provider_key="okafor", start_date=THURSDAY
    )
    assert local_times(found) == ["Thu 08:00", "Thu 08:15", "Thu 08:30"]
    assert found[0].start == datetime(2026, 3, 5, 13, 0, tzinfo=UTC)
    assert found[0].end - found[0].start == timedelta(minutes=30)
    assert found[0].room_key == "exam-1" and found[0].equipment_key is None


def test_last_slot_of_the_day_ends_by_closing_time(sessions, demo_clinic, now):
    thursday = search(
        sessions,
        demo_clinic,
        "checkup",
        now,
        provider_key="okafor",
        start_date=THURSDAY,
        end_date=THURSDAY,
        limit=100,
    )
    friday = search(
        sessions,
        demo_clinic,
        "checkup",
        now,
        provider_key="okafor",
        start_date=FRIDAY,
        end_date=FRIDAY,
        limit=100,
    )
    assert local_times(thursday)[-1] == "Thu 16:30"  # 16:30 + 30 min = 17:00 closing
    assert local_times(friday)[-1] == "Fri 11:30"  # Friday 08-13 with lunch from 12:00


def test_no_visit_overlaps_a_break_but_its_buffer_may(sessions, demo_clinic, now):
    found = local_times(
        search(
            sessions,
            demo_clinic,
            "checkup",
            now,
            provider_key="okafor",
            start_date=THURSDAY,
            end_date=THURSDAY,
            limit=100,
        )
    )
    # Lunch 12:00-13:00: 11:30 ends at 12:00 (its 5-minute buffer runs into lunch), 11:45 would
    # end at 12:15, and the afternoon starts at 13:00.
    assert "Thu 11:30" in found and "Thu 13:00" in found
    assert not {"Thu 11:45", "Thu 12:00", "Thu 12:15", "Thu 12:30", "Thu 12:45"} & set(found)


def test_days_not_worked_have_no_slots(sessions, demo_clinic, now):
    sunday = date(2026, 3, 8)
    assert search(sessions, demo_clinic, "checkup", now, start_date=sunday, end_date=sunday) == []
    wednesday = date(2026, 3, 11)  # Lindqvist does not work Wednesdays
    assert (
        search(
            sessions,
            demo_clinic,
            "checkup",
            now,
            provider_key="lindqvist",
            start_date=wednesday,
            end_date=wednesday,
        )
        == []
    )


def test_days_off_have_no_slots(sessions, demo_clinic):
    december = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    christmas_eve = date(2026, 12, 24)  # a Thursday, on Okafor's days off
    assert (
        search(
            sessions,
            demo_clinic,
            "checkup",
            december,
            provider_key="okafor",
            start_date=christmas_eve,
            end_date=christmas_eve,
        )
        == []
    )
    found = search(
        sessions,
        demo_clinic,
        "checkup",
        december,
        start_date=christmas_eve,
        end_date=christmas_eve,
        limit=100,
    )
    assert {s.provider_key for s in found} == {"lindqvist", "moreau"}


def test_existing_appointment_blocks_its_time_widened_by_both_buffers(
    sessions, demo_clinic, now, patient_id
):
    booked(
        sessions,
        demo_clinic,
        now,
        patient_id,
        slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9), "exam-1"),
    )
    found = search(
        sessions, demo_clinic, "checkup", now, provider_key="okafor", start_date=THURSDAY
    )
    # Booked: 09:00-09:30 plus 5 min buffer. 08:30 would run with its buffer to 09:05, 09:30
    # would start inside the buffer; 09:45 is the first start after.
    assert local_times(found) == ["Thu 08:00", "Thu 08:15", "Thu 09:45"]


def test_a_room_of_the_right_kind_is_needed(sessions, demo_clinic, now, patient_id):
    ten = at(THURSDAY, 10)
    booked(
        sessions,
        demo_clinic,
        now,
        patient_id,
        slot(demo_clinic, "checkup", "lindqvist", ten, "exam-1"),
        slot(demo_clinic, "checkup", "moreau", ten, "exam-2"),
    )
    found = search(
        sessions,
        demo_clinic,
        "checkup",
        now,
        provider_key="okafor",
        start_date=THURSDAY,
        end_date=THURSDAY,
        limit=100,
    )
    # Okafor is free, but both exam rooms are taken 10:00-10:35.
    assert not {"Thu 09:30", "Thu 09:45", "Thu 10:00", "Thu 10:15", "Thu 10:30"} & set(
        local_times(found)
    )
    assert "Thu 09:15" in local_times(found) and "Thu 10:45" in local_times(found)
    # The echo needs the procedure room, which is free.
    echo = search(
        sessions, demo_clinic, "cardiac-echo", now, provider_key="tanaka", start_date=THURSDAY
    )
    assert local_times(echo)[0] == "Thu 10:00" and echo[0].room_key == "procedure"


def test_shared_equipment_blocks_the_other_type_using_it(sessions, demo_clinic, now, patient_id):
    booked(
        sessions,
        demo_clinic,
        now,
        patient_id,
        slot(demo_clinic, "abdominal-ultrasound", "tanaka", at(THURSDAY, 10), "exam-1"),
    )
    # The scanner is busy 10:00-10:40; a 45-minute echo plus 15 minutes buffer starting at
    # 09:15 to 10:30 would need it.
    found = search(
        sessions, demo_clinic, "cardiac-echo", now, provider_key="lindqvist", start_date=THURSDAY
    )
    assert local_times(found) == ["Thu 09:00", "Thu 10:45", "Thu 11:00"]
    assert all(s.equipment_key == "ultrasound" and s.room_key == "procedure" for s in found)


def test_minimum_notice_is_respected(sessions, demo_clinic, now):
    # Now is Wednesday 09:00: a check-up needs 2 hours' notice, a sick visit 1 hour.
    assert local_times(search(sessions, demo_clinic, "checkup", now))[0] == "Wed 11:00"
    assert local_times(search(sessions, demo_clinic, "sick-visit", now))[0] == "Wed 10:00"
    # An echo needs 24 hours: nothing on Wednesday, Thursday from 09:00.
    assert local_times(search(sessions, demo_clinic, "cardiac-echo", now))[0] == "Thu 09:00"


def test_nothing_is_offered_beyond_the_booking_horizon(sessions, demo_clinic, now):
    horizon = date(2026, 3, 18)  # sick visits: 14 days ahead of Wednesday 03-04
    assert search(sessions, demo_clinic, "sick-visit", now, start_date=horizon, end_date=horizon)
    assert (
        search(sessions, demo_clinic, "sick-visit", now, start_date=horizon + timedelta(days=1))
        == []
    )
    everything = search(
        sessions,
        demo_clinic,
        "sick-visit",
        now,
        start_date=date(2026, 3, 17),
        end_date=date(2026, 4, 30),
        limit=1000,
    )
    assert max(s.local_start(NEW_YORK).date() for s in everything) == horizon


def test_provider_filter_returns_only_that_provider(sessions, demo_clinic, now):
    found = search(sessions, demo_clinic, "checkup", now, provider_key="moreau", limit=20)
    assert len(found) == 20 and {s.provider_key for s in found} == {"moreau"}


def test_results_are_distinct_start_times_earliest_first(sessions, demo_clinic, now):
    found = search(sessions, demo_clinic, "checkup", now, limit=40)
    starts = [s.start for s in found]
    assert len(set(starts)) == len(starts) == 40
    assert starts == sorted(starts)


def test_part_of_day_is_preferred_and_others_fill_in(sessions, demo_clinic, now):
    evening = search(
        sessions,
        demo_clinic,
        "checkup",
        now,
        provider_key="lindqvist",
        part_of_day="evening",
        start_date=THURSDAY,
        end_date=THURSDAY,
        limit=5,
    )
    assert local_times(evening) == [
        "Thu 17:00",
        "Thu 17:15",
        "Thu 17:30",  # preferred
        "Thu 09:00",
        "Thu 09:15",
    ]  # filling in
    afternoon = search(
        sessions,
        demo_clinic,
        "checkup",
        now,
        provider_key="okafor",
        part_of_day="afternoon",
        start_date=THURSDAY,
    )
    assert local_times(afternoon) == ["Thu 13:00", "Thu 13:15", "Thu 13:30"]


def test_after_and_before_narrow_the_preference_limits_included(sessions, demo_clinic, now):
    from datetime import time

    after = search(
        sessions,
        demo_clinic,
        "checkup",
        now,
        provider_key="okafor",
        after=time(15, 30),
        start_date=THURSDAY,
        end_date=THURSDAY,
        limit=6,
    )
    # Okafor works until 17:00 and a check-up takes 30 minutes: 16:30 is her last start.
    assert local_times(after) == [
        "Thu 15:30",
        "Thu 15:45",
        "Thu 16:00",
        "Thu 16:15",
        "Thu 16:30",  # preferred
        "Thu 08:00",
    ]  # filling in
    before = search(
        sessions,
        demo_clinic,
        "checkup",
        now,
        provider_key="lindqvist",
        part_of_day="afternoon",
        before=time(14, 15),
        start_date=THURSDAY,
        end_date=THURSDAY,
        limit=5,
    )
    # The afternoon and "no later than 14:15" together, around Lindqvist's 13:00-14:00 break.
    assert local_times(before) == ["Thu 12:00", "Thu 12:15", "Thu 12:30", "Thu 14:00", "Thu 14:15"]


def test_part_of_day_preference_looks_at_later_days_first(sessions, demo_clinic, now):
    # Okafor never works evenings, Lindqvist does: over the whole window evening slots win.
    found = search(sessions, demo_clinic, "checkup", now, part_of_day="evening")
    assert local_times(found) == ["Thu 17:00", "Thu 17:15", "Thu 17:30"]
    assert {s.provider_key for s in found} == {"lindqvist"}


def test_impossible_part_of_day_falls_back_to_the_earliest(sessions, demo_clinic, now):
    found = search(
        sessions, demo_clinic, "checkup", now, provider_key="okafor", part_of_day="evening"
    )
    assert local_times(found) == ["Wed 11:00", "Wed 11:15", "Wed 11:30"]


def test_around_puts_each_days_nearest_times_first(sessions, demo_clinic, now):
    found = search(
        sessions,
        demo_clinic,
        "checkup",
        now,
        start_date=THURSDAY,
        end_date=THURSDAY,
        around=time(15, 0),
        limit=5,
    )
    assert local_times(found) == ["Thu 15:00", "Thu 14:45", "Thu 15:15", "Thu 14:30", "Thu 15:30"]
    two_days = search(
        sessions,
        demo_clinic,
        "checkup",
        now,
        provider_key="okafor",
        start_date=FRIDAY,
        around=time(12, 0),
        limit=4,
    )
    # On Friday Okafor's last visit before lunch (then closing) starts at 11:30.
    assert local_times(two_days) == ["Fri 11:30", "Fri 11:15", "Fri 11:00", "Fri 10:45"]


def test_unknown_or_inactive_names_are_not_found(sessions, demo_clinic, now):
    with pytest.raises(NotFound):
        search(sessions, demo_clinic, "haircut", now)
    with pytest.raises(NotFound):
        search(sessions, demo_clinic, "checkup", now, provider_key="house")
    with pytest.raises(NotFound):  # Okafor is not a cardiologist
        search(sessions, demo_clinic, "cardiac-echo", now, provider_key="okafor")
    with pytest.raises(ValueError):
        search(sessions, demo_clinic, "checkup", now, part_of_day="midnight")


def test_inactive_provider_and_rooms_are_not_offered(sessions, demo_clinic, now):
    with sessions.begin() as session:
        session.execute(update(Provider).where(Provider.key == "okafor").values(active=False))
    found = search(sessions, demo_clinic, "checkup", now, start_date=THURSDAY, limit=50)
    assert found and "okafor" not in {s.provider_key for s in found}
    with pytest.raises(NotFound):
        search(sessions, demo_clinic, "checkup", now, provider_key="okafor")
    with sessions.begin() as session:
        session.execute(update(Resource).where(Resource.key == "ultrasound").values(active=False))
    assert search(sessions, demo_clinic, "cardiac-echo", now) == []


def test_cancelled_appointments_do_not_block(sessions, demo_clinic, now, patient_id):
    with sessions.begin() as session:
        # A cancelled visit left in the table (no occupancy): it must not hide the time.
        ids = {
            key: session.scalar(select(model.id).where(model.key == key))
            for model, key in (
                (Provider, "okafor"),
                (AppointmentType, "checkup"),
                (Resource, "exam-1"),
            )
        }
        session.add(
            Appointment(
                patient_id=patient_id,
                provider_id=ids["okafor"],
                type_id=ids["checkup"],
                room_id=ids["exam-1"],
                start_at=at(THURSDAY, 8),
                end_at=at(THURSDAY, 8, 30),
                occupied_until=at(THURSDAY, 8, 35),
                status=AppointmentStatus.CANCELLED,
            )
        )
    found = search(
        sessions, demo_clinic, "checkup", now, provider_key="okafor", start_date=THURSDAY
    )
    assert local_times(found)[0] == "Thu 08:00"


def test_every_offered_slot_is_bookable(sessions, demo_clinic, now, patient_id):
    booked(
        sessions,
        demo_clinic,
        now,
        patient_id,
        slot(demo_clinic, "abdominal-ultrasound", "tanaka", at(THURSDAY, 11), "exam-1"),
        slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9), "exam-2"),
    )
    with sessions() as session:
        for type_key in ("checkup", "cardiac-echo", "abdominal-ultrasound", "vaccination"):
            for found in find_slots(
                session,
                demo_clinic,
                type_key,
                now=now,
                start_date=THURSDAY,
                end_date=THURSDAY,
                limit=200,
            ):
                is_bookable(session, demo_clinic, found, now=now)


def test_is_bookable_refuses_times_outside_hours_with_alternatives(sessions, demo_clinic, now):
    early = slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 7), "exam-1")
    off_grid = slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9, 10), "exam-1")
    with sessions() as session:
        for wanted in (early, off_grid):
            with pytest.raises(OutsideBookingWindow) as refused:
                is_bookable(session, demo_clinic, wanted, now=now)
            assert refused.value.alternatives
            assert refused.value.alternatives[0].provider_key == "okafor"


def test_is_bookable_refuses_a_taken_slot_with_nearest_alternatives(
    sessions, demo_clinic, now, patient_id
):
    wanted = slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 14), "exam-1")
    booked(sessions, demo_clinic, now, patient_id, wanted)
    with sessions() as session, pytest.raises(SlotUnavailable) as refused:
        is_bookable(session, demo_clinic, wanted, now=now)
    # Okafor is busy 14:00-14:35: nearest free around 14:00 are 13:15 (ends 13:50 with buffer),
    # 14:45, then 13:00 (13:30 would run into the booked visit with its buffer).
    assert local_times(refused.value.alternatives) == ["Thu 13:15", "Thu 14:45", "Thu 13:00"]


def test_the_plans_cached_days_are_not_walked_by_the_garbage_collector(demo_clinic):
    # A plan keeps thousands of days for the life of the process: as tuples of numbers and
    # strings the collector untracks them; as lists every full collection walked every item.
    import gc

    from scheduler.availability.grid import _plan

    plan = _plan(demo_clinic)
    kind = demo_clinic.appointment_types[0]
    keys = tuple(p.key for p in demo_clinic.providers_for(kind.key))
    monday = date(2026, 3, 2)
    days = [plan.day(kind, keys, monday + timedelta(days=n)) for n in range(7)]
    gc.collect()
    gc.collect()  # a tuple of tuples is let go once its inner tuples have been
    assert any(day.starts for day in days)
    held = [part for day in days for part in (day.starts, day.minutes, day.providers)]
    assert not any(gc.is_tracked(part) for part in held)


@pytest.mark.parametrize("reserving", [False, True], ids=["plain", "reserved-capacity"])
def test_first_free_by_type_finds_what_find_slots_finds_type_by_type(
    sessions, demo_clinic, now, tmp_path, reserving
):
    # The dashboard's next free time per type (one busy-time read per block of days for all
    # types) against find_slots(limit=1) for each, on a calendar filled for days ahead, with
    # and without times kept for urgent patients, for the whole clinic and each provider.
    import random

    from scheduler.availability import first_free_by_type
    from scheduler.clinic_file import load_clinic
    from tests.reserved_support import reserving_clinic_file

    clinic = load_clinic(reserving_clinic_file(tmp_path)) if reserving else demo_clinic
    rng = random.Random(17)
    with sessions.begin() as session:
        for _ in range(160):
            kind = rng.choice(clinic.appointment_types)
            offered = find_slots(session, clinic, kind.key, now=now, limit=4)
            if offered:
                patient = Patient()
                session.add(patient)
                session.flush()
                book(session, clinic, patient_id=patient.id, slot=rng.choice(offered), now=now)
    keys = [kind.key for kind in clinic.appointment_types]
    compared = 0
    for moment in (now, now + timedelta(hours=5), now + timedelta(days=2, minutes=7)):
        for provider in (None, *(p.key for p in clinic.providers)):
            with sessions() as session:
                expected = {}
                for key in keys:
                    try:
                        first = find_slots(
                            session, clinic, key, now=moment, provider_key=provider, limit=1
                        )
                    except NotFound:
                        continue
                    expected[key] = first[0] if first else None
                got = first_free_by_type(session, clinic, keys, now=moment, provider_key=provider)
            assert got == expected, (moment, provider)
            compared += sum(slot is not None for slot in expected.values())
    assert compared > 40  # the calendar left something free to find, most of the time
