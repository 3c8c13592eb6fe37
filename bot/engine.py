"""The conversation engine: one entry point, `handle(InboundMessage) -> list[OutboundMessage]`.

For every channel it does the same things in one transaction: audit the inbound message, run
red-flag triage before anything else, find or create the patient, load the session, let the
dialogue decide, save the session, audit each reply. Whatever goes wrong inside, the person gets a
polite sentence with a next step and the operator a log line with an error id; nothing half-done
is committed.
"""
from __future__ import annotations

import logging
import time as timer
import uuid
from datetime import datetime
from typing import Callable

from sqlalchemy.orm import Session, sessionmaker

from scheduler.clinic import Clinic
from scheduler.crypto import Vault
from scheduler.patients import find_or_create_patient

from . import dialogue, logfiles, replies, triage
from .audit import AuditTrail
from .messages import InboundMessage, OutboundMessage
from .nlu import Vocabulary, understand
from .sessions import SessionStore
from .tools import Caller, SchedulingTools

log = logging.getLogger("scheduler.engine")

# What the engine reads of one message: enough for any real request, bounded for abuse.
MAX_TEXT = 1000


class ConversationEngine:
    def __init__(self, *, sessions: sessionmaker[Session], clinic: Clinic, vault: Vault,
                 audit: AuditTrail, store: SessionStore, clock: Callable[[], datetime]):
        self.sessions, self.clinic, self.vault = sessions, clinic, vault
        self.audit, self.store, self.clock = audit, store, clock
        self.vocabulary = Vocabulary.from_clinic(clinic)

    def handle(self, message: InboundMessage) -> list[OutboundMessage]:
        started = timer.perf_counter()
        try:
            with self.sessions.begin() as db:
                replies_ = self._handle(db, message)
        except Exception:
            error_id = uuid.uuid4().hex[:12]
            log.exception("turn failed (error id %s, channel %s)", error_id, message.channel)
            replies_ = [dialogue.Reply(replies.internal_error(self.clinic), kind="error")]
            self._record_failure(message, error_id)
        logfiles.write("performance", "turn", channel=message.channel, engine="local",
                       ms=round((timer.perf_counter() - started) * 1000, 3),
                       replies=len(replies_))
        return [OutboundMessage(message.channel, message.sender, r.text, r.options, r.kind)
                for r in replies_]

    def _handle(self, db: Session, message: InboundMessage) -> list[dialogue.Reply]:
        now = self.clock()
        text = " ".join((message.text or "")[:MAX_TEXT].split())
        if message.role != "patient":
            # Staff scheduling arrives with the Slack issue; until then staff get a pointer.
            self.audit.record(db, "request_refused", at=now, channel=message.channel,
                              actor=f"{message.role}:{message.sender}",
                              message_id=message.message_id, detail={"action": "staff_turn"})
            return [dialogue.Reply(replies.staff_only())]
        patient = find_or_create_patient(db, self.vault, message.sender, now=now)
        self.audit.record(db, "message_in", at=now, channel=message.channel,
                          actor=f"patient:{patient.id}", patient_id=patient.id,
                          message_id=message.message_id,
                          detail={"chars": len(message.text or "")}, text_=text)

        flag = triage.red_flag(text)
        if flag is not None:
            self.audit.record(db, "red_flag", at=now, channel=message.channel,
                              actor=f"patient:{patient.id}", patient_id=patient.id,
                              message_id=message.message_id, detail={"category": flag})
            self.store.end(db, message.channel, message.sender)
            out = [dialogue.Reply(replies.emergency(self.clinic), kind="emergency")]
        elif not text:
            out = [dialogue.Reply(replies.empty_message())]
        else:
            out = self._converse(db, message, text, patient, now)

        for reply in out:
            self.audit.record(db, "message_out", at=now, channel=message.channel,
                              actor="bot", patient_id=patient.id,
                              message_id=message.message_id, detail={"kind": reply.kind},
                              text_=reply.text)
        return out

    def _converse(self, db: Session, message: InboundMessage, text: str, patient,
                  now: datetime) -> list[dialogue.Reply]:
        understanding = understand(text, now.astimezone(self.clinic.zone), self.vocabulary)
        if understanding.intent == "stop":
            patient.opted_out_at = now
            self.store.end(db, message.channel, message.sender)
            return [dialogue.Reply(replies.opted_out(self.clinic))]
        if understanding.intent == "start":
            patient.opted_out_at = None
            return [dialogue.Reply(replies.opted_in(self.clinic))]

        caller = Caller(role="patient", channel=message.channel, patient_id=patient.id)
        tools = SchedulingTools(db, self.clinic, self.audit, caller, now)
        turn = dialogue.Turn(text=text, understanding=understanding, patient=patient,
                             tools=tools, clinic=self.clinic, vault=self.vault, now=now)
        state = self.store.load(db, message.channel, message.sender, now=now)
        new_state = dialogue.respond(turn, state)
        if new_state:
            self.store.save(db, message.channel, message.sender, new_state, now=now)
        elif state:
            self.store.end(db, message.channel, message.sender)
        return turn.replies

    def _record_failure(self, message: InboundMessage, error_id: str) -> None:
        """Leave a trace of the failed turn, without its text, in a transaction of its own."""
        try:
            with self.sessions.begin() as db:
                self.audit.record(db, "turn_failed", at=self.clock(), channel=message.channel,
                                  message_id=message.message_id, detail={"error_id": error_id})
        except Exception:
            log.exception("could not audit failed turn (error id %s)", error_id)
