"""Notices for the clinic team: what patients did, told to the staff channel once it is committed.

The team hears about bookings, moves and cancellations made by patients (SMS, web chat), about
emergency red flags a patient raised, about patients whose waitlist entry triage ranked urgent
(someone may want to find them a slot before one frees up), and about texts that could not be
delivered. A notice
carries ids, times and codes only: never message text, a name or a phone number, and for a red
flag not even its category, since a staff channel is read by many.

`StaffNotifier.watch(audit)` hears every audit event as it is appended (each of these already is
one, in the same transaction as the change), keeps the notices on the database session, and only
when that transaction commits hands them to a background thread that posts them. A rolled-back
turn tells nobody, and a slow or failing Slack never delays or breaks a patient's reply. A
savepoint released inside the transaction posts nothing yet, and one rolled back drops the
notices queued inside it, and only those (bot/transactions.py). The methods `booked`,
`cancelled`, `red_flag` and `undelivered` queue a notice directly, for code that has no audit
event to hang it on.

Without a poster (Slack not configured, or no SLACK_STAFF_CHANNEL) the notifier does nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.audit.trail import AuditTrail
from bot.transactions import hold_until_commit
from scheduler.models import Appointment, Patient

log = logging.getLogger("scheduler.notices")

_PENDING = "staff_notices"


@dataclass(frozen=True)
class StaffNotice:
    # "booked", "rescheduled", "cancelled", "red_flag", "red_flag_unanswered" (the patient opted
    # out of texts: nobody answered them), "urgent_waitlist", "undelivered"
    kind: str
    at: datetime  # when it happened (aware UTC)
    channel: str | None = None  # where the patient was: "sms", "web", ...
    patient_id: int | None = None
    appointment_id: int | None = None
    start: datetime | None = None  # the appointment's (new) time
    provider: str | None = None  # provider key
    message_kind: str | None = None  # undelivered: "reply", "reminder", ...
    code: int | None = None  # undelivered: the provider's error code, if it gave one
    appointment_type: str | None = None  # urgent_waitlist: the type's key
    language: str | None = None  # the patient's, when known ("es"): staff may need it


Post = Callable[[StaffNotice], None]

_APPOINTMENT_KINDS = {
    "appointment_booked": "booked",
    "appointment_rescheduled": "rescheduled",
    "appointment_cancelled": "cancelled",
}


class StaffNotifier:
    def __init__(self, post: Post | None = None, *, workers: int = 1):
        self.post = post
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.post is not None

    def watch(self, audit: AuditTrail) -> None:
        """Turn the audit events that matter to the team into notices."""
        if self.enabled:
            audit.observers.append(self._observe)

    # --- what the team is told -----------------------------------------------------------------

    def booked(self, session: Session, **fields: Any) -> None:
        self.queue(session, StaffNotice("booked", **fields))

    def cancelled(self, session: Session, **fields: Any) -> None:
        self.queue(session, StaffNotice("cancelled", **fields))

    def red_flag(self, session: Session, **fields: Any) -> None:
        self.queue(session, StaffNotice("red_flag", **fields))

    def undelivered(self, session: Session, **fields: Any) -> None:
        self.queue(session, StaffNotice("undelivered", **fields))

    def queue(self, session: Session, notice: StaffNotice) -> None:
        """Post `notice` when `session`'s outermost transaction commits (never, if it or the
        savepoint `notice` was queued in rolls back)."""
        if self.enabled:
            session.info.setdefault(_PENDING, []).append((self, notice))

    def _observe(self, session: Session, event_: dict[str, Any]) -> None:
        kind, actor = event_["kind"], event_.get("actor") or ""
        detail = event_.get("detail") or {}
        patient_id = event_.get("patient_id")
        common = dict(
            at=event_["at"],
            channel=event_.get("channel"),
            patient_id=patient_id,
            language=_language_of(session, patient_id),
        )
        if kind in _APPOINTMENT_KINDS and actor.startswith("patient:"):
            start = _instant(detail.get("start"))
            if start is None:  # a cancellation names no time: the appointment has it
                appointment = session.get(Appointment, event_.get("appointment_id"))
                start = appointment.start_at if appointment is not None else None
            self.queue(
                session,
                StaffNotice(
                    _APPOINTMENT_KINDS[kind],
                    **common,
                    appointment_id=event_.get("appointment_id"),
                    start=start,
                    provider=detail.get("provider"),
                ),
            )
        elif kind == "red_flag":
            # Unanswered: the number opted out of texts, so only a call can reach them.
            self.queue(
                session,
                StaffNotice(
                    "red_flag" if detail.get("answered", True) else "red_flag_unanswered", **common
                ),
            )
        elif kind == "waitlist_joined" and detail.get("triage") and actor.startswith("patient:"):
            # Like a red flag, the symptom's category stays out of a channel read by many.
            self.queue(
                session,
                StaffNotice("urgent_waitlist", **common, appointment_type=detail.get("type")),
            )
        elif kind == "sms_failed":
            code = detail.get("code")
            self.queue(
                session,
                StaffNotice(
                    "undelivered",
                    **common,
                    message_kind=detail.get("kind"),
                    code=code if isinstance(code, int) else None,
                ),
            )

    # --- after commit ----------------------------------------------------------------------------

    def _send(self, notice: StaffNotice) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self._workers, thread_name_prefix="staff-notice"
                )
            pool = self._pool
        pool.submit(self._post_safely, notice)

    def _post_safely(self, notice: StaffNotice) -> None:
        try:
            assert self.post is not None  # set once; notices are queued only when it is set
            self.post(notice)
        except Exception as exc:  # the team misses one notice; nothing else may fail for it
            log.warning(
                "staff notice not posted (%s, patient %s, appointment %s): %s",
                notice.kind,
                notice.patient_id,
                notice.appointment_id,
                type(exc).__name__,
            )

    def drain(self) -> None:
        """Wait for the notices handed over so far (tests, and a clean shutdown)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


def _language_of(session: Session, patient_id: Any) -> str | None:
    """The patient's language (from the session's identity map in a turn: no query)."""
    if not isinstance(patient_id, int):
        return None
    patient = session.get(Patient, patient_id)
    return patient.language if patient is not None else None


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _post_committed(session: Session, queued: list[tuple[StaffNotifier, StaffNotice]]) -> None:
    for notifier, notice in queued:
        notifier._send(notice)


# Posted when the outermost transaction commits, not when a savepoint is released; a savepoint
# that rolls back drops the notices queued inside it, a rolled-back transaction drops them all.
hold_until_commit(_PENDING, committed=_post_committed)
