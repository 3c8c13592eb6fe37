"""Attendance as the clinic team records and reads it: a visit that has started is marked attended
("fulfilled") or a no-show ("noshow"), the FHIR statuses; one nobody marked is "unmarked".

Marking goes through `SchedulingTools.mark_attendance` (bot/tools.py: staff only, a visit not
started yet refused, audited as `attendance_marked`) from every staff channel: `/appt attended` and
`/appt noshow` and the day schedule's buttons (`mark`, here: the staff desk's answer), the
portal's appointment page and the API's `PATCH /api/v1/appointments/{id}`. The rules here are
the ones they all read:

- `markable`: the buttons are offered for a visit that has started and is still booked (or
  arrived);
- `unmarked`: a visit still `booked` more than `UNMARKED_AFTER` (a day) after its end: nobody
  recorded whether the patient came, and nothing guesses it was attended. (The maintenance job's
  `outcome_needed_at`, jobs/maintenance.py, flags it as soon as it ends; this rule reads the end
  time itself, so it holds whether or not the job has run.)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from bot.staff import replies as say
from bot.staff.answers import StaffAnswer
from bot.tools import SchedulingTools
from scheduler.errors import NotFound, SchedulingError
from scheduler.models import ACTIVE_STATUSES, AppointmentStatus

if TYPE_CHECKING:
    from bot.staff.desk import StaffDesk

FULFILLED, NOSHOW = AppointmentStatus.FULFILLED.value, AppointmentStatus.NOSHOW.value
OUTCOMES = (FULFILLED, NOSHOW)
UNMARKED_AFTER = timedelta(days=1)


def _status(status: AppointmentStatus | str) -> str:
    return status.value if isinstance(status, AppointmentStatus) else status


def markable(status: AppointmentStatus | str, start: datetime, now: datetime) -> bool:
    """Started, and not marked attended or a no-show yet (nor cancelled)."""
    return start <= now and _status(status) in {s.value for s in ACTIVE_STATUSES}


def unmarked(status: AppointmentStatus | str, end: datetime, now: datetime) -> bool:
    """Still booked more than a day after it ended: its attendance was never recorded."""
    return _status(status) == AppointmentStatus.BOOKED.value and end + UNMARKED_AFTER < now


def mark(
    desk: StaffDesk,
    db: Session,
    tools: SchedulingTools,
    appointment_id: int,
    outcome: str,
    *,
    schedule: bool = False,
) -> StaffAnswer:
    """Mark a visit that has started attended ("fulfilled") or a no-show ("noshow"), through
    `SchedulingTools.mark_attendance` (staff only, audited). `schedule`: answer with the
    visit's day schedule again, the outcome as its note (a click on that schedule)."""
    try:
        appointment = tools.get_appointment(appointment_id)
    except NotFound:
        return StaffAnswer(say.no_such_appointment(appointment_id), ok=False)
    view, previous = desk.view(appointment), appointment.status.value
    try:
        tools.mark_attendance(appointment.id, outcome)
    except SchedulingError as refusal:
        text = (
            say.attendance_too_early(view)
            if refusal.code == "not_started"
            else say.refused(str(refusal))
        )
        answer = StaffAnswer(text, ok=False)
    else:
        answer = StaffAnswer(say.attendance_marked(view, outcome, previous == outcome))
    if not schedule:
        return answer
    day = appointment.start_at.astimezone(desk.clinic.zone).date()
    entries = desk.schedule(db, day, tools.now)
    return StaffAnswer(
        f"{answer.text}\n\n{say.schedule_text(desk.clinic, day, entries)}",
        schedule=tuple(entries),
        day=day,
        note=answer.text,
        ok=answer.ok,
    )
