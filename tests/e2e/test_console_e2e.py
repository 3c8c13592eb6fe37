"""`python -m adapters.console` as a script runs it: a whole conversation on a pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import select

from scheduler.crypto import Vault
from scheduler.db import make_engine, session_factory
from scheduler.models import Appointment, AppointmentStatus, AuditEvent, Patient
from scheduler.patients import find_patient, patient_name

ROOT = Path(__file__).resolve().parents[2]
PHONE = "+12125550123"


def console_env(tmp_path, key):
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TWILIO_", "SLACK_", "AWS_", "BEDROCK_", "WEB_CHAT"))
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'console.db'}",
        LOG_DIR=str(tmp_path / "logs"),
        ENCRYPTION_KEYS=key,
        LLM_ENGINE="local",
        PYTHONPATH=str(ROOT),
    )
    return env


def run_console(args, conversation, env):
    return subprocess.run(
        [sys.executable, "-m", "adapters.console", *args],
        input=conversation,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def test_piped_conversation_books_an_appointment(tmp_path):
    key = Fernet.generate_key().decode()
    result = run_console(
        ["--phone", "+1 (212) 555-0123"],
        "book a checkup tomorrow\nJordan Testperson\n2\nmy appointments\n",
        console_env(tmp_path, key),
    )

    assert result.returncode == 0, result.stderr
    assert "\n     1. " in result.stdout and "\n     2. " in result.stdout
    engine = make_engine(f"sqlite:///{tmp_path / 'console.db'}")
    vault = Vault([key])
    with session_factory(engine)() as db:
        patient = find_patient(db, vault, PHONE)
        assert patient_name(vault, patient) == "Jordan Testperson"
        [appointment] = db.scalars(
            select(Appointment).where(Appointment.patient_id == patient.id)
        ).all()
        assert appointment.status == AppointmentStatus.BOOKED
        assert appointment.booked_via == "console"
        assert appointment.provider.name in result.stdout
    engine.dispose()
    assert PHONE not in result.stdout and "555-0123" not in result.stdout
    assert result.stderr == ""


def test_quit_ends_the_conversation_before_the_rest_of_the_input(tmp_path):
    result = run_console(
        [],
        "hi\n/quit\nbook a checkup tomorrow\n",
        console_env(tmp_path, Fernet.generate_key().decode()),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("bot> ") == 1


def test_staff_console_is_answered_as_staff_not_as_a_patient(tmp_path):
    result = run_console(
        ["--staff"],
        "book a checkup tomorrow\n",
        console_env(tmp_path, Fernet.generate_key().decode()),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("bot> ")
    engine = make_engine(f"sqlite:///{tmp_path / 'console.db'}")
    with session_factory(engine)() as db:
        assert db.scalars(select(Patient)).all() == []
        actors = {event.actor for event in db.scalars(select(AuditEvent))}
        assert "staff:console-staff" in actors
    engine.dispose()


def test_invalid_phone_is_a_clear_error_with_exit_code_2(tmp_path):
    result = run_console(
        ["--phone", "not a number"], "", console_env(tmp_path, Fernet.generate_key().decode())
    )
    assert result.returncode == 2
    assert "--phone" in result.stderr and "phone number" in result.stderr
    assert "Traceback" not in result.stderr
