"""The day and the week as a calendar grid: rows are times of day in 15-minute steps in the
clinic's zone, columns are the providers, the rooms or the equipment (a switch), or for the week
one of them over seven days. Each appointment is a link to its page; time nobody works is shaded.

The grid is a table (rowspan, not positioned boxes): a strict CSP allows no style attributes,
and a table reads well with a screen reader. Below it, the day's appointments as a list, which
is also what a phone shows best.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.models import Appointment

from .auth import portal_db, signed_in
from .grid import (
    HIDDEN,
    STEP,
    VIEWS,
    Column,
    Visit,
    build_grid,
    open_hours,
    provider_hours,
    visit_of,
    wall_minutes,
)
from .shared import blueprint, clinic, day_text, now, parse_day, short_day, today, zone


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
        minute = wall_minutes(now().astimezone(zone()), shown)
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
