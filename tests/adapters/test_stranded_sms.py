"""Late SMS replies a stopped process left behind (adapters/twilio_sms/, the `stranded-sms`
job): sent once, never to a number that opted out since, and never by two senders.

A process stopping at the worst moment cannot be made to happen at an HTTP boundary here (it falls
between the turn's commit and the REST send), so these tests stand in for it by replacing
`_send_late`: that is why they live with the adapter's tests, not in tests/e2e."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from adapters.twilio_sms import turns
from adapters.twilio_sms.stranded import send_stranded_replies
from app import create_app, job_runner
from bot.patient import dialogue
from scheduler.models import Appointment, AppointmentStatus, MessageReceipt
from tests.twilio_support import Phone, sms_settings, twiml_messages

PHONE = "+12125550123"


@pytest.fixture
def app(tmp_path, fake_twilio, clock):
    settings = sms_settings(tmp_path, twilio_api_base_url=fake_twilio.base_url)
    return create_app(
        {"SETTINGS": settings, "CLOCK": clock, "TESTING": True, "TWILIO_REPLY_BUDGET_SECONDS": 0.3}
    )


@pytest.fixture
def phone(app):
    return Phone(app.test_client(), PHONE)


def process_dies_before_the_late_send(monkeypatch):
    """The next turn runs past the webhook's budget, and its process stops between the turn's
    commit and the REST send (`_send_late` never runs). Returns the event set at that point and
    the real dialogue."""
    respond = dialogue.respond
    died = threading.Event()
    monkeypatch.setattr(
        dialogue, "respond", lambda turn, state: (time.sleep(0.6), respond(turn, state))[1]
    )
    monkeypatch.setattr(turns, "_send_late", lambda *args: died.set())
    return died, respond


def reply_vias(services) -> list[str]:
    with services.sessions() as db:
        return db.scalars(
            select(MessageReceipt.reply_via).where(MessageReceipt.reply_via.like("rest%"))
        ).all()


def test_a_late_reply_stranded_by_a_dead_process_is_sent_once_by_the_job(
    phone, services, clock, fake_twilio, monkeypatch
):
    jobs = job_runner(services, in_process=False)  # as the app wires it
    phone.text("book a checkup tomorrow")
    phone.text("YES")
    phone.text("Jordan Testperson")
    died, _ = process_dies_before_the_late_send(monkeypatch)
    assert twiml_messages(phone.post("1").get_data()) == []
    assert died.wait(5) and fake_twilio.messages == []
    with services.sessions() as db:
        assert db.scalar(select(Appointment.status)) == AppointmentStatus.BOOKED

    clock.advance(seconds=60)
    assert send_stranded_replies(services) == {"sent": 0, "failed": 0, "unknown": 0}
    clock.advance(seconds=61)
    jobs.run_all_once()
    [message] = fake_twilio.wait_for(1)
    assert message["To"] == PHONE and "You're booked" in message["Body"]
    jobs.run_all_once()
    assert send_stranded_replies(services)["sent"] == 0
    time.sleep(0.2)
    assert len(fake_twilio.messages) == 1 and reply_vias(services) == ["rest_sent"]


def test_a_stranded_reply_is_not_sent_to_a_number_that_opted_out_since(
    phone, services, clock, fake_twilio, monkeypatch
):
    phone.text("hi")
    died, respond = process_dies_before_the_late_send(monkeypatch)
    phone.post("YES")
    assert died.wait(5)
    monkeypatch.setattr(dialogue, "respond", respond)
    assert "Reply START" in phone.text("STOP")
    clock.advance(minutes=3)
    assert send_stranded_replies(services) == {"sent": 0, "failed": 1, "unknown": 0}
    time.sleep(0.2)
    assert fake_twilio.messages == [] and reply_vias(services) == ["rest_failed"]


def test_a_late_reply_is_sent_by_one_sender_only(phone, services, clock):
    """The turn's thread and the job both try: the conditional take lets one through."""
    phone.text("hi")
    with services.sessions.begin() as db:
        receipt = db.scalars(select(MessageReceipt)).one()
        receipt.reply_via = "rest"
    assert turns._take_for_sending(services, receipt.id)
    assert not turns._take_for_sending(services, receipt.id)
    assert reply_vias(services) == ["rest_sending"]
    # The taker stops before recording the send: sent or not is unknown, said once, not retried.
    clock.advance(minutes=3)
    assert send_stranded_replies(services) == {"sent": 0, "failed": 0, "unknown": 1}
    assert send_stranded_replies(services) == {"sent": 0, "failed": 0, "unknown": 0}
    assert reply_vias(services) == ["rest_unknown"]
