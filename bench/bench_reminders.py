"""Benchmark: due reminders sent by 1, 2 and 4 `python -m jobs --once` worker processes (issue 6),
against the raw claim-and-mark of PostgreSQL by as many processes (issue 20: at least 0.25 of it).

PostgreSQL, a database named `bench_reminders` on the server of TEST_DATABASE_URL (created, wiped
and migrated by the bench). For each run: N patients, each with one appointment tomorrow and one
reminder due a minute ago, and ANALYZE (a table in service has statistics; with `--no-analyze` the
first claims are planned on a table never analyzed); then W worker processes (`python -m jobs
--once`, the real entry point: build_services, the claim with FOR UPDATE SKIP LOCKED, the outbox as
the sender, which records each text encrypted instead of texting, and the per-batch audit append).
Timed from the workers' start to the last one's exit (their start-up included). Checked after each
run: every reminder "sent", exactly one outbox text per patient (zero duplicates, zero missed).

The baseline, measured in the same run on the same seeded rows before each run of ours: W
processes of bench/raw_claims.py, each claiming batches of the same size (500) with `SELECT ...
FOR UPDATE SKIP LOCKED` and marking them sent by id in the same transaction, nothing else (no
text, no outbox, no audit), timed the same way. Checked: every row marked once.

The ceiling, measured the same way on the same rows: W processes of bench/reminder_ceiling.py,
which store what a reminder through the outbox must (its encrypted text, the "sent" mark, its
chained audit event and mirror line) with the least Python. Checked like ours, and its audit
chain walked by `audit verify`'s own code.

    .venv/bin/python bench/bench_reminders.py [--reminders 100000] [--workers 1,2,4] [--no-analyze]
    .venv/bin/python bench/bench_reminders.py --smoke   # 300 reminders, 2 workers
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bench.machine import machine
from bench.seed import seed_due_reminders
from bench.smoke import private_database
from bot.audit.trail import AuditTrail
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


BATCH = 500  # ReminderSender's batch (jobs/reminders/sender.py)


def prepare(url: str, key: str, count: int, analyze: bool) -> None:
    """The tables emptied, then `count` due reminders seeded (and analyzed)."""
    engine = make_engine(url)
    wipe(engine)
    seed_due_reminders(session_factory(engine), Vault([key]), count)
    if analyze:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE reminders, patients, appointments"))
    engine.dispose()


def timed(what: str, commands: list[list[str]], **popen: Any) -> tuple[float, list[bytes]]:
    """Run the commands as processes at once; the seconds from their start to the last exit,
    and what each printed. A process that fails stops the bench."""
    started = time.perf_counter()
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)
        for command in commands
    ]
    outputs = [p.communicate() for p in procs]
    seconds = time.perf_counter() - started
    if any(p.returncode for p in procs):
        raise SystemExit(f"a {what} failed:\n" + "\n".join(e.decode()[-2000:] for _, e in outputs))
    return seconds, [out for out, _ in outputs]


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def run_raw(url: str, workers: int, count: int) -> dict:
    """The baseline: `workers` processes of raw claim-and-mark, timed from start to last exit."""
    command = [sys.executable, str(ROOT / "bench" / "raw_claims.py"), libpq_url(url), str(BATCH)]
    seconds, outputs = timed("raw worker", [command] * workers)
    marked = sum(int(out) for out in outputs)
    engine = make_engine(url)
    with engine.connect() as connection:
        sent = connection.execute(
            text("SELECT count(*) FROM reminders WHERE status = 'sent'")
        ).scalar_one()
    engine.dispose()
    return {
        "seconds": seconds,
        "per_second": count / seconds,
        "duplicates": marked - sent,
        "missed": count - sent,
    }


def run_ceiling(url: str, key: str, workers: int, count: int, logs: Path) -> dict:
    """The ceiling: `workers` processes of bench/reminder_ceiling.py (the rows a reminder must
    store, the least Python around them), timed and checked the way ours are."""
    command = [sys.executable, str(ROOT / "bench" / "reminder_ceiling.py"), libpq_url(url)]
    seconds, _ = timed(
        "ceiling worker",
        [[*command, str(BATCH), key, str(logs / f"ceiling-{n}.log")] for n in range(workers)],
    )
    result = {"seconds": seconds, "per_second": count / seconds, **delivered(url, count)}
    engine = make_engine(url)
    with session_factory(engine)() as db:
        result["chain_ok"] = AuditTrail(Vault([key])).verify(db).ok
    engine.dispose()
    return result


def delivered(url: str, count: int) -> dict:
    """Reminders marked sent, and outbox texts duplicated and missed (one per patient)."""
    engine = make_engine(url)
    with session_factory(engine)() as db:
        sent = db.scalar(
            select(func.count()).select_from(Reminder).where(Reminder.status == "sent")
        )
        texts = db.scalar(select(func.count()).select_from(OutboxMessage))
        recipients = db.scalar(select(func.count(func.distinct(OutboxMessage.recipient_index))))
    engine.dispose()
    assert texts is not None and recipients is not None
    return {"sent": sent, "duplicates": texts - recipients, "missed": count - recipients}


def run(url: str, key: str, workers: int, count: int, logs: Path) -> dict:
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
    seconds, _ = timed(
        "worker", [[sys.executable, "-m", "jobs", "--once"]] * workers, cwd=ROOT, env=env
    )
    return {
        "workers": workers,
        "seconds": seconds,
        "per_second": count / seconds,
        **delivered(url, count),
    }


def main(argv: list[str] | None = None) -> int:
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
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="300 reminders, 2 workers, on a database of its own; no timing checked",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.reminders, args.workers = 300, "2"
    named = make_url(args.server_url).set(database=DATABASE).render_as_string(False)
    with ExitStack() as stack:
        if args.smoke:
            url = stack.enter_context(private_database(named))
            upgrade(url)
        else:
            url = fresh_database(args.server_url)
        return measure(url, args)


def measure(url: str, args: argparse.Namespace) -> int:
    engine = make_engine(url)
    with session_factory(engine).begin() as db:
        install_clinic(db, load_clinic(None))
    engine.dispose()
    key = Fernet.generate_key().decode()
    print(
        f"{args.reminders} due reminders, PostgreSQL database {make_url(url).database}; {machine()}"
    )
    results = []
    analyze = not args.no_analyze
    with tempfile.TemporaryDirectory() as logs:
        for workers in (int(w) for w in args.workers.split(",")):
            prepare(url, key, args.reminders, analyze)
            raw = run_raw(url, workers, args.reminders)
            prepare(url, key, args.reminders, analyze)
            ceiling = run_ceiling(url, key, workers, args.reminders, Path(logs))
            prepare(url, key, args.reminders, analyze)
            result = run(url, key, workers, args.reminders, Path(logs))
            result["raw"], result["ceiling"] = raw, ceiling
            results.append(result)
            print(
                f"{workers} worker(s): {result['seconds']:.1f} s, "
                f"{result['per_second']:.0f} reminders/s; sent {result['sent']}, duplicates "
                f"{result['duplicates']}, missed {result['missed']}; raw claim-and-mark "
                f"(baseline) {raw['seconds']:.1f} s, {raw['per_second']:.0f}/s (duplicates "
                f"{raw['duplicates']}, missed {raw['missed']}); ratio "
                f"{result['per_second'] / raw['per_second']:.2f} (target >= 0.25); ceiling "
                f"{ceiling['seconds']:.1f} s, {ceiling['per_second']:.0f}/s (duplicates "
                f"{ceiling['duplicates']}, missed {ceiling['missed']}, chain "
                f"{'verified' if ceiling['chain_ok'] else 'BROKEN'}), ceiling/raw "
                f"{ceiling['per_second'] / raw['per_second']:.2f}, ours/ceiling "
                f"{result['per_second'] / ceiling['per_second']:.2f}",
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
        r["duplicates"] == 0
        and r["missed"] == 0
        and r["sent"] == args.reminders
        and r["raw"]["duplicates"] == 0
        and r["raw"]["missed"] == 0
        and r["ceiling"]["sent"] == args.reminders
        and r["ceiling"]["duplicates"] == 0
        and r["ceiling"]["missed"] == 0
        and r["ceiling"]["chain_ok"]
        for r in results
    )
    four = next((r for r in results if r["workers"] == 4), None)
    if four is not None:
        print(f"4 workers within 60 s: {'yes' if four['seconds'] <= 60 else 'NO'}")
    return 0 if ok and (args.smoke or four is None or four["seconds"] <= 60) else 1


if __name__ == "__main__":
    sys.exit(main())
