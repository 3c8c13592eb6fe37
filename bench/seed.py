"""A scaled clinic for the benchmarks: 50 providers, 20 rooms, one shared ultrasound scanner, and
about 100,000 appointments over 90 days, generated from a fixed random seed.

The calendar is filled the way a busy clinic's is: each provider's day is walked from opening,
placing visits of the types they offer (short office and telehealth visits mostly) with free
blocks between them, and a visit that needs a room or the scanner is placed only where one is
free. Rows go in with bulk Core inserts, `Occupancy` cells included, exactly as `book` would
write them, so the benchmarks search and book against a consistent calendar.

`seed_due_reminders` is the other seeding: patients with a reminder due now, for the reminder
benchmark and the worker tests (tests/jobs).

    python -m bench.seed --database-url sqlite:///data/bench.db
"""

from __future__ import annotations

import argparse
import random
import time as clock
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, select, text
from sqlalchemy.engine import make_url

from scheduler.clinic import Clinic
from scheduler.clinic_file import parse_clinic
from scheduler.clinic_store import install_clinic
from scheduler.crypto import Vault
from scheduler.db import make_engine, session_factory, upgrade
from scheduler.models import (
    CELL_MINUTES,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    Occupancy,
    Patient,
    Provider,
    Reminder,
    Resource,
)

SEED = 20260302
FIRST_DAY = date(2026, 3, 2)  # a Monday; the window crosses the spring DST change
DAYS = 90
APPOINTMENTS = 100_000
PATIENTS = 20_000
CELL = CELL_MINUTES * 60

# key: (minutes, buffer, specialty, room kind, equipment, weight among the types a provider offers)
TYPES = {
    "telehealth": (10, 0, "general", None, None, 30),
    "office-visit": (15, 0, "general", None, None, 40),
    "sick-visit": (15, 5, "general", "exam", None, 10),
    "checkup": (30, 5, "general", "exam", None, 8),
    "cardiac-echo": (45, 15, "cardiology", "procedure", "ultrasound", 3),
    "abdominal-ultrasound": (30, 10, "imaging", "exam", "ultrasound", 3),
    "minor-procedure": (30, 10, "procedures", "procedure", None, 5),
}
# The no-overlap guarantee, checked from outside: active appointments of one provider, room or
# piece of equipment that overlap in time (the booking benchmark and the concurrency tests).
OVERLAPS = text("""
    SELECT count(*) FROM appointments a JOIN appointments b ON a.id < b.id
    WHERE a.status IN ('booked', 'arrived') AND b.status IN ('booked', 'arrived')
      AND a.start_at < b.occupied_until AND b.start_at < a.occupied_until
      AND (a.provider_id = b.provider_id OR a.room_id = b.room_id
           OR a.equipment_id = b.equipment_id)
""")

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def scaled_clinic(providers: int = 50, exam_rooms: int = 14, procedure_rooms: int = 6) -> Clinic:
    """The clinic file of the scaled clinic (deterministic: no randomness here)."""
    people = []
    for i in range(providers):
        specialties = ["general"]
        if i % 4 == 0:
            specialties.append("cardiology")
        if i % 7 == 1:
            specialties.append("imaging")
        if i % 5 == 2:
            specialties.append("procedures")
        # Six days of seven, rotating, so the clinic is open every day; two shifts.
        days = [WEEKDAYS[(i + d) % 7] for d in range(6)]
        shift = ("07:00-19:00", "08:00-20:00")[i % 2]
        people.append(
            {
                "key": f"p{i + 1:02d}",
                "name": f"Provider {i + 1}",
                "specialties": specialties,
                "hours": dict.fromkeys(days, shift),
                "breaks": [("12:00-12:45", "13:00-13:45")[i % 2]],
                "days_off": [(FIRST_DAY + timedelta(days=7 * (i % 12) + 3 + i % 3)).isoformat()],
            }
        )
    rooms = [
        {"key": f"exam-{n + 1:02d}", "name": f"Exam {n + 1}", "kind": "exam"}
        for n in range(exam_rooms)
    ] + [
        {"key": f"proc-{n + 1:02d}", "name": f"Procedure {n + 1}", "kind": "procedure"}
        for n in range(procedure_rooms)
    ]
    types = [
        {
            "key": key,
            "name": key.replace("-", " ").title(),
            "duration_minutes": minutes,
            "buffer_minutes": buffer,
            "specialty": specialty,
            **({"room_kind": room} if room else {}),
            **({"equipment": equipment} if equipment else {}),
            "min_notice_hours": 2 if specialty == "general" else 24,
            "max_days_ahead": 120,
        }
        for key, (minutes, buffer, specialty, room, equipment, _) in TYPES.items()
    ]
    return parse_clinic(
        {
            "clinic": {
                "name": "Scaled Bench Clinic",
                "phone": "+1 212 555 0142",
                "timezone": "America/New_York",
                "slot_step_minutes": 15,
            },
            "providers": people,
            "rooms": rooms,
            "equipment": [{"key": "ultrasound", "name": "Ultrasound scanner"}],
            "appointment_types": types,
        }
    )


@dataclass(frozen=True)
class Seeded:
    clinic: Clinic
    appointments: int
    occupancy_rows: int
    seconds: float


def _minutes(value) -> int:
    return value.hour * 60 + value.minute


def _calendar(clinic: Clinic, rng: random.Random, ids: dict[str, dict[str, int]], days: int = DAYS):
    """Yield (provider_id, type_id, room_id, equipment_id, start, end, until) epoch rows."""
    zone: ZoneInfo = clinic.zone
    step = clinic.slot_step_minutes
    held: dict[str, set[int]] = {}
    rooms_of = {
        kind: [r.key for r in clinic.rooms if r.kind == kind]
        for kind in {r.kind for r in clinic.rooms}
    }
    offered = {
        p.key: [t for t in clinic.appointment_types if t.specialty in p.specialties]
        for p in clinic.providers
    }
    for offset in range(days):
        day = FIRST_DAY + timedelta(days=offset)
        for provider in rng.sample(clinic.providers, len(clinic.providers)):
            hours = provider.hours.get(day.weekday())
            if hours is None or day in provider.days_off:
                continue
            kinds = offered[provider.key]
            weights = [TYPES[k.key][5] for k in kinds]
            minute, closing = _minutes(hours.start), _minutes(hours.end)
            breaks = [(_minutes(b.start), _minutes(b.end)) for b in provider.breaks]
            while minute < closing:
                if rng.random() < 0.12:  # a free block of 15 to 60 minutes
                    minute += step * rng.randint(1, 4)
                    continue
                kind = rng.choices(kinds, weights)[0]
                end = minute + kind.duration_minutes
                if end > closing or any(minute < b1 and b0 < end for b0, b1 in breaks):
                    minute += step
                    continue
                local = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(
                    minutes=minute
                )
                start = int(local.timestamp())
                until = start + (kind.duration_minutes + kind.buffer_minutes) * 60
                span = set(range(start // CELL, -(-until // CELL)))
                room = None
                if kind.room_kind:
                    free = [r for r in rooms_of[kind.room_kind] if not span & held.get(r, set())]
                    room = rng.choice(free) if free else None
                if (kind.room_kind and room is None) or (
                    kind.equipment and span & held.get(kind.equipment, set())
                ):
                    minute += step
                    continue
                for resource in (room, kind.equipment):
                    if resource:
                        held.setdefault(resource, set()).update(span)
                yield (
                    ids["providers"][provider.key],
                    ids["types"][kind.key],
                    ids["resources"].get(room),
                    ids["resources"].get(kind.equipment),
                    start,
                    start + kind.duration_minutes * 60,
                    until,
                )
                minute += -(-(kind.duration_minutes + kind.buffer_minutes) // step) * step


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def reset(url: str) -> None:
    """An empty, migrated database at `url` (its previous contents are dropped)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            for suffix in ("", "-wal", "-shm"):
                Path(parsed.database + suffix).unlink(missing_ok=True)
    else:
        admin = make_engine(
            parsed.set(database="postgres").render_as_string(False), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            )
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)


def install(engine: Engine, clinic: Clinic, patients: int = PATIENTS) -> dict[str, dict[str, int]]:
    """The clinic and `patients` patients; return the ids of providers, resources and types."""
    factory = session_factory(engine)
    with factory.begin() as session:
        install_clinic(session, clinic)
    with engine.begin() as connection:
        connection.execute(insert(Patient), [{"id": i + 1} for i in range(patients)])
    with engine.connect() as connection:
        return {
            name: dict(connection.execute(select(model.key, model.id)).all())
            for name, model in (
                ("providers", Provider),
                ("resources", Resource),
                ("types", AppointmentType),
            )
        }


def seed(
    url: str, *, appointments: int = APPOINTMENTS, random_seed: int = SEED, days: int = DAYS
) -> Seeded:
    """Reset the database at `url` and fill it with the scaled clinic's calendar (its first
    `days` days: the benchmarks' smoke modes fill a few)."""
    began = clock.perf_counter()
    reset(url)
    clinic = scaled_clinic()
    engine = make_engine(url)
    ids = install(engine, clinic)
    rng = random.Random(random_seed)
    rows = list(_calendar(clinic, rng, ids, days))
    if len(rows) < appointments:
        raise RuntimeError(f"the scaled clinic only fits {len(rows)} appointments")
    # Drop a random surplus: cancellations leave holes in a real calendar too.
    rows = sorted(rng.sample(rows, appointments), key=lambda row: row[4])
    booked_at = _utc(int(datetime(2026, 2, 1, tzinfo=UTC).timestamp()))
    appointment_rows, occupancy_rows = [], []
    for number, (provider, kind, room, equipment, start, end, until) in enumerate(rows, 1):
        appointment_rows.append(
            {
                "id": number,
                "patient_id": rng.randint(1, PATIENTS),
                "provider_id": provider,
                "type_id": kind,
                "room_id": room,
                "equipment_id": equipment,
                "start_at": _utc(start),
                "end_at": _utc(end),
                "occupied_until": _utc(until),
                "status": AppointmentStatus.BOOKED,
                "booked_via": "seed",
                "created_at": booked_at,
                "updated_at": booked_at,
            }
        )
        holders = [f"provider:{provider}"] + [f"resource:{r}" for r in (room, equipment) if r]
        occupancy_rows.extend(
            {"holder": holder, "cell": cell, "appointment_id": number}
            for holder in holders
            for cell in range(start // CELL, -(-until // CELL))
        )
    with engine.begin() as connection:
        for chunk in range(0, len(appointment_rows), 20_000):
            connection.execute(insert(Appointment), appointment_rows[chunk : chunk + 20_000])
        for chunk in range(0, len(occupancy_rows), 50_000):
            connection.execute(insert(Occupancy), occupancy_rows[chunk : chunk + 50_000])
        if engine.dialect.name == "postgresql":
            connection.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('appointments', 'id'),"
                    " (SELECT max(id) FROM appointments))"
                )
            )
    # As autovacuum leaves a table that has settled (statistics, and on PostgreSQL the visibility
    # map): otherwise autovacuum starts on the fresh 100,000 rows in the middle of a measurement.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(
            text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
        )
    engine.dispose()
    return Seeded(clinic, len(appointment_rows), len(occupancy_rows), clock.perf_counter() - began)


def seed_due_reminders(sessions, vault: Vault, count: int) -> None:
    """`count` patients, each with one appointment tomorrow and one reminder due a minute ago
    (into a database where a clinic is installed)."""
    now = datetime.now(UTC)
    with sessions.begin() as db:
        provider = db.scalars(select(Provider.id)).first()
        kind = db.scalars(select(AppointmentType.id)).first()
        db.execute(
            insert(Patient),
            [
                {
                    "id": 10_000 + i,
                    "phone_index": vault.index(f"+1212555{i:04d}"),
                    "phone_enc": vault.encrypt(f"+1212555{i:04d}"),
                    "created_at": now,
                    "consented_at": now,
                }
                for i in range(count)
            ],
        )
        start = now + timedelta(days=1)
        db.execute(
            insert(Appointment),
            [
                {
                    "id": 10_000 + i,
                    "patient_id": 10_000 + i,
                    "provider_id": provider,
                    "type_id": kind,
                    "start_at": start,
                    "end_at": start + timedelta(minutes=30),
                    "occupied_until": start + timedelta(minutes=30),
                    "status": "booked",
                    "booked_via": "test",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(count)
            ],
        )
        db.execute(
            insert(Reminder),
            [
                {
                    "kind": "reminder",
                    "appointment_id": 10_000 + i,
                    "patient_id": 10_000 + i,
                    "due_at": now - timedelta(minutes=1),
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                }
                for i in range(count)
            ],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="sqlite:///data/bench.db")
    parser.add_argument("--appointments", type=int, default=APPOINTMENTS)
    args = parser.parse_args()
    seeded = seed(args.database_url, appointments=args.appointments)
    print(
        f"seeded {seeded.appointments} appointments, {seeded.occupancy_rows} occupancy rows "
        f"in {seeded.seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
