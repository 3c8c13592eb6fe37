"""Bad input to the facade: the right 4xx as an OperationOutcome (valid FHIR), nothing changed,
and, once the token is known, the refusal audited under its user. Never a 500."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import select

from scheduler.models import AuditEvent, Patient
from scheduler.patients import find_or_create_patient
from tests.adapters.api.support import NOW, OTHER_PHONE, book_earlier, counts
from tests.adapters.fhir.support import BASE, booking, free_slots, outcome_text


def refusals(services) -> list[tuple[str, str, str, str]]:
    """(actor, channel, action, reason) of each refusal audited, in order."""
    with services.sessions() as db:
        return [
            (e.actor, e.channel, e.detail.get("action"), e.detail.get("reason"))
            for e in db.scalars(
                select(AuditEvent)
                .where(AuditEvent.kind == "request_refused")
                .order_by(AuditEvent.seq)
            )
        ]


@pytest.fixture
def booked(fhir, patient_id):
    """A check-up booked through the facade on Thursday: (its Slot id, the Appointment)."""
    [slot, *_] = free_slots(fhir, **{"service-type": "checkup"})
    response = fhir.send("POST", "/Appointment", booking(slot["id"], patient_id))
    assert response.status_code == 201, response.get_json()
    return slot["id"], response.get_json()


SEARCHES = [
    ("/Appointment", {"date": "tomorrow"}, "date"),
    ("/Appointment", {"date": "2026-02-30"}, "date"),
    ("/Slot", {"start": "ne2026-03-05"}, "start"),
    ("/Slot", {"start": ["ge2026-03-01", "lt2026-05-01"]}, "31 days"),
    ("/Slot", {"status": "maybe"}, "status"),
    ("/Slot", {"colour": "blue"}, "colour"),
    ("/Slot", {"_cursor": "not-a-position"}, "_cursor"),
    ("/Appointment", {"patient": "Practitioner/okafor"}, "patient"),
    ("/Appointment", {"status": "booked", "_count": "500"}, "_count"),
    ("/Appointment", {"_count": "ten"}, "_count"),
    ("/Appointment", {"_cursor": "@@@"}, "_cursor"),
    ("/Patient", {"identifier": "tel:not-a-number"}, "identifier"),
    ("/Patient", {}, "identifier"),
    ("/Practitioner/okafor", {"_count": "3"}, "_count"),
]


@pytest.mark.parametrize("path, query, named", SEARCHES)
def test_an_unknown_or_malformed_search_parameter_is_a_400(fhir, services, path, query, named):
    before = counts(services)
    response = fhir.get(path, query_string=query)
    assert response.status_code == 400
    assert named in outcome_text(response)
    assert counts(services) == before
    action = "read" if path.count("/") == 2 else "search"
    assert refusals(services) == [("staff:frontdesk", "fhir", action, "bad_search")]


@pytest.mark.parametrize("who", ["anonymous", "wrong", "revoked"])
def test_no_token_or_a_bad_one_is_a_401(client, users, services, who):
    response = client.get(f"{BASE}/Appointment", headers=getattr(users, who))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert outcome_text(response)
    assert refusals(services) == []  # no user to audit it under


def test_a_role_that_may_not_use_the_facade_is_a_403_and_audited(client, users, services):
    response = client.get(f"{BASE}/Slot", headers=users.other_role)
    assert response.status_code == 403 and outcome_text(response)
    assert refusals(services) == [("auditor:visitor", "fhir", "fhir_get", "forbidden_role")]


@pytest.mark.parametrize(
    "path",
    [
        "/Appointment/999999",
        "/Appointment/not-a-number",
        "/Patient/999999",
        "/Slot/1.1.20260305T130700Z",  # never on the grid
        "/Slot/anything",
        "/Practitioner/nobody",
        "/Schedule/nobody",
        "/Location/nowhere",
        "/HealthcareService/nothing",
    ],
)
def test_an_unknown_id_is_a_404_and_audited(fhir, services, path):
    response = fhir.get(path)
    assert response.status_code == 404 and outcome_text(response)
    assert refusals(services) == [("staff:frontdesk", "fhir", "read", "not_found")]


def test_a_demo_chat_patient_or_an_erased_one_is_not_there(fhir, services):
    with services.sessions.begin() as db:
        demo = find_or_create_patient(db, services.vault, OTHER_PHONE, now=NOW, scope="web")
        erased = find_or_create_patient(db, services.vault, "+12125550188", now=NOW)
        erased.erased_at = NOW
        db.flush()
        ids = demo.id, erased.id
    for patient_id in ids:
        assert fhir.get(f"/Patient/{patient_id}").status_code == 404
    for phone in (OTHER_PHONE, "+12125550188"):
        assert fhir.search("/Patient", identifier=phone)["total"] == 0


@pytest.mark.parametrize(
    "method, path", [("DELETE", "/Appointment/1"), ("POST", "/Slot"), ("PUT", "/Patient/1")]
)
def test_a_method_a_path_does_not_take_is_a_405_and_audited(fhir, services, method, path):
    response = fhir.send(method, path, {"resourceType": "Appointment"})
    assert response.status_code == 405 and outcome_text(response)
    assert "GET" in response.headers["Allow"]
    assert refusals(services) == [
        ("staff:frontdesk", "fhir", f"fhir_{method.lower()}", "method_not_allowed")
    ]


def test_booking_a_slot_that_is_not_free_any_more_is_a_409(fhir, services, patient_id, booked):
    slot_id, _ = booked
    before = counts(services)
    response = fhir.send("POST", "/Appointment", booking(slot_id, patient_id))
    assert response.status_code == 409
    assert "not free" in outcome_text(response)
    assert counts(services) == before
    assert refusals(services) == [("staff:frontdesk", "fhir", "book", "slot_not_free")]


def test_cancelling_a_visit_that_has_started_is_a_409_audited_by_the_tools(
    fhir, services, patient_id
):
    started = book_earlier(services, patient_id, date(2026, 3, 4), time(8, 30))
    before = counts(services)
    response = fhir.send(
        "PATCH",
        f"/Appointment/{started}",
        [{"op": "replace", "path": "/status", "value": "cancelled"}],
        content_type="application/json-patch+json",
    )
    assert response.status_code == 409 and outcome_text(response)
    assert counts(services) == before
    [(actor, channel, action, _)] = refusals(services)
    assert (actor, channel, action) == ("staff:frontdesk", "fhir", "cancel")


def _invalid_bookings(slot_id: str, patient_id: int, demo_id: int) -> list[tuple[object, str]]:
    good = booking(slot_id, patient_id)
    return [
        ({**good, "resourceType": "Patient"}, "resourceType"),
        ({**good, "subject": {"reference": f"Patient/{patient_id}"}}, "subject"),  # R5's
        ({**good, "status": "proposed"}, "status"),
        ({**good, "start": "tomorrow at ten"}, "start"),
        ({k: v for k, v in good.items() if k != "slot"}, "Slot"),
        ({**good, "slot": [{"reference": "Slot/not-ours"}]}, "not a Slot"),
        ({**good, "slot": [{"display": "the 9 o'clock"}]}, "Slot/<id>"),
        (booking(slot_id, 999999), "Patient/999999"),
        (booking(slot_id, demo_id), f"Patient/{demo_id}"),
        (
            {
                **good,
                "participant": [
                    {"actor": {"reference": "Practitioner/okafor"}, "status": "accepted"}
                ],
            },
            "patient",
        ),
        (
            {
                **good,
                "participant": good["participant"]
                + [{"actor": {"reference": "Device/x"}, "status": "accepted"}],
            },
            "Device",
        ),
        ({**good, "start": "2026-03-05T23:00:00-05:00"}, "start"),
        ([good], "JSON object"),
    ]


def test_a_resource_that_cannot_book_is_a_422_and_nothing_is_booked(fhir, services, patient_id):
    [slot, *_] = free_slots(fhir, **{"service-type": "checkup"})
    with services.sessions.begin() as db:
        demo = find_or_create_patient(db, services.vault, OTHER_PHONE, now=NOW, scope="web")
        db.flush()
        demo_id = demo.id
    cases = _invalid_bookings(slot["id"], patient_id, demo_id)
    before = counts(services)
    for body, named in cases:
        response = fhir.send("POST", "/Appointment", body)
        assert response.status_code == 422, (body, response.get_json())
        assert named in outcome_text(response), (named, outcome_text(response))
    assert counts(services) == before
    assert refusals(services) == [("staff:frontdesk", "fhir", "book", "invalid_resource")] * len(
        cases
    )
    assert fhir.get(f"/Slot/{slot['id']}").get_json()["status"] == "free"


def test_changes_other_than_cancelling_are_refused(fhir, services, booked):
    _, appointment = booked
    path = f"/Appointment/{appointment['id']}"
    before = counts(services)
    for body, status in (
        ({**appointment, "status": "noshow"}, 422),
        ({**appointment, "start": "2026-03-06T10:00:00-05:00"}, 422),
        ({**appointment, "participant": appointment["participant"][:1]}, 422),
        ({**appointment, "id": "12345"}, 400),
    ):
        assert fhir.send("PUT", path, body).status_code == status
    for patch in (
        [{"op": "replace", "path": "/start", "value": "2026-03-06T10:00:00-05:00"}],
        [{"op": "remove", "path": "/status"}],
        [{"op": "test", "path": "/status", "value": "arrived"}],
        [],
    ):
        response = fhir.send("PATCH", path, patch, content_type="application/json-patch+json")
        assert response.status_code == 422, patch
    assert fhir.send("PUT", path, "{not json").status_code == 400
    assert counts(services) == before
    assert len(refusals(services)) == 9


@pytest.mark.parametrize(
    "method, content_type",
    [
        ("POST", "text/plain"),
        ("POST", "application/xml"),
        ("POST", "application/fhir+json; fhirVersion=5.0"),
        ("POST", "application/json-patch+json"),  # a patch is not a resource
        ("PATCH", "application/x-www-form-urlencoded"),
    ],
)
def test_a_body_that_is_not_fhir_json_is_a_415(fhir, services, booked, method, content_type):
    slot_id, appointment = booked
    path = "/Appointment" if method == "POST" else f"/Appointment/{appointment['id']}"
    before = counts(services)
    response = fhir.send(method, path, booking(slot_id, 1), content_type=content_type)
    assert response.status_code == 415 and outcome_text(response)
    assert counts(services) == before
    [(_, _, _, reason)] = refusals(services)
    assert reason in ("unsupported_media_type", "wrong_version")


def test_a_body_over_64_kib_is_a_413(fhir, services, patient_id):
    body = booking("1.1.20260305T130000Z", patient_id, comment="x" * (70 * 1024))
    before = counts(services)
    response = fhir.send("POST", "/Appointment", body)
    assert response.status_code == 413 and outcome_text(response)
    assert counts(services) == before


def test_staff_tokens_see_every_patients_appointments(client, users, booked, services):
    _, appointment = booked
    with services.sessions() as db:
        owner = db.get(Patient, int(appointment["participant"][0]["actor"]["reference"][8:]))
    for who in (users.staff, users.admin):
        response = client.get(f"{BASE}/Appointment/{appointment['id']}", headers=who)
        assert response.status_code == 200
        found = client.get(f"{BASE}/Appointment?patient={owner.id}", headers=who).get_json()
        assert found["total"] == 1
