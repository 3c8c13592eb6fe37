"""A small clinic history for the analytics tests (API, portal, browser): visits in every status,
reminders and an answer, language-engine turns, made through scheduler.booking (as the channels
book) and the models, in the app's own database. Invented names and 555-01xx numbers only.

The clinic's now is Wednesday 2026-03-04 09:00 in New York (tests/conftest.py `now`). The
visits were booked on Friday 2026-02-20 (so they were in the future then):

    Mon 03-02  10:00  check-up, Dr. Okafor       sms     attended, answered C, reminded
    Mon 03-02  10:45  check-up, Dr. Okafor       sms     no-show, reminded
    Mon 03-02  11:30  check-up, Dr. Okafor       portal  attended
    Tue 03-03  10:00  check-up, Dr. Lindqvist    api     no-show
    Tue 03-03  15:00  check-up, Dr. Lindqvist    web     cancelled 2 hours before (late)
    Mon 03-09  10:00  check-up, Dr. Okafor       sms     booked (to come)
    Tue 03-10  09:00  vaccination, NP Moreau     web     cancelled on 03-04 (not late)

so for 2026-03-01..2026-03-10: booked 1, cancelled 2, fulfilled 2, noshow 2, no-show rate 0.5;
reminders sent 2 (due 03-01), failed 1; engine turns 5 (3 on Bedrock, 1 an error, 2 local,
1 a fallback) on 03-02 and 03-03.

`figures_on` reads the figures a dashboard page shows (each `data-figure`), `percent_text` a rate
as the page writes it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from html import unescape

from scheduler import booking
from scheduler.availability import find_slots
from scheduler.models import Appointment, EngineTurn, Reminder
from scheduler.patients import find_or_create_patient, set_patient_name

BOOKED_AT = datetime(2026, 2, 20, 15, 0, tzinfo=UTC)
FIRST, LAST = date(2026, 3, 1), date(2026, 3, 10)
QUERY = f"from={FIRST.isoformat()}&to={LAST.isoformat()}"
_FIGURE = re.compile(r'data-figure="([^"]+)">([^<]*)<')

VISITS = [
    # (day, local time, type, provider, channel, what happens)
    (date(2026, 3, 2), time(10, 0), "checkup", "okafor", "sms", "fulfilled"),
    (date(2026, 3, 2), time(10, 45), "checkup", "okafor", "sms", "noshow"),
    (date(2026, 3, 2), time(11, 30), "checkup", "okafor", "portal", "fulfilled"),
    (date(2026, 3, 3), time(10, 0), "checkup", "lindqvist", "api", "noshow"),
    (date(2026, 3, 3), time(15, 0), "checkup", "lindqvist", "web", "late-cancel"),
    (date(2026, 3, 9), time(10, 0), "checkup", "okafor", "sms", "booked"),
    (date(2026, 3, 10), time(9, 0), "vaccination", "moreau", "web", "cancel"),
]
TURNS = [
    # (UTC instant, engine, fallback, error, latency ms, tokens in, tokens out, outcome)
    (datetime(2026, 3, 2, 15, 0, tzinfo=UTC), "bedrock", False, None, 800.0, 1200, 80, None),
    (datetime(2026, 3, 2, 15, 1, tzinfo=UTC), "bedrock", False, None, 1200.0, 1500, 120, "booked"),
    (datetime(2026, 3, 3, 16, 0, tzinfo=UTC), "bedrock", False, "timeout", 5000.0, 900, 0, None),
    (datetime(2026, 3, 3, 16, 1, tzinfo=UTC), "local", True, None, 40.0, 0, 0, "handoff"),
    (datetime(2026, 3, 3, 17, 0, tzinfo=UTC), "local", False, None, 20.0, 0, 0, None),
]


def make_history(services) -> list[int]:
    """The visits, reminders and turns above; returns the appointments' ids in VISITS' order."""
    clinic, now = services.clinic, services.clock()
    ids = []
    with services.sessions.begin() as db:
        patient = find_or_create_patient(db, services.vault, "+12125550188", now=BOOKED_AT)
        set_patient_name(services.vault, patient, "Avery Samplefolk")
        db.flush()
        for day, at, kind, provider, channel, outcome in VISITS:
            (slot,) = find_slots(
                db,
                clinic,
                kind,
                now=BOOKED_AT,
                start_date=day,
                end_date=day,
                provider_key=provider,
                around=at,
                limit=1,
            )
            assert slot.start.astimezone(clinic.zone).time() == at, (day, at, slot)
            row = booking.book(
                db, clinic, patient_id=patient.id, slot=slot, now=BOOKED_AT, booked_via=channel
            )
            if outcome in ("fulfilled", "noshow"):
                booking.record_attendance(db, row.id, outcome, now=now)
            elif outcome == "late-cancel":
                booking.cancel(db, row.id, now=row.start_at - timedelta(hours=2))
            elif outcome == "cancel":
                booking.cancel(db, row.id, now=now)
            ids.append(row.id)
        first = db.get(Appointment, ids[0])
        assert first is not None
        first.reminder_answer = "C"
        due = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)
        for appointment_id, status in ((ids[0], "sent"), (ids[1], "sent"), (ids[3], "failed")):
            db.add(
                Reminder(
                    kind="reminder",
                    appointment_id=appointment_id,
                    patient_id=patient.id,
                    due_at=due,
                    status=status,
                    attempts=1,
                    sent_at=due if status == "sent" else None,
                )
            )
        for n, (at, engine, fallback, error, latency, tokens_in, tokens_out, outcome) in enumerate(
            TURNS
        ):
            db.add(
                EngineTurn(
                    at=at,
                    day=at.astimezone(clinic.zone).date(),
                    channel="sms",
                    engine=engine,
                    fallback=fallback,
                    error=error,
                    latency_ms=latency,
                    model_calls=1 if engine == "bedrock" else 0,
                    input_tokens=tokens_in,
                    output_tokens=tokens_out,
                    conversation=f"c{at.day}-{n // 2}",
                    outcome=outcome,
                )
            )
    return ids


def figures_on(page: str) -> dict[str, str]:
    """The figures a dashboard page shows: each `data-figure` path and its text."""
    return {name: unescape(value) for name, value in _FIGURE.findall(page)}


def percent_text(rate: float | None) -> str:
    """A rate as the dashboard writes it: "50.0%", or "–" for none."""
    return "–" if rate is None else f"{rate * 100:.1f}%"
