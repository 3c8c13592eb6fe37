"""Sending reminders: claimed with a lease, sent, recorded. The database is the truth.

Planning them with each booking, their due times and quiet hours are the domain's
(scheduler/reminders.py). Sending (`ReminderSender.run`) is a loop of short transactions:

1. sweep (claims.py): a due reminder whose appointment already started (or was cancelled) is
   marked expired; of several due reminders for one appointment only the latest goes out;
2. claim (claims.py), in one transaction: the due rows, or rows whose lease ran out, taken for this
   worker (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and marked "sending" under its lease;
3. for each claimed row: check it is still wanted (due.py: appointment upcoming, patient
   subscribed; here: not quiet hours now), send it through the sender (Twilio), and record "sent"
   at once in its own transaction (`WHERE lease_owner = me`). A sender that records in the
   database instead of texting (the outbox, `record(session, messages)`) writes a batch's texts in
   the transaction that marks them "sent": exactly once, with no window at all, and a few
   statements per batch whatever its size (one opt-out query, one insert, one update, one audit
   append).

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
from typing import Protocol, TypeGuard
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.audit.trail import AuditTrail
from bot.messages import (
    DeliveryFailed,
    OutboundMessage,
    RecipientOptedOut,
    SealedMessage,
    Sender,
)
from scheduler.clinic import Clinic
from scheduler.crypto import Vault
from scheduler.models import WaitlistOffer
from scheduler.reminders import (
    CANCELLED,
    EXPIRED,
    FAILED,
    PENDING,
    SENT,
    ReminderPolicy,
    after_quiet_hours,
    in_quiet_hours,
)

from .claims import Claims
from .due import Due, load_claimed, reminder_text, unwanted_now

log = logging.getLogger("scheduler.jobs.reminders")

MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=5)


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


class RecordingSender(Protocol):
    """A sender that records in the database instead of texting (the outbox): its `record`
    writes a batch's texts in the caller's transaction, and says which it recorded."""

    def record(self, session: Session, messages: Sequence[SealedMessage]) -> list[bool]: ...


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
        self.lease, self.hold_minutes = lease, hold_minutes
        self.claims = Claims(sessions, audit, owner=self.owner, lease=lease, batch=batch)

    # one pass: everything due now, batch after batch
    def run(self, *, max_batches: int | None = None) -> RunResult:
        result = RunResult()
        self.claims.sweep(self.clock())
        batches = 0
        while max_batches is None or batches < max_batches:
            ids = self.claims.claim(self.clock())
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

    def _send_batch(self, ids: list[int], result: RunResult) -> None:
        if _records(self.sender):
            return self._record_batch(self.sender, ids, result)
        claimed_at = self.clock()
        sent_now: list[Due] = []
        for due in load_claimed(self.sessions, ids, self.owner):
            now = self.clock()
            if now - claimed_at > self.lease / 2:
                self.claims.renew(ids, now)
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
        dues = load_claimed(self.sessions, ids, self.owner)
        later: list[Due] = []
        with self.sessions.begin() as db:
            connection = db.connection()
            wanted: list[tuple[Due, ZoneInfo]] = []
            for due in dues:
                unwanted = unwanted_now(due, now)
                if unwanted is not None:
                    self.claims.mark(connection, [due.id], unwanted[0], code=unwanted[1])
                    result.skipped += 1
                    continue
                zone = ZoneInfo(due.patient_tz) if due.patient_tz else self.clinic.zone
                if in_quiet_hours(now, zone, self.policy.quiet_hours):
                    later.append(due)  # the one-by-one path knows how to wait
                    continue
                wanted.append((due, zone))
            recorded = sender.record(
                db,
                [
                    SealedMessage(
                        "sms",
                        *self._number(due),
                        reminder_text(self.clinic, due, zone, self.hold_minutes),
                        due.kind,
                    )
                    for due, zone in wanted
                ],
            )
            sent = [due for (due, _), done in zip(wanted, recorded, strict=True) if done]
            refused = [due.id for (due, _), done in zip(wanted, recorded, strict=True) if not done]
            if refused:  # opted out since the batch was loaded: the outbox recorded nothing
                self.claims.mark(connection, refused, CANCELLED, code="opted_out")
                result.skipped += len(refused)
            marked = self.claims.mark(connection, [d.id for d in sent], SENT, sent_at=now)
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

    def _number(self, due: Due) -> tuple[tuple[str, ...], bytes]:
        """The patient's number sealed for the outbox: its stored ciphertext as it is, and the
        number's blind indexes (the stored one, unless the patient has a scope and their index
        is of the scope and the number: then the number's own, from the decrypted number)."""
        # `unwanted_now` said send: the patient has a number
        assert due.phone_enc is not None
        if due.scope is None and due.phone_index is not None:
            return (due.phone_index,), due.phone_enc
        return tuple(self.vault.indexes(self.vault.decrypt(due.phone_enc))), due.phone_enc

    def _send_one(self, due: Due, now: datetime) -> str:
        unwanted = unwanted_now(due, now)
        if unwanted is not None:
            self.claims.finish(due.id, unwanted[0], now, code=unwanted[1])
            return unwanted[0]
        # `unwanted_now` said send: it is upcoming (its start is known), the patient has a number.
        assert due.start_at is not None and due.phone_enc is not None
        zone = ZoneInfo(due.patient_tz) if due.patient_tz else self.clinic.zone
        if in_quiet_hours(now, zone, self.policy.quiet_hours):
            later = after_quiet_hours(now, zone, self.policy.quiet_hours)
            if later >= due.start_at:
                self.claims.finish(due.id, EXPIRED, now, code="quiet_hours")
                return EXPIRED
            if due.kind == "offer":  # the hold starts when the offer can be read
                with self.sessions.begin() as db:
                    db.execute(
                        update(WaitlistOffer)
                        .where(WaitlistOffer.id == due.offer_id)
                        .values(expires_at=later + timedelta(minutes=self.hold_minutes))
                    )
            self.claims.finish(due.id, PENDING, now, code="quiet_hours", due_at=later)
            return PENDING
        message = OutboundMessage(
            "sms",
            self.vault.decrypt(due.phone_enc),
            reminder_text(self.clinic, due, zone, self.hold_minutes),
            kind=due.kind,
        )
        try:
            self.sender.send(message)
        except RecipientOptedOut:
            self.claims.finish(due.id, CANCELLED, now, code="opted_out")
            return CANCELLED
        except DeliveryFailed as exc:
            return self._failed(due, now, str(exc.code or "error"), exc.retryable)
        except Exception as exc:  # the sender's own bug or outage: retry, then give up
            log.exception("reminder %s: sender raised %s", due.id, type(exc).__name__)
            return self._failed(due, now, type(exc).__name__[:32], True)
        self.claims.finish(due.id, SENT, self.clock())
        return SENT

    def _failed(self, due: Due, now: datetime, code: str, retryable: bool) -> str:
        if retryable and due.attempts < MAX_ATTEMPTS:
            retry = now + RETRY_AFTER * due.attempts
            assert due.start_at is not None  # only for a reminder `_send_one` sent: upcoming
            if retry < due.start_at:
                self.claims.finish(due.id, PENDING, now, code=code, due_at=retry)
                return PENDING
        self.claims.finish(
            due.id, FAILED, now, code=code, audit=f"{due.kind}_failed", patient_id=due.patient_id
        )
        log.warning("reminder %s not delivered (code %s, attempts %d)", due.id, code, due.attempts)
        return FAILED
