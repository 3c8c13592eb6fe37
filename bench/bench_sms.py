"""Benchmark: signed inbound SMS through gunicorn, against a bare Flask app on the same server.

Targets (issue 3): throughput at least half the bare app's, and p99 latency of ours under 50 ms,
at 16 concurrent connections.

Ours: `gunicorn 'app:create_app()'` with 2 workers, SQLite (WAL), the local engine, every
request a signed Twilio webhook with a new MessageSid, so each one is verified, claimed, run
through the engine (consent, keywords, rate limit, dialogue, audit) and answered in TwiML.
Baseline, measured in the same run on the same gunicorn settings: a bare Flask app that checks
the same signature with twilio's RequestValidator and returns the same shape of TwiML.
Also measured, for scale: a "floor" app, the least an SMS turn has to store, written straight on
sqlite3 (no ORM, no dialogue): the receipt's claim and answer, the patient, a rate-limit count,
the conversation state, two hash-chained audit events, with the same encryption and one log line.
What it reaches is what any Python implementation of the turn could hope for on this machine.

Patients follow a script of texts (consent, YES, help, list, a booking with a slot search,
a choice that books, each patient on another day); each number sends at most 10 texts, so the
rate limit never applies. At the end the benchmark counts ours' bookings: one a patient.
Requests are signed before timing starts; each client thread keeps its numbers in order.

    .venv/bin/python bench/bench_sms.py [--requests 3000] [--connections 16] [--workers 2]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/EMPTY_DB]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import logging
import os
import platform
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import phonenumbers
from cryptography.fernet import Fernet
from flask import Flask, Response, request
from sqlalchemy import create_engine
from sqlalchemy import text as sql
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

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
BARE_REPLY = (
    "Maple Street Family Clinic: appointment texts to book, move or cancel visits. Msg & "
    "data rates may apply. Reply YES to continue, HELP for help, STOP to opt out."
)


def bare_app() -> Flask:
    """The baseline: verify Twilio's signature, answer TwiML. Nothing else."""
    app = Flask("bare_twiml")
    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
    base = os.environ["PUBLIC_BASE_URL"].rstrip("/")

    @app.post("/twilio/sms")
    def sms():
        if not validator.validate(
            base + request.path, request.form, request.headers.get("X-Twilio-Signature", "")
        ):
            return Response("invalid Twilio signature\n", status=403, mimetype="text/plain")
        response = MessagingResponse()
        response.message(BARE_REPLY)
        return Response(str(response), mimetype="application/xml")

    return app


_FLOOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (id INTEGER PRIMARY KEY, key TEXT UNIQUE, at REAL, twiml BLOB);
CREATE TABLE IF NOT EXISTS patients (id INTEGER PRIMARY KEY, idx TEXT UNIQUE, phone BLOB);
CREATE TABLE IF NOT EXISTS states (idx TEXT PRIMARY KEY, state BLOB, at REAL);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, kind TEXT, patient INTEGER, at REAL,
                                  detail TEXT, text BLOB, prev TEXT, hash TEXT);
CREATE INDEX IF NOT EXISTS audit_by_patient ON audit (patient, kind, at);
"""


def floor_app() -> Flask:
    """For scale, not a baseline: the least an SMS turn must store, on sqlite3 directly."""
    app = Flask("floor_twiml")
    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
    base = os.environ["PUBLIC_BASE_URL"].rstrip("/")
    fernet = Fernet(os.environ["ENCRYPTION_KEYS"])
    index_key = hashlib.sha256(os.environ["ENCRYPTION_KEYS"].encode()).digest()
    log = logging.getLogger("bench.floor")
    log.addHandler(logging.FileHandler(os.environ["FLOOR_LOG"]))
    log.setLevel(logging.INFO)
    log.propagate = False
    connection: list[sqlite3.Connection] = []  # one a worker, opened after the fork

    def db() -> sqlite3.Connection:
        if not connection:
            db = sqlite3.connect(os.environ["FLOOR_DB"], isolation_level=None, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_FLOOR_SCHEMA)
            connection.append(db)
        return connection[0]

    @app.post("/twilio/sms")
    def sms():
        if not validator.validate(
            base + request.path, request.form, request.headers.get("X-Twilio-Signature", "")
        ):
            return Response("invalid Twilio signature\n", status=403, mimetype="text/plain")
        form, began = request.form, time.perf_counter()
        phone = phonenumbers.format_number(
            phonenumbers.parse(form["From"], "US"), phonenumbers.PhoneNumberFormat.E164
        )
        index = hmac.new(index_key, phone.encode(), hashlib.sha256).hexdigest()
        now = time.time()
        con = db()
        con.execute("BEGIN IMMEDIATE")
        try:
            receipt = con.execute(
                "INSERT INTO receipts (key, at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING id",
                (index[:16] + form["MessageSid"], now),
            ).fetchone()
            patient = con.execute("SELECT id FROM patients WHERE idx = ?", (index,)).fetchone()
            if patient is None:
                patient = con.execute(
                    "INSERT INTO patients (idx, phone) VALUES (?, ?) RETURNING id",
                    (index, fernet.encrypt(phone.encode())),
                ).fetchone()
            con.execute(
                "SELECT count(*) FROM audit WHERE patient = ? AND kind = 'in' AND at > ?",
                (patient[0], now - 600),
            ).fetchone()
            row = con.execute("SELECT state FROM states WHERE idx = ?", (index,)).fetchone()
            state = json.loads(fernet.decrypt(row[0])) if row else {}
            state["texts"] = state.get("texts", 0) + 1
            con.execute(
                "INSERT INTO states (idx, state, at) VALUES (?, ?, ?) ON CONFLICT (idx) "
                "DO UPDATE SET state = excluded.state, at = excluded.at",
                (index, fernet.encrypt(json.dumps(state).encode()), now),
            )
            tail = con.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            prev, events = tail[0] if tail else "0" * 64, []
            for kind, text in (("in", form["Body"]), ("out", BARE_REPLY)):
                detail = json.dumps({"chars": len(text)})
                digest = hashlib.sha256(
                    json.dumps(
                        [
                            prev,
                            kind,
                            patient[0],
                            now,
                            detail,
                            hashlib.sha256(text.encode()).hexdigest(),
                        ]
                    ).encode()
                ).hexdigest()
                events.append(
                    (kind, patient[0], now, detail, fernet.encrypt(text.encode()), prev, digest)
                )
                prev = digest
            con.executemany(
                "INSERT INTO audit (kind, patient, at, detail, text, prev, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                events,
            )
            response = MessagingResponse()
            response.message(BARE_REPLY)
            twiml = str(response)
            con.execute(
                "UPDATE receipts SET twiml = ? WHERE id = ?",
                (fernet.encrypt(twiml.encode()), receipt[0] if receipt else 0),
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        log.info(json.dumps({"event": "sms", "ms": round((time.perf_counter() - began) * 1000, 3)}))
        return Response(twiml, mimetype="application/xml")

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(
    target: str, port: int, env: dict, workers: int, worker_class: str, threads: int
) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
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
    if worker_class == "gthread":  # (threads > 1 would turn a sync worker into gthread)
        command[3:3] = ["--threads", str(threads)]
    process = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn for {target} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
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
    lock = threading.Lock()
    start = threading.Barrier(len(lanes) + 1)
    stop_at = [0.0]

    def run(lane):
        connection = None
        mine, bad, chose = [], [], 0
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
        if connection is not None:
            connection.close()
        with lock:
            latencies.extend(mine)
            failures.extend(bad)
            chosen.append(chose)

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
    }


def describe(name: str, result: dict) -> str:
    return (
        f"  {name:<6} {result['requests']:5d} requests in {result['seconds']:5.1f} s: "
        f"{result['rps']:7.1f} req/s   p50 {result['p50']:6.1f} ms   "
        f"p90 {result['p90']:6.1f} ms   p99 {result['p99']:6.1f} ms   "
        f"max {result['max']:6.1f} ms"
        + (f"   failures {len(result['failures'])}" if result["failures"] else "")
    )


def main() -> int:
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
        help="an empty PostgreSQL database for ours instead of SQLite (the "
        "issue's figure is SQLite's; this one is for comparison)",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-sms-"))
    ports = {"bare": free_port(), "floor": free_port(), "ours": free_port()}
    database = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
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
        "FLOOR_DB": str(workdir / "floor.db"),
        "FLOOR_LOG": str(workdir / "floor.log"),
    }
    for name in ("TWILIO_FROM_NUMBER", "TWILIO_MESSAGING_SERVICE_SID", "TWILIO_API_BASE_URL"):
        env.pop(name, None)  # replies only in TwiML: nothing leaves the machine

    # Migrate and load the clinic once, before the workers start (they would race on a new file).
    from app import build_services
    from bot.settings import Settings

    services = build_services(Settings.from_env(env))
    services.engine.dispose()

    targets = {
        "bare": "bench.bench_sms:bare_app()",
        "floor": "bench.bench_sms:floor_app()",
        "ours": "app:create_app()",
    }
    servers: dict[str, subprocess.Popen] = {}
    results = {}
    try:
        for name, target in targets.items():
            servers[name] = start_gunicorn(
                target,
                ports[name],
                {**env, "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports[name]}"},
                args.workers,
                args.worker_class,
                args.threads,
            )
        number = 0
        choices = dict.fromkeys(ports, 0)  # texts that chose an offered opening ("2")
        for name, port in ports.items():
            lanes = signed_requests(
                f"http://127.0.0.1:{port}", args.warmup, args.connections, number
            )
            number += args.warmup
            choices[name] += load(port, lanes, args.time_limit)["choices"]
        # Side by side: bare, floor, ours, twice; each figure is the sum over its two halves.
        halves: dict[str, list[dict]] = {name: [] for name in ports}
        for _ in range(2):
            for name, port in ports.items():
                lanes = signed_requests(
                    f"http://127.0.0.1:{port}", args.requests // 2, args.connections, number
                )
                number += args.requests
                halves[name].append(load(port, lanes, args.time_limit / 2))
                choices[name] += halves[name][-1]["choices"]
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

    ratio = results["ours"]["rps"] / results["bare"]["rps"]
    threads = f", {args.threads} threads" if args.worker_class == "gthread" else ""
    print(
        f"inbound SMS, {args.connections} connections, gunicorn {args.workers} workers "
        f"({args.worker_class}{threads}), "
        f"{'PostgreSQL' if args.database_url else 'SQLite'}, local engine"
    )
    print(
        f"  machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}"
    )
    for name in ports:
        print(describe(name, results[name]))
    print(f"  throughput ratio ours / bare: {ratio:.2f}  (target >= 0.5)")
    print(f"  p99 latency ours: {results['ours']['p99']:.1f} ms  (target < 50 ms)")
    print(
        f"  for scale, floor / bare: {results['floor']['rps'] / results['bare']['rps']:.2f}, "
        f"ours / floor: {results['ours']['rps'] / results['floor']['rps']:.2f}"
        + ("  (the floor is on SQLite)" if args.database_url else "")
    )
    engine = create_engine(database)
    with engine.connect() as connection:
        booked = connection.execute(sql("SELECT count(*) FROM appointments")).scalar()
    engine.dispose()
    print(
        f"  ours booked {booked} appointments for the {choices['ours']} texts that chose an "
        f'opening ("2")'
    )
    failed = [f for result in results.values() for f in result["failures"]]
    if failed:
        print(f"  {len(failed)} failed requests: {sorted(set(failed))}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
