"""The clinic's own waiting list as a batch assignment instance, solved by the same model and
solver as the file format (`python -m scheduler.optimise`), and the result as slots to offer.

`build` writes the instance's JSON (`../shared/INTERFACE.md`, "Batch assignment instances") for
clinic-local days `first`..`last` and reads it back with `parse`, so it passes the very checks a
file does:

    providers   every active provider; available: each day's working range minus breaks and days
                off, minus the time already held (`Occupancy`, buffers included, booking's own
                record) and the times held by live waitlist offers. Specialties: the clinic's,
                plus `any` (for a type that needs none) and `provider:<key>` (a request for one
                named provider asks for that "specialty", so only that provider can take it)
    rooms       every active room (its kind), free all day but for held time
    equipment   every active unit, its key as its kind (a type names the unit it needs)
    requests    one per waiting waitlist entry whose patient can be texted and who has no live
                offer: the type's duration plus its buffer (a visit keeps others out of both, so
                a placement can never overlap), weight `urgency.WEIGHT` by the entry's priority
                (an unknown one counts as routine), one window per day (the first, the soonest,
                preferred) from the entry's earliest..latest, the type's notice and horizon

An entry that no provider (room, equipment) could take on these days is left out and reported
unplaceable; an instance with no request is not solved. Nothing booked is ever moved: booked time
is simply not available. Each assignment is checked once more by `is_bookable`, the check booking
makes (the clinic's grid, notice, what is booked now), and dropped if it fails.
Reserved capacity (the clinic file's `[[reserved]]`) is not available either: the offers are
booked later by the patient's own answer, as an ordinary (routine) booking, which may not take a
reserved time before its release (availability/reserved.py); urgent patients take it by booking.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import urgency
from ..availability import (
    CELL_SECONDS,
    Slot,
    held_for_urgent,
    is_bookable,
    provider_holder,
    resource_holder,
)
from ..clinic import AppointmentTypeConfig, Clinic
from ..errors import SchedulingError
from ..models import Occupancy, Patient, Provider, Resource, WaitlistEntry, WaitlistOffer
from . import Instance, parse, solve

ANY = "any"
Interval = tuple[int, int]  # epoch seconds, [start, end)


def named(provider_key: str) -> str:
    """The specialty only this provider has: what a request for them asks for."""
    return f"provider:{provider_key}"


@dataclass(frozen=True)
class ClinicInstance:
    data: dict[str, Any]
    """The instance's JSON, exactly as a file would hold it."""
    instance: Instance | None
    """`data` parsed; None when there is nothing to solve (no request, or no provider)."""
    entries: dict[str, tuple[int, str]]
    """Request id -> (waitlist entry id, appointment type key)."""
    weights: dict[int, int]
    """Entry id -> weight, for every entry waiting for these days (placeable or not)."""
    unplaceable: tuple[int, ...]


@dataclass(frozen=True)
class Proposal:
    """One waiting entry and the time the optimiser would offer it."""

    entry_id: int
    slot: Slot
    weight: int


@dataclass(frozen=True)
class Plan:
    first: date
    last: date
    status: str
    """The solver's ("optimal", "feasible", "greedy"), or "empty": nothing to solve."""
    proposals: tuple[Proposal, ...]
    waiting: int
    """Entries waiting for a time on these days."""
    waiting_weight: int
    seconds: float
    notes: tuple[str, ...] = ()

    @property
    def served_weight(self) -> int:
        return sum(p.weight for p in self.proposals)


def plan(
    db: Session,
    clinic: Clinic,
    first: date,
    last: date | None = None,
    *,
    now: datetime,
    time_limit: float = 5.0,
) -> Plan:
    """Who of the waiting list the optimiser would offer which time on `first`..`last`."""
    last = last or first
    began = time.monotonic()
    built = build(db, clinic, first, last, now=now)
    waiting, weight = len(built.weights), sum(built.weights.values())
    if built.instance is None:
        return Plan(first, last, "empty", (), waiting, weight, time.monotonic() - began)
    solution = solve(built.instance, time_limit=time_limit)
    proposals: list[Proposal] = []
    types = {t.key: t for t in clinic.appointment_types}
    dropped = 0
    for assignment in solution.assignments:
        entry_id, type_key = built.entries[assignment.request]
        kind = types[type_key]
        start = assignment.start.astimezone(UTC)
        slot = Slot(
            kind.key,
            assignment.provider,
            start,
            start + timedelta(minutes=kind.duration_minutes),
            assignment.room,
            assignment.equipment,
        )
        try:
            is_bookable(db, clinic, slot, now=now)
        except SchedulingError:
            dropped += 1
            continue
        proposals.append(Proposal(entry_id, slot, built.weights[entry_id]))
    notes = solution.notes + ((f"{dropped} not bookable, left out",) if dropped else ())
    proposals.sort(key=lambda p: (p.slot.start, p.slot.provider_key))
    seconds = time.monotonic() - began
    return Plan(first, last, solution.status, tuple(proposals), waiting, weight, seconds, notes)


def build(db: Session, clinic: Clinic, first: date, last: date, *, now: datetime) -> ClinicInstance:
    """The instance of the waiting list for clinic-local days `first`..`last` (see the module)."""
    zone = clinic.zone
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    bounds = [_midnight(day, clinic) for day in days + [last + timedelta(days=1)]]
    providers = dict(db.execute(select(Provider.key, Provider.id).where(Provider.active)).all())
    resources = dict(db.execute(select(Resource.key, Resource.id).where(Resource.active)).all())
    held = _held(db, providers, resources, bounds[0], bounds[-1])
    offered_entries = _live_offers(db, clinic, providers, resources, held, now=now)

    provider_items = []
    for provider in clinic.providers:
        if provider.key not in providers:
            continue
        working: list[Interval] = []
        reserved: list[Interval] = []
        for day in days:
            hours = provider.hours.get(day.weekday())
            if hours is None or day in provider.days_off:
                continue
            reserved += held_for_urgent(clinic, provider.key, day, now=now)
            opens = _instant(day, hours.start.hour * 60 + hours.start.minute, clinic)
            closes = _instant(day, hours.end.hour * 60 + hours.end.minute, clinic)
            breaks = [
                (
                    _instant(day, b.start.hour * 60 + b.start.minute, clinic),
                    _instant(day, b.end.hour * 60 + b.end.minute, clinic),
                )
                for b in provider.breaks
            ]
            working += _minus([(opens, closes)], breaks)
        busy = held.get(provider_holder(providers[provider.key]), []) + reserved
        free = _minus(working, busy)
        specialties = sorted(provider.specialties | {ANY, named(provider.key)})
        provider_items.append(
            {"id": provider.key, "specialties": specialties, "available": _json(free, clinic)}
        )

    whole_days = [(bounds[i], bounds[i + 1]) for i in range(len(days))]

    def resource_item(key: str, kind: str) -> dict[str, Any]:
        free = _minus(whole_days, held.get(resource_holder(resources[key]), []))
        return {"id": key, "kind": kind, "available": _json(free, clinic)}

    rooms = [resource_item(r.key, r.kind) for r in clinic.rooms if r.key in resources]
    equipment = [resource_item(e.key, e.key) for e in clinic.equipment if e.key in resources]

    types = {t.key: t for t in clinic.appointment_types}
    today = now.astimezone(zone).date()
    requests: list[dict[str, Any]] = []
    entries: dict[str, tuple[int, str]] = {}
    weights: dict[int, int] = {}
    unplaceable: list[int] = []
    for entry in _waiting(db, offered_entries):
        kind = types.get(entry.type_key)
        if kind is None:
            continue
        windows = _windows(entry, kind, days, bounds, today, now)
        if not windows:
            continue  # not waiting for a time on these days
        weight = urgency.WEIGHT.get(entry.priority, urgency.WEIGHT["routine"])
        weights[entry.id] = weight
        wanted = entry.provider_key
        if wanted is not None and wanted not in {p.key for p in clinic.providers_for(kind.key)}:
            wanted = None  # no longer offers the type (join() would not have kept it either)
        request: dict[str, Any] = {
            "id": f"w{entry.id}",
            "duration_minutes": kind.duration_minutes + kind.buffer_minutes,
            "specialty": named(wanted) if wanted else (kind.specialty or ANY),
            "room_kind": kind.room_kind,
            "equipment_kind": kind.equipment,
            "weight": weight,
            "windows": _json(windows, clinic),
        }
        if not _placeable(request, provider_items, rooms, equipment):
            unplaceable.append(entry.id)
            continue
        requests.append(request)
        entries[request["id"]] = (entry.id, kind.key)
    data = {
        "slot_minutes": clinic.slot_step_minutes,
        "providers": provider_items,
        "rooms": rooms,
        "equipment": equipment,
        "requests": requests,
    }
    instance = parse(data) if requests and provider_items else None
    return ClinicInstance(data, instance, entries, weights, tuple(unplaceable))


# -- what is held ----------------------------------------------------------------------------------


def _held(
    db: Session, providers: dict[str, int], resources: dict[str, int], lo: int, hi: int
) -> dict[str, list[Interval]]:
    """The time each holder's `Occupancy` cells cover in [lo, hi), as merged intervals."""
    holders = [provider_holder(i) for i in providers.values()]
    holders += [resource_holder(i) for i in resources.values()]
    rows = db.execute(
        select(Occupancy.holder, Occupancy.cell)
        .where(
            Occupancy.holder.in_(holders),
            Occupancy.cell >= lo // CELL_SECONDS,
            Occupancy.cell < -(-hi // CELL_SECONDS),
        )
        .order_by(Occupancy.holder, Occupancy.cell)
    ).all()
    held: dict[str, list[Interval]] = {}
    for holder, cell in rows:
        _add(held.setdefault(holder, []), cell * CELL_SECONDS, (cell + 1) * CELL_SECONDS)
    return held


def _live_offers(
    db: Session,
    clinic: Clinic,
    providers: dict[str, int],
    resources: dict[str, int],
    held: dict[str, list[Interval]],
    *,
    now: datetime,
) -> set[int]:
    """Add the times live offers hold to `held`; the entries those offers are for."""
    types = {t.key: t for t in clinic.appointment_types}
    entries: set[int] = set()
    for entry_id, stored in db.execute(
        select(WaitlistOffer.entry_id, WaitlistOffer.slot).where(
            WaitlistOffer.status == "offered", WaitlistOffer.expires_at > now
        )
    ):
        entries.add(entry_id)
        slot = Slot.from_dict(stored)
        kind = types.get(slot.type_key)
        if kind is None:
            continue
        start = int(slot.start.timestamp())
        end = start + (kind.duration_minutes + kind.buffer_minutes) * 60
        holders = [
            provider_holder(providers[key]) for key in (slot.provider_key,) if key in providers
        ] + [
            resource_holder(resources[key])
            for key in (slot.room_key, slot.equipment_key)
            if key is not None and key in resources
        ]
        for holder in holders:
            held.setdefault(holder, []).append((start, end))  # `_minus` takes them in any order
    return entries


def _waiting(db: Session, offered: set[int]) -> Sequence[WaitlistEntry]:
    """Waiting entries whose patient can get a text, without a live offer, in queue order."""
    return [
        entry
        for entry in db.scalars(
            select(WaitlistEntry)
            .join(Patient, Patient.id == WaitlistEntry.patient_id)
            .where(
                WaitlistEntry.status == "waiting",
                Patient.opted_out_at.is_(None),
                Patient.phone_enc.is_not(None),
            )
            .order_by(WaitlistEntry.priority_rank, WaitlistEntry.created_at, WaitlistEntry.id)
        )
        if entry.id not in offered
    ]


# -- times -----------------------------------------------------------------------------------------


def _midnight(day: date, clinic: Clinic) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=clinic.zone).timestamp())


def _instant(day: date, minute: int, clinic: Clinic) -> int:
    """The wall time `minute` after local midnight (aware arithmetic is wall-clock arithmetic)."""
    wall = datetime(day.year, day.month, day.day, tzinfo=clinic.zone) + timedelta(minutes=minute)
    return int(wall.timestamp())


def _windows(
    entry: WaitlistEntry,
    kind: AppointmentTypeConfig,
    days: list[date],
    bounds: list[int],
    today: date,
    now: datetime,
) -> list[Interval]:
    """One window per day the entry can be seen on: the whole day from the type's notice on."""
    earliest = int(now.timestamp()) + int(kind.min_notice_hours * 3600)
    horizon = today + timedelta(days=kind.max_days_ahead)
    found = []
    for index, day in enumerate(days):
        if day < today or day > horizon:
            continue
        if (entry.earliest and day < entry.earliest) or (entry.latest and day > entry.latest):
            continue
        start, end = max(bounds[index], earliest), bounds[index + 1]
        if start < end:
            found.append((start, end))
    return found


def _add(intervals: list[Interval], start: int, end: int) -> None:
    """Append [start, end), joining it to the last interval when they touch (sorted input)."""
    if intervals and start <= intervals[-1][1]:
        intervals[-1] = (intervals[-1][0], max(intervals[-1][1], end))
    else:
        intervals.append((start, end))


def _minus(spans: Iterable[Interval], taken: Sequence[Interval]) -> list[Interval]:
    """The parts of `spans` outside every interval of `taken`."""
    found: list[Interval] = []
    ordered = sorted(taken)
    for start, end in spans:
        cursor = start
        for t0, t1 in ordered:
            if t1 <= cursor or t0 >= end:
                continue
            if t0 > cursor:
                found.append((cursor, t0))
            cursor = max(cursor, t1)
        if cursor < end:
            found.append((cursor, end))
    return found


def _json(intervals: Iterable[Interval], clinic: Clinic) -> list[list[str]]:
    zone = clinic.zone
    return [
        [datetime.fromtimestamp(a, zone).isoformat(), datetime.fromtimestamp(b, zone).isoformat()]
        for a, b in intervals
    ]


def _placeable(
    request: dict[str, Any],
    providers: list[dict[str, Any]],
    rooms: list[dict[str, Any]],
    equipment: list[dict[str, Any]],
) -> bool:
    """Could the request fit anywhere on these days? (What `parse` refuses otherwise: no
    provider with the specialty, no room or unit of the kind, no availability long enough.)"""
    minutes = request["duration_minutes"]
    pools = [[p for p in providers if request["specialty"] in p["specialties"]]]
    for field, pool in (("room_kind", rooms), ("equipment_kind", equipment)):
        if request[field] is not None:
            pools.append([r for r in pool if r["kind"] == request[field]])
    return all(
        any(
            (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() >= minutes * 60
            for item in pool
            for a, b in item["available"]
        )
        for pool in pools
    )
