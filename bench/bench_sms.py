"""Benchmark: signed inbound SMS through gunicorn, against the least an SMS turn must store.

Targets (issue 20): at 16 concurrent connections, ours at least 0.7 of the floor's throughput
(the floor measured in the same run, on the same database) with a p99 latency under 50 ms, on
SQLite and on PostgreSQL. (Issue 3's target was half the bare app's throughput.)

Ours: `gunicorn 'app:create_app()'` with 2 workers, SQLite (WAL) or PostgreSQL, the local
engine, every request a signed Twilio webhook with a new MessageSid, so each one is verified,
claimed, run through the engine (consent, keywords, rate limit, dialogue, audit) and answered in
TwiML. Measured in the same run on the same gunicorn settings (bench/sms_servers.py):
- the floor: the least an SMS turn has to store, written straight on the driver (sqlite3 or
  psycopg; no ORM, no dialogue): the receipt's claim and answer, the patient, a rate-limit
  count, the conversation state, two hash-chained audit events, with the same encryption and
  one log line, and the locks ours takes: SQLite's write lock through scheduler/db.py's writer
  queue, PostgreSQL's advisory locks that order one person's turns and the audit chain. What it
  reaches is what any Python implementation of the turn could hope for.
- the ceiling: the floor's turn, statement for statement, through the project's own data layer
  (scheduler/db.py's engine, with its writer queue on SQLite, and an ORM Session a turn): what
  a turn that stored no more than the floor could reach on this stack.
- bare: a Flask app that checks the same signature with twilio's RequestValidator and returns
  the same shape of TwiML (what the web stack itself costs).

Patients follow a script of texts (consent, YES, help, list, a booking with a slot search,
a choice that books, each patient on another day); each number sends at most 10 texts, so the
rate limit never applies. At the end the benchmark counts ours' bookings: one a patient.
Requests are signed before timing starts; each client thread keeps its numbers in order.

    .venv/bin/python bench/bench_sms.py [--requests 3000] [--connections 16] [--workers 2]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_sms]  # wiped
    .venv/bin/python bench/bench_sms.py --smoke [--database-url ...]   # seconds, for `make test`
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet
from sqlalchemy import create_engine
from sqlalchemy import text as sql
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

from bench.machine import machine
from bench.seed import reset
from bench.smoke import private_database
from bench.sms_servers import prepare_floor, stored_turns

TOKEN = "bench-auth-token-" + "0" * 16
ACCOUNT_SID = "AC" + "0" * 32
# Each patient asks for a day and an hour of their own among those whose conversations overlap
# (`booking_days`), so that every "2" books: asked for one day, the calendar would fill up
# within the run; asked for nearby times at once, two patients would pick the same opening and
# one would be offered others.
SCRIPT = [
    "hi",
    "YES",
    "help",
    "my appointments",
    "book a checkup on {day} at {hour}",
    "skip",
    "2",
    "my appointments",
    "thanks",
    "what can you do",
]
HOURS = ["8am", "9am", "10am", "11am", "12pm", "1pm", "2pm", "3pm", "4pm"]
CHOICE = b"&Body=2&"  # the text that books, as it is sent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(
    target: str,
    port: int,
    env: dict,
    workers: int,
    worker_class: str,
    threads: int,
    *,
    wait: bool = True,
) -> subprocess.Popen:
    """gunicorn serving `target` on 127.0.0.1:`port`, listening once this returns (with
    `wait`; else see `wait_listening`). The web nodes' settings file (deploy/gunicorn.conf.py:
    its hooks and timeouts, the access log off here), with the workers, worker class, threads,
    address and backlog given here taking precedence."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(ROOT / "deploy" / "gunicorn.conf.py"),
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        worker_class,
        "--backlog",
        "256",
        "--log-level",
        "warning",
        "--chdir",
        str(ROOT),
        target,
    ]
    # Always given: the settings file's threads (8) would turn a sync worker into gthread.
    command[3:3] = ["--threads", str(threads if worker_class == "gthread" else 1)]
    env = {**env, "WEB_ACCESS_LOG": ""}
    process = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    if wait:
        wait_listening(process, port, target)
    return process


def wait_listening(process: subprocess.Popen, port: int, target: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn for {target} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    stop(process)
    sys.exit(f"gunicorn for {target} did not start within 60 s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def booking_days() -> list[str]:
    """Mondays to Thursdays from the day after tomorrow to 85 days ahead (the check-up's
    horizon is 90), as patients write them ("December 3"): days on which every general
    practitioner of the demo clinic works."""
    today = datetime.now(ZoneInfo("America/New_York")).date()
    days = (today + timedelta(days=n) for n in range(2, 86))
    return [f"{day:%B} {day.day}" for day in days if day.weekday() < 4]


def signed_requests(
    base_url: str, count: int, connections: int, first_number: int
) -> list[list[tuple[bytes, str]]]:
    """`count` signed webhook bodies, split over the connections; each patient's texts stay in
    one connection, in script order.

    Lane k begins with a patient who sends only the first k * 10 / connections texts of the
    script: the lanes are spread over the script from the start, as independent patients are.
    Begun together, they would stay in step, every lane sending its booking ("2") at about the
    same moment, a burst that no population of patients produces."""
    validator = RequestValidator(TOKEN)
    url = base_url + "/twilio/sms"
    days = booking_days()
    per_connection: list[list[tuple[bytes, str]]] = [[] for _ in range(connections)]
    openers = [SCRIPT[: lane * len(SCRIPT) // connections] or SCRIPT for lane in range(connections)]
    made, serial = 0, first_number
    while made < count:
        for lane in range(connections):
            texts, openers[lane] = openers[lane], SCRIPT
            number = f"+1646{serial:07d}"
            for text in texts[: count - made]:
                body = text.format(
                    day=days[serial % len(days)], hour=HOURS[serial // len(days) % len(HOURS)]
                )
                params = {
                    "MessageSid": "SM" + uuid.uuid4().hex,
                    "AccountSid": ACCOUNT_SID,
                    "From": number,
                    "To": "+12125550100",
                    "Body": body,
                    "NumMedia": "0",
                    "NumSegments": "1",
                    "SmsStatus": "received",
                    "ApiVersion": "2010-04-01",
                }
                per_connection[lane].append(
                    (urlencode(params).encode(), validator.compute_signature(url, params))
                )
                made += 1
            serial += 1
    return per_connection


def load(port: int, lanes: list[list[tuple[bytes, str]]], time_limit: float) -> dict:
    """Send every lane's requests on its own connection, all lanes at once."""
    latencies: list[float] = []
    failures: list[str] = []
    chosen: list[int] = []
    answered: list[int] = []  # each lane's texts answered with a 200 and TwiML
    lock = threading.Lock()
    start = threading.Barrier(len(lanes) + 1)
    stop_at = [0.0]

    def run(lane):
        connection = None
        mine, bad, chose, ok = [], [], 0, 0
        start.wait()
        for body, sig in lane:
            if time.monotonic() > stop_at[0]:
                break
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": sig,
            }
            began = time.perf_counter()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("POST", "/twilio/sms", body, headers)
                response = connection.getresponse()
                data = response.read()
                if response.will_close:
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException) as exc:
                bad.append(type(exc).__name__)
                connection = None
                continue
            mine.append(time.perf_counter() - began)
            chose += CHOICE in body
            if response.status != 200 or b"<Response" not in data:
                bad.append(f"HTTP {response.status}")
            else:
                ok += 1
        if connection is not None:
            connection.close()
        with lock:
            latencies.extend(mine)
            failures.extend(bad)
            chosen.append(chose)
            answered.append(ok)

    threads = [threading.Thread(target=run, args=(lane,)) for lane in lanes]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + time_limit
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    if not ordered:
        sys.exit(f"no request to port {port} succeeded: {sorted(set(failures))}")

    def pct(p):
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50": pct(50),
        "p90": pct(90),
        "p99": pct(99),
        "max": ordered[-1] * 1000,
        "mean": statistics.fmean(latencies) * 1000,
        "failures": failures,
        "choices": sum(chosen),
        "answered": sum(answered),
    }


def describe(name: str, result: dict) -> str:
    return (
        f"  {name:<7} {result['requests']:5d} requests in {result['seconds']:5.1f} s: "
        f"{result['rps']:7.1f} req/s   p50 {result['p50']:6.1f} ms   "
        f"p90 {result['p90']:6.1f} ms   p99 {result['p99']:6.1f} ms   "
        f"max {result['max']:6.1f} ms"
        + (f"   failures {len(result['failures'])}" if result["failures"] else "")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=3000, help="signed texts sent to each server (default 3000)"
    )
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--worker-class",
        default="sync",
        choices=["sync", "gthread"],
        help="gunicorn worker class for both servers (default: sync, its own)",
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument(
        "--time-limit", type=float, default=45.0, help="seconds at most per measured run"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL database it may wipe, for ours and the floor instead of SQLite files",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="80 texts on 4 connections, one worker each; a --database-url gets a database of its own",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.requests, args.warmup, args.connections, args.workers = 80, 20, 4, 1
    with ExitStack() as stack:
        database = args.database_url
        if database and args.smoke:
            database = stack.enter_context(private_database(database))
        elif database:
            reset(database)  # created if missing, emptied and migrated
        return measure(args, database)


def measure(args: argparse.Namespace, postgres: str | None) -> int:
    """Start the four servers, load each in turn, print the figures; 1 if a request failed
    or a yardstick did not store every turn it answered."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-sms-"))
    ports = {name: free_port() for name in ("bare", "floor", "ceiling", "ours")}
    database = postgres or f"sqlite:///{workdir / 'bench.db'}"
    floor = (
        {"FLOOR_URL": make_url(postgres).set(drivername="postgresql").render_as_string(False)}
        if postgres
        else {"FLOOR_DB": str(workdir / "floor.db"), "CEILING_DB": str(workdir / "ceiling.db")}
    )
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LOG_DIR": str(workdir / "logs"),
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "LLM_ENGINE": "local",
        "JOBS_IN_PROCESS": "false",
        "PYTHONPATH": str(ROOT),
        "FLOOR_LOG": str(workdir / "floor.log"),
        **floor,
    }
    for name in (
        "TWILIO_FROM_NUMBER",
        "TWILIO_MESSAGING_SERVICE_SID",
        "TWILIO_API_BASE_URL",
        "FLOOR_URL" if not postgres else "FLOOR_DB",
    ):
        env.pop(name, None)  # replies only in TwiML: nothing leaves the machine

    # Migrate and load the clinic once, before the workers start (they would race on a new file).
    from app import build_services
    from bot.settings import Settings

    services = build_services(Settings.from_env(env))
    services.engine.dispose()
    prepare_floor(env)

    targets = {
        "bare": "bench.sms_servers:bare_app()",
        "floor": "bench.sms_servers:floor_app()",
        "ceiling": "bench.sms_servers:ceiling_app()",
        "ours": "app:create_app()",
    }
    servers: dict[str, subprocess.Popen] = {}
    results = {}
    try:
        for name, target in targets.items():  # started together, their workers boot at once
            servers[name] = start_gunicorn(
                target,
                ports[name],
                {**env, "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports[name]}"},
                args.workers,
                args.worker_class,
                args.threads,
                wait=False,
            )
        for name, target in targets.items():
            wait_listening(servers[name], ports[name], target)
        number = 0
        # Over every load of a server, warm-up included: the texts that chose an offered
        # opening ("2"), and those answered.
        choices = dict.fromkeys(ports, 0)
        answered = dict.fromkeys(ports, 0)

        def tally(name: str, result: dict) -> dict:
            choices[name] += result["choices"]
            answered[name] += result["answered"]
            return result

        for name, port in ports.items():
            lanes = signed_requests(
                f"http://127.0.0.1:{port}", args.warmup, args.connections, number
            )
            number += args.warmup
            tally(name, load(port, lanes, args.time_limit))
        # Side by side: bare, floor, ceiling, ours, twice; each figure the sum of its halves.
        halves: dict[str, list[dict]] = {name: [] for name in ports}
        for _ in range(2):
            for name, port in ports.items():
                lanes = signed_requests(
                    f"http://127.0.0.1:{port}", args.requests // 2, args.connections, number
                )
                number += args.requests
                halves[name].append(tally(name, load(port, lanes, args.time_limit / 2)))
        for name, parts in halves.items():
            latencies_note = {k: max(p[k] for p in parts) for k in ("p99", "max")}
            requests_ = sum(p["requests"] for p in parts)
            seconds = sum(p["seconds"] for p in parts)
            results[name] = {
                "requests": requests_,
                "seconds": seconds,
                "rps": requests_ / seconds,
                "p50": statistics.fmean(p["p50"] for p in parts),
                "p90": statistics.fmean(p["p90"] for p in parts),
                **latencies_note,
                "failures": [f for p in parts for f in p["failures"]],
            }
    finally:
        for process in servers.values():
            stop(process)

    ours = results["ours"]
    ratio = ours["rps"] / results["floor"]["rps"]
    threads = f", {args.threads} threads" if args.worker_class == "gthread" else ""
    print(
        f"inbound SMS, {args.connections} connections, gunicorn {args.workers} workers "
        f"({args.worker_class}{threads}), {'PostgreSQL' if postgres else 'SQLite'} for ours "
        f"and the yardsticks, local engine"
    )
    print(f"  machine: {machine()}")
    for name in ports:
        print(describe(name, results[name]))
    print(
        f"  throughput ratio ours / floor: {ratio:.2f}  (target >= 0.7: "
        f"{'met' if ratio >= 0.7 else 'missed'})"
    )
    print(
        f"  p99 latency ours: {ours['p99']:.1f} ms  (target < 50 ms: "
        f"{'met' if ours['p99'] < 50 else 'missed'})"
    )
    print(
        f"  for scale, ours / bare: {ours['rps'] / results['bare']['rps']:.2f}, "
        f"floor / bare: {results['floor']['rps'] / results['bare']['rps']:.2f}"
    )
    ceiling = results["ceiling"]
    print(
        f"  the ceiling (the floor's statements on the project's engine and Session): "
        f"{ceiling['rps'] / results['floor']['rps']:.2f} of the floor, p99 "
        f"{ceiling['p99']:.1f} ms; ours / ceiling: {ours['rps'] / ceiling['rps']:.2f}"
    )
    engine = create_engine(database)
    with engine.connect() as connection:
        booked = connection.execute(sql("SELECT count(*) FROM appointments")).scalar()
    engine.dispose()
    print(
        f"  ours booked {booked} appointments for the {choices['ours']} texts that chose an "
        f'opening ("2")'
    )
    stored = stored_turns(env)
    print(
        "  turns stored: "
        + ", ".join(f"{name} {stored[name]} of {answered[name]}" for name in stored)
    )
    failed = [f for result in results.values() for f in result["failures"]]
    if failed:
        print(f"  {len(failed)} failed requests: {sorted(set(failed))}")
        return 1
    if booked != choices["ours"]:
        print("  some choices did not book")
        return 1
    if any(stored[name] != answered[name] for name in stored):
        print("  a yardstick did not store every turn it answered")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
