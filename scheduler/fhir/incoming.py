"""What an EHR sends the facade: an Appointment that books a Slot, and the change of one to
`cancelled` (a whole Appointment, a JSON Patch, or a JSON merge patch).

Each body is validated with fhir.resources' R4B model of its type (R4 and R4B agree on every
Appointment element read here), which refuses a missing required element, a wrong type, and an
element R4 does not have (R5's `subject` or `class`, say). A body the facade cannot act on is an
`InvalidResource` naming the element (`Appointment.slot`): the facade answers 422 with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pydantic
from fhir.resources.R4B import get_fhir_model_class

from scheduler.errors import SchedulingError
from scheduler.fhir.search import FHIR_ID


class InvalidResource(SchedulingError):
    """A resource the facade cannot act on; `expression` is the element at fault."""

    code = "invalid_resource"

    def __init__(self, message: str, expression: str | None = None):
        super().__init__(message)
        self.expression = expression


def validated(body: Any, resource_type: str) -> Any:
    """`body` as fhir.resources' R4B model of `resource_type`, or InvalidResource."""
    if not isinstance(body, dict):
        raise InvalidResource("the body must be a JSON object: a FHIR resource")
    kind = body.get("resourceType")
    if kind != resource_type:
        raise InvalidResource(
            f"resourceType must be {resource_type!r}, not {kind!r}", f"{resource_type}"
        )
    try:
        return get_fhir_model_class(resource_type).model_validate(body)
    except pydantic.ValidationError as error:
        problems = error.errors()
        first = problems[0]
        path = resource_type
        for part in first["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            elif part != "__root__":
                path += f".{part}"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InvalidResource(f"{path}: {first['msg']}{more}", path) from None


def reference_id(reference: str | None, resource_type: str) -> str | None:
    """The id of a literal reference to `resource_type` (`Type/id` or a URL ending so)."""
    if not reference:
        return None
    kind, slash, ident = reference.rpartition("/")
    if not slash or kind.rsplit("/", 1)[-1] != resource_type or not FHIR_ID.match(ident):
        return None
    return ident


@dataclass(frozen=True)
class BookingRequest:
    """A booking an Appointment asks for: the Slot, the patient, and, when named, the
    practitioner and the times (which must be the Slot's)."""

    slot_id: str
    patient_id: int
    practitioner: str | None
    start: datetime | None
    end: datetime | None


def _actors(model: Any) -> dict[str, list[str]]:
    """The participants' literal references, by resource type; InvalidResource for others."""
    found: dict[str, list[str]] = {}
    for index, participant in enumerate(model.participant or []):
        where = f"Appointment.participant[{index}].actor"
        reference = participant.actor.reference if participant.actor else None
        kind = (reference or "").rpartition("/")[0].rsplit("/", 1)[-1]
        ident = reference_id(reference, kind) if kind else None
        if ident is None:
            raise InvalidResource(
                "each participant needs an actor with a literal reference (Patient/<id>)", where
            )
        if kind not in ("Patient", "Practitioner", "Location"):
            raise InvalidResource(f"a {kind} cannot take part in an appointment here", where)
        found.setdefault(kind, []).append(ident)
    return found


def booking_request(body: Any) -> BookingRequest:
    """What a POSTed Appointment asks to book; InvalidResource when it cannot book."""
    model = validated(body, "Appointment")
    if model.status != "booked":
        raise InvalidResource(
            f"status must be 'booked' to book a Slot, not {model.status!r}", "Appointment.status"
        )
    slots = model.slot or []
    if len(slots) != 1:
        raise InvalidResource(
            "name exactly one Slot to book (slot: [{reference: 'Slot/<id>'}])", "Appointment.slot"
        )
    slot = reference_id(slots[0].reference, "Slot")
    if slot is None:
        raise InvalidResource("the slot must be a reference 'Slot/<id>'", "Appointment.slot[0]")
    actors = _actors(model)
    patients = actors.get("Patient", [])
    if len(patients) != 1 or not patients[0].isdigit() or len(patients[0]) > 10:
        raise InvalidResource(
            "name exactly one patient as a participant (actor: {reference: 'Patient/<id>'})",
            "Appointment.participant",
        )
    practitioners = actors.get("Practitioner", [])
    if len(practitioners) > 1:
        raise InvalidResource("name at most one practitioner", "Appointment.participant")
    if actors.get("Location"):
        raise InvalidResource(
            "a Location cannot be asked for: the booking takes a free room of the visit's kind",
            "Appointment.participant",
        )
    return BookingRequest(
        slot,
        int(patients[0]),
        practitioners[0] if practitioners else None,
        model.start,
        model.end,
    )


def _instant(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def updated_status(body: Any, current: dict[str, Any]) -> str:
    """The status a PUT Appointment asks for. Only the status may change: a new time, other
    participants or another Slot is refused (moving is the REST API's or the channels' job)."""
    model = validated(body, "Appointment")
    for element in ("start", "end"):
        asked = getattr(model, element)
        if asked is not None and asked != _instant(current.get(element)):
            raise InvalidResource(
                f"{element} cannot change here: only status may (to 'cancelled')",
                f"Appointment.{element}",
            )
    had = {p["actor"]["reference"] for p in current.get("participant", [])}
    actors = _actors(model)
    asked_actors = {f"{kind}/{ident}" for kind, ids in actors.items() for ident in ids}
    if asked_actors != had:
        raise InvalidResource(
            "the participants cannot change here: only status may (to 'cancelled')",
            "Appointment.participant",
        )
    if model.slot is not None:
        slots = {s.reference for s in model.slot}
        if slots != {s["reference"] for s in current.get("slot", [])}:
            raise InvalidResource("the slot cannot change here", "Appointment.slot")
    return str(model.status)


def patched_status(document: Any, current: dict[str, Any]) -> str:
    """The status a PATCH asks for: a JSON Patch (RFC 6902) whose operations `replace` (or
    `add`, or `test`) `/status`, or a JSON merge patch (RFC 7386) of `status` alone."""
    status = current["status"]
    if isinstance(document, list):
        if not document:
            raise InvalidResource("the JSON Patch has no operations")
        for index, operation in enumerate(document):
            where = f"[{index}]"
            if not isinstance(operation, dict) or operation.get("path") != "/status":
                raise InvalidResource(f"{where}: only /status can be patched here", where)
            op, value = operation.get("op"), operation.get("value")
            if op == "test":
                if value != status:
                    raise InvalidResource(f"{where}: test failed: status is {status!r}", where)
            elif op in ("replace", "add"):
                status = value
            else:
                raise InvalidResource(f"{where}: the operation {op!r} is not supported", where)
    elif isinstance(document, dict):
        extra = set(document) - {"status", "resourceType", "id"}
        if extra or document.get("resourceType", "Appointment") != "Appointment":
            raise InvalidResource("only status can be patched here", "Appointment")
        if document.get("id", current["id"]) != current["id"]:
            raise InvalidResource("the id cannot change", "Appointment.id")
        status = document.get("status", status)
    else:
        raise InvalidResource("the body must be a JSON Patch (a list) or a merge patch (an object)")
    if not isinstance(status, str):
        raise InvalidResource("status must be a code", "Appointment.status")
    return status
