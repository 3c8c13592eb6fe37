"""Whether reminders and the waitlist work: reminders sent, delivered and failed, what patients
answered (C, R, X), the no-show rate of reminded against not-reminded visits; waitlist offers
made, freed times filled, the fill rate, minutes from a cancellation to its refill, and the
minutes of capacity the waitlist won back.

Reminders count by when they were due and deliveries by when Twilio reported them (the period's
messaging); answers and no-show rates by the visits of the period. Offers count by when they were
made; a freed time is one `slot_key`, its cancellation the moment of its first offer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, distinct, func, literal, select
from sqlalchemy.orm import Session

from ..models import (
    Appointment,
    AppointmentStatus,
    Reminder,
    SmsMessage,
    WaitlistEntry,
    WaitlistOffer,
)
from ..sqlfuncs import count_if, epoch, sum_of
from .capacity import HOLDING
from .period import Period
from .ranks import percentiles_of
from .visits import rate


def reminders(db: Session, period: Period) -> dict[str, Any]:
    due = select(count_if(Reminder.status == "sent"), count_if(Reminder.status == "failed")).where(
        Reminder.kind == "reminder", period.within(Reminder.due_at)
    )
    if filtered := period.appointment_filters():  # the visit's provider, type or channel
        due = due.join(Appointment, Appointment.id == Reminder.appointment_id).where(*filtered)
    sent, failed = db.execute(due).one()
    delivered = db.scalar(
        select(func.count()).where(
            SmsMessage.kind == "reminder",
            SmsMessage.status == "delivered",
            period.within(SmsMessage.updated_at),
        )
    )
    # Was the visit reminded: one probe per visit of the period (the reminders' appointment
    # index), instead of grouping every reminder ever sent.
    was_reminded = (
        select(literal(1))
        .where(
            Reminder.appointment_id == Appointment.id,
            Reminder.kind == "reminder",
            Reminder.status == "sent",
        )
        .limit(1)
        .scalar_subquery()
        .is_not(None)
    )
    visits = (
        select(
            Appointment.status.label("status"),
            Appointment.reminder_answer.label("answer"),
            was_reminded.label("reminded"),
        )
        .where(*period.visits())
        .cte("visits")
        .prefix_with("MATERIALIZED")  # one probe a visit: PostgreSQL would inline it per use
    )
    answer, reminded = visits.c.answer, visits.c.reminded
    noshow = visits.c.status == AppointmentStatus.NOSHOW
    marked = visits.c.status.in_([AppointmentStatus.FULFILLED, AppointmentStatus.NOSHOW])
    row = db.execute(
        select(
            count_if(answer == "C"),
            count_if(answer == "R"),
            count_if(answer == "X"),
            count_if(marked & reminded),
            count_if(noshow & reminded),
            count_if(marked & ~reminded),
            count_if(noshow & ~reminded),
        )
    ).one()
    confirmed, rescheduled, cancelled, marked_r, noshow_r, marked_n, noshow_n = (
        int(v) for v in row
    )
    return {
        "sent": int(sent),
        "delivered": int(delivered or 0),
        "failed": int(failed),
        "confirmed": int(confirmed),
        "rescheduled_by_reply": int(rescheduled),
        "cancelled_by_reply": int(cancelled),
        "no_show_rate_reminded": rate(noshow_r, marked_r),
        "no_show_rate_not_reminded": rate(noshow_n, marked_n),
    }


def waitlist(db: Session, period: Period) -> dict[str, Any]:
    conditions = [period.within(WaitlistOffer.offered_at)]
    if period.filters.provider is not None:
        conditions.append(WaitlistOffer.slot_key.startswith(period.filters.provider + "@"))
    offers = select(WaitlistOffer).where(*conditions)
    if period.filters.appointment_type is not None:
        offers = offers.join(WaitlistEntry, WaitlistEntry.id == WaitlistOffer.entry_id).where(
            WaitlistEntry.type_key == period.filters.appointment_type
        )
    made = offers.subquery()
    accepted = made.c.status == "accepted"
    total, slots, filled = db.execute(
        select(
            func.count(),
            func.count(distinct(made.c.slot_key)),
            func.count(distinct(case((accepted, made.c.slot_key)))),
        )
    ).one()
    # From the freed time's first offer (its cancellation) to the YES that refilled it.
    first_offer = func.min(made.c.offered_at).over(partition_by=made.c.slot_key)
    timed = select(made.c.status, made.c.answered_at, first_offer.label("freed_at")).subquery()
    refills = select(
        ((epoch(timed.c.answered_at) - epoch(timed.c.freed_at)) / 60.0).label("value")
    ).where(timed.c.status == "accepted", timed.c.answered_at.is_not(None))
    (p50,) = percentiles_of(db, refills, 50)
    won_back = db.scalar(
        select(sum_of((epoch(Appointment.end_at) - epoch(Appointment.start_at)) / 60))
        .join(made, made.c.appointment_id == Appointment.id)
        .where(accepted, Appointment.status.in_(HOLDING))
    )
    return {
        "offers": int(total),
        "freed_times": int(slots),
        "filled": int(filled),
        "fill_rate": rate(int(filled), int(slots)),
        "median_minutes_to_fill": None if p50 is None else round(float(p50), 1),
        "minutes_won_back": round(float(won_back or 0)),
    }
