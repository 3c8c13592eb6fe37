"""The waitlist: patients waiting for a time, and the offers that fill a freed slot.

A patient (by text, or through staff) joins for an appointment type, optionally a provider and a
date window, with a priority (urgent, soon or routine: scheduler/urgency.py; staff may change it
with `set_priority`). When a slot frees up (a cancellation, or a
reschedule away from it), `offer_freed_slot` offers it to the best-matching waiting entries in
ranked order (priority, then time waiting), `OFFERS_AT_ONCE` at a time, each held for `HOLD` (a
time kept for urgent patients, scheduler/availability/reserved.py, only to urgent entries); the
texts are queued as `Reminder` rows of kind "offer", so they go out through the same durable,
leased sender as reminders (quiet hours included). A patient gets at most `MAX_OFFERS_PER_DAY`
offers in 24 hours.

The first YES books the slot through the normal booking path (bot/patient/reminder_replies.py calls
`SchedulingTools.book_appointment`), so the occupancy key decides a race: one booking, and every
other YES finds its offer `taken` and keeps its place. `advance` (a job) expires unanswered offers
and offers the slot to the next entries while it is still free.

Takes the session and the clock; flushes, never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from . import urgency
from .availability import Slot, is_bookable
from .clinic import Clinic
from .errors import NotFound, SchedulingError
from .models import Appointment, Patient, Reminder, WaitlistEntry, WaitlistOffer

HOLD = timedelta(minutes=15)
OFFERS_AT_ONCE = 3
MAX_OFFERS_PER_DAY = 3
# The levels an entry can wait with, and their rank in the queue (lower first).
PRIORITIES = {level: urgency.RANK[level] for level in urgency.BOOKABLE}


def slot_key(slot: Slot) -> str:
    """Who and when: offers of the same freed time share it (one acceptance per key)."""
    return f"{slot.provider_key}@{slot.start.isoformat()}"


def join(
    db: Session,
    clinic: Clinic,
    *,
    patient_id: int,
    type_key: str,
    now: datetime,
    created_by: str,
    provider_key: str | None = None,
    earliest: date | None = None,
    latest: date | None = None,
    priority: str = "routine",
) -> tuple[WaitlistEntry, bool]:
    """Add a waiting entry; an existing one for the same patient and type is kept (at the
    higher of its level and the one asked). Returns (entry, created)."""
    urgency.check(priority)
    try:
        clinic.appointment_type(type_key)
    except StopIteration:
        raise NotFound("no such appointment type") from None
    if provider_key is not None and provider_key not in {
        p.key for p in clinic.providers_for(type_key)
    }:
        provider_key = None  # this provider does not do this kind of visit: any provider
    if earliest and latest and latest < earliest:
        raise SchedulingError("the latest date is before the earliest")
    existing = db.scalars(
        select(WaitlistEntry).where(
            WaitlistEntry.patient_id == patient_id,
            WaitlistEntry.type_key == type_key,
            WaitlistEntry.status == "waiting",
        )
    ).first()
    if existing is not None:
        if PRIORITIES[priority] < existing.priority_rank:
            existing.priority, existing.priority_rank = priority, PRIORITIES[priority]
        return existing, False
    entry = WaitlistEntry(
        patient_id=patient_id,
        type_key=type_key,
        provider_key=provider_key,
        earliest=earliest,
        latest=latest,
        priority=priority,
        priority_rank=PRIORITIES[priority],
        status="waiting",
        created_by=created_by,
        created_at=now,
    )
    db.add(entry)
    db.flush()
    return entry, True


def set_priority(db: Session, entry_id: int, level: str, *, now: datetime) -> WaitlistEntry:
    """Give a waiting entry another level (staff's override, up or down); it keeps its time
    waiting. NotFound for no such entry; SchedulingError for an unknown level, or ("closed")
    for an entry no longer waiting."""
    urgency.check(level)
    entry = db.get(WaitlistEntry, entry_id, with_for_update=True)
    if entry is None:
        raise NotFound("no such waitlist entry")
    if entry.status != "waiting":
        raise SchedulingError(f"that entry is {entry.status}, not waiting", code="closed")
    entry.priority, entry.priority_rank = level, PRIORITIES[level]
    db.flush()
    return entry


def waiting(db: Session, patient_id: int | None = None) -> list[WaitlistEntry]:
    query = select(WaitlistEntry).where(WaitlistEntry.status == "waiting")
    if patient_id is not None:
        query = query.where(WaitlistEntry.patient_id == patient_id)
    return list(
        db.scalars(
            query.order_by(WaitlistEntry.priority_rank, WaitlistEntry.created_at, WaitlistEntry.id)
        )
    )


_ANY_WAITING = (
    select(WaitlistEntry.id)
    .where(WaitlistEntry.status == "waiting", WaitlistEntry.type_key == bindparam("type_key"))
    .limit(1)
)


def offer_freed_slot(
    db: Session,
    clinic: Clinic,
    freed: Slot,
    *,
    now: datetime,
    hold: timedelta = HOLD,
    at_once: int = OFFERS_AT_ONCE,
    cap: int = MAX_OFFERS_PER_DAY,
) -> list[WaitlistOffer]:
    """Offer a free slot to the next best-matching waiting entries (up to `at_once` live)."""
    if freed.start <= now:
        return []
    # Most cancellations free a time nobody waits for: one cheap EXISTS (Core, on the session's
    # connection after a flush, so pending entries count) spares the counts and the search below.
    db.flush()
    if db.connection().execute(_ANY_WAITING, {"type_key": freed.type_key}).first() is None:
        return []
    live = (
        db.scalar(
            select(func.count())
            .select_from(WaitlistOffer)
            .where(
                WaitlistOffer.slot_key == slot_key(freed),
                WaitlistOffer.status == "offered",
                WaitlistOffer.expires_at > now,
            )
        )
        or 0
    )
    if db.scalar(
        select(func.count())
        .select_from(WaitlistOffer)
        .where(WaitlistOffer.slot_key == slot_key(freed), WaitlistOffer.status == "accepted")
    ):
        return []
    wanted = at_once - live
    if wanted <= 0:
        return []
    day = freed.start.astimezone(clinic.zone).date()
    asked = select(WaitlistOffer.entry_id).where(WaitlistOffer.slot_key == slot_key(freed))
    candidates = db.scalars(
        select(WaitlistEntry)
        .join(Patient, Patient.id == WaitlistEntry.patient_id)
        .where(
            WaitlistEntry.status == "waiting",
            WaitlistEntry.type_key == freed.type_key,
            (WaitlistEntry.provider_key.is_(None))
            | (WaitlistEntry.provider_key == freed.provider_key),
            (WaitlistEntry.earliest.is_(None)) | (WaitlistEntry.earliest <= day),
            (WaitlistEntry.latest.is_(None)) | (WaitlistEntry.latest >= day),
            Patient.opted_out_at.is_(None),
            Patient.phone_enc.is_not(None),
            WaitlistEntry.id.not_in(asked),
        )
        .order_by(WaitlistEntry.priority_rank, WaitlistEntry.created_at, WaitlistEntry.id)
    ).all()
    offers: list[WaitlistOffer] = []
    bookable: dict[str, bool] = {}  # by level: a reserved time is offered to urgent entries only
    for entry in candidates:
        if len(offers) >= wanted:
            break
        if entry.priority not in bookable:
            bookable[entry.priority] = _bookable_at(db, clinic, freed, entry.priority, now=now)
        if not bookable[entry.priority] or _offers_today(db, entry.patient_id, now=now) >= cap:
            continue
        offers.append(offer_slot(db, entry, freed, now=now, hold=hold))
    db.flush()
    return offers


def _bookable_at(db: Session, clinic: Clinic, slot: Slot, level: str, *, now: datetime) -> bool:
    try:
        is_bookable(db, clinic, slot, now=now, urgency=level)
    except SchedulingError:
        return False
    return True


def offer_slot(
    db: Session, entry: WaitlistEntry, slot: Slot, *, now: datetime, hold: timedelta = HOLD
) -> WaitlistOffer:
    """One offer of a slot to a waiting entry, held for `hold`, its text queued to go out now
    (a `Reminder` of kind "offer": the reminder sender texts it)."""
    offer = WaitlistOffer(
        entry_id=entry.id,
        patient_id=entry.patient_id,
        slot_key=slot_key(slot),
        slot=slot.as_dict(),
        status="offered",
        offered_at=now,
        expires_at=now + hold,
    )
    db.add(offer)
    db.flush()
    db.add(
        Reminder(
            kind="offer",
            offer_id=offer.id,
            patient_id=entry.patient_id,
            due_at=now,
            status="pending",
            attempts=0,
            created_at=now,
        )
    )
    return offer


def offer_assignments(
    db: Session,
    clinic: Clinic,
    assignments: Sequence[tuple[int, Slot]],
    *,
    now: datetime,
    hold: timedelta = HOLD,
    cap: int = MAX_OFFERS_PER_DAY,
) -> list[WaitlistOffer]:
    """Offer each (entry id, slot) the optimiser chose (scheduler/optimise/clinic_data.py) to
    its entry, held as any offer (the first YES books). Skipped: an entry not waiting (or for
    another type), a patient who cannot be texted or had `cap` offers in a day, an entry with a
    live offer or asked for this time before, a time offered (live) or accepted, or unbookable."""
    offers: list[WaitlistOffer] = []
    for entry_id, slot in assignments:
        entry = db.get(WaitlistEntry, entry_id, with_for_update=True)
        if entry is None or entry.status != "waiting" or entry.type_key != slot.type_key:
            continue
        patient = db.get(Patient, entry.patient_id)
        if patient is None or patient.opted_out_at is not None or patient.phone_enc is None:
            continue
        live = (WaitlistOffer.status == "offered") & (WaitlistOffer.expires_at > now)
        same = WaitlistOffer.slot_key == slot_key(slot)
        mine = WaitlistOffer.entry_id == entry.id
        clash = (same & (live | (WaitlistOffer.status == "accepted"))) | (mine & (same | live))
        if db.scalar(select(WaitlistOffer.id).where(clash).limit(1)) is not None:
            continue
        if _offers_today(db, entry.patient_id, now=now) >= cap:
            continue
        if not _bookable_at(db, clinic, slot, entry.priority, now=now):
            continue
        offers.append(offer_slot(db, entry, slot, now=now, hold=hold))
    db.flush()
    return offers


def _offers_today(db: Session, patient_id: int, *, now: datetime) -> int:
    """Offers the patient had in the last 24 hours (the cap counts them)."""
    return (
        db.scalar(
            select(func.count())
            .select_from(WaitlistOffer)
            .where(
                WaitlistOffer.patient_id == patient_id,
                WaitlistOffer.offered_at > now - timedelta(days=1),
            )
        )
        or 0
    )


def latest_offer(
    db: Session, patient_id: int, *, now: datetime, within: timedelta = timedelta(days=1)
) -> WaitlistOffer | None:
    """The patient's most recent unanswered offer (live, expired or taken), locked for the
    rest of the transaction: what a YES or NO answers."""
    found = db.execute(
        select(WaitlistOffer.id, WaitlistOffer.slot_key)
        .where(
            WaitlistOffer.patient_id == patient_id,
            WaitlistOffer.answered_at.is_(None),
            WaitlistOffer.offered_at > now - within,
            WaitlistOffer.status.in_(("offered", "expired", "taken")),
        )
        .order_by(WaitlistOffer.offered_at.desc(), WaitlistOffer.id.desc())
        .limit(1)
    ).first()
    if found is None:
        return None
    # Every offer of the slot, locked in one order: simultaneous answers queue here (instead of
    # deadlocking later), and each sees what the one before it decided.
    db.execute(
        select(WaitlistOffer.id)
        .where(WaitlistOffer.slot_key == found.slot_key)
        .order_by(WaitlistOffer.id)
        .with_for_update()
    )
    return db.scalars(
        select(WaitlistOffer)
        .where(WaitlistOffer.id == found.id)
        .execution_options(populate_existing=True)
    ).one()


def accepted(db: Session, offer: WaitlistOffer, appointment: Appointment, *, now: datetime) -> None:
    """The offer's YES won the slot: the entry is done, the other offers of the slot are taken."""
    offer.status, offer.answered_at, offer.appointment_id = "accepted", now, appointment.id
    entry = db.get(WaitlistEntry, offer.entry_id)
    if entry is not None:
        entry.status, entry.appointment_id = "booked", appointment.id
    others = select(WaitlistOffer.id).where(
        WaitlistOffer.slot_key == offer.slot_key,
        WaitlistOffer.id != offer.id,
        WaitlistOffer.status == "offered",
    )
    db.execute(
        update(Reminder)
        .where(
            Reminder.kind == "offer", Reminder.status == "pending", Reminder.offer_id.in_(others)
        )
        .values(status="cancelled", last_error_code="slot_taken")
        .execution_options(synchronize_session=False)
    )
    db.execute(
        update(WaitlistOffer)
        .where(WaitlistOffer.id.in_(others.scalar_subquery()))
        .values(status="taken")
        .execution_options(synchronize_session=False)
    )
    db.flush()


def leave(db: Session, clinic: Clinic, entry_id: int, *, now: datetime) -> WaitlistEntry:
    """Take an entry off the waitlist (it stays, status "removed"). Its open offers expire now,
    their texts not yet sent are cancelled, and their times go to the next in line.
    NotFound for no such entry; SchedulingError ("closed") for one no longer waiting."""
    entry = db.get(WaitlistEntry, entry_id, with_for_update=True)
    if entry is None:
        raise NotFound("no such waitlist entry")
    if entry.status != "waiting":
        raise SchedulingError(f"that entry is {entry.status}, not waiting", code="closed")
    entry.status = "removed"
    held = db.scalars(
        select(WaitlistOffer)
        .where(WaitlistOffer.entry_id == entry.id, WaitlistOffer.status == "offered")
        .with_for_update()
    ).all()
    db.execute(
        update(Reminder)
        .where(
            Reminder.kind == "offer",
            Reminder.status == "pending",
            Reminder.offer_id.in_([offer.id for offer in held]),
        )
        .values(status="cancelled", last_error_code="left_waitlist")
        .execution_options(synchronize_session=False)
    )
    _expire(db, clinic, held, now=now)
    return entry


def answered(db: Session, offer: WaitlistOffer, status: str, *, now: datetime) -> None:
    """A YES that came too late ("taken", "expired") or a NO ("declined"); the entry keeps
    its place."""
    offer.status, offer.answered_at = status, now
    db.flush()


def advance(db: Session, clinic: Clinic, *, now: datetime) -> int:
    """Expire unanswered offers and offer each still-free slot to the next entries."""
    expired = db.scalars(
        select(WaitlistOffer)
        .where(WaitlistOffer.status == "offered", WaitlistOffer.expires_at <= now)
        .with_for_update(skip_locked=True)
    ).all()
    _expire(db, clinic, expired, now=now)
    return len(expired)


def _expire(db: Session, clinic: Clinic, offers: Sequence[WaitlistOffer], *, now: datetime) -> None:
    """End these offers and offer each of their times, if still free, to the next entries."""
    slots: dict[str, Slot] = {}
    for offer in offers:
        offer.status = "expired"
        slots[offer.slot_key] = Slot.from_dict(offer.slot)
    db.flush()
    for freed in slots.values():
        # booked meanwhile, or too close now (a reserved time: offer_freed_slot asks per level)
        if _bookable_at(db, clinic, freed, "urgent", now=now):
            offer_freed_slot(db, clinic, freed, now=now)
