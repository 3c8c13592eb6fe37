"""This worker's claims on the reminders table: the rows it takes, and what it records of them.

Every write to a reminder's status or lease is here, and once a row is claimed each one says
`WHERE lease_owner = me`, so a worker whose lease ran out records nothing over the worker that
claimed the row after it:

- `sweep`: a due reminder whose appointment already started (or was cancelled) is marked expired;
  of several due reminders for one appointment (everything was down) only the latest goes out;
- `claim`, in one transaction: `SELECT id ... due or lease expired ... ORDER BY due_at LIMIT n FOR
  UPDATE SKIP LOCKED` (PostgreSQL; SQLite has no SKIP LOCKED and its BEGIN IMMEDIATE serializes
  the claim), then `UPDATE reminders SET status='sending', lease_owner=me, lease_until=now+lease
  WHERE id IN (those ids)`. The index the claim walks holds only pending and sending rows;
- `renew`: a batch that takes long keeps its leases;
- `mark` (in the caller's transaction) and `finish` (in its own, audited when asked): an outcome
  recorded for rows still ours.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session, sessionmaker

from bot.audit.trail import AuditTrail
from scheduler.models import ACTIVE_STATUSES, Appointment, Reminder
from scheduler.reminders import EXPIRED, PENDING, SENDING, SENT

from ..leases import by_ids, lease_due

log = logging.getLogger("scheduler.jobs.reminders")


class Claims:
    """One worker's (`owner`'s) claims: leases of `lease`, up to `batch` rows at a time."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        audit: AuditTrail,
        *,
        owner: str,
        lease: timedelta,
        batch: int,
    ):
        self.sessions, self.audit, self.owner = sessions, audit, owner
        self.lease, self.batch = lease, batch
        self.postgres = sessions.kw["bind"].dialect.name == "postgresql"

    def sweep(self, now: datetime) -> int:
        """Expire due reminders nobody should get any more (start-up catch-up)."""
        # Of an appointment's due reminders the latest ranks 1; the others are superseded. One
        # scan and a sort, whatever the table's statistics say (a correlated EXISTS was planned
        # as one index scan per row when the statistics missed a bulk of new reminders).
        rank = func.row_number().over(
            partition_by=Reminder.appointment_id,
            order_by=(Reminder.due_at.desc(), Reminder.id.desc()),
        )
        due = (
            select(Reminder.id, rank.label("rank"))
            .where(Reminder.status == PENDING, Reminder.due_at <= now, Reminder.kind == "reminder")
            .subquery()
        )
        with self.sessions.begin() as db:
            # `Session.execute` returns a `CursorResult` for an UPDATE (its stubs say `Result`).
            started = (
                cast(
                    CursorResult[Any],
                    db.execute(
                        update(Reminder)
                        .where(
                            Reminder.status == PENDING,
                            Reminder.due_at <= now,
                            Reminder.kind == "reminder",
                            Reminder.appointment_id.in_(
                                select(Appointment.id).where(
                                    (Appointment.start_at <= now)
                                    | Appointment.status.not_in(ACTIVE_STATUSES)
                                )
                            ),
                        )
                        .values(status=EXPIRED, last_error_code="too_late")
                        .execution_options(synchronize_session=False)
                    ),
                ).rowcount
                or 0
            )
            superseded = (
                cast(
                    CursorResult[Any],
                    db.execute(
                        update(Reminder)
                        .where(
                            Reminder.status == PENDING,
                            Reminder.id.in_(select(due.c.id).where(due.c.rank > 1)),
                        )
                        .values(status=EXPIRED, last_error_code="superseded")
                        .execution_options(synchronize_session=False)
                    ),
                ).rowcount
                or 0
            )
        if started or superseded:
            log.info(
                "reminders: %d expired (appointment started), %d superseded", started, superseded
            )
        return started + superseded

    def claim(self, now: datetime, limit: int | None = None) -> list[int]:
        """Take up to `limit` due rows (or rows whose lease ran out) for this worker."""
        limit = limit or self.batch
        with self.sessions.begin() as db:
            claimed = lease_due(
                db,
                Reminder,
                [
                    (Reminder.status == PENDING) & (Reminder.due_at <= now),
                    (Reminder.status == SENDING) & (Reminder.lease_until < now),
                ],
                # The index's own column: (status, due_at) serves it without a sort.
                order_by=Reminder.due_at,
                limit=limit,
                postgres=self.postgres,
                values={
                    "status": SENDING,
                    "lease_owner": self.owner,
                    "lease_until": now + self.lease,
                    "attempts": Reminder.attempts + 1,
                },
            )
        return sorted(claimed)

    def mark(
        self,
        connection: Connection,
        ids: list[int],
        status: str,
        *,
        code: str | None = None,
        sent_at: datetime | None = None,
        due_at: datetime | None = None,
    ) -> int:
        """Record the outcome of this worker's claimed rows `ids`; how many were still ours."""
        if not ids:
            return 0
        values: dict[str, Any] = {"status": status, "lease_owner": None, "lease_until": None}
        for name, value in (("last_error_code", code), ("sent_at", sent_at), ("due_at", due_at)):
            if value is not None:
                values[name] = value
        return connection.execute(
            update(Reminder)
            .where(
                by_ids(Reminder.id, ids, postgres=self.postgres), Reminder.lease_owner == self.owner
            )
            .values(**values)
        ).rowcount

    def renew(self, ids: list[int], now: datetime) -> None:
        with self.sessions.begin() as db:
            db.execute(
                update(Reminder)
                .where(
                    by_ids(Reminder.id, ids, postgres=self.postgres),
                    Reminder.lease_owner == self.owner,
                    Reminder.status == SENDING,
                )
                .values(lease_until=now + self.lease)
                .execution_options(synchronize_session=False)
            )

    def finish(
        self,
        reminder_id: int,
        status: str,
        now: datetime,
        *,
        code: str | None = None,
        due_at: datetime | None = None,
        audit: str | None = None,
        patient_id: int | None = None,
    ) -> bool:
        with self.sessions.begin() as db:
            done = self.mark(
                db.connection(),
                [reminder_id],
                status,
                code=code,
                sent_at=now if status == SENT else None,
                due_at=due_at,
            )
            if audit and done:
                self.audit.record(
                    db,
                    audit,
                    at=now,
                    channel="sms",
                    actor="bot",
                    patient_id=patient_id,
                    detail={"reminder_id": reminder_id, "code": code},
                )
        if not done:
            log.warning(
                "reminder %s: lease lost before it was recorded %s (worker %s)",
                reminder_id,
                status,
                self.owner,
            )
        return bool(done)
