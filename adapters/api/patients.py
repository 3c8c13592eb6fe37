"""/api/v1/patients: find, add and read patients (staff and admins), minimum necessary.

A patient is their id, name, phone (E.164) and language; both name and phone are stored
encrypted and found through the keyed indexes of scheduler/patients.py, never by decrypting a
table. Every patient shown is an audit event under the token's user, as at the staff desk.
Adding a phone that is already a patient's answers that patient (200, its name kept) instead of
a second record; a new one is 201 with its Location.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from scheduler.patients import (
    find_or_create_patient,
    find_patient,
    normalize_phone,
    search_patients,
    set_patient_name,
)

from . import idempotency, render
from .appointments import real_patient
from .calls import current, endpoint
from .problems import PREFIX
from .schemas import NewPatientSchema, PatientListSchema, PatientQuerySchema, PatientSchema
from .spec import LOCATION, problems

TAG = "patients"

blp = Blueprint(
    "api_patients", __name__, url_prefix=PREFIX, description="Patients (staff and admins)."
)


@blp.route("/patients", tags=[TAG])
class Patients(MethodView):
    @endpoint
    @blp.arguments(PatientQuerySchema, location="query")
    @blp.response(200, PatientListSchema)
    @problems(blp, 422)
    def get(self, query: dict[str, Any]):
        """Find patients

        By phone number (any common format) or by words of the name (every word must match);
        at most 50, by id."""
        call = current()
        vault = call.services.vault
        found = [p for p in search_patients(call.db, vault, query["q"]) if p.erased_at is None]
        for patient in found:
            call.record_shown("patient_looked_up", patient.id)
        return {"items": [render.patient(p, vault) for p in found]}

    @endpoint
    @blp.doc(parameters=[idempotency.PARAMETER])
    @blp.arguments(NewPatientSchema)
    @blp.response(201, PatientSchema, headers=LOCATION)
    @blp.alt_response(200, schema=PatientSchema, description="already a patient", success=True)
    @problems(blp, 400, 413, 422)
    def post(self, body: dict[str, Any]):
        """Add a patient

        A phone that is already a patient's answers that patient with 200 (its name is
        kept); otherwise the new patient, 201."""
        call = current()
        vault = call.services.vault
        phone = normalize_phone(body["phone"])
        existing = find_patient(call.db, vault, phone)
        if existing is not None and existing.erased_at is None:
            if existing.name_enc is None:
                set_patient_name(vault, existing, body["name"])
            call.record_shown("patient_looked_up", existing.id)
            return render.patient(existing, vault), 200
        patient = find_or_create_patient(call.db, vault, phone, now=call.now)
        set_patient_name(vault, patient, body["name"])
        call.record_shown("patient_added", patient.id)
        location = url_for("api_patients.Patient", patient_id=patient.id)
        return render.patient(patient, vault), 201, {"Location": location}


@blp.route("/patients/<int(min=1, max=2147483647):patient_id>", tags=[TAG], endpoint="Patient")
class OnePatient(MethodView):
    @endpoint
    @blp.response(200, PatientSchema)
    @problems(blp, 404)
    def get(self, patient_id: int):
        """Read a patient"""
        call = current()
        patient = real_patient(call, patient_id)
        call.record_shown("patient_contact_shown", patient.id)
        return render.patient(patient, call.services.vault)
