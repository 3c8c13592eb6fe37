"""One patient's records (scheduler/records.py): the export holds everything about them and
nothing of anyone else; the erasure removes their personal data and keeps their appointments
and an audit chain that still verifies.

Two patients text the clinic through the real conversation engine (console), so the audit trail,
the conversation state and the appointments are what a real exchange leaves; the outbox, stored
replies and SMS statuses are written the way their channels write them.
"""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from adapters.outbox import Outbox
from bot.audit.trail import AuditTrail
from bot.engine.conversation import ConversationEngine
from bot.messages import InboundMessage, OutboundMessage
from bot.receipts import StoredReceipt
from bot.sessions import SessionStore
from scheduler.models import (
    Appointment,
    AuditEvent,
    ConversationSession,
    MessageReceipt,
    OutboxMessage,
    Patient,
    SmsMessage,
)
from scheduler.patients import find_patient
from scheduler.records import erase_patient, export_patient
from tests.clock import Clock

ME = "+12125550123"
THEM = "+12125550188"


@pytest.fixture
def audit(vault):
    return AuditTrail(vault)


@pytest.fixture
def clinic_records(sessions, vault, demo_clinic, now, audit):
    """Two patients' exchanges with the clinic: each booked a visit (mine also one for my son),
    is halfway through another booking, got a text from the outbox, and has a stored SMS and web
    chat reply and an SMS delivery status."""
    clock = Clock(now)
    engine = ConversationEngine(
        sessions=sessions,
        clinic=demo_clinic,
        vault=vault,
        audit=audit,
        store=SessionStore(vault, timedelta(minutes=30)),
        clock=clock,
    )
    ids = itertools.count(1)

    def say(phone, text):
        message = InboundMessage("console", phone, text, f"m{next(ids)}", clock.now)
        return "\n".join(r.as_text() for r in engine.handle(message))

    assert "1." in say(ME, "Hi, my name is Lee Example. I need a checkup tomorrow")
    assert "You're booked" in say(ME, "1")
    say(ME, "book a checkup on friday for my son")
    assert "For Sam Example" in say(ME, "Sam Example")
    assert "You're booked" in say(ME, "1")
    say(ME, "I also need a vaccination")  # left open: a session
    assert "1." in say(THEM, "Hi, my name is Ann Other. A checkup tomorrow please")
    assert "You're booked" in say(THEM, "2")
    say(THEM, "book a vaccination")

    outbox = Outbox(sessions, vault, clock)
    for phone, words in ((ME, "Lee's reminder"), (THEM, "Ann's reminder")):
        outbox.send(OutboundMessage("sms", phone, words, kind="reminder"))
    with sessions.begin() as db:
        for n, phone in enumerate((ME, THEM)):
            patient = find_patient(db, vault, phone)
            for channel in ("sms", "web"):
                inbound = InboundMessage(channel, phone, "hello", f"SM{channel}{n}", now)
                assert StoredReceipt(
                    channel, inbound, vault, clock, render=str, route=lambda: "twiml"
                ).claim(db)
            db.add(
                SmsMessage(
                    message_sid=f"SMstatus{n}",
                    patient_id=patient.id,
                    kind="reminder",
                    status="delivered",
                    created_at=now,
                    updated_at=now,
                )
            )
    return engine


def _patient(sessions, vault, phone):
    with sessions() as db:
        return find_patient(db, vault, phone)


def _export(sessions, vault, audit, phone):
    with sessions() as db:
        return export_patient(db, vault, find_patient(db, vault, phone), audit=audit)


def _erase(sessions, vault, audit, now, phone=ME):
    with sessions.begin() as db:
        return erase_patient(db, vault, find_patient(db, vault, phone), phone, now=now, audit=audit)


# --- export ------------------------------------------------------------------------------------


def test_the_export_holds_the_patients_details(clinic_records, sessions, vault, audit):
    export = _export(sessions, vault, audit, ME)
    assert export["patient"]["name"] == "Lee Example"
    assert export["patient"]["phone"] == ME
    assert export["patient"]["id"] == _patient(sessions, vault, ME).id


def test_the_export_holds_their_appointments_and_whom_each_is_for(
    clinic_records, sessions, vault, audit
):
    appointments = _export(sessions, vault, audit, ME)["appointments"]
    assert [(a["type"], a["provider"], a["for"], a["status"]) for a in appointments] == [
        ("General check-up", "Dr. Amara Okafor", None, "booked"),
        ("General check-up", "Dr. Amara Okafor", "Sam Example", "booked"),
    ]
    assert appointments[0]["start_at"].startswith("2026-03-05")
    assert appointments[1]["start_at"].startswith("2026-03-06")


def test_the_export_holds_the_texts_they_sent_and_were_sent(clinic_records, sessions, vault, audit):
    export = _export(sessions, vault, audit, ME)
    assert [m["text"] for m in export["messages_sent"]] == ["Lee's reminder"]
    said = [e["text"] for e in export["audit_events"] if e["kind"] == "message_in"]
    assert said[:2] == ["Hi, my name is Lee Example. I need a checkup tomorrow", "1"]
    assert "Sam Example" in said
    answered = [e["text"] for e in export["audit_events"] if e["kind"] == "message_out"]
    assert any(text.startswith("You're booked") for text in answered)


def test_the_export_holds_nothing_of_another_patient(clinic_records, sessions, vault, audit):
    theirs = _patient(sessions, vault, THEM)
    everything = json.dumps(_export(sessions, vault, audit, ME))
    for trace in ("Ann", "Other", THEM, "Ann's reminder", "A checkup tomorrow please"):
        assert trace not in everything
    with sessions() as db:
        their_appointment = db.scalars(
            select(Appointment.id).where(Appointment.patient_id == theirs.id)
        ).one()
    assert their_appointment not in [a["id"] for a in json.loads(everything)["appointments"]]


# --- erasure -----------------------------------------------------------------------------------


def test_erasure_removes_the_name_and_phone_number(clinic_records, sessions, vault, audit, now):
    patient_id = _patient(sessions, vault, ME).id
    _erase(sessions, vault, audit, now)
    with sessions() as db:
        erased = db.get(Patient, patient_id)
        assert (erased.name_enc, erased.phone_enc, erased.phone_index) == (None, None, None)
        assert erased.erased_at == now
        assert find_patient(db, vault, ME) is None


def test_erasure_keeps_the_appointments_without_whom_they_were_for(
    clinic_records, sessions, vault, audit, now
):
    patient_id = _patient(sessions, vault, ME).id
    erasure = _erase(sessions, vault, audit, now)
    assert erasure.appointments_kept == 2
    with sessions() as db:
        kept = db.scalars(select(Appointment).where(Appointment.patient_id == patient_id)).all()
        assert len(kept) == 2 and all(a.attendee_enc is None for a in kept)
        assert all(a.status.value == "booked" for a in kept)


def test_erasure_ends_sessions_and_deletes_outbox_receipts_and_sms_statuses(
    clinic_records, sessions, vault, audit, now
):
    theirs = _patient(sessions, vault, THEM).id
    erasure = _erase(sessions, vault, audit, now)
    assert (erasure.sessions, erasure.outbox_messages, erasure.receipts, erasure.sms_statuses) == (
        1,
        1,
        2,
        1,
    )
    with sessions() as db:  # what is left is the other patient's
        assert db.scalar(select(func.count()).select_from(ConversationSession)) == 1
        store = SessionStore(vault, timedelta(minutes=30))
        assert store.load(db, "console", ME, now=now) == {}
        assert store.load(db, "console", THEM, now=now)["step"] == "ask_day"
        assert [vault.decrypt(m.text_enc) for m in db.scalars(select(OutboxMessage))] == [
            "Ann's reminder"
        ]
        assert [r.sender_index for r in db.scalars(select(MessageReceipt))] == [
            vault.index(THEM)
        ] * 2
        assert db.scalars(select(SmsMessage.patient_id)).all() == [theirs]


def test_erasure_removes_the_patients_audit_texts_and_the_chain_still_verifies(
    clinic_records, sessions, vault, audit, now
):
    patient_id = _patient(sessions, vault, ME).id
    with sessions() as db:
        events_before = db.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.patient_id == patient_id)
        )
    erasure = _erase(sessions, vault, audit, now)
    assert erasure.audit_texts > 0
    with sessions() as db:
        mine = db.scalars(select(AuditEvent).where(AuditEvent.patient_id == patient_id)).all()
        assert len(mine) == events_before  # the events stay
        assert all(audit.text(e.text_enc) is None for e in mine)
        removed = db.scalars(select(AuditEvent).where(AuditEvent.kind == "texts_removed")).one()
        assert removed.detail == {"reason": "erasure", "events": erasure.audit_texts}
        assert audit.verify(db).ok
    # The other patient's texts are untouched.
    theirs = _export(sessions, vault, audit, THEM)["audit_events"]
    assert "Hi, my name is Ann Other. A checkup tomorrow please" in [e["text"] for e in theirs]


def test_the_erased_patients_number_texting_again_is_a_new_patient(
    clinic_records, sessions, vault, audit, now
):
    erased_id = _patient(sessions, vault, ME).id
    _erase(sessions, vault, audit, now)
    reply = "\n".join(
        r.as_text()
        for r in clinic_records.handle(
            InboundMessage("console", ME, "book a checkup", "again-1", now)
        )
    )
    assert "what is your full name?" in reply  # nobody known by that number
    new = _patient(sessions, vault, ME)
    assert new.id != erased_id
    assert _export(sessions, vault, audit, ME)["appointments"] == []
