"""Spanish-speaking patients by SMS, end to end: signed webhooks into the real app, Twilio's REST
API faked on 127.0.0.1 for the texts the clinic sends first, the jobs run by hand."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app import create_app, services_of
from jobs.runner import Jobs
from scheduler.models import Appointment, AppointmentStatus
from scheduler.patients import find_patient
from tests.clock import Clock
from tests.twilio_support import NOW, Phone, sms_settings, twiml_messages

PHONE = "+12125550123"
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def app(tmp_path, fake_twilio, clock):
    settings = sms_settings(tmp_path, twilio_api_base_url=fake_twilio.base_url)
    return create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True})


@pytest.fixture
def phone(app):
    return Phone(app.test_client(), PHONE)


def appointments(services):
    with services.sessions() as db:
        return db.scalars(select(Appointment).order_by(Appointment.id)).all()


def language_of(services, number=PHONE):
    with services.sessions() as db:
        return find_patient(db, services.vault, number).language


def test_a_patient_books_lists_moves_and_cancels_in_spanish(phone, services):
    asked = phone.text("Hola, necesito un chequeo para mañana a las 3")
    assert "Responda SI para continuar, AYUDA para ayuda, ALTO para darse de baja" in asked
    assert "nombre completo" in phone.text("SI")
    offered = phone.text("María Ejemplo")
    assert offered.startswith("Gracias, Maria.")
    assert "1. jueves 5 de marzo, 3:00 p.m. con Dr. Amara Okafor" in offered
    booked = phone.text("1")
    assert booked.startswith(
        "Su cita esta reservada: Chequeo general con Dr. Amara Okafor el "
        "jueves 5 de marzo, 3:00 p.m."
    )
    [appointment] = appointments(services)
    assert f"(ref #{appointment.id})" in phone.text("mis citas")

    moving = phone.text("quiero cambiar mi cita para el viernes por la mañana")
    assert "1. viernes 6 de marzo, 8:00 a.m." in moving
    assert phone.text("2").startswith(
        "Listo. Su cita de Chequeo general es ahora el viernes 6 de marzo, 8:15 a.m."
    )
    [moved] = appointments(services)
    assert moved.id == appointment.id
    assert moved.start_at.astimezone(NEW_YORK).strftime("%a %H:%M") == "Fri 08:15"

    assert phone.text("no puedo ir el viernes").startswith("¿Cancelar su cita: Chequeo general")
    assert phone.text("sí").startswith("Su cita esta cancelada")
    assert appointments(services)[0].status == AppointmentStatus.CANCELLED
    assert language_of(services) == "es"


def test_every_reply_to_a_spanish_patient_is_gsm7_and_at_most_two_segments(phone):
    from bot.patient import segments

    texts = [
        "Hola, quiero una cita",
        "SI",
        "Ana Ejemplo",
        "1",
        "el martes que viene",
        "1",
        "mis citas",
        "¿dónde están?",
        "¿a qué hora abren?",
        "ayuda",
        "cancelar mi cita",
        "no",
        "gracias",
    ]
    for text in texts:
        answer = phone.text(text)
        assert segments.is_gsm7(answer) and segments.segments(answer) <= 2, (text, answer)


def test_spanish_emergencies_are_answered_in_spanish_with_the_crisis_line(phone):
    assert phone.text("no puedo respirar").startswith(
        "Esto podria ser una emergencia. Llame al 911"
    )
    crisis = phone.text("tengo pensamientos suicidas")
    assert "988 y marque 2 para español" in crisis and "911" in crisis


@pytest.mark.parametrize("word", ["ALTO", "baja", "Alto."])
def test_alto_and_baja_opt_out_and_ayuda_answers_in_spanish(phone, services, word):
    phone.text("hola")
    phone.text("SI")
    assert "Llame al (212) 555-0100" in phone.text("AYUDA")
    assert phone.text(word).startswith(
        "Ya no recibira mas mensajes de Maple Street Family Clinic. Responda START"
    )
    with services.sessions() as db:
        assert find_patient(db, services.vault, PHONE).opted_out_at is not None
    assert phone.text("quiero una cita") == ""  # silence, as after STOP


def test_a_patient_can_switch_language_and_the_conversation_keeps_its_place(phone, services):
    phone.text("book a checkup tomorrow")
    phone.text("YES")
    assert "1. Thu Mar 5 at" in phone.text("Jordan Testperson")
    assert phone.text("en español").startswith("De acuerdo, desde ahora le escribo en español")
    assert language_of(services) == "es"
    assert phone.text("1").startswith("Su cita esta reservada")  # the offer stood
    assert phone.text("English please").startswith("OK, I'll write in English")
    assert phone.text("my appointments").startswith("Your upcoming appointment")
    assert language_of(services) == "en"


def test_short_answers_keep_the_conversations_language(phone):
    phone.text("hola, quiero una cita")
    phone.text("SI")
    assert "¿Qué tipo de cita necesita?" in phone.text("Ana Ejemplo")
    assert phone.text("2").startswith(
        "¿Qué dia le conviene para su cita de Consulta por enfermedad?"
    )  # "2": still Spanish
    assert phone.text("ok").startswith("Perdon, no le entendi")  # "ok" too


def test_portuguese_gets_the_closest_language_and_no_action(phone, services):
    assert "Responda SI para continuar" in phone.text("Olá, eu quero marcar uma consulta amanhã")
    phone.text("SI")
    answer = phone.text("não posso ir amanhã, você pode cancelar minha consulta?")
    assert answer.startswith("Lo siento, aqui solo puedo leer español e inglés")
    assert appointments(services) == []


def test_reminders_go_out_in_the_patients_language_and_are_answered_in_it(
    phone, services, fake_twilio, clock
):
    phone.text("Hola, necesito una cita para mañana a las 10")
    phone.text("SI")
    phone.text("Ana Ejemplo")
    phone.text("1")
    assert phone.text("1").startswith("Su cita esta reservada")
    clock.now = NOW + timedelta(hours=3)  # 24 hours before the visit, 10 am tomorrow
    Jobs(services, in_process=False).send_reminders()
    [reminder] = [m for m in fake_twilio.messages if "Responda C" in m["Body"]]
    # One segment: with the provider's name it would be longer, so the shorter form goes.
    assert reminder["Body"].startswith(
        "Maple Street Family Clinic: su cita es el jueves 5 de "
        "marzo, 10:00 a.m., tel. (212) 555-0100."
    )
    assert len(reminder["Body"]) <= 160
    assert "Responda C para confirmar, R para cambiar, X para cancelar." in reminder["Body"]
    assert phone.text("CONFIRMAR").startswith("Gracias, su cita esta confirmada")
    [appointment] = appointments(services)
    assert appointment.confirmed_at is not None


def test_the_staff_channel_is_told_the_patients_language(tmp_path, fake_twilio, fake_slack, clock):
    from tests.slack_support import STAFF_CHANNEL, slack_settings

    slack = {
        k: v
        for k, v in vars(slack_settings(tmp_path, fake_slack)).items()
        if k.startswith("slack_")
    }
    settings = sms_settings(tmp_path, twilio_api_base_url=fake_twilio.base_url, **slack)
    app = create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True})
    phone = Phone(app.test_client(), PHONE)
    for text in ("Hola, necesito una cita para mañana a las 10", "SI", "Ana Ejemplo", "1"):
        phone.text(text)
    assert phone.text("1").startswith("Su cita esta reservada")
    [notice] = fake_slack.wait_for(
        "chat.postMessage", where=lambda p: p["channel"] == STAFF_CHANNEL
    )
    assert notice["text"].startswith("New booking #1 by patient #1 (SMS, speaks Spanish): ")
    assert "Ana" not in json.dumps(notice)
    # On the appointment too, for the staff member who looks the patient up.
    from scheduler import staff_users
    from tests.slack_support import STAFF, SlackClient

    services = services_of(app)
    with services.sessions.begin() as db:
        staff_users.add_user(db, STAFF, "staff", added_by="test", now=NOW)
    response, url = SlackClient(app.test_client(), fake_slack).command(
        STAFF, "/appt", "find 212-555-0123"
    )
    assert response.status_code == 200
    assert "Ana Ejemplo (speaks Spanish) (patient #1)" in fake_slack.answer_to(url)["text"]
    from adapters import slack as slack_adapter

    app.extensions[slack_adapter.EXTENSION].close()


@pytest.mark.parametrize(
    "text, answered_in",
    [
        ("vorrei cancellare il mio appuntamento di domani", "es"),  # Italian
        ("je voudrais annuler mon rendez-vous de demain", "es"),  # French
        ("Ich möchte meinen Termin morgen absagen", "en"),  # German: nothing to tell
        ("can you cancelar mi appointment mañana please", "en"),  # mixed
    ],
)
def test_other_and_mixed_languages_get_a_clear_answer_and_nothing_changes(
    phone, services, text, answered_in
):
    for setup in ("book a checkup tomorrow", "YES", "Jordan Testperson", "1"):
        phone.text(setup)
    [appointment] = appointments(services)
    response = phone.post(text)
    assert response.status_code == 200
    answer = "\n".join(twiml_messages(response.get_data()))
    assert answer  # a reply, never silence or a 500
    if answered_in == "es":
        assert answer.startswith("Lo siento, aqui solo puedo leer español e inglés")
    [same] = appointments(services)
    assert same.status == AppointmentStatus.BOOKED and same.start_at == appointment.start_at
