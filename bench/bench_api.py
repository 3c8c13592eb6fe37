"""The REST API's cost (adapters/api/): reading a day of a busy calendar, and booking under load.

1. `GET /api/v1/appointments?from=D&to=D` for one day of the scaled clinic (`bench.seed`: 100,000
   appointments over 90 days, about 1,100 a day), on SQLite and on PostgreSQL, through the real
   app (Flask's test client: the whole WSGI app, token check, transaction, query, JSON; no
   sockets). Measured: the first page (the default 50), a page of 200, and a page deep in the
   day by its cursor, each over `--requests` requests on random days after a warm-up. Baseline
   in the same run: `GET /healthz` (the framework's own floor). Target: p99 under 20 ms.
2. Booking on PostgreSQL with 8 concurrent clients: each books its own provider's office visits
   back to back, through `POST /api/v1/appointments` (with an `Idempotency-Key`, a test client
   per thread), against the scheduler's own rate in the same run: 8 threads calling
   `SchedulingTools.book_appointment` directly for the very same slots, one transaction each.
   Median of `--rounds` rounds each, alternating. Target: the API at least 0.5 of the tools.

    .venv/bin/python -m bench.bench_api
    .venv/bin/python -m bench.bench_api --database-url postgresql+psycopg://postgres@127.0.0.1/bench_api
    .venv/bin/python -m bench.bench_api --smoke     # 2,000 appointments, a few requests each
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time as clock
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import text

from app import create_app, services_of
from bench.bench_booking import run_clients
from bench.machine import machine
from bench.seed import FIRST_DAY, install, reset, scaled_clinic, seed
from bench.smoke import private_database
from bot.settings import Settings
from bot.tools import Caller, SchedulingTools
from scheduler.accounts import create_token
from scheduler.availability import Slot, find_slots
from scheduler.db import make_engine
from scheduler.models import StaffUser

CLIENTS = 8
TYPE = "office-visit"  # 15 minutes, no room: each client books only its own provider's time
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_api"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def figures(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 0.5):6.2f} ms   p95 {percentile(values, 0.95):6.2f} ms   "
        f"p99 {percentile(values, 0.99):6.2f} ms   max {max(values):6.2f} ms"
    )


def make_app(url: str, folder: Path, clock: Callable[[], datetime]):
    """The app on `url` with the clock given, and the headers of a staff user's bearer token."""
    now = clock()
    settings = Settings(
        database_url=url,
        log_dir=folder / "logs",
        encryption_keys=(Fernet.generate_key().decode(),),
        secret_key_file=folder / "secret.key",
    )
    app = create_app({"SETTINGS": settings, "CLOCK": clock})
    services = services_of(app)
    with services.sessions.begin() as db:
        user = StaffUser(username="bench", role="staff", added_at=now)
        db.add(user)
        db.flush()
        _, token = create_token(db, user, "bench", now)
    return app, {"Authorization": f"Bearer {token}"}


def timed(call) -> float:
    began = clock.perf_counter()
    call()
    return (clock.perf_counter() - began) * 1000


def bench_list(url: str, label: str, requests: int, folder: Path, smoke: bool) -> None:
    seeded = seed(url, appointments=2_000, days=7) if smoke else seed(url)
    now = datetime.combine(FIRST_DAY, datetime.min.time(), seeded.clinic.zone).astimezone(UTC)
    app, headers = make_app(url, folder, lambda: now)
    client = app.test_client()
    rng = random.Random(7)
    days = [FIRST_DAY + timedelta(days=rng.randrange(60)) for _ in range(requests)]

    def page(day, **query):
        response = client.get(
            "/api/v1/appointments", query_string={"from": day, "to": day, **query}, headers=headers
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    cursors = {}
    for day in set(days):  # the cursor of each day's 10th page, found beforehand
        cursor = None
        for _ in range(10):
            cursor = page(day, **({"cursor": cursor} if cursor else {}))["next_cursor"]
        cursors[day] = cursor
    for day in days[:50]:  # warm-up
        page(day)
        client.get("/healthz")
    healthz = [timed(lambda: client.get("/healthz")) for _ in days]
    first = [timed(lambda d=day: page(d)) for day in days]
    sizes = [len(page(day)["items"]) for day in days[:20]]
    wide = [timed(lambda d=day: page(d, limit=200)) for day in days]
    deep = [timed(lambda d=day: page(d, cursor=cursors[d])) for day in days]
    with services_of(app).engine.connect() as connection:
        total = connection.execute(text("SELECT count(*) FROM appointments")).scalar_one()
    print(f"\n{label}: {total} appointments, {requests} requests each, random days")
    print(f"  GET /healthz (baseline)            {figures(healthz)}")
    print(f"  one day, first page ({max(sizes)} items)    {figures(first)}")
    print(f"  one day, limit=200                 {figures(wide)}")
    print(f"  one day, 11th page by cursor       {figures(deep)}")
    p99 = max(percentile(first, 0.99), percentile(deep, 0.99))
    print(
        f"  first page p50 is {percentile(first, 0.5) / percentile(healthz, 0.5):.1f}x /healthz; "
        f"p99 target (< 20 ms, default page): {'met' if p99 < 20 else 'missed'}"
    )
    services_of(app).engine.dispose()


def plans(app, now: datetime, per_client: int) -> list[list[Slot]]:
    """Each client's own provider's office-visit slots, back to back, from tomorrow."""
    services = services_of(app)
    clinic = services.clinic
    providers = [p.key for p in clinic.providers_for(TYPE)][:CLIENTS]
    found: list[list[Slot]] = []
    with services.sessions() as db:
        for provider in providers:
            slots: list[Slot] = []
            day = FIRST_DAY + timedelta(days=1)
            while len(slots) < per_client:
                slots += find_slots(
                    db,
                    clinic,
                    TYPE,
                    now=now,
                    provider_key=provider,
                    start_date=day,
                    end_date=day,
                    limit=100,
                )
                day += timedelta(days=1)
            found.append(slots[:per_client])
    return found


def bench_booking(url: str, folder: Path, per_client: int, rounds: int) -> None:
    reset(url)  # the clinic alone, no calendar: every booking goes into free time
    clinic = scaled_clinic()
    engine = make_engine(url)
    install(engine, clinic, patients=2_000)
    engine.dispose()
    now = datetime.combine(FIRST_DAY, datetime.min.time(), clinic.zone).astimezone(UTC)
    app, headers = make_app(url, folder, lambda: now)
    services = services_of(app)
    work = plans(app, now, per_client)
    total = sum(len(plan) for plan in work)
    caller = Caller(role="staff", channel="bench", staff_id="bench")
    policy = services.settings.reminder_policy()

    def tools_client(index: int):
        def job() -> None:
            for n, slot in enumerate(work[index]):
                with services.sessions.begin() as db:
                    tools = SchedulingTools(
                        db, services.clinic, services.audit, caller, now, policy=policy
                    )
                    tools.book_appointment(slot, 1 + (index * 131 + n) % 2_000)

        return job

    def api_client(index: int, round_: int):
        def job() -> None:
            client = app.test_client()
            for n, slot in enumerate(work[index]):
                response = client.post(
                    "/api/v1/appointments",
                    json={
                        "patient": 1 + (index * 131 + n) % 2_000,
                        "appointment_type": TYPE,
                        "start": slot.start.astimezone(clinic.zone).isoformat(),
                        "provider": slot.provider_key,
                    },
                    headers={**headers, "Idempotency-Key": f"r{round_}-c{index}-{n}"},
                )
                assert response.status_code == 201, response.get_json()

        return job

    def wipe() -> None:
        with services.engine.begin() as connection:
            connection.execute(
                text(
                    "TRUNCATE occupancy, reminders, appointments, audit_events, "
                    "idempotent_requests RESTART IDENTITY CASCADE"
                )
            )

    tools_rounds, api_rounds = [], []
    for round_ in range(rounds):
        wipe()
        tools_rounds.append(run_clients([tools_client(i) for i in range(CLIENTS)]))
        wipe()
        api_rounds.append(run_clients([api_client(i, round_) for i in range(CLIENTS)]))
        with services.engine.connect() as connection:
            booked = connection.execute(text("SELECT count(*) FROM appointments")).scalar_one()
        assert booked == total, (booked, total)
    tools_rate = total / statistics.median(tools_rounds)
    api_rate = total / statistics.median(api_rounds)
    print(
        f"\nbooking on PostgreSQL: {CLIENTS} clients x {per_client} office visits, median of "
        f"{rounds} rounds"
    )
    print(
        f"  SchedulingTools.book_appointment (baseline): {tools_rate:7.0f} per s "
        f"(rounds: {', '.join(f'{total / s:.0f}' for s in tools_rounds)})"
    )
    print(
        f"  POST /api/v1/appointments + Idempotency-Key:  {api_rate:7.0f} per s "
        f"(rounds: {', '.join(f'{total / s:.0f}' for s in api_rounds)})"
    )
    print(
        f"  ratio: the API books at {api_rate / tools_rate:.2f}x the scheduler's own rate "
        f"(target >= 0.5: {'met' if api_rate / tools_rate >= 0.5 else 'missed'})"
    )
    wipe()
    services.engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=DEFAULT_URL, help="a PostgreSQL database it may wipe"
    )
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument("--per-client", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="2,000 appointments, 20 requests, 3 bookings a client, on a database of its own",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.requests, args.per_client, args.rounds = 20, 3, 1
    print(f"{machine()}; the app through Flask's test client")
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = args.database_url
        if args.smoke:
            url = stack.enter_context(private_database(url))
        sqlite = f"sqlite:///{root / 'bench.db'}"
        bench_list(sqlite, "SQLite", args.requests, root / "sqlite", args.smoke)
        bench_list(url, "PostgreSQL", args.requests, root / "postgres", args.smoke)
        bench_booking(url, root / "booking", args.per_client, args.rounds)


if __name__ == "__main__":
    main()
