"""The urgent queue: who waits at the urgent and soon levels, and staff's override of a level.

`GET /portal/urgent` lists the waiting waitlist entries level by level (urgent, then soon, then
routine folded away), the longest waiting first within a level (bot/staff/urgency.py
`urgent_queue`, the order Slack's `/appt urgent` shows), each with the patient, the kind of visit,
its level and how long it has waited. Each row has a form to set another level with a reason:
`POST /portal/urgent/<entry id>` goes through `SchedulingTools.set_urgency` with the signed-in
user's portal Caller, which audits who, from, to and why ("urgency_changed"). A missing reason,
an unknown level or entry, or an entry no longer waiting is a flash saying so, and nothing
changes.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from bot.staff.urgency import urgent_queue, waited
from bot.waitlist_tools import MAX_REASON
from scheduler import urgency
from scheduler.errors import NotFound, SchedulingError
from scheduler.models import Patient, WaitlistEntry

from .appointments import refusal_text, tools
from .auth import portal_db, signed_in
from .patients import _entry
from .shared import blueprint, now, record_id, who

SHOWN = 100  # rows a level lists at most, the longest waiting; the rest are counted
TITLES = {
    "urgent": "Urgent: today or tomorrow",
    "soon": "Soon: within a week",
    "routine": "Routine",
}


class UrgencyForm(FlaskForm):
    level = StringField("Level")  # one of urgency.BOOKABLE, checked by the view
    reason = StringField("Why", validators=[DataRequired(), Length(max=MAX_REASON)])


def _rows(db: Session, entries: list[WaitlistEntry]) -> list[dict]:
    people = {
        p.id: p
        for p in db.scalars(select(Patient).where(Patient.id.in_({e.patient_id for e in entries})))
    }
    at = now()
    return [
        {
            **_entry(e),
            "patient": who(people[e.patient_id]) if e.patient_id in people else "?",
            # The web chat's demo patients have no page here.
            "real": e.patient_id in people and people[e.patient_id].scope is None,
            "waited": waited(e.created_at, at),
        }
        for e in entries
    ]


@blueprint.get("/urgent")
@signed_in()
def urgent() -> ResponseReturnValue:
    """The queue, most urgent and longest waiting first, with a level form on every row."""
    with portal_db() as db:
        entries = urgent_queue(db, urgency.BOOKABLE)
        levels = []
        for level in urgency.BOOKABLE:
            mine = [e for e in entries if e.priority == level]
            levels.append(
                {
                    "key": level,
                    "title": TITLES[level],
                    "count": len(mine),
                    "rows": _rows(db, mine[:SHOWN]),
                }
            )
    return render_template(
        "portal/urgent.html",
        levels=levels,
        form=UrgencyForm(),
        choices=urgency.BOOKABLE,
        max_reason=MAX_REASON,
    )


@blueprint.post("/urgent/<entry_id>")
@signed_in()
def change_urgency(entry_id: str) -> ResponseReturnValue:
    """Set a waiting entry's level, with the reason (audited by the tools)."""
    back = redirect(url_for("portal.urgent"), code=303)
    found_id = record_id(entry_id)
    if found_id is None:
        flash("There is no such waitlist entry. Nothing was changed.", "problem")
        return back
    form = UrgencyForm()
    level = form.level.data or ""
    if level not in urgency.BOOKABLE:
        flash("Choose the level: urgent, soon or routine. Nothing was changed.", "problem")
        return back
    if not form.validate():
        if form.reason.errors and (form.reason.data or "").strip():
            flash(f"Say why in at most {MAX_REASON} characters. Nothing was changed.", "problem")
        else:
            flash("Say why the level changes. Nothing was changed.", "problem")
        return back
    with portal_db() as db:
        before = db.get(WaitlistEntry, found_id)
        previous = before.priority if before is not None else None
        try:
            entry = tools(db).set_urgency(found_id, level, form.reason.data or "")
        except NotFound:
            flash(f"There is no waitlist entry {found_id}. Nothing was changed.", "problem")
            return back
        except SchedulingError as error:
            flash(f"{refusal_text(error)} Nothing was changed.", "problem")
            return back
        patient = db.get(Patient, entry.patient_id)
        name = who(patient) if patient is not None else f"Patient {entry.patient_id}"
        if previous == entry.priority:
            flash(f"{name} stays {entry.priority}; your reason is recorded.", "done")
        else:
            flash(
                f"{name} is now {entry.priority} (was {previous}); your reason is recorded.",
                "done",
            )
    return back
