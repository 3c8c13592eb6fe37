"""The local dialogue's routing (bot/patient/dialogue.py), one `respond` at a time: which step a
message answers, what interrupts a step, and the state each turn hands back.

Each turn is built from real objects: the patient from the database, `SchedulingTools` on a real
session, and the local understanding of the text. The clinic's now is Wednesday 2026-03-04 09:00
in New York.
"""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from sqlalchemy import select

from bot.audit.trail import AuditTrail
from bot.patient import replies
from bot.patient.dialogue import Turn, respond
from bot.tools import Caller, SchedulingTools
from bot.understanding.nlu import Vocabulary, understand
from scheduler.models import Appointment, AppointmentStatus
from scheduler.patients import find_or_create_patient, patient_name, set_patient_name

PHONE = "+12125550123"
THU = date(2026, 3, 5)
FRI = date(2026, 3, 6)


class Dialogue:
    """Sends one message at a time to `respond`, each in a transaction of its own (as the engine
    does), with the state the test hands in."""

    def __init__(self, sessions, vault, clinic, now):
        self.sessions, self.vault, self.clinic, self.now = sessions, vault, clinic, now
        self.audit = AuditTrail(vault)
        self.vocabulary = Vocabulary.from_clinic(clinic)
        self.turn: Turn | None = None

    def patient_named(self, name: str) -> None:
        with self.sessions.begin() as db:
            set_patient_name(self.vault, self._patient(db), name)

    def _patient(self, db):
        return find_or_create_patient(db, self.vault, PHONE, now=self.now)

    def respond(self, text: str, state: dict | None = None) -> dict:
        with self.sessions.begin() as db:
            patient = self._patient(db)
            tools = SchedulingTools(
                db,
                self.clinic,
                self.audit,
                Caller(role="patient", channel="console", patient_id=patient.id),
                self.now,
            )
            understanding = understand(text, self.now.astimezone(self.clinic.zone), self.vocabulary)
            self.turn = Turn(
                text=text,
                understanding=understanding,
                patient=patient,
                tools=tools,
                clinic=self.clinic,
                vault=self.vault,
                now=self.now,
            )
            return respond(self.turn, dict(state or {}))

    @property
    def said(self) -> str:
        return "\n".join(r.text for r in self.turn.replies)

    @property
    def options(self) -> tuple[str, ...]:
        return tuple(o for r in self.turn.replies for o in r.options)

    def book(self, type_key: str, day: date, at: time) -> int:
        """An appointment of the patient's, booked through the tools as they would."""
        with self.sessions.begin() as db:
            patient = self._patient(db)
            tools = SchedulingTools(
                db,
                self.clinic,
                self.audit,
                Caller(role="patient", channel="console", patient_id=patient.id),
                self.now,
            )
            slot = tools.find_slots(type_key, start_date=day, end_date=day, around=at, limit=1)[0]
            assert slot.start.astimezone(self.clinic.zone).time() == at
            return tools.book_appointment(slot).id


@pytest.fixture
def dialogue(sessions, vault, demo_clinic, now):
    return Dialogue(sessions, vault, demo_clinic, now)


@pytest.fixture
def named(dialogue):
    dialogue.patient_named("Jordan Testperson")
    return dialogue


def _status(sessions, appointment_id):
    with sessions() as db:
        return db.get(Appointment, appointment_id).status


def _count(sessions):
    with sessions() as db:
        return len(db.scalars(select(Appointment.id)).all())


# --- booking: the steps, in order ------------------------------------------------------------


def test_a_booking_from_a_patient_without_a_name_asks_the_name_first(dialogue):
    state = dialogue.respond("book a checkup")
    assert state["step"] == "ask_name" and state["type"] == "checkup"
    assert dialogue.said == replies.ask_name()


def test_the_name_given_is_stored_and_the_visit_questions_go_on(dialogue, sessions, vault):
    state = dialogue.respond(
        "Jordan Testperson", {"mode": "book", "step": "ask_name", "name_asked": True}
    )
    assert state["step"] == "ask_type"
    assert dialogue.said.startswith("Thanks, Jordan.")
    assert dialogue.options == tuple(replies.type_names(dialogue.clinic))
    with sessions() as db:
        patient = find_or_create_patient(db, vault, PHONE, now=dialogue.now)
        assert patient_name(vault, patient) == "Jordan Testperson"


def test_a_named_patient_is_asked_the_kind_of_visit_then_the_day(named):
    state = named.respond("I need an appointment")
    assert state["step"] == "ask_type" and "type" not in state
    state = named.respond("3", state)  # the third kind listed
    assert state["step"] == "ask_day" and state["type"] == named.clinic.appointment_types[2].key
    assert "What day works for your Vaccination?" in named.said


def test_a_day_gets_three_numbered_openings_on_that_day(named):
    state = named.respond("tomorrow", {"mode": "book", "type": "checkup", "step": "ask_day"})
    assert state["step"] == "offer_slots" and state["date"] == THU.isoformat()
    assert len(state["offers"]) == 3 and len(named.options) == 3
    assert all(label.startswith("Thu Mar 5") for label in state["labels"])


def test_a_number_books_the_opening_offered_under_it_and_ends_the_conversation(named, sessions):
    offered = named.respond("tomorrow", {"mode": "book", "type": "checkup", "step": "ask_day"})
    state = named.respond("2", offered)
    assert state == {}
    when = offered["labels"][1].split(" with ")[0]  # "Thu Mar 5 at 8:15 AM"
    assert named.said.startswith("You're booked:") and when in named.said
    with sessions() as db:
        booked = db.scalars(select(Appointment)).one()
        assert booked.start_at == datetime.fromisoformat(offered["offers"][1]["start"])
        assert f"(ref #{booked.id})" in named.said


def test_everything_a_first_message_says_is_kept_and_only_the_rest_asked(named):
    state = named.respond("a vaccination on friday at 8:15am")
    assert state["step"] == "offer_slots"
    assert state["type"] == "vaccination" and state["date"] == FRI.isoformat()
    assert state["labels"][0].startswith("Fri Mar 6 at 8:15 AM")


# --- a clear new request interrupts any step -------------------------------------------------


def test_cancel_in_the_middle_of_booking_turns_to_the_cancellation(named, sessions):
    appointment = named.book("checkup", THU, time(10, 0))
    offering = named.respond("friday", {"mode": "book", "type": "vaccination", "step": "ask_day"})
    assert offering["step"] == "offer_slots"
    state = named.respond("actually cancel my appointment", offering)
    assert state["step"] == "confirm_cancel" and state["appointment"] == appointment
    assert "offers" not in state
    assert _status(sessions, appointment) == AppointmentStatus.BOOKED  # asked, not done


def test_reschedule_in_the_middle_of_the_name_question_starts_the_move(named):
    appointment = named.book("checkup", THU, time(10, 0))
    state = named.respond(
        "I want to reschedule", {"mode": "book", "step": "ask_name", "name_asked": True}
    )
    assert state["mode"] == "reschedule" and state["appointment"] == appointment
    assert state["step"] == "ask_day" and state["from_time"] == "10:00"
    assert "When would you like to move your General check-up" in named.said


def test_asking_for_the_list_while_choosing_a_time_lists_and_drops_the_booking(named):
    named.book("checkup", THU, time(10, 0))
    offering = named.respond("monday", {"mode": "book", "type": "vaccination", "step": "ask_day"})
    state = named.respond("what appointments do I have?", offering)
    assert state == {}
    assert named.said.startswith(
        "Your upcoming appointment: General check-up, Thu Mar 5 at 10:00 AM"
    )


def test_help_while_a_kind_of_visit_is_asked_answers_help(named):
    state = named.respond("help", {"mode": "book", "step": "ask_type"})
    assert state == {}
    assert named.said == replies.help_text(named.clinic)


# --- giving up, thanks, and answers to nothing -----------------------------------------------


@pytest.mark.parametrize("text", ["never mind", "nvm", "Forget it!"])
def test_never_mind_drops_what_was_under_way_and_changes_nothing(named, sessions, text):
    appointment = named.book("checkup", THU, time(10, 0))
    asking = named.respond("cancel my appointment")
    assert asking["step"] == "confirm_cancel"
    assert named.respond(text, asking) == {}
    assert named.said == replies.never_mind()
    assert _status(sessions, appointment) == AppointmentStatus.BOOKED


def test_a_thank_you_with_nothing_under_way_gets_a_welcome(named):
    assert named.respond("ok thanks!") == {}
    assert named.said == replies.you_are_welcome()


def test_a_thank_you_in_the_middle_of_a_question_is_no_answer_and_keeps_the_step(named):
    asking = {"mode": "book", "type": "checkup", "step": "ask_day"}
    state = named.respond("thanks", asking)
    assert state["step"] == "ask_day" and state["type"] == "checkup"
    assert "welcome" not in named.said


@pytest.mark.parametrize("text", ["yes", "no", "2"])
def test_an_answer_with_nothing_to_answer_says_so_and_books_nothing(named, sessions, text):
    assert named.respond(text) == {}
    assert named.said == replies.nothing_to_confirm()
    assert _count(sessions) == 0


# --- picking and cancelling an appointment ---------------------------------------------------


def test_cancel_with_two_appointments_asks_which_with_both_listed(named):
    first = named.book("checkup", THU, time(10, 0))
    second = named.book("vaccination", FRI, time(9, 0))
    state = named.respond("cancel appointment")
    assert state["step"] == "pick_appointment" and state["action"] == "cancel"
    assert state["choices"] == [first, second]
    assert named.options[0].startswith("General check-up, Thu Mar 5")
    assert named.options[1].startswith("Vaccination, Fri Mar 6")


def test_the_number_picked_is_the_appointment_asked_to_confirm(named):
    named.book("checkup", THU, time(10, 0))
    second = named.book("vaccination", FRI, time(9, 0))
    state = named.respond("2", named.respond("cancel appointment"))
    assert state["step"] == "confirm_cancel" and state["appointment"] == second
    assert state["description"].startswith("Vaccination, Fri Mar 6 at 9:00 AM")
    assert "Reply YES to cancel or NO to keep it" in named.said


def test_yes_to_the_cancel_question_cancels_it(named, sessions):
    appointment = named.book("checkup", THU, time(10, 0))
    asking = named.respond("cancel my appointment")
    assert named.respond("yes", asking) == {}
    assert "is cancelled" in named.said
    assert _status(sessions, appointment) == AppointmentStatus.CANCELLED


def test_no_to_the_cancel_question_keeps_it(named, sessions):
    appointment = named.book("checkup", THU, time(10, 0))
    asking = named.respond("cancel my appointment")
    assert named.respond("no", asking) == {}
    assert named.said == replies.kept()
    assert _status(sessions, appointment) == AppointmentStatus.BOOKED


def test_something_else_to_the_cancel_question_asks_again_and_keeps_the_step(named, sessions):
    appointment = named.book("checkup", THU, time(10, 0))
    asking = named.respond("cancel my appointment")
    assert named.respond("hmm", asking) == asking
    assert named.said == replies.not_understood("confirm_cancel")
    assert _status(sessions, appointment) == AppointmentStatus.BOOKED
