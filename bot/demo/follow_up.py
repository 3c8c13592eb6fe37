"""After a booking: its reminders go out (a few fail), patients answer C, R or X as
bot/patient/reminder_replies.py answers them, and the desk marks each visit attended or a no-show
(less often a no-show when the reminder was confirmed); a few of the last day's visits are left
for the desk to mark.

What the reminder job does is done its way on the same rows: each planned text is marked sent at
its due time (or failed, with the code the sender keeps), its delivery recorded for an SMS patient
(a web chat patient's goes to the outbox). An offer's text is sent the same way, outside quiet
hours; the patient's YES or NO to it is waitlist.on_offer_reply.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from scheduler import reminders, waitlist
from scheduler.models import ACTIVE_STATUSES, Appointment, Reminder, SmsMessage, WaitlistOffer

from .bookings import count_cancelled, move
from .rates import (
    ANSWERS,
    NOSHOW,
    OFFER_ANSWERS,
    REMINDER_FAILURE,
    SEND_FAILURES,
    UNDELIVERED,
    UNDELIVERED_SHARE,
    UNMARKED_AT_LEAST,
    UNMARKED_LAST_DAY,
    UNREACHABLE_CODES,
)
from .run import Person, Run, weighted
from .turns import conversation


def on_send(run: Run, db: Session, at: datetime, reminder: int) -> None:
    """What the reminder job does with a due text: sent (or failed), or no longer wanted."""
    row = db.get(Reminder, reminder)
    if row is None or row.status != reminders.PENDING:
        return  # cancelled or replanned meanwhile
    person = run.by_patient.get(row.patient_id)
    if row.kind == "offer":
        _send_offer(run, db, at, row, person)
        return
    appointment = db.get(Appointment, row.appointment_id)
    if appointment is None or appointment.status not in ACTIVE_STATUSES:
        row.status, row.last_error_code = reminders.CANCELLED, "not_upcoming"
        return
    if appointment.start_at <= at:
        row.status, row.last_error_code = reminders.EXPIRED, "not_upcoming"
        return
    if _failed(run, db, at, row):
        run.summary.counts["reminders_failed"] += 1
        return
    _sent(run, db, at, row, person)
    run.reminded.add(appointment.id)
    run.summary.counts["reminders_sent"] += 1
    if appointment.id in run.answer_decided or person is None:
        return
    run.answer_decided.add(appointment.id)  # one answer (or none) per visit
    answer = weighted(run.rng, [*ANSWERS, ("", 1 - sum(w for _, w in ANSWERS))])
    if answer:
        delay = timedelta(minutes=min(180.0, run.rng.lognormvariate(math.log(25), 1.0)))
        when = min(at + delay, appointment.start_at - timedelta(minutes=10))
        if when > at:
            run.push(when, "answer", patient=row.patient_id, word=answer)


def _failed(run: Run, db: Session, at: datetime, row: Reminder) -> bool:
    """Whether the text fails: always to a number that takes none, now and then to others
    (after the sender's retries), with the code the sender keeps."""
    code = run.unreachable.get(row.patient_id)
    if code is None and run.rng.random() < REMINDER_FAILURE:
        code = run.rng.choice(SEND_FAILURES)
    if code is None:
        return False
    attempts = 1 if code in UNREACHABLE_CODES else 3  # a wrong number is not tried again
    row.status, row.attempts, row.last_error_code = reminders.FAILED, attempts, code
    row.lease_owner = row.lease_until = None
    run.audit.record(
        db,
        f"{row.kind}_failed",
        at=at,
        channel="sms",
        actor="bot",
        patient_id=row.patient_id,
        detail={"reminder_id": row.id, "code": code},
    )
    return True


def _send_offer(run: Run, db: Session, at: datetime, row: Reminder, person: Person | None) -> None:
    offer = db.get(WaitlistOffer, row.offer_id)
    if offer is None or offer.status != "offered" or offer.expires_at <= at:
        row.status, row.last_error_code = reminders.EXPIRED, "offer_expired"
        return
    zone, quiet = run.zone, run.policy.quiet_hours
    if reminders.in_quiet_hours(at, zone, quiet):
        later = reminders.after_quiet_hours(at, zone, quiet)
        row.due_at, row.last_error_code = later, "quiet_hours"
        offer.expires_at = later + waitlist.HOLD
        run.push(later + timedelta(seconds=20), "send", reminder=row.id)
        run.advance_when(offer.expires_at)
        return
    if _failed(run, db, at, row):
        return  # the offer expires unanswered
    _sent(run, db, at, row, person)
    answer = weighted(run.rng, [*OFFER_ANSWERS, ("none", 1 - sum(w for _, w in OFFER_ANSWERS))])
    if answer != "none" and person is not None:
        reply = at + timedelta(minutes=run.rng.uniform(1, 13))
        run.push(reply, "offer_reply", patient=row.patient_id, yes=answer == "yes")


def _sent(run: Run, db: Session, at: datetime, row: Reminder, person: Person | None) -> None:
    row.status, row.sent_at, row.attempts = reminders.SENT, at, 1
    row.lease_owner = row.lease_until = None
    run.audit.record(
        db,
        f"{row.kind}_sent",
        at=at,
        channel="sms",
        actor="bot",
        patient_id=row.patient_id,
        detail={"reminder_id": row.id},
    )
    if person is not None and person.channel == "sms":  # web patients' go to the outbox
        rng = run.rng
        delivered = rng.random() >= UNDELIVERED_SHARE
        db.add(
            SmsMessage(
                message_sid="SM" + f"{rng.getrandbits(128):032x}",
                patient_id=row.patient_id,
                kind=row.kind,
                status="delivered" if delivered else "undelivered",
                status_rank=5 if delivered else 4,
                error_code=None if delivered else rng.choice(UNDELIVERED),
                created_at=at,
                updated_at=at + timedelta(seconds=rng.uniform(2, 20)),
            )
        )


def on_answer(run: Run, db: Session, at: datetime, patient: int, word: str) -> None:
    """A patient's C, R or X to the last reminder they got (bot/patient/reminder_replies.py)."""
    person = run.by_patient[patient]
    appointment = reminders.last_reminded(db, patient, now=at)
    if appointment is None:
        return
    tools = run.tools(db, run.patient_caller(person), at)
    if word == "C":
        _answered(tools.confirm_appointment(appointment.id), "C", at)
        conversation(run, person, at, 1, None, local=True)
    elif word == "X":
        # "X", "Reply X again to confirm", "X": cancelled through the cancel path.
        cancelled = tools.cancel_appointment(appointment.id)
        _answered(cancelled, "X", at)
        count_cancelled(run, cancelled, at)
        conversation(run, person, at, 2, "cancelled", local=True)
        run.schedule_offers(db, at)
    else:
        _answered(appointment, "R", at)
        move(run, db, at, tools, appointment, person)
    run.summary.counts[f"answer_{word}"] += 1


def _answered(appointment: Appointment, answer: str, at: datetime) -> None:
    if appointment.reminder_answer != answer:
        appointment.reminder_answer, appointment.updated_at = answer, at


def on_attend(run: Run, db: Session, at: datetime, appointment: int, start: datetime) -> None:
    """The desk marks a visit that has ended: attended, or a no-show."""
    row = db.get(Appointment, appointment)
    if row is None or row.status not in ACTIVE_STATUSES or row.start_at != start:
        return  # cancelled, or moved (its new time has its own mark)
    if run.local(row.start_at).date() == run.last_visit_day and _left_unmarked(run, db):
        run.summary.counts["unmarked"] += 1
        return
    if row.confirmed_at is not None:
        chance = NOSHOW["confirmed"]
    elif row.id in run.reminded:
        chance = NOSHOW["unanswered"]
    else:
        chance = NOSHOW["unreminded"]
    outcome = "noshow" if run.rng.random() < chance else "fulfilled"
    run.tools(db, run.staff_caller("portal"), at).mark_attendance(row.id, outcome)
    run.summary.counts["marked"] += 1


def _left_unmarked(run: Run, db: Session) -> bool:
    """On the last day, some visits wait for the desk: a share of them, and at least the last
    two (when fewer were left before)."""
    if run.rng.random() < UNMARKED_LAST_DAY:
        return True
    wanted = UNMARKED_AT_LEAST - run.summary.counts["unmarked"]
    if wanted <= 0:
        return False
    later = 0  # the day's visits still to be marked after this one
    for event in run.pending("attend", run.last_visit_day):
        row = db.get(Appointment, event.data["appointment"])
        if row is not None and row.status in ACTIVE_STATUSES:
            later += row.start_at == event.data["start"]
    return later < wanted
