"""The day and the week as a calendar grid: rows are times of day in 15-minute steps in the
clinic's zone, columns are the providers, the rooms or the equipment (a switch), or for the week
one of them over seven days. Each appointment is a link to its page; time nobody works is shaded.

The grid is a table (rowspan, not positioned boxes): a strict CSP allows no style attributes,
and a table reads well with a screen reader. Below it, the day's appointments as a list, which
is also what a phone shows best.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.clinic import Clinic, ProviderConfig
from scheduler.models import Appointment, AppointmentStatus

from .auth import portal_db, signed_in
from .shared import (
    blueprint,
    clinic,
    clock_text,
    day_text,
    now,
    parse_day,
    short_day,
    today,
    who,
    zone,
)

STEP = 15  # minutes a row stands for
VIEWS = {"provider": "Providers", "room": "Rooms", "equipment": "Equipment"}
HIDDEN = (AppointmentStatus.CANCELLED, AppointmentStatus.ENTERED_IN_ERROR)
STATUS_TEXT = {
    "booked": "Booked",
    "arrived": "Arrived",
    "fulfilled": "Attended",
    "noshow": "No-show",
    "cancelled": "Cancelled",
    "entered-in-error": "Entered in error",
    "proposed": "Proposed",
    "pending": "Pending",
}


@dataclass
class Visit:
    """One appointment as the grid and the lists show it."""

    id: int
    start: datetime  # the clinic's wall clock
    end: datetime
    patient: str
    patient_id: int
    kind: str
    provider: str
    room: str | None
    equipment: str | None
    status: str

    @property
    def times(self) -> str:
        """ "8:15 - 8:45 AM" (the half of the day said once when both are in it)."""
        start, end = clock_text(self.start), clock_text(self.end)
        if start[-2:] == end[-2:]:
            start = start[:-3]
        return f"{start} - {end}"

    @property
    def status_text(self) -> str:
        return STATUS_TEXT.get(self.status, self.status)


@dataclass
class Cell:
    span: int = 1
    visits: list[Visit] = field(default_factory=list)
    closed: bool = False
    covered: bool = False  # inside the rowspan of a cell above


@dataclass
class Column:
    key: str
    name: str
    day: date
    hours: list[tuple[int, int]]  # working minutes of the day [start, end)
    link: str | None = None


@dataclass
class Grid:
    rows: list[int]  # minutes since midnight of each row
    columns: list[Column]
    cells: list[list[Cell]]  # [row][column]
    now_row: int | None = None  # the row (counted from 1) holding the time now, if shown

    def label(self, row: int) -> str:
        minutes = self.rows[row]
        return clock_text(datetime.combine(today(), time(minutes // 60, minutes % 60), zone()))


def visit_of(appointment: Appointment) -> Visit:
    return Visit(
        id=appointment.id,
        start=appointment.start_at.astimezone(zone()),
        end=appointment.end_at.astimezone(zone()),
        patient=who(appointment.patient),
        patient_id=appointment.patient_id,
        kind=appointment.appointment_type.name,
        provider=appointment.provider.name,
        room=appointment.room.name if appointment.room is not None else None,
        equipment=appointment.equipment.name if appointment.equipment is not None else None,
        status=appointment.status.value,
    )


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def provider_hours(provider: ProviderConfig, day: date) -> list[tuple[int, int]]:
    """The minutes a provider works on `day`: their hours less their breaks; none on a day off."""
    span = provider.hours.get(day.weekday())
    if span is None or day in provider.days_off:
        return []
    pieces = [(_minutes(span.start), _minutes(span.end))]
    for pause in sorted(provider.breaks, key=lambda b: b.start):
        b0, b1 = _minutes(pause.start), _minutes(pause.end)
        pieces = [
            part
            for start, end in pieces
            for part in ((start, min(end, b0)), (max(start, b1), end))
            if part[0] < part[1]
        ]
    return pieces


def open_hours(clinic: Clinic, day: date) -> list[tuple[int, int]]:
    """When a room or a piece of equipment can be used: while anyone works that day."""
    spans = [piece for p in clinic.providers for piece in provider_hours(p, day)]
    if not spans:
        return []
    return [(min(s for s, _ in spans), max(e for _, e in spans))]


def _wall_minutes(moment: datetime, day: date) -> int:
    """Minutes since the start of `day` (the clinic's wall clock), clamped to that day."""
    if moment.date() < day:
        return 0
    if moment.date() > day:
        return 24 * 60
    return moment.hour * 60 + moment.minute


def build_grid(columns: list[Column], visits: list[list[Visit]]) -> Grid | None:
    """The grid of `columns` (each with its visits), or None when nobody works and nothing is
    booked."""
    bounds = [piece for column in columns for piece in column.hours]
    bounds += [
        (_wall_minutes(v.start, c.day), _wall_minutes(v.end, c.day))
        for c, vs in zip(columns, visits, strict=True)
        for v in vs
    ]
    if not bounds:
        return None
    first = min(s for s, _ in bounds) // STEP * STEP
    last = -(-max(e for _, e in bounds) // STEP) * STEP
    rows = list(range(first, max(last, first + STEP), STEP))
    cells = [[Cell() for _ in columns] for _ in rows]
    for j, (column, column_visits) in enumerate(zip(columns, visits, strict=True)):
        for i, minute in enumerate(rows):
            cells[i][j].closed = not any(s < minute + STEP and minute < e for s, e in column.hours)
        blocks: list[tuple[int, int, list[Visit]]] = []
        for visit in sorted(column_visits, key=lambda v: (v.start, v.id)):
            r0 = (_wall_minutes(visit.start, column.day) - first) // STEP
            r1 = max(r0 + 1, -(-(_wall_minutes(visit.end, column.day) - first) // STEP))
            r0, r1 = min(max(r0, 0), len(rows) - 1), min(r1, len(rows))
            if blocks and r0 < blocks[-1][1]:  # overlaps the block above: share its cell
                b0, b1, together = blocks[-1]
                blocks[-1] = (b0, max(b1, r1), [*together, visit])
            else:
                blocks.append((r0, max(r1, r0 + 1), [visit]))
        for r0, r1, together in blocks:
            cells[r0][j] = Cell(span=r1 - r0, visits=together, closed=False)
            for i in range(r0 + 1, r1):
                cells[i][j].covered = True
    return Grid(rows, columns, cells)


def appointments_between(db: Session, start: date, end: date) -> list[Appointment]:
    """Every appointment starting on the clinic's days [start, end), earliest first."""
    first = datetime.combine(start, time(0), zone()).astimezone(UTC)
    last = datetime.combine(end, time(0), zone()).astimezone(UTC)
    return list(
        db.scalars(
            select(Appointment)
            .where(Appointment.start_at >= first, Appointment.start_at < last)
            .order_by(Appointment.start_at, Appointment.id)
        ).unique()
    )


def _holders(view: str) -> list[tuple[str, str]]:
    found = clinic()
    if view == "room":
        return [(r.key, r.name) for r in found.rooms]
    if view == "equipment":
        return [(e.key, e.name) for e in found.equipment]
    return [(p.key, p.name) for p in found.providers]


def _holder_of(appointment: Appointment, view: str) -> str | None:
    if view == "room":
        return appointment.room.key if appointment.room is not None else None
    if view == "equipment":
        return appointment.equipment.key if appointment.equipment is not None else None
    return appointment.provider.key


def _hours(view: str, key: str, day: date) -> list[tuple[int, int]]:
    found = clinic()
    if view == "provider":
        return provider_hours(found.provider(key), day)
    return open_hours(found, day)


def _view_and_day() -> tuple[str, date, list[str]]:
    problems = []
    view = request.args.get("by", "provider")
    if view not in VIEWS:
        problems.append("That view is not one of providers, rooms or equipment; showing providers.")
        view = "provider"
    raw = request.args.get("date")
    day = parse_day(raw)
    if raw and day is None:
        problems.append("That date could not be read (use the date picker); showing today.")
    return view, day or today(), problems


@blueprint.get("/")
@signed_in()
def day() -> ResponseReturnValue:
    """The day's schedule: the grid by provider, room or equipment, and the day's list."""
    view, shown, problems = _view_and_day()
    holders = _holders(view)
    with portal_db() as db:
        booked = appointments_between(db, shown, shown + timedelta(days=1))
        listed = [visit_of(a) for a in booked]
    columns = [Column(key, name, shown, _hours(view, key, shown)) for key, name in holders]
    visits: list[list[Visit]] = [[] for _ in columns]
    index = {key: j for j, (key, _) in enumerate(holders)}
    for appointment, visit in zip(booked, listed, strict=True):
        holder = _holder_of(appointment, view)
        if appointment.status not in HIDDEN and holder in index:
            visits[index[holder]].append(visit)
    for column in columns:
        column.link = url_for("portal.week", by=view, which=column.key, date=shown.isoformat())
    grid = build_grid(columns, visits)
    if grid is not None and shown == today():
        minute = _wall_minutes(now().astimezone(zone()), shown)
        if grid.rows[0] <= minute < grid.rows[-1] + STEP:
            grid.now_row = (minute - grid.rows[0]) // STEP + 1
    return render_template(
        "portal/day.html",
        view=view,
        views=VIEWS,
        shown=shown,
        title=day_text(shown),
        is_today=shown == today(),
        grid=grid,
        listed=listed,
        problems=problems,
        previous=shown - timedelta(days=1),
        following=shown + timedelta(days=1),
    )


@blueprint.get("/week")
@signed_in()
def week() -> ResponseReturnValue:
    """One provider's (room's, equipment's) week, Monday to Sunday, as the grid's columns."""
    view, shown, problems = _view_and_day()
    holders = _holders(view)
    keys = [key for key, _ in holders]
    which = request.args.get("which") or (keys[0] if keys else "")
    if which not in keys:
        if request.args.get("which"):
            problems.append("That is not one of the clinic's; showing the first.")
        which = keys[0] if keys else ""
    name = dict(holders).get(which, "")
    monday = shown - timedelta(days=shown.weekday())
    days = [monday + timedelta(days=n) for n in range(7)]
    with portal_db() as db:
        booked = [
            a
            for a in appointments_between(db, monday, monday + timedelta(days=7))
            if a.status not in HIDDEN and _holder_of(a, view) == which
        ]
        visits_of = [visit_of(a) for a in booked]
    per_day: dict[date, list[Visit]] = {d: [] for d in days}
    for visit in visits_of:
        per_day.setdefault(visit.start.date(), []).append(visit)
    columns, visits, closed = [], [], []
    for d in days:
        hours = _hours(view, which, d) if which else []
        if not hours and not per_day[d]:
            closed.append(short_day(d))
            continue
        link = url_for("portal.day", by=view, date=d.isoformat())
        columns.append(Column(d.isoformat(), short_day(d), d, hours, link))
        visits.append(per_day[d])
    return render_template(
        "portal/week.html",
        view=view,
        views=VIEWS,
        holders=holders,
        which=which,
        which_label={"provider": "Provider", "room": "Room", "equipment": "Equipment"}[view],
        name=name,
        shown=shown,
        monday=monday,
        sunday=monday + timedelta(days=6),
        grid=build_grid(columns, visits) if columns else None,
        closed=closed,
        count=len(visits_of),
        problems=problems,
        previous=shown - timedelta(days=7),
        following=shown + timedelta(days=7),
        day_text=day_text,
        short_day=short_day,
    )
