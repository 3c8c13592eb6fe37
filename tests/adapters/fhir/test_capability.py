"""GET metadata says exactly what is served: every interaction it claims is a route of the app
and every route under /fhir/r4 is claimed; every search parameter it claims is taken, and one it
does not claim is a 400."""

from __future__ import annotations

import pytest

from tests.adapters.fhir.support import BASE, FHIR_JSON, THURSDAY, outcome_text, valid

# An example value of each claimed parameter, as an EHR would send it.
EXAMPLES = {
    ("Practitioner", "_id"): "okafor",
    ("Location", "_id"): "clinic.site,exam-1",
    ("HealthcareService", "_id"): "checkup",
    ("Schedule", "_id"): "okafor",
    ("Schedule", "actor"): "Practitioner/okafor",
    ("Slot", "schedule"): "Schedule/okafor",
    ("Slot", "start"): f"ge{THURSDAY}",
    ("Slot", "status"): "free",
    ("Slot", "service-type"): "urn:medical-ai-scheduler:appointment-type|checkup",
    ("Appointment", "date"): f"lt{THURSDAY}T12:00:00-05:00",
    ("Appointment", "patient"): "Patient/1",
    ("Appointment", "practitioner"): "Practitioner/okafor",
    ("Appointment", "status"): "booked,cancelled",
    ("Patient", "identifier"): "urn:ietf:rfc:3986|tel:+12125550142",
}
ROUTE_INTERACTIONS = {
    ("collection", "GET"): "search-type",
    ("collection", "POST"): "create",
    ("instance", "GET"): "read",
    ("instance", "PUT"): "update",
    ("instance", "PATCH"): "patch",
}


def statement(client) -> dict:
    response = client.get(f"{BASE}/metadata")  # no token
    assert response.status_code == 200 and response.mimetype == FHIR_JSON
    return valid(response.get_json())


def claimed(client) -> dict[str, dict]:
    [rest] = statement(client)["rest"]
    return {resource["type"]: resource for resource in rest["resource"]}


def served_routes(app) -> set[tuple[str, str]]:
    """(resource type, interaction) of every route under /fhir/r4 but metadata."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(BASE + "/") or rule.rule == f"{BASE}/metadata":
            continue
        parts = rule.rule.removeprefix(BASE + "/").split("/")
        assert len(parts) in (1, 2), rule.rule
        shape = "collection" if len(parts) == 1 else "instance"
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            found.add((parts[0], ROUTE_INTERACTIONS[(shape, method)]))
    return found


def test_the_statement_is_fhir_4_0_1_json_and_needs_no_token(client):
    found = statement(client)
    assert found["fhirVersion"] == "4.0.1" and found["kind"] == "instance"
    assert set(found["format"]) >= {"json", "application/fhir+json"}
    assert found["implementation"]["url"].endswith("/fhir/r4")


def test_every_claimed_interaction_is_served_and_every_route_is_claimed(app, client):
    resources = claimed(client)
    claims = {
        (kind, interaction["code"])
        for kind, resource in resources.items()
        for interaction in resource["interaction"]
    }
    assert claims == served_routes(app)
    assert set(resources) == {
        "Practitioner",
        "Location",
        "HealthcareService",
        "Schedule",
        "Slot",
        "Appointment",
        "Patient",
    }


def test_every_claimed_search_parameter_is_taken(client, fhir, patient_id):
    resources = claimed(client)
    params = {
        (kind, param["name"])
        for kind, resource in resources.items()
        for param in resource["searchParam"]
    }
    assert params == set(EXAMPLES)
    for kind, name in sorted(params):
        response = fhir.get(f"/{kind}", query_string={name: EXAMPLES[(kind, name)]})
        assert response.status_code == 200, (kind, name, response.get_json())
        assert response.get_json()["type"] == "searchset"


@pytest.mark.parametrize(
    "kind, param",
    [
        ("Slot", "date"),  # Appointment's, not Slot's
        ("Appointment", "start"),
        ("Patient", "name"),
        ("Patient", "_id"),
        ("Practitioner", "name"),
        ("Schedule", "date"),
        ("Appointment", "status:not"),
        ("Slot", "_sort"),
    ],
)
def test_a_parameter_not_claimed_is_a_400(client, fhir, kind, param):
    response = fhir.get(f"/{kind}", query_string={param: "x"})
    assert response.status_code == 400
    assert param in outcome_text(response)


def test_json_is_the_only_format(client, fhir):
    assert fhir.get("/Practitioner", query_string={"_format": "json"}).status_code == 200
    assert fhir.get("/Practitioner", query_string={"_format": "xml"}).status_code == 406
    only_xml = {"Accept": "application/fhir+xml"}
    assert fhir.get("/Practitioner/okafor", headers=only_xml).status_code == 406
    response = client.get(f"{BASE}/metadata", query_string={"_format": "application/fhir+json"})
    assert response.status_code == 200
