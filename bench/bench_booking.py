"""Booking throughput on PostgreSQL: 8 concurrent clients, each a thread with its own session and
connection, booking non-colliding slots of the scaled clinic (a check-up: a provider and an exam
room, 14 `Occupancy` rows each) one transaction per booking.

The baseline, measured in the same run with the same 8 threads: plain INSERTs of the very same
appointment rows, one transaction each, with no `Occupancy` rows and no checks. The figure is
the ratio of the two throughputs. Beside them, a ceiling: the statements one `book()` sends
(the directory with the patient's key, the cells' check, SAVEPOINT, the appointment, its
cells, RELEASE), on one session a client, by the booking and availability modules' own
functions, but with no rule checks of `resolve_slot` and the appointment a Core insert
returning its id rather than an `Appointment` in the session. What `book()` would reach if
those cost nothing.

A last phase makes pairs of clients race for the same slots (released together by a barrier)
and counts the collisions refused: one of each pair must win, the other get `SlotUnavailable`.

    .venv/bin/python -m bench.bench_booking
    .venv/bin/python -m bench.bench_booking \
        --database-url postgresql+psycopg://postgres@127.0.0.1/bench
    .venv/bin/python -m bench.bench_booking --smoke   # a few bookings, a database of its own
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import threading
import time as clock
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, insert, text
from sqlalchemy.exc import IntegrityError

from bench.machine import machine
from bench.seed import FIRST_DAY, OVERLAPS, install, reset, scaled_clinic
from bench.smoke import private_database
from scheduler.availability import (
    ResolvedSlot,
    Slot,
    find_slots,
    read_directory,
    refresh,
)
from scheduler.booking import _occupy, book
from scheduler.db import make_engine, session_factory
from scheduler.errors import SlotUnavailable
from scheduler.models import Appointment, AppointmentStatus

CLIENTS = 8
TYPE = "checkup"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"


def back_to_back(
    factory, clinic, provider: str, room: str, count: int, now: datetime
) -> list[Slot]:
    """`count` slots of one provider in one room that do not overlap, earliest first."""
    kind = clinic.appointment_type(TYPE)
    hold = timedelta(minutes=kind.duration_minutes + kind.buffer_minutes)
    found: list[Slot] = []
    day = FIRST_DAY
    with factory() as session:
        while len(found) < count:
            for slot in find_slots(
                session,
                clinic,
                TYPE,
                now=now,
                provider_key=provider,
                start_date=day,
                end_date=day,
                limit=100,
            ):
                if not found or slot.start >= found[-1].start + hold:
                    found.append(dataclasses.replace(slot, room_key=room))
            day += timedelta(days=1)
    return found[:count]


def run_clients(work: list) -> float:
    """Run each client's work() in its own thread, started together; return the wall seconds."""
    barrier = threading.Barrier(len(work) + 1)
    errors: list[BaseException] = []

    def client(job) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as exc:  # surfaced below: a benchmark must not hide a failure
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = clock.perf_counter()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return clock.perf_counter() - began


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Benchmark concurrent booking on PostgreSQL.")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_URL,
        help="a PostgreSQL database it may wipe (created if missing)",
    )
    parser.add_argument("--per-client", type=int, default=250)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--races", type=int, default=100, help="contested slots per pair")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a tiny run (5 bookings a client, one round, 5 races) on a database of its own",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.per_client, args.rounds, args.races = 5, 1, 5
        with private_database(args.database_url) as url:
            measure(url, args)
    else:
        measure(args.database_url, args)


def measure(url: str, args: argparse.Namespace) -> None:
    reset(url)
    clinic = scaled_clinic()
    engine = make_engine(url, pool_size=CLIENTS + 2)
    ids = install(engine, clinic, patients=2_000)
    factory = session_factory(engine)
    refused_by_key = [0]

    @event.listens_for(engine, "handle_error")
    def _count(context) -> None:  # a unique violation that the Occupancy key raised
        if isinstance(context.sqlalchemy_exception, IntegrityError):
            refused_by_key[0] += 1

    with engine.connect() as connection:
        version = connection.exec_driver_sql("SHOW server_version").scalar()
    print(
        f"database: {engine.dialect.name} {version}; {machine()}; "
        f"{CLIENTS} client threads, one session and connection each"
    )

    now = datetime.combine(FIRST_DAY, datetime.min.time(), clinic.zone).astimezone(UTC)
    providers = [p.key for p in clinic.providers_for(TYPE)]
    rooms = [r.key for r in clinic.rooms if r.kind == "exam"]
    plans = [
        back_to_back(factory, clinic, providers[i], rooms[i], args.per_client, now)
        for i in range(CLIENTS)
    ]
    total = sum(len(plan) for plan in plans)
    kind = clinic.appointment_type(TYPE)

    def plain_inserts(client: int):
        def job() -> None:
            for n, slot in enumerate(plans[client]):
                with factory.begin() as session:
                    session.execute(insert(Appointment), row(client, n, slot))

        return job

    def row(client: int, n: int, slot: Slot) -> dict:
        return {
            "patient_id": 1 + (client * 131 + n) % 2_000,
            "provider_id": ids["providers"][slot.provider_key],
            "type_id": ids["types"][TYPE],
            "room_id": ids["resources"][slot.room_key],
            "start_at": slot.start,
            "end_at": slot.end,
            "occupied_until": slot.end + timedelta(minutes=kind.buffer_minutes),
            "status": AppointmentStatus.BOOKED,
            "booked_via": "bench",
            "created_at": now,
            "updated_at": now,
        }

    exam_rooms = tuple((room, ids["resources"][room]) for room in rooms)  # book() tries them all

    def statements_only(client: int):
        """book()'s statements, with the project's own directory read (with the patient's
        key, as book() reads it for a patient not in the session), cells check and cells insert
        (`read_directory`, `refresh`, `_occupy`), but none of `resolve_slot`'s rule checks, and
        the appointment a Core insert of its id."""

        def job() -> None:
            with factory() as session:
                for n, slot in enumerate(plans[client]):
                    values = row(client, n, slot)
                    start = int(slot.start.timestamp())
                    resolved = ResolvedSlot(
                        slot,
                        values["type_id"],
                        values["provider_id"],
                        None,
                        exam_rooms,
                        start,
                        int(slot.end.timestamp()),
                        int(values["occupied_until"].timestamp()),
                    )
                    with session.begin():
                        connection = session.connection()
                        if read_directory(session, values["patient_id"]).patient is None:
                            raise SystemExit("the ceiling's patient is missing")
                        resolved = refresh(session, clinic, resolved, now=now)
                        room_id = resolved.rooms[0][1]
                        with session.begin_nested():
                            appointment = connection.execute(
                                insert(Appointment).returning(Appointment.id),
                                values | {"room_id": room_id},
                            ).scalar_one()
                            _occupy(session, appointment, resolved, room_id)

        return job

    latencies: list[float] = []

    def bookings(client: int):
        def job() -> None:
            for n, slot in enumerate(plans[client]):
                began = clock.perf_counter()
                with factory.begin() as session:
                    book(
                        session,
                        clinic,
                        patient_id=1 + (client * 131 + n) % 2_000,
                        slot=slot,
                        now=now,
                        booked_via="bench",
                    )
                latencies.append((clock.perf_counter() - began) * 1000)

        return job

    def wipe() -> None:
        with engine.begin() as connection:
            # CASCADE: reminders, notices and offers refer to appointments (book() writes none
            # of them here, but the key is there on today's schema).
            connection.execute(text("TRUNCATE occupancy, appointments RESTART IDENTITY CASCADE"))

    def written() -> tuple[int, int]:
        """How many appointments and occupancy cells the round wrote."""
        with engine.connect() as connection:
            made = connection.execute(text("SELECT count(*) FROM appointments")).scalar_one()
            taken = connection.execute(text("SELECT count(*) FROM occupancy")).scalar_one()
        return made, taken

    # Alternate the three, three rounds each, and compare medians: on a small machine one round
    # of any can be disturbed by anything else running.
    insert_rounds, book_rounds, ceiling_rounds = [], [], []
    for _ in range(args.rounds):
        wipe()
        insert_rounds.append(run_clients([plain_inserts(i) for i in range(CLIENTS)]))
        wipe()
        ceiling_rounds.append(run_clients([statements_only(i) for i in range(CLIENTS)]))
        ceiling_wrote = written()
        wipe()
        latencies.clear()
        book_rounds.append(run_clients([bookings(i) for i in range(CLIENTS)]))
        booked, held = written()
        assert booked == total, (booked, total)
        assert ceiling_wrote == (booked, held), (ceiling_wrote, booked, held)
    insert_seconds, book_seconds = statistics.median(insert_rounds), statistics.median(book_rounds)
    inserts_per_s, books_per_s = total / insert_seconds, total / book_seconds
    print(
        f"\nnon-colliding: {total} appointments, {CLIENTS} x {args.per_client}, median of "
        f"{args.rounds} rounds"
    )
    print(
        f"  baseline plain INSERT (no occupancy, no checks): {inserts_per_s:8.0f} per s "
        f"(rounds: {', '.join(f'{total / s:.0f}' for s in insert_rounds)})"
    )
    print(
        f"  book() with checks and {held // total} occupancy rows each:  {books_per_s:8.0f} "
        f"per s (rounds: {', '.join(f'{total / s:.0f}' for s in book_rounds)}); "
        f"last round's latency p50 {statistics.median(latencies):.1f} ms, p99 "
        f"{sorted(latencies)[int(0.99 * len(latencies))]:.1f} ms"
    )
    print(
        f"  ratio: booking throughput is {books_per_s / inserts_per_s:.2f}x the plain INSERT "
        f"throughput ({inserts_per_s / books_per_s:.1f}x slower)"
    )
    ceiling_per_s = total / statistics.median(ceiling_rounds)
    print(
        f"  ceiling: book()'s statements, least Python: {ceiling_per_s:8.0f} per s (rounds: "
        f"{', '.join(f'{total / s:.0f}' for s in ceiling_rounds)}); ratio "
        f"{ceiling_per_s / inserts_per_s:.2f}x the plain INSERTs, book() at "
        f"{books_per_s / ceiling_per_s:.2f}x of it"
    )
    wipe()

    # Races: clients 2j and 2j+1 try the same slots, released together slot by slot.
    pairs = CLIENTS // 2
    contested = [
        back_to_back(factory, clinic, providers[CLIENTS + j], rooms[CLIENTS + j], args.races, now)
        for j in range(pairs)
    ]
    outcomes = {"won": 0, "refused": 0}
    lock = threading.Lock()
    refused_by_key[0] = 0

    def racer(pair: int, gate: threading.Barrier, patient: int):
        def job() -> None:
            for slot in contested[pair]:
                gate.wait()
                session = factory()
                try:
                    book(session, clinic, patient_id=patient, slot=slot, now=now)
                    session.commit()
                    result = "won"
                except SlotUnavailable:
                    session.rollback()
                    result = "refused"
                finally:
                    session.close()
                with lock:
                    outcomes[result] += 1

        return job

    gates = [threading.Barrier(2) for _ in range(pairs)]
    race_seconds = run_clients(
        [racer(j, gates[j], 1 + side + 2 * j) for j in range(pairs) for side in (0, 1)]
    )
    with engine.connect() as connection:
        overlaps = connection.execute(OVERLAPS).scalar_one()
    races = pairs * args.races
    print(
        f"\ncolliding: {pairs} pairs of clients racing for the same {args.races} slots each "
        f"({race_seconds:.2f} s)"
    )
    print(
        f"  {outcomes['won']} won, {outcomes['refused']} refused of {races} contested slots: "
        f"collisions correctly refused {outcomes['refused']}/{races}; "
        f"{refused_by_key[0]} of the refusals came from the Occupancy primary key, the rest "
        f"from the check after the winner committed; overlapping active appointments: "
        f"{overlaps}"
    )
    assert outcomes == {"won": races, "refused": races} and overlaps == 0
    engine.dispose()


if __name__ == "__main__":
    main()
