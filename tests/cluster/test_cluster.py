"""The clinic network of `make cluster` under load: three web nodes behind nginx, two job workers,
one PostgreSQL database. A node SIGKILLed mid-run and a worker killed mid-batch lose nothing and
do nothing twice."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select, text, update

from bench.seed import seed_due_reminders
from deploy.cluster import ROOT
from scheduler.crypto import Vault
from scheduler.db import make_engine, session_factory
from scheduler.models import MessageReceipt, OutboxMessage, Reminder
from tests.twilio_support import Phone, signature, twiml_messages

pytestmark = pytest.mark.postgres

PATIENTS = 36
CONVERSATION = ["Hi, can I book a check-up tomorrow morning?", "YES", "Sam Example", "1", "2"]
OVERLAPS = text(
    "SELECT count(*) FROM appointments a JOIN appointments b ON a.id < b.id "
    "AND a.status = 'booked' AND b.status = 'booked' AND a.start_at < b.end_at "
    "AND b.start_at < a.end_at AND (a.provider_id = b.provider_id OR a.room_id = b.room_id "
    "OR a.equipment_id = b.equipment_id)"
)


@pytest.fixture(scope="module")
def sessions(cluster):
    engine = make_engine(cluster.database_url)
    yield session_factory(engine)
    engine.dispose()


class Twilio:
    """Twilio's side: each text signed and posted to nginx; a failure (no answer, a 5xx) retried
    with the same MessageSid, as Twilio retries, until it is answered."""

    def __init__(self, cluster):
        self.url = f"http://127.0.0.1:{cluster.port}/twilio/sms"
        self.signed_url = cluster.env["PUBLIC_BASE_URL"] + "/twilio/sms"
        self.answers: dict[str, str] = {}
        self.retries = 0
        self.lock = threading.Lock()

    def text(self, number: str, body: str) -> None:
        params = Phone(None, number).params(body)
        headers = {"X-Twilio-Signature": signature(self.signed_url, params)}
        for _ in range(40):
            try:
                answer = requests.post(self.url, data=params, headers=headers, timeout=15)
                if answer.status_code == 200:
                    self.answers[params["MessageSid"]] = answer.text
                    return
                assert answer.status_code in (502, 503, 504), answer.text  # never a 500
            except requests.RequestException:
                pass  # the node died with the connection open
            with self.lock:
                self.retries += 1
            time.sleep(0.25)
        raise AssertionError(f"{params['MessageSid']} never answered")

    def conversation(self, number: str) -> None:
        for body in CONVERSATION:
            self.text(number, body)


def answered_by(cluster) -> Counter:
    """The nodes nginx sent the answered texts to, from its access log."""
    log = (cluster.run_dir / "logs" / "nginx-access.log").read_text()
    return Counter(re.findall(r'"POST /twilio/sms" 200 \d+ \S+ (\S+) 200', log))


def test_texts_over_three_nodes_survive_a_node_killed_mid_run(cluster, sessions):
    twilio = Twilio(cluster)
    numbers = [f"+1646555{i:04d}" for i in range(PATIENTS)]
    with ThreadPoolExecutor(8) as pool:
        running = [pool.submit(twilio.conversation, number) for number in numbers]
        while len(twilio.answers) < PATIENTS * len(CONVERSATION) // 3:
            failed = [c.exception() for c in running if c.done() and c.exception()]
            assert not failed, failed
            time.sleep(0.01)
        cluster.kill("web2", signal.SIGKILL)  # the machine is gone: master and worker at once
        killed_at = len(twilio.answers)
        cluster.start("web2")  # and back, while the others carry the load
        cluster.wait_ready("web2")
        for conversation in running:
            conversation.result(timeout=60)
    assert killed_at < PATIENTS * len(CONVERSATION)  # it died mid-run
    nodes = answered_by(cluster)
    assert len(nodes) == 3 and min(nodes.values()) > 5, nodes  # spread over the nodes

    sids = set(twilio.answers)
    assert len(sids) == PATIENTS * len(CONVERSATION)
    with sessions() as db:
        receipts = db.execute(
            select(MessageReceipt.external_id, MessageReceipt.reply_via).where(
                MessageReceipt.channel == "sms"
            )
        ).all()
        booked = db.execute(
            text("SELECT patient_id, count(*) FROM appointments WHERE status = 'booked' GROUP BY 1")
        ).all()
        overlaps = db.scalar(OVERLAPS)
    # Every MessageSid handled exactly once, its reply in the answer (or sent by REST, once).
    per_sid = Counter(key.split(":", 1)[1] for key, _ in receipts)
    assert set(per_sid) == sids and set(per_sid.values()) == {1}
    assert {via for _, via in receipts} <= {"twiml", "rest_sent"}
    assert all(twiml_messages(answer) for answer in twilio.answers.values())
    # Bookings happened, none twice for one patient, none on top of another.
    assert booked and all(count == 1 for _, count in booked), booked
    assert overlaps == 0
    assert audit_verify(cluster).returncode == 0


def audit_verify(cluster) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "audit", "verify"],
        cwd=ROOT,
        env=cluster._env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_a_worker_killed_mid_batch_loses_and_duplicates_no_reminder(cluster, sessions):
    for worker in ("jobs1", "jobs2"):
        cluster.kill(worker, signal.SIGTERM)
    vault = Vault([cluster.env["ENCRYPTION_KEYS"]])
    count = 3000
    seed_due_reminders(sessions, vault, count)
    workers = {name: cluster.start(name).pid for name in ("jobs1", "jobs2")}

    def holding_claims(db) -> str | None:
        """The first worker seen holding claims (jobs/reminders/sender.py `worker_name()`:
        host:pid:random), its batch not yet recorded."""
        owners = db.scalars(
            select(Reminder.lease_owner).where(Reminder.status == "sending").limit(1)
        ).all()
        for name, pid in workers.items():
            if any(f":{pid}:" in owner for owner in owners):
                return name
        return None

    deadline = time.monotonic() + 30
    with sessions() as db:
        while (doomed := holding_claims(db)) is None:
            assert time.monotonic() < deadline, cluster.log_tail("jobs1")
            time.sleep(0.005)
            db.rollback()
    cluster.kill(doomed, signal.SIGKILL)  # holding claims, its batch not committed
    owner = f"%:{workers[doomed]}:%"
    with sessions.begin() as db:
        stranded = db.execute(
            # Its 5-minute leases run out (time passes, as far as the claims can tell)...
            update(Reminder)
            .where(Reminder.status == "sending", Reminder.lease_owner.like(owner))
            .values(lease_until=func.now() - text("interval '1 second'"))
        ).rowcount
    assert stranded > 0
    cluster.start(doomed)  # ...and systemd restarts the worker: its start-up run catches up
    seeded = Reminder.patient_id >= 10_000
    deadline = time.monotonic() + 40
    with sessions() as db:
        while db.scalar(select(func.count()).where(seeded, Reminder.status != "sent")):
            assert time.monotonic() < deadline, cluster.log_tail("jobs2")
            time.sleep(0.2)
            db.rollback()
        phones = {vault.index(f"+1212555{i:04d}") for i in range(count)}
        sent = Counter(
            db.scalars(
                select(OutboxMessage.recipient_index).where(
                    OutboxMessage.recipient_index.in_(phones)
                )
            )
        )
    assert len(sent) == count and set(sent.values()) == {1}  # none lost, none twice
    assert audit_verify(cluster).returncode == 0
