"""Sending the EHR notification queue: FHIR R4 rest-hook notifications, signed, in order.

The rows (scheduler/models/ehr.py) are queued by bot/ehr_notices.py in each change's own
transaction. `EhrWebhook.run` is a loop of short transactions, as the reminders' sender is
(jobs/reminders/claims.py):

1. claim, in one transaction: pending rows due (`next_attempt_at <= now`), or rows "sending" whose
   lease ran out, that have no earlier undelivered row of the same appointment (so a later change
   is never sent before an earlier one is delivered, whatever the number of workers), oldest
   first, `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite's BEGIN IMMEDIATE serializes the claim),
   then marked "sending" under this worker's lease;
2. each claimed row is POSTed to EHR_WEBHOOK_URL (`requests`, one keep-alive session) as a Bundle
   of type `history` in the FHIR Subscriptions R4 Backport's shape: first a `Parameters`
   notification status (subscription, topic, `event-notification`, the event number = the row's
   id), then the Appointment as it was after the change. Headers: `Content-Type:
   application/fhir+json`, `X-Notification-Id` (the event number, for the receiver to ignore a
   repeat), `X-Signature-Timestamp` (Unix seconds) and `X-Signature: sha256=<hex>`, the
   HMAC-SHA256 under EHR_WEBHOOK_SECRET of `<timestamp>.<body>`;
3. a 2xx answer marks it delivered (`WHERE lease_owner = me`). Anything else (another status, a
   time-out, a refused connection) puts it back as pending for `backoff(attempts)` later: 30 s,
   1, 2, 4 ... minutes, at most 30; after a day of attempts it is marked failed (audited
   `ehr_notification_failed`), shown to admins, and resent only by one of them
   (bot/ehr_notices.py `resend`). The changes of its appointment after it wait behind it.

Nothing is lost while the EHR is down: rows wait in the database. The one window for a repeat is a
crash after the EHR answered 2xx and before "delivered" committed: the row is sent again once its
lease runs out, with the same `X-Notification-Id` and event number.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import requests
from sqlalchemy import exists, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.audit.trail import AuditTrail
from scheduler.crypto import Vault
from scheduler.fhir.exporter import full_url
from scheduler.models import (
    EHR_DELIVERED,
    EHR_FAILED,
    EHR_PENDING,
    EHR_SENDING,
    EhrNotification,
)

from .leases import lease_due
from .reminders.sender import worker_name

log = logging.getLogger("scheduler.jobs.ehr")

SUBSCRIPTION = "Subscription/ehr-webhook"
TOPIC = "urn:clinic-scheduler:SubscriptionTopic/appointment-change"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
FAIL_AFTER = timedelta(days=1)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(minutes=30)
SIGNATURE = "X-Signature"
TIMESTAMP = "X-Signature-Timestamp"
NOTIFICATION_ID = "X-Notification-Id"


def backoff(attempts: int) -> timedelta:
    """How long after its `attempts`-th failed attempt a notification is tried again."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Signature` header: HMAC-SHA256 of `<timestamp>.<body>` under the secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def notification_bundle(
    row: EhrNotification, appointment: dict[str, Any], *, now: datetime, base_url: str | None
) -> dict[str, Any]:
    """The rest-hook notification of one change (Subscriptions R4 Backport, `history` Bundle)."""
    number = str(row.id)
    created = row.created_at.astimezone(UTC).isoformat()
    status = {
        "resourceType": "Parameters",
        "id": f"notification-{number}",
        "meta": {"profile": [BACKPORT + "backport-subscription-status-r4"]},
        "parameter": [
            {"name": "subscription", "valueReference": {"reference": SUBSCRIPTION}},
            {"name": "topic", "valueCanonical": TOPIC},
            {"name": "status", "valueCode": "active"},
            {"name": "type", "valueCode": "event-notification"},
            {"name": "events-since-subscription-start", "valueString": number},
            {
                "name": "notification-event",
                "part": [
                    {"name": "event-number", "valueString": number},
                    {"name": "timestamp", "valueInstant": created},
                    {
                        "name": "focus",
                        "valueReference": {"reference": f"Appointment/{appointment['id']}"},
                    },
                ],
            },
        ],
    }
    first = row.event == "booked"
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [BACKPORT + "backport-subscription-notification-r4"]},
        "type": "history",
        "timestamp": now.astimezone(UTC).replace(microsecond=0).isoformat(),
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": status,
                "request": {"method": "GET", "url": f"{SUBSCRIPTION}/$status"},
                "response": {"status": "200"},
            },
            {
                "fullUrl": full_url(base_url, appointment),
                "resource": appointment,
                "request": {
                    "method": "POST" if first else "PUT",
                    "url": "Appointment" if first else f"Appointment/{appointment['id']}",
                },
                "response": {"status": "201" if first else "200", "lastModified": created},
            },
        ],
    }


@dataclass
class WebhookResult:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    delivered_ids: list[int] = field(default_factory=list)


class EhrWebhook:
    """One worker's sender of the queue (`owner`'s leases of `lease`, `batch` rows a claim)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        vault: Vault,
        audit: AuditTrail,
        *,
        url: str,
        secret: str,
        clock: Callable[[], datetime],
        owner: str | None = None,
        base_url: str | None = None,
        lease: timedelta = timedelta(minutes=2),
        batch: int = 200,
        timeout: float = 10.0,
        http: requests.Session | None = None,
    ):
        self.sessions, self.vault, self.audit, self.clock = sessions, vault, audit, clock
        self.url, self.secret, self.base_url = url, secret, base_url
        self.owner = owner or worker_name()
        self.lease, self.batch, self.timeout = lease, batch, timeout
        self.http = http or requests.Session()
        self.postgres = sessions.kw["bind"].dialect.name == "postgresql"

    def run(self, *, max_batches: int | None = None) -> WebhookResult:
        """Everything due now, claim after claim (each claim takes the head of each
        appointment's queue, so a burst of changes to one appointment drains over claims)."""
        result = WebhookResult()
        batches = 0
        while max_batches is None or batches < max_batches:
            rows = self.claim(self.clock())
            if not rows:
                break
            batches += 1
            result.claimed += len(rows)
            claimed_at = self.clock()
            for position, row in enumerate(rows):
                if self.clock() - claimed_at > self.lease / 2:
                    claimed_at = self.clock()
                    self._renew(rows[position:], claimed_at)
                if not self._send(row, result):
                    # The EHR is failing: the rest of the batch waits for a later try instead of
                    # a time-out each now (and their attempt is not counted).
                    self._release(rows[position + 1 :])
                    break
            if result.retrying or result.failed:
                break
        if result.claimed:
            log.info(
                "ehr: claimed %d, delivered %d, retrying %d, failed %d (worker %s)",
                result.claimed,
                result.delivered,
                result.retrying,
                result.failed,
                self.owner,
            )
        return result

    # --- the claim ---------------------------------------------------------------------------------

    def claim(self, now: datetime) -> list[EhrNotification]:
        earlier = aliased(EhrNotification)
        blocked = exists().where(
            earlier.appointment_id == EhrNotification.appointment_id,
            earlier.id < EhrNotification.id,
            earlier.status != EHR_DELIVERED,
        )
        with self.sessions.begin() as db:
            claimed = lease_due(
                db,
                EhrNotification,
                [
                    (EhrNotification.status == EHR_PENDING)
                    & (EhrNotification.next_attempt_at <= now)
                    & ~blocked,
                    (EhrNotification.status == EHR_SENDING)
                    & (EhrNotification.lease_until < now)
                    & ~blocked,
                ],
                order_by=EhrNotification.id,
                limit=self.batch,
                postgres=self.postgres,
                values={
                    "status": EHR_SENDING,
                    "lease_owner": self.owner,
                    "lease_until": now + self.lease,
                    "attempts": EhrNotification.attempts + 1,
                    "last_attempt_at": now,
                },
            )
            rows = (
                db.scalars(
                    select(EhrNotification)
                    .where(EhrNotification.id.in_(claimed))
                    .order_by(EhrNotification.id)
                ).all()
                if claimed
                else []
            )
            db.expunge_all()
        return list(rows)

    def _renew(self, rows: list[EhrNotification], now: datetime) -> None:
        with self.sessions.begin() as db:
            db.execute(
                update(EhrNotification)
                .where(
                    EhrNotification.id.in_([r.id for r in rows]),
                    EhrNotification.lease_owner == self.owner,
                )
                .values(lease_until=now + self.lease)
                .execution_options(synchronize_session=False)
            )

    def _release(self, rows: list[EhrNotification]) -> None:
        """Give back claimed rows not tried: pending again soon, their attempt not counted."""
        if not rows:
            return
        with self.sessions.begin() as db:
            db.execute(
                update(EhrNotification)
                .where(
                    EhrNotification.id.in_([r.id for r in rows]),
                    EhrNotification.lease_owner == self.owner,
                )
                .values(
                    status=EHR_PENDING,
                    lease_owner=None,
                    lease_until=None,
                    attempts=EhrNotification.attempts - 1,
                    next_attempt_at=self.clock() + FIRST_RETRY,
                )
                .execution_options(synchronize_session=False)
            )

    # --- one notification ---------------------------------------------------------------------------

    def body(self, row: EhrNotification, now: datetime) -> bytes:
        appointment = json.loads(self.vault.decrypt(row.payload_enc))
        bundle = notification_bundle(row, appointment, now=now, base_url=self.base_url)
        return json.dumps(bundle, separators=(",", ":"), ensure_ascii=False).encode()

    def _send(self, row: EhrNotification, result: WebhookResult) -> bool:
        """POST one notification and record the outcome; whether the EHR took it."""
        now = self.clock()
        first = row.first_attempt_at or now
        body = self.body(row, now)
        stamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/fhir+json",
            NOTIFICATION_ID: str(row.id),
            TIMESTAMP: stamp,
            SIGNATURE: signature(self.secret, stamp, body),
        }
        error = None
        try:
            answer = self.http.post(self.url, data=body, headers=headers, timeout=self.timeout)
            answer.close()
            if not 200 <= answer.status_code < 300:
                error = f"http_{answer.status_code}"
        except requests.Timeout:
            error = "timeout"
        except requests.RequestException as exc:
            error = "connection" if isinstance(exc, requests.ConnectionError) else "request"
        if error is None:
            if self._finish(row, status=EHR_DELIVERED, delivered_at=self.clock(), last_error=None):
                result.delivered += 1
                result.delivered_ids.append(row.id)
            return True
        now = self.clock()
        if now - first >= FAIL_AFTER:
            if self._finish(
                row,
                status=EHR_FAILED,
                failed_at=now,
                first_attempt_at=first,
                last_error=error,
                audit=True,
            ):
                result.failed += 1
            log.warning("ehr notification %s failed for a day (%s)", row.id, error)
            return False
        self._finish(
            row,
            status=EHR_PENDING,
            next_attempt_at=now + backoff(row.attempts),
            first_attempt_at=first,
            last_error=error,
        )
        result.retrying += 1
        return False

    def _finish(self, row: EhrNotification, *, audit: bool = False, **values: Any) -> bool:
        """Record an outcome while the row is still ours (its lease not taken by another)."""
        with self.sessions.begin() as db:
            # `Session.execute` returns a `CursorResult` for an UPDATE (its stubs say `Result`).
            done = cast(
                CursorResult[Any],
                db.execute(
                    update(EhrNotification)
                    .where(EhrNotification.id == row.id, EhrNotification.lease_owner == self.owner)
                    .values(lease_owner=None, lease_until=None, **values)
                    .execution_options(synchronize_session=False)
                ),
            ).rowcount
            if done and audit:
                self.audit.record(
                    db,
                    "ehr_notification_failed",
                    at=self.clock(),
                    actor="system",
                    appointment_id=row.appointment_id,
                    detail={"notification": row.id, "error": values.get("last_error")},
                )
        if not done:
            log.warning("ehr notification %s: lease lost before it was recorded", row.id)
        return bool(done)
