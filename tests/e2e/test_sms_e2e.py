"""Patients text the clinic: whole conversations through the real app, signed like Twilio signs,
with Twilio's REST API faked on 127.0.0.1 where the app texts back on its own."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app import create_app, services_of
from bot.patient import consent, dialogue
from scheduler.models import Appointment, AppointmentStatus, AuditEvent, MessageReceipt, Patient
from scheduler.patients import find_patient, patient_name
from tests.twilio_support import NOW, Phone, new_sid, signature, sms_settings, twiml_messages

PHONE = "+12125550123"
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def budget():
    """The webhook's engine budget: generous, so a loaded machine never takes the slow path by
    chance; the slow-path tests set their own."""
    return 5.0


@pytest.fixture
def app(tmp_path, fake_twilio, budget):
    settings = sms_settings(tmp_path, twilio_api_base_url=fake_twilio.base_url)
    return create_app(
        {
            "SETTINGS": settings,
            "CLOCK": lambda: NOW,
            "TESTING": True,
            "TWILIO_REPLY_BUDGET_SECONDS": budget,
        }
    )


@pytest.fixture
def phone(app):
    return Phone(app.test_client(), PHONE)


def booked(services, phone=PHONE):
    with services.sessions() as db:
        patient = find_patient(db, services.vault, phone)
        return db.scalars(
            select(Appointment)
            .where(
                Appointment.patient_id == patient.id, Appointment.status == AppointmentStatus.BOOKED
            )
            .order_by(Appointment.id)
        ).all()


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


def test_a_slow_engine_answers_empty_at_once_and_the_reply_comes_by_rest(
    app, phone, services, fake_twilio, monkeypatch
):
    phone.text("book a checkup tomorrow")
    phone.text("YES")
    phone.text("Jordan Testperson")
    # Only now a short budget: on a busy machine the texts above may take longer than it.
    app.config["TWILIO_REPLY_BUDGET_SECONDS"] = 0.3
    respond = dialogue.respond
    release, finished = threading.Event(), threading.Event()

    def slow(turn, state):
        release.wait(10)  # the engine is held past the 0.3 s budget
        try:
            return respond(turn, state)
        finally:
            finished.set()

    monkeypatch.setattr(dialogue, "respond", slow)
    sid = new_sid()
    response = phone.post("1", sid=sid)
    answered_before_the_turn = not finished.is_set()
    release.set()
    assert response.status_code == 200 and answered_before_the_turn
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
        assert (
            db.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.kind == "message_in", AuditEvent.message_id == sid)
            )
            == 1
        )
        receipt = db.scalars(
            select(MessageReceipt).where(MessageReceipt.external_id.endswith(sid))
        ).one()
        assert receipt.reply_via == "rest_sent"
        assert (
            db.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "sms_sent")
            )
            == 1
        )


@pytest.mark.parametrize("budget", [2.0])
def test_a_turn_just_within_the_budget_is_answered_in_twiml_and_not_by_rest(
    app, phone, fake_twilio, monkeypatch
):
    phone.text("hi")
    respond = dialogue.respond
    monkeypatch.setattr(
        dialogue, "respond", lambda turn, state: (time.sleep(0.1), respond(turn, state))[1]
    )
    assert "signed up" in phone.text("YES")
    time.sleep(0.4)
    assert fake_twilio.messages == []


class LiveServer:
    """The app on 127.0.0.1 in a thread, so requests go over real HTTP."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def text(self, session: requests.Session, number: str, body: str) -> str:
        params = {
            "MessageSid": new_sid(),
            "From": number,
            "To": "+12125550100",
            "Body": body,
            "NumMedia": "0",
        }
        url = self.url + "/twilio/sms"
        response = session.post(
            url, data=params, headers={"X-Twilio-Signature": signature(url, params)}, timeout=30
        )
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
        active = db.scalars(
            select(Appointment).where(Appointment.status == AppointmentStatus.BOOKED)
        ).all()
    assert len(active) == 1
    assert active[0].start_at.astimezone(NEW_YORK).strftime("%a %H:%M") == "Thu 10:00"


# --- a reference that is not the patient's -------------------------------------------------------


def _book_by_sms(phone: Phone, day: str, name: str | None = None) -> str:
    """A check-up on `day` (first consent and the name, when `name` is given); the booking's
    confirmation."""
    phone.text(f"book a checkup {day}")
    if name is not None:
        phone.text("YES")
        phone.text(name)
    return phone.text("1")


def _refusals(services) -> list[tuple[str, int | None, str]]:
    with services.sessions() as db:
        return [
            (e.actor, e.appointment_id, e.detail.get("reason"))
            for e in db.scalars(select(AuditEvent).where(AuditEvent.kind == "request_refused"))
        ]


@pytest.mark.parametrize(
    "request_text",
    [
        "cancel appointment #{ref}",
        "cancel ref {ref}",
        "move #{ref} to 3pm",
        "move appointment {ref} to friday 3pm",
    ],
)
def test_another_patients_reference_is_never_taken_for_ones_own(app, services, request_text):
    other = Phone(app.test_client(), "+12125550124")
    _book_by_sms(other, "tomorrow", "Blake Otherperson")
    [theirs] = booked(services, "+12125550124")
    patient = Phone(app.test_client(), PHONE)
    _book_by_sms(patient, "friday", "Avery Testperson")
    [mine] = booked(services)
    before = {(a.id, a.start_at) for a in booked(services) + booked(services, "+12125550124")}

    answer = patient.text(request_text.format(ref=theirs.id))
    assert f"None of your upcoming appointments has the reference #{theirs.id}" in answer
    assert f"(ref #{mine.id})" in answer and "YES" not in answer
    patient.text("yes")
    patient.text("1")
    after = {(a.id, a.start_at) for a in booked(services) + booked(services, "+12125550124")}
    assert after == before
    [patient_id] = {a.patient_id for a in booked(services)}
    assert _refusals(services) == [(f"patient:{patient_id}", theirs.id, "unknown_reference")]


def test_ones_own_reference_is_acted_on(app, services):
    patient = Phone(app.test_client(), PHONE)
    _book_by_sms(patient, "tomorrow", "Avery Testperson")
    assert "You're booked" in _book_by_sms(patient, "friday")
    first, second = booked(services)
    assert f"{second.start_at.astimezone(NEW_YORK):%a %b} 6" in patient.text(
        f"cancel appointment #{second.id}"
    )
    assert "is cancelled" in patient.text("YES")
    assert [a.id for a in booked(services)] == [first.id]


# --- the demo web chat never reaches an SMS patient -----------------------------------------------


def test_the_web_chat_with_an_sms_patients_number_is_another_patient(tmp_path, fake_twilio):
    settings = sms_settings(tmp_path, twilio_api_base_url=fake_twilio.base_url, web_chat=True)
    app = create_app({"SETTINGS": settings, "CLOCK": lambda: NOW, "TESTING": True})
    services = services_of(app)
    sms = Phone(app.test_client(), PHONE)
    assert "You're booked" in _book_by_sms(sms, "tomorrow", "Avery Testperson")
    [appointment] = booked(services)

    web = app.test_client()
    assert web.post("/chat/phone", json={"phone": PHONE}).status_code == 200

    def chat(text):
        answer = web.post("/chat/messages", json={"text": text, "message_id": new_sid()})
        return "\n".join(r["text"] for r in answer.get_json()["replies"])

    assert "no upcoming appointments" in chat("my appointments")
    assert "None of your appointments has the reference" in chat(
        f"cancel appointment #{appointment.id}"
    )
    chat("yes")
    assert [a.id for a in booked(services)] == [appointment.id]
    # The web chat's own patient: a name of their own, a booking of their own.
    chat("book a vaccination on friday")
    chat("Webb Demoperson")
    assert "You're booked" in chat("1")
    with services.sessions() as db:
        web_patient = find_patient(db, services.vault, PHONE, scope="web")
        assert db.scalar(select(func.count()).select_from(Patient)) == 2
        assert web_patient.id != appointment.patient_id
        assert patient_name(services.vault, web_patient) == "Webb Demoperson"
    assert [a.id for a in booked(services)] == [appointment.id]
    listing = sms.text("my appointments")
    assert f"#{appointment.id}" in listing and "Vaccination" not in listing
