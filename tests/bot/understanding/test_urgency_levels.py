"""How soon a message says the patient must be seen (bot/understanding/triage.py `urgency`):
emergency, urgent, soon (bot/understanding/soon.py) or nothing, in English and Spanish, erring
towards the higher level, with the ordinary words that only look like symptoms left alone."""

from __future__ import annotations

import timeit

import pytest

from bot.understanding import triage

SOON = [
    ("I have a rash on my arm", "skin"),
    ("my son has hives", "skin"),
    ("itchy skin since the weekend", "skin"),
    ("a tick bite from the hike", "skin"),
    ("I've had a cough for a week", "cough_throat"),
    ("sore throat for three days", "cough_throat"),
    ("I think I caught a cold", "cough_throat"),
    ("stuffy nose and sinus pressure", "cough_throat"),
    ("earache since Monday", "ear"),
    ("my ears feel blocked", "ear"),
    ("my back hurts", "pain"),
    ("a mild ongoing pain in the knee", "pain"),
    ("knee pain when I run", "pain"),
    ("I have a headache", "pain"),
    ("toothache on the left", "pain"),
    ("it's been aching for two weeks", "pain"),
    ("it burns when I pee", "urinary"),
    ("I think it's a UTI", "urinary"),
    ("pink eye, I think", "eye"),
    ("red itchy eyes", "eye"),
]

SOON_ES = [
    ("tengo un sarpullido en el brazo", "skin"),
    ("me salieron ronchas", "skin"),
    ("mucha comezón en la piel", "skin"),
    ("tengo tos desde hace una semana", "cough_throat"),
    ("dolor de garganta", "cough_throat"),
    ("creo que tengo gripe", "cough_throat"),
    ("estoy resfriada", "cough_throat"),
    ("me duele el oído", "ear"),
    ("tengo los oídos tapados", "ear"),
    ("me duele la espalda", "pain"),
    ("dolor de cabeza desde hace días", "pain"),
    ("dolor de muelas leve", "pain"),
    ("tengo un dolor leve", "pain"),
    ("ardor al orinar", "urinary"),
    ("tengo conjuntivitis", "eye"),
    ("ojos rojos e irritados", "eye"),
]


@pytest.mark.parametrize("text, category", SOON + SOON_ES)
def test_symptoms_for_this_week_are_soon(text, category):
    assert triage.urgency(text) == "soon"
    assert triage.red_flag(text) is None and triage.urgent_care(text) is None
    match = triage._SOON.search(triage.normalize(text))
    assert match is not None and match.lastgroup == category


@pytest.mark.parametrize(
    "text, level",
    [
        ("chest pain and a cough", "emergency"),
        ("I can't breathe, bad cough", "emergency"),
        ("no puedo respirar y tengo tos", "emergency"),
        ("a rash and a high fever", "urgent"),
        ("the rash is spreading", "urgent"),
        ("my ear is infected", "urgent"),
        ("severe earache", "urgent"),
        ("sore throat, getting worse", "urgent"),
        ("tengo tos y fiebre muy alta", "urgent"),
        ("el sarpullido se está extendiendo", "urgent"),
        ("my back pain is gone, just a follow-up", "soon"),  # errs higher, like the others
        ("I have a cough", "soon"),
        ("a checkup please", None),
    ],
)
def test_the_highest_level_in_the_message_wins(text, level):
    assert triage.urgency(text) == level


@pytest.mark.parametrize(
    "text",
    [
        "that was a rash decision, sorry, keep my appointment",
        "I was rash to cancel, can I rebook?",
        "I'll cough up the copay at the desk",
        "this form is a pain in the neck",
        "filling in this form is a headache",
        "can I get a flu shot",
        "I'd like the flu vaccine",
        "I need an eye exam",
        "I'm on the red eye flight, so Thursday afternoon",
        "traffic congestion made me late",
        "urgent please, asap",
        "book a cleaning",
        "he oído que tienen citas el sábado",
        "me pica la curiosidad: ¿abren los domingos?",
        "quiero la vacuna de la gripe",
        "quiero vacunarme contra la gripe",
        "necesito un chequeo",
        "quiero una limpieza",
    ],
)
def test_words_that_only_look_like_symptoms_are_left_alone(text):
    assert triage.urgency(text) is None


def test_only_the_start_of_a_long_message_is_read_and_empty_is_nothing():
    assert triage.urgency("x" * 50_000 + " rash") is None
    assert triage.urgency("") is None and triage.urgency("\u202e\U0001f600") is None


def test_reading_the_level_stays_cheap():
    text = "Hola, quisiera cambiar mi cita del viernes a las 3 con la doctora Okafor, gracias"
    per_message = min(timeit.repeat(lambda: triage.urgency(text), number=200, repeat=5)) / 200
    assert per_message < 0.001
