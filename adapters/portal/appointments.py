"""One appointment: its page, and moving it, cancelling it, marking it attended or a no-show.

A visit still booked more than a day after its end is shown "Unmarked" (bot/staff/attendance.py),
never as attended, with the buttons to mark it.

Every change goes through the scheduling tools (bot/tools.py) with the signed-in user's portal
Caller, so it is audited, its reminders are planned again and a freed time is offered to the
waitlist, exactly as from any other channel. Moving and cancelling ask first (a confirmation
page, then a POST); a refused change says why on the page and changes nothing.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import HiddenField

from bot.staff.attendance import unmarked
from bot.tools import SchedulingTools
from scheduler.availability import Slot
from scheduler.errors import SchedulingError
from scheduler.models import ACTIVE_STATUSES, Appointment, AppointmentStatus

from .auth import portal_db, signed_in
from .grid import status_class, status_text
from .shared import (
    BadSlot,
    attendee,
    blueprint,
    clinic,
    clock_text,
    day_text,
    error_page,
    grouped,
    level_asked,
    now,
    parse_day,
    record_id,
    services,
    slot_args,
    slot_from,
    today,
    urgent_asked,
    when_text,
    who,
    zone,
)

MOVE_CHOICES = 12
OUTCOMES = {"fulfilled": "attended", "noshow": "a no-show"}


class ConfirmForm(FlaskForm):
    """A confirmation button: the CSRF token, and the slot when one is being chosen."""

    provider = HiddenField()
    start = HiddenField()
    urgent = HiddenField()  # a move at the urgent level (shared.urgent_asked)


class AttendanceForm(FlaskForm):
    outcome = HiddenField()


def tools(db: Session) -> SchedulingTools:
    found = services()
    return SchedulingTools(
        db,
        found.clinic,
        found.audit,
        g.caller,
        now(),
        policy=found.settings.reminder_policy(),
    )


def refusal_text(error: SchedulingError) -> str:
    """A refusal as a front-desk worker reads it: what happened and what to do."""
    text = str(error) or "the schedule refused that"
    text = text[0].upper() + text[1:]
    if not text.endswith("."):
        text += "."
    return text


def alternatives_of(error: SchedulingError) -> list[Slot]:
    return list(getattr(error, "alternatives", []) or [])[:6]


def _appointment(db: Session, raw: int) -> Appointment | None:
    appointment_id = record_id(raw)
    return db.get(Appointment, appointment_id) if appointment_id else None


def _missing() -> ResponseReturnValue:
    return error_page(
        404,
        "There is no appointment with that number. Check the number, or find "
        "it on the day's schedule.",
    )


def can_change(appointment: Appointment) -> bool:
    return appointment.status in ACTIVE_STATUSES and appointment.start_at > now()


def can_mark(appointment: Appointment) -> bool:
    return appointment.start_at <= now() and appointment.status in (
        AppointmentStatus.BOOKED,
        AppointmentStatus.ARRIVED,
        AppointmentStatus.FULFILLED,
        AppointmentStatus.NOSHOW,
    )


def _details(appointment: Appointment) -> dict:
    local_day = appointment.start_at.astimezone(zone()).date()
    status = appointment.status.value
    is_unmarked = unmarked(status, appointment.end_at, now())
    return {
        "appointment": appointment,
        "patient": who(appointment.patient),
        "attendee": attendee(appointment),
        "when": when_text(appointment.start_at),
        "ends": when_text(appointment.end_at),
        "start_time": clock_text(appointment.start_at),
        "end_time": clock_text(appointment.end_at),
        "day": day_text(local_day),
        "local_day": local_day,
        "status": status_text(status, is_unmarked),
        "status_class": status_class(status, is_unmarked),
        "unmarked": is_unmarked,
        "can_change": can_change(appointment),
        "can_mark": can_mark(appointment),
    }


@blueprint.get("/appointments/<int:appointment_id>")
@signed_in()
def appointment(appointment_id: int) -> ResponseReturnValue:
    with portal_db() as db:
        found = _appointment(db, appointment_id)
        if found is None:
            return _missing()
        details = _details(found)
    return render_template(
        "portal/appointment.html", form=AttendanceForm(), outcomes=OUTCOMES, **details
    )


@blueprint.get("/appointments/<int:appointment_id>/move")
@signed_in()
def move(appointment_id: int) -> ResponseReturnValue:
    """Find another time: the same kind of visit, any or one provider, from a date."""
    problems: list[str] = []
    with portal_db() as db:
        found = _appointment(db, appointment_id)
        if found is None:
            return _missing()
        details = _details(found)
        kind = found.appointment_type.key
        providers = clinic().providers_for(kind)
        provider = request.args.get("provider") or None
        if provider and provider not in {p.key for p in providers}:
            problems.append("That provider does not offer this kind of visit; showing everyone.")
            provider = None
        raw_day = request.args.get("date")
        start_day = parse_day(raw_day)
        if raw_day and start_day is None:
            problems.append(
                "That date could not be read (use the date picker); showing the first free times."
            )
        if start_day is not None and start_day < today():
            problems.append("That date has passed; showing the first free times from today.")
            start_day = None
        slots: list[Slot] = []
        if details["can_change"]:
            try:
                slots = tools(db).find_slots(
                    kind,
                    start_date=start_day,
                    provider_key=provider,
                    limit=MOVE_CHOICES,
                    urgency=level_asked(),
                )
            except SchedulingError as error:
                problems.append(refusal_text(error))
    return render_template(
        "portal/move.html",
        urgent=urgent_asked(),
        providers=providers,
        provider=provider,
        start_day=start_day,
        days=grouped([slot for slot in slots if slot.start != found.start_at]),
        problems=problems,
        slot_args=slot_args,
        **details,
    )


def _slot_text(slot: Slot) -> dict[str, str]:
    provider = clinic().provider(slot.provider_key)
    local = slot.start.astimezone(zone())
    return {"when": when_text(slot.start), "day": day_text(local.date()), "who": provider.name}


def _move_target(found: Appointment, source) -> Slot:
    return slot_from(found.appointment_type.key, source.get("provider"), source.get("start"))


@blueprint.route("/appointments/<int:appointment_id>/move/confirm", methods=["GET", "POST"])
@signed_in()
def move_confirm(appointment_id: int) -> ResponseReturnValue:
    """GET: the old and the new time, and a button; POST: move it (through the tools)."""
    source = request.form if request.method == "POST" else request.args
    form = ConfirmForm()
    with portal_db() as db:
        found = _appointment(db, appointment_id)
        if found is None:
            return _missing()
        details = _details(found)
        problem, alternatives = None, []
        try:
            target = _move_target(found, source)
        except BadSlot as bad:
            return _back_to_move(found, str(bad))
        if not details["can_change"]:
            problem = (
                f"This appointment is {details['status'].lower()} or has started, so it "
                "cannot be moved."
            )
        elif request.method == "POST":
            try:
                moved = tools(db).reschedule_appointment(found.id, target, urgency=level_asked())
            except SchedulingError as error:
                problem, alternatives = refusal_text(error), alternatives_of(error)
            else:
                flash(f"Moved to {when_text(moved.start_at)} with {moved.provider.name}.", "done")
                return redirect(url_for("portal.appointment", appointment_id=found.id), code=303)
        form.provider.data, form.start.data = target.provider_key, target.start.isoformat()
        form.urgent.data = "1" if urgent_asked() else ""
        status = 409 if problem and request.method == "POST" else 200
        page = render_template(
            "portal/move_confirm.html",
            form=form,
            urgent=urgent_asked(),
            target=_slot_text(target),
            problem=problem,
            alternatives=[(slot, _slot_text(slot)) for slot in alternatives],
            slot_args=slot_args,
            **details,
        )
    return page, status


def _back_to_move(found: Appointment, message: str) -> ResponseReturnValue:
    flash(message, "problem")
    return redirect(url_for("portal.move", appointment_id=found.id), code=303)


@blueprint.route("/appointments/<int:appointment_id>/cancel", methods=["GET", "POST"])
@signed_in()
def cancel(appointment_id: int) -> ResponseReturnValue:
    """GET: are you sure?; POST: cancel it (through the tools)."""
    form = ConfirmForm()
    problem = None
    with portal_db() as db:
        found = _appointment(db, appointment_id)
        if found is None:
            return _missing()
        if request.method == "POST":
            try:
                tools(db).cancel_appointment(found.id)
            except SchedulingError as error:
                problem = refusal_text(error)
            else:
                flash("The appointment is cancelled; its time is free again.", "done")
                return redirect(url_for("portal.appointment", appointment_id=found.id), code=303)
        details = _details(found)
        if problem is None and not details["can_change"]:
            problem = "This appointment is {} or has started, so it cannot be cancelled.".format(
                details["status"].lower()
            )
        page = render_template("portal/cancel_confirm.html", form=form, problem=problem, **details)
    return page, 409 if problem and request.method == "POST" else 200


@blueprint.post("/appointments/<int:appointment_id>/attendance")
@signed_in()
def attendance(appointment_id: int) -> ResponseReturnValue:
    """Mark a visit that has started as attended ("fulfilled") or a no-show."""
    form = AttendanceForm()
    outcome = form.outcome.data or ""
    with portal_db() as db:
        found = _appointment(db, appointment_id)
        if found is None:
            return _missing()
        if outcome not in OUTCOMES:
            flash("Choose attended or no-show.", "problem")
        else:
            try:
                tools(db).mark_attendance(found.id, outcome)
            except SchedulingError as error:
                flash(refusal_text(error), "problem")
            else:
                flash(f"Marked {OUTCOMES[outcome]}.", "done")
    return redirect(url_for("portal.appointment", appointment_id=appointment_id), code=303)
