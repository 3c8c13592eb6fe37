"""Benchmark: real patients' texts while forged webhooks flood the app.

Issue 13 found that 4,800 forged posts in 13 s wrote 4,800 hash-chained `security` events
through SQLite's single writer and raised real patients' median latency from 5.5 to 23 ms.
Refused requests are now counted in memory and written as one event per address and minute
(adapters/refusals.py), and an address refused 30 times in a minute gets 429 before the check.

Ours: `gunicorn 'app:create_app()'`, 2 sync workers, SQLite, the local engine. Real patients
send signed texts (bench_sms's script) on `--patients` connections from 127.0.0.1, closed loop.
Measured in the same run, in this order:

1. patients alone (the baseline);
2. patients while `--flooders` connections post forged webhooks as fast as they can, all from
   one address (127.0.0.2);
3. the same, the forged posts spread over `--addresses` source addresses (127.0.1.x, 127.0.2.x,
   ...), as a flood from many machines: each address gets its 30 refusals a minute before the 429s.

For each phase it prints the patients' p50 and p99 and their ratio to phase 1, the flood's rate
and answers, and the rows the flood wrote to `audit_events` and `refusal_tallies`.

    .venv/bin/python bench/bench_flood.py [--seconds 15] [--patients 4] [--flooders 4]
    .venv/bin/python bench/bench_flood.py --smoke   # 0.5 s phases, no wait for the tallies' minute
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet
from sqlalchemy import create_engine
from sqlalchemy import text as sql

from bench.bench_sms import (
    ACCOUNT_SID,
    TOKEN,
    free_port,
    load,
    signed_requests,
    start_gunicorn,
    stop,
)
from bench.machine import machine


def forged_body() -> bytes:
    return urlencode(
        {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": ACCOUNT_SID,
            "From": "+16460000000",
            "To": "+12125550100",
            "Body": "hi",
            "NumMedia": "0",
        }
    ).encode()


def flood(port: int, connections: int, addresses: list[str], stop_flag: threading.Event) -> Counter:
    """Forged posts (a wrong signature) on `connections` connections until `stop_flag`; the
    source addresses are taken in turn, one connection each."""
    answers: Counter = Counter()
    lock = threading.Lock()
    turn = iter(range(10**9))

    def run():
        mine: Counter = Counter()
        connection = None
        while not stop_flag.is_set():
            if connection is None:
                with lock:
                    address = addresses[next(turn) % len(addresses)]
                connection = http.client.HTTPConnection(
                    "127.0.0.1", port, timeout=30, source_address=(address, 0)
                )
            try:
                connection.request(
                    "POST",
                    "/twilio/sms",
                    forged_body(),
                    {
                        "Content-Type": "application/x-www-form-urlencoded",
                        "X-Twilio-Signature": "bm90LWEtc2lnbmF0dXJl",
                    },
                )
                response = connection.getresponse()
                response.read()
                mine[response.status] += 1
            except (OSError, http.client.HTTPException) as exc:
                mine[type(exc).__name__] += 1
                connection = None
                continue
            if len(addresses) > 1:  # a new connection, from the next address
                connection.close()
                connection = None
        with lock:
            answers.update(mine)

    threads = [threading.Thread(target=run) for _ in range(connections)]
    for thread in threads:
        thread.start()
    stop_flag.wait()
    for thread in threads:
        thread.join()
    return answers


def rows(database: str) -> tuple[int, int]:
    engine = create_engine(database)
    with engine.connect() as connection:
        events = connection.execute(sql("SELECT count(*) FROM audit_events")).scalar()
        try:  # (code before the tallies had none: for a before-and-after comparison)
            tallies = connection.execute(sql("SELECT count(*) FROM refusal_tallies")).scalar()
        except Exception:
            tallies = 0
    engine.dispose()
    return events, tallies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="per phase")
    parser.add_argument("--patients", type=int, default=4, help="patients' connections")
    parser.add_argument("--flooders", type=int, default=4, help="forged posts' connections")
    parser.add_argument(
        "--addresses", type=int, default=250, help="source addresses of the spread flood (phase 3)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="0.5 s phases, one worker, 2 + 2 connections, 10 addresses; the tallies' minute is not waited for",
    )
    args = parser.parse_args(argv)
    warmup = 200
    if args.smoke:
        args.seconds, args.patients, args.flooders, args.addresses, warmup = 0.5, 2, 2, 10, 20
        args.workers = 1

    workdir = Path(tempfile.mkdtemp(prefix="bench-flood-"))
    port = free_port()
    database = f"sqlite:///{workdir / 'bench.db'}"
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
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    for name in ("TWILIO_FROM_NUMBER", "TWILIO_MESSAGING_SERVICE_SID", "TWILIO_API_BASE_URL"):
        env.pop(name, None)
    from app import build_services
    from bot.settings import Settings

    build_services(Settings.from_env(env)).engine.dispose()

    # Enough texts that no phase runs out; each phase sends for `--seconds`.
    per_phase = int(args.seconds * 400)
    spread = [f"127.0.{1 + n // 250}.{1 + n % 250}" for n in range(args.addresses)]
    phases = [
        ("alone", None),
        ("one address", ["127.0.0.2"]),
        (f"{args.addresses} addresses", spread),
    ]
    server = start_gunicorn("app:create_app()", port, env, args.workers, "sync", 1)
    results = []
    try:
        number = 0
        load(port, signed_requests(f"http://127.0.0.1:{port}", warmup, args.patients, number), 30)
        number += warmup
        for name, addresses in phases:
            before = rows(database)
            stop_flag = threading.Event()
            answers: Counter = Counter()
            flooder = None
            if addresses:
                flooder = threading.Thread(
                    target=lambda answers=answers, addresses=addresses, stop_flag=stop_flag: (
                        answers.update(flood(port, args.flooders, addresses, stop_flag))
                    )
                )
                flooder.start()
                time.sleep(0.5)  # the flood under way before the patients start
            lanes = signed_requests(f"http://127.0.0.1:{port}", per_phase, args.patients, number)
            number += per_phase
            began = time.perf_counter()
            patients = load(port, lanes, args.seconds)
            stop_flag.set()
            if flooder is not None:
                flooder.join()
            elapsed = time.perf_counter() - began + (0.5 if addresses else 0)
            after = rows(database)
            results.append(
                (name, patients, answers, elapsed, after[0] - before[0], after[1] - before[1])
            )
        # Past the end of the last flood's minute and one flush interval after it: every
        # worker has added what it counted.
        if not args.smoke:
            time.sleep(60 - time.time() % 60 + 16)
        tallies_after = rows(database)[1]
    finally:
        stop(server)

    print(
        f"real patients' texts under a flood of forged webhooks: {args.patients} patient "
        f"connections, {args.flooders} flood connections, gunicorn {args.workers} sync "
        f"workers, SQLite, local engine"
    )
    print(f"  machine: {machine()}")
    base = results[0][1]
    for name, patients, answers, elapsed, events, tallies in results:
        print(
            f"  {name:<14} patients p50 {patients['p50']:5.1f} ms "
            f"({patients['p50'] / base['p50']:.2f} x alone), p99 {patients['p99']:5.1f} ms "
            f"({patients['p99'] / base['p99']:.2f} x), {patients['rps']:6.1f} texts/s; "
            f"{events} audit events written ({events / patients['requests']:.2f} per "
            f"patient text), {tallies} tally rows added meanwhile"
        )
        if answers:
            flood_rate = sum(v for k, v in answers.items() if isinstance(k, int)) / elapsed
            statuses = ", ".join(f"{k}: {v}" for k, v in sorted(answers.items(), key=str))
            print(f"  {'':<14} the flood: {flood_rate:7.1f} posts/s ({statuses})")
    if args.smoke:
        print(f"  tally rows so far: {tallies_after} (--smoke: the minute's flush not waited for)")
    else:
        print(
            f"  tally rows once every minute of the floods was flushed: {tallies_after} (one per "
            f"worker process, minute, address and reason; the job then writes one audit event "
            f"per address and minute)"
        )
    failed = [f for _, patients, *_ in results for f in patients["failures"]]
    if failed:
        print(f"  {len(failed)} failed patient requests: {sorted(set(failed))}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
