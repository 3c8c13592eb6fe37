"""How the clinic's time is used: booked minutes over open minutes per provider, room and piece of
equipment, by day and by hour of the week (the heat map of empty hours), and how long a new patient
waits today for each appointment type.

Booked minutes are summed by the database (visits that hold their time: booked, arrived,
attended, no-show; a visit is split across the clock hours it spans for the heat map). Open minutes
come from the clinic file, not from rows: a provider's hours that weekday less breaks and days off;
a room or piece of equipment is open while the clinic is (`Clinic.open_hours`). The filters narrow
what counts as booked; open minutes stay the whole opening, so a filtered figure is that
provider's, type's or channel's share of the capacity.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import literal, select, true, union_all
from sqlalchemy.orm import Session

from ..availability import first_free_by_type
from ..clinic import Clinic, ProviderConfig, TimeRange
from ..models import Appointment, AppointmentStatus, Provider, Resource, ResourceKind
from ..sqlfuncs import DAY_SECONDS, greatest, least, sum_of
from .period import Period
from .visits import rate

HOLDING = (
    AppointmentStatus.BOOKED,
    AppointmentStatus.ARRIVED,
    AppointmentStatus.FULFILLED,
    AppointmentStatus.NOSHOW,
)
HOUR = 3600


def _minutes_of(span: TimeRange) -> tuple[int, int]:
    return span.start.hour * 60 + span.start.minute, span.end.hour * 60 + span.end.minute


def _hours(spans: list[tuple[int, int]]) -> dict[int, int]:
    """Open minutes per clock hour (0..23) of a day's open spans (minutes after midnight)."""
    found: dict[int, int] = defaultdict(int)
    for start, end in spans:
        for hour in range(start // 60, (end + 59) // 60):
            found[hour] += max(0, min(end, hour * 60 + 60) - max(start, hour * 60))
    return found


def working_spans(provider: ProviderConfig, day: date) -> list[tuple[int, int]]:
    """The provider's working minutes that day (local minutes after midnight), breaks cut out;
    none on a day off or a weekday they do not work."""
    span = provider.hours.get(day.weekday())
    if span is None or day in provider.days_off:
        return []
    pieces = [_minutes_of(span)]
    for b_start, b_end in (_minutes_of(b) for b in provider.breaks):
        pieces = [
            piece
            for start, end in pieces
            for piece in ((start, min(end, b_start)), (max(start, b_end), end))
            if piece[1] > piece[0]
        ]
    return pieces


def working_hours(provider: ProviderConfig, day: date) -> dict[int, int]:
    """The provider's open minutes per clock hour that day."""
    return _hours(working_spans(provider, day))


def open_spans(clinic: Clinic, period: Period) -> dict[tuple[str, str], dict[date, dict[int, int]]]:
    """(kind, key) -> day -> hour -> open minutes, over the period's days."""
    found: dict[tuple[str, str], dict[date, dict[int, int]]] = {}
    for provider in clinic.providers:
        if period.filters.provider is not None and provider.key != period.filters.provider:
            continue
        found[("provider", provider.key)] = {
            day: working_hours(provider, day) for day in period.days if working_spans(provider, day)
        }
    opening = clinic.open_hours()
    shared = {
        day: _hours([_minutes_of(opening[day.weekday()])])
        for day in period.days
        if day.weekday() in opening
    }
    for room in clinic.rooms:
        found[("room", room.key)] = shared
    for piece in clinic.equipment:
        found[("equipment", piece.key)] = shared
    return found


HOLDERS = ("provider", "room", "equipment")


def _booked(
    db: Session, period: Period, longest_hours: int
) -> tuple[dict[tuple[str, int], dict[date, int]], dict[tuple[int, int], int]]:
    """Booked minutes of the period's holding visits, in one statement over one materialised
    pass of the visits' local times: (kind, database id) -> local day -> minutes, and
    (weekday 0 = Monday, hour) -> the providers' minutes in that clock hour (a visit split
    across the hours it touches)."""
    visits = (
        select(
            Appointment.provider_id.label("provider"),
            Appointment.room_id.label("room"),
            Appointment.equipment_id.label("equipment"),
            period.local(Appointment.start_at).label("s"),
            period.local(Appointment.end_at).label("e"),
        )
        .where(*period.visits(), Appointment.status.in_(HOLDING))
        .cte("visits")
        .prefix_with("MATERIALIZED")  # computed once, read by every part below
    )
    day = visits.c.s // DAY_SECONDS
    by_day = [
        select(
            literal(kind).label("kind"),
            visits.c[kind].label("a"),
            day.label("b"),
            sum_of((visits.c.e - visits.c.s) / 60).label("m"),
        )
        .where(visits.c[kind].is_not(None))
        .group_by(visits.c[kind], day)
        for kind in HOLDERS
    ]
    # The k-th clock hour a visit touches, k = 0 .. the longest visit's hours.
    steps = union_all(*(select(literal(k).label("k")) for k in range(longest_hours + 1))).subquery()
    hour_start = (visits.c.s // HOUR + steps.c.k) * HOUR
    inside = least(visits.c.e, hour_start + HOUR) - greatest(visits.c.s, hour_start)
    weekday = (hour_start // DAY_SECONDS + 3) % 7  # 1970-01-01 was a Thursday
    hour = (hour_start % DAY_SECONDS) // HOUR
    by_hour = (
        select(literal("hour"), weekday, hour, sum_of(inside))
        .select_from(visits.join(steps, true()))
        .where(visits.c.provider.is_not(None), hour_start < visits.c.e)
        .group_by(weekday, hour)
    )
    days: dict[tuple[str, int], dict[date, int]] = defaultdict(dict)
    hours: dict[tuple[int, int], int] = {}
    for kind, a, b, minutes in db.execute(union_all(*by_day, by_hour)):
        if kind == "hour":
            hours[(int(a), int(b))] = round(float(minutes) / 60)
        else:
            days[(kind, int(a))][period.day_of(b)] = round(float(minutes))
    return days, hours


def utilisation(db: Session, clinic: Clinic, period: Period) -> dict[str, Any]:
    """`utilisation` (one entry per provider, room and equipment), `utilisation_by_day` and the
    hour-of-week `heatmap` of the providers."""
    keys = {
        ("provider", row.id): (row.key, row.name)
        for row in db.execute(select(Provider.id, Provider.key, Provider.name))
    } | {
        ("room" if row.kind == ResourceKind.ROOM else "equipment", row.id): (row.key, row.name)
        for row in db.execute(select(Resource.id, Resource.key, Resource.name, Resource.kind))
    }
    longest = max((t.duration_minutes for t in clinic.appointment_types), default=60)
    by_holder, booked_hours = _booked(db, period, (longest + 59) // 60)
    booked = {
        (kind, keys[(kind, holder)][0]): days
        for (kind, holder), days in by_holder.items()
        if (kind, holder) in keys
    }
    names = {(kind, key): name for (kind, _), (key, name) in keys.items()}
    opened = open_spans(clinic, period)
    holders = sorted(opened, key=lambda h: (HOLDERS.index(h[0]), h[1]))
    summary, by_day = [], []
    for kind, key in holders:
        open_days = {day: sum(hours.values()) for day, hours in opened[(kind, key)].items()}
        booked_days = booked.get((kind, key), {})
        booked_total, open_total = sum(booked_days.values()), sum(open_days.values())
        summary.append(
            {
                "kind": kind,
                "id": key,
                "name": names.get((kind, key), key),
                "booked_minutes": booked_total,
                "open_minutes": open_total,
                "rate": rate(booked_total, open_total),
            }
        )
        for day in period.days:
            if open_days.get(day) or booked_days.get(day):
                by_day.append(
                    {
                        "date": day.isoformat(),
                        "kind": kind,
                        "id": key,
                        "booked_minutes": booked_days.get(day, 0),
                        "open_minutes": open_days.get(day, 0),
                    }
                )
    open_hours: dict[tuple[int, int], int] = defaultdict(int)
    for (kind, _), days in opened.items():
        if kind == "provider":
            for day, hours in days.items():
                for hour, minutes in hours.items():
                    open_hours[(day.weekday(), hour)] += minutes
    cells = sorted(set(open_hours) | set(booked_hours))
    heatmap = [
        {
            "weekday": weekday,
            "hour": hour,
            "booked_minutes": booked_hours.get((weekday, hour), 0),
            "open_minutes": open_hours.get((weekday, hour), 0),
            "rate": rate(booked_hours.get((weekday, hour), 0), open_hours.get((weekday, hour), 0)),
        }
        for weekday, hour in cells
    ]
    return {"utilisation": summary, "utilisation_by_day": by_day, "heatmap": heatmap}


def next_available(
    db: Session, clinic: Clinic, period: Period, *, now: datetime
) -> list[dict[str, Any]]:
    """Per appointment type (the filtered one, or each): the first free time from now and how
    many minutes a new patient waits for it (None: nothing free within the booking horizon).
    A type the filtered provider does not offer, or an inactive one, is left out."""
    kinds = [
        kind
        for kind in clinic.appointment_types
        if period.filters.appointment_type in (None, kind.key)
    ]
    firsts = first_free_by_type(
        db, clinic, [kind.key for kind in kinds], now=now, provider_key=period.filters.provider
    )
    found = []
    for kind in kinds:
        if kind.key not in firsts:
            continue
        first = firsts[kind.key]
        found.append(
            {
                "appointment_type": kind.key,
                "name": kind.name,
                "start": None if first is None else first.start.astimezone(clinic.zone).isoformat(),
                "wait_minutes": None
                if first is None
                else int((first.start - now).total_seconds() // 60),
            }
        )
    return found
