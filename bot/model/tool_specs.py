"""The scheduling tools as the model sees them: their names, descriptions and JSON schemas, and
the check of the arguments the model sends against them.

`tool_config` is the Converse API's `toolConfig`, with this clinic's appointment types and
providers as enums. Every word of it is sent with every model call, so it is kept short: the
regular expressions of the ids, dates and times, and the ban on extra arguments, stay here in the
full schemas (`tool_schemas`) and are enforced by `check_arguments` before a tool runs
(bot/model/tool_runner.py). The model never sees a database id: slots and appointments are named by
short opaque ids ("slot-3", "appt-1") issued to the conversation.
"""

from __future__ import annotations

import re
from typing import Any

from scheduler.clinic import Clinic

_SLOT_ID = r"^slot-[0-9]{1,6}$"
_APPOINTMENT_ID = r"^appt-[0-9]{1,6}$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TIME = r"^[0-9]{2}:[0-9]{2}$"
PARTS_OF_DAY = ["morning", "afternoon", "evening"]
HANDOFF_REASONS = ["question_for_staff", "billing", "records", "complaint", "other"]
# How soon the patient must be seen, judged from the symptoms they describe (scheduler/urgency.py):
# it can raise the level the clinic's own rules heard, never lower it (bot/tools.py `heard`), and
# holds for the rest of the conversation, its searches and bookings too. Only the waitlist tool
# takes it: every word here is sent with every call, and the searches already use the level.
URGENCY = ["urgent", "soon", "routine"]

TOOL_NAMES = (
    "find_slots",
    "book_appointment",
    "cancel_appointment",
    "reschedule_appointment",
    "list_appointments",
    "join_waitlist",
    "hand_off_to_staff",
)


def _string(description: str | None = None, **rules: Any) -> dict[str, Any]:
    return {"type": "string", **({"description": description} if description else {}), **rules}


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def tool_schemas(clinic: Clinic) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each tool's description and JSON schema, with this clinic's types and providers as enums.
    Every word is sent with every model call: what a name or an enum says is not said again."""
    kind = _string(enum=[t.key for t in clinic.appointment_types])
    provider = _string(enum=[p.key for p in clinic.providers])
    slot_id = _string("from find_slots", pattern=_SLOT_ID)
    appointment_id = _string("from list_appointments", pattern=_APPOINTMENT_ID)
    return {
        "find_slots": (
            "Up to 3 open times of a type, each with a slot_id; later days if that day is full.",
            _object(
                {
                    "appointment_type": kind,
                    "date": _string("first day, YYYY-MM-DD (default today)", pattern=_DATE),
                    "end_date": _string("last day, YYYY-MM-DD", pattern=_DATE),
                    "provider": provider,
                    "part_of_day": _string(enum=PARTS_OF_DAY),
                    "time": _string("preferred start, HH:MM 24h", pattern=_TIME),
                },
                ("appointment_type",),
            ),
        ),
        "book_appointment": (
            "Book the chosen time.",
            _object({"slot_id": slot_id}, ("slot_id",)),
        ),
        "cancel_appointment": (
            "Cancel an appointment, once the patient confirmed.",
            _object({"appointment_id": appointment_id}, ("appointment_id",)),
        ),
        "reschedule_appointment": (
            "Move an appointment to an open time.",
            _object(
                {"appointment_id": appointment_id, "slot_id": slot_id},
                ("appointment_id", "slot_id"),
            ),
        ),
        "list_appointments": (
            "The patient's upcoming appointments, with ids.",
            _object({}),
        ),
        "join_waitlist": (
            "Waitlist: the patient is texted an offer when a time frees up; urgency by symptoms. "
            "Books nothing.",
            _object(
                {
                    "appointment_type": kind,
                    "provider": provider,
                    "earliest_date": _string("YYYY-MM-DD", pattern=_DATE),
                    "latest_date": _string("YYYY-MM-DD", pattern=_DATE),
                    "urgency": _string(enum=URGENCY),
                },
                ("appointment_type",),
            ),
        ),
        "hand_off_to_staff": (
            "Ask the clinic team to follow up on what you cannot do.",
            _object(
                {
                    "reason": _string(enum=HANDOFF_REASONS),
                    "urgency": _string(enum=["routine", "today"]),
                },
                ("reason",),
            ),
        ),
    }


def tool_config(clinic: Clinic) -> dict[str, Any]:
    """The Converse API's `toolConfig` for this clinic. Formats are said in the descriptions;
    the regular expressions, the ban on extra arguments and empty lists stay here
    (`check_arguments`), as they cost tokens on every call."""

    def sent(schema: dict[str, Any]) -> dict[str, Any]:
        properties = {
            name: {k: v for k, v in rule.items() if k != "pattern"}
            for name, rule in schema["properties"].items()
        }
        shown = {"type": "object", "properties": properties}
        return {**shown, "required": schema["required"]} if schema["required"] else shown

    return {
        "tools": [
            {
                "toolSpec": {
                    "name": name,
                    "description": description,
                    "inputSchema": {"json": sent(schema)},
                }
            }
            for name, (description, schema) in tool_schemas(clinic).items()
        ]
    }


def check_arguments(schema: dict[str, Any], arguments: Any) -> str | None:
    """What is wrong with `arguments` for `schema` (the subset of JSON Schema declared above),
    as a sentence the model can act on; None when they fit."""
    if not isinstance(arguments, dict):
        return "arguments must be a JSON object"
    properties = schema["properties"]
    unknown = sorted(set(arguments) - set(properties))
    if unknown:
        return f"unexpected argument(s): {', '.join(unknown)[:80]}"
    for name in schema["required"]:
        if name not in arguments:
            return f"missing required argument: {name}"
    for name, value in arguments.items():
        rule = properties[name]
        if not isinstance(value, str):
            return f"{name} must be a string"
        if "enum" in rule and value not in rule["enum"]:
            return f"{name} must be one of: {', '.join(rule['enum'])}"
        if "pattern" in rule and not re.match(rule["pattern"], value):
            return f"{name} has the wrong format"
    return None
