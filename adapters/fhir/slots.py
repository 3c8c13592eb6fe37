"""Slot: search by `schedule`, `start`, `status` and `service-type`, and read, computed on every
request by scheduler/fhir/slots.py from the real availability (never stored).

A search covers at most 31 days of starts: from its lower bound (or the start of today, in the
clinic's zone) to its upper bound, or 7 days when none is given. Slots come in order of start,
then provider and type; a page's `next` link resumes after the last Slot's id.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Response

from scheduler.fhir.resources import TYPE_SYSTEM, slot_resource
from scheduler.fhir.search import SearchError, date_bounds, reference_ids, token_codes
from scheduler.fhir.slots import (
    BUSY,
    FREE,
    ScheduleSlot,
    SlotQuery,
    parse_slot_id,
    read_slot,
    schedule_slots,
)

from .bundles import count, cursor, page_after, searchset
from .calls import blueprint, current, endpoint, read_args, search_args
from .capability import search_parameters
from .outcomes import FhirProblem, fhir_response

STATUS_SYSTEM = "http://hl7.org/fhir/slotstatus"
STATUSES = frozenset({"busy", "free", "busy-unavailable", "busy-tentative", "entered-in-error"})
LONGEST = timedelta(days=31)
DEFAULT = timedelta(days=7)


def _window(values: list[str], now: datetime) -> tuple[datetime, datetime]:
    zone = current().services.clinic.zone
    bounds = date_bounds("start", values, zone)
    today = datetime.combine(now.astimezone(zone).date(), time(0), zone)
    lower = bounds.lower or today
    upper = bounds.upper or lower + DEFAULT
    if upper - lower > LONGEST:
        raise SearchError("start", "a Slot search covers at most 31 days of starts")
    return lower, upper


@blueprint.get("/Slot")
@endpoint("search")
def slots() -> Response:
    call = current()
    clinic = call.services.clinic
    args = search_args(search_parameters("Slot"))
    providers = types = None
    if "schedule" in args:
        providers = tuple(reference_ids("schedule", args["schedule"], "Schedule"))
    if "service-type" in args:
        types = tuple(token_codes("service-type", args["service-type"], TYPE_SYSTEM))
    statuses = frozenset({FREE, BUSY})
    if "status" in args:
        asked = token_codes("status", args["status"], STATUS_SYSTEM)
        unknown = [code for code in asked if code not in STATUSES]
        if unknown:
            raise SearchError("status", f"{unknown[0]!r} is not a Slot status")
        statuses = frozenset(asked) & statuses
    lower, upper = _window(args.getlist("start"), call.now)
    after = None
    if (position := cursor()) is not None:
        parsed = parse_slot_id(position)
        if parsed is None:
            raise SearchError("_cursor", "is not a position this server gave out")
        after = (parsed[2], parsed[0], parsed[1])
    query = SlotQuery(lower, upper, providers, types, statuses)
    found = schedule_slots(call.db, clinic, query, now=call.now) if lower < upper else []
    page, more = page_after(found, ScheduleSlot.order, after, count())
    return fhir_response(
        searchset(
            [slot_resource(clinic, slot) for slot in page],
            len(found),
            page[-1].id if more and page else None,
        )
    )


@blueprint.get("/Slot/<string:ident>")
@endpoint("read")
def slot(ident: str) -> Response:
    read_args()
    call = current()
    found = read_slot(call.db, call.services.clinic, ident, now=call.now)
    if found is None:
        raise FhirProblem(
            404,
            f"no Slot {ident!r} (taken by another visit, past, or never offered)",
            reason="not_found",
        )
    return fhir_response(slot_resource(call.services.clinic, found))
