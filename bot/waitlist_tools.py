"""The waitlist's scheduling tools: joining, leaving, and staff's override of an entry's level.

Part of `SchedulingTools` (bot/tools.py, which holds the caller's checks and the audit these use):
a patient joins and leaves only for themself, at the level triage heard in their conversation
(`Caller.urgency`); staff act for anyone and may set any level, up or down, with a reason
(`set_urgency`, audited as "urgency_changed" with who, from, to and why, the reason encrypted like
every audited text).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from scheduler import waitlist
from scheduler.clinic import Clinic
from scheduler.errors import NotAllowed, NotFound, SchedulingError
from scheduler.models import WaitlistEntry

if TYPE_CHECKING:  # bot/tools.py imports this module
    from bot.tools import Caller

# The longest reason staff may give for changing an urgency (`set_urgency`).
MAX_REASON = 300


class WaitlistTools:
    """The waitlist's part of `SchedulingTools`, which sets these and defines the checks."""

    db: Session
    clinic: Clinic
    caller: Caller
    now: datetime

    if TYPE_CHECKING:  # SchedulingTools' own (bot/tools.py)

        def _patient_for(self, patient_id: int | None) -> int: ...
        def _scope(self) -> int | None: ...
        def _no_emergency(self) -> None: ...
        def _refused(
            self, action: str, error: SchedulingError, *, patient_id: int | None = None
        ) -> None: ...
        def _audit(
            self,
            kind: str,
            *,
            patient_id: int | None = None,
            appointment_id: int | None = None,
            text_: str | None = None,
            **detail: object,
        ) -> None: ...

    def join_waitlist(
        self,
        type_key: str,
        *,
        patient_id: int | None = None,
        provider_key: str | None = None,
        earliest: date | None = None,
        latest: date | None = None,
        priority: str = "routine",
    ):
        """Put a patient on the waitlist (a patient for themself; staff for anyone). Staff set
        the priority; a patient's is the level triage heard in their conversation
        (`Caller.urgency`, else routine), whatever the request says. Returns (entry, created)."""
        if self.caller.role == "patient":
            priority = self.caller.urgency or "routine"
        try:
            self._no_emergency()
            target = self._patient_for(patient_id)
            entry, created = waitlist.join(
                self.db,
                self.clinic,
                patient_id=target,
                type_key=type_key,
                provider_key=provider_key,
                earliest=earliest,
                latest=latest,
                priority=priority,
                now=self.now,
                created_by=self.caller.actor,
            )
        except SchedulingError as error:
            self._refused("waitlist", error, patient_id=patient_id)
            raise
        if created:
            self._audit(
                "waitlist_joined",
                patient_id=target,
                type=type_key,
                provider=provider_key,
                priority=priority,
                triage=self.caller.urgency if self.caller.role == "patient" else None,
                earliest=earliest.isoformat() if earliest else None,
                latest=latest.isoformat() if latest else None,
            )
        return entry, created

    def leave_waitlist(self, entry_id: int) -> WaitlistEntry:
        """Take an entry off the waitlist: staff for anyone, a patient only their own."""
        try:
            entry = self.db.get(WaitlistEntry, entry_id)
            if entry is None or (self._scope() is not None and entry.patient_id != self._scope()):
                raise NotFound("no such waitlist entry")
            entry = waitlist.leave(self.db, self.clinic, entry_id, now=self.now)
        except SchedulingError as error:
            self._refused("leave_waitlist", error)
            raise
        self._audit(
            "waitlist_left", patient_id=entry.patient_id, entry=entry.id, type=entry.type_key
        )
        return entry

    def set_urgency(self, entry_id: int, level: str, reason: str) -> WaitlistEntry:
        """Staff's override of a waiting entry's level (urgent, soon or routine; up or down),
        audited as "urgency_changed" with who, from, to and why (the reason, encrypted like every
        audited text). NotAllowed for a patient; SchedulingError for an empty reason or an unknown
        level; NotFound for no such entry. Nothing changes on any of these."""
        try:
            if self.caller.role == "patient":
                raise NotAllowed("only the clinic team changes a waitlist entry's urgency")
            reason = " ".join(reason.split())
            if not reason or len(reason) > MAX_REASON:
                raise SchedulingError(
                    f"say why the urgency changes, in at most {MAX_REASON} characters",
                    code="reason_required",
                )
            entry = self.db.get(WaitlistEntry, entry_id)
            previous = entry.priority if entry is not None else None
            entry = waitlist.set_priority(self.db, entry_id, level, now=self.now)
        except SchedulingError as error:
            self._refused("set_urgency", error)
            raise
        self._audit(
            "urgency_changed",
            patient_id=entry.patient_id,
            appointment_id=None,
            text_=reason,
            entry=entry.id,
            **{"from": previous},
            to=entry.priority,
            by=self.caller.actor,
        )
        return entry
