"""The FHIR facade's Slot search (adapters/fhir/slots.py): one provider's week, free and busy,
in the scaled clinic (`bench.seed`: 50 providers, 100,000 appointments over 90 days).

Each request is `GET /fhir/r4/Slot?schedule=Schedule/<provider>&start=ge<Monday>&start=lt<next
Monday>` through the real app (Flask's test client: the whole WSGI app, token check,
transaction, the free Slots of every type the provider offers from the scheduler's search
(availability/week.py) plus the week's booked appointments, the first page of 50 as JSON), for a
random provider and week of the first 60 days, with the clock two days before that Monday (so the
whole week is bookable). Measured after a warm-up (every provider's every week once: the
availability plan's cache of candidate times filled, as in a process that has served a while),
`--requests` of them, on SQLite and on PostgreSQL. Baseline in the same run, on the same
provider and week, through the same engine: the bare SELECT of that provider's week of
appointments (what any answer about the week must at least read). Also shown: the domain call
alone (`scheduler.fhir.slots.schedule_slots`, no HTTP) and a page of 200. The process settles its
heap as a web worker does (`app.settle_heap`). Target: p99 under 30 ms.

    .venv/bin/python -m bench.bench_fhir_slots
    .venv/bin/python -m bench.bench_fhir_slots --database-url postgresql+psycopg://postgres@127.0.0.1/bench_fhir
    .venv/bin/python -m bench.bench_fhir_slots --smoke   # 2,000 appointments, 20 requests
"""

from __future__ import annotations

import argparse
import random
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import text

from app import services_of, settle_heap
from bench.bench_api import figures, make_app, percentile, timed
from bench.machine import machine
from bench.seed import FIRST_DAY, seed
from bench.smoke import private_database
from scheduler.fhir.slots import SlotQuery, schedule_slots

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_fhir"
TARGET_MS = 30


@dataclass(frozen=True)
class Week:
    provider: str
    monday: date

    def now(self, zone) -> datetime:
        return datetime.combine(self.monday - timedelta(days=2), time(9), zone).astimezone(UTC)

    def bounds(self, zone) -> tuple[datetime, datetime]:
        start = datetime.combine(self.monday, time(0), zone)
        return start.astimezone(UTC), (start + timedelta(days=7)).astimezone(UTC)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def bench(url: str, label: str, requests: int, folder: Path, smoke: bool) -> float:
    seeded = seed(url, appointments=2_000, days=7) if smoke else seed(url)
    clinic = seeded.clinic
    zone = clinic.zone
    app_clock = Clock()
    app, headers = make_app(url, folder, app_clock)
    settle_heap()  # as a web worker does once its app is built (deploy/gunicorn.conf.py)
    services = services_of(app)
    client = app.test_client()
    rng = random.Random(19)
    mondays = [FIRST_DAY + timedelta(days=7 * w) for w in range(1 if smoke else 8)]
    weeks = [Week(rng.choice(clinic.providers).key, rng.choice(mondays)) for _ in range(requests)]
    # Warm-up: every provider's every week once, as a process that has served a while has them
    # (the availability plan caches each day's candidate times; computing them is a start-up
    # cost, not a search's).
    warmup = [Week(p.key, monday) for p in clinic.providers for monday in mondays]

    def search(week: Week, **extra) -> dict:
        app_clock.now = week.now(zone)
        response = client.get(
            "/fhir/r4/Slot",
            query_string={
                "schedule": f"Schedule/{week.provider}",
                "start": [f"ge{week.monday}", f"lt{week.monday + timedelta(days=7)}"],
                **extra,
            },
            headers=headers,
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    marker = "?" if services.engine.dialect.paramstyle == "qmark" else "%s"
    bare = (
        "SELECT a.* FROM appointments a JOIN providers p ON p.id = a.provider_id"
        f" WHERE p.key = {marker} AND a.start_at >= {marker} AND a.start_at < {marker}"
    )

    def baseline(week: Week) -> None:
        start, end = week.bounds(zone)
        with services.sessions() as db:
            db.connection().exec_driver_sql(
                bare, (week.provider, start.replace(tzinfo=None), end.replace(tzinfo=None))
            ).fetchall()

    def domain(week: Week) -> None:
        start, end = week.bounds(zone)
        with services.sessions() as db:
            schedule_slots(db, clinic, SlotQuery(start, end, (week.provider,)), now=week.now(zone))

    for week in warmup:
        search(week)
        baseline(week)
    ours = [timed(lambda w=week: search(w)) for week in weeks]
    floor = [timed(lambda w=week: baseline(w)) for week in weeks]
    alone = [timed(lambda w=week: domain(w)) for week in weeks]
    wide = [timed(lambda w=week: search(w, _count="200")) for week in weeks]
    totals = [search(week)["total"] for week in weeks[:20]]
    busy = [search(week, status="busy", _count="0")["total"] for week in weeks[:20]]
    with services.engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM appointments")).scalar_one()
    print(f"\n{label}: {count} appointments, {requests} requests each, random provider and week")
    print(
        f"  a week holds {min(totals)}-{max(totals)} Slots ({min(busy)}-{max(busy)} busy); "
        "the first page of 50 is answered"
    )
    print(f"  bare SELECT of the week (baseline)  {figures(floor)}")
    print(f"  schedule_slots alone (no HTTP)      {figures(alone)}")
    print(f"  GET /fhir/r4/Slot, first page       {figures(ours)}")
    print(f"  GET /fhir/r4/Slot, _count=200       {figures(wide)}")
    p99 = percentile(ours, 0.99)
    print(
        f"  FHIR slot search p50 is {percentile(ours, 0.5) / percentile(floor, 0.5):.1f}x the bare "
        f"SELECT; p99 {p99:.2f} ms, target (< {TARGET_MS} ms): "
        f"{'met' if p99 < TARGET_MS else 'missed'}"
    )
    services.engine.dispose()
    return p99


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=DEFAULT_URL, help="a PostgreSQL database it may wipe"
    )
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="2,000 appointments over a week, 20 requests, on a database of its own",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.requests = 20
    print(f"{machine()}; the app through Flask's test client")
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        bench(
            f"sqlite:///{root / 'bench.db'}", "SQLite", args.requests, root / "sqlite", args.smoke
        )
        if not args.no_postgres:
            url = args.database_url
            if args.smoke:
                url = stack.enter_context(private_database(url))
            bench(url, "PostgreSQL", args.requests, root / "postgres", args.smoke)


if __name__ == "__main__":
    main()
