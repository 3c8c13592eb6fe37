"""Patients text the clinic: whole conversations through the real app, signed like Twilio signs,
with Twilio's REST API faked on 127.0.0.1 where the app texts back on its own."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import func, select, update
from werkzeug.serving import make_server

from adapters import twilio_sms
from adapters.twilio_sms import send_stranded_replies
from app import create_app, services_of
from bot import consent, dialogue
from jobs.runner import Jobs
from scheduler.models import Appointment, AppointmentStatus, AuditEvent, MessageReceipt
from scheduler.patients import find_patient
from tests.clock import Clock
from tests.twilio_support import (NOW, FakeTwilio, Phone, new_sid, signature, sms_settings,
                                  twiml_messages)

PHONE = "+12125550123"
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def fake_twilio():
    fake = FakeTwilio()
    yield fake
    fake.close()


@pytest.fixture
def budget():
    """The webhook's engine budget: generous, so a loaded machine never takes the slow path by
    chance; the slow-path tests set their own."""
    return 5.0


@pytest.fixture
def app(tmp_path, fake_twilio, budget):
    settings = sms_settings(tmp_path, twilio_api_base_url=fake_twilio.base_url)
    return create_app({"SETTINGS": settings, "CLOCK": lambda: NOW, "TESTING": True,
                       "TWILIO_REPLY_BUDGET_SECONDS": budget})


@pytest.fixture
def services(app):
    return services_of(app)


@pytest.fixture
def phone(app):
    return Phone(app.test_client(), PHONE)


def booked(services, phone=PHONE):
    with services.sessions() as db:
        patient = find_patient(db, services.vault, phone)
        return db.scalars(select(Appointment).where(
            Appointment.patient_id == patient.id,
            Appointment.status == AppointmentStatus.BOOKED).order_by(Appointment.id)).all()


def test_patient_consents_books_lists_reschedules_and_cancels_by_sms(phone, services):
    first = phone.text("Hi, can I book a check-up tomorrow morning?")
    assert services.clinic.name in first and "Msg & data rates may apply" in first
    assert "Reply YES to continue, HELP for help, STOP to opt out" in first

    asked = phone.text("YES")
    assert "signed up" in asked and "name" in asked.lower()
    offer = phone.text("Jordan Testperson")
    assert "Thu Mar 5" in offer and "\n1. " in offer and "\n3. " in offer
    confirmation = phone.text("2")
    [appointment] = booked(services)
    assert appointment.booked_via == "sms"
    assert appointment.start_at.astimezone(NEW_YORK).date().isoformat() == "2026-03-05"
    assert appointment.provider.name in confirmation and services.clinic.name in confirmation

    listing = phone.text("show my appointments please")
    assert "Mar 5" in listing and appointment.provider.name in listing

    asked = phone.text("I need to reschedule")
    assert "move" in asked.lower()
    moved_offer = phone.text("friday")
    assert "Fri Mar 6" in moved_offer
    moved = phone.text("1")
    assert "Done" in moved and "Fri Mar 6" in moved
    [same] = booked(services)
    assert same.id == appointment.id
    assert same.start_at.astimezone(NEW_YORK).date().isoformat() == "2026-03-06"

    asked = phone.text("cancel my appointment")
    assert "Reply YES to cancel" in asked
    assert "is cancelled" in phone.text("yes")
    assert booked(services) == []
    with services.sessions() as db:
        patient = find_patient(db, services.vault, PHONE)
        assert patient.opted_out_at is None and patient.consented_at == NOW
        assert services.audit.verify(db).ok


@pytest.mark.parametrize("word", sorted(consent.OPT_OUT))
def test_every_opt_out_keyword_over_sms_then_silence_until_an_opt_in(app, word):
    phone = Phone(app.test_client(), PHONE)
    phone.text("hi")
    phone.text("YES")
    assert "Reply START" in phone.text(f" {word.lower()}! ")
    assert phone.text("book a checkup") == "" and phone.text(word) == ""
    assert "HELP" not in phone.text("HELP") and "(212) 555-0100" in phone.text("info")
    for opt_in in sorted(consent.OPT_IN):
        assert "subscribed" in phone.text(opt_in)
        phone.text("STOP")


@pytest.mark.parametrize("budget", [0.3])
def test_a_slow_engine_answers_empty_at_once_and_the_reply_comes_by_rest(app, phone, services,
                                                                         fake_twilio,
                                                                         monkeypatch):
    phone.text("book a checkup tomorrow")
    phone.text("YES")
    phone.text("Jordan Testperson")
    respond = dialogue.respond

    def slow(turn, state):
        time.sleep(1.0)
        return respond(turn, state)

    monkeypatch.setattr(dialogue, "respond", slow)
    sid = new_sid()
    started = time.monotonic()
    response = phone.post("1", sid=sid)
    took = time.monotonic() - started
    assert response.status_code == 200 and took < 1.0
    assert twiml_messages(response.get_data()) == []

    [message] = fake_twilio.wait_for(1, timeout=5)
    assert message["To"] == PHONE and "You're booked" in message["Body"]
    assert message["StatusCallback"].endswith("/twilio/status")
    assert len(booked(services)) == 1

    # Twilio retrying the same message gets an empty answer: the reply already went by REST.
    retry = phone.post("1", sid=sid)
    assert twiml_messages(retry.get_data()) == []
    time.sleep(0.2)
    assert len(fake_twilio.messages) == 1 and len(booked(services)) == 1
    with services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.kind == "message_in", AuditEvent.message_id == sid)) == 1
        receipt = db.scalars(select(MessageReceipt).where(
            MessageReceipt.external_id.endswith(sid))).one()
        assert receipt.reply_via == "rest_sent"
        assert db.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.kind == "sms_sent")) == 1


def process_dies_before_the_late_send(monkeypatch):
    """The next turn runs past the webhook's budget, and its process stops between the turn's
    commit and the REST send (`_send_late` never runs). Returns the event set at that point and
    the real dialogue."""
    respond = dialogue.respond
    died = threading.Event()
    monkeypatch.setattr(dialogue, "respond",
                        lambda turn, state: (time.sleep(0.6), respond(turn, state))[1])
    monkeypatch.setattr(twilio_sms, "_send_late", lambda *args: died.set())
    return died, respond


@pytest.mark.parametrize("budget", [0.3])
def test_a_late_reply_stranded_by_a_dead_process_is_sent_once_by_the_job(tmp_path, fake_twilio,
                                                                         budget, monkeypatch):
    """The process stops after the turn committed and before the REST send (the turn thread's
    `_send_late` never runs): the job sends the stored reply once, after two minutes."""
    clock = Clock(NOW)
    settings = sms_settings(tmp_path, twilio_api_base_url=fake_twilio.base_url)
    app = create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True,
                      "TWILIO_REPLY_BUDGET_SECONDS": budget})
    services, phone = services_of(app), Phone(app.test_client(), PHONE)
    jobs = Jobs(services, in_process=False)
    phone.text("book a checkup tomorrow")
    phone.text("YES")
    phone.text("Jordan Testperson")
    died, _ = process_dies_before_the_late_send(monkeypatch)
    assert twiml_messages(phone.post("1").get_data()) == []
    assert died.wait(5) and len(booked(services)) == 1 and fake_twilio.messages == []

    clock.advance(seconds=60)
    assert send_stranded_replies(services) == {"sent": 0, "failed": 0, "unknown": 0}
    clock.advance(seconds=61)
    jobs.run_all_once()
    [message] = fake_twilio.wait_for(1)
    assert message["To"] == PHONE and "You're booked" in message["Body"]
    jobs.run_all_once()
    assert send_stranded_replies(services)["sent"] == 0
    time.sleep(0.2)
    assert len(fake_twilio.messages) == 1
    with services.sessions() as db:
        assert db.scalars(select(MessageReceipt.reply_via).where(
            MessageReceipt.reply_via.like("rest%"))).all() == ["rest_sent"]


@pytest.mark.parametrize("budget", [0.3])
def test_a_stranded_reply_is_not_sent_to_a_number_that_opted_out_since(app, phone, services,
                                                                      fake_twilio, monkeypatch):
    phone.text("hi")
    died, respond = process_dies_before_the_late_send(monkeypatch)
    phone.post("YES")
    assert died.wait(5)
    monkeypatch.setattr(dialogue, "respond", respond)
    assert "Reply START" in phone.text("STOP")
    with services.sessions.begin() as db:     # two minutes on, as the job sees it
        db.execute(update(MessageReceipt).values(created_at=NOW - timedelta(minutes=3)))
    assert send_stranded_replies(services) == {"sent": 0, "failed": 1, "unknown": 0}
    time.sleep(0.2)
    assert fake_twilio.messages == []


def test_a_late_reply_is_sent_by_one_sender_only(app, phone, services):
    """The turn's thread and the job both try: the conditional take lets one through."""
    phone.text("hi")
    with services.sessions.begin() as db:
        receipt = db.scalars(select(MessageReceipt)).one()
        receipt.reply_via = "rest"
    assert twilio_sms._take_for_sending(services, receipt.id)
    assert not twilio_sms._take_for_sending(services, receipt.id)
    with services.sessions() as db:
        assert db.get(MessageReceipt, receipt.id).reply_via == "rest_sending"
    # The taker stops before recording the send: sent or not is unknown, said once, not retried.
    with services.sessions.begin() as db:
        db.execute(update(MessageReceipt).values(created_at=NOW - timedelta(minutes=3)))
    assert send_stranded_replies(services) == {"sent": 0, "failed": 0, "unknown": 1}
    assert send_stranded_replies(services) == {"sent": 0, "failed": 0, "unknown": 0}
    with services.sessions() as db:
        assert db.get(MessageReceipt, receipt.id).reply_via == "rest_unknown"


@pytest.mark.parametrize("budget", [2.0])
def test_a_turn_just_within_the_budget_is_answered_in_twiml_and_not_by_rest(app, phone,
                                                                           fake_twilio,
                                                                           monkeypatch):
    phone.text("hi")
    respond = dialogue.respond
    monkeypatch.setattr(dialogue, "respond",
                        lambda turn, state: (time.sleep(0.1), respond(turn, state))[1])
    assert "signed up" in phone.text("YES")
    time.sleep(0.4)
    assert fake_twilio.messages == []


class LiveServer:
    """The app on 127.0.0.1 in a thread, so requests go over real HTTP."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def text(self, session: requests.Session, number: str, body: str) -> str:
        params = {"MessageSid": new_sid(), "From": number, "To": "+12125550100", "Body": body,
                  "NumMedia": "0"}
        url = self.url + "/twilio/sms"
        response = session.post(url, data=params,
                                headers={"X-Twilio-Signature": signature(url, params)},
                                timeout=30)
        assert response.status_code == 200, response.text
        return "\n".join(twiml_messages(response.content))

    def close(self):
        self.server.shutdown()


def test_thirty_numbers_racing_for_one_slot_over_http_book_it_once(tmp_path, database_url):
    settings = sms_settings(tmp_path, database_url=database_url, public_base_url=None)
    app = create_app({"SETTINGS": settings, "CLOCK": lambda: NOW, "TESTING": True})
    services = services_of(app)
    live = LiveServer(app)
    numbers = [f"+1212555{1000 + i:04d}" for i in range(30)]
    try:
        with requests.Session() as session:
            for number in numbers:
                live.text(session, number, "book a checkup tomorrow at 10am")
                live.text(session, number, "YES")
                offer = live.text(session, number, "skip")
                assert "1. Thu Mar 5 at 10:00 AM" in offer
        barrier = threading.Barrier(len(numbers))

        def take_first(number):
            with requests.Session() as session:
                barrier.wait()
                return live.text(session, number, "1")

        with ThreadPoolExecutor(len(numbers)) as pool:
            answers = list(pool.map(take_first, numbers))
    finally:
        live.close()
    winners = [a for a in answers if "You're booked" in a]
    assert len(winners) == 1
    assert all("just taken" in a for a in answers if a not in winners)
    with services.sessions() as db:
        active = db.scalars(select(Appointment).where(
            Appointment.status == AppointmentStatus.BOOKED)).all()
    assert len(active) == 1
    assert active[0].start_at.astimezone(NEW_YORK).strftime("%a %H:%M") == "Thu 10:00"
