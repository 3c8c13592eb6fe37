"""Patient: read, and search by `identifier`, the phone number (the only way to find one here).

The identifier is the phone as a tel: URI of the system `urn:ietf:rfc:3986`
(`identifier=urn:ietf:rfc:3986|tel:+12125550123`); `tel:+12125550123` alone, or the number alone
in any common format, finds the same patient. Only the clinic's patients are served: a demo
chat's patients and erased ones are not there. Minimum necessary (resources.patient_resource):
name, phone, language. Every patient shown is audited under the token's user, as /api/v1 does
(`patient_looked_up`, `patient_contact_shown`).
"""

from __future__ import annotations

from flask import Response

from scheduler.fhir.resources import URI_SYSTEM, patient_resource
from scheduler.fhir.search import SearchError, token_codes
from scheduler.models import Patient
from scheduler.patients import InvalidPhoneNumber, find_patient, normalize_phone

from .bundles import count, searchset
from .calls import Call, blueprint, current, endpoint, read_args, search_args
from .capability import search_parameters
from .outcomes import FhirProblem, fhir_response


def _shown(call: Call, kind: str, patient: Patient) -> dict[str, object]:
    call.record_shown(kind, patient.id)
    vault = call.services.vault
    return patient_resource(
        patient.id,
        vault.decrypt(patient.name_enc),
        vault.decrypt(patient.phone_enc),
        patient.language,
    )


def _phone(code: str) -> str:
    try:
        return normalize_phone(code.removeprefix("tel:"))
    except InvalidPhoneNumber:
        raise SearchError("identifier", f"{code!r} is not a phone number") from None


@blueprint.get("/Patient")
@endpoint("search")
def patients() -> Response:
    call = current()
    args = search_args(search_parameters("Patient"))
    if "identifier" not in args:
        raise SearchError("identifier", "Patients are found by identifier (their phone) only")
    found: dict[int, Patient] = {}
    for phone in {
        _phone(code) for code in token_codes("identifier", args["identifier"], URI_SYSTEM)
    }:
        patient = find_patient(call.db, call.services.vault, phone)
        if patient is not None and patient.of_the_clinic:
            found[patient.id] = patient
    shown = [_shown(call, "patient_looked_up", found[i]) for i in sorted(found)[: count()]]
    return fhir_response(searchset(shown, len(found), None))  # one patient a phone: no paging


@blueprint.get("/Patient/<string:ident>")
@endpoint("read")
def patient(ident: str) -> Response:
    read_args()
    call = current()
    row = call.db.get(Patient, int(ident)) if ident.isdigit() and int(ident) < 2**31 else None
    if row is None or not row.of_the_clinic:
        raise FhirProblem(404, f"no Patient {ident!r}", reason="not_found")
    return fhir_response(_shown(call, "patient_contact_shown", row))
