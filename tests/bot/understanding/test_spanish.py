"""The understanding in Spanish: intents, dates and times as people text them, red flags, and
the language told. Every expectation is against Wednesday 2026-03-04 10:00 in New York, with the
demo clinic's vocabulary (which names its visits in both languages)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.understanding.nlu import Vocabulary, understand
from scheduler.clinic_file import load_clinic

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=ZoneInfo("America/New_York"))
VOCABULARY = Vocabulary.from_clinic(load_clinic(None))


def D(month, day, year=2026):
    return date(year, month, day)


def T(hour, minute=0):
    return time(hour, minute)


# (text, intent, date, time, part of day, appointment type, extra) where extra names other fields.
PHRASINGS = [
    # Pedir cita.
    ("quiero una cita para mañana a las 3", "book", D(3, 5), T(15), None, None, {}),
    ("quiero una cita para manana a las 3", "book", D(3, 5), T(15), None, None, {}),
    ("necesito una cita", "book", None, None, None, None, {}),
    (
        "Necesito un chequeo el jueves por la tarde",
        "book",
        D(3, 5),
        None,
        "afternoon",
        "checkup",
        {},
    ),
    (
        "quisiera una cita el martes que viene por la tarde",
        "book",
        D(3, 10),
        None,
        "afternoon",
        None,
        {},
    ),
    (
        "me gustaría una cita pasado mañana a las 9 de la mañana",
        "book",
        D(3, 6),
        T(9),
        "morning",
        None,
        {},
    ),
    ("una cita a las diez y media", "book", None, T(10, 30), None, None, {}),
    ("cita a las 5 menos cuarto de la tarde", "book", None, T(16, 45), "afternoon", None, {}),
    ("¿tienen algo al mediodía?", "book", None, T(12), None, None, {}),
    ("quiero una cita el 7 de marzo", "book", D(3, 7), None, None, None, {}),
    ("quiero cita el sábado 14 a las 10", "book", D(3, 14), T(10), None, None, {}),
    ("la próxima semana el jueves", "book", D(3, 12), None, None, None, {}),
    ("una cita lo antes posible", "book", None, None, None, None, {"urgency": "urgent"}),
    ("necesito la vacuna de la gripe", "book", None, None, None, "vaccination", {}),
    ("quiero reservar una consulta por enfermedad", "book", None, None, None, "sick-visit", {}),
    ("quiero sacar turno para el viernes", "book", D(3, 6), None, None, None, {}),
    ("agendar una revisión para la semana que viene", "book", D(3, 9), None, None, "checkup", {}),
    ("¿hay horarios libres hoy en la tarde?", "book", D(3, 4), None, "afternoon", None, {}),
    ("mañana temprano", "book", D(3, 5), None, "morning", None, {}),
    ("el lunes a las 8 de la mañana", "book", D(3, 9), T(8), "morning", None, {}),
    ("el miércoles de la semana que viene a las 11", "book", D(3, 11), T(11), None, None, {}),
    ("el próximo viernes a las 4", "book", D(3, 6), T(16), None, None, {}),
    ("dentro de 2 semanas", "book", D(3, 18), None, None, None, {}),
    ("en 3 días a la una", "book", D(3, 7), T(13), None, None, {}),
    ("el 21 de marzo a las 3 y 20", "book", D(3, 21), T(15, 20), None, None, {}),
    ("el primero de abril", "book", D(4, 1), None, None, None, {}),
    ("para el 9 de marzo de 2027", "book", D(3, 9, 2027), None, None, None, {}),
    ("a las 8 de la noche", "book", None, T(20), "evening", None, {}),
    ("a las 15 hrs el martes", "book", D(3, 10), T(15), None, None, {}),
    ("después de las 3", "book", None, T(15), None, None, {"time_bound": "after"}),
    (
        "antes de las 10 de la mañana",
        "book",
        None,
        T(10),
        "morning",
        None,
        {"time_bound": "before"},
    ),
    ("hoy mismo por favor", "book", D(3, 4), None, None, None, {}),
    (
        "quiero una cita con la enfermera moreau",
        "book",
        None,
        None,
        None,
        None,
        {"provider": "moreau"},
    ),
    ("una eco del corazón", "book", None, None, None, "cardiac-echo", {}),
    # Cancelar.
    ("cancelar mi cita", "cancel", None, None, None, None, {}),
    ("quiero cancelar la cita del martes", "cancel", D(3, 10), None, None, None, {}),
    ("no puedo ir mañana", "cancel", D(3, 5), None, None, None, {}),
    ("no voy a poder ir a la cita", "cancel", None, None, None, None, {}),
    ("anular la consulta", "cancel", None, None, None, None, {}),
    ("ya no necesito la cita", "cancel", None, None, None, None, {}),
    ("cancela la vacuna por favor", "cancel", None, None, None, "vaccination", {}),
    ("cancelar la cita #8", "cancel", None, None, None, None, {"reference": 8}),
    # Cambiar / reprogramar.
    ("quiero cambiar mi cita", "reschedule", None, None, None, None, {}),
    ("reprogramar la cita para el viernes", "reschedule", D(3, 6), None, None, None, {}),
    ("¿puedo cambiar la cita a otro día?", "reschedule", None, None, None, None, {}),
    ("mover mi cita a las 4 de la tarde", "reschedule", None, T(16), "afternoon", None, {}),
    ("necesito otra hora", "reschedule", None, None, None, None, {}),
    ("pasar la cita al lunes", "reschedule", D(3, 9), None, None, None, {}),
    ("reagendar el chequeo", "reschedule", None, None, None, "checkup", {}),
    ("cambiar la cita 8 para el jueves", "reschedule", D(3, 5), None, None, None, {"reference": 8}),
    # Mis citas.
    ("mis citas", "list", None, None, None, None, {}),
    ("¿qué citas tengo?", "list", None, None, None, None, {}),
    ("¿cuándo es mi cita?", "list", None, None, None, None, {}),
    ("¿tengo alguna cita?", "list", None, None, None, None, {}),
    ("¿a qué hora es mi cita?", "list", None, None, None, None, {}),
    ("¿sigue en pie mi cita?", "list", None, None, None, None, {}),
    # Sí / no / elegir.
    ("sí", "confirm", None, None, None, None, {}),
    ("si", "confirm", None, None, None, None, {}),
    ("Sí, está bien", "confirm", None, None, None, None, {}),
    ("claro que sí", "confirm", None, None, None, None, {}),
    ("de acuerdo", "confirm", None, None, None, None, {}),
    ("vale", "confirm", None, None, None, None, {}),
    ("perfecto, gracias", "confirm", None, None, None, None, {}),
    ("no", "deny", None, None, None, None, {}),
    ("no gracias", "deny", None, None, None, None, {}),
    ("ninguno de esos", "deny", None, None, None, None, {}),
    ("no me sirve", "deny", None, None, None, None, {}),
    ("la segunda", "choose", None, None, None, None, {"choice": 2}),
    ("el primero", "choose", None, None, None, None, {"choice": 1}),
    ("la 3", "choose", None, None, None, None, {"choice": 3}),
    ("opción 2", "choose", None, None, None, None, {"choice": 2}),
    ("quiero la tercera", "choose", None, None, None, None, {"choice": 3}),
    # Ayuda, saludos, lista de espera, baja.
    ("ayuda", "help", None, None, None, None, {}),
    ("¿qué puede hacer?", "help", None, None, None, None, {}),
    ("necesito ayuda por favor", "help", None, None, None, None, {}),
    ("hola", "greeting", None, None, None, None, {}),
    ("buenos días", "greeting", None, None, None, None, {}),
    ("buenas tardes", "greeting", None, None, None, None, {}),
    ("anóteme en la lista de espera", "waitlist", None, None, None, None, {}),
    ("avíseme si se libera algo antes", "waitlist", None, None, None, None, {}),
    ("lista de espera para el chequeo", "waitlist", None, None, None, "checkup", {}),
    ("ALTO", "stop", None, None, None, None, {}),
    ("baja", "stop", None, None, None, None, {}),
    ("no me escriban más", "stop", None, None, None, None, {}),
    ("dejen de enviarme mensajes", "stop", None, None, None, None, {}),
    # Red flags, negations inside them included.
    ("Tengo un dolor de pecho muy fuerte", "emergency", None, None, None, None, {}),
    ("no puedo respirar", "emergency", None, None, None, None, {}),
    ("me falta el aire", "emergency", None, None, None, None, {}),
    ("creo que es un derrame", "emergency", None, None, None, None, {}),
    ("tengo pensamientos suicidas", "emergency", None, None, None, None, {}),
    ("quiero morirme", "emergency", None, None, None, None, {}),
    ("se tomó una sobredosis", "emergency", None, None, None, None, {}),
    ("mi hijo no respira", "emergency", None, None, None, None, {}),
    ("no para de sangrar", "emergency", None, None, None, None, {}),
    ("NO QUIERO VIVIR", "emergency", None, None, None, None, {}),
    ("dolor de pecho, quiero una cita", "emergency", None, None, None, None, {}),
    ("se desmayo y no despierta", "emergency", None, None, None, None, {}),
    ("tiene convulsiones", "emergency", None, None, None, None, {}),
    # Without accents, in capitals, with punctuation.
    ("QUIERO UNA CITA PARA EL MIERCOLES", "book", D(3, 11), None, None, None, {}),
    ("necesito cita!!! manana a las 10", "book", D(3, 5), T(10), None, None, {}),
    ("¿Me da una cita para el jueves, por favor?", "book", D(3, 5), None, None, None, {}),
    ("cita pa mañana", "book", D(3, 5), None, None, None, {}),
]


def test_the_table_has_at_least_a_hundred_phrasings():
    assert len(PHRASINGS) >= 100


@pytest.mark.parametrize(
    "text, intent, day, at, part, kind, extra", PHRASINGS, ids=[p[0] for p in PHRASINGS]
)
def test_spanish_is_understood(text, intent, day, at, part, kind, extra):
    u = understand(text, NOW, VOCABULARY)
    got = {"intent": u.intent}
    wanted = {"intent": intent}
    if intent != "emergency":
        got.update(date=u.date, time=u.time, part=u.part_of_day, kind=u.appointment_type)
        wanted.update(date=day, time=at, part=part, kind=kind)
    for name, value in extra.items():
        got[name] = getattr(u, name)
        wanted[name] = value
    assert got == wanted
    assert (
        u.language == "es"
        or intent in ("confirm", "deny", "choose", "stop")
        or intent == "emergency"
    )


@pytest.mark.parametrize(
    "text, language",
    [
        ("quiero una cita para mañana", "es"),
        ("I need a checkup tomorrow", "en"),
        ("necesito cancelar mi cita", "es"),
        ("can you move my appointment", "en"),
    ],
)
def test_the_language_is_told(text, language):
    assert understand(text, NOW, VOCABULARY).language == language
