"""Operator commands through `app.test_cli_runner()`: clinic, audit, keys and patient data."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, text

from app import create_app, services_of
from bot.messages import OutboundMessage
from bot.settings import Settings
from scheduler.clinic_file import DEMO_CLINIC, ClinicConfigError, load_clinic
from scheduler.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    AuditEvent,
    ClinicRecord,
    ConversationSession,
    MessageReceipt,
    OutboxMessage,
    Patient,
    Provider,
    Resource,
)
from scheduler.patients import (
    find_or_create_patient,
    find_patient,
    patient_name,
    search_patients,
    set_patient_name,
)

NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
PHONE = "+12125550123"
NAME = "Jordan Testperson"


def make_app(tmp_path, *keys):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'cli.db'}",
        log_dir=tmp_path / "logs",
        encryption_keys=tuple(keys),
        secret_key_file=tmp_path / "secret.key",
    )
    return create_app({"SETTINGS": settings, "CLOCK": lambda: NOW, "TESTING": True})


@pytest.fixture
def key():
    return Fernet.generate_key().decode()


@pytest.fixture
def app(tmp_path, key):
    return make_app(tmp_path, key)


def invoke(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def add_patient(services, phone=PHONE, name=NAME):
    """A patient with a name, one booked appointment, audit texts, a sent message, a session."""
    with services.sessions.begin() as db:
        patient = find_or_create_patient(db, services.vault, phone, now=NOW)
        set_patient_name(services.vault, patient, name)
        db.flush()
        provider = db.scalars(select(Provider).where(Provider.key == "okafor")).one()
        kind = db.scalars(select(AppointmentType).where(AppointmentType.key == "checkup")).one()
        start = NOW + timedelta(days=1)
        appointment = Appointment(
            patient_id=patient.id,
            provider_id=provider.id,
            type_id=kind.id,
            start_at=start,
            end_at=start + timedelta(minutes=30),
            occupied_until=start + timedelta(minutes=35),
            status=AppointmentStatus.BOOKED,
            booked_via="web",
        )
        db.add(appointment)
        db.flush()
        services.audit.record(
            db,
            "message_in",
            at=NOW,
            channel="web",
            patient_id=patient.id,
            text_=f"my name is {name}",
        )
        services.audit.record(
            db,
            "appointment_booked",
            at=NOW,
            channel="web",
            patient_id=patient.id,
            appointment_id=appointment.id,
        )
        services.audit.record(
            db, "message_out", at=NOW, channel="web", patient_id=patient.id, text_="You're booked."
        )
        services.conversation.store.save(db, "web", phone, {"step": "ask_day"}, now=NOW)
        db.add(
            MessageReceipt(
                channel="web",
                external_id=f"{services.vault.index(phone)[:16]}:m1",
                reply_enc=services.vault.encrypt("[]"),
                created_at=NOW,
            )
        )
        patient_id = patient.id
    services.sender.send(OutboundMessage("sms", phone, f"Reminder for {name}", kind="reminder"))
    return patient_id


def snapshot(services):
    """Everything `clinic load` may touch, as plain values."""
    with services.sessions() as db:
        return {
            "clinic": [(r.name, r.timezone, r.config) for r in db.scalars(select(ClinicRecord))],
            "providers": [(r.key, r.name, r.active) for r in db.scalars(select(Provider))],
            "resources": [(r.key, r.name, r.active) for r in db.scalars(select(Resource))],
            "types": [(r.key, r.name, r.active) for r in db.scalars(select(AppointmentType))],
            "audit": db.scalar(select(func.count()).select_from(AuditEvent)),
        }


BROKEN_CLINIC = """
[clinic]
name = "Broken Clinic"
phone = "not a phone"
timezone = "Mars/Olympus"

[[providers]]
key = "Bad Key"
name = "Dr. Nobody"
specialties = ["general"]
hours = { mon = "17:00-08:00", funday = "09:00-10:00" }

[[appointment_types]]
key = "checkup"
name = "Check-up"
duration_minutes = 7
specialty = "general"
"""


def test_invalid_clinic_file_lists_every_error_and_changes_nothing(app, services, tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN_CLINIC)
    with pytest.raises(ClinicConfigError) as expected:
        load_clinic(path)
    assert len(expected.value.errors) >= 5
    before = snapshot(services)

    result = invoke(app, "clinic", "load", str(path))

    assert result.exit_code == 1
    for error in expected.value.errors:
        assert error in result.output
    assert "nothing changed" in result.output
    assert snapshot(services) == before


def test_missing_clinic_file_is_an_error_not_a_trace(app, tmp_path):
    result = invoke(app, "clinic", "load", str(tmp_path / "nope.toml"))
    assert result.exit_code == 1 and "does not exist" in result.output
    assert "Traceback" not in result.output


def test_valid_clinic_file_is_installed_and_shown(app, services, tmp_path):
    path = tmp_path / "clinic.toml"
    path.write_text(
        DEMO_CLINIC.read_text()
        .replace('name = "Maple Street Family Clinic"', 'name = "Birch Lane Clinic"')
        .replace('key = "tanaka"', 'key = "tanaka-2"')
    )

    result = invoke(app, "clinic", "load", str(path))

    assert result.exit_code == 0, result.output
    assert "Birch Lane Clinic" in result.output and "restart" in result.output
    with services.sessions() as db:
        providers = {p.key: p.active for p in db.scalars(select(Provider))}
        assert db.get(ClinicRecord, 1).name == "Birch Lane Clinic"
        assert (
            db.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.kind == "clinic_loaded")
            )
            == 1
        )
    assert providers["tanaka-2"] is True and providers["tanaka"] is False
    shown = invoke(app, "clinic", "show")
    assert shown.exit_code == 0 and "Birch Lane Clinic" in shown.output
    assert "tanaka-2" in shown.output and "checkup" in shown.output


def record_events(services, count=3):
    with services.sessions.begin() as db:
        for i in range(count):
            services.audit.record(db, "message_in", at=NOW, channel="web", text_=f"hello {i}")


def test_audit_verify_passes_then_names_a_tampered_event(app, services):
    record_events(services)
    ok = invoke(app, "audit", "verify")
    assert ok.exit_code == 0 and "OK" in ok.output and "3" in ok.output

    with services.engine.begin() as connection:
        connection.execute(text("UPDATE audit_events SET kind = 'x' WHERE seq = 2"))
    broken = invoke(app, "audit", "verify")
    assert broken.exit_code == 1
    assert "seq 2" in broken.output


def test_audit_verify_names_a_deleted_event(app, services):
    record_events(services)
    with services.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    broken = invoke(app, "audit", "verify")
    assert broken.exit_code == 1
    assert "seq 2" in broken.output and "missing" in broken.output


def _record_many(services, count):
    with services.sessions.begin() as db:
        for n in range(count):
            services.audit.record(
                db, "message_in", at=NOW + timedelta(seconds=n), channel="sms", detail={"n": n}
            )


def _cut_from(services, seq):
    with services.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events WHERE seq >= :seq"), {"seq": seq})


@pytest.mark.parametrize("cut", [1, 10])
def test_audit_verify_names_events_cut_off_the_end_and_since_when(app, services, cut):
    _record_many(services, 20)
    assert invoke(app, "audit", "verify").exit_code == 0
    _cut_from(services, 21 - cut)

    broken = invoke(app, "audit", "verify")

    assert broken.exit_code == 1
    plural = "s" if cut > 1 else ""
    assert (
        f"{cut} event{plural} missing from the end (events {21 - cut} to 20, which "
        f"audit.log names)" in broken.output
    )
    last_left = (NOW + timedelta(seconds=19 - cut)).isoformat()
    assert f"after event {20 - cut} of {last_left}" in broken.output
    assert re.search(rf"event {21 - cut} was written at \d{{4}}-\d\d-\d\dT", broken.output)


def test_audit_verify_ignores_another_databases_mirror(tmp_path, services):
    _record_many(services, 5)
    other = make_app(tmp_path / "fresh", Fernet.generate_key().decode())
    other_services = services_of(other)
    (tmp_path / "fresh" / "logs").mkdir(parents=True, exist_ok=True)
    (tmp_path / "fresh" / "logs" / "audit.log").write_bytes(
        (tmp_path / "logs" / "audit.log").read_bytes()
    )  # an old log beside a new database
    with other_services.sessions.begin() as db:
        other_services.audit.record(db, "clinic_loaded", at=NOW + timedelta(days=1))
    assert invoke(other, "audit", "verify").exit_code == 0


def test_a_signed_checkpoint_names_what_was_cut_even_with_the_mirror_gone(tmp_path, app, services):
    _record_many(services, 8)
    made = invoke(app, "audit", "checkpoint")
    assert made.exit_code == 0, made.output
    line = made.output.strip().splitlines()[-1]
    assert line.startswith("audit checkpoint 2026-03-04T14:00:00Z event 8 hash ")
    assert invoke(app, "audit", "verify", "--checkpoint", line).exit_code == 0
    _record_many(services, 2)
    _cut_from(services, 6)
    (tmp_path / "logs" / "audit.log").unlink()  # whoever cut the table cleaned the log too

    broken = invoke(app, "audit", "verify", "--checkpoint", line)

    assert broken.exit_code == 1
    assert (
        "3 events missing from the end (events 6 to 8, which the checkpoint of "
        "2026-03-04T14:00:00Z names)" in broken.output
    )
    forged = line[:-4] + ("0000" if not line.endswith("0000") else "1111")
    refused = invoke(app, "audit", "verify", "--checkpoint", forged)
    assert refused.exit_code == 1 and "signature does not match" in refused.output
    assert invoke(app, "audit", "verify", "--checkpoint", "hello").exit_code == 1


def test_a_rewritten_event_that_the_mirror_names_is_caught(app, services):
    _record_many(services, 5)
    # Someone rewrites event 5 and its hash (recomputed to keep the chain linked).
    with services.sessions.begin() as db:
        row = db.get(AuditEvent, 5)
        row.detail = {"n": 99}
        from bot.audit.chain import _digest, _fields

        row.hash = _digest(_fields(row), None)
    broken = invoke(app, "audit", "verify")
    assert broken.exit_code == 1 and "event 5 is not the one audit.log names" in broken.output


def test_keys_rotate_keeps_patients_findable_under_the_new_key_alone(tmp_path, app, services, key):
    add_patient(services)
    new_key = Fernet.generate_key().decode()
    rotating = make_app(tmp_path, new_key, key)

    result = invoke(rotating, "keys", "rotate")

    assert result.exit_code == 0, result.output
    assert "audit_events" in result.output and "patients: 1" in result.output
    after = make_app(tmp_path, new_key)
    fresh = services_of(after)
    with fresh.sessions() as db:
        patient = find_patient(db, fresh.vault, PHONE)
        assert patient is not None and patient_name(fresh.vault, patient) == NAME
        # The name index moved to the new key too: staff still find them by a word of the name.
        assert [p.id for p in search_patients(db, fresh.vault, "testperson")] == [patient.id]
        assert db.scalars(select(ConversationSession)).all() == []
        assert db.scalars(select(MessageReceipt)).all() == []
    assert [m.text for m in fresh.sender.messages_for(PHONE)] == [f"Reminder for {NAME}"]
    verified = invoke(after, "audit", "verify")
    assert verified.exit_code == 0 and "OK" in verified.output
    assert invoke(after, "patient", "export", PHONE).exit_code == 0


def test_keys_rotate_keeps_the_web_chats_own_patient_apart(tmp_path, app, services, key):
    add_patient(services)
    with services.sessions.begin() as db:
        web = find_or_create_patient(db, services.vault, PHONE, now=NOW, scope="web")
        set_patient_name(services.vault, web, "Webb Demoperson")
    new_key = Fernet.generate_key().decode()
    assert invoke(make_app(tmp_path, new_key, key), "keys", "rotate").exit_code == 0
    fresh = services_of(make_app(tmp_path, new_key))
    with fresh.sessions() as db:
        assert patient_name(fresh.vault, find_patient(db, fresh.vault, PHONE)) == NAME
        assert patient_name(fresh.vault, find_patient(db, fresh.vault, PHONE, scope="web")) == (
            "Webb Demoperson"
        )


def test_keys_rotate_without_the_old_key_changes_nothing(tmp_path, app, services):
    add_patient(services)
    with services.sessions() as db:
        before = [bytes(p.name_enc) for p in db.scalars(select(Patient))]
    stranger = make_app(tmp_path, Fernet.generate_key().decode())

    result = invoke(stranger, "keys", "rotate")

    assert result.exit_code == 1 and "nothing changed" in result.output
    with services.sessions() as db:
        assert [bytes(p.name_enc) for p in db.scalars(select(Patient))] == before


def test_patient_export_prints_their_data_as_json(app, services):
    patient_id = add_patient(services)
    add_patient(services, "+12125550188", "Riley Otherperson")

    result = invoke(app, "patient", "export", "(212) 555-0123")

    assert result.exit_code == 0, result.output
    export = json.loads(result.output)
    assert export["patient"]["id"] == patient_id
    assert export["patient"]["name"] == NAME and export["patient"]["phone"] == PHONE
    [appointment] = export["appointments"]
    assert appointment["provider"] == "Dr. Amara Okafor" and appointment["status"] == "booked"
    assert [m["text"] for m in export["messages_sent"]] == [f"Reminder for {NAME}"]
    assert f"my name is {NAME}" in [e["text"] for e in export["audit_events"]]
    assert "Riley" not in result.output
    with services.sessions() as db:
        assert (
            db.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.kind == "patient_exported", AuditEvent.patient_id == patient_id)
            )
            == 1
        )


def test_patient_erase_removes_personal_data_keeps_appointments_and_the_chain(app, services):
    patient_id = add_patient(services)
    add_patient(services, "+12125550188", "Riley Otherperson")

    result = invoke(app, "patient", "erase", PHONE, "--yes")

    assert result.exit_code == 0, result.output
    assert PHONE not in result.output and "Jordan" not in result.output
    with services.sessions() as db:
        patient = db.get(Patient, patient_id)
        assert patient.name_enc is None and patient.phone_enc is None
        assert patient.phone_index is None and patient.erased_at == NOW
        assert find_patient(db, services.vault, PHONE) is None
        assert search_patients(db, services.vault, "jordan") == []
        assert len(search_patients(db, services.vault, "riley")) == 1
        [appointment] = db.scalars(
            select(Appointment).where(Appointment.patient_id == patient_id)
        ).all()
        assert appointment.status == AppointmentStatus.BOOKED
        assert len(db.scalars(select(ConversationSession)).all()) == 1  # the other patient's
        assert len(db.scalars(select(MessageReceipt)).all()) == 1
        assert len(db.scalars(select(OutboxMessage)).all()) == 1
        assert (
            db.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.kind == "patient_erased", AuditEvent.patient_id == patient_id)
            )
            == 1
        )
        assert find_patient(db, services.vault, "+12125550188") is not None
        texts = {e.patient_id: [] for e in db.scalars(select(AuditEvent))}
        for event in db.scalars(select(AuditEvent).where(AuditEvent.text_enc.is_not(None))):
            texts[event.patient_id].append(services.audit.text(event.text_enc))
        assert texts[patient_id] == [None, None]  # replaced by their digests
        assert "my name is Riley Otherperson" in texts[patient_id + 1]
    assert "2 audit text(s)" in result.output
    assert services.sender.messages_for(PHONE) == []
    assert invoke(app, "audit", "verify").exit_code == 0


def test_patient_erase_asks_first_and_no_means_nothing_changes(app, services):
    add_patient(services)
    result = invoke(app, "patient", "erase", PHONE, input="n\n")
    assert result.exit_code == 1
    with services.sessions() as db:
        assert find_patient(db, services.vault, PHONE) is not None


def test_unknown_or_invalid_phone_is_a_clear_error(app):
    unknown = invoke(app, "patient", "export", "+12125550177")
    assert unknown.exit_code == 1 and "no patient" in unknown.output
    invalid = invoke(app, "patient", "erase", "banana", "--yes")
    assert invalid.exit_code == 2 and "phone number" in invalid.output


def test_db_upgrade_is_idempotent(app):
    result = invoke(app, "db", "upgrade")
    assert result.exit_code == 0 and "newest migration" in result.output
