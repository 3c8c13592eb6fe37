"""Texts the clinic sends outside a webhook reply, through Twilio's REST API, and their fate.

`TwilioSender.send(OutboundMessage)` is the sender whenever Twilio is configured (the outbox
otherwise; same interface). Before anything it checks the database: nothing is ever sent to a
number that opted out. Then it creates the message with twilio's `Client` (`TWILIO_FROM_NUMBER`
or `TWILIO_MESSAGING_SERVICE_SID`; `TWILIO_API_BASE_URL` points the client at another server, a
local fake in tests) and asks for status callbacks at `PUBLIC_BASE_URL/twilio/status`.

Failures, in Twilio's terms:

- 429 (too many requests), 5xx and failed connections are retried with tenacity: exponential
  backoff with full jitter, a bounded number of attempts and a bounded total time, then
  `DeliveryFailed(retryable=True)`. A read timeout is not retried: Twilio may have queued the
  message, and a second try could text the patient twice.
- 21610 (the recipient replied STOP to the carrier) marks the patient opted out and raises
  `RecipientOptedOut`; never retried.
- 21211 (not a valid phone number) and every other 4xx are recorded and raised as
  `DeliveryFailed(code=...)`; never retried.

Each sent message gets an `sms_messages` row; `record_status` moves it forward with Twilio's
status callbacks and never back. Audit events and log lines carry ids and codes, never the number
or the text (Twilio's error messages can quote the number, so they are not kept).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import requests
from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bot import logfiles
from bot.audit.trail import AuditTrail
from bot.messages import DeliveryFailed, OutboundMessage, RecipientOptedOut
from bot.settings import Settings
from scheduler.crypto import Vault
from scheduler.models import Patient, SmsMessage
from scheduler.patients import find_or_create_patient, find_patient

log = logging.getLogger("scheduler.twilio_sender")

UNSUBSCRIBED = 21610  # "Attempt to send to unsubscribed recipient"
INVALID_TO = 21211  # "Invalid 'To' Phone Number"

# Delivery statuses in the order a message moves through them. A callback may only move a
# message to a higher rank; the final states share the top ranks (delivered above the failures,
# since a delivery receipt is the carrier's last word).
# What the carrier reports when a text it accepted never reached the phone.
UNDELIVERED = frozenset({"failed", "undelivered"})
STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "failed": 4,
    "undelivered": 4,
    "canceled": 4,
    "delivered": 5,
    "read": 6,
}

# Twilio's HTTP client logs each request's URL and headers at INFO; ours keeps it to warnings.
_http_log = logging.getLogger("scheduler.twilio_http")
_http_log.setLevel(logging.WARNING)


class TwilioApiClient(TwilioHttpClient):
    """twilio's own HTTP client, pointed at `base_url` instead of https://*.twilio.com when set."""

    def __init__(self, base_url: str | None = None, *, timeout: float = 10.0):
        super().__init__(timeout=timeout, logger=_http_log)
        self.base = urlsplit(base_url.rstrip("/")) if base_url else None

    def request(self, method, url, *args, **kwargs):
        if self.base is not None:
            parts = urlsplit(url)
            url = urlunsplit(
                (self.base.scheme, self.base.netloc, self.base.path + parts.path, parts.query, "")
            )
        return super().request(method, url, *args, **kwargs)


def _status_of(exc: BaseException) -> int | None:
    return getattr(exc, "status", None) if isinstance(exc, TwilioException) else None


def is_retryable(exc: BaseException) -> bool:
    """Worth trying again: Twilio said "too many" or had a server error, or we never reached it."""
    status = _status_of(exc)
    if status is not None:
        return status == 429 or status >= 500
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return False  # it may have been queued: do not risk a second text
    return isinstance(exc, requests.exceptions.ConnectionError)


class TwilioSender:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        vault: Vault,
        audit: AuditTrail,
        clock: Callable[[], datetime],
        *,
        http_client: TwilioHttpClient | None = None,
        max_attempts: int = 5,
        max_seconds: float = 30.0,
        backoff: float = 0.5,
        backoff_max: float = 8.0,
    ):
        if not settings.twilio_configured:
            raise ValueError(
                "TwilioSender needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
                "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID"
            )
        self.sessions, self.vault, self.audit, self.clock = sessions, vault, audit, clock
        self.client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            http_client=http_client or TwilioApiClient(settings.twilio_api_base_url),
        )
        self.origin = (
            {"messaging_service_sid": settings.twilio_messaging_service_sid}
            if settings.twilio_messaging_service_sid
            else {"from_": settings.twilio_from_number}
        )
        self.status_callback = (
            settings.public_base_url.rstrip("/") + "/twilio/status"
            if settings.public_base_url
            else None
        )
        self.max_attempts, self.max_seconds = max_attempts, max_seconds
        self.backoff, self.backoff_max = backoff, backoff_max

    def send(self, message: OutboundMessage) -> str:
        """Text `message` to its recipient; returns Twilio's MessageSid.

        Raises `RecipientOptedOut` (nothing sent) or `DeliveryFailed`."""
        patient_id = self._subscribed_patient(message)
        params = {"to": message.recipient, "body": message.as_text(), **self.origin}
        if self.status_callback:
            params["status_callback"] = self.status_callback
        retrying = Retrying(
            retry=retry_if_exception(is_retryable),
            wait=wait_random_exponential(multiplier=self.backoff, max=self.backoff_max),
            stop=stop_after_attempt(self.max_attempts) | stop_after_delay(self.max_seconds),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            created = retrying(self.client.messages.create, **params)
        except (TwilioException, requests.exceptions.RequestException) as exc:
            raise self._failed(message, patient_id, exc) from exc
        sid, status = created.sid, (created.status or "queued")
        now = self.clock()
        with self.sessions.begin() as db:
            try:
                with db.begin_nested():
                    db.add(
                        SmsMessage(
                            message_sid=sid,
                            patient_id=patient_id,
                            kind=message.kind,
                            status=status,
                            status_rank=STATUS_RANK.get(status, 0),
                            created_at=now,
                            updated_at=now,
                        )
                    )
            except IntegrityError:
                # Its first status callback was quicker than this insert: keep its status.
                db.execute(
                    update(SmsMessage)
                    .where(SmsMessage.message_sid == sid)
                    .values(patient_id=patient_id, kind=message.kind)
                )
            self.audit.record(
                db,
                "sms_sent",
                at=now,
                channel="sms",
                actor="bot",
                patient_id=patient_id,
                message_id=sid,
                detail={"kind": message.kind},
            )
        logfiles.write(
            "orchestration", "sms_sent", message_sid=sid, patient_id=patient_id, kind=message.kind
        )
        return sid

    def _subscribed_patient(self, message: OutboundMessage) -> int | None:
        """The recipient's patient id; RecipientOptedOut when they opted out."""
        with self.sessions.begin() as db:
            patient = find_patient(db, self.vault, message.recipient)
            if patient is None:
                return None
            if patient.opted_out_at is None:
                return patient.id
            self.audit.record(
                db,
                "sms_suppressed",
                at=self.clock(),
                channel="sms",
                actor="bot",
                patient_id=patient.id,
                detail={"kind": message.kind, "reason": "opted_out"},
            )
        raise RecipientOptedOut("the recipient opted out of texts", code=UNSUBSCRIBED)

    def _failed(
        self, message: OutboundMessage, patient_id: int | None, exc: BaseException
    ) -> DeliveryFailed:
        """Record a send that did not happen; the exception to raise for it."""
        status, code = _status_of(exc), getattr(exc, "code", None)
        retryable = is_retryable(exc)
        now = self.clock()
        with self.sessions.begin() as db:
            if code == UNSUBSCRIBED:
                patient = find_or_create_patient(db, self.vault, message.recipient, now=now)
                patient.opted_out_at = patient.opted_out_at or now
                patient_id = patient.id
            self.audit.record(
                db,
                "sms_failed",
                at=now,
                channel="sms",
                actor="bot",
                patient_id=patient_id,
                detail={
                    "kind": message.kind,
                    "status": status,
                    "code": code,
                    "error": type(exc).__name__,
                    "retryable": retryable,
                },
            )
        log.warning(
            "SMS not sent (patient %s, status %s, code %s, %s)",
            patient_id,
            status,
            code,
            type(exc).__name__,
        )
        if code == UNSUBSCRIBED:
            return RecipientOptedOut("the recipient has unsubscribed (Twilio 21610)", code=code)
        if status is None:
            return DeliveryFailed("could not reach Twilio", retryable=retryable)
        return DeliveryFailed(
            f"Twilio refused the message (HTTP {status}, code {code})",
            code=code,
            retryable=retryable,
        )

    def _log_retry(self, state) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.info(
            "Twilio send attempt %d failed (%s, status %s); retrying",
            state.attempt_number,
            type(exc).__name__,
            _status_of(exc) if exc else None,
        )


def record_status(
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    message_sid: str,
    status: str,
    error_code: int | None,
    audit: AuditTrail | None = None,
) -> bool:
    """Apply one status callback; True when it moved the message forward (or first recorded it).

    One conditional UPDATE (status rank strictly higher), so repeated and late callbacks, in any
    order and in any process, never move a status back. A message the carrier reports as failed
    or undelivered is audited as `sms_failed` once (so staff hear of it, see bot/staff/notices.py)."""
    rank = STATUS_RANK.get(status)
    if rank is None:
        return False  # a status we do not know: keep what we have
    now = clock()
    values = {"status": status, "status_rank": rank, "updated_at": now}
    if error_code is not None:
        values["error_code"] = error_code
    moved = _advance(sessions, message_sid, rank, values)
    if moved is None:
        # A callback before our own record (or for a message sent elsewhere): record it.
        try:
            with sessions.begin() as db:
                db.add(
                    SmsMessage(
                        message_sid=message_sid,
                        patient_id=None,
                        kind=None,
                        created_at=now,
                        **values,
                    )
                )
            moved = True
        except IntegrityError:
            moved = bool(_advance(sessions, message_sid, rank, values))
    if moved and (error_code == UNSUBSCRIBED or (audit and status in UNDELIVERED)):
        with sessions.begin() as db:
            sent = db.execute(
                select(SmsMessage.patient_id, SmsMessage.kind).where(
                    SmsMessage.message_sid == message_sid
                )
            ).first()
            patient_id = sent.patient_id if sent else None
            if error_code == UNSUBSCRIBED:
                patient = db.get(Patient, patient_id) if patient_id else None
                if patient is not None and patient.opted_out_at is None:
                    patient.opted_out_at = now
            if audit is not None and status in UNDELIVERED:
                audit.record(
                    db,
                    "sms_failed",
                    at=now,
                    channel="sms",
                    actor="carrier",
                    patient_id=patient_id,
                    detail={
                        "kind": sent.kind if sent else None,
                        "status": status,
                        "code": error_code,
                        "error": "carrier_report",
                        "retryable": False,
                    },
                )
    return bool(moved)


def _advance(
    sessions: sessionmaker[Session], message_sid: str, rank: int, values: dict
) -> bool | None:
    """True: moved forward; False: already there or further; None: no such message yet."""
    with sessions.begin() as db:
        # `Session.execute` returns a `CursorResult` for an UPDATE (its stubs say `Result`).
        result = cast(
            CursorResult[Any],
            db.execute(
                update(SmsMessage)
                .where(SmsMessage.message_sid == message_sid, SmsMessage.status_rank < rank)
                .values(**values)
            ),
        )
        if result.rowcount:
            return True
        exists = db.scalar(select(SmsMessage.id).where(SmsMessage.message_sid == message_sid))
        return False if exists else None
