"""Benchmark: one turn of the local engine (understand + decide, database included).

Target (issue 2): median under 2 ms. Each simulated patient has a full conversation (greeting,
booking with name, day and choice, listing, cancelling) on the demo clinic in a SQLite file, so the
figures include the audit inserts, session load/save and slot searches of real turns.
Baseline, measured in the same run: one bare write transaction on the same database (BEGIN,
INSERT one row, COMMIT), the floor any turn that records something pays.

    .venv/bin/python bench/bench_engine.py [--patients 150] [--database-url URL]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app import build_services  # noqa: E402
from bot.messages import InboundMessage  # noqa: E402
from bot.settings import Settings  # noqa: E402

SCRIPT = ["hi", "book a checkup tomorrow", "Jordan Testperson", "2", "my appointments",
          "cancel my appointment", "yes", "book a vaccination next tuesday afternoon", "1"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=150)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    now = datetime(2026, 3, 4, 14, 0, tzinfo=timezone.utc)
    settings = Settings(database_url=url, log_dir=workdir / "logs",
                        encryption_keys=(Fernet.generate_key().decode(),))
    clock_now = [now]
    services = build_services(settings, clock=lambda: clock_now[0])
    engine = services.conversation

    with services.engine.begin() as connection:
        connection.execute(text("CREATE TABLE bench_baseline (id INTEGER PRIMARY KEY, v TEXT)"))
    baseline = []
    for i in range(500):
        started = time.perf_counter()
        with services.engine.begin() as connection:
            connection.execute(text("INSERT INTO bench_baseline (v) VALUES (:v)"), {"v": str(i)})
        baseline.append((time.perf_counter() - started) * 1000)

    timings: dict[str, list[float]] = {line: [] for line in SCRIPT}
    for patient in range(args.patients):
        phone = f"+1212555{patient:04d}"
        for step, line in enumerate(SCRIPT):
            clock_now[0] = now + timedelta(minutes=patient % 600, seconds=step)
            message = InboundMessage("console", phone, line, f"{patient}-{step}", clock_now[0])
            started = time.perf_counter()
            engine.handle(message)
            timings[line].append((time.perf_counter() - started) * 1000)

    every = [t for values in timings.values() for t in values]
    base = statistics.median(baseline)
    median = statistics.median(every)
    print(f"engine turn, {len(every)} turns over {args.patients} patients on "
          f"{services.engine.dialect.name}")
    print(f"  median {median:.3f} ms   p90 {percentile(every, 90):.3f} ms   "
          f"p99 {percentile(every, 99):.3f} ms   (target: median < 2 ms)")
    print(f"  baseline (one bare write transaction): median {base:.3f} ms")
    print(f"  ratio turn / baseline: {median / base:.1f}x")
    for line, values in timings.items():
        print(f"    {statistics.median(values):7.3f} ms  {line!r}")
    services.engine.dispose()


if __name__ == "__main__":
    main()
