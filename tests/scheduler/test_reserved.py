"""Capacity kept for urgent patients (the clinic file's `[[reserved]]`), on SQLite and PostgreSQL.

The clinic is the demo's with one rule: each provider who offers a sick visit keeps two same-day
and one next-day sick-visit times a day, released two hours ahead. The clock is Wednesday
2026-03-04 09:00 in New York (sick visits need an hour's notice: from 10:00). Worked by hand from
demo_clinic.toml (sick visit 20 minutes + 5 buffer, so the day tiles every 30 minutes):

    Okafor  Wed/Thu 08:00-17:00, break 12-13: 16 tiles, kept 09:00 (next-day), 13:00, 15:30
    Moreau  Wed/Thu 08:00-16:00, break 12:00-12:30: 15 tiles, kept 09:00 (next-day), 11:30, 14:30
    Lindqvist  Thu 09:00-18:00, break 13-14: 16 tiles, kept 10:00 (next-day), 14:00, 16:30
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.audit.trail import AuditTrail
from bot.tools import Caller, SchedulingTools
from scheduler import waitlist
from scheduler.availability import Slot, find_slots, held_for_urgent, is_bookable
from scheduler.booking import book, cancel, reschedule
from scheduler.clinic_file import DEMO_CLINIC, ClinicConfigError, parse_clinic
from scheduler.clinic_store import install_clinic, installed_clinic
from scheduler.db import make_engine, session_factory
from scheduler.errors import SchedulingError, SlotUnavailable
from scheduler.models import Appointment, Occupancy, Patient
from scheduler.patients import find_or_create_patient

NEW_YORK = ZoneInfo("America/New_York")
WEDNESDAY, THURSDAY = date(2026, 3, 4), date(2026, 3, 5)
RULE = {"appointment_type": "sick-visit", "same_day": 2, "next_day": 1, "release_hours": 2}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


def sick_visit(provider: str, start: datetime) -> Slot:
    return Slot("sick-visit", provider, start, start + timedelta(minutes=20), None, None)


def times(slots: list[Slot]) -> list[str]:
    return [f"{s.local_start(NEW_YORK):%a %H:%M} {s.provider_key}" for s in slots]


def raw_clinic(*rules: dict) -> dict:
    with open(DEMO_CLINIC, "rb") as handle:
        data = tomllib.load(handle)
    data["reserved"] = [dict(rule) for rule in rules]
    return data


@pytest.fixture(scope="module")
def clinic():
    return parse_clinic(raw_clinic(RULE))


@pytest.fixture
def db(database_url, clinic):
    """A session factory with the reserving clinic installed and patients 1 and 2."""
    engine = make_engine(database_url)
    factory = session_factory(engine)
    with factory.begin() as session:
        install_clinic(session, clinic)
        session.add_all([Patient(), Patient()])
    yield factory
    engine.dispose()


def test_the_reserved_times_are_evenly_spread_grid_starts_that_bookings_never_move(db, clinic, now):
    kept = {
        provider: [
            datetime.fromtimestamp(start, NEW_YORK).strftime("%H:%M")
            for start, _ in held_for_urgent(clinic, provider, THURSDAY, now=now)
        ]
        for provider in ("okafor", "moreau", "lindqvist", "tanaka")
    }
    assert kept == {
        "okafor": ["09:00", "13:00", "15:30"],
        "moreau": ["09:00", "11:30", "14:30"],
        "lindqvist": ["10:00", "14:00", "16:30"],
        "tanaka": [],  # offers no sick visit
    }
    with db.begin() as session:
        book(session, clinic, patient_id=1, slot=sick_visit("okafor", at(THURSDAY, 8)), now=now)
    assert [s for s, _ in held_for_urgent(clinic, "okafor", THURSDAY, now=now)] == [
        int(at(THURSDAY, h, m).timestamp()) for h, m in ((9, 0), (13, 0), (15, 30))
    ]
    with db() as session:  # the installed file keeps the rule
        assert installed_clinic(session).reserved == clinic.reserved


def test_a_routine_search_never_sees_a_reserved_time_before_its_release(db, clinic, now):
    with db() as session:
        today = times(
            find_slots(session, clinic, "sick-visit", now=now, provider_key="okafor", limit=40)
        )
        soon = times(
            find_slots(
                session,
                clinic,
                "sick-visit",
                now=now,
                provider_key="okafor",
                limit=40,
                urgency="soon",
            )
        )
    assert today == soon
    for shown in ("10:00", "13:30", "15:00", "16:00"):
        assert f"Wed {shown} okafor" in today
    # 13:00 and 15:30 are kept, and so is every start whose visit would reach into them.
    for hidden in ("13:00", "13:15", "15:15", "15:30", "15:45"):
        assert f"Wed {hidden} okafor" not in today


def test_a_reserved_time_becomes_an_ordinary_time_release_hours_before_it_starts(db, clinic):
    just_before = at(WEDNESDAY, 10, 59)
    released = at(WEDNESDAY, 11, 0)  # 13:00 - 2 hours
    with db() as session:
        before = times(
            find_slots(
                session, clinic, "sick-visit", now=just_before, provider_key="okafor", limit=40
            )
        )
        after = times(
            find_slots(session, clinic, "sick-visit", now=released, provider_key="okafor", limit=40)
        )
        assert "Wed 13:00 okafor" not in before
        assert "Wed 13:00 okafor" in after and "Wed 15:30 okafor" not in after
        is_bookable(session, clinic, sick_visit("okafor", at(WEDNESDAY, 13)), now=released)


def test_an_urgent_search_gets_the_same_day_reserved_times_first(db, clinic, now):
    with db() as session:
        urgent = find_slots(session, clinic, "sick-visit", now=now, limit=7, urgency="urgent")
        routine = find_slots(session, clinic, "sick-visit", now=now, limit=3)
    # Earliest reserved first (today's next-day ones at 09:00 have passed; tomorrow's are open
    # to an urgent patient today), then the ordinary times.
    assert times(urgent) == [
        "Wed 11:30 moreau",
        "Wed 13:00 okafor",
        "Wed 14:30 moreau",
        "Wed 15:30 okafor",
        "Thu 09:00 okafor",
        "Thu 10:00 lindqvist",
        "Wed 10:00 okafor",
    ]
    assert times(routine) == ["Wed 10:00 okafor", "Wed 10:15 okafor", "Wed 10:30 okafor"]


def test_next_day_reserved_times_are_open_to_urgent_patients_the_day_before(db, clinic, now):
    with db() as session:
        urgent = find_slots(
            session, clinic, "sick-visit", now=now, start_date=THURSDAY, urgency="urgent"
        )
        # Thursday's same-day times stay kept for Thursday's urgent patients.
        all_lindqvist = times(
            find_slots(
                session,
                clinic,
                "sick-visit",
                now=now,
                start_date=THURSDAY,
                end_date=THURSDAY,
                provider_key="lindqvist",
                limit=40,
                urgency="urgent",
            )
        )
        routine = times(
            find_slots(
                session,
                clinic,
                "sick-visit",
                now=now,
                start_date=THURSDAY,
                provider_key="okafor",
                limit=5,
            )
        )
    assert times(urgent) == ["Thu 09:00 okafor", "Thu 10:00 lindqvist", "Thu 08:00 okafor"]
    assert "Thu 14:00 lindqvist" not in all_lindqvist and "Thu 14:30 lindqvist" in all_lindqvist
    ordinary = ["08:00", "08:15", "08:30", "09:30", "09:45"]  # 09:00 kept: no 08:45 to 09:15
    assert routine == [f"Thu {t} okafor" for t in ordinary]
    # Two days ahead nothing reserved is open yet, even to an urgent patient.
    with db() as session:
        later = find_slots(
            session,
            clinic,
            "sick-visit",
            now=now - timedelta(days=1),
            start_date=THURSDAY,
            provider_key="okafor",
            limit=5,
            urgency="urgent",
        )
    assert times(later) == routine


def test_booking_a_reserved_time_as_routine_is_refused_and_stores_nothing(db, clinic, now):
    reserved = sick_visit("okafor", at(WEDNESDAY, 13))
    overlapping = sick_visit("okafor", at(WEDNESDAY, 13, 15))
    for slot in (reserved, overlapping):
        for level in ("routine", "soon"):
            with db.begin() as session, pytest.raises(SlotUnavailable) as refused:
                book(session, clinic, patient_id=1, slot=slot, now=now, urgency=level)
            assert refused.value.code == "reserved"
            assert refused.value.alternatives
            offered = {s.start for s in refused.value.alternatives}
            assert offered.isdisjoint({at(WEDNESDAY, 13), at(WEDNESDAY, 15, 30)})
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Appointment)) == 0
        assert session.scalar(select(func.count()).select_from(Occupancy)) == 0


def test_an_urgent_booking_takes_a_reserved_time_and_a_move_into_one_is_refused(db, clinic, now):
    reserved = sick_visit("okafor", at(WEDNESDAY, 13))
    with db.begin() as session:
        appointment = book(session, clinic, patient_id=1, slot=reserved, now=now, urgency="urgent")
        assert appointment.start_at == at(WEDNESDAY, 13)
        routine = book(
            session, clinic, patient_id=2, slot=sick_visit("okafor", at(WEDNESDAY, 14)), now=now
        )
    with db() as session:
        urgent = times(find_slots(session, clinic, "sick-visit", now=now, urgency="urgent"))
        assert urgent[:2] == ["Wed 11:30 moreau", "Wed 14:30 moreau"]
    with db.begin() as session, pytest.raises(SlotUnavailable) as refused:
        reschedule(
            session, clinic, routine.id, sick_visit("okafor", at(WEDNESDAY, 15, 30)), now=now
        )
    assert refused.value.code == "reserved"
    with db.begin() as session:
        moved = reschedule(
            session,
            clinic,
            routine.id,
            sick_visit("okafor", at(WEDNESDAY, 15, 30)),
            now=now,
            urgency="urgent",
        )
        assert moved.start_at == at(WEDNESDAY, 15, 30)


def test_an_urgent_booking_of_a_same_day_time_the_day_before_is_refused(db, clinic, now):
    with db.begin() as session, pytest.raises(SlotUnavailable) as refused:
        book(
            session,
            clinic,
            patient_id=1,
            slot=sick_visit("okafor", at(THURSDAY, 13)),
            now=now,
            urgency="urgent",
        )
    assert refused.value.code == "reserved"


def test_an_unknown_urgency_is_refused(db, clinic, now):
    with db() as session:
        with pytest.raises(SchedulingError, match="urgency"):
            find_slots(session, clinic, "sick-visit", now=now, urgency="whenever")
        with pytest.raises(SchedulingError, match="urgency"):
            is_bookable(
                session,
                clinic,
                sick_visit("okafor", at(WEDNESDAY, 13)),
                now=now,
                urgency="emergency",
            )


def test_the_tools_book_reserved_time_for_triaged_patients_and_for_staff_who_say_so(
    db, clinic, now, vault
):
    reserved = sick_visit("okafor", at(WEDNESDAY, 13))

    def tools(session, caller: Caller) -> SchedulingTools:
        return SchedulingTools(session, clinic, AuditTrail(vault), caller, now)

    with db.begin() as session:
        patient = tools(session, Caller(role="patient", channel="sms", patient_id=1))
        with pytest.raises(SlotUnavailable):
            patient.book_appointment(reserved, urgency="urgent")  # a patient's wish is not triage
        staff = tools(session, Caller(role="staff", channel="slack", staff_id="U1"))
        assert (
            times(staff.find_slots("sick-visit", provider_key="okafor", limit=40)).count(
                "Wed 13:00 okafor"
            )
            == 0
        )
        with pytest.raises(SlotUnavailable):
            staff.book_appointment(reserved, patient_id=2)
        assert times(staff.find_slots("sick-visit", urgency="urgent"))[0] == "Wed 11:30 moreau"
        staff.book_appointment(reserved, patient_id=2, urgency="urgent")
    with db.begin() as session:
        triaged = tools(
            session, Caller(role="patient", channel="sms", patient_id=1, urgency="urgent")
        )
        assert times(triaged.find_slots("sick-visit"))[0] == "Wed 11:30 moreau"
        triaged.book_appointment(sick_visit("moreau", at(WEDNESDAY, 11, 30)))


@pytest.mark.parametrize(
    ("rule", "field", "words"),
    [
        ({"provider": "nobody", "same_day": 1}, "reserved[0].provider", "no provider"),
        ({"appointment_type": "x-ray", "same_day": 1}, "reserved[0].appointment_type", "no app"),
        ({"same_day": 1}, "reserved[0]", "name a provider"),
        ({"provider": "okafor", "same_day": -1}, "reserved[0].same_day", "whole number"),
        ({"provider": "okafor", "next_day": 1.5}, "reserved[0].next_day", "whole number"),
        ({"provider": "okafor", "same_day": 21}, "reserved[0].same_day", "0 to 20"),
        ({"provider": "okafor"}, "reserved[0]", "keeps nothing"),
        (
            {"provider": "okafor", "same_day": 1, "release_hours": 25},
            "reserved[0].release_hours",
            "0 to 24",
        ),
        (
            {"provider": "okafor", "same_day": 1, "release_hours": -1},
            "reserved[0].release_hours",
            "0 to 24",
        ),
        (
            {"provider": "okafor", "same_day": 1, "release_hours": "2h"},
            "reserved[0].release_hours",
            "0 to 24",
        ),
        (
            {"provider": "tanaka", "appointment_type": "sick-visit", "same_day": 1},
            "reserved[0]",
            "does not offer",
        ),
        ({"provider": "okafor", "same-day": 1}, "reserved[0].same-day", "not a field"),
    ],
)
def test_a_bad_reserved_table_is_refused_naming_its_field(rule, field, words):
    with pytest.raises(ClinicConfigError) as refused:
        parse_clinic(raw_clinic(rule))
    assert any(e.startswith(f"{field}:") and words in e for e in refused.value.errors), (
        refused.value.errors
    )


def test_two_rules_for_one_provider_and_type_are_refused_and_a_table_is_required():
    with pytest.raises(ClinicConfigError, match=r"reserved\[1\]: covers provider 'okafor'"):
        parse_clinic(raw_clinic(RULE, {"provider": "okafor", "next_day": 1}))
    data = raw_clinic()
    data["reserved"] = {"provider": "okafor"}
    with pytest.raises(ClinicConfigError, match=r"reserved: must be a list of tables"):
        parse_clinic(data)
    data = raw_clinic(RULE, {"provider": "tanaka", "same_day": 1})
    assert [r.provider for r in parse_clinic(data).reserved] == [None, "tanaka"]


def test_a_freed_reserved_time_is_offered_to_urgent_waiting_patients_only(db, clinic, now, vault):
    reserved = sick_visit("okafor", at(WEDNESDAY, 13))
    with db.begin() as session:
        routine, urgent = (
            find_or_create_patient(session, vault, phone, now=now)
            for phone in ("+12125550151", "+12125550152")
        )
        session.flush()
        booked = book(session, clinic, patient_id=1, slot=reserved, now=now, urgency="urgent")
        for patient, level, waited in ((routine, "routine", 60), (urgent, "urgent", 5)):
            waitlist.join(
                session,
                clinic,
                patient_id=patient.id,
                type_key="sick-visit",
                now=now - timedelta(minutes=waited),
                created_by="staff:test",
                priority=level,
            )
        routine_id, urgent_id = routine.id, urgent.id
    with db.begin() as session:
        freed = cancel(session, booked.id, now=now)
        offers = waitlist.offer_freed_slot(session, clinic, Slot.of(freed), now=now)
        assert [o.patient_id for o in offers] == [urgent_id]
    # An ordinary freed time goes to both, the urgent entry first.
    with db.begin() as session:
        ordinary = book(
            session, clinic, patient_id=1, slot=sick_visit("okafor", at(WEDNESDAY, 14)), now=now
        )
    with db.begin() as session:
        freed = cancel(session, ordinary.id, now=now)
        offers = waitlist.offer_freed_slot(session, clinic, Slot.of(freed), now=now)
        assert [o.patient_id for o in offers] == [urgent_id, routine_id]
