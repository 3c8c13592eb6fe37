"""The facade's Slots: computed from the real availability on every request, never stored.

A Slot is one provider's time for one appointment type (FHIR lets Slots overlap: a 30-minute
check-up and a 20-minute sick visit may both start at 9:00). It is `free` when the scheduler's
own search (`find_slots`' rules, at the routine level, so times kept for urgent patients are not
offered; availability/week.py runs them for all of a provider's types at once) finds that
provider free for that type at that start; `busy` when an
appointment that holds its time (booked or arrived) starts there.

Its id names the provider and the type by their row ids and the start as a UTC instant,
`{provider}.{type}.{YYYYMMDD}T{HHMMSS}Z` ("3.1.20260305T150000Z"): FHIR ids are at most 64 of
`[A-Za-z0-9-.]`, which the clinic's keys (up to 64 characters each) would not fit in. So an id
stays valid while its time is free, and reading it (`read_slot`) asks the scheduler again: free,
busy (an appointment holds it), or gone (None: taken by another type's visit, past, outside the
hours now).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler import availability
from scheduler.availability import Directory, read_directory
from scheduler.availability.week import free_slots_by_type
from scheduler.clinic import AppointmentTypeConfig, Clinic
from scheduler.models import ACTIVE_STATUSES, Appointment

FREE, BUSY = "free", "busy"
_ID = re.compile(r"^([1-9][0-9]{0,9})\.([1-9][0-9]{0,9})\.([0-9]{8}T[0-9]{6}Z)$")
_STAMP = "%Y%m%dT%H%M%SZ"


def slot_id(provider_id: int, type_id: int, start: datetime) -> str:
    return f"{provider_id}.{type_id}.{start.astimezone(UTC).strftime(_STAMP)}"


def parse_slot_id(text: str) -> tuple[int, int, datetime] | None:
    """(provider row id, type row id, start) of a Slot id; None for anything else."""
    found = _ID.match(text)
    if found is None:
        return None
    try:
        start = datetime.strptime(found[3], _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(found[1]), int(found[2]), start


@dataclass(frozen=True)
class ScheduleSlot:
    """One Slot: whose, for what, when, and whether it is free."""

    start: datetime
    end: datetime
    status: str
    provider_key: str
    type_key: str
    provider_id: int
    type_id: int

    @property
    def id(self) -> str:
        return slot_id(self.provider_id, self.type_id, self.start)

    def order(self) -> tuple[datetime, int, int]:
        """Searches list Slots by start, then provider and type (their row ids)."""
        return self.start, self.provider_id, self.type_id

    def as_slot(self, clinic: Clinic) -> availability.Slot:
        """The scheduler's slot to book (the booking finds a free room of the type's kind)."""
        kind = clinic.appointment_type(self.type_key)
        return availability.Slot(
            self.type_key, self.provider_key, self.start, self.end, None, kind.equipment
        )


@dataclass(frozen=True)
class SlotQuery:
    """What a Slot search asks for: providers and types (keys; None: all), statuses, and the
    starts from `start` (included) to `end` (excluded)."""

    start: datetime
    end: datetime
    providers: tuple[str, ...] | None = None
    types: tuple[str, ...] | None = None
    statuses: frozenset[str] = frozenset({FREE, BUSY})


class _Rows:
    """The row ids of the clinic's (active) providers and types, by key, and back: from the
    availability search's directory, read once for the Slots and their search."""

    def __init__(self, directory: Directory):
        self.directory = directory
        self.providers, self.types = directory.providers, directory.types
        self.provider_keys = {v: k for k, v in self.providers.items()}
        self.type_keys = {v: k for k, v in self.types.items()}


def offered_types(clinic: Clinic, provider_key: str) -> list[AppointmentTypeConfig]:
    """The appointment types a provider offers, in the clinic file's order."""
    return [
        kind
        for kind in clinic.appointment_types
        if any(p.key == provider_key for p in clinic.providers_for(kind.key))
    ]


def _free(
    db: Session,
    clinic: Clinic,
    rows: _Rows,
    provider_key: str,
    kinds: list[AppointmentTypeConfig],
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[ScheduleSlot]:
    """The provider's free Slots of `kinds` starting in [start, end): the scheduler's search
    (availability/week.py: `find_slots`' starts, the calendars read once for every type)."""
    zone = clinic.zone
    found = free_slots_by_type(
        db,
        clinic,
        provider_key,
        [kind.key for kind in kinds],
        now=now,
        start_date=start.astimezone(zone).date(),
        end_date=(end - timedelta(microseconds=1)).astimezone(zone).date(),
        directory=rows.directory,
    )
    provider_id = rows.providers[provider_key]
    return [
        ScheduleSlot(s.start, s.end, FREE, provider_key, key, provider_id, rows.types[key])
        for key, slots in found.items()
        for s in slots
        if start <= s.start < end
    ]


def _busy(
    db: Session,
    rows: _Rows,
    provider_ids: list[int],
    type_ids: list[int],
    start: datetime,
    end: datetime,
) -> list[ScheduleSlot]:
    held = db.execute(
        select(
            Appointment.start_at, Appointment.end_at, Appointment.provider_id, Appointment.type_id
        ).where(
            Appointment.provider_id.in_(provider_ids),
            Appointment.type_id.in_(type_ids),
            Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.start_at >= start,
            Appointment.start_at < end,
        )
    ).all()
    return [
        ScheduleSlot(
            row.start_at,
            row.end_at,
            BUSY,
            rows.provider_keys[row.provider_id],
            rows.type_keys[row.type_id],
            row.provider_id,
            row.type_id,
        )
        for row in held
    ]


def schedule_slots(
    db: Session, clinic: Clinic, query: SlotQuery, *, now: datetime
) -> list[ScheduleSlot]:
    """Every Slot the query asks for, in order (`ScheduleSlot.order`)."""
    rows = _Rows(read_directory(db))
    providers = [
        p.key
        for p in clinic.providers
        if (query.providers is None or p.key in query.providers) and p.key in rows.providers
    ]
    wanted = {
        key: [
            kind
            for kind in offered_types(clinic, key)
            if (query.types is None or kind.key in query.types) and kind.key in rows.types
        ]
        for key in providers
    }
    found: list[ScheduleSlot] = []
    if BUSY in query.statuses:
        type_ids = sorted({rows.types[kind.key] for kinds in wanted.values() for kind in kinds})
        provider_ids = [rows.providers[key] for key in providers if wanted[key]]
        if type_ids and provider_ids:
            found += _busy(db, rows, provider_ids, type_ids, query.start, query.end)
    if FREE in query.statuses and query.end > now:
        for key in providers:
            if wanted[key]:
                found += _free(db, clinic, rows, key, wanted[key], query.start, query.end, now)
    return sorted(found, key=ScheduleSlot.order)


def read_slot(db: Session, clinic: Clinic, ident: str, *, now: datetime) -> ScheduleSlot | None:
    """The Slot an id names, as it is now: free, busy, or None (no such Slot any more)."""
    parsed = parse_slot_id(ident)
    if parsed is None:
        return None
    provider_id, type_id, start = parsed
    rows = _Rows(read_directory(db))
    provider_key, type_key = rows.provider_keys.get(provider_id), rows.type_keys.get(type_id)
    if provider_key is None or type_key is None:
        return None
    if not any(kind.key == type_key for kind in offered_types(clinic, provider_key)):
        return None
    end = start + timedelta(seconds=1)
    query = SlotQuery(start, end, (provider_key,), (type_key,))
    return next((s for s in schedule_slots(db, clinic, query, now=now) if s.start == start), None)
