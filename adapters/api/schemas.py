"""The API's request and response bodies as marshmallow schemas: what requests are checked against
and what the OpenAPI document (/api/v1/openapi.json) is generated from.

Ids of the clinic's things (providers, appointment types, rooms, equipment) are the clinic file's
keys; ids of rows (appointments, patients, waitlist entries) are integers. Instants go out in the
clinic's zone with its UTC offset and come in only with an offset (a naive time is a 422); dates
are the clinic's local dates.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from bot.waitlist_tools import MAX_REASON
from scheduler.booking import ATTENDANCE
from scheduler.models import AppointmentStatus
from scheduler.urgency import BOOKABLE

MAX_ID = 2**31 - 1  # the database's integer: a larger id can name nothing
KEY = r"^[a-z0-9][a-z0-9-]{0,63}$"  # a clinic file key (scheduler/clinic_file.py)
E164 = r"^\+[1-9][0-9]{6,14}$"
CURSOR = r"^[A-Za-z0-9_-]{1,200}$"
FIRST_YEAR, LAST_YEAR = 2000, 2199
MAX_LIMIT = 200
STATUSES = [status.value for status in AppointmentStatus]
LEVELS = list(BOOKABLE)  # a waitlist entry's urgency (scheduler/urgency.py); never "emergency"


def _in_years(value: date) -> None:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(f"must be in the years {FIRST_YEAR} to {LAST_YEAR}")


def _plain_text(value: str) -> None:
    """No control characters and no lone surrogates (they cannot be stored or encrypted)."""
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        raise ValidationError("must not contain control characters")


def key(description: str, **kwargs) -> fields.String:
    return fields.String(
        validate=validate.Regexp(KEY, error="is not a known id"),
        metadata={"description": description},
        **kwargs,
    )


def row_id(description: str, *, strict: bool = True, **kwargs) -> fields.Integer:
    return fields.Integer(
        strict=strict,
        validate=validate.Range(1, MAX_ID),
        metadata={"description": description},
        **kwargs,
    )


def instant(description: str, **kwargs) -> fields.AwareDateTime:
    return fields.AwareDateTime(
        format="iso", validate=_in_years, metadata={"description": description}, **kwargs
    )


def day(description: str, **kwargs) -> fields.Date:
    return fields.Date(validate=_in_years, metadata={"description": description}, **kwargs)


def text(description: str, longest: int, **kwargs) -> fields.String:
    return fields.String(
        validate=[validate.Length(1, longest), _plain_text],
        metadata={"description": description},
        **kwargs,
    )


class DateRange(Schema):
    from_ = day("first local date (inclusive)", data_key="from")
    to = day("last local date (inclusive)")

    @validates_schema
    def _ordered(self, data, **kwargs) -> None:
        if data.get("from_") and data.get("to") and data["to"] < data["from_"]:
            raise ValidationError("is before from", "to")


# --- responses ---------------------------------------------------------------------------------


class SlotSchema(Schema):
    appointment_type = fields.String(required=True)
    provider = fields.String(required=True)
    start = fields.DateTime(required=True, metadata={"description": "with the clinic's offset"})
    end = fields.DateTime(required=True)
    room = fields.String(required=True, allow_none=True)
    equipment = fields.String(required=True, allow_none=True)


class SlotListSchema(Schema):
    items = fields.List(fields.Nested(SlotSchema), required=True)


class AppointmentSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(STATUSES), metadata={"description": "FHIR status"}
    )
    start = fields.DateTime(required=True, metadata={"description": "with the clinic's offset"})
    end = fields.DateTime(required=True)
    provider = fields.String(required=True)
    appointment_type = fields.String(required=True)
    patient = fields.Integer(required=True)
    room = fields.String(required=True, allow_none=True)
    equipment = fields.String(required=True, allow_none=True)
    attendance_unmarked = fields.Boolean(
        required=True,
        metadata={
            "description": "still `booked` more than a day after its end: nobody recorded "
            "whether the patient came (it is not counted as attended); mark it with PATCH"
        },
    )


class AppointmentPageSchema(Schema):
    items = fields.List(fields.Nested(AppointmentSchema), required=True)
    next_cursor = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "pass as `cursor` for the next page; null on the last"},
    )


class ProviderSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    appointment_types = fields.List(fields.String(), required=True)


class ProviderListSchema(Schema):
    items = fields.List(fields.Nested(ProviderSchema), required=True)


class AppointmentTypeSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    duration_minutes = fields.Integer(required=True)
    providers = fields.List(fields.String(), required=True)


class AppointmentTypeListSchema(Schema):
    items = fields.List(fields.Nested(AppointmentTypeSchema), required=True)


class PatientSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True, metadata={"description": "E.164"})
    language = fields.String(required=True, allow_none=True)


class PatientListSchema(Schema):
    items = fields.List(fields.Nested(PatientSchema), required=True)


class WaitlistEntrySchema(Schema):
    id = fields.Integer(required=True)
    patient = fields.Integer(required=True)
    appointment_type = fields.String(required=True)
    provider = fields.String(required=True, allow_none=True)
    earliest = fields.Date(required=True, allow_none=True)
    latest = fields.Date(required=True, allow_none=True)
    priority = fields.String(
        required=True,
        validate=validate.OneOf(LEVELS),
        metadata={"description": "urgent (today or tomorrow), soon (within a week), routine"},
    )
    status = fields.String(required=True, validate=validate.OneOf(["waiting", "booked", "removed"]))
    created_at = fields.DateTime(required=True)


class WaitlistSchema(Schema):
    items = fields.List(fields.Nested(WaitlistEntrySchema), required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details (application/problem+json)."""

    type = fields.String(required=True, metadata={"description": "a URI naming the problem"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    code = fields.String(metadata={"description": "the scheduler's reason, a fixed word"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "what is wrong with each field (422)"},
    )
    alternatives = fields.List(
        fields.Nested(SlotSchema),
        metadata={"description": "open times near the one asked for (409, 422)"},
    )


# --- requests ----------------------------------------------------------------------------------


class AppointmentQuerySchema(DateRange):
    provider = key("only this provider's")
    status = fields.String(validate=validate.OneOf(STATUSES))
    patient = row_id("only this patient's", strict=False)
    limit = fields.Integer(validate=validate.Range(1, MAX_LIMIT), load_default=50)
    cursor = fields.String(
        validate=validate.Regexp(CURSOR, error="is not a cursor"),
        metadata={"description": "`next_cursor` of the page before"},
    )


def booking_urgency() -> fields.String:
    return fields.String(
        validate=validate.OneOf(LEVELS),
        load_default="routine",
        metadata={
            "description": "how soon the patient must be seen, in staff's judgement: `urgent` "
            "also opens the times the clinic keeps for urgent patients (default `routine`)"
        },
    )


class BookingSchema(Schema):
    patient = row_id("the patient's id", required=True)
    appointment_type = key("an appointment type's id", required=True)
    start = instant("an open slot's start, with an offset", required=True)
    provider = key("the provider's id (any provider when left out)")
    urgency = booking_urgency()


class MoveSchema(Schema):
    start = instant("the new start, with an offset", required=True)
    provider = key("the new provider (the same provider when left out)")
    urgency = booking_urgency()


class AttendanceSchema(Schema):
    status = fields.String(
        required=True,
        validate=validate.OneOf(sorted(ATTENDANCE)),
        metadata={"description": "`fulfilled` (the patient came) or `noshow` (they did not)"},
    )


class SlotQuerySchema(DateRange):
    type = key("an appointment type's id", required=True)
    provider = key("only this provider's")
    limit = fields.Integer(validate=validate.Range(1, MAX_LIMIT), load_default=20)
    urgency = booking_urgency()


class PatientQuerySchema(Schema):
    q = text("a word of the name, or the phone number", 100, required=True)


class NewPatientSchema(Schema):
    phone = fields.String(
        required=True,
        validate=validate.Regexp(E164, error="is not an E.164 phone number"),
        metadata={"description": "E.164, e.g. +12125550123"},
    )
    name = text("the patient's name", 200, required=True)


class WaitlistQuerySchema(Schema):
    patient = row_id("only this patient's entries", strict=False)


class NewWaitlistEntrySchema(Schema):
    patient = row_id("the patient's id", required=True)
    appointment_type = key("an appointment type's id", required=True)
    provider = key("only this provider (any when left out)")
    earliest = day("no earlier than this local date")
    latest = day("no later than this local date")
    priority = fields.String(validate=validate.OneOf(LEVELS), load_default="routine")

    @validates_schema
    def _ordered(self, data, **kwargs) -> None:
        if data.get("earliest") and data.get("latest") and data["latest"] < data["earliest"]:
            raise ValidationError("is before earliest", "latest")


class UrgencySchema(Schema):
    priority = fields.String(
        required=True,
        validate=validate.OneOf(LEVELS),
        metadata={"description": "the new level: urgent, soon or routine"},
    )
    reason = text(
        "why the level changes (audited with the token's user)", MAX_REASON, required=True
    )
