"""`flask --app app backup create / restore` on SQLite and PostgreSQL: a clinic's database with a
booked patient backed up while the app is up, restored into an empty database of another app
(same keys, same logs), and `audit verify` green there; refusals that change nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, text

from app import create_app, services_of
from bot.messages import InboundMessage
from bot.settings import Settings
from scheduler.db import make_engine
from scheduler.models import Appointment, AppointmentStatus, AuditEvent
from scheduler.patients import find_patient
from tests.conftest import reset_postgres

NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)  # a Wednesday, 09:00 in New York
PHONE = "+12125550123"
LATER = "+12125550177"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def urls(request, tmp_path):
    """(the clinic's database, an empty one to restore into)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'clinic.db'}", f"sqlite:///{tmp_path / 'restored.db'}"
        return
    source = request.getfixturevalue("postgres_url")
    reset_postgres(source)
    admin = make_engine(source, isolation_level="AUTOCOMMIT")
    target = admin.url.set(database=f"{admin.url.database}_restored")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    yield source, target.render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def make_app(tmp_path):
    """An app on a database; every one shares the keys and the logs (one clinic's machines)."""
    keys = (Fernet.generate_key().decode(),)
    made = []

    def make(url):
        settings = Settings(
            database_url=url,
            log_dir=tmp_path / "logs",
            encryption_keys=keys,
            secret_key_file=tmp_path / "secret.key",
        )
        app = create_app({"SETTINGS": settings, "CLOCK": lambda: NOW, "TESTING": True})
        made.append(app)
        return app

    yield make
    for app in made:
        services_of(app).engine.dispose()


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def book(app, phone=PHONE):
    """A patient books a check-up through the console conversation."""
    conversation = services_of(app).conversation
    for said in ("book a checkup tomorrow", "Jordan Testperson", "1"):
        conversation.handle(InboundMessage("console", phone, said, uuid.uuid4().hex, NOW))


def facts(app):
    """What a restore must bring back: the chain's length, the booking, the patient's phone."""
    services = services_of(app)
    with services.sessions() as db:
        patient = find_patient(db, services.vault, PHONE)
        return {
            "audit": db.scalar(select(func.count()).select_from(AuditEvent)),
            "booked": db.scalar(
                select(func.count())
                .select_from(Appointment)
                .where(Appointment.status == AppointmentStatus.BOOKED)
            ),
            "patient": None if patient is None else services.vault.decrypt(patient.phone_enc),
        }


def test_a_backup_restored_into_an_empty_database_verifies(urls, make_app, tmp_path):
    clinic = make_app(urls[0])
    book(clinic)
    before = facts(clinic)
    assert before["booked"] == 1 and before["audit"] > 3 and before["patient"] == PHONE
    backup = tmp_path / "clinic.backup"

    made = invoke(clinic, "backup", "create", str(backup))
    assert made.exit_code == 0, made.output
    assert f"{before['audit']} audit events" in made.output

    restored = make_app(urls[1])  # migrated, the clinic installed: no data of its own
    done = invoke(restored, "backup", "restore", str(backup))
    assert done.exit_code == 0, done.output
    assert facts(restored) == before
    verified = invoke(restored, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert f"OK: {before['audit']} audit events verified" in verified.output
    assert invoke(restored, "db", "upgrade").exit_code == 0
    book(restored, LATER)  # the restored database takes new bookings
    assert facts(restored)["booked"] == 2


def test_restoring_over_data_is_refused_unless_forced_and_verify_names_the_lost_tail(
    urls, make_app, tmp_path
):
    clinic = make_app(urls[0])
    book(clinic)
    backup = tmp_path / "clinic.backup"
    assert invoke(clinic, "backup", "create", str(backup)).exit_code == 0
    at_backup = facts(clinic)
    book(clinic, LATER)  # written after the backup
    after = facts(clinic)

    refused = invoke(clinic, "backup", "restore", str(backup))
    assert refused.exit_code == 1
    assert "holds data" in refused.output and "--force" in refused.output
    assert facts(clinic) == after

    forced = invoke(clinic, "backup", "restore", "--force", str(backup))
    assert forced.exit_code == 0, forced.output
    assert facts(clinic) == at_backup
    # logs/audit.log still names the events written after the backup: verify says they are gone.
    lost = invoke(clinic, "audit", "verify")
    assert lost.exit_code == 1 and "missing from the end" in lost.output


def test_bad_backup_files_are_refused_and_nothing_changes(urls, make_app, tmp_path):
    clinic = make_app(urls[0])
    book(clinic)
    sqlite = urls[0].startswith("sqlite")
    before = facts(clinic)
    backup = tmp_path / "clinic.backup"
    assert invoke(clinic, "backup", "create", str(backup)).exit_code == 0
    kept = backup.read_bytes()

    again = invoke(clinic, "backup", "create", str(backup))
    assert again.exit_code == 1 and "exists" in again.output and backup.read_bytes() == kept
    assert invoke(clinic, "backup", "create", "--force", str(backup)).exit_code == 0
    assert invoke(clinic, "backup", "create", str(tmp_path / "no" / "such")).exit_code == 1

    other_kind = tmp_path / "other.backup"
    other_kind.write_bytes((b"PGDMP" if sqlite else b"SQLite format 3\x00") + b"\x00" * 200)
    garbage = tmp_path / "garbage.backup"
    garbage.write_bytes(b"these are not the bytes of a backup")
    cut, late = tmp_path / "cut.backup", tmp_path / "late.backup"
    cut.write_bytes(kept[: len(kept) // 3])
    # Cut near its end, a pg_dump archive still lists: pg_restore fails part-way through the
    # restore, and psql's transaction is rolled back.
    late.write_bytes(kept[: len(kept) * 98 // 100])
    for bad, says in (
        (tmp_path / "missing.backup", "cannot read"),
        (other_kind, "this database is"),
        (garbage, "not a"),
        (cut, "cannot be restored"),
        (late, "nothing was changed"),
    ):
        refused = invoke(clinic, "backup", "restore", "--force", str(bad))
        assert refused.exit_code == 1, (bad.name, refused.output)
        assert says in refused.output and "Traceback" not in refused.output, refused.output
    assert facts(clinic) == before
    assert invoke(clinic, "audit", "verify").exit_code == 0
