"""Patients and the waitlist: find a patient by name or phone (a POST: what was typed stays out
of the address and the logs), a patient's page (upcoming and past visits, consent, language,
the reminders the clinic sent them: kind, status and times, never the text), and who is waiting
for an earlier time. A past visit nobody marked says "Unmarked", as on the schedule
(bot/staff/attendance.py).

Names and phones are encrypted at rest; the search uses their keyed blind indexes
(scheduler/patients.py), never a decryption of the table. Showing a patient's contact details is
audited ("patient_contact_shown"), as is each search hit ("patient_looked_up").
"""

from __future__ import annotations

from datetime import datetime

from flask import g, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from bot.staff.attendance import unmarked
from scheduler import waitlist
from scheduler.models import ACTIVE_STATUSES, Appointment, Patient, Reminder
from scheduler.patients import search_patients

from .auth import actor_of, portal_db, signed_in
from .grid import status_class, status_text
from .shared import (
    blueprint,
    clinic,
    error_page,
    now,
    phone_of,
    record_id,
    services,
    when_text,
    who,
)

LANGUAGES = {"en": "English", "es": "Spanish"}
REMINDER_STATUS = {
    "pending": "Waiting to be sent",
    "sending": "Being sent",
    "sent": "Sent",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "expired": "Not sent (too late)",
}
KIND_TEXT = {"reminder": "Appointment reminder", "offer": "Waitlist offer"}
SHOWN = 100  # visits and reminders a patient's page lists at most, the latest


class PatientSearchForm(FlaskForm):
    query = StringField("Name or phone number", validators=[DataRequired(), Length(max=100)])


def _audit(db: Session, kind: str, patient_id: int) -> None:
    services().audit.record(
        db, kind, at=now(), channel="portal", actor=actor_of(g.user), patient_id=patient_id
    )


@blueprint.route("/patients", methods=["GET", "POST"])
@signed_in()
def patients() -> ResponseReturnValue:
    form = PatientSearchForm()
    results = None
    problem = None
    if form.is_submitted():
        if not form.validate():
            problem = "Type a name or a phone number."
        else:
            with portal_db() as db:
                found = [
                    p
                    for p in search_patients(db, services().vault, form.query.data or "")
                    if p.erased_at is None
                ]
                results = [{"id": p.id, "name": who(p), "phone": phone_of(p)} for p in found]
                for patient in found:
                    _audit(db, "patient_looked_up", patient.id)
    return render_template("portal/patients.html", form=form, results=results, problem=problem)


def _visit(appointment: Appointment, at: datetime) -> dict:
    status = appointment.status.value
    is_unmarked = unmarked(status, appointment.end_at, at)
    return {
        "id": appointment.id,
        "when": when_text(appointment.start_at),
        "kind": appointment.appointment_type.name,
        "provider": appointment.provider.name,
        "status": status_text(status, is_unmarked),
        "status_key": status_class(status, is_unmarked),
    }


@blueprint.get("/patients/<int:patient_id>")
@signed_in()
def patient(patient_id: int) -> ResponseReturnValue:
    found_id = record_id(patient_id)
    at = now()
    with portal_db() as db:
        found = db.get(Patient, found_id) if found_id else None
        if found is None or found.scope is not None:
            return error_page(
                404, "There is no patient with that number. Search for them by name or phone."
            )
        visits = list(
            db.scalars(
                select(Appointment)
                .where(Appointment.patient_id == found.id)
                .order_by(Appointment.start_at.desc(), Appointment.id.desc())
                .limit(SHOWN)
            ).unique()
        )
        upcoming = [
            _visit(a, at)
            for a in reversed(visits)
            if a.status in ACTIVE_STATUSES and a.start_at >= at
        ]
        past = [
            _visit(a, at) for a in visits if not (a.status in ACTIVE_STATUSES and a.start_at >= at)
        ]
        reminders = [
            {
                "kind": KIND_TEXT.get(r.kind, r.kind),
                "status": REMINDER_STATUS.get(r.status, r.status),
                "status_key": r.status,
                "due": when_text(r.due_at),
                "sent": when_text(r.sent_at) if r.sent_at else None,
                "appointment_id": r.appointment_id,
            }
            for r in db.scalars(
                select(Reminder)
                .where(Reminder.patient_id == found.id)
                .order_by(Reminder.due_at.desc(), Reminder.id.desc())
                .limit(SHOWN)
            )
        ]
        waiting = [_entry(e) for e in waitlist.waiting(db, found.id)]
        language = found.language
        details = {
            "id": found.id,
            "name": who(found),
            "phone": phone_of(found) if found.erased_at is None else None,
            "erased": found.erased_at is not None,
            "opted_out": when_text(found.opted_out_at) if found.opted_out_at else None,
            "consented": when_text(found.consented_at) if found.consented_at else None,
            "language": LANGUAGES.get(language or "", language)
            if language
            else "Not known yet (texts go out in English)",
            "since": when_text(found.created_at),
        }
        _audit(db, "patient_contact_shown", found.id)
    return render_template(
        "portal/patient.html",
        patient=details,
        upcoming=upcoming,
        past=past,
        reminders=reminders,
        waiting=waiting,
        find_url=url_for("portal.find"),
    )


def _entry(entry) -> dict:
    kinds = {t.key: t.name for t in clinic().appointment_types}
    providers = {p.key: p.name for p in clinic().providers}
    return {
        "id": entry.id,
        "patient_id": entry.patient_id,
        "kind": kinds.get(entry.type_key, entry.type_key),
        "provider": providers.get(entry.provider_key or "", "Any provider"),
        "earliest": entry.earliest.isoformat() if entry.earliest else None,
        "latest": entry.latest.isoformat() if entry.latest else None,
        "priority": entry.priority,
        "since": when_text(entry.created_at),
    }


@blueprint.get("/waitlist")
@signed_in()
def waiting_list() -> ResponseReturnValue:
    """Who waits for an earlier time: urgent first, then oldest first."""
    with portal_db() as db:
        entries = waitlist.waiting(db)
        people = {
            p.id: p
            for p in db.scalars(
                select(Patient).where(Patient.id.in_({e.patient_id for e in entries}))
            )
        }
        rows = [
            {
                **_entry(e),
                "patient": who(people[e.patient_id]) if e.patient_id in people else "?",
                # The web chat's demo patients have no page here.
                "real": e.patient_id in people and people[e.patient_id].scope is None,
            }
            for e in entries
        ]
    return render_template("portal/waitlist.html", rows=rows)
