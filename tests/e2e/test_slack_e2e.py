"""The clinic run from Slack, end to end: the first admin made from the shell, staff added in Slack,
a day of scheduling by slash command and DM, a patient's data exported to the admin alone and
erased after a confirmation click. Real signed requests, Slack's Web API faked on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from adapters import slack as slack_adapter
from app import create_app, services_of
from bot.messages import InboundMessage
from scheduler.models import Appointment, AppointmentStatus, AuditEvent, Patient
from scheduler.patients import find_patient
from tests.slack_support import (
    ADMIN,
    NOW,
    STAFF,
    STAFF_CHANNEL,
    SlackClient,
    elements,
    slack_settings,
    text_of,
)

PATIENT = "+12125550123"


@pytest.fixture
def app(tmp_path, fake_slack, database_url):
    """The app on SQLite and on PostgreSQL (conftest's `database_url`)."""
    app = create_app(
        {
            "SETTINGS": slack_settings(tmp_path, fake_slack, database_url=database_url),
            "CLOCK": lambda: NOW,
            "TESTING": True,
        }
    )
    yield app
    app.extensions[slack_adapter.EXTENSION].close()


@pytest.fixture
def slack(app, fake_slack):
    return SlackClient(app.test_client(), fake_slack)


def run(slack, fake_slack, user, command, text):
    response, url = slack.command(user, command, text)
    assert response.status_code == 200
    return fake_slack.answer_to(url)


def kinds(services, **where):
    with services.sessions() as db:
        query = select(AuditEvent).order_by(AuditEvent.seq)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return [e.kind for e in db.scalars(query)]


def test_first_admin_from_the_shell_then_staff_from_slack(app, slack, fake_slack):
    cli = app.test_cli_runner()
    assert "not authorized" in run(slack, fake_slack, ADMIN, "/appt-admin", "users list")["text"]
    result = cli.invoke(args=["users", "add", "--slack-id", ADMIN, "--role", "admin"])
    assert result.exit_code == 0 and "added as admin" in result.output
    assert "not authorized" in run(slack, fake_slack, STAFF, "/appt", "today")["text"]
    added = run(slack, fake_slack, ADMIN, "/appt-admin", f"users add <@{STAFF}|sam> staff")
    assert f"{STAFF} is now staff" in added["text"]
    assert "Maple Street" in run(slack, fake_slack, STAFF, "/appt", "today")["text"]
    listed = cli.invoke(args=["users", "list"])
    assert ADMIN in listed.output and STAFF in listed.output
    removed = run(slack, fake_slack, ADMIN, "/appt-admin", f"users remove <@{STAFF}>")
    assert "no longer has access" in removed["text"]
    assert "not authorized" in run(slack, fake_slack, STAFF, "/appt", "today")["text"]
    services = services_of(app)
    assert kinds(services, actor=f"admin:{ADMIN}")[:2] == ["staff_user_added", "staff_user_removed"]


def test_a_day_at_the_front_desk_and_a_patient_erased(app, slack, fake_slack):
    services = services_of(app)
    cli = app.test_cli_runner()
    cli.invoke(args=["users", "add", "--slack-id", ADMIN, "--role", "admin"])
    cli.invoke(args=["users", "add", "--slack-id", STAFF, "--role", "staff"])

    # A patient books by text (the console: no consent step); the staff channel hears of it
    # (ids and time only). The web chat's patients are its own, never found by staff.
    for i, text in enumerate(["book a checkup tomorrow at 10am", "Jordan Testperson", "1"]):
        services.conversation.handle(InboundMessage("console", PATIENT, text, f"w{i}", NOW))
    [notice] = fake_slack.wait_for(
        "chat.postMessage", where=lambda p: p["channel"] == STAFF_CHANNEL
    )
    assert "New booking #1 by patient #1" in notice["text"] and "Jordan" not in notice["text"]

    # Staff look the patient up, book them a second visit in a DM, then move it.
    found = run(slack, fake_slack, STAFF, "/appt", "find 212-555-0123")
    assert "Jordan Testperson (patient #1)" in found["text"] and "#1 Thu Mar 5" in found["text"]
    slack.dm(STAFF, f"book a vaccination for {PATIENT} friday morning")
    offer = fake_slack.wait_for("chat.postMessage", where=lambda p: p["channel"] == f"D{STAFF}")[-1]
    assert "Choose a time for Jordan Testperson's Vaccination on Fri Mar 6" in offer["text"]
    slack.dm(STAFF, "1")
    booked = fake_slack.wait_for(
        "chat.postMessage", count=2, where=lambda p: p["channel"] == f"D{STAFF}"
    )[-1]
    assert booked["text"].startswith("Booked #2: Vaccination for Jordan Testperson")
    moved = run(slack, fake_slack, STAFF, "/appt", "move 2 monday 2pm")
    assert "Moved #2" in moved["text"] and "Mon Mar 9 at 2:00 PM" in moved["text"]
    buttons = {b["action_id"] for b in elements(moved)}
    assert buttons == {"appointment_cancel", "appointment_reschedule"}

    # The admin exports the patient's data: a file in the admin's own DM, nowhere else.
    exported = run(slack, fake_slack, ADMIN, "/appt-admin", f"patient export {PATIENT}")
    assert "sent to you alone" in exported["text"] and PATIENT not in exported["text"]
    [opened] = fake_slack.of("conversations.open")
    assert opened["users"] == ADMIN
    [completed] = fake_slack.of("files.completeUploadExternal")
    assert completed["channel_id"] == f"D{ADMIN}"
    [upload] = fake_slack.of("upload")
    data = json.loads(upload["content"])
    assert data["patient"]["phone"] == PATIENT and data["patient"]["name"] == "Jordan Testperson"
    assert len(data["appointments"]) == 2

    # Erasure asks first: nothing happens until the admin clicks the confirmation.
    asked = run(slack, fake_slack, ADMIN, "/appt-admin", f"patient erase {PATIENT}")
    [button] = elements(asked)
    assert button["style"] == "danger" and button["confirm"] and button["value"] == "e:1"
    with services.sessions() as db:
        assert find_patient(db, services.vault, PATIENT) is not None
    _, url = slack.click(ADMIN, "patient_erase", button["value"])
    erased = fake_slack.answer_to(url)
    assert "Erased patient #1" in erased["text"] and "2 appointment(s) kept" in erased["text"]
    with services.sessions() as db:
        patient = db.get(Patient, 1)
        assert patient.name_enc is None and patient.phone_enc is None and patient.erased_at
        assert [a.status for a in db.scalars(select(Appointment).order_by(Appointment.id))] == [
            AppointmentStatus.BOOKED,
            AppointmentStatus.BOOKED,
        ]
    _, url = slack.click(ADMIN, "patient_erase", button["value"])
    assert "already erased" in fake_slack.answer_to(url)["text"]
    day = run(slack, fake_slack, STAFF, "/appt", "find 212-555-0123")
    assert "No patient has that phone number" in day["text"]
    assert text_of(run(slack, fake_slack, ADMIN, "/appt-admin", "audit verify")).startswith("OK")
    admin_kinds = kinds(services, actor=f"admin:{ADMIN}")
    assert admin_kinds[:2] == ["patient_exported", "patient_erased"]


# --- an opted-out patient's emergency ---------------------------------------------------------------


def test_an_opted_out_patients_emergency_is_not_texted_but_staff_are_told_to_call(
    tmp_path, fake_slack, fake_twilio
):
    from tests.twilio_support import Phone, sms_settings, twiml_messages

    settings = sms_settings(
        tmp_path,
        twilio_api_base_url=fake_twilio.base_url,
        **{
            k: v
            for k, v in vars(slack_settings(tmp_path, fake_slack)).items()
            if k.startswith("slack_")
        },
    )
    app = create_app({"SETTINGS": settings, "CLOCK": lambda: NOW, "TESTING": True})
    services = services_of(app)
    with services.sessions.begin() as db:
        from scheduler import staff_users

        staff_users.add_user(db, STAFF, "staff", added_by="test", now=NOW)
    phone = Phone(app.test_client(), PATIENT)
    phone.text("hi")
    phone.text("YES")
    assert "Reply START" in phone.text("STOP")

    response = phone.post("I have chest pain and I can't breathe")
    assert response.status_code == 200 and twiml_messages(response.get_data()) == []
    assert fake_twilio.messages == []  # nothing texted, by REST either
    [notice] = fake_slack.wait_for("chat.postMessage")
    assert notice["channel"] == STAFF_CHANNEL
    assert notice["text"].startswith("URGENT, CALL NOW: patient #1 texted an emergency red flag")
    assert "opted out" in notice["text"] and "/appt contact 1" in notice["text"]
    assert PATIENT[2:] not in json.dumps(notice) and "chest" not in json.dumps(notice)
    with services.sessions() as db:
        [flag] = db.scalars(select(AuditEvent).where(AuditEvent.kind == "red_flag")).all()
        assert flag.detail == {"category": "cardiac", "answered": False}
        assert db.scalars(
            select(AuditEvent.detail).where(AuditEvent.kind == "message_suppressed")
        ).all()[-1] == {"reason": "opted_out"}

    # The notice's command gives the one who asks the number to call, audited.
    slack = SlackClient(app.test_client(), fake_slack)
    shown = run(slack, fake_slack, STAFF, "/appt", "contact 1")["text"]
    assert "+12125550123" in shown and "opted out of texts: call, do not text" in shown
    assert "patient_contact_shown" in kinds(services, patient_id=1)
    app.extensions[slack_adapter.EXTENSION].close()
