"""/api/v1/providers, /appointment-types and /slots: the demo clinic as the API shows it."""

from __future__ import annotations

from datetime import date

from tests.adapters.api.support import local


def test_providers_and_appointment_types(client, staff):
    providers = client.get("/api/v1/providers", headers=staff).get_json()["items"]
    by_id = {p["id"]: p for p in providers}
    assert set(by_id) == {"okafor", "lindqvist", "moreau", "tanaka"}
    assert by_id["okafor"]["name"] == "Dr. Amara Okafor"
    assert "vaccination" in by_id["moreau"]["appointment_types"]
    assert "vaccination" not in by_id["okafor"]["appointment_types"]
    kinds = {
        t["id"]: t
        for t in client.get("/api/v1/appointment-types", headers=staff).get_json()["items"]
    }
    assert kinds["checkup"]["duration_minutes"] == 30
    assert set(kinds["cardiac-echo"]["providers"]) == {"lindqvist", "tanaka"}


def test_slots_for_a_type_between_two_dates(client, staff):
    slots = client.get(
        "/api/v1/slots",
        query_string={
            "type": "cardiac-echo",
            "from": "2026-03-10",
            "to": "2026-03-12",
            "limit": 50,
        },
        headers=staff,
    ).get_json()["items"]
    assert slots and len(slots) <= 50
    assert all(date(2026, 3, 10) <= local(s["start"]).date() <= date(2026, 3, 12) for s in slots)
    assert all(s["provider"] in ("lindqvist", "tanaka") for s in slots)
    assert {s["room"] for s in slots} == {"procedure"} and {s["equipment"] for s in slots} == {
        "ultrasound"
    }
    starts = [s["start"] for s in slots]
    assert starts == sorted(starts, key=local) and len(set(starts)) == len(starts)
    one = client.get(
        "/api/v1/slots?type=checkup&provider=moreau&from=2026-03-05&to=2026-03-05", headers=staff
    ).get_json()["items"]
    assert one and {s["provider"] for s in one} == {"moreau"}
    assert len(client.get("/api/v1/slots?type=checkup", headers=staff).get_json()["items"]) == 20


def test_the_days_saving_change_keeps_real_offsets(client, staff):
    """Sunday 2026-03-08 the clocks go forward: Friday's times are -05:00, Monday's -04:00."""
    friday = client.get("/api/v1/slots?type=checkup&from=2026-03-06&to=2026-03-06", headers=staff)
    monday = client.get("/api/v1/slots?type=checkup&from=2026-03-09&to=2026-03-09", headers=staff)
    assert friday.get_json()["items"][0]["start"].endswith("-05:00")
    assert monday.get_json()["items"][0]["start"].endswith("-04:00")
