"""A demo patient books, lists, reschedules and cancels through the web chat's JSON API."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.messages import OutboundMessage
from scheduler.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    MessageReceipt,
    WaitlistEntry,
)
from scheduler.patients import find_patient, patient_name

PHONE = "+12125550123"
OTHER_PHONE = "+12125550188"
NEW_YORK = ZoneInfo("America/New_York")


def choose_phone(client, phone=PHONE):
    response = client.post("/chat/phone", json={"phone": phone})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["phone"]


def say(client, text, message_id=None):
    response = client.post(
        "/chat/messages", json={"text": text, "message_id": message_id or str(uuid.uuid4())}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["replies"]


def joined(replies):
    return "\n".join([r["text"] for r in replies] + [o for r in replies for o in r["options"]])


def offer(replies):
    """The reply that offers numbered times."""
    return next(r for r in replies if r["options"])


def appointments_of(services, phone=PHONE):
    with services.sessions() as db:
        patient = find_patient(db, services.vault, phone, scope="web")
        if patient is None:
            return []
        return db.scalars(
            select(Appointment).where(Appointment.patient_id == patient.id).order_by(Appointment.id)
        ).all()


def book_second_offer(client):
    assert "name" in joined(say(client, "book a checkup tomorrow")).lower()
    offered = offer(say(client, "Jordan Testperson"))
    assert 1 < len(offered["options"]) <= 3
    return offered["options"][1], say(client, "2")


def test_patient_books_lists_reschedules_and_cancels_through_the_web_chat(client, services):
    choose_phone(client)
    greeting = joined(say(client, "hi"))
    assert services.clinic.name in greeting

    label, confirmation = book_second_offer(client)
    [appointment] = appointments_of(services)
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.booked_via == "web"
    assert appointment.start_at.astimezone(NEW_YORK).date().isoformat() == "2026-03-05"
    text = joined(confirmation)
    assert appointment.provider.name in text and appointment.provider.name in label
    assert services.clinic.name in text
    with services.sessions() as db:
        patient = find_patient(db, services.vault, PHONE, scope="web")
        assert patient_name(services.vault, patient) == "Jordan Testperson"

    listing = joined(say(client, "my appointments"))
    assert appointment.provider.name in listing and "Mar 5" in listing

    asked = joined(say(client, "reschedule"))
    assert "move" in asked.lower() or "when" in asked.lower()
    moved_offer = offer(say(client, "friday"))
    moved = joined(say(client, "1"))
    active = [a for a in appointments_of(services) if a.status == AppointmentStatus.BOOKED]
    assert len(active) == 1
    assert active[0].start_at.astimezone(NEW_YORK).date().isoformat() == "2026-03-06"
    assert active[0].provider.name in moved and active[0].provider.name in moved_offer["options"][0]

    assert "yes" in joined(say(client, "cancel my appointment")).lower()
    cancelled = joined(say(client, "yes"))
    assert "cancel" in cancelled.lower()
    statuses = {a.status for a in appointments_of(services)}
    assert AppointmentStatus.BOOKED not in statuses
    assert AppointmentStatus.CANCELLED in statuses
    assert "no upcoming" in joined(say(client, "my appointments")).lower()


def test_double_submitted_message_is_answered_once(client, services):
    choose_phone(client)
    say(client, "book a checkup tomorrow")
    say(client, "Jordan Testperson")
    message_id = str(uuid.uuid4())

    first = say(client, "1", message_id)
    second = say(client, "1", message_id)

    assert first == second
    assert len(appointments_of(services)) == 1
    with services.sessions() as db:
        handled = db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.kind == "message_in", AuditEvent.message_id == message_id)
        )
    assert handled == 1


def test_same_message_id_from_another_demo_patient_is_a_new_message(app, services):
    first, second = app.test_client(), app.test_client()
    choose_phone(first, PHONE)
    choose_phone(second, OTHER_PHONE)
    message_id = str(uuid.uuid4())

    say(first, "hi", message_id)
    say(second, "hi", message_id)

    with services.sessions() as db:
        handled = db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.kind == "message_in", AuditEvent.message_id == message_id)
        )
        receipts = db.scalars(select(MessageReceipt.external_id)).all()
    assert handled == 2
    assert len(receipts) == 2 and all(PHONE not in r and OTHER_PHONE not in r for r in receipts)


def test_outbox_shows_only_the_sessions_own_messages(client, services):
    choose_phone(client)
    mine = services.sender.send(
        OutboundMessage("sms", PHONE, "Reminder: check-up tomorrow", kind="reminder")
    )
    services.sender.send(
        OutboundMessage("sms", OTHER_PHONE, "Reminder for someone else", kind="reminder")
    )

    messages = client.get("/chat/outbox").get_json()["messages"]
    assert [(m["id"], m["text"], m["kind"]) for m in messages] == [
        (mine, "Reminder: check-up tomorrow", "reminder")
    ]
    assert client.get(f"/chat/outbox?after={mine}").get_json()["messages"] == []


def test_emergency_reply_is_marked_for_prominent_display(client):
    choose_phone(client)
    replies = say(client, "I have crushing chest pain")
    assert replies[0]["kind"] == "emergency"
    assert "911" in replies[0]["text"]


def test_malformed_json_is_a_400_json_error(client, services):
    choose_phone(client)
    response = client.post("/chat/messages", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.is_json and "error" in response.get_json()
    with services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(AuditEvent)) == 0


def waitlist_entries(services, phone=PHONE):
    with services.sessions() as db:
        patient = find_patient(db, services.vault, phone, scope="web")
        return db.execute(
            select(WaitlistEntry.priority, AuditEvent.detail)
            .join(
                AuditEvent,
                (AuditEvent.patient_id == WaitlistEntry.patient_id)
                & (AuditEvent.kind == "waitlist_joined"),
            )
            .where(WaitlistEntry.patient_id == patient.id)
        ).all()


def test_an_urgent_symptom_ranks_the_waitlist_entry_urgent(client, services):
    """Triage, not the patient's wish, sets the rank; it holds for the conversation."""
    choose_phone(client)
    say(client, "my jaw is swollen and it keeps hurting")
    asked = joined(say(client, "put me on the waitlist"))
    assert "checkup" in asked.lower() or "which" in asked.lower()
    confirmation = joined(say(client, "checkup"))
    assert "waitlist" in confirmation.lower() and "near the front" in confirmation
    assert services.clinic.display_phone in confirmation
    [(priority, detail)] = waitlist_entries(services)
    assert priority == "urgent" and detail["triage"] == "urgent"  # the level triage heard


def test_asking_for_urgent_does_not_rank_the_waitlist_entry_urgent(client, services):
    choose_phone(client, OTHER_PHONE)
    assert "near the front" not in joined(
        say(client, "put me on the waitlist for a checkup asap, it's urgent")
    )
    [(priority, detail)] = waitlist_entries(services, OTHER_PHONE)
    assert priority == "routine" and detail["triage"] is None
