"""The check of one slot that booking relies on (`resolve_slot`, `refresh`, `is_bookable`):
the clinic's rules for that time (reserved capacity among them), then `Occupancy` itself for what
is already booked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from sqlalchemy import ARRAY, Select, String, any_, bindparam, select
from sqlalchemy.orm import Session

from ..clinic import Clinic
from ..errors import OutsideBookingWindow, SlotUnavailable
from ..models import Occupancy
from ..urgency import check as check_urgency
from .busy import Directory, _core_rows, _epoch_of, cells, provider_holder, resource_holder
from .grid import Slot, _plan
from .search import _request, alternatives


@dataclass(frozen=True)
class ResolvedSlot:
    """A slot checked against the clinic's rules, with the ids `booking` writes."""

    slot: Slot
    type_id: int
    provider_id: int
    equipment_id: int | None
    rooms: tuple[tuple[str, int], ...]  # free rooms to try, the slot's own first; () if none
    start: int  # epoch seconds
    end: int
    occupied_until: int

    def holders(self, room_id: int | None) -> list[str]:
        """Every `Occupancy` holder the booking takes, in one global order: concurrent bookings
        then take rows in the same order, so on PostgreSQL they queue and never deadlock."""
        found = [provider_holder(self.provider_id)]
        found += [resource_holder(r) for r in (room_id, self.equipment_id) if r is not None]
        return sorted(found)


@cache
def _taken_query(postgres: bool, ignoring: bool) -> Select[str]:
    """The cells check, built once: on PostgreSQL the holders are one array parameter (an
    expanding IN is rendered again at every execution)."""
    holders = (
        Occupancy.holder == any_(bindparam("holders", type_=ARRAY(String)))
        if postgres
        else Occupancy.holder.in_(bindparam("holders", expanding=True))
    )
    query = (
        select(Occupancy.holder)
        .distinct()
        .where(holders, Occupancy.cell >= bindparam("first"), Occupancy.cell < bindparam("end"))
    )
    if ignoring:
        query = query.where(Occupancy.appointment_id != bindparam("ignore"))
    return query


def _taken(
    session: Session, holders: Sequence[str], first: int, end: int, ignore_appointment: int | None
) -> set[str]:
    """Which of these holders already hold a cell in [first, end), from `Occupancy` itself
    (Core on the session's connection, after a flush: booking runs it at every attempt)."""
    query = _taken_query(
        session.get_bind().dialect.name == "postgresql", ignore_appointment is not None
    )
    params = {"holders": list(holders), "first": first, "end": end, "ignore": ignore_appointment}
    return {holder for (holder,) in _core_rows(session, query, params)}


def resolve_slot(
    session: Session,
    clinic: Clinic,
    slot: Slot,
    *,
    now: datetime,
    ignore_appointment: int | None = None,
    urgency: str = "routine",
    directory: Directory | None = None,
) -> ResolvedSlot:
    """Check a slot against hours, notice, horizon, reserved capacity and what is already
    booked (cells held by `ignore_appointment` do not count: a reschedule may overlap its own
    old time). `directory`: read by the caller in this transaction (else read here).

    Raises `NotFound` for an unknown type or provider, `OutsideBookingWindow` or
    `SlotUnavailable` with `alternatives` when it cannot be booked: code "reserved" for a time
    kept for urgent patients that `urgency` may not take (search.find_slots; fail closed: the
    default is routine).
    """
    check_urgency(urgency)
    plan = _plan(clinic)
    request = _request(session, plan, slot.type_key, slot.provider_key, now, directory)
    kind, zone = request.kind, plan.zone
    start = _epoch_of(slot.start)
    local = slot.start.astimezone(zone)
    if start < request.earliest:
        passed = slot.start <= now
        reason = (
            "that time has already passed"
            if passed
            else f"{kind.name} needs at least {kind.min_notice_hours:g} hours' notice"
        )
        raise OutsideBookingWindow(
            reason,
            alternatives(session, clinic, slot, now=now, urgency=urgency),
            code="passed" if passed else "notice",
        )
    if local.date() > request.horizon:
        raise OutsideBookingWindow(
            f"{kind.name} can be booked at most {kind.max_days_ahead} days ahead",
            alternatives(session, clinic, slot, now=now, urgency=urgency),
            code="horizon",
        )
    on_grid = plan.provider_day(kind, plan.providers[slot.provider_key], local.date())
    if start not in {epoch for epoch, _ in on_grid}:
        raise OutsideBookingWindow(
            "the provider does not see patients at that time",
            alternatives(session, clinic, slot, now=now, urgency=urgency),
        )
    occupied_until = start + (kind.duration_minutes + kind.buffer_minutes) * 60
    if plan.reservations.active:
        span = cells(start, occupied_until)
        kept = [
            r
            for r in plan.reservations.keeping_out(
                slot.provider_key, local.date(), urgency, request.now, request.today
            )
            if r.cells.start < span.stop and span.start < r.cells.stop
        ]
        if kept:
            released = datetime.fromtimestamp(kept[0].release, zone)
            raise SlotUnavailable(
                f"that time is kept for urgent patients until {released:%a %H:%M}",
                alternatives(session, clinic, slot, now=now, urgency=urgency),
                code="reserved",
            )
    if not request.bookable:
        raise SlotUnavailable(
            f"{kind.name} cannot be booked right now: a room or the equipment "
            "it needs is out of service",
            (),
            code="out_of_service",
        )
    resolved = ResolvedSlot(
        slot,
        request.type_id,
        request.provider_ids[slot.provider_key],
        request.equipment[1] if request.equipment else None,
        request.rooms,
        start,
        start + kind.duration_minutes * 60,
        occupied_until,
    )
    return refresh(
        session,
        clinic,
        resolved,
        now=now,
        ignore_appointment=ignore_appointment,
        urgency=urgency,
    )


def refresh(
    session: Session,
    clinic: Clinic,
    resolved: ResolvedSlot,
    *,
    now: datetime,
    ignore_appointment: int | None = None,
    urgency: str = "routine",
) -> ResolvedSlot:
    """Re-read `Occupancy` for a resolved slot: keep only the rooms still free, or raise
    `SlotUnavailable` (with alternatives at `urgency`) when the provider, the equipment or
    every room is taken."""
    slot = resolved.slot
    room_ids = [room_id for _, room_id in resolved.rooms]
    holders = resolved.holders(None) + [resource_holder(r) for r in room_ids]
    span = cells(resolved.start, resolved.occupied_until)
    taken = _taken(session, holders, span.start, span.stop, ignore_appointment)
    if set(resolved.holders(None)) & taken:
        raise SlotUnavailable(
            alternatives=alternatives(session, clinic, slot, now=now, urgency=urgency)
        )
    rooms = tuple(room for room in resolved.rooms if resource_holder(room[1]) not in taken)
    if resolved.rooms and not rooms:
        raise SlotUnavailable(
            alternatives=alternatives(session, clinic, slot, now=now, urgency=urgency)
        )
    rooms = tuple(sorted(rooms, key=lambda room: room[0] != slot.room_key))
    return ResolvedSlot(
        slot,
        resolved.type_id,
        resolved.provider_id,
        resolved.equipment_id,
        rooms,
        resolved.start,
        resolved.end,
        resolved.occupied_until,
    )


def is_bookable(
    session: Session, clinic: Clinic, slot: Slot, *, now: datetime, urgency: str = "routine"
) -> None:
    """Return if the slot can be booked now at `urgency` (in its room or another free room of
    the same kind); else raise `OutsideBookingWindow` or `SlotUnavailable`, each carrying the
    nearest free `alternatives`. The slot's `end` is not trusted: the type's duration decides."""
    resolve_slot(session, clinic, slot, now=now, urgency=urgency)


def held_for_urgent(
    clinic: Clinic, provider_key: str, day: date, *, now: datetime, urgency: str = "routine"
) -> list[tuple[int, int]]:
    """[start, end) (epoch seconds) of the provider's reserved times on a clinic-local `day`
    that a booking at `urgency` may not take at `now` (reserved.py): time to treat as busy."""
    check_urgency(urgency)
    plan = _plan(clinic)
    today = now.astimezone(plan.zone).date()
    return [
        (r.start, r.end)
        for r in plan.reservations.keeping_out(provider_key, day, urgency, _epoch_of(now), today)
    ]
