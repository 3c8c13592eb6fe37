"""The dashboard's figures (scheduler/analytics) against a generated history whose answers this
test computes on its own, in Python, from what it generated: on SQLite and PostgreSQL, over a
range that crosses the spring daylight-saving change (New York, 2026-03-08).

The history is booked through scheduler.booking (real slots, real cancellations and attendance);
reminders, deliveries, waitlist offers and engine turns are rows written directly with known
times. The expected figures never call scheduler/analytics."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler import analytics
from scheduler.analytics import AnalyticsRequestError, Filters
from scheduler.availability import find_slots
from scheduler.booking import book, cancel, record_attendance
from scheduler.clinic_store import install_clinic
from scheduler.db import make_engine, reader_factory, session_factory
from scheduler.errors import SchedulingError
from scheduler.models import (
    Appointment,
    EngineTurn,
    Patient,
    Reminder,
    SmsMessage,
    WaitlistEntry,
    WaitlistOffer,
)
from scheduler.urgency import RANK

NEW_YORK = ZoneInfo("America/New_York")
FIRST, LAST = date(2026, 3, 2), date(2026, 3, 20)  # Monday to Friday, DST starts on the 8th
NOW = datetime(2026, 3, 25, 16, 0, tzinfo=UTC)
CHANNELS = ["sms", "web", "slack", "api", "portal"]


def local(moment: datetime) -> datetime:
    return moment.astimezone(NEW_YORK)


def in_range(moment: datetime) -> bool:
    return FIRST <= local(moment).date() <= LAST


def nearest_rank(values: list[float], point: int) -> float | None:
    """The smallest value with at least `point` percent of the values at or below it."""
    ordered = sorted(values)
    for rank, value in enumerate(ordered, start=1):
        if rank * 100 >= len(ordered) * point:
            return value
    return None


@dataclass
class Visit:
    id: int
    provider: str
    room: str | None
    equipment: str | None
    start: datetime
    end: datetime
    created: datetime
    via: str
    status: str = "booked"
    cancelled: datetime | None = None
    answer: str | None = None
    reminded: bool = False


def generate(factory, clinic) -> dict:
    """A seeded history from five days before the range to five after; returns what it made."""
    rng = random.Random(20260302)
    visits: list[Visit] = []
    with factory.begin() as db:
        install_clinic(db, clinic)
        patients = [Patient() for _ in range(12)]
        db.add_all(patients)
        db.flush()
        day = FIRST - timedelta(days=5)
        while day <= LAST + timedelta(days=5):
            for kind in clinic.appointment_types:
                for _ in range(rng.randint(1, 3)):
                    made = datetime.combine(day, time(7), NEW_YORK) - timedelta(
                        days=rng.randint(1, 9), minutes=rng.randint(0, 600)
                    )
                    slots = find_slots(
                        db, clinic, kind.key, now=made, start_date=day, end_date=day, limit=12
                    )
                    if not slots:
                        continue
                    slot = rng.choice(slots)
                    via = rng.choice(CHANNELS)
                    try:
                        with db.begin_nested():
                            appointment = book(
                                db,
                                clinic,
                                patient_id=rng.choice(patients).id,
                                slot=slot,
                                now=made,
                                booked_via=via,
                            )
                    except SchedulingError:
                        continue
                    visits.append(
                        Visit(
                            appointment.id,
                            slot.provider_key,
                            appointment.room.key if appointment.room else None,
                            appointment.equipment.key if appointment.equipment else None,
                            appointment.start_at,
                            appointment.end_at,
                            made,
                            via,
                        )
                    )
            day += timedelta(days=1)
        for visit in visits:
            roll = rng.random()
            if roll < 0.15:
                visit.cancelled = visit.start - timedelta(hours=rng.choice([2, 10, 30, 70]))
                cancel(db, visit.id, now=max(visit.cancelled, visit.created + timedelta(minutes=1)))
                visit.cancelled = max(visit.cancelled, visit.created + timedelta(minutes=1))
                visit.status = "cancelled"
            elif visit.end < NOW and roll < 0.9:
                visit.status = "noshow" if rng.random() < 0.2 else "fulfilled"
                record_attendance(db, visit.id, visit.status, now=visit.end + timedelta(hours=1))
            if rng.random() < 0.5:
                visit.answer = rng.choice("CCCRX")
                db.get(Appointment, visit.id).reminder_answer = visit.answer
            if visit.status != "cancelled" and rng.random() < 0.7:
                visit.reminded = True
        reminders = []
        for visit in visits:
            status = "sent" if visit.reminded else rng.choice(["failed", "cancelled"])
            due = visit.start - timedelta(hours=24)
            reminders.append((due, status))
            db.add(
                Reminder(
                    appointment_id=visit.id,
                    patient_id=patients[0].id,
                    due_at=due,
                    status=status,
                    sent_at=due if status == "sent" else None,
                )
            )
        deliveries = []
        for n, (due, status) in enumerate(reminders):
            if status == "sent" and n % 3:
                deliveries.append(due + timedelta(minutes=1))
                db.add(
                    SmsMessage(
                        message_sid=f"SM{n:032d}",
                        kind="reminder",
                        status="delivered",
                        created_at=due,
                        updated_at=due + timedelta(minutes=1),
                    )
                )
        offers = waitlist_history(db, rng, visits, patients)
        turns = engine_history(db, rng)
    return {"visits": visits, "reminders": reminders, "deliveries": deliveries, **offers, **turns}


def waitlist_history(db, rng, visits, patients) -> dict:
    """Three offers per freed time of the cancelled visits; some freed times filled by one of
    them, the refill booked as a visit of the history (its id, its minutes)."""
    freed = [v for v in visits if v.status == "cancelled"]
    made, fills, won_back = [], [], 0
    refills = [v for v in visits if v.status in ("booked", "fulfilled", "noshow")]
    entries = {}
    for priority in ("urgent", "routine"):
        entry = WaitlistEntry(
            patient_id=patients[1].id,
            type_key="checkup",
            priority=priority,
            priority_rank=RANK[priority],
            status="waiting",
            created_by="tests",
            created_at=NOW - timedelta(days=40),
        )
        db.add(entry)
        entries[priority] = entry
    db.flush()
    for n, visit in enumerate(freed):
        key = f"{visit.provider}@{visit.start.isoformat()}"
        first = visit.cancelled
        filled = n % 2 == 0 and refills
        for k in range(3):
            offered = first + timedelta(minutes=20 * k)
            accepted = filled and k == 1
            refill = refills.pop() if accepted else None
            answered = offered + timedelta(minutes=rng.randint(1, 14)) if accepted else None
            db.add(
                WaitlistOffer(
                    entry_id=entries["urgent" if n % 3 else "routine"].id,
                    patient_id=patients[1].id,
                    slot_key=key,
                    slot={},
                    status="accepted" if accepted else ("expired" if k == 0 else "taken"),
                    offered_at=offered,
                    expires_at=offered + timedelta(minutes=15),
                    answered_at=answered,
                    appointment_id=refill.id if refill else None,
                )
            )
            made.append((key, offered, answered, refill))
            if accepted:
                fills.append((key, (answered - first).total_seconds() / 60))
                won_back += (refill.end - refill.start).total_seconds() / 60
    return {"offers": made, "fills": fills, "won_back": won_back}


def engine_history(db, rng) -> dict:
    turns = []
    moment = datetime.combine(FIRST - timedelta(days=2), time(8), NEW_YORK)
    while moment < datetime.combine(LAST + timedelta(days=3), time(8), NEW_YORK):
        engine = rng.choice(["bedrock", "bedrock", "local"])
        fallback = engine == "local" and rng.random() < 0.3
        row = dict(
            at=moment.astimezone(UTC),
            day=moment.date(),  # the clinic-local date, as the engine writes it
            channel=rng.choice(["sms", "web"]),
            engine=engine,
            fallback=fallback,
            error="ThrottlingException" if fallback else None,
            latency_ms=round(rng.lognormvariate(6.5, 0.6), 1),
            model_calls=1 if engine == "bedrock" else 0,
            input_tokens=rng.randint(800, 2400) if engine == "bedrock" else 0,
            output_tokens=rng.randint(30, 200) if engine == "bedrock" else 0,
            conversation=f"{rng.randint(0, 30):016x}",
            outcome=rng.choice([None, None, None, "booked", "handoff"]),
        )
        db.add(EngineTurn(**row))
        turns.append(row)
        moment += timedelta(minutes=rng.randint(20, 170))
    return {"turns": turns}


@pytest.fixture
def history(database_url, demo_clinic):
    engine = make_engine(database_url)
    factory = session_factory(engine)
    made = generate(factory, demo_clinic)
    figures = analytics.dashboard(
        reader_factory(engine), demo_clinic, FIRST, LAST, Filters(), now=NOW
    )
    yield made, figures, factory
    engine.dispose()


HOLDING = ("booked", "fulfilled", "noshow")


def test_appointments_no_shows_and_lead_times(history):
    made, figures, _ = history
    visits = [v for v in made["visits"] if in_range(v.start)]
    assert len(visits) > 40  # the history is big enough to mean something
    status = Counter(v.status for v in visits)
    unmarked = sum(1 for v in visits if v.status == "booked" and v.end < NOW - timedelta(days=1))
    assert figures["appointments"] == {
        "booked": status["booked"],
        "cancelled": status["cancelled"],
        "fulfilled": status["fulfilled"],
        "noshow": status["noshow"],
        "unmarked": unmarked,
        "total": len(visits),
    }
    assert unmarked > 0 and status["noshow"] > 0
    assert figures["no_show_rate"] == round(
        status["noshow"] / (status["noshow"] + status["fulfilled"]), 4
    )
    late = [v for v in visits if v.cancelled and v.start - v.cancelled < timedelta(hours=24)]
    assert figures["late_cancellations"] == len(late) > 0
    leads = [(v.start - v.created).total_seconds() for v in visits]
    assert figures["lead_time_days"] == {
        "p50": round(nearest_rank(leads, 50) / 86400, 2),
        "p90": round(nearest_rank(leads, 90) / 86400, 2),
    }
    weeks = defaultdict(Counter)
    for v in visits:
        day = local(v.start).date()
        weeks[day - timedelta(days=day.weekday())][v.status] += 1
    assert [(w["week"], w["fulfilled"], w["noshow"]) for w in figures["no_show_trend"]] == [
        (week.isoformat(), c["fulfilled"], c["noshow"]) for week, c in sorted(weeks.items())
    ]
    made_in_range = Counter(v.via for v in made["visits"] if in_range(v.created))
    assert figures["channels"] == dict(sorted(made_in_range.items()))


def open_minutes(clinic, provider_key: str) -> dict[date, int]:
    """A provider's open minutes per day, counted minute by minute from the clinic file."""
    provider = clinic.provider(provider_key)
    found = {}
    day = FIRST
    while day <= LAST:
        span = provider.hours.get(day.weekday())
        if span is not None and day not in provider.days_off:
            minutes = set()
            moment = datetime.combine(day, span.start)
            while moment.time() < span.end:
                if not any(b.start <= moment.time() < b.end for b in provider.breaks):
                    minutes.add(moment)
                moment += timedelta(minutes=1)
            found[day] = len(minutes)
        day += timedelta(days=1)
    return found


def test_utilisation_by_holder_day_and_hour_of_week(history, demo_clinic):
    made, figures, _ = history
    holding = [v for v in made["visits"] if in_range(v.start) and v.status in HOLDING]
    # The providers: booked minutes over open minutes, in all and per day.
    for provider in demo_clinic.providers:
        mine = [v for v in holding if v.provider == provider.key]
        expected_open = open_minutes(demo_clinic, provider.key)
        (entry,) = [u for u in figures["utilisation"] if u["id"] == provider.key]
        booked = sum((v.end - v.start).total_seconds() / 60 for v in mine)
        assert entry["kind"] == "provider"
        assert (entry["booked_minutes"], entry["open_minutes"]) == (
            booked,
            sum(expected_open.values()),
        )
        days = {
            d["date"]: (d["booked_minutes"], d["open_minutes"])
            for d in figures["utilisation_by_day"]
            if d["id"] == provider.key
        }
        per_day = Counter()
        for v in mine:
            per_day[local(v.start).date()] += (v.end - v.start).total_seconds() / 60
        for day, minutes in expected_open.items():
            assert days[day.isoformat()] == (per_day[day], minutes)
    # Rooms and equipment: booked minutes of the visits that used them.
    for kind, attribute in (("room", "room"), ("equipment", "equipment")):
        for entry in (u for u in figures["utilisation"] if u["kind"] == kind):
            assert entry["booked_minutes"] == sum(
                (v.end - v.start).total_seconds() / 60
                for v in holding
                if getattr(v, attribute) == entry["id"]
            )
    assert any(u["kind"] == "room" and u["booked_minutes"] for u in figures["utilisation"])
    # The heat map: each visit's minutes in each local clock hour it spans.
    hours = Counter()
    for v in holding:
        moment = local(v.start)
        while moment < local(v.end):
            hours[(moment.weekday(), moment.hour)] += 1
            moment += timedelta(minutes=1)
    heat = {(c["weekday"], c["hour"]): c["booked_minutes"] for c in figures["heatmap"]}
    assert {k: v for k, v in heat.items() if v} == dict(hours)
    assert any(c["open_minutes"] and not c["booked_minutes"] for c in figures["heatmap"])


def test_reminders_and_waitlist(history):
    made, figures, _ = history
    visits = [v for v in made["visits"] if in_range(v.start)]
    due = [status for when, status in made["reminders"] if in_range(when)]
    answers = Counter(v.answer for v in visits)

    def rate(group):
        marked = [v for v in group if v.status in ("fulfilled", "noshow")]
        noshows = [v for v in marked if v.status == "noshow"]
        return round(len(noshows) / len(marked), 4) if marked else None

    assert figures["reminders"] == {
        "sent": due.count("sent"),
        "delivered": sum(1 for when in made["deliveries"] if in_range(when)),
        "failed": due.count("failed"),
        "confirmed": answers["C"],
        "rescheduled_by_reply": answers["R"],
        "cancelled_by_reply": answers["X"],
        "no_show_rate_reminded": rate([v for v in visits if v.reminded]),
        "no_show_rate_not_reminded": rate([v for v in visits if not v.reminded]),
    }
    offers = [o for o in made["offers"] if in_range(o[1])]
    keys = {o[0] for o in offers}
    filled = {o[0] for o in offers if o[2] is not None}
    fills = [minutes for key, minutes in made["fills"] if key in keys]
    won = sum(
        (o[3].end - o[3].start).total_seconds() / 60
        for o in offers
        if o[3] is not None and o[3].status in HOLDING
    )
    assert figures["waitlist"] == {
        "offers": len(offers),
        "freed_times": len(keys),
        "filled": len(filled),
        "fill_rate": round(len(filled) / len(keys), 4),
        "median_minutes_to_fill": round(nearest_rank(fills, 50), 1),
        "minutes_won_back": round(won),
    }
    assert figures["waitlist"]["filled"] > 0


def test_conversations_and_the_language_engine(history):
    made, figures, _ = history
    turns = [t for t in made["turns"] if in_range(t["at"])]
    by_conversation = defaultdict(list)
    for t in turns:
        by_conversation[t["conversation"]].append(t)
    booked = [c for c in by_conversation.values() if any(t["outcome"] == "booked" for t in c)]
    assert figures["conversations"] == {
        "total": len(by_conversation),
        "ended_in_booking": len(booked),
        "booking_rate": round(len(booked) / len(by_conversation), 4),
        "turns_per_booking": round(sum(len(c) for c in booked) / len(booked), 2),
        "handoffs": sum(
            1 for c in by_conversation.values() if any(t["outcome"] == "handoff" for t in c)
        ),
    }
    latency = [t["latency_ms"] for t in turns]
    llm = figures["llm"]
    assert (llm["turns"], llm["bedrock_turns"], llm["local_turns"]) == (
        len(turns),
        sum(t["engine"] == "bedrock" for t in turns),
        sum(t["engine"] == "local" for t in turns),
    )
    assert (llm["fallbacks"], llm["errors"]) == (
        sum(t["fallback"] for t in turns),
        sum(t["error"] is not None for t in turns),
    )
    assert (llm["latency_ms_p50"], llm["latency_ms_p95"]) == (
        round(nearest_rank(latency, 50), 1),
        round(nearest_rank(latency, 95), 1),
    )
    assert llm["input_tokens"] == sum(t["input_tokens"] for t in turns)
    assert llm["output_tokens"] == sum(t["output_tokens"] for t in turns)
    bedrock = [t["latency_ms"] for t in turns if t["engine"] == "bedrock"]
    assert llm["by_engine"]["bedrock"]["latency_ms_p95"] == round(nearest_rank(bedrock, 95), 1)
    per_day = Counter(local(t["at"]).date().isoformat() for t in turns if t["engine"] == "local")
    assert {d["date"]: d["local"] for d in llm["by_day"]} == {
        d: per_day.get(d, 0) for d in {local(t["at"]).date().isoformat() for t in turns}
    }


def test_filters_narrow_the_figures(history, demo_clinic):
    made, _, factory = history
    provider = demo_clinic.providers[0].key
    mine = analytics.dashboard(
        factory, demo_clinic, FIRST, LAST, Filters(provider=provider, channel="sms"), now=NOW
    )
    visits = [
        v for v in made["visits"] if in_range(v.start) and v.provider == provider and v.via == "sms"
    ]
    assert mine["appointments"]["total"] == len(visits)
    assert [u["id"] for u in mine["utilisation"] if u["kind"] == "provider"] == [provider]
    assert mine["llm"]["turns"] == sum(
        1 for t in made["turns"] if in_range(t["at"]) and t["channel"] == "sms"
    )


def test_an_empty_clinic_is_zeros_and_nothing_divided_by_zero(database_url, demo_clinic):
    engine = make_engine(database_url)
    factory = session_factory(engine)
    with factory.begin() as db:
        install_clinic(db, demo_clinic)
    figures = analytics.dashboard(
        reader_factory(engine), demo_clinic, FIRST, LAST, Filters(), now=NOW
    )
    engine.dispose()
    assert figures["appointments"]["total"] == 0
    assert figures["no_show_rate"] is None and figures["lead_time_days"] == {
        "p50": None,
        "p90": None,
    }
    assert all(u["booked_minutes"] == 0 and u["rate"] == 0 for u in figures["utilisation"])
    assert figures["waitlist"]["fill_rate"] is None
    assert figures["llm"]["turns"] == 0 and figures["llm"]["latency_ms_p95"] is None
    assert figures["conversations"]["turns_per_booking"] is None
    assert {n["appointment_type"] for n in figures["next_available"]} == {
        t.key for t in demo_clinic.appointment_types
    }
    assert all(n["wait_minutes"] is not None for n in figures["next_available"])


@pytest.mark.parametrize(
    ("first", "last", "filters", "message"),
    [
        (LAST, FIRST, Filters(), "before"),
        (date(2024, 1, 1), date(2026, 1, 2), Filters(), "two years"),
        (FIRST, LAST, Filters(provider="nobody"), "no provider"),
        (FIRST, LAST, Filters(appointment_type="nothing"), "no appointment type"),
        (FIRST, LAST, Filters(channel="fax"), "channel must be"),
    ],
)
def test_bad_ranges_and_filters_are_refused_with_the_reason(
    sessions, demo_clinic, first, last, filters, message
):
    with pytest.raises(AnalyticsRequestError, match=message):
        analytics.dashboard(sessions, demo_clinic, first, last, filters, now=NOW)


@pytest.mark.parametrize("value", ["", "2026-13-01", "yesterday", "2026-02-30"])
def test_malformed_dates_are_refused(value):
    with pytest.raises(AnalyticsRequestError):
        analytics.parse_date(value, "from")


@pytest.fixture
def both_sessions(database_url):
    """Sessions on SQLite and on PostgreSQL: the two compute percentiles differently."""
    engine = make_engine(database_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.mark.parametrize("n", [1, 2, 10, 20, 70, 101])
def test_percentiles_are_nearest_rank(both_sessions, n):
    """The value at rank ceil(n * p / 100), counted exactly: 0.9 * 70 is 63.000000000000007 in
    floating point, which PostgreSQL's percentile_disc alone would take as rank 64. Values are
    shuffled, and parts and the overall figure agree with a sort done here."""
    from sqlalchemy import literal, select, union_all

    from scheduler.analytics.ranks import percentiles, percentiles_of

    shuffled = [(n * 7919 + k * 104729) % 1000 + k / 1000 for k in range(n)]
    rows = [
        select(literal(v).label("value"), literal("ab"[k % 2]).label("part"))
        for k, v in enumerate(shuffled)
    ]
    values = select(union_all(*rows).subquery())
    points = (0, 10, 50, 90, 95, 100)

    def nearest(found: list[float]) -> list[float]:
        ordered = sorted(found)
        return [ordered[max(1, -(-len(ordered) * p // 100)) - 1] for p in points]

    with both_sessions() as db:
        assert percentiles_of(db, select(values.subquery().c.value), *points) == nearest(shuffled)
        ranked = percentiles(db, values, *points, overall=True)
    assert ranked[None] == (n, nearest(shuffled))
    for part in {"ab"[k % 2] for k in range(n)}:
        mine = [v for k, v in enumerate(shuffled) if "ab"[k % 2] == part]
        assert ranked[part] == (len(mine), nearest(mine))


def test_percentiles_of_nothing_are_none(both_sessions):
    from sqlalchemy import literal, select

    from scheduler.analytics.ranks import percentiles, percentiles_of

    empty = select(literal(1.0).label("value")).where(literal(1) == 0)
    with both_sessions() as db:
        assert percentiles_of(db, empty, 50, 95) == [None, None]
        assert percentiles(db, empty.add_columns(literal("a").label("part")), 50) == {}
