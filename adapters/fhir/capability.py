"""What the facade serves, said once: the CapabilityStatement at `GET metadata` is made from
`SERVED`, and every search takes exactly the parameters `SERVED` names for its type
(`search_parameters`). tests/adapters/fhir check the statement against the app's routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scheduler.clinic import Clinic

FHIR_VERSION = "4.0.1"
# When this statement last changed (the CapabilityStatement's `date`).
STATEMENT_DATE = "2026-12-07"
SPEC = "http://hl7.org/fhir/SearchParameter/"
# Paging and format: taken by every search (`_format` by every read too), not search parameters.
CONTROL = ("_count", "_cursor", "_format")


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    definition: str | None
    documentation: str


@dataclass(frozen=True)
class Served:
    interactions: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    documentation: str


_ID = Parameter("_id", "token", SPEC + "Resource-id", "One id, or several separated by commas.")
SERVED: dict[str, Served] = {
    "Practitioner": Served(
        ("read", "search-type"),
        (_ID,),
        "The clinic's providers; the id is the provider's key in the clinic file.",
    ),
    "Location": Served(
        ("read", "search-type"),
        (_ID,),
        "The clinic itself (id `clinic.site`, physicalType `si`) and its rooms (the room's "
        "key, physicalType `ro`, type its kind).",
    ),
    "HealthcareService": Served(
        ("read", "search-type"),
        (_ID,),
        "The appointment types; the id is the type's key, its length in the extension "
        "urn:clinic-scheduler:fhir:duration-minutes.",
    ),
    "Schedule": Served(
        ("read", "search-type"),
        (
            _ID,
            Parameter(
                "actor",
                "reference",
                SPEC + "Schedule-actor",
                "Practitioner/<id>; several separated by commas.",
            ),
        ),
        "One per provider, with the provider's id; serviceType lists the types they offer.",
    ),
    "Slot": Served(
        ("read", "search-type"),
        (
            Parameter("schedule", "reference", SPEC + "Slot-schedule", "Schedule/<id>."),
            Parameter(
                "start",
                "date",
                SPEC + "Slot-start",
                "Prefixes eq, ge, gt, le, lt; dates or instants (no offset: the clinic's "
                "time). A search covers at most 31 days; 7 from its lower bound (or today) "
                "when no upper bound is given.",
            ),
            Parameter("status", "token", SPEC + "Slot-status", "free, busy."),
            Parameter(
                "service-type",
                "token",
                SPEC + "Slot-service-type",
                "An appointment type's key (system urn:medical-ai-scheduler:appointment-type).",
            ),
        ),
        "Computed from the real availability on every request: free times, and busy ones "
        "(booked appointments). An id stays valid while its time is free.",
    ),
    "Appointment": Served(
        ("read", "search-type", "create", "update", "patch"),
        (
            Parameter(
                "date", "date", SPEC + "clinical-date", "The start; prefixes eq, ge, gt, le, lt."
            ),
            Parameter("patient", "reference", SPEC + "clinical-patient", "Patient/<id>."),
            Parameter(
                "practitioner", "reference", SPEC + "Appointment-practitioner", "Practitioner/<id>."
            ),
            Parameter("status", "token", SPEC + "Appointment-status", "Several by commas."),
        ),
        "create books the Slot named by `slot` (status booked, the patient as a participant); "
        "update (the whole resource) or patch (JSON Patch or merge patch of /status) to "
        "`cancelled` cancels. Nothing else changes here.",
    ),
    "Patient": Served(
        ("read", "search-type"),
        (
            Parameter(
                "identifier",
                "token",
                SPEC + "Patient-identifier",
                "The phone: urn:ietf:rfc:3986|tel:+12125550123, tel:+12125550123, or the "
                "number alone (E.164 or any common format).",
            ),
        ),
        "The clinic's patients, minimum necessary: name, phone, language.",
    ),
}


def search_parameters(resource_type: str) -> frozenset[str]:
    return frozenset(p.name for p in SERVED[resource_type].parameters)


def _resource(kind: str, served: Served) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "type": kind,
        "profile": f"http://hl7.org/fhir/StructureDefinition/{kind}",
        "documentation": served.documentation,
        "interaction": [{"code": code} for code in served.interactions],
        "versioning": "no-version",
        "readHistory": False,
        "updateCreate": False,
        "conditionalCreate": False,
        "conditionalRead": "not-supported",
        "conditionalUpdate": False,
        "conditionalDelete": "not-supported",
        "searchParam": [
            {
                "name": p.name,
                "type": p.type,
                "documentation": p.documentation,
                **({"definition": p.definition} if p.definition else {}),
            }
            for p in served.parameters
        ],
    }
    if "patch" in served.interactions:
        resource["documentation"] += " PATCH takes application/json-patch+json too."
    return resource


def capability_statement(base: str, clinic: Clinic) -> dict[str, Any]:
    """The CapabilityStatement: exactly what `SERVED` says, at `base`."""
    return {
        "resourceType": "CapabilityStatement",
        "id": "clinic-scheduler",
        "url": f"{base}/metadata",
        "name": "ClinicSchedulerFhirFacade",
        "title": f"{clinic.name}: the schedule in FHIR R4",
        "status": "active",
        "date": STATEMENT_DATE,
        "publisher": clinic.name,
        "kind": "instance",
        "software": {"name": "Medical-AI-Scheduler FHIR facade"},
        "implementation": {"description": f"{clinic.name}'s schedule", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["json", "application/fhir+json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Searches answer searchset Bundles with total and self/next links "
                    "(_count: default 50, at most 200); an unknown parameter is a 400. "
                    "Errors are OperationOutcomes."
                ),
                "security": {
                    "cors": False,
                    "description": (
                        "Authorization: Bearer <token> on every call but this one: a staff "
                        "member's API token (flask --app app tokens create), the same as "
                        "/api/v1's; it sees and books for every patient. SMART on FHIR is not "
                        "supported."
                    ),
                },
                "resource": [_resource(kind, served) for kind, served in SERVED.items()],
            }
        ],
    }
