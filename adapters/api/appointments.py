"""/api/v1/appointments: list (filters, cursor paging), book, read, move, cancel, and mark a
visit that has started attended or a no-show (PATCH its `status`).

Every change goes through `SchedulingTools` (bot/tools.py), as from every channel: it audits the
change (or the refusal) under the token's user, plans the reminders of a booking, and offers a
freed time to the waitlist. Booking at `start` books the open slot that starts exactly then
(`find_slots` on that local day, nearest that time first, for the provider asked or any); a time
that is not open is refused by the scheduler's own check of that time, which says why (taken:
409; never bookable: 422) and which open times are nearest.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import jsonify, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import and_, or_, select

from scheduler import availability
from scheduler.availability import Slot
from scheduler.clinic import AppointmentTypeConfig, Clinic
from scheduler.errors import NotFound, OutsideBookingWindow, SchedulingError
from scheduler.models import Appointment, AppointmentStatus, Patient, Provider, Resource

from . import idempotency, paging, render
from .calls import Call, current, endpoint
from .problems import PREFIX
from .schemas import (
    AppointmentPageSchema,
    AppointmentQuerySchema,
    AppointmentSchema,
    AttendanceSchema,
    BookingSchema,
    MoveSchema,
)
from .spec import LOCATION, problems

TAG = "appointments"
ID = "/appointments/<int(min=1, max=2147483647):appointment_id>"

# What a page of the list reads: columns of one table, no joins (the keys come from
# `render.Keys`), ordered by (start_at, id) on the start_at index.
LISTED = select(
    Appointment.id,
    Appointment.status,
    Appointment.start_at,
    Appointment.end_at,
    Appointment.patient_id,
    Appointment.provider_id,
    Appointment.type_id,
    Appointment.room_id,
    Appointment.equipment_id,
)
blp = Blueprint(
    "api_appointments", __name__, url_prefix=PREFIX, description="Book, move, cancel and list."
)


def midnight(day: date, zone: ZoneInfo) -> datetime:
    """When a local date begins, as an instant."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def appointment_type(clinic: Clinic, key: str) -> AppointmentTypeConfig:
    try:
        return clinic.appointment_type(key)
    except StopIteration:
        raise NotFound(f"no appointment type {key!r}") from None


def real_patient(call: Call, patient_id: int) -> Patient:
    """A patient of the clinic (not a demo channel's, not erased), or NotFound."""
    patient = call.db.get(Patient, patient_id)
    if patient is None or not patient.of_the_clinic:
        raise NotFound("no such patient")
    return patient


def _slot(kind: AppointmentTypeConfig, provider: str, start: datetime, room: str | None) -> Slot:
    start = start.astimezone(UTC)
    end = start + timedelta(minutes=kind.duration_minutes)
    return Slot(kind.key, provider, start, end, room, kind.equipment)


def open_slot(
    call: Call,
    kind: AppointmentTypeConfig,
    start: datetime,
    provider: str | None,
    urgency: str = "routine",
) -> Slot:
    """The open slot of this type starting exactly at `start` (at `urgency`: reserved times
    are open to "urgent"); else the scheduler's refusal (SlotUnavailable, OutsideBookingWindow,
    NotFound), with the nearest open times."""
    clinic = call.services.clinic
    if provider is not None:  # the scheduler checks that time for that provider as it books
        return _slot(kind, provider, start, None)
    local = start.astimezone(clinic.zone)
    for found in call.tools.find_slots(
        kind.key,
        start_date=local.date(),
        end_date=local.date(),
        around=local.time(),
        limit=3,
        urgency=urgency,
    ):
        if found.start == start:
            return found
    # Not open with anyone: ask each provider's calendar why, and refuse with the best reason
    # (a taken time over one outside somebody's hours).
    refusal: SchedulingError = NotFound(f"no provider offers {kind.key!r}")
    for candidate in clinic.providers_for(kind.key):
        slot = _slot(kind, candidate.key, start, None)
        try:
            availability.resolve_slot(call.db, clinic, slot, now=call.now, urgency=urgency)
        except OutsideBookingWindow as error:
            if error.code != OutsideBookingWindow.code:  # past, notice, horizon: anyone's
                refusal = error
                break
            if isinstance(refusal, NotFound):
                refusal = error
        except NotFound:
            continue
        except SchedulingError as error:  # taken
            refusal = error
            break
        else:
            return slot  # came free since the search
    call.tools.record_refusal("book", type(refusal).__name__)
    raise refusal


@blp.route("/appointments", tags=[TAG])
class Appointments(MethodView):
    @endpoint
    @blp.arguments(AppointmentQuerySchema, location="query")
    @blp.response(200, AppointmentPageSchema)
    @problems(blp, 404, 422)
    def get(self, query: dict[str, Any]):
        """List appointments

        Ordered by start then id, `limit` at a time (default 50, at most 200); `from` and `to`
        are the clinic's local dates, both included."""
        call = current()
        zone = call.services.clinic.zone
        statement = LISTED
        if query.get("from_"):
            statement = statement.where(Appointment.start_at >= midnight(query["from_"], zone))
        if query.get("to"):
            end = midnight(query["to"] + timedelta(days=1), zone)
            statement = statement.where(Appointment.start_at < end)
        if query.get("provider"):
            provider_id = call.db.scalar(
                select(Provider.id).where(Provider.key == query["provider"])
            )
            if provider_id is None:
                raise NotFound(f"no provider {query['provider']!r}")
            statement = statement.where(Appointment.provider_id == provider_id)
        if query.get("status"):
            statement = statement.where(Appointment.status == AppointmentStatus(query["status"]))
        if query.get("patient"):
            real_patient(call, query["patient"])
            statement = statement.where(Appointment.patient_id == query["patient"])
        if query.get("cursor"):
            after, after_id = paging.decode(query["cursor"])
            statement = statement.where(
                Appointment.start_at >= after,
                or_(
                    Appointment.start_at > after,
                    and_(Appointment.start_at == after, Appointment.id > after_id),
                ),
            )
        limit = query["limit"]
        rows = call.db.execute(
            statement.order_by(Appointment.start_at, Appointment.id).limit(limit + 1)
        ).all()
        more, rows = len(rows) > limit, rows[:limit]
        return jsonify(  # AppointmentPageSchema's shape, made directly (render.appointment_row)
            items=[render.appointment_row(row, call.keys, call.db, zone, call.now) for row in rows],
            next_cursor=paging.encode(rows[-1].start_at, rows[-1].id) if more else None,
        )

    @endpoint
    @blp.doc(parameters=[idempotency.PARAMETER])
    @blp.arguments(BookingSchema)
    @blp.response(201, AppointmentSchema, headers=LOCATION)
    @problems(blp, 400, 404, 409, 413, 422)
    def post(self, body: dict[str, Any]):
        """Book an appointment

        At an open slot's exact `start` (GET /slots), with the provider asked or any. A time
        that is taken is a 409, one that can never be booked (past, too soon, too far ahead,
        outside hours) a 422; both list the nearest open times as `alternatives`. A time the
        clinic keeps for urgent patients is booked only with `urgency` `urgent` (else a 409,
        `code` `reserved`)."""
        call = current()
        clinic = call.services.clinic
        kind = appointment_type(clinic, body["appointment_type"])
        patient = real_patient(call, body["patient"])  # held: booking finds it loaded
        level = body["urgency"]
        slot = open_slot(call, kind, body["start"], body.get("provider"), level)
        booked = call.tools.book_appointment(slot, patient.id, urgency=level)
        room = call.db.get(Resource, booked.room_id) if booked.room_id is not None else None
        location = url_for("api_appointments.Appointment", appointment_id=booked.id)
        answer = render.booked(booked, slot, room.key if room else None, clinic.zone)
        return answer, 201, {"Location": location}


@blp.route(ID, tags=[TAG], endpoint="Appointment")
class OneAppointment(MethodView):
    @endpoint
    @blp.response(200, AppointmentSchema)
    @problems(blp, 404)
    def get(self, appointment_id: int):
        """Read an appointment"""
        call = current()
        found = call.tools.get_appointment(appointment_id)
        return render.appointment(found, call.services.clinic.zone, call.now)

    @endpoint
    @blp.arguments(MoveSchema)
    @blp.response(200, AppointmentSchema)
    @problems(blp, 400, 404, 409, 413, 422)
    def put(self, body: dict[str, Any], appointment_id: int):
        """Move an appointment

        To a new `start`, with the same provider unless `provider` is given; the appointment
        keeps its id and type. A time that is not open is refused as in booking."""
        call = current()
        clinic = call.services.clinic
        tools = call.tools
        found = tools.get_appointment(appointment_id)
        kind = appointment_type(clinic, found.appointment_type.key)
        provider = body.get("provider") or found.provider.key
        room = found.room.key if found.room is not None else None
        moved = tools.reschedule_appointment(
            appointment_id, _slot(kind, provider, body["start"], room), urgency=body["urgency"]
        )
        return render.appointment(moved, clinic.zone, call.now)

    @endpoint
    @blp.arguments(AttendanceSchema)
    @blp.response(200, AppointmentSchema)
    @problems(blp, 400, 404, 409, 413, 422)
    def patch(self, body: dict[str, Any], appointment_id: int):
        """Mark attendance

        `{"status": "fulfilled"}`: the patient came; `{"status": "noshow"}`: they did not. Only
        once the visit has started (before: a 409, `code` `not_started`); a cancelled one is a
        409 too (`closed`). Marking it again, or the other way (a correction), is a 200; each
        is audited as `attendance_marked` under the token's user."""
        call = current()
        marked = call.tools.mark_attendance(appointment_id, body["status"])
        return render.appointment(marked, call.services.clinic.zone, call.now)

    @endpoint
    @blp.response(200, AppointmentSchema)
    @problems(blp, 404, 409)
    def delete(self, appointment_id: int):
        """Cancel an appointment

        The row stays, with status `cancelled`; the answer is the cancelled appointment. Its
        time is offered to the waitlist."""
        call = current()
        cancelled = call.tools.cancel_appointment(appointment_id)
        return render.appointment(cancelled, call.services.clinic.zone, call.now)
