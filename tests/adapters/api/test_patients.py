"""/api/v1/patients: find by name or phone without decrypting a table, add, read; audited."""

from __future__ import annotations

from sqlalchemy import func, select

from scheduler.models import Patient
from scheduler.patients import find_or_create_patient
from tests.adapters.api.support import NAME, NOW, OTHER_PHONE, PHONE, audit_events


def test_add_then_find_by_name_or_phone_then_read(client, services, staff):
    added = client.post(
        "/api/v1/patients", json={"phone": OTHER_PHONE, "name": "Robin Examplename"}, headers=staff
    )
    assert added.status_code == 201, added.get_json()
    patient = added.get_json()
    assert patient == {
        "id": patient["id"],
        "name": "Robin Examplename",
        "phone": OTHER_PHONE,
        "language": None,
    }
    assert added.headers["Location"] == f"/api/v1/patients/{patient['id']}"
    for q in ("examplename", "Robin", "robin examplename", "(212) 555-0177", OTHER_PHONE):
        found = client.get("/api/v1/patients", query_string={"q": q}, headers=staff).get_json()
        assert found["items"] == [patient], q
    assert client.get("/api/v1/patients?q=Nobody", headers=staff).get_json()["items"] == []
    assert client.get("/api/v1/patients?q=Robin%20Nobody", headers=staff).get_json()["items"] == []
    assert client.get(added.headers["Location"], headers=staff).get_json() == patient
    kinds = [e.kind for e in audit_events(services) if e.actor == "staff:frontdesk"]
    assert kinds[0] == "patient_added" and "patient_contact_shown" in kinds
    with services.sessions() as db:
        row = db.get(Patient, patient["id"])
        assert b"Robin" not in (row.name_enc or b"") and b"0177" not in (row.phone_enc or b"")


def test_adding_a_phone_that_is_already_a_patient_answers_that_patient(
    client, services, staff, patient_id
):
    response = client.post(
        "/api/v1/patients", json={"phone": PHONE, "name": "Someone Else"}, headers=staff
    )
    assert response.status_code == 200
    assert response.get_json() == {"id": patient_id, "name": NAME, "phone": PHONE, "language": None}
    with services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Patient)) == 1


def test_demo_chat_patients_are_not_the_apis(client, services, staff):
    with services.sessions.begin() as db:
        demo = find_or_create_patient(db, services.vault, OTHER_PHONE, now=NOW, scope="web")
        db.flush()
        demo_id = demo.id
    assert client.get(f"/api/v1/patients/{demo_id}", headers=staff).status_code == 404
    assert client.get(f"/api/v1/patients?q={OTHER_PHONE}", headers=staff).get_json()["items"] == []
