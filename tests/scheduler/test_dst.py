"""Daylight-saving days. New York springs forward on Sunday 2026-03-08 (02:00 -> 03:00) and falls
back on Sunday 2026-11-01 (02:00 -> 01:00); Berlin changes on 2026-03-29 and 2026-10-25.

A night clinic that works Sundays 00:00-06:00 puts the change inside working hours: the missing
hour offers nothing, the repeated hour offers each of its instants once, and a visit across the
change lasts its real 30 minutes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from scheduler.availability import Slot, find_slots
from scheduler.booking import book
from scheduler.clinic_file import parse_clinic
from scheduler.clinic_store import install_clinic
from scheduler.db import session_factory
from scheduler.models import Occupancy, Patient

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
SPRING = date(2026, 3, 8)
AUTUMN = date(2026, 11, 1)


def night_clinic(zone: str) -> dict:
    return {
        "clinic": {
            "name": "Night Clinic",
            "phone": "+1 212 555 0199",
            "timezone": zone,
            "slot_step_minutes": 15,
        },
        "providers": [
            {
                "key": "owl",
                "name": "Dr. Owl",
                "specialties": ["general"],
                "hours": {"sun": "00:00-06:00", "mon": "08:00-12:00"},
            }
        ],
        "rooms": [{"key": "exam-1", "name": "Exam Room 1", "kind": "exam"}],
        "appointment_types": [
            {
                "key": "consult",
                "name": "Consultation",
                "duration_minutes": 30,
                "buffer_minutes": 0,
                "specialty": "general",
                "room_kind": "exam",
                "min_notice_hours": 0,
                "max_days_ahead": 365,
            }
        ],
    }


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def clinic_in(engine):
    """Install a night clinic in a zone; return (clinic, session factory)."""

    def install(zone: str):
        clinic = parse_clinic(night_clinic(zone))
        factory = session_factory(engine)
        with factory.begin() as session:
            install_clinic(session, clinic)
            session.add(Patient())
        return clinic, factory

    return install


def day_slots(factory, clinic, day: date, now: datetime) -> list[Slot]:
    with factory() as session:
        return find_slots(
            session, clinic, "consult", now=now, start_date=day, end_date=day, limit=100
        )


def walls(slots: list[Slot], zone: ZoneInfo) -> list[str]:
    return [s.local_start(zone).strftime("%H:%M %Z") for s in slots]


def test_spring_forward_skips_the_missing_hour(clinic_in):
    clinic, factory = clinic_in("America/New_York")
    found = day_slots(factory, clinic, SPRING, now=utc(2026, 3, 1))
    shown = walls(found, NEW_YORK)
    assert shown[:8] == [f"{h:02d}:{m:02d} EST" for h in (0, 1) for m in (0, 15, 30, 45)]
    assert shown[8] == "03:00 EDT" and shown[-1] == "05:30 EDT"
    assert not [w for w in shown if w.startswith("02:")]
    # Five real hours (05:00Z to 10:00Z) on a real 15-minute grid: 19 starts of 30 minutes.
    assert [s.start for s in found] == [
        utc(2026, 3, 8, 5) + timedelta(minutes=15 * i) for i in range(19)
    ]


def test_visit_across_spring_forward_lasts_its_real_duration(clinic_in):
    clinic, factory = clinic_in("America/New_York")
    now = utc(2026, 3, 1)
    across = next(
        s
        for s in day_slots(factory, clinic, SPRING, now)
        if s.local_start(NEW_YORK).strftime("%H:%M") == "01:45"
    )
    assert across.start == utc(2026, 3, 8, 6, 45)
    assert across.end - across.start == timedelta(minutes=30)
    assert across.end.astimezone(NEW_YORK).strftime("%H:%M %Z") == "03:15 EDT"
    with factory.begin() as session:
        appointment = book(session, clinic, patient_id=1, slot=across, now=now)
        held = session.scalar(
            select(func.count())
            .select_from(Occupancy)
            .where(Occupancy.appointment_id == appointment.id)
        )
    assert held == 2 * 6  # provider and room, six 5-minute cells each
    after = walls(day_slots(factory, clinic, SPRING, now), NEW_YORK)
    assert "01:30 EST" not in after and "03:00 EDT" not in after and "03:15 EDT" in after


def test_fall_back_offers_both_instants_of_the_repeated_hour(clinic_in):
    clinic, factory = clinic_in("America/New_York")
    now = utc(2026, 10, 25)
    found = day_slots(factory, clinic, AUTUMN, now)
    starts = [s.start for s in found]
    # Seven real hours, 04:00Z (00:00 EDT) to 11:00Z (06:00 EST): 27 starts, none twice.
    assert starts == [utc(2026, 11, 1, 4) + timedelta(minutes=15 * i) for i in range(27)]
    shown = walls(found, NEW_YORK)
    assert shown.count("01:30 EDT") == 1 and shown.count("01:30 EST") == 1
    first, second = (s for s in found if s.local_start(NEW_YORK).strftime("%H:%M") == "01:30")
    assert (first.start, second.start) == (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30))
    # Booking the first 01:30 leaves the second one free: they are an hour apart.
    with factory.begin() as session:
        book(session, clinic, patient_id=1, slot=first, now=now)
    after = walls(day_slots(factory, clinic, AUTUMN, now), NEW_YORK)
    assert "01:30 EDT" not in after and "01:30 EST" in after and "01:00 EST" in after


def test_visit_across_fall_back_lasts_its_real_duration(clinic_in):
    clinic, factory = clinic_in("America/New_York")
    across = next(
        s
        for s in day_slots(factory, clinic, AUTUMN, utc(2026, 10, 25))
        if s.start == utc(2026, 11, 1, 5, 45)
    )  # 01:45 EDT
    assert across.end == utc(2026, 11, 1, 6, 15)  # 01:15 EST, 30 minutes later
    assert across.end.astimezone(NEW_YORK).strftime("%H:%M %Z") == "01:15 EST"


def test_ordinary_day_hours_follow_the_offset_change(sessions, demo_clinic):
    # Okafor opens at 08:00 local: 13:00Z before the change, 12:00Z after.
    now = utc(2026, 3, 2, 0)
    with sessions() as session:
        before = find_slots(
            session,
            demo_clinic,
            "checkup",
            now=now,
            provider_key="okafor",
            start_date=date(2026, 3, 6),
            limit=1,
        )
        after = find_slots(
            session,
            demo_clinic,
            "checkup",
            now=now,
            provider_key="okafor",
            start_date=date(2026, 3, 9),
            limit=1,
        )
    assert before[0].start == utc(2026, 3, 6, 13) and after[0].start == utc(2026, 3, 9, 12)
    assert [s.local_start(NEW_YORK).hour for s in before + after] == [8, 8]


@pytest.mark.parametrize(
    "first, last", [(date(2026, 3, 2), date(2026, 3, 15)), (date(2026, 10, 26), date(2026, 11, 8))]
)
def test_search_across_the_change_weeks_returns_no_duplicates(sessions, demo_clinic, first, last):
    now = datetime.combine(first - timedelta(days=1), time(12), UTC)
    with sessions() as session:
        found = find_slots(
            session, demo_clinic, "checkup", now=now, start_date=first, end_date=last, limit=2000
        )
    starts = [s.start for s in found]
    assert len(starts) == len(set(starts)) > 300
    assert starts == sorted(starts)
    for s in found:
        local = s.local_start(NEW_YORK)
        assert local.minute % 15 == 0 and 8 <= local.hour < 18
        assert s.end - s.start == timedelta(minutes=30)


def test_a_clinic_in_another_zone_changes_on_its_own_date(clinic_in):
    clinic, factory = clinic_in("Europe/Berlin")
    # New York's change day is an ordinary Sunday in Berlin: six hours, 23 starts, CET throughout.
    us_day = day_slots(factory, clinic, SPRING, now=utc(2026, 3, 1))
    assert len(us_day) == 23 and us_day[0].start == utc(2026, 3, 7, 23)
    assert {s.local_start(BERLIN).tzname() for s in us_day} == {"CET"}
    # Berlin springs forward on 2026-03-29 at 02:00 CET: 02:00-02:45 do not exist.
    spring = day_slots(factory, clinic, date(2026, 3, 29), now=utc(2026, 3, 20))
    shown = walls(spring, BERLIN)
    assert "01:45 CET" in shown and "03:00 CEST" in shown
    assert not [w for w in shown if w.startswith("02:")]
    assert len(spring) == 19  # five real hours, 23:00Z to 04:00Z
    # ...and falls back on 2026-10-25: 02:00-02:45 happen twice.
    autumn = walls(day_slots(factory, clinic, date(2026, 10, 25), now=utc(2026, 10, 20)), BERLIN)
    assert autumn.count("02:30 CEST") == 1 and autumn.count("02:30 CET") == 1
    assert len(autumn) == 27  # seven real hours
    # Monday mornings: 08:00 local is 07:00Z in winter, 06:00Z in summer.
    monday = day_slots(factory, clinic, date(2026, 3, 30), now=utc(2026, 3, 20))
    assert monday[0].start == utc(2026, 3, 30, 6)


def test_changeover_rules_agree_with_ordinary_day_rules(demo_clinic):
    # On a day without a change the real-time rules (used on change days) and the wall-time
    # rules (used on every other day) must offer exactly the same starts.
    from scheduler.availability.grid import _plan

    plan = _plan(demo_clinic)
    for offset in range(0, 380, 3):
        day = date(2026, 1, 5) + timedelta(days=offset)
        if plan.fixed_offset(day) is None:
            continue
        for kind in demo_clinic.appointment_types:
            for provider in demo_clinic.providers:
                if day.weekday() in provider.hours and day not in provider.days_off:
                    assert plan._changeover_day(kind, provider, day) == plan.provider_day(
                        kind, provider, day
                    )
