"""Workers in their own processes: a SIGKILL loses nothing, and four at once duplicate nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from bench.seed import seed_due_reminders
from scheduler.clinic_store import install_clinic
from scheduler.crypto import Vault
from scheduler.db import make_engine, session_factory
from scheduler.models import OutboxMessage, Reminder

WORKER = str(Path(__file__).with_name("worker_process.py"))


@pytest.fixture
def seeded(database_url, demo_clinic):
    key = Fernet.generate_key().decode()
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    with sessions.begin() as db:
        install_clinic(db, demo_clinic)
    yield database_url, key, sessions, Vault([key])
    engine.dispose()


def sent_per_recipient(sessions) -> list[int]:
    with sessions() as db:
        return list(
            db.scalars(
                select(func.count())
                .select_from(OutboxMessage)
                .group_by(OutboxMessage.recipient_index)
            )
        )


def statuses(sessions) -> dict[str, int]:
    with sessions() as db:
        return dict(
            db.execute(select(Reminder.status, func.count()).group_by(Reminder.status)).all()
        )


def test_a_worker_killed_while_holding_claims_loses_nothing(seeded, tmp_path):
    url, key, sessions, vault = seeded
    seed_due_reminders(sessions, vault, 30)
    ready = tmp_path / "hung"
    doomed = subprocess.Popen(
        [sys.executable, WORKER, url, key, "doomed", "2", "5", str(ready)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert doomed.poll() is None, doomed.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert statuses(sessions).get("sending", 0) > 0  # it holds claims
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.communicate()  # reaps it, closes its pipes
    time.sleep(2.2)  # its 2 s leases run out
    survivor = subprocess.run(
        [sys.executable, WORKER, url, key, "survivor", "60"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert survivor.returncode == 0, survivor.stderr
    assert int(survivor.stdout.strip()) == 25
    assert statuses(sessions) == {"sent": 30}
    counts = sent_per_recipient(sessions)
    assert len(counts) == 30 and set(counts) == {1}  # each exactly once


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_four_workers_on_postgresql_send_each_reminder_exactly_once(seeded):
    url, key, sessions, vault = seeded
    seed_due_reminders(sessions, vault, 1000)
    workers = [
        subprocess.Popen(
            [sys.executable, WORKER, url, key, f"w{i}", "60"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    per_worker = [int(out.strip()) for out, _ in outputs]
    assert sum(per_worker) == 1000
    assert sum(1 for n in per_worker if n > 0) >= 2  # they really shared the work
    assert statuses(sessions) == {"sent": 1000}
    counts = sent_per_recipient(sessions)
    assert len(counts) == 1000 and set(counts) == {1}  # no duplicate, none missed
