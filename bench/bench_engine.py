"""Benchmark: one turn of the local engine (understand + decide, database included).

Targets (issues 2 and 14): median under 2 ms, for English and for Spanish conversations
(reported apart); telling a message's language under 0.1 ms. Each simulated patient has a full
conversation (greeting, booking with name, day and choice, listing, cancelling) on the demo
clinic in a SQLite file, half of them in English and half in Spanish, so the figures include the
audit inserts, session load/save and slot searches of real turns.
Baselines, measured in the same run: one bare write transaction on the same database (BEGIN,
INSERT one row, COMMIT), the floor any turn that records something pays; and, for telling the
language, lower-casing the same message (the least any reading of it costs).

    .venv/bin/python bench/bench_engine.py [--patients 150] [--database-url URL]
    .venv/bin/python bench/bench_engine.py --smoke     # 4 patients: seconds, for `make test`
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet
from sqlalchemy import text

from app import build_services
from bot.messages import InboundMessage
from bot.settings import Settings
from bot.understanding import language

SCRIPTS = {
    "English": [
        "hi",
        "book a checkup tomorrow",
        "Jordan Testperson",
        "2",
        "my appointments",
        "cancel my appointment",
        "yes",
        "book a vaccination next tuesday afternoon",
        "1",
    ],
    "Spanish": [
        "hola",
        "quiero un chequeo para mañana",
        "María Ejemplo",
        "2",
        "mis citas",
        "cancelar mi cita",
        "sí",
        "quiero una vacuna el martes que viene por la tarde",
        "1",
    ],
}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=150)
    parser.add_argument("--database-url")
    parser.add_argument("--smoke", action="store_true", help="4 patients, a few baseline rounds")
    args = parser.parse_args(argv)
    rounds = 2000
    if args.smoke:
        args.patients, rounds = 4, 20

    workdir = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    now = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
    settings = Settings(
        database_url=url,
        log_dir=workdir / "logs",
        encryption_keys=(Fernet.generate_key().decode(),),
    )
    clock_now = [now]
    services = build_services(settings, clock=lambda: clock_now[0])
    engine = services.conversation

    with services.engine.begin() as connection:
        connection.execute(text("CREATE TABLE bench_baseline (id INTEGER PRIMARY KEY, v TEXT)"))
    baseline = []
    for i in range(rounds // 4):
        started = time.perf_counter()
        with services.engine.begin() as connection:
            connection.execute(text("INSERT INTO bench_baseline (v) VALUES (:v)"), {"v": str(i)})
        baseline.append((time.perf_counter() - started) * 1000)

    timings = {name: {line: [] for line in script} for name, script in SCRIPTS.items()}
    for patient in range(args.patients):
        phone = f"+1212555{patient:04d}"
        name = "English" if patient % 2 == 0 else "Spanish"  # interleaved: the same drift
        for step, line in enumerate(SCRIPTS[name]):
            clock_now[0] = now + timedelta(minutes=patient % 600, seconds=step)
            message = InboundMessage("console", phone, line, f"{patient}-{step}", clock_now[0])
            started = time.perf_counter()
            engine.handle(message)
            timings[name][line].append((time.perf_counter() - started) * 1000)

    base = statistics.median(baseline)
    print(
        f"engine turn, {args.patients} patients on {services.engine.dialect.name}, "
        f"half in English, half in Spanish"
    )
    print(f"  baseline (one bare write transaction): median {base:.3f} ms")
    for name, lines in timings.items():
        every = [t for values in lines.values() for t in values]
        median = statistics.median(every)
        print(
            f"  {name}: {len(every)} turns, median {median:.3f} ms   p90 "
            f"{percentile(every, 90):.3f} ms   p99 {percentile(every, 99):.3f} ms   "
            f"(target: median < 2 ms; {median / base:.1f}x the baseline)"
        )
        for line, values in lines.items():
            print(f"    {statistics.median(values):7.3f} ms  {line!r}")

    texts = [line for script in SCRIPTS.values() for line in script]
    started = time.perf_counter()
    for _ in range(rounds):
        for line in texts:
            language.tell(line)
    told = (time.perf_counter() - started) / (rounds * len(texts)) * 1000
    started = time.perf_counter()
    for _ in range(rounds):
        for line in texts:
            line.lower()
    lowered = (time.perf_counter() - started) / (rounds * len(texts)) * 1000
    print(
        f"  telling the language: {told * 1000:.1f} us a message (target < 100 us); "
        f"lower-casing it: {lowered * 1000:.2f} us ({told / lowered:.0f}x)"
    )
    services.engine.dispose()


if __name__ == "__main__":
    main()
