"""Whose visit it is (bot/patient/naming.py): the name a message introduces, whom a booking is
for, and the answers people give to "what is your full name?" (a name, SKIP, a question back, or
the visit instead). Nothing but a name is ever stored as one.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.patient.naming import attendee_relation, introduced_name
from scheduler.models import Appointment
from scheduler.patients import find_or_create_patient, patient_name

PATIENT = "+12125550123"  # the chat fixture's patient

ASK_NAME = "Before I book, what is your full name? (You can reply SKIP.)"


def _name(sessions, vault, now):
    with sessions() as db:
        return patient_name(vault, find_or_create_patient(db, vault, PATIENT, now=now))


@pytest.mark.parametrize(
    "text, name",
    [
        ("Hi, my name is Lee Example. I need a checkup", "Lee Example"),
        ("this is Robert", "Robert"),
        ("This is Bill Price calling", "Bill Price"),
        ("I'm Sam Example", "Sam Example"),
        ("Good morning, I am Ravi Kumar", "Ravi Kumar"),
        ("hi im Maria Lopez I need a shot", "Maria Lopez"),
        ("my name is Jean-Luc Picard", "Jean-Luc Picard"),
        ("my name is Ana. I need a checkup", "Ana"),
        ("I'm Sick", None),  # one capitalized word after "I'm" is no name
        ("I'm Jordan", None),
        ("I am sick and need a visit", None),
        ("my name is lee example", None),  # only capitalized words count
        ("this is Thursday", None),  # no weekday, month or title is a name
        ("my name is Dr Who", None),
        ("book a checkup", None),
    ],
)
def test_the_name_a_message_introduces(text, name):
    assert introduced_name(text) == name


@pytest.mark.parametrize(
    "text, relation",
    [
        ("I need an appointment for my son", "son"),
        ("my kid's rash is worse", "child"),
        ("my husband needs a checkup", "husband"),
        ("my daughter is sick", "daughter"),
        ("book a checkup for my Mom", "mother"),
        ("una cita para mi mamá", "mother"),
        ("mi hija tiene fiebre", "daughter"),
        ("book a checkup for me", None),
        ("my son", None),  # who, but not that the visit is his
        ("a checkup for my dog", None),
    ],
)
def test_whom_a_booking_is_for(text, relation):
    assert attendee_relation(text) == relation


# --- "what is your full name?" -----------------------------------------------------------------


def test_a_booking_from_someone_unnamed_asks_their_name(chat):
    assert chat.text("book a checkup") == ASK_NAME


def test_a_name_introduced_with_the_request_is_kept_and_not_asked(chat, sessions, vault, now):
    reply = chat.text("Hi, my name is Lee Example. I need a checkup")
    assert reply.startswith("Thanks, Lee.") and "full name" not in reply
    assert _name(sessions, vault, now) == "Lee Example"


@pytest.mark.parametrize(
    "answer", ["my name is Lee Example", "I'm Lee Example", "Lee Example", "call me Lee Example."]
)
def test_the_name_is_read_as_people_answer_it(chat, sessions, vault, now, answer):
    chat.text("book a checkup")
    reply = chat.text(answer)
    assert reply.startswith("Thanks, Lee.\nWhat day works for your General check-up?")
    assert _name(sessions, vault, now) == "Lee Example"


@pytest.mark.parametrize("answer", ["SKIP", "no thanks", "I'd rather not say"])
def test_skip_goes_on_without_a_name(chat, sessions, vault, now, answer):
    chat.text("book a checkup")
    assert chat.text(answer).startswith("What day works for your General check-up?")
    assert _name(sessions, vault, now) is None


def test_a_question_back_is_answered_and_the_name_asked_again(chat, sessions, vault, now):
    chat.text("book a checkup")
    assert chat.text("why do you need my name?") == (
        "Your name tells the clinic who is coming. Please reply with your full name, or SKIP."
    )
    assert _name(sessions, vault, now) is None
    assert chat.text("Lee Example").startswith("Thanks, Lee.")


@pytest.mark.parametrize("answer", ["hello", "ok", "thanks"])
def test_a_word_that_is_no_name_is_not_stored(chat, sessions, vault, now, answer):
    chat.text("book a checkup")
    assert chat.text(answer) == (
        "Sorry, I didn't catch that. Please tell me your full name, or reply SKIP."
    )
    assert _name(sessions, vault, now) is None


def test_the_visit_given_instead_of_the_name_is_kept_and_the_name_asked_once_more(
    chat, sessions, vault, now
):
    chat.text("book a checkup")
    assert chat.text("tomorrow morning") == (
        "Got it. And your full name, please? (You can reply SKIP.)"
    )
    assert _name(sessions, vault, now) is None
    reply = chat.text("Lee Example")
    assert reply.startswith("Thanks, Lee.\nThese times are open.")
    assert "1. Thu Mar 5 at 8:00 AM" in reply  # tomorrow morning, as said before


def test_the_visit_given_instead_of_the_name_is_kept_after_skip_too(chat):
    chat.text("book a checkup")
    chat.text("friday")
    assert "1. Fri Mar 6" in chat.text("SKIP")


def test_the_same_words_sent_again_are_a_name_after_all(chat, sessions, vault, now):
    chat.text("book a checkup")
    assert "your full name, please?" in chat.text("Hope Friday")  # read as a day at first
    reply = chat.text("Hope Friday")
    assert reply.startswith("Thanks, Hope.\nWhat day works")  # and Friday is not kept
    assert _name(sessions, vault, now) == "Hope Friday"


def test_when_words_sent_twice_are_still_no_name(chat, sessions, vault, now):
    chat.text("book a checkup")
    assert "your full name, please?" in chat.text("tomorrow morning")
    assert chat.text("tomorrow morning") == (
        "Sorry, I didn't catch that. Please tell me your full name, or reply SKIP."
    )
    assert _name(sessions, vault, now) is None
    assert "1. Thu Mar 5 at 8:00 AM" in chat.text("Lee Example")  # the visit still kept


# --- booking for someone else ------------------------------------------------------------------


def test_a_booking_for_someone_else_asks_their_name_not_the_patients(chat):
    assert chat.text("book a checkup tomorrow for my son").startswith(
        "What is the full name of your son? It goes on the appointment; texts still come to you."
    )


def test_the_attendees_name_goes_on_the_appointment_and_the_patient_stays_unnamed(
    chat, sessions, vault, now
):
    chat.text("book a checkup tomorrow for my son")
    offered = chat.text("his name is Sam Example")
    assert offered.startswith("Thanks, Sam.\nFor Sam Example: General check-up.")
    assert chat.text("1").startswith("You're booked: General check-up for Sam Example with")
    with sessions() as db:
        appointment = db.scalars(select(Appointment)).one()
        assert vault.decrypt(appointment.attendee_enc) == "Sam Example"
    assert _name(sessions, vault, now) is None


def test_skip_for_the_attendee_books_without_a_name_on_it(chat, sessions, vault):
    chat.text("book a checkup tomorrow for my daughter")
    offered = chat.text("skip")
    assert "For " not in offered and "1. Thu Mar 5" in offered
    chat.text("1")
    with sessions() as db:
        assert db.scalars(select(Appointment)).one().attendee_enc is None


def test_a_day_given_instead_of_the_attendees_name_is_kept_and_the_name_asked_again(chat):
    chat.text("book a checkup for my son")
    assert chat.text("friday").startswith("What is the full name of your son?")
    assert "1. Fri Mar 6" in chat.text("Sam Example")
