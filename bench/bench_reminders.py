"""Benchmark: due reminders sent by 1, 2 and 4 `python -m jobs --once` worker processes (issue 6).

PostgreSQL, a database named `bench_reminders` on the server of TEST_DATABASE_URL (created, wiped
and migrated by the bench). For each run: N patients, each with one appointment tomorrow and one
reminder due a minute ago, and ANALYZE (a table in service has statistics; with `--no-analyze` the
first claims are planned on a table never analyzed); then W worker processes (`python -m jobs
--once`, the real entry point: build_services, the claim with FOR UPDATE SKIP LOCKED, the outbox as
the sender, which records each text encrypted instead of texting, and the per-batch audit append).
Timed from the workers' start to the last one's exit (their start-up included). Checked after each
run: every reminder "sent", exactly one outbox text per patient (zero duplicates, zero missed).

    .venv/bin/python bench/bench_reminders.py [--reminders 100000] [--workers 1,2,4] [--no-analyze]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bench.seed import seed_due_reminders
from scheduler.clinic_file import load_clinic
from scheduler.clinic_store import install_clinic
from scheduler.crypto import Vault
from scheduler.db import make_engine, session_factory, upgrade
from scheduler.models import OutboxMessage, Reminder

DATABASE = "bench_reminders"


def fresh_database(server_url: str) -> str:
    base = make_url(server_url)
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    url = base.set(database=DATABASE).render_as_string(hide_password=False)
    upgrade(url)
    return url


def wipe(engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "TRUNCATE reminders, outbox, audit_events, appointments, "
                "patients, occupancy, job_leases RESTART IDENTITY CASCADE"
            )
        )


def run(url: str, key: str, workers: int, count: int, logs: Path, analyze: bool) -> dict:
    engine = make_engine(url)
    sessions = session_factory(engine)
    wipe(engine)
    seed_due_reminders(sessions, Vault([key]), count)
    if analyze:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE reminders, patients, appointments"))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ENCRYPTION_KEYS": key,
        "LOG_DIR": str(logs),
        "QUIET_HOURS": "00:00-00:00",  # no quiet window: the bench runs at any hour
        "JOBS_IN_PROCESS": "false",
        "LLM_ENGINE": "local",
    }
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SLACK_BOT_TOKEN"):
        env.pop(name, None)
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "jobs", "--once"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(workers)
    ]
    errors = [p.communicate()[1] for p in procs]
    seconds = time.perf_counter() - started
    if any(p.returncode for p in procs):
        raise SystemExit("a worker failed:\n" + "\n".join(e.decode()[-2000:] for e in errors))
    with sessions() as db:
        sent = db.scalar(
            select(func.count()).select_from(Reminder).where(Reminder.status == "sent")
        )
        texts = db.scalar(select(func.count()).select_from(OutboxMessage))
        recipients = db.scalar(select(func.count(func.distinct(OutboxMessage.recipient_index))))
    engine.dispose()
    return {
        "workers": workers,
        "seconds": seconds,
        "per_second": count / seconds,
        "sent": sent,
        "duplicates": texts - recipients,
        "missed": count - recipients,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reminders", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="start the workers on a table never analyzed since the bulk seed",
    )
    parser.add_argument(
        "--server-url",
        default=os.environ.get(
            "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    url = fresh_database(args.server_url)
    engine = make_engine(url)
    with session_factory(engine).begin() as db:
        install_clinic(db, load_clinic(None))
    engine.dispose()
    key = Fernet.generate_key().decode()
    print(
        f"{args.reminders} due reminders, PostgreSQL database {DATABASE}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    results = []
    with tempfile.TemporaryDirectory() as logs:
        for workers in (int(w) for w in args.workers.split(",")):
            result = run(url, key, workers, args.reminders, Path(logs), not args.no_analyze)
            results.append(result)
            print(
                f"{workers} worker(s): {result['seconds']:.1f} s, "
                f"{result['per_second']:.0f} reminders/s; sent {result['sent']}, duplicates "
                f"{result['duplicates']}, missed {result['missed']}",
                flush=True,
            )
    one = next((r for r in results if r["workers"] == 1), None)
    if one is not None:
        print(
            "throughput vs one worker: "
            + ", ".join(
                f"{r['workers']}: x{r['per_second'] / one['per_second']:.2f}" for r in results
            )
        )
    ok = all(
        r["duplicates"] == 0 and r["missed"] == 0 and r["sent"] == args.reminders for r in results
    )
    four = next((r for r in results if r["workers"] == 4), None)
    if four is not None:
        print(f"4 workers within 60 s: {'yes' if four['seconds'] <= 60 else 'NO'}")
    return 0 if ok and (four is None or four["seconds"] <= 60) else 1


if __name__ == "__main__":
    sys.exit(main())
