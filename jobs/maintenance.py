"""Maintenance jobs: idle sessions, old conversation text, appointments needing an outcome, old
idempotency keys, the digest.

- `expire_sessions`: conversations idle past SESSION_TIMEOUT_MINUTES are deleted.
- `purge_text`: conversation text older than TEXT_RETENTION_DAYS (180) is removed: outbox rows
  (texts sent when no SMS provider is configured) are deleted, a receipt's stored reply is
  cleared (the receipt itself stays: it is how a retried webhook is recognised), and an audit
  event's text is replaced by its digest (the event stays, and the hash chain still verifies).
- `mark_outcomes`: an appointment whose time passed while still "booked" (no check-in) gets
  `outcome_needed_at`; its status and occupancy are staff's call, not the job's.
- `purge_idempotent_requests`: the REST API's `Idempotency-Key` records older than
  `IDEMPOTENCY_KEY_LIFETIME` (24 hours) are deleted; the API already treats such a key as new
  (adapters/api/idempotency.py), so this only keeps the table small.
- `date_engine_turns`: an analytics row of a patient turn written without its clinic-local date
  (by a node still running the code before migration 0016, during a rolling restart) gets it,
  so the dashboard, which selects turns by that date, counts it.
- `close_refusal_tallies`: refused webhook requests (forged signatures, rate-limited addresses),
  counted by the web processes, become one `security` audit event per address and minute.
- `next_day_digest`: tomorrow's schedule, with the unconfirmed appointments, for the staff channel
  (ids, times and providers only; never a name or a phone number).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any, cast

from sqlalchemy import delete, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from bot.audit.trail import AuditTrail
from bot.patient.replies import day_text, time_text
from scheduler.clinic import Clinic
from scheduler.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    EngineTurn,
    MessageReceipt,
    OutboxMessage,
    Provider,
    RefusalTally,
)
from scheduler.models.accounts import IDEMPOTENCY_KEY_LIFETIME, IdempotentRequest

log = logging.getLogger("scheduler.jobs.maintenance")
REFUSALS_GRACE = timedelta(minutes=2)


def expire_sessions(db: Session, store, *, now: datetime) -> int:
    count = store.expire(db, now=now)
    if count:
        log.info("maintenance: %d idle conversations ended", count)
    return count


# Audit events whose text one maintenance run removes at most: a backlog (the first run after a
# long time, or a lower TEXT_RETENTION_DAYS) is worked off over the following runs.
PURGE_PER_RUN = 5000


def purge_text(db: Session, audit: AuditTrail, *, now: datetime, retention: timedelta) -> int:
    """Remove conversation text older than `retention` (TEXT_RETENTION_DAYS): texts recorded in
    the outbox, stored replies, and the texts of audit events (replaced by their digests, so the
    chain still verifies; audited as `texts_removed`)."""
    cutoff = now - retention
    # `Session.execute` returns a `CursorResult` for a DELETE or an UPDATE (its stubs say `Result`).
    outbox = cast(
        CursorResult[Any],
        db.execute(delete(OutboxMessage).where(OutboxMessage.created_at < cutoff)),
    ).rowcount
    receipts = cast(
        CursorResult[Any],
        db.execute(
            update(MessageReceipt)
            .where(MessageReceipt.created_at < cutoff, MessageReceipt.reply_enc.is_not(None))
            .values(reply_enc=None)
        ),
    ).rowcount
    events = audit.remove_texts(
        db, AuditEvent.at < cutoff, now=now, reason="retention", limit=PURGE_PER_RUN
    )
    if outbox or receipts or events:
        log.info(
            "maintenance: purged %d outbox texts, %d stored replies and %d audit texts "
            "older than %d days",
            outbox or 0,
            receipts or 0,
            events,
            retention.days,
        )
    return (outbox or 0) + (receipts or 0) + events


def mark_outcomes(db: Session, *, now: datetime) -> int:
    # `Session.execute` returns a `CursorResult` for an UPDATE (its stubs say `Result`).
    count = (
        cast(
            CursorResult[Any],
            db.execute(
                update(Appointment)
                .where(
                    Appointment.status == AppointmentStatus.BOOKED,
                    Appointment.end_at <= now,
                    Appointment.outcome_needed_at.is_(None),
                )
                .values(outcome_needed_at=now)
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
        or 0
    )
    if count:
        log.info("maintenance: %d appointments need an outcome", count)
    return count


def date_engine_turns(db: Session, zone: tzinfo, *, batch: int = 5_000) -> int:
    """Give each engine turn without a `day` its date in `zone`; how many there were."""
    dated = 0
    while rows := db.execute(
        select(EngineTurn.id, EngineTurn.at).where(EngineTurn.day.is_(None)).limit(batch)
    ).all():
        db.execute(
            update(EngineTurn).execution_options(synchronize_session=False),
            [{"id": turn_id, "day": at.astimezone(zone).date()} for turn_id, at in rows],
        )
        dated += len(rows)
    if dated:
        log.info("maintenance: %d engine turns given their date", dated)
    return dated


def purge_idempotent_requests(
    db: Session, *, now: datetime, lifetime: timedelta = IDEMPOTENCY_KEY_LIFETIME
) -> int:
    """Delete the idempotency records (the API's `Idempotency-Key`s and their stored answers)
    created more than `lifetime` (24 hours) ago: the ones the API no longer replays. Returns how
    many. By `created_at`, which is indexed."""
    # `Session.execute` returns a `CursorResult` for a DELETE (its stubs say `Result`).
    count = (
        cast(
            CursorResult[Any],
            db.execute(
                delete(IdempotentRequest)
                .where(IdempotentRequest.created_at < now - lifetime)
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
        or 0
    )
    if count:
        log.info(
            "maintenance: %d idempotency keys older than %d hours deleted",
            count,
            lifetime // timedelta(hours=1),
        )
    return count


def next_day_digest(db: Session, clinic: Clinic, *, now: datetime) -> str:
    """Tomorrow's schedule in the clinic's zone, for staff: counts per provider, and the
    appointments not yet confirmed by the patient."""
    zone = clinic.zone
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, datetime.min.time(), tzinfo=zone)
    end = start + timedelta(days=1)
    rows = db.execute(
        select(Appointment.id, Appointment.start_at, Appointment.confirmed_at, Provider.name)
        .join(Provider, Provider.id == Appointment.provider_id)
        .where(
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.start_at >= start,
            Appointment.start_at < end,
        )
        .order_by(Appointment.start_at, Appointment.id)
    ).all()
    if not rows:
        return f"Schedule for {day_text(tomorrow)}: no appointments."
    per_provider: dict[str, int] = {}
    for row in rows:
        per_provider[row.name] = per_provider.get(row.name, 0) + 1
    lines = [
        f"Schedule for {day_text(tomorrow)}: {len(rows)} appointments ("
        + ", ".join(f"{name} {n}" for name, n in per_provider.items())
        + ")."
    ]
    unconfirmed = [r for r in rows if r.confirmed_at is None]
    if unconfirmed:
        lines.append(f"Not confirmed yet ({len(unconfirmed)}):")
        lines += [
            f"#{r.id} {time_text(r.start_at.astimezone(zone))} {r.name}" for r in unconfirmed[:50]
        ]
        if len(unconfirmed) > 50:
            lines.append(f"... and {len(unconfirmed) - 50} more")
    else:
        lines.append("All confirmed.")
    return "\n".join(lines)


def post_digest(
    db: Session, clinic: Clinic, post: Callable[[str], None] | None, *, now: datetime
) -> str | None:
    if post is None:
        return None
    text = next_day_digest(db, clinic, now=now)
    post(text)
    log.info("maintenance: next-day digest posted")
    return text


def close_refusal_tallies(db: Session, audit: AuditTrail, *, now: datetime) -> int:
    """One `security` audit event for each address and minute ended `REFUSALS_GRACE` ago,
    carrying its counts (by endpoint and reason), and a log line; the tallies are then deleted.
    Returns how many events were written. The web processes count refused webhook requests in memory and add
    them to `refusal_tallies` about once a minute (adapters/refusals.py); a minute is closed two
    minutes after it ends, so that every process has added its counts first."""
    cutoff = now.replace(second=0, microsecond=0) - REFUSALS_GRACE
    rows = db.scalars(
        select(RefusalTally)
        .where(RefusalTally.minute < cutoff)
        .order_by(RefusalTally.minute, RefusalTally.source)
    ).all()
    grouped: dict[tuple[str, datetime], dict[str, int]] = {}
    for row in rows:
        by = grouped.setdefault((row.source, row.minute), {})
        by[f"{row.endpoint}:{row.reason}"] = by.get(f"{row.endpoint}:{row.reason}", 0) + row.count
    for (source, minute), by in grouped.items():
        total = sum(by.values())
        audit.record(
            db,
            "security",
            at=now,
            channel="webhook",
            actor="webhook",
            detail={"source": source, "minute": minute.isoformat(), "refused": total, "by": by},
        )
        log.warning(
            "refused %d webhook requests from %s in the minute from %s (%s)",
            total,
            source,
            minute.isoformat(),
            ", ".join(f"{k} {v}" for k, v in sorted(by.items())),
        )
    if rows:
        db.execute(delete(RefusalTally).where(RefusalTally.id.in_([r.id for r in rows])))
    return len(grouped)
