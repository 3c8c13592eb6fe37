"""Appointment: read; search by `date`, `patient`, `practitioner` and `status`; create, which
books a free Slot; update or patch to `cancelled`, which cancels.

Every change goes through `SchedulingTools` (bot/tools.py), as from every channel: the booking
is the scheduler's (no double booking: the database refuses the second of two), its reminders
are planned, the EHR webhook hears of it, and it is audited under the token's user with the
channel "fhir". Before booking, the named Slot is computed again (scheduler/fhir/slots.py): one
that is not free any more is a 409; the patient must be one of the clinic's (not a demo chat's,
not erased), else a 422.
"""

from __future__ import annotations

from flask import Response
from sqlalchemy import and_, false, func, or_, select

from adapters.api import paging
from adapters.api.problems import ApiProblem
from scheduler.errors import NotFound
from scheduler.fhir.incoming import (
    InvalidResource,
    booking_request,
    patched_status,
    updated_status,
)
from scheduler.fhir.resources import appointment_resource
from scheduler.fhir.search import SearchError, date_bounds, reference_ids, token_codes
from scheduler.fhir.slots import FREE, parse_slot_id, read_slot
from scheduler.models import Appointment, AppointmentStatus, Patient, Provider

from .bundles import count, cursor, searchset
from .calls import base_url, blueprint, body_json, current, endpoint, read_args, search_args
from .capability import search_parameters
from .outcomes import FhirProblem, fhir_response

STATUS_SYSTEM = "http://hl7.org/fhir/appointmentstatus"
STATUSES = frozenset(s.value for s in AppointmentStatus)


def _patient_ids(value: str) -> list[int]:
    ids = reference_ids("patient", value, "Patient")
    if not all(i.isdigit() and len(i) <= 10 for i in ids):
        raise SearchError("patient", "a Patient id here is a number")
    return [int(i) for i in ids]


@blueprint.get("/Appointment")
@endpoint("search")
def appointments() -> Response:
    call = current()
    db, clinic = call.db, call.services.clinic
    args = search_args(search_parameters("Appointment"))
    where = []
    bounds = date_bounds("date", args.getlist("date"), clinic.zone)
    if bounds.lower is not None:
        where.append(Appointment.start_at >= bounds.lower)
    if bounds.upper is not None:
        where.append(Appointment.start_at < bounds.upper)
    if "patient" in args:
        where.append(Appointment.patient_id.in_(_patient_ids(args["patient"])))
    if "practitioner" in args:
        keys = reference_ids("practitioner", args["practitioner"], "Practitioner")
        ids = db.scalars(select(Provider.id).where(Provider.key.in_(keys))).all()
        where.append(Appointment.provider_id.in_(ids) if ids else false())
    if "status" in args:
        codes = token_codes("status", args["status"], STATUS_SYSTEM)
        unknown = [code for code in codes if code not in STATUSES]
        if unknown:
            raise SearchError("status", f"{unknown[0]!r} is not an Appointment status")
        where.append(Appointment.status.in_([AppointmentStatus(code) for code in codes]))
    total = db.scalar(select(func.count()).select_from(Appointment).where(*where)) or 0
    statement = select(Appointment).where(*where)
    if (position := cursor()) is not None:
        try:
            after, after_id = paging.decode(position)
        except ApiProblem:
            raise SearchError("_cursor", "is not a position this server gave out") from None
        statement = statement.where(
            Appointment.start_at >= after,
            or_(
                Appointment.start_at > after,
                and_(Appointment.start_at == after, Appointment.id > after_id),
            ),
        )
    size = count()
    rows = db.scalars(statement.order_by(Appointment.start_at, Appointment.id).limit(size + 1))
    page = list(rows)
    more, page = len(page) > size, page[:size]
    next_cursor = paging.encode(page[-1].start_at, page[-1].id) if more and page else None
    return fhir_response(
        searchset([appointment_resource(db, clinic, a) for a in page], total, next_cursor)
    )


def _appointment(ident: str) -> Appointment:
    call = current()
    if ident.isdigit() and len(ident) <= 10 and int(ident) < 2**31:
        try:
            return call.tools.get_appointment(int(ident))
        except NotFound:
            pass
    raise FhirProblem(404, f"no Appointment {ident!r}", reason="not_found")


def _real_patient(patient_id: int) -> Patient:
    patient = current().db.get(Patient, patient_id) if patient_id < 2**31 else None
    if patient is None or not patient.of_the_clinic:
        raise InvalidResource(
            f"Patient/{patient_id} is not a patient of the clinic", "Appointment.participant"
        )
    return patient


@blueprint.post("/Appointment")
@endpoint("book")
def book() -> Response:
    call = current()
    db, clinic = call.db, call.services.clinic
    asked = booking_request(body_json())
    if parse_slot_id(asked.slot_id) is None:
        raise InvalidResource(
            f"Slot/{asked.slot_id} is not a Slot of this server", "Appointment.slot[0]"
        )
    slot = read_slot(db, clinic, asked.slot_id, now=call.now)
    if slot is None or slot.status != FREE:
        raise FhirProblem(409, f"Slot/{asked.slot_id} is not free any more", reason="slot_not_free")
    patient = _real_patient(asked.patient_id)
    if asked.practitioner is not None and asked.practitioner != slot.provider_key:
        raise InvalidResource(
            f"the Slot is Practitioner/{slot.provider_key}'s, not {asked.practitioner}'s",
            "Appointment.participant",
        )
    for element, given, own in (("start", asked.start, slot.start), ("end", asked.end, slot.end)):
        if given is not None and given != own:
            raise InvalidResource(f"{element} is not the Slot's", f"Appointment.{element}")
    booked = call.tools.book_appointment(slot.as_slot(clinic), patient.id)
    resource = appointment_resource(db, clinic, booked)
    location = f"{base_url()}/Appointment/{booked.id}"
    return fhir_response(resource, 201, {"Location": location})


@blueprint.get("/Appointment/<string:ident>")
@endpoint("read")
def appointment(ident: str) -> Response:
    read_args()
    call = current()
    return fhir_response(appointment_resource(call.db, call.services.clinic, _appointment(ident)))


def _set_status(found: Appointment, status: str) -> Response:
    call = current()
    db, clinic = call.db, call.services.clinic
    if status != found.status.value:
        if status != AppointmentStatus.CANCELLED.value:
            raise InvalidResource(
                f"status {status!r} cannot be set here: only 'cancelled'", "Appointment.status"
            )
        found = call.tools.cancel_appointment(found.id)
    return fhir_response(appointment_resource(db, clinic, found))


@blueprint.put("/Appointment/<string:ident>")
@endpoint("cancel")
def update(ident: str) -> Response:
    call = current()
    found = _appointment(ident)
    body = body_json()
    if (
        isinstance(body, dict)
        and body.get("resourceType") == "Appointment"
        and body.get("id") != ident
    ):
        raise FhirProblem(400, "the body's id must be the id in the URL", reason="id_mismatch")
    had = appointment_resource(call.db, call.services.clinic, found)
    return _set_status(found, updated_status(body, had))


@blueprint.patch("/Appointment/<string:ident>")
@endpoint("cancel")
def patch(ident: str) -> Response:
    call = current()
    found = _appointment(ident)
    body = body_json(patch=True)
    had = appointment_resource(call.db, call.services.clinic, found)
    return _set_status(found, patched_status(body, had))
