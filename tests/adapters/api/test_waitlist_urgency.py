"""Urgency levels on /api/v1/waitlist: joining at urgent, soon or routine, the list in the
waitlist's order (level, then time waiting), and `PATCH /api/v1/waitlist/{id}` with a level and a
required reason, audited as `urgency_changed` with who, from, to and why. Bad input is a problem
(404, 409, 422, 401, 403) and changes nothing."""

from __future__ import annotations

import pytest

from scheduler.models import WaitlistEntry
from tests.adapters.api.support import (
    OTHER_PHONE,
    add_patient,
    audit_events,
    counts,
)

THIRD_PHONE = "+12125550188"


def join(client, headers, patient: int, level: str | None = None, kind: str = "checkup"):
    body = {"patient": patient, "appointment_type": kind}
    if level is not None:
        body["priority"] = level
    answer = client.post("/api/v1/waitlist", json=body, headers=headers)
    assert answer.status_code in (200, 201), answer.get_json()
    return answer.get_json()


@pytest.fixture
def three(client, services, staff, patient_id, clock):
    """A routine, a soon and an urgent entry, joined ten minutes apart in that order."""
    routine = join(client, staff, patient_id)
    clock.advance(minutes=10)
    soon = join(client, staff, add_patient(services, OTHER_PHONE, "Robin Examplename"), "soon")
    clock.advance(minutes=10)
    urgent = join(client, staff, add_patient(services, THIRD_PHONE, "Sasha Madeupname"), "urgent")
    return routine, soon, urgent


def listed(client, staff) -> list[tuple[int, str]]:
    items = client.get("/api/v1/waitlist", headers=staff).get_json()["items"]
    return [(item["id"], item["priority"]) for item in items]


def test_every_level_can_be_joined_and_the_list_is_most_urgent_first(client, staff, three):
    routine, soon, urgent = three
    assert (routine["priority"], soon["priority"], urgent["priority"]) == (
        "routine",
        "soon",
        "urgent",
    )
    assert listed(client, staff) == [
        (urgent["id"], "urgent"),
        (soon["id"], "soon"),
        (routine["id"], "routine"),
    ]


def test_joining_again_at_a_higher_level_raises_the_entry(client, staff, three):
    routine, _, _ = three
    again = client.post(
        "/api/v1/waitlist",
        json={"patient": routine["patient"], "appointment_type": "checkup", "priority": "soon"},
        headers=staff,
    )
    assert again.status_code == 200
    assert (again.get_json()["id"], again.get_json()["priority"]) == (routine["id"], "soon")


@pytest.mark.parametrize("level", ["emergency", "URGENT", "asap", ""])
def test_joining_at_a_level_there_is_not_is_a_422(client, staff, patient_id, services, level):
    before = counts(services)
    answer = client.post(
        "/api/v1/waitlist",
        json={"patient": patient_id, "appointment_type": "checkup", "priority": level},
        headers=staff,
    )
    assert answer.status_code == 422
    assert answer.content_type == "application/problem+json"
    assert "priority" in answer.get_json()["errors"]
    assert counts(services) == before


def test_staff_change_a_level_with_a_reason_and_it_is_audited(
    client, services, staff, users, three, clock
):
    routine, soon, urgent = three
    clock.advance(hours=2)
    answer = client.patch(
        f"/api/v1/waitlist/{routine['id']}",
        json={"priority": "urgent", "reason": "chest tightness when climbing stairs"},
        headers=staff,
    )
    assert answer.status_code == 200, answer.get_json()
    changed = answer.get_json()
    assert changed == {**routine, "priority": "urgent"}  # the same entry, its time waiting kept
    # Urgent now, and the longest waiting of the urgent ones: first.
    assert listed(client, staff) == [
        (routine["id"], "urgent"),
        (urgent["id"], "urgent"),
        (soon["id"], "soon"),
    ]
    [event] = audit_events(services, "urgency_changed")
    assert (event.actor, event.channel, event.patient_id) == (
        "staff:frontdesk",
        "api",
        routine["patient"],
    )
    assert event.detail == {
        "entry": routine["id"],
        "from": "routine",
        "to": "urgent",
        "by": "staff:frontdesk",
    }
    assert services.vault.decrypt(event.text_enc) == "chest tightness when climbing stairs"
    # An admin may lower it again.
    lowered = client.patch(
        f"/api/v1/waitlist/{urgent['id']}",
        json={"priority": "routine", "reason": "seen at the walk-in"},
        headers=users.admin,
    )
    assert lowered.status_code == 200 and lowered.get_json()["priority"] == "routine"
    assert audit_events(services, "urgency_changed")[-1].actor == "admin:manager"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"priority": "urgent"}, "reason"),
        ({"priority": "urgent", "reason": ""}, "reason"),
        ({"priority": "urgent", "reason": "x" * 301}, "reason"),
        ({"priority": "urgent", "reason": "bad\x00text"}, "reason"),
        ({"priority": "emergency", "reason": "chest pain"}, "priority"),
        ({"priority": None, "reason": "fever"}, "priority"),
        ({"reason": "fever"}, "priority"),
    ],
)
def test_a_bad_body_is_a_422_naming_the_field_and_changes_nothing(
    client, services, staff, three, body, field
):
    routine, _, _ = three
    before = counts(services, audit=True)
    answer = client.patch(f"/api/v1/waitlist/{routine['id']}", json=body, headers=staff)
    assert answer.status_code == 422, answer.get_json()
    assert answer.content_type == "application/problem+json"
    assert field in answer.get_json()["errors"]
    assert counts(services, audit=True) == before


def test_a_blank_reason_is_refused_by_the_tools_and_changes_nothing(client, services, staff, three):
    routine, _, _ = three
    answer = client.patch(
        f"/api/v1/waitlist/{routine['id']}",
        json={"priority": "urgent", "reason": "   "},
        headers=staff,
    )
    assert answer.status_code == 422
    assert answer.get_json()["code"] == "reason_required"
    assert listed(client, staff)[-1] == (routine["id"], "routine")
    assert audit_events(services, "urgency_changed") == []


def test_an_unknown_entry_is_a_404_and_a_closed_one_a_409(client, services, staff, three):
    routine, _, _ = three
    body = {"priority": "urgent", "reason": "fever"}
    missing = client.patch("/api/v1/waitlist/999999", json=body, headers=staff)
    assert missing.status_code == 404
    assert missing.content_type == "application/problem+json"
    client.delete(f"/api/v1/waitlist/{routine['id']}", headers=staff)
    closed = client.patch(f"/api/v1/waitlist/{routine['id']}", json=body, headers=staff)
    assert closed.status_code == 409 and closed.get_json()["code"] == "closed"
    assert audit_events(services, "urgency_changed") == []


@pytest.mark.parametrize(
    "who, status", [("anonymous", 401), ("wrong", 401), ("revoked", 401), ("other_role", 403)]
)
def test_only_the_clinic_team_may_change_a_level(client, services, users, three, who, status):
    routine, _, _ = three
    answer = client.patch(
        f"/api/v1/waitlist/{routine['id']}",
        json={"priority": "urgent", "reason": "fever"},
        headers=getattr(users, who),
    )
    assert answer.status_code == status
    assert audit_events(services, "urgency_changed") == []
    with services.sessions() as db:
        assert db.get(WaitlistEntry, routine["id"]).priority == "routine"


def test_the_document_describes_the_levels_and_the_change(client):
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    assert schemas["WaitlistEntry"]["properties"]["priority"]["enum"] == [
        "urgent",
        "soon",
        "routine",
    ]
    patch = document["paths"]["/api/v1/waitlist/{entry_id}"]["patch"]
    assert patch["summary"] == "Change an entry's urgency"
    body = patch["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert set(schemas[body]["required"]) == {"priority", "reason"}
    for status in ("404", "409", "422"):
        assert status in patch["responses"], status
