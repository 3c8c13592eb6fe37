"""/api/v1/waitlist: join (through the scheduling tools), list, leave (offers withdrawn)."""

from __future__ import annotations

from sqlalchemy import select

from scheduler.models import WaitlistEntry, WaitlistOffer
from tests.adapters.api.support import OTHER_PHONE, add_patient, audit_events


def test_join_list_and_leave(client, services, staff, patient_id):
    joined = client.post(
        "/api/v1/waitlist",
        json={
            "patient": patient_id,
            "appointment_type": "checkup",
            "provider": "okafor",
            "earliest": "2026-03-09",
            "latest": "2026-03-20",
            "priority": "urgent",
        },
        headers=staff,
    )
    assert joined.status_code == 201, joined.get_json()
    entry = joined.get_json()
    assert entry == {
        "id": entry["id"],
        "patient": patient_id,
        "appointment_type": "checkup",
        "provider": "okafor",
        "earliest": "2026-03-09",
        "latest": "2026-03-20",
        "priority": "urgent",
        "status": "waiting",
        "created_at": "2026-03-04T09:00:00-05:00",
    }
    again = client.post(
        "/api/v1/waitlist",
        json={"patient": patient_id, "appointment_type": "checkup"},
        headers=staff,
    )
    assert again.status_code == 200 and again.get_json()["id"] == entry["id"]

    other = add_patient(services, OTHER_PHONE, "Robin Examplename")
    client.post(
        "/api/v1/waitlist", json={"patient": other, "appointment_type": "checkup"}, headers=staff
    )
    listed = client.get("/api/v1/waitlist", headers=staff).get_json()["items"]
    assert [e["patient"] for e in listed] == [patient_id, other]  # urgent first
    mine = client.get(f"/api/v1/waitlist?patient={other}", headers=staff).get_json()["items"]
    assert [e["patient"] for e in mine] == [other]

    left = client.delete(f"/api/v1/waitlist/{entry['id']}", headers=staff)
    assert left.status_code == 200 and left.get_json()["status"] == "removed"
    assert [
        e["patient"] for e in client.get("/api/v1/waitlist", headers=staff).get_json()["items"]
    ] == [other]
    [joined_event, *_] = audit_events(services, "waitlist_joined")
    [left_event] = audit_events(services, "waitlist_left")
    assert joined_event.actor == left_event.actor == "staff:frontdesk"


def test_leaving_withdraws_the_offers_the_entry_holds(client, services, staff, patient_id):
    waiting = add_patient(services, OTHER_PHONE, "Robin Examplename")
    entry = client.post(
        "/api/v1/waitlist", json={"patient": waiting, "appointment_type": "checkup"}, headers=staff
    ).get_json()
    slot = client.get(
        "/api/v1/slots?type=checkup&from=2026-03-05&to=2026-03-05", headers=staff
    ).get_json()["items"][0]
    booked = client.post(
        "/api/v1/appointments",
        json={"patient": patient_id, "appointment_type": "checkup", "start": slot["start"]},
        headers=staff,
    ).get_json()
    client.delete(f"/api/v1/appointments/{booked['id']}", headers=staff)
    with services.sessions() as db:
        assert db.scalars(select(WaitlistOffer.status)).all() == ["offered"]
    assert client.delete(f"/api/v1/waitlist/{entry['id']}", headers=staff).status_code == 200
    with services.sessions() as db:
        assert db.scalars(select(WaitlistOffer.status)).all() == ["expired"]
        assert db.get(WaitlistEntry, entry["id"]).status == "removed"
