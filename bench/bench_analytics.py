"""Benchmark: the whole analytics dashboard (`scheduler.analytics.dashboard`) for its busiest 90
days over 100,000 appointments and 300,000 reminders, on SQLite and on PostgreSQL.

Target (the issue): p95 under 300 ms on each database, reported beside the time of one plain
`SELECT COUNT(*)` over the same tables in the same run (the baseline: what merely touching every
row of `appointments` and of `reminders` costs there).

The database (bulk Core inserts, not the booking functions: this is a read benchmark, so visits
may overlap) holds the demo clinic (scheduler/demo_clinic.toml: 4 providers, 3 rooms, the
scanner, 5 types) and, from a fixed random seed:
- 2,000 patients;
- 100,000 appointments whose visits start between 700 days before `NOW` and 30 days after it,
  more each month (the clinic grows 1 -> 2.5x over the two years), each on its provider's
  working hours (15-minute grid, breaks and days off kept) with its type's length and room or
  scanner; booked 30 minutes to 30 days ahead (most a few days), through sms, web, portal, slack
  or api. Past visits are fulfilled, no-shows, cancelled (`cancelled_at` between booking and
  visit) or left unmarked; future ones booked or cancelled; some carry a reminder answer (C, R,
  X). 1,500 of them refill a cancelled visit's time through the waitlist;
- 300,000 reminders (kind "reminder", 72 h, 24 h and 2 h before each visit): sent, failed,
  cancelled, or pending when due after `NOW`; an `sms_messages` row (kind "reminder", mostly
  delivered) for about half the sent ones;
- waitlist entries and offers (slot_key "provider@iso"): per freed time 1 to 3 offers, two hours
  each, expired or declined, the last accepted (that entry booked, the offer's appointment the
  refill) or still offered;
- 200,000 `engine_turns` (bedrock and local, fallbacks and errors, tokens, outcomes), grouped in
  conversations of one to twelve turns.

Measured, each in a fresh session as one request would be: `dashboard()` for the busiest 90 days
(`--runs` after `--warmup`), one `SELECT COUNT(*) FROM appointments` and one over `reminders`
(p50 of `--runs`); on SQLite, how long a writer waits for the lock beside the dashboard
(`writers_beside`); each section of scheduler/analytics alone (the per-section
breakdown, interleaved round by round); then the slowest section's statements re-run one by one
with their plans (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite).

    .venv/bin/python bench/bench_analytics.py                    # SQLite file, then PostgreSQL
    .venv/bin/python bench/bench_analytics.py --only sqlite --runs 10
    .venv/bin/python bench/bench_analytics.py --smoke             # 2,000 appointments, seconds
    .venv/bin/python bench/bench_analytics.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_analytics

The PostgreSQL database (default `bench_analytics` on 127.0.0.1) is dropped and created again.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import statistics
import sys
import tempfile
import threading
import time as clock
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app import settle_heap
from bench.machine import machine
from bench.smoke import private_database
from bench.statements import statements_sent
from scheduler.analytics import SECTIONS, Filters, dashboard, read
from scheduler.analytics.period import Period
from scheduler.clinic import Clinic
from scheduler.clinic_file import load_clinic
from scheduler.clinic_store import install_clinic
from scheduler.db import make_engine, reader_factory, session_factory, upgrade
from scheduler.models import (
    Appointment,
    AppointmentType,
    EngineTurn,
    Patient,
    Provider,
    Reminder,
    Resource,
    SmsMessage,
    WaitlistEntry,
    WaitlistOffer,
)
from scheduler.urgency import RANK

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_analytics"
SEED = 20261207
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York
HISTORY_DAYS, AHEAD_DAYS = 700, 30  # visits start from NOW - 700 days to NOW + 30 days
GROWTH = 1.5  # the last day is 1 + GROWTH times as busy as the first
RANGE_DAYS = 90
APPOINTMENTS = 100_000
REFILLS = 1_500  # of the appointments: cancelled times refilled from the waitlist
UNFILLED = 1_500  # cancelled times offered to the waitlist and not refilled
WAITING = 2_000  # waitlist entries without an offer (waiting, removed)
PATIENTS = 2_000
TURNS = 200_000
OFFSETS = (timedelta(hours=72), timedelta(hours=24), timedelta(hours=2))  # 3 x 100,000 reminders
TARGET_MS = 300.0
SMOKE = False  # --smoke: the sizes above made small, the target not judged

TYPE_WEIGHTS = {
    "checkup": 30,
    "sick-visit": 30,
    "vaccination": 15,
    "cardiac-echo": 10,
    "abdominal-ultrasound": 15,
}
BOOKED_VIA = {"sms": 40, "web": 20, "portal": 15, "api": 15, "slack": 10}
TURN_CHANNELS = {"sms": 55, "web": 20, "portal": 15, "slack": 10}
MIN_LEAD, MAX_LEAD = 1_800, 30 * 86_400  # seconds from booking to visit


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def figures(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 0.5):7.1f} ms   p95 {percentile(values, 0.95):7.1f} ms   "
        f"max {max(values):7.1f} ms"
    )


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


# --- the data ---------------------------------------------------------------------------------


class Visit:
    """One appointment as generated, before it has an id."""

    __slots__ = (
        "answer",
        "booked_via",
        "cancelled_at",
        "created_at",
        "end",
        "equipment",
        "id",
        "patient",
        "provider",
        "room",
        "start",
        "status",
        "type",
        "until",
    )

    def row(self, ids: dict[str, dict[str, int]]) -> dict[str, Any]:
        marked = self.status in ("fulfilled", "noshow") and self.end < NOW
        return {
            "id": self.id,
            "patient_id": self.patient,
            "provider_id": ids["providers"][self.provider],
            "type_id": ids["types"][self.type],
            "room_id": ids["resources"][self.room] if self.room else None,
            "equipment_id": ids["resources"][self.equipment] if self.equipment else None,
            "start_at": self.start,
            "end_at": self.end,
            "occupied_until": self.until,
            "status": self.status,
            "booked_via": self.booked_via,
            "reminder_answer": self.answer,
            "created_at": self.created_at,
            "updated_at": self.cancelled_at or (self.end if marked else self.created_at),
            "cancelled_at": self.cancelled_at,
        }


@dataclass
class Built:
    counts: dict[str, int]
    first: date  # the busiest RANGE_DAYS days, clinic-local
    last: date
    in_range: int  # appointments whose visit starts in first..last
    seconds: float


class Calendar:
    """Where visits can go: per clinic-local day, the providers working it, and per provider and
    weekday the (type, start minute) pairs that fit their hours, weighted so that the types come
    in TYPE_WEIGHTS's proportions whatever number of starts each has."""

    def __init__(self, clinic: Clinic, first: date, last: date):
        self.clinic = clinic
        self.types = {t.key: t for t in clinic.appointment_types}
        self.rooms = {
            kind: [r.key for r in clinic.rooms if r.kind == kind]
            for kind in {r.kind for r in clinic.rooms}
        }
        self.starts: dict[tuple[str, int], tuple[list[tuple[str, int]], list[float]]] = {}
        for provider in clinic.providers:
            offered = [t for t in clinic.appointment_types if t.specialty in provider.specialties]
            breaks = [(_minutes(b.start), _minutes(b.end)) for b in provider.breaks]
            for weekday, hours in provider.hours.items():
                pairs, weights = [], []
                for kind in offered:
                    fits = [
                        minute
                        for minute in range(
                            _minutes(hours.start),
                            _minutes(hours.end) - kind.duration_minutes + 1,
                            clinic.slot_step_minutes,
                        )
                        if not any(
                            minute < b1 and b0 < minute + kind.duration_minutes for b0, b1 in breaks
                        )
                    ]
                    pairs += [(kind.key, minute) for minute in fits]
                    weights += [TYPE_WEIGHTS[kind.key] / len(fits)] * len(fits)
                self.starts[(provider.key, weekday)] = (pairs, list(_cumulative(weights)))
        self.days: list[date] = []
        self.working: list[tuple[list[str], list[float]]] = []
        day_weights = []
        span = (last - first).days
        day = first
        while day <= last:
            who = [
                (
                    p.key,
                    _minutes(p.hours[day.weekday()].end) - _minutes(p.hours[day.weekday()].start),
                )
                for p in clinic.providers
                if day.weekday() in p.hours and day not in p.days_off
            ]
            if who:
                self.days.append(day)
                self.working.append(([k for k, _ in who], list(_cumulative([m for _, m in who]))))
                day_weights.append(
                    (1 + GROWTH * (day - first).days / span) * sum(m for _, m in who)
                )
            day += timedelta(days=1)
        self.day_weights = list(_cumulative(day_weights))

    def visit(self, rng: random.Random) -> Visit:
        index = bisect_left(self.day_weights, rng.random() * self.day_weights[-1])
        day = self.days[index]
        keys, weights = self.working[index]
        provider = keys[bisect_left(weights, rng.random() * weights[-1])]
        pairs, weights = self.starts[(provider, day.weekday())]
        type_key, minute = pairs[bisect_left(weights, rng.random() * weights[-1])]
        kind = self.types[type_key]
        local = datetime(day.year, day.month, day.day, tzinfo=self.clinic.zone) + timedelta(
            minutes=minute
        )
        visit = Visit()
        visit.provider, visit.type = provider, type_key
        visit.start = local.astimezone(UTC)
        visit.end = visit.start + timedelta(minutes=kind.duration_minutes)
        visit.until = visit.end + timedelta(minutes=kind.buffer_minutes)
        visit.room = rng.choice(self.rooms[kind.room_kind]) if kind.room_kind else None
        visit.equipment = kind.equipment
        return visit


def _minutes(value: Any) -> int:
    return value.hour * 60 + value.minute


def _cumulative(values: list[float]) -> Any:
    total = 0.0
    for value in values:
        total += value
        yield total


def _appointments(calendar: Calendar, rng: random.Random) -> list[Visit]:
    """APPOINTMENTS - REFILLS visits (the refills come with the waitlist)."""
    found: list[Visit] = []
    while len(found) < APPOINTMENTS - REFILLS:
        visit = calendar.visit(rng)
        lead = MIN_LEAD + (MAX_LEAD - MIN_LEAD) * rng.random() ** 2
        visit.created_at = visit.start - timedelta(seconds=lead)
        if visit.created_at > NOW:  # not booked yet: the far future is thinner
            continue
        visit.patient = rng.randint(1, PATIENTS)
        visit.booked_via = _pick(rng, BOOKED_VIA)
        visit.cancelled_at, visit.answer = None, None
        r = rng.random()
        if visit.start < NOW:
            visit.status = (
                "cancelled"
                if r < 0.11
                else "noshow"
                if r < 0.18
                else "booked"  # never marked
                if r < 0.19
                else "fulfilled"
            )
        else:
            visit.status = "cancelled" if r < 0.06 else "booked"
        if visit.status == "cancelled":
            until = min(visit.start, NOW)
            visit.cancelled_at = visit.created_at + (until - visit.created_at) * rng.random()
            if rng.random() < 0.3:
                visit.answer = "X"
        elif visit.start - OFFSETS[1] < NOW:  # the day-before reminder has gone out
            a = rng.random()
            visit.answer = "C" if a < 0.45 else "R" if a < 0.49 else None
        found.append(visit)
    return found


def _waitlist(
    visits_: list[Visit], rng: random.Random
) -> tuple[list[Visit], list[dict[str, Any]], list[tuple[dict[str, Any], Visit | None]]]:
    """Refill visits, waitlist entries, and offers (each with the refill it made, if any)."""
    freed = [
        v
        for v in visits_
        if v.status == "cancelled"
        and v.cancelled_at is not None
        and v.start - v.cancelled_at > timedelta(hours=8)
    ]
    rng.shuffle(freed)
    refills: list[Visit] = []
    entries: list[dict[str, Any]] = []
    offers: list[tuple[dict[str, Any], Visit | None]] = []

    def entry(patient: int, type_key: str, at: datetime, status: str) -> dict[str, Any]:
        urgent = rng.random() < 0.25
        row = {
            "id": len(entries) + 1,
            "patient_id": patient,
            "type_key": type_key,
            "provider_key": None,
            "priority": "urgent" if urgent else "routine",
            "priority_rank": RANK["urgent" if urgent else "routine"],
            "status": status,
            "created_by": rng.choice(("patient", "staff:desk")),
            "created_at": at,
            "appointment_id": None,
        }
        entries.append(row)
        return row

    filled_ones = [v for v in freed if v.cancelled_at < NOW - timedelta(hours=8)][:REFILLS]
    taken = set(map(id, filled_ones))
    unfilled = [v for v in freed if id(v) not in taken][:UNFILLED]
    for visit, refill in [(v, True) for v in filled_ones] + [(v, False) for v in unfilled]:
        key = f"{visit.provider}@{visit.start.isoformat()}"
        slot = {
            "type": visit.type,
            "provider": visit.provider,
            "start": visit.start.isoformat(),
            "end": visit.end.isoformat(),
            "room": visit.room,
            "equipment": visit.equipment,
        }
        count = rng.choices((1, 2, 3), (60, 30, 10))[0]
        at = visit.cancelled_at + timedelta(minutes=rng.uniform(1, 5))
        for n in range(count):
            if at > NOW:
                break
            patient = rng.randint(1, PATIENTS)
            waited = timedelta(hours=rng.uniform(1, 21 * 24))
            last = n == count - 1
            owner = entry(patient, visit.type, at - waited, "waiting")
            offer = {
                "entry_id": owner["id"],
                "patient_id": patient,
                "slot_key": key,
                "slot": slot,
                "status": "expired",
                "offered_at": at,
                "expires_at": at + timedelta(hours=2),
                "answered_at": None,
                "appointment_id": None,
            }
            made = None
            if last and refill:
                answered = at + timedelta(minutes=rng.uniform(1, 110))
                made = Visit()
                for name in ("provider", "type", "start", "end", "until", "room", "equipment"):
                    setattr(made, name, getattr(visit, name))
                made.patient, made.booked_via, made.created_at = patient, "sms", answered
                made.cancelled_at, made.answer = None, None
                if made.start < NOW:
                    made.status = "noshow" if rng.random() < 0.1 else "fulfilled"
                else:
                    made.status = "booked"
                refills.append(made)
                offer |= {"status": "accepted", "answered_at": answered}
                owner["status"] = "booked"
            elif offer["expires_at"] > NOW:
                offer["status"] = "offered"
            elif rng.random() < 0.3:
                offer |= {
                    "status": "declined",
                    "answered_at": at + timedelta(minutes=rng.uniform(2, 100)),
                }
            offers.append((offer, made))
            at = offer["expires_at"]
    first = NOW - timedelta(days=HISTORY_DAYS)
    for _ in range(WAITING):
        at = first + (NOW - first) * rng.random()
        entry(
            rng.randint(1, PATIENTS),
            _pick(rng, TYPE_WEIGHTS),
            at,
            "waiting" if at > NOW - timedelta(days=30) else "removed",
        )
    return refills, entries, offers


def _reminders(visits_: list[Visit], rng: random.Random) -> tuple[list[dict], list[dict]]:
    reminders, texts = [], []
    for visit in visits_:
        for offset in OFFSETS:
            due = min(
                max(visit.start - offset, visit.created_at + timedelta(minutes=5)),
                visit.start - timedelta(minutes=1),
            )
            cancelled = visit.cancelled_at is not None and visit.cancelled_at <= min(due, NOW)
            sent_at, error = None, None
            if cancelled:
                status = "cancelled"
            elif due >= NOW:
                status = "pending"
            elif rng.random() < 0.04:
                status, error = "failed", "30003"
            else:
                status, sent_at = "sent", due + timedelta(seconds=rng.uniform(1, 30))
            reminders.append(
                {
                    "kind": "reminder",
                    "appointment_id": visit.id,
                    "patient_id": visit.patient,
                    "due_at": due,
                    "status": status,
                    "attempts": 0 if status in ("pending", "cancelled") else 1,
                    "sent_at": sent_at,
                    "last_error_code": error,
                    "created_at": visit.created_at,
                }
            )
            if sent_at is not None and rng.random() < 0.55:
                delivered = rng.random() < 0.97
                texts.append(
                    {
                        "message_sid": f"SM{len(texts):032x}",
                        "patient_id": visit.patient,
                        "kind": "reminder",
                        "status": "delivered" if delivered else "undelivered",
                        "status_rank": 5 if delivered else 4,
                        "error_code": None if delivered else 30003,
                        "created_at": sent_at,
                        "updated_at": sent_at + timedelta(seconds=rng.uniform(2, 60)),
                    }
                )
    return reminders, texts


def _turns(calendar: Calendar, rng: random.Random) -> list[dict[str, Any]]:
    """TURNS engine turns in conversations of 1 to 12 turns, on days weighted like visits."""
    rows: list[dict[str, Any]] = []
    zone = calendar.clinic.zone
    conversation = 0
    while len(rows) < TURNS:
        index = bisect_left(calendar.day_weights, rng.random() * calendar.day_weights[-1])
        day = calendar.days[index]
        at = datetime(day.year, day.month, day.day, 7, tzinfo=zone).astimezone(UTC)
        at += timedelta(seconds=rng.uniform(0, 15 * 3600))
        if at > NOW:
            continue
        conversation += 1
        digest = hashlib.sha256(f"bench:{conversation}".encode()).hexdigest()[:16]
        channel = _pick(rng, TURN_CHANNELS)
        count = 1 + min(int(rng.expovariate(1 / 3)), 11)
        end = rng.random()
        closing = (
            "booked"
            if end < 0.35
            else "handoff"
            if end < 0.40
            else "cancelled"
            if end < 0.43
            else "rescheduled"
            if end < 0.46
            else None
        )
        for n in range(count):
            r = rng.random()
            if r < 0.03:  # the model failed or was cooling down: the local engine stood in
                engine, fallback, error = "local", True, rng.choice(("throttled", "timeout"))
                latency = 2_000 + rng.lognormvariate(math.log(8), 0.6)
            elif r < 0.80:
                engine, fallback, error = "bedrock", False, None
                latency = rng.lognormvariate(math.log(900), 0.5)
            else:
                engine, fallback, error = "local", False, None
                latency = rng.lognormvariate(math.log(6), 0.6)
            on_model = engine == "bedrock"
            rows.append(
                {
                    "at": at,
                    "day": at.astimezone(zone).date(),
                    "channel": channel,
                    "engine": engine,
                    "fallback": fallback,
                    "error": error,
                    "latency_ms": round(latency, 2),
                    "model_calls": rng.randint(1, 3) if on_model else int(fallback),
                    "input_tokens": rng.randint(1_500, 4_000) if on_model else 0,
                    "output_tokens": rng.randint(40, 400) if on_model else 0,
                    "conversation": digest,
                    "outcome": closing if n == count - 1 else None,
                }
            )
            at += timedelta(seconds=rng.uniform(20, 180))
    rows.sort(key=lambda row: row["at"])
    return rows[:TURNS]


def fresh_database(url: str) -> None:
    """An empty, migrated database at `url` (SQLite: a new file; PostgreSQL: dropped, created)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        admin = make_engine(
            parsed.set(database="postgres").render_as_string(False), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()
    upgrade(url)


def _insert(connection: Any, model: Any, rows: list[dict[str, Any]], chunk: int = 100_000) -> None:
    for start in range(0, len(rows), chunk):
        connection.execute(insert(model), rows[start : start + chunk])


def build(url: str, clinic: Clinic) -> Built:
    """The benchmark's database at `url` (created afresh), ANALYZEd (VACUUMed on PostgreSQL)."""
    began = clock.perf_counter()
    fresh_database(url)
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        install_clinic(session, clinic)
    with engine.connect() as connection:
        ids = {
            name: dict(connection.execute(select(model.key, model.id)).all())
            for name, model in (
                ("providers", Provider),
                ("resources", Resource),
                ("types", AppointmentType),
            )
        }
    rng = random.Random(SEED)
    first_day = (NOW - timedelta(days=HISTORY_DAYS)).astimezone(clinic.zone).date()
    calendar = Calendar(clinic, first_day, first_day + timedelta(days=HISTORY_DAYS + AHEAD_DAYS))
    plain = _appointments(calendar, rng)
    refills, entries, offers = _waitlist(plain, rng)
    everything = sorted(plain + refills, key=lambda v: v.created_at)  # ids in booking order
    for number, visit in enumerate(everything, 1):
        visit.id = number
    for offer, made in offers:
        if made is not None:
            offer["appointment_id"] = made.id
            entries[offer["entry_id"] - 1]["appointment_id"] = made.id
    reminders, texts = _reminders(everything, rng)
    reminders.sort(key=lambda row: row["created_at"])
    texts.sort(key=lambda row: row["created_at"])
    engine_turns = _turns(calendar, rng)
    with engine.begin() as connection:
        _insert(
            connection,
            Patient,
            [
                {"id": i + 1, "created_at": NOW - timedelta(days=HISTORY_DAYS)}
                for i in range(PATIENTS)
            ],
        )
        _insert(connection, Appointment, [visit.row(ids) for visit in everything])
        _insert(connection, Reminder, reminders)
        _insert(connection, SmsMessage, texts)
        _insert(connection, WaitlistEntry, entries)
        _insert(connection, WaitlistOffer, [offer for offer, _ in offers])
        _insert(connection, EngineTurn, engine_turns)
        if engine.dialect.name == "postgresql":
            for table in ("patients", "appointments", "waitlist_entries"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" (SELECT max(id) FROM {table}))"
                    )
                )
    if engine.dialect.name == "postgresql":  # as autovacuum leaves a table: visibility map too
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    engine.dispose()
    # The busiest RANGE_DAYS clinic-local days by visits starting in them.
    per_day = Counter(visit.start.astimezone(clinic.zone).date() for visit in everything)
    days = [calendar.days[0] + timedelta(days=n) for n in range(HISTORY_DAYS + AHEAD_DAYS + 2)]
    totals = [per_day.get(day, 0) for day in days]
    best, window = 0, sum(totals[:RANGE_DAYS])
    most = window
    for n in range(1, len(days) - RANGE_DAYS + 1):
        window += totals[n + RANGE_DAYS - 1] - totals[n - 1]
        if window > most:
            best, most = n, window
    counts = {
        "patients": PATIENTS,
        "appointments": len(everything),
        "reminders": len(reminders),
        "sms_messages": len(texts),
        "waitlist_entries": len(entries),
        "waitlist_offers": len(offers),
        "engine_turns": len(engine_turns),
    }
    return Built(
        counts,
        days[best],
        days[best + RANGE_DAYS - 1],
        most,
        clock.perf_counter() - began,
    )


# --- the measurements -------------------------------------------------------------------------


def elapsed(work: Callable[[], Any]) -> float:
    """Milliseconds of `work()`."""
    began = clock.perf_counter()
    work()
    return (clock.perf_counter() - began) * 1000


def timed(sessions: Any, work: Callable[[Session], Any]) -> float:
    """Milliseconds of `work` in a fresh session (checkout, the work, rollback, close)."""

    def session() -> None:
        with sessions() as db:
            work(db)

    return elapsed(session)


def plan(connection: Any, statement: str, parameters: Any) -> list[str]:
    if connection.dialect.name == "postgresql":
        rows = connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
        ).all()
        return [row[0] for row in rows]
    rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    depth: dict[int, int] = {0: 0}
    lines = []
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, 0) + 1
        lines.append("  " * (depth[node] - 1) + detail)
    return lines


def measure(url: str, label: str, clinic: Clinic, runs: int, warmup: int, explain: bool) -> str:
    """Build, measure and print; return the one-line summary."""
    built = build(url, clinic)
    engine = make_engine(url)
    sessions, readers = session_factory(engine), reader_factory(engine)
    settle_heap()  # as the web worker that serves the dashboard does (deploy/gunicorn.conf.py)
    with engine.connect() as connection:
        version = connection.exec_driver_sql(
            "SELECT sqlite_version()" if engine.dialect.name == "sqlite" else "SHOW server_version"
        ).scalar()

    with sessions() as db:
        period = Period.checked(db, clinic, built.first, built.last, Filters())
        in_range = db.scalar(
            select(text("count(*)")).select_from(Appointment).where(*period.visits())
        )
        due = db.scalar(
            select(text("count(*)")).select_from(Reminder).where(period.within(Reminder.due_at))
        )
        turned = db.scalar(
            select(text("count(*)"))
            .select_from(EngineTurn)
            .where(EngineTurn.day.between(period.first, period.last))
        )
    assert in_range == built.in_range, (in_range, built.in_range)
    counts = ", ".join(f"{n:,} {name}" for name, n in built.counts.items())
    print(f"\n[{label} {version}] built in {built.seconds:.1f} s: {counts}")
    print(
        f"range {built.first}..{built.last} (the busiest {RANGE_DAYS} days; now = "
        f"{NOW.astimezone(clinic.zone):%Y-%m-%d %H:%M} local): {in_range:,} appointments "
        f"({in_range / built.counts['appointments']:.1%}), {due:,} reminders due, "
        f"{turned:,} engine turns"
    )

    def whole() -> Any:
        return dashboard(readers, clinic, built.first, built.last, Filters(), now=NOW)

    def count(table: str) -> Callable[[Session], Any]:
        return lambda db: db.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()

    for _ in range(warmup):
        elapsed(whole)
        timed(sessions, count("appointments"))
        timed(sessions, count("reminders"))
    board, appointments_ms, reminders_ms = [], [], []
    for _ in range(runs):  # interleaved, so that a burst of load hits all three alike
        board.append(elapsed(whole))
        appointments_ms.append(timed(sessions, count("appointments")))
        reminders_ms.append(timed(sessions, count("reminders")))
    p95 = percentile(board, 0.95)
    base_a, base_r = percentile(appointments_ms, 0.5), percentile(reminders_ms, 0.5)
    print(f"dashboard(), {runs} runs after {warmup} warm-up, a fresh session each:")
    print(f"  {figures(board)}   target p95 < {TARGET_MS:.0f} ms: {verdict(p95)}")
    print(
        f"  baseline, same run (p50 of {runs}): SELECT COUNT(*) FROM appointments "
        f"{base_a:.2f} ms, FROM reminders {base_r:.2f} ms"
    )
    print(
        f"  ratio: dashboard p95 / (count appointments + count reminders) = "
        f"{p95 / (base_a + base_r):.1f}x ({p95:.1f} / {base_a + base_r:.2f} ms)"
    )
    waits = whole()["next_available"]
    print(
        "  next_available from now: "
        + ", ".join(
            f"{w['appointment_type']} "
            + ("none" if w["wait_minutes"] is None else f"{w['wait_minutes'] / 1440:.1f} d")
            for w in waits
        )
    )

    if engine.dialect.name == "sqlite":
        writers_beside(sessions, readers, clinic, built, runs)

    # Each section alone, in a fresh read-only session as the dashboard reads it, round by round.
    def section(name: str) -> Callable[[], Any]:
        return lambda: read(readers, name, clinic, period, NOW)

    for name in SECTIONS:
        elapsed(section(name))
    alone: dict[str, list[float]] = {name: [] for name in SECTIONS}
    for _ in range(runs):
        for name in SECTIONS:
            alone[name].append(elapsed(section(name)))
    statements: dict[str, list[tuple[str, Any]]] = {}
    for name in SECTIONS:
        with statements_sent(engine) as found:
            section(name)()
        statements[name] = [(sql, values) for sql, values in found if not sql.startswith("SET ")]
    total = sum(percentile(values, 0.5) for values in alone.values())
    print(f"per section (each alone, {runs} runs; sum of the p50s {total:.1f} ms), slowest first:")
    ranked = sorted(alone, key=lambda name: -percentile(alone[name], 0.5))
    for name in ranked:
        p50 = percentile(alone[name], 0.5)
        print(
            f"  {name:<24} p50 {p50:7.1f} ms   p95 {percentile(alone[name], 0.95):7.1f} ms   "
            f"{p50 / total:5.1%}   {len(statements[name]):3d} statements"
        )

    # The slowest section's statements, each re-run alone (fetch included), with its plan.
    slowest = ranked[0]
    print(f"{slowest}: its statements, each re-run alone (median of 5, rows fetched):")
    with engine.connect() as connection:
        rerun = []
        for statement, parameters in statements[slowest]:
            times = []
            for _ in range(5):
                began = clock.perf_counter()
                connection.exec_driver_sql(statement, parameters).all()
                times.append((clock.perf_counter() - began) * 1000)
            rerun.append((statistics.median(times), statement, parameters))
        shown = sorted(rerun, key=lambda item: -item[0])
        for ms, statement, _ in shown[:8]:
            print(f"  {ms:7.2f} ms  {' '.join(statement.split())[:110]}")
        if len(shown) > 8:
            rest = sum(ms for ms, _, _ in shown[8:])
            print(f"  {rest:7.2f} ms  ... {len(shown) - 8} more statements")
        for ms, statement, parameters in shown[: len(shown) if explain else 1]:
            print(f"  plan of the {ms:.2f} ms statement:")
            print("\n".join(f"    {line}" for line in plan(connection, statement, parameters)))
        connection.rollback()
    engine.dispose()
    return (
        f"{label}: dashboard p95 {p95:.1f} ms (p50 {percentile(board, 0.5):.1f}), "
        f"{p95 / (base_a + base_r):.1f}x the two COUNT(*) ({base_a + base_r:.2f} ms); "
        f"target p95 < {TARGET_MS:.0f} ms {verdict(p95)}; "
        f"slowest section {slowest}"
    )


def _smoke_sizes() -> None:
    """A clinic fifty times smaller, for `--smoke` (tests/test_bench.py): seconds, not minutes."""
    global APPOINTMENTS, REFILLS, UNFILLED, WAITING, PATIENTS, TURNS, SMOKE
    APPOINTMENTS, REFILLS, UNFILLED, WAITING, PATIENTS, TURNS = 2_000, 30, 30, 40, 100, 4_000
    SMOKE = True


def writers_beside(sessions: Any, readers: Any, clinic: Clinic, built: Built, runs: int) -> None:
    """SQLite: how long a small write transaction waits for the writer lock while dashboards
    are read, in read-only sessions (as served) and, for comparison, in ordinary ones (BEGIN
    IMMEDIATE, as before session 12), `runs` dashboards each, back to back."""

    def write(stop: threading.Event, waits: list[float]) -> None:
        while not stop.is_set():
            began = clock.perf_counter()
            with sessions.begin() as db:
                db.execute(text("SELECT 1"))  # BEGIN IMMEDIATE first: the writer lock
                waits.append((clock.perf_counter() - began) * 1000)
            clock.sleep(0.005)

    for label, factory in (("read-only sessions", readers), ("ordinary sessions", sessions)):
        stop, waits = threading.Event(), []
        writer = threading.Thread(target=write, args=(stop, waits))
        writer.start()
        try:
            for _ in range(runs):
                dashboard(factory, clinic, built.first, built.last, Filters(), now=NOW)
        finally:
            stop.set()
            writer.join()
        print(
            f"  a writer beside the dashboard ({label}): {len(waits)} transactions, wait for "
            f"the lock p50 {percentile(waits, 0.5):.2f} ms, p95 {percentile(waits, 0.95):.2f} "
            f"ms, max {max(waits):.2f} ms"
        )


def verdict(p95: float) -> str:
    if SMOKE:
        return "not judged at the smoke size"
    return "met" if p95 < TARGET_MS else "MISSED"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=DEFAULT_URL, help="a PostgreSQL database it may drop"
    )
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--explain", action="store_true", help="plans of every statement of the slowest section"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="2,000 appointments, 3 runs, PostgreSQL on a database of its own (no target)",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        _smoke_sizes()
        args.runs, args.warmup = 3, 1
    clinic = load_clinic(None)
    print(f"{machine()}; the demo clinic")
    summaries = []
    with ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        if args.only != "postgresql":
            url = f"sqlite:///{Path(folder) / 'analytics.db'}"
            summaries.append(measure(url, "SQLite", clinic, args.runs, args.warmup, args.explain))
        if args.only != "sqlite":
            postgres = args.database_url
            if args.smoke:
                postgres = stack.enter_context(private_database(postgres))
            summaries.append(
                measure(postgres, "PostgreSQL", clinic, args.runs, args.warmup, args.explain)
            )
    print(f"\nsummary (at the end: {machine()}):")
    print("\n".join(f"  {line}" for line in summaries))


if __name__ == "__main__":
    main()
