"""/api/v1/waitlist: who waits for an earlier time, joining it, leaving it, changing its level.

Joining goes through `SchedulingTools.join_waitlist` (audited; an entry the patient already has
for that type is kept and answered, 200, a new one is 201). Leaving marks the entry `removed`
(the row stays); its open offers end at once, their unsent texts are cancelled and their times
go to the next in line; audited as `waitlist_left` (scheduler/waitlist.py `leave`, through the tools).
`PATCH` sets a waiting entry's urgency (urgent, soon or routine, up or down) with a required
reason, through `SchedulingTools.set_urgency`: audited as `urgency_changed` with who, from, to
and why; the entry keeps its time waiting.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from scheduler import waitlist

from . import idempotency, render
from .appointments import appointment_type, real_patient
from .calls import current, endpoint
from .problems import PREFIX
from .schemas import (
    NewWaitlistEntrySchema,
    UrgencySchema,
    WaitlistEntrySchema,
    WaitlistQuerySchema,
    WaitlistSchema,
)
from .spec import LOCATION, problems

TAG = "waitlist"

blp = Blueprint("api_waitlist", __name__, url_prefix=PREFIX, description="The waitlist.")


@blp.route("/waitlist", tags=[TAG])
class Waitlist(MethodView):
    @endpoint
    @blp.arguments(WaitlistQuerySchema, location="query")
    @blp.response(200, WaitlistSchema)
    @problems(blp, 404, 422)
    def get(self, query: dict[str, Any]):
        """List who is waiting

        The most urgent first (urgent, soon, routine), then by how long they have waited."""
        call = current()
        patient = query.get("patient")
        if patient is not None:
            real_patient(call, patient)
        entries = waitlist.waiting(call.db, patient)
        zone = call.services.clinic.zone
        return {"items": [render.waitlist_entry(entry, zone) for entry in entries]}

    @endpoint
    @blp.doc(parameters=[idempotency.PARAMETER])
    @blp.arguments(NewWaitlistEntrySchema)
    @blp.response(201, WaitlistEntrySchema, headers=LOCATION)
    @blp.alt_response(200, schema=WaitlistEntrySchema, description="already waiting", success=True)
    @problems(blp, 400, 404, 413, 422)
    def post(self, body: dict[str, Any]):
        """Put a patient on the waitlist

        For an appointment type, optionally one provider and a window of local dates, at a
        level (urgent, soon or routine). A patient already waiting for that type keeps their
        entry (raised to the level asked if that is more urgent): 200 with it."""
        call = current()
        clinic = call.services.clinic
        appointment_type(clinic, body["appointment_type"])
        real_patient(call, body["patient"])
        entry, created = call.tools.join_waitlist(
            body["appointment_type"],
            patient_id=body["patient"],
            provider_key=body.get("provider"),
            earliest=body.get("earliest"),
            latest=body.get("latest"),
            priority=body["priority"],
        )
        answer = render.waitlist_entry(entry, clinic.zone)
        if not created:
            return answer, 200
        location = url_for("api_waitlist.WaitlistEntry", entry_id=entry.id)
        return answer, 201, {"Location": location}


@blp.route("/waitlist/<int(min=1, max=2147483647):entry_id>", tags=[TAG], endpoint="WaitlistEntry")
class OneEntry(MethodView):
    @endpoint
    @blp.response(200, WaitlistEntrySchema)
    @problems(blp, 404, 409)
    def delete(self, entry_id: int):
        """Take an entry off the waitlist

        The entry stays, with status `removed`; the offers it holds are withdrawn. An entry
        no longer waiting (booked, removed) is a 409."""
        call = current()
        entry = call.tools.leave_waitlist(entry_id)
        return render.waitlist_entry(entry, call.services.clinic.zone)

    @endpoint
    @blp.arguments(UrgencySchema)
    @blp.response(200, WaitlistEntrySchema)
    @problems(blp, 400, 404, 409, 413, 422)
    def patch(self, body: dict[str, Any], entry_id: int):
        """Change an entry's urgency

        `{"priority": "urgent", "reason": "..."}`: staff's override, up or down; the entry
        keeps its place by time waiting within the new level. The reason is required and is
        audited (`urgency_changed`, with the token's user, the old and the new level). An
        entry no longer waiting is a 409 (`code` `closed`)."""
        call = current()
        entry = call.tools.set_urgency(entry_id, body["priority"], body["reason"])
        return render.waitlist_entry(entry, call.services.clinic.zone)
