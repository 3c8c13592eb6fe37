"""Helpers for the job tests (tests/jobs): a staff desk that books through
SchedulingTools, and a chat as one patient."""

from __future__ import annotations

import itertools
from datetime import date, time

from bot.messages import InboundMessage
from bot.tools import Caller, SchedulingTools
from scheduler.patients import find_or_create_patient
from scheduler.reminders import ReminderPolicy


class Desk:
    """Books as staff, for any patient, through the scheduling tools (with the contract's
    default reminders, 24h and 2h before, unless `policy` says otherwise)."""

    def __init__(self, sessions, clinic, vault, audit, clock, policy=ReminderPolicy()):
        self.sessions, self.clinic, self.vault, self.audit, self.clock = (
            sessions,
            clinic,
            vault,
            audit,
            clock,
        )
        self.policy = policy

    def patient(self, phone, *, scope=None, **fields):
        with self.sessions.begin() as db:
            patient = find_or_create_patient(db, self.vault, phone, now=self.clock.now, scope=scope)
            patient.consented_at = self.clock.now
            for key, value in fields.items():
                setattr(patient, key, value)
            return patient.id

    def tools(self, db):
        return SchedulingTools(
            db,
            self.clinic,
            self.audit,
            Caller(role="staff", channel="slack", staff_id="U1"),
            self.clock.now,
            policy=self.policy,
        )

    def slot(self, day: date, at: time, type_key="checkup", provider="okafor"):
        with self.sessions() as db:
            slots = self.tools(db).find_slots(
                type_key, start_date=day, end_date=day, provider_key=provider, around=at, limit=1
            )
        assert slots and slots[0].start.astimezone(self.clinic.zone).time() == at, slots
        return slots[0]

    def book(self, patient_id, day, at, **kw):
        slot = self.slot(day, at, **kw)
        with self.sessions.begin() as db:
            return self.tools(db).book_appointment(slot, patient_id=patient_id).id


class Chat:
    def __init__(self, engine, clock, sender, channel="sms"):
        self.engine, self.clock, self.sender, self.channel = engine, clock, sender, channel
        self._ids = itertools.count(1)

    def text(self, text):
        message = InboundMessage(
            self.channel, self.sender, text, f"{self.sender}-{next(self._ids)}", self.clock.now
        )
        return "\n".join(r.as_text() for r in self.engine.handle(message))
