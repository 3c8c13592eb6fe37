"""Benchmark: the EHR notification queue drained to a local receiver (issue 19: >= 200/s).

A fresh database (SQLite in a temporary folder, or `--database-url`, an empty one), the demo clinic, N/2
appointments (bench/seed.py) and N notifications queued by the real producer (bot/ehr_notices.py
`queue`: F1's FHIR Appointment, encrypted), two per appointment (booked, then rescheduled: the
second waits for the first). The receiver is a keep-alive HTTP/1.1 server on 127.0.0.1 in its own
process, answering 200 and counting notification ids. Measured in the same run:

- baseline: N bare POSTs of a notification-sized body to the same receiver through the same client
  (one `requests.Session`), nothing else;
- the queue: `EhrWebhook.run()` until nothing is left: claims, bodies built and signed, POSTs, and
  each "delivered" recorded in its own transaction.

Checked: every notification delivered, each id received once, none missing.

    .venv/bin/python bench/bench_ehr_webhook.py [--notifications 5000] [--database-url URL]
    .venv/bin/python bench/bench_ehr_webhook.py --smoke   # 40 notifications, no rate checked
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from bench.seed import seed_due_reminders
from bot.audit.trail import AuditTrail
from bot.ehr_notices import queue
from jobs.ehr_webhook import NOTIFICATION_ID, EhrWebhook
from scheduler.clinic_file import load_clinic
from scheduler.clinic_store import install_clinic
from scheduler.crypto import Vault
from scheduler.db import make_engine, session_factory, upgrade
from scheduler.models import Appointment, EhrNotification

SECRET = "bench-ehr-secret-0123456789"


def receive(port_out) -> None:
    """The receiver process: 200 to every POST, notification ids counted; GET answers them."""
    seen: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as an EHR's endpoint would be

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            ident = self.headers.get(NOTIFICATION_ID)
            if ident:
                seen[ident] = seen.get(ident, 0) + 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            body = f"{len(seen)} {sum(seen.values())}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_out.put(server.server_address[1])
    server.serve_forever()


def seed(url: str, vault: Vault, count: int) -> tuple:
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    clinic = load_clinic(None)
    with sessions.begin() as db:
        install_clinic(db, clinic)
    seed_due_reminders(sessions, vault, count // 2)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with sessions.begin() as db:
        for appointment in db.scalars(select(Appointment).order_by(Appointment.id)):
            queue(db, clinic, vault, appointment, "booked", at=now)
            queue(db, clinic, vault, appointment, "rescheduled", at=now)
    return engine, sessions, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=5000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="40 notifications; each delivered once is checked, the rate is not",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.notifications = 40
    count = args.notifications - args.notifications % 2
    folder = tempfile.mkdtemp(prefix="bench-ehr-")
    url = args.database_url or f"sqlite:///{folder}/bench.db"
    vault = Vault([Fernet.generate_key().decode()])

    ports: multiprocessing.Queue = multiprocessing.Queue()
    receiver = multiprocessing.Process(target=receive, args=(ports,), daemon=True)
    receiver.start()
    target = f"http://127.0.0.1:{ports.get(timeout=10)}/notify"
    try:
        engine, sessions, queued_in = seed(url, vault, count)
        sender = EhrWebhook(
            sessions,
            vault,
            AuditTrail(vault),
            url=target,
            secret=SECRET,
            clock=lambda: datetime.now(UTC),
            http=requests.Session(),
        )
        with sessions() as db:
            sample = db.scalars(select(EhrNotification).limit(1)).one()
            body = sender.body(sample, datetime.now(UTC))

        client = requests.Session()
        started = time.perf_counter()
        for _ in range(count):
            client.post(target, data=body, headers={"Content-Type": "application/fhir+json"})
        baseline = count / (time.perf_counter() - started)

        started = time.perf_counter()
        delivered = 0
        while True:
            result = sender.run()
            delivered += result.delivered
            if not result.claimed:
                break
        seconds = time.perf_counter() - started
        with sessions() as db:
            left = db.scalar(
                select(func.count())
                .select_from(EhrNotification)
                .where(EhrNotification.status != "delivered")
            )
        distinct, total = (int(x) for x in requests.get(target).text.split())
        engine.dispose()
    finally:
        receiver.terminate()
    rate = count / seconds
    print(f"python {platform.python_version()}, {engine.dialect.name}, {count} notifications")
    print(f"queued by the producer: {count / queued_in:.0f}/s ({queued_in:.1f} s)")
    print(f"baseline, bare POSTs to the same receiver: {baseline:.0f}/s")
    print(
        f"queue drained: {rate:.0f} notifications/s ({seconds:.1f} s, {rate / baseline:.0%} of bare)"
    )
    print(
        f"delivered {delivered}, left undelivered {left}, received ids {distinct} "
        f"(duplicates {total - distinct}, missing {count - distinct})"
    )
    once = left == 0 and distinct == count and total == count
    ok = rate >= 200 and once
    print(f"target >= 200/s, each once: {'yes' if ok else 'NO'}")
    return 0 if (once if args.smoke else ok) else 1


if __name__ == "__main__":
    sys.exit(main())
