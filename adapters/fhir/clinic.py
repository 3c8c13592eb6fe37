"""The clinic as FHIR: Practitioner (providers), Location (the clinic and its rooms),
HealthcareService (appointment types) and Schedule (one per provider): read, and search by
`_id` (a Schedule by `actor` too). Built from the clinic the app runs on
(scheduler/fhir/resources.py), listed in order of id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response

from scheduler.fhir import resources
from scheduler.fhir.search import FHIR_ID, SearchError, reference_ids

from .bundles import count, cursor, page_after, searchset
from .calls import blueprint, current, endpoint, read_args, search_args
from .capability import search_parameters
from .outcomes import FhirProblem, fhir_response

ID = "<string:ident>"


def _all(kind: str) -> list[dict[str, Any]]:
    call = current()
    clinic = call.services.clinic
    if kind == "Practitioner":
        return [resources.practitioner_resource(p) for p in clinic.providers]
    if kind == "Location":
        return [resources.site_resource(clinic)] + [
            resources.room_resource(r) for r in clinic.rooms
        ]
    if kind == "HealthcareService":
        return [resources.healthcare_service_resource(clinic, t) for t in clinic.appointment_types]
    return [resources.schedule_resource(clinic, p, call.now) for p in clinic.providers]


def search(kind: str, keep: Callable[[dict[str, Any]], bool] | None = None) -> Response:
    args = search_args(search_parameters(kind))
    found = sorted(_all(kind), key=lambda r: str(r["id"]))
    if "_id" in args:
        wanted = set(reference_ids("_id", args["_id"], kind))
        found = [r for r in found if r["id"] in wanted]
    if keep is not None:
        found = [r for r in found if keep(r)]
    after = cursor()
    if after is not None and not FHIR_ID.match(after):
        raise SearchError("_cursor", "is not a position this server gave out")
    page, more = page_after(found, lambda r: str(r["id"]), after, count())
    return fhir_response(searchset(page, len(found), page[-1]["id"] if more and page else None))


def read(kind: str, ident: str) -> Response:
    read_args()
    found = next((r for r in _all(kind) if r["id"] == ident), None)
    if found is None:
        raise FhirProblem(404, f"no {kind} {ident!r}", reason="not_found")
    return fhir_response(found)


@blueprint.get("/Practitioner")
@endpoint("search")
def practitioners() -> Response:
    return search("Practitioner")


@blueprint.get(f"/Practitioner/{ID}")
@endpoint("read")
def practitioner(ident: str) -> Response:
    return read("Practitioner", ident)


@blueprint.get("/Location")
@endpoint("search")
def locations() -> Response:
    return search("Location")


@blueprint.get(f"/Location/{ID}")
@endpoint("read")
def location(ident: str) -> Response:
    return read("Location", ident)


@blueprint.get("/HealthcareService")
@endpoint("search")
def healthcare_services() -> Response:
    return search("HealthcareService")


@blueprint.get(f"/HealthcareService/{ID}")
@endpoint("read")
def healthcare_service(ident: str) -> Response:
    return read("HealthcareService", ident)


@blueprint.get("/Schedule")
@endpoint("search")
def schedules() -> Response:
    args = search_args(search_parameters("Schedule"))
    if "actor" not in args:
        return search("Schedule")
    actors = {f"Practitioner/{i}" for i in reference_ids("actor", args["actor"], "Practitioner")}
    return search("Schedule", lambda r: r["actor"][0]["reference"] in actors)


@blueprint.get(f"/Schedule/{ID}")
@endpoint("read")
def schedule(ident: str) -> Response:
    return read("Schedule", ident)
