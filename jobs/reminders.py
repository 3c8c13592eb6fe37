"""Sending reminders: claimed with a lease, sent, recorded. The database is the truth.

Planning them with each booking, their due times and quiet hours are the domain's
(scheduler/reminders.py). Sending (`ReminderSender.run`) is a loop of short transactions:

1. sweep: a due reminder whose appointment already started (or was cancelled) is marked expired;
   of several due reminders for one appointment (everything was down) only the latest goes out;
2. claim, in one transaction: `SELECT id ... due or lease expired ... ORDER BY due_at LIMIT n FOR
   UPDATE SKIP LOCKED` (PostgreSQL; SQLite has no SKIP LOCKED and its BEGIN IMMEDIATE serializes
   the claim), then `UPDATE reminders SET status='sending', lease_owner=me, lease_until=now+lease
   WHERE id IN (those ids)`. The index the claim walks holds only pending and sending rows;
3. for each claimed row: check it is still wanted (appointment upcoming, patient subscribed, not
   quiet hours now), send it through the sender (Twilio), and record "sent" at once in its own
   transaction (`WHERE lease_owner = me`). A sender that records in the database instead of
   texting (the outbox, `record(session, messages)`) writes a batch's texts in the transaction
   that marks them "sent": exactly once, with no window at all, and a few statements per batch
   whatever its size (one opt-out query, one insert, one update, one audit append).

The guarantee: a claimed reminder is sent by its claimer at most once. A worker that dies loses
nothing: its leases expire and another worker claims those rows. The one window for a duplicate is
a crash after the carrier accepted the text and before the "sent" row committed (one UPDATE); the
reminder then goes out once more after the lease expires. We choose that over the opposite risk
(never sending a reminder whose send might not have happened). See README "Reminders, waitlist and
jobs".

Log lines carry ids and counts only, never a phone number or a text.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeGuard, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session, sessionmaker

from bot import i18n
from bot.audit import AuditTrail
from bot.messages import DeliveryFailed, OutboundMessage, RecipientOptedOut, Sender
from bot.patient import replies
from scheduler.clinic import Clinic
from scheduler.crypto import Vault
from scheduler.models import (
    ACTIVE_STATUSES,
    Appointment,
    Patient,
    Provider,
    Reminder,
    WaitlistOffer,
)
from scheduler.reminders import (
    CANCELLED,
    EXPIRED,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    ReminderPolicy,
    after_quiet_hours,
    in_quiet_hours,
)

log = logging.getLogger("scheduler.jobs.reminders")

MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=5)

# --- sending ----------------------------------------------------------------------------------


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class RunResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    retried: int = 0
    claimed: int = 0
    sent_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Due:
    id: int
    kind: str
    attempts: int
    patient_id: int
    phone_enc: bytes | None
    opted_out: bool
    patient_tz: str | None
    start_at: datetime | None
    active: bool
    provider_name: str | None
    offer_expires: datetime | None
    offer_slot: dict[str, Any] | None
    offer_id: int | None = None
    provider_key: str | None = None
    language: str | None = None  # the patient's (bot/i18n.py): the text is in it


class RecordingSender(Protocol):
    """A sender that records in the database instead of texting (the outbox): its `record`
    writes a batch's texts in the caller's transaction, and says which it recorded."""

    def record(self, session: Session, messages: Sequence[OutboundMessage]) -> list[bool]: ...


def _records(sender: object) -> TypeGuard[RecordingSender]:
    return callable(getattr(sender, "record", None))


class ReminderSender:
    """Claims due reminders (and waitlist offers) and sends them; many may run at once."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clinic: Clinic,
        vault: Vault,
        audit: AuditTrail,
        sender: Sender,
        *,
        clock: Callable[[], datetime],
        policy: ReminderPolicy = ReminderPolicy(),
        owner: str | None = None,
        lease: timedelta = timedelta(minutes=5),
        batch: int = 500,
        hold_minutes: int = 15,
    ):
        self.sessions, self.clinic, self.vault = sessions, clinic, vault
        self.audit, self.sender, self.clock = audit, sender, clock
        self.policy = policy
        self.owner = owner or worker_name()
        self.lease, self.batch, self.hold_minutes = lease, batch, hold_minutes
        self.postgres = sessions.kw["bind"].dialect.name == "postgresql"

    # one pass: everything due now, batch after batch
    def run(self, *, max_batches: int | None = None) -> RunResult:
        result = RunResult()
        self.sweep(self.clock())
        batches = 0
        while max_batches is None or batches < max_batches:
            ids = self.claim(self.clock())
            if not ids:
                break
            batches += 1
            result.claimed += len(ids)
            self._send_batch(ids, result)
        if result.claimed:
            log.info(
                "reminders: claimed %d, sent %d, failed %d, skipped %d, retrying %d (worker %s)",
                result.claimed,
                result.sent,
                result.failed,
                result.skipped,
                result.retried,
                self.owner,
            )
        return result

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
        claimed: list[int] = []
        with self.sessions.begin() as db:
            for due in (
                (Reminder.status == PENDING) & (Reminder.due_at <= now),
                (Reminder.status == SENDING) & (Reminder.lease_until < now),
            ):
                wanted = limit - len(claimed)
                if wanted <= 0:
                    break
                # ORDER BY the index's own column: (status, due_at) serves it without a sort.
                pick = select(Reminder.id).where(due).order_by(Reminder.due_at).limit(wanted)
                if self.postgres:
                    pick = pick.with_for_update(skip_locked=True)
                ids = db.scalars(pick).all()
                if not ids:
                    continue
                # The picked rows are locked (or, on SQLite, the database is): update them by
                # id, through the primary key. As one UPDATE ... WHERE id IN (subquery) the
                # planner scanned the whole table to join the two.
                db.execute(
                    update(Reminder)
                    .where(Reminder.id.in_(ids))
                    .values(
                        status=SENDING,
                        lease_owner=self.owner,
                        lease_until=now + self.lease,
                        attempts=Reminder.attempts + 1,
                    )
                    .execution_options(synchronize_session=False)
                )
                claimed.extend(ids)
        return sorted(claimed)

    def _load(self, ids: list[int]) -> list[_Due]:
        with self.sessions() as db:
            rows = db.execute(
                select(
                    Reminder.id,
                    Reminder.kind,
                    Reminder.attempts,
                    Reminder.patient_id,
                    Reminder.offer_id,
                    Patient.phone_enc,
                    Patient.opted_out_at,
                    Patient.timezone,
                    Appointment.start_at,
                    Appointment.status,
                    Provider.name,
                    WaitlistOffer.expires_at,
                    WaitlistOffer.slot,
                    WaitlistOffer.status,
                    Provider.key,
                    Patient.language,
                )
                .join(Patient, Patient.id == Reminder.patient_id)
                .outerjoin(Appointment, Appointment.id == Reminder.appointment_id)
                .outerjoin(Provider, Provider.id == Appointment.provider_id)
                .outerjoin(WaitlistOffer, WaitlistOffer.id == Reminder.offer_id)
                .where(Reminder.id.in_(ids), Reminder.lease_owner == self.owner)
                .order_by(Reminder.due_at, Reminder.id)
            ).all()
        out = []
        # Outer-joined: no appointment for an offer (its start is the offered slot's).
        start: datetime | None
        for (
            rid,
            kind,
            attempts,
            patient_id,
            offer_id,
            phone_enc,
            opted_out,
            tz,
            start,
            status,
            provider,
            expires,
            slot,
            offer_status,
            provider_key,
            language,
        ) in rows:
            if kind == "offer":
                active = offer_status == "offered"
                start = datetime.fromisoformat(slot["start"]) if slot else None
            else:
                active = status in ACTIVE_STATUSES
            out.append(
                _Due(
                    rid,
                    kind,
                    attempts,
                    patient_id,
                    phone_enc,
                    opted_out is not None,
                    tz,
                    start,
                    active,
                    provider,
                    expires,
                    slot,
                    offer_id,
                    provider_key,
                    language,
                )
            )
        return out

    def _send_batch(self, ids: list[int], result: RunResult) -> None:
        if _records(self.sender):
            return self._record_batch(self.sender, ids, result)
        claimed_at = self.clock()
        sent_now: list[_Due] = []
        for due in self._load(ids):
            now = self.clock()
            if now - claimed_at > self.lease / 2:
                self._renew(ids, now)
                claimed_at = now
            outcome = self._send_one(due, now)
            if outcome == SENT:
                result.sent += 1
                result.sent_ids.append(due.id)
                sent_now.append(due)
            elif outcome == FAILED:
                result.failed += 1
            elif outcome == PENDING:
                result.retried += 1
            else:
                result.skipped += 1
        if sent_now:
            # One audit append per batch: the chain's lock is taken once, not once per text.
            with self.sessions.begin() as db:
                at = self.clock()
                for due in sent_now:
                    self.audit.record(
                        db,
                        f"{due.kind}_sent",
                        at=at,
                        channel="sms",
                        actor="bot",
                        patient_id=due.patient_id,
                        detail={"reminder_id": due.id},
                    )

    def _record_batch(self, sender: RecordingSender, ids: list[int], result: RunResult) -> None:
        """A sender that records in the database (the outbox): the batch's texts and its
        reminders' "sent" marks commit together in one transaction: exactly once, no window."""
        now = self.clock()
        dues = self._load(ids)
        later: list[_Due] = []
        with self.sessions.begin() as db:
            connection = db.connection()
            wanted: list[tuple[_Due, ZoneInfo, bytes]] = []
            for due in dues:
                unwanted = self._unwanted(due, now)
                if unwanted is not None:
                    self._mark(connection, [due.id], unwanted[0], code=unwanted[1])
                    result.skipped += 1
                    continue
                zone = ZoneInfo(due.patient_tz) if due.patient_tz else self.clinic.zone
                if in_quiet_hours(now, zone, self.policy.quiet_hours):
                    later.append(due)  # the one-by-one path knows how to wait
                    continue
                assert due.phone_enc is not None  # `_unwanted` said send: the patient has a number
                wanted.append((due, zone, due.phone_enc))
            recorded = sender.record(
                db,
                [
                    OutboundMessage(
                        "sms",
                        self.vault.decrypt(phone_enc),
                        self._text(due, zone),
                        kind=due.kind,
                    )
                    for due, zone, phone_enc in wanted
                ],
            )
            sent = [due for (due, _, _), done in zip(wanted, recorded, strict=True) if done]
            refused = [
                due.id for (due, _, _), done in zip(wanted, recorded, strict=True) if not done
            ]
            if refused:  # opted out since the batch was loaded: the outbox recorded nothing
                self._mark(connection, refused, CANCELLED, code="opted_out")
                result.skipped += len(refused)
            marked = self._mark(connection, [d.id for d in sent], SENT, sent_at=now)
            if marked != len(sent):  # a lease ran out under us: send none of this batch
                raise RuntimeError("reminder leases lost during a batch; rolled back")
            for due in sent:
                self.audit.record(
                    db,
                    f"{due.kind}_sent",
                    at=now,
                    channel="sms",
                    actor="bot",
                    patient_id=due.patient_id,
                    detail={"reminder_id": due.id},
                )
        result.sent += len(sent)
        result.sent_ids += [d.id for d in sent]
        for due in later:
            outcome = self._send_one(due, now)
            result.retried += outcome == PENDING
            result.skipped += outcome != PENDING

    def _mark(
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
            .where(Reminder.id.in_(ids), Reminder.lease_owner == self.owner)
            .values(**values)
        ).rowcount

    def _renew(self, ids: list[int], now: datetime) -> None:
        with self.sessions.begin() as db:
            db.execute(
                update(Reminder)
                .where(
                    Reminder.id.in_(ids),
                    Reminder.lease_owner == self.owner,
                    Reminder.status == SENDING,
                )
                .values(lease_until=now + self.lease)
                .execution_options(synchronize_session=False)
            )

    def _finish(
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
            done = self._mark(
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

    def _unwanted(self, due: _Due, now: datetime) -> tuple[str, str] | None:
        """(status, code) when the reminder must not go out now; None to send it."""
        if not due.active or due.start_at is None or due.start_at <= now:
            return (EXPIRED if due.active else CANCELLED), "not_upcoming"
        if due.kind == "offer" and (due.offer_expires is None or due.offer_expires <= now):
            return EXPIRED, "offer_expired"
        if due.opted_out or due.phone_enc is None:
            return CANCELLED, "opted_out"
        return None

    def _send_one(self, due: _Due, now: datetime) -> str:
        unwanted = self._unwanted(due, now)
        if unwanted is not None:
            self._finish(due.id, unwanted[0], now, code=unwanted[1])
            return unwanted[0]
        # `_unwanted` said send: it is upcoming (its start is known) and the patient has a number.
        assert due.start_at is not None and due.phone_enc is not None
        zone = ZoneInfo(due.patient_tz) if due.patient_tz else self.clinic.zone
        if in_quiet_hours(now, zone, self.policy.quiet_hours):
            later = after_quiet_hours(now, zone, self.policy.quiet_hours)
            if later >= due.start_at:
                self._finish(due.id, EXPIRED, now, code="quiet_hours")
                return EXPIRED
            if due.kind == "offer":  # the hold starts when the offer can be read
                with self.sessions.begin() as db:
                    db.execute(
                        update(WaitlistOffer)
                        .where(WaitlistOffer.id == due.offer_id)
                        .values(expires_at=later + timedelta(minutes=self.hold_minutes))
                    )
            self._finish(due.id, PENDING, now, code="quiet_hours", due_at=later)
            return PENDING
        message = OutboundMessage(
            "sms", self.vault.decrypt(due.phone_enc), self._text(due, zone), kind=due.kind
        )
        try:
            self.sender.send(message)
        except RecipientOptedOut:
            self._finish(due.id, CANCELLED, now, code="opted_out")
            return CANCELLED
        except DeliveryFailed as exc:
            return self._failed(due, now, str(exc.code or "error"), exc.retryable)
        except Exception as exc:  # the sender's own bug or outage: retry, then give up
            log.exception("reminder %s: sender raised %s", due.id, type(exc).__name__)
            return self._failed(due, now, type(exc).__name__[:32], True)
        self._finish(due.id, SENT, self.clock())
        return SENT

    def _failed(self, due: _Due, now: datetime, code: str, retryable: bool) -> str:
        if retryable and due.attempts < MAX_ATTEMPTS:
            retry = now + RETRY_AFTER * due.attempts
            assert due.start_at is not None  # only for a reminder `_send_one` sent: upcoming
            if retry < due.start_at:
                self._finish(due.id, PENDING, now, code=code, due_at=retry)
                return PENDING
        self._finish(
            due.id, FAILED, now, code=code, audit=f"{due.kind}_failed", patient_id=due.patient_id
        )
        log.warning("reminder %s not delivered (code %s, attempts %d)", due.id, code, due.attempts)
        return FAILED

    def _text(self, due: _Due, zone: ZoneInfo) -> str:
        """The text, in the patient's language."""
        assert due.start_at is not None  # only for a reminder `_unwanted` let through (upcoming)
        with i18n.speaking(due.language):
            if due.kind == "offer":
                return replies.waitlist_offer(self.clinic, due.start_at, zone, self.hold_minutes)
            provider = (
                replies.provider_name_of(self.clinic, due.provider_key or "", due.provider_name)
                if self.clinic.show_provider_in_reminders and due.provider_name
                else None
            )
            return replies.reminder(self.clinic, due.start_at, zone, provider)
