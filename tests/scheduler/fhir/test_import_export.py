"""`flask --app app fhir import` and `fhir export`: a bundle modelled on HL7's published
Practitioner, PractitionerRole, Location and HealthcareService examples (invented names, 555
numbers: tests/fixtures/fhir/clinic_bundle.json) imported into the demo clinic, a dry run first;
then bookings with what it brought, exported as a Bundle that names the imported ids. Bad bundles
are refused by entry and field, nothing imported."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from app import create_app
from bot.services import services_of
from bot.settings import Settings
from bot.tools import Caller, SchedulingTools
from scheduler.clinic_file import load_clinic
from scheduler.clinic_store import installed_clinic
from scheduler.models import Appointment, AuditEvent, Resource
from scheduler.patients import find_or_create_patient

BUNDLE = Path(__file__).resolve().parents[2] / "fixtures" / "fhir" / "clinic_bundle.json"
NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)  # Wednesday 09:00 in New York
MON = date(2026, 3, 9)


def make_app(tmp_path, database_url, key):
    settings = Settings(
        database_url=database_url,
        log_dir=tmp_path / "logs",
        encryption_keys=(key,),
        secret_key_file=tmp_path / "secret.key",
        public_base_url="https://clinic.example.org",
    )
    return create_app({"SETTINGS": settings, "CLOCK": lambda: NOW, "TESTING": True})


@pytest.fixture
def key():
    return Fernet.generate_key().decode()


@pytest.fixture
def app(tmp_path, database_url, key):
    app = make_app(tmp_path, database_url, key)
    yield app
    services_of(app).engine.dispose()


def run(app, *args):
    return app.test_cli_runner().invoke(args=["fhir", *args])


def clinic_now(app):
    with services_of(app).sessions() as db:
        return installed_clinic(db)


def audited(app, kind):
    with services_of(app).sessions() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.kind == kind)))


def write(tmp_path, bundle) -> str:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    return str(path)


def test_a_dry_run_shows_what_would_change_and_changes_nothing(app):
    before = clinic_now(app)
    result = run(app, "import", str(BUNDLE))
    assert result.exit_code == 0, result.output
    assert (
        "read 2 Practitioner, 2 PractitionerRole, 2 Location, 1 HealthcareService" in result.output
    )
    for line in (
        '+ providers.ruizdael: "Dr. Marisol Ruizdael"',
        '+ rooms.exam-3: "Exam Room 3"',
        '+ appointment_types.follow-up: "Follow-up visit"',
        '~ clinic.name: "Maple Street Family Clinic" -> "Birchwood Community Health Center"',
        '~ providers.okafor.days_off: ["2026-12-24", "2026-12-25", "2027-01-01"] -> '
        '["2026-12-24", "2026-12-25"]',
    ):
        assert line in result.output
    assert "dry run: the database was not changed" in result.output
    assert clinic_now(app) == before and clinic_now(app).raw == before.raw
    assert audited(app, "clinic_imported") == []


def test_apply_installs_it_and_save_writes_a_clinic_file_that_reads_back(app, tmp_path):
    saved = tmp_path / "clinic.toml"
    result = run(app, "import", str(BUNDLE), "--apply", "--save", str(saved))
    assert result.exit_code == 0, result.output
    assert "restart the app (and job workers) to use it" in result.output
    clinic = clinic_now(app)
    assert load_clinic(saved).raw == clinic.raw  # the file says what the database now holds
    assert clinic.name == "Birchwood Community Health Center" and clinic.phone == "+12125550142"
    assert clinic.address == "40 Birchwood Avenue, New York, NY 10002"
    ruizdael = clinic.provider("ruizdael")
    assert ruizdael.name == "Dr. Marisol Ruizdael" and ruizdael.specialties == {"general"}
    assert {day: str(span) for day, span in ruizdael.hours.items()} == {
        0: "09:00-16:30",
        1: "09:00-16:30",
        2: "09:00-16:30",
        3: "09:00-12:00",
    }
    assert [str(b) for b in ruizdael.breaks] == ["12:00-13:00"]  # the gap between two ranges
    assert sorted(ruizdael.days_off) == [date(2026, 5, 4), date(2026, 5, 5), date(2026, 5, 6)]
    # An end at local midnight is exclusive: the 24th and 25th off, not the 26th.
    assert sorted(clinic.provider("okafor").days_off) == [date(2026, 12, 24), date(2026, 12, 25)]
    assert str(clinic.provider("okafor").hours[4]) == "08:00-12:00"
    assert [r.key for r in clinic.rooms if r.kind == "exam"] == ["exam-1", "exam-2", "exam-3"]
    follow_up = clinic.appointment_type("follow-up")
    assert (follow_up.duration_minutes, follow_up.specialty, follow_up.room_kind) == (
        20,
        "general",
        "exam",
    )
    assert [p.key for p in clinic.providers][:4] == ["okafor", "lindqvist", "moreau", "tanaka"]
    [event] = audited(app, "clinic_imported")
    assert event.actor == "operator:cli" and event.detail["practitioner"] == 2

    again = run(app, "import", str(BUNDLE))  # the same bundle again: nothing left to change
    assert "no changes: the clinic already says all of it" in again.output


def book(services, patient_phone, type_key, provider, at):
    caller = Caller(role="staff", channel="slack", staff_id="U1")
    with services.sessions.begin() as db:
        patient = find_or_create_patient(db, services.vault, patient_phone, now=NOW)
        tools = SchedulingTools(db, services.clinic, services.audit, caller, NOW)
        slot = tools.find_slots(
            type_key, start_date=MON, end_date=MON, provider_key=provider, around=at, limit=1
        )[0]
        return tools.book_appointment(slot, patient_id=patient.id).id


def test_import_then_export_round_trip(tmp_path, database_url, key):
    first = make_app(tmp_path, database_url, key)
    assert run(first, "import", str(BUNDLE), "--apply").exit_code == 0
    services_of(first).engine.dispose()
    app = make_app(tmp_path, database_url, key)  # restarted: it runs on the imported clinic
    services = services_of(app)
    ours = book(services, "+12125550131", "follow-up", "ruizdael", time(10, 0))
    other = book(services, "+12125550132", "checkup", "okafor", time(9, 0))
    out = tmp_path / "export.json"
    result = run(app, "export", "--from", "2026-03-09", "--to", "2026-03-09", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert "wrote 2 appointment(s)" in result.output
    exported = json.loads(out.read_text())
    bundle = Bundle.model_validate(exported)
    assert bundle.type == "collection"
    assert [e.resource.id for e in bundle.entry] == [str(other), str(ours)]  # by start
    assert bundle.entry[1].fullUrl == f"https://clinic.example.org/fhir/r4/Appointment/{ours}"
    appointment = exported["entry"][1]["resource"]
    actors = {p["actor"]["reference"] for p in appointment["participant"]}
    with services.sessions() as db:
        room = db.get(Resource, db.get(Appointment, ours).room_id)
    # The EHR's ids: its practitioner, and the room of the kind its Location was imported as.
    assert {"Practitioner/ruizdael", f"Location/{room.key}"} <= actors
    assert appointment["status"] == "booked"
    [event] = audited(app, "fhir_exported")
    assert event.detail == {"from": "2026-03-09", "to": "2026-03-09", "appointments": 2}

    stdout = run(app, "export", "--from", "2026-03-10", "--to", "2026-03-12")
    assert stdout.exit_code == 0 and json.loads(stdout.output)["entry"] == []
    backwards = run(app, "export", "--from", "2026-03-12", "--to", "2026-03-10")
    assert backwards.exit_code == 1 and "before --from" in backwards.output
    services.engine.dispose()


def _bad_bundle() -> dict:
    bundle = json.loads(BUNDLE.read_text())
    entries = bundle["entry"]
    role = next(e["resource"] for e in entries if e["resource"]["id"] == "ruizdael-gp")
    role["availableTime"][0]["availableStartTime"] = "25:00:00"
    ghost = copy.deepcopy(role)
    ghost.update(id="ghost-role", practitioner={"reference": "Practitioner/ghost"})
    ghost["availableTime"][0]["availableStartTime"] = "09:00:00"
    r5 = {"resourceType": "PractitionerRole", "id": "r5-role", "availability": [{}]}
    service = next(e["resource"] for e in entries if e["resource"]["id"] == "follow-up")
    service["location"] = [{"reference": "Location/nowhere"}]
    entries += [
        {"resource": ghost},
        {"resource": r5},
        {"resource": {"resourceType": "Patient", "id": "p1"}},
        {"resource": {"resourceType": "Practitioner", "id": "bad-name", "name": "Dr. Nobody"}},
    ]
    return bundle


def test_a_bad_bundle_is_refused_by_entry_and_field_and_nothing_is_imported(app, tmp_path):
    before = clinic_now(app)
    result = run(app, "import", write(tmp_path, _bad_bundle()), "--apply")
    assert result.exit_code == 1
    assert "was not imported" in result.output and "nothing changed" in result.output
    for problem in (
        "entry[4] PractitionerRole/ruizdael-gp: availableTime[0].availableStartTime:",
        "entry[8] PractitionerRole/r5-role: availability: Extra inputs are not permitted",
        "entry[9] Patient: resourceType: not imported",
        "entry[10] Practitioner/bad-name: name: Input should be a valid list",
    ):
        assert problem in result.output
    assert clinic_now(app).raw == before.raw
    assert audited(app, "clinic_imported") == []


def test_references_and_the_clinic_file_rules_are_checked_by_entry(app, tmp_path):
    bundle = json.loads(BUNDLE.read_text())
    role = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == "ruizdael-gp")
    role["practitioner"] = {"reference": "Practitioner/ghost"}
    service = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == "follow-up")
    service["location"] = [{"reference": "Location/nowhere"}]
    result = run(app, "import", write(tmp_path, bundle))
    assert result.exit_code == 1
    assert (
        "entry[4] PractitionerRole/ruizdael-gp: practitioner: Practitioner/ghost is neither in "
        "the bundle nor a provider of the clinic" in result.output
    )
    assert "entry[6] HealthcareService/follow-up: location[0]: 'Location/nowhere'" in result.output

    bundle = json.loads(BUNDLE.read_text())
    role = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == "ruizdael-gp")
    role["availableTime"].append(
        {"daysOfWeek": ["thu"], "availableStartTime": "12:30:00", "availableEndTime": "15:00:00"}
    )  # Thursday's break is 12:00-12:30, the other days' 12:00-13:00
    result = run(app, "import", write(tmp_path, bundle))
    assert result.exit_code == 1
    assert "entry[4] PractitionerRole/ruizdael-gp: availableTime: a break 12:00-12:30" in (
        result.output
    )
    bundle = json.loads(BUNDLE.read_text())
    service = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == "follow-up")
    service["specialty"] = [{"text": "dermatology"}]  # no provider has it
    result = run(app, "import", write(tmp_path, bundle))
    assert result.exit_code == 1
    assert (
        "entry[6] HealthcareService/follow-up: appointment_types[5].specialty: no provider has "
        "specialty 'dermatology'" in result.output
    )


@pytest.mark.parametrize(
    "content, said",
    [
        ("not json", "is not JSON"),
        (json.dumps({"resourceType": "Patient"}), "resourceType: must be a FHIR Bundle"),
        (json.dumps({"resourceType": "Bundle", "entry": [{"x": 1}]}), "entry[0]: resource"),
    ],
)
def test_what_is_not_a_bundle_is_refused(app, tmp_path, content, said):
    path = tmp_path / "bundle.json"
    path.write_text(content)
    result = run(app, "import", str(path))
    assert result.exit_code == 1 and said in result.output
    assert run(app, "import", str(tmp_path / "missing.json")).exit_code == 1
