"""The calendar grid the day and week pages draw: rows of 15 minutes of the clinic's wall clock,
columns of providers, rooms, equipment or days, and each appointment in the cell that spans its
rows (appointments that overlap in one column share a cell). Working hours shade the rest.

A visit still booked more than a day after its end says "Unmarked" (bot/staff/attendance.py):
nobody recorded whether the patient came, and the page never shows it as attended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from bot.staff.attendance import unmarked
from scheduler.clinic import Clinic, ProviderConfig
from scheduler.models import Appointment, AppointmentStatus

from .shared import clock_text, now, today, who, zone

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
UNMARKED_TEXT = "Unmarked"  # booked, and its attendance not recorded a day after it ended


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
    unmarked: bool = False  # attendance not recorded a day after it ended

    @property
    def times(self) -> str:
        """ "8:15 - 8:45 AM" (the half of the day said once when both are in it)."""
        start, end = clock_text(self.start), clock_text(self.end)
        if start[-2:] == end[-2:]:
            start = start[:-3]
        return f"{start} - {end}"

    @property
    def status_text(self) -> str:
        return status_text(self.status, self.unmarked)

    @property
    def status_class(self) -> str:
        return status_class(self.status, self.unmarked)


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


def status_text(status: str, is_unmarked: bool) -> str:
    """How a page names a status ("Booked", "Attended", ...): "Unmarked" for a visit nobody
    marked (`bot.staff.attendance.unmarked`)."""
    return UNMARKED_TEXT if is_unmarked else STATUS_TEXT.get(status, status)


def status_class(status: str, is_unmarked: bool) -> str:
    """The CSS class word of a status: "unmarked", or the status itself."""
    return "unmarked" if is_unmarked else status


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
        unmarked=unmarked(appointment.status, appointment.end_at, now()),
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


def wall_minutes(moment: datetime, day: date) -> int:
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
        (wall_minutes(v.start, c.day), wall_minutes(v.end, c.day))
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
            r0 = (wall_minutes(visit.start, column.day) - first) // STEP
            r1 = max(r0 + 1, -(-(wall_minutes(visit.end, column.day) - first) // STEP))
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
