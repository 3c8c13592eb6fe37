"""Attendance as the clinic team records and reads it: a visit that has started is marked attended
("fulfilled") or a no-show ("noshow"), the FHIR statuses; one nobody marked is "unmarked".

Marking goes through `SchedulingTools.mark_attendance` (bot/tools.py: staff only, a visit not
started yet refused, audited as `attendance_marked`) from every staff channel: `/appt attended` and
`/appt noshow` and the day schedule's buttons (bot/staff/desk.py), the portal's appointment page
and the API's `PATCH /api/v1/appointments/{id}`. The rules here are the ones they all read:

- `markable`: the buttons are offered for a visit that has started and is still booked (or
  arrived);
- `unmarked`: a visit still `booked` more than `UNMARKED_AFTER` (a day) after its end: nobody
  recorded whether the patient came, and nothing guesses it was attended. (The maintenance job's
  `outcome_needed_at`, jobs/maintenance.py, flags it as soon as it ends; this rule reads the end
  time itself, so it holds whether or not the job has run.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from scheduler.models import ACTIVE_STATUSES, AppointmentStatus

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
