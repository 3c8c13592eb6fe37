"""Who comes and who does not: appointments by status, the no-show rate and its weekly trend, late
cancellations, lead times, bookings by channel, and how long waitlist requests of each urgency
waited. Each figure is one aggregate query over the visits of the period (`Period.visits`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Appointment, AppointmentStatus, WaitlistEntry
from ..sqlfuncs import DAY_SECONDS, count_if, epoch
from ..urgency import BOOKABLE
from .period import Period
from .ranks import percentiles

# A visit still "booked" a day after it ended has not been marked attended or a no-show.
UNMARKED_AFTER = timedelta(days=1)
LATE_CANCELLATION_SECONDS = 24 * 3600


def rate(part: int, whole: int) -> float | None:
    """part / whole rounded to four places, None when there is nothing to divide by."""
    return round(part / whole, 4) if whole else None


def appointments(db: Session, period: Period, *, now: datetime) -> dict[str, Any]:
    """Counts by status (booked, cancelled, fulfilled, noshow, and of the booked the unmarked),
    the no-show rate (no-shows over visits marked) and its weekly trend, late cancellations
    (under 24 hours before), from one pass over the visits grouped by week; then the lead time
    from booking to visit."""
    status = Appointment.status
    active = status.in_([AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED])
    late = (epoch(Appointment.start_at) - epoch(Appointment.cancelled_at)) < (
        LATE_CANCELLATION_SECONDS
    )
    # Day 0 (1970-01-01) was a Thursday: day + 3 counts from a Monday.
    week = (period.local_day(Appointment.start_at) + 3) // 7
    weeks = db.execute(
        select(
            week,
            count_if(active),
            count_if(status == AppointmentStatus.CANCELLED),
            count_if(status == AppointmentStatus.FULFILLED),
            count_if(status == AppointmentStatus.NOSHOW),
            count_if(active & (Appointment.end_at < now - UNMARKED_AFTER)),
            count_if((status == AppointmentStatus.CANCELLED) & late),
            func.count(),
        )
        .where(*period.visits())
        .group_by(week)
        .order_by(week)
    ).all()
    booked, cancelled, fulfilled, noshow, unmarked, late_cancelled, visits = (
        sum(int(row[column]) for row in weeks) for column in range(1, 8)
    )
    return {
        "appointments": {
            "booked": booked,
            "cancelled": cancelled,
            "fulfilled": fulfilled,
            "noshow": noshow,
            "unmarked": unmarked,
            "total": booked + cancelled + fulfilled + noshow,
        },
        "no_show_rate": rate(noshow, fulfilled + noshow),
        "late_cancellations": late_cancelled,
        "no_show_trend": [
            {
                "week": period.day_of(int(number) * 7 - 3).isoformat(),
                "fulfilled": int(attended),
                "noshow": int(missed),
                "rate": rate(int(missed), int(attended) + int(missed)),
            }
            for number, _, _, attended, missed, *_ in weeks
        ],
        "lead_time_days": lead_time(db, period, visits),
    }


def lead_time(db: Session, period: Period, visits: int) -> dict[str, float | None]:
    """Days from booking to visit of the period's `visits` visits (cancelled ones too: they were
    booked), median and 90th percentile."""
    values = select(
        (epoch(Appointment.start_at) - epoch(Appointment.created_at)).label("value")
    ).where(*period.visits())
    ranked = percentiles(db, values, 50, 90, counts={None: visits})
    p50, p90 = ranked.get(None, (0, [None, None]))[1]
    return {
        "p50": None if p50 is None else round(max(p50, 0) / DAY_SECONDS, 2),
        "p90": None if p90 is None else round(max(p90, 0) / DAY_SECONDS, 2),
    }


def channels(db: Session, period: Period) -> dict[str, int]:
    """Bookings made in the period (by when they were made, whatever their status), by channel."""
    rows = db.execute(
        select(Appointment.booked_via, func.count())
        .where(period.within(Appointment.created_at), *period.appointment_filters())
        .group_by(Appointment.booked_via)
        .order_by(Appointment.booked_via)
    ).all()
    return {channel: int(count) for channel, count in rows}


def waiting(db: Session, period: Period) -> dict[str, dict[str, Any]]:
    """Waitlist requests booked in the period, by urgency (scheduler/urgency.py): how many, and the minutes
    from joining the waitlist to the booking (median, 90th percentile)."""
    booked = (
        select(
            ((epoch(Appointment.created_at) - epoch(WaitlistEntry.created_at)) / 60.0).label(
                "value"
            ),
            WaitlistEntry.priority.label("part"),
        )
        .join(Appointment, Appointment.id == WaitlistEntry.appointment_id)
        .where(
            WaitlistEntry.status == "booked",
            period.within(Appointment.created_at),
            *period.appointment_filters(),
        )
    )
    found = {
        part: (n, p50, p90) for part, (n, (p50, p90)) in percentiles(db, booked, 50, 90).items()
    }
    return {
        priority: {
            "requests": int(n),
            "median_minutes": _minutes(p50),
            "p90_minutes": _minutes(p90),
        }
        for priority in BOOKABLE
        for n, p50, p90 in [found.get(priority, (0, None, None))]
    }


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)
