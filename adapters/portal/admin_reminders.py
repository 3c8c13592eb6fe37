"""The failed reminders page: reminders and waitlist offers that failed, and those stuck
"sending" past their lease (a worker that stopped mid-send; the next sweep takes them again),
newest first, 50 a page: the patient, the appointment, the kind, when it was due, the attempts and
the error code. Never the message's text.
"""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy import func, or_, select

from scheduler.models import Appointment, Patient, Reminder
from scheduler.reminders import FAILED, SENDING

from .admin_shared import PAGE_SIZE, blueprint, now
from .auth import portal_db, signed_in
from .shared import record_id, who


@blueprint.get("/reminders")
@signed_in(role="admin")
def failed_reminders():
    page = record_id(request.args.get("page")) or 1
    at = now()
    wanted = or_(
        Reminder.status == FAILED,
        (Reminder.status == SENDING) & (Reminder.lease_until < at),
    )
    with portal_db() as db:
        total = db.scalar(select(func.count()).select_from(Reminder).where(wanted)) or 0
        rows = db.execute(
            select(Reminder, Patient, Appointment)
            .outerjoin(Patient, Patient.id == Reminder.patient_id)
            .outerjoin(Appointment, Appointment.id == Reminder.appointment_id)
            .where(wanted)
            .order_by(Reminder.due_at.desc(), Reminder.id.desc())
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        ).all()
        return render_template(
            "portal/admin/reminders.html",
            rows=[
                (reminder, patient, who(patient) if patient else None, appointment)
                for reminder, patient, appointment in rows
            ],
            total=total,
            page=page,
            pages=max(1, -(-total // PAGE_SIZE)),
            stuck=SENDING,
        )
