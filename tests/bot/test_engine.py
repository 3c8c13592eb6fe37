"""The local engine end to end, without Flask: book, list, reschedule, cancel, and bad input.

The clock is Wednesday 2026-03-04 09:00 in New York.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.audit.trail import AuditTrail
from scheduler.models import Appointment, AppointmentStatus, AuditEvent, Patient

PATIENT = "+12125550123"  # the conftest chat's patient


def _appointments(sessions):
    with sessions() as db:
        return db.scalars(select(Appointment).order_by(Appointment.id)).all()


def _book(chat, first="book a checkup tomorrow", pick="2"):
    asked = chat.text(first)
    assert "name" in asked.lower()
    offered = chat.text("Jordan Testperson")
    assert "Thu Mar 5" in offered and "1." in offered and "3." in offered
    return chat.text(pick)


def test_new_patient_books_with_name_day_and_choice(chat, sessions, demo_clinic):
    confirmation = _book(chat)
    appointments = _appointments(sessions)
    assert len(appointments) == 1
    booked = appointments[0]
    assert booked.status == AppointmentStatus.BOOKED
    local = booked.start_at.astimezone(demo_clinic.zone)
    assert local.date().isoformat() == "2026-03-05"
    assert booked.provider.name in confirmation
    assert demo_clinic.name in confirmation and "Thu Mar 5" in confirmation
    assert f"{local.hour % 12 or 12}:{local:%M}" in confirmation


def test_name_is_asked_only_once(chat, sessions):
    _book(chat)
    reply = chat.text("book a vaccination on friday")
    assert "name" not in reply.lower() and "Fri Mar 6" in reply


@pytest.mark.parametrize(
    "closing",
    ["thanks!", "ok thanks", "Thank you so much for your help", "bye", "great, thank you!"],
)
def test_a_thank_you_after_booking_gets_a_welcome_not_a_puzzle(chat, closing):
    _book(chat)
    reply = chat.text(closing)
    assert reply.startswith("You're welcome.") and "didn't catch" not in reply


def test_a_thank_you_in_the_middle_of_a_question_keeps_the_question(chat, sessions):
    chat.text("book a checkup tomorrow")
    offered = chat.text("Jordan Testperson")
    assert "1." in offered
    assert "welcome" not in chat.text("thanks")
    chat.text("2")
    assert len(_appointments(sessions)) == 1


def test_what_appointments_do_i_have_lists_them(chat):
    _book(chat)
    assert "Your upcoming appointment" in chat.text("what appointments do I have?")


def _two_booked(chat):
    _book(chat)  # a check-up, Thu Mar 5
    chat.text("book a vaccination on friday")
    assert "You're booked" in chat.text("1")  # a vaccination, Fri Mar 6


def test_which_appointment_can_be_said_in_words(chat, sessions):
    _two_booked(chat)
    assert "Which appointment" in chat.text("cancel my appointment")
    asked = chat.text("the vaccination")
    assert asked.startswith("Cancel your Vaccination") and "Fri Mar 6" in asked
    chat.text("yes")
    statuses = {a.appointment_type.key: a.status for a in _appointments(sessions)}
    assert statuses == {
        "checkup": AppointmentStatus.BOOKED,
        "vaccination": AppointmentStatus.CANCELLED,
    }


def test_which_appointment_by_its_day(chat):
    _two_booked(chat)
    chat.text("reschedule")
    assert "General check-up, Thu Mar 5" in chat.text("the one on thursday")


def test_a_request_that_names_one_appointment_acts_on_it(chat):
    _two_booked(chat)  # a check-up Thu Mar 5, a vaccination Fri Mar 6
    assert chat.text("cancel my vaccination").startswith("Cancel your Vaccination, Fri Mar 6")
    chat.text("no")
    assert chat.text("cancel my appointment on thursday").startswith(
        "Cancel your General check-up, Thu Mar 5"
    )
    chat.text("no")
    assert "1. Mon Mar 9" in chat.text("move my vaccination to monday")


def test_a_day_in_a_request_to_move_is_where_to_not_which(chat):
    _two_booked(chat)
    assert "Which appointment" in chat.text("move my appointment to friday")


def test_words_that_fit_several_appointments_are_asked_again(chat, sessions):
    _book(chat)  # a check-up, Thu Mar 5
    chat.text("book a checkup on friday")
    assert "You're booked" in chat.text("1")  # another, Fri Mar 6
    assert "Which appointment" in chat.text("cancel my checkup")  # fits both
    assert "number of the appointment" in chat.text("the checkup")  # still both
    assert "number of the appointment" in chat.text("the one with the clinic")  # neither
    assert chat.text("the one on friday").startswith("Cancel your General check-up, Fri Mar 6")


def test_a_new_booking_request_while_picking_starts_the_booking(chat):
    _two_booked(chat)
    chat.text("reschedule")
    assert "These times are open" in chat.text("book a sick visit on monday")


def _offered_times(reply):
    """The times of the numbered offers in a reply, as (hour, minute) on a 24-hour clock."""
    import re

    times = []
    for hour, minute, half in re.findall(
        r"^\d\. \w{3} \w{3} \d+ at (\d+):(\d\d) (AM|PM)", reply, re.MULTILINE
    ):
        times.append((int(hour) % 12 + (12 if half == "PM" else 0), int(minute)))
    return times


def test_anything_later_or_earlier_offers_the_neighbouring_times_that_day(chat):
    chat.text("book a checkup tomorrow at 11am")
    first = _offered_times(chat.text("Jordan Testperson"))
    assert len(first) == 3
    later = chat.text("do you have anything later?")
    assert "Thu Mar 5" in later and min(_offered_times(later)) > max(first)
    earlier = chat.text("anything earlier?")
    assert "Thu Mar 5" in earlier and max(_offered_times(earlier)) < min(_offered_times(later))
    # "a later time" reads as moving an appointment elsewhere; here it is about these times.
    again = chat.text("is there a later time?")
    assert "upcoming" not in again and _offered_times(again)


def test_when_nothing_is_later_that_day_the_last_times_stay_offered(chat, sessions):
    chat.text("book a checkup tomorrow")
    chat.text("Jordan Testperson")
    last = reply = ""
    for _ in range(60):
        last, reply = reply, chat.text("later")
        if "nothing later" in reply:
            break
    assert reply.startswith(
        "There is nothing later on Thu Mar 5. Reply with a number for one "
        "of these, or tell me another day:"
    )
    assert _offered_times(reply) == _offered_times(last)
    assert "You're booked" in chat.text("3")
    [booked] = _appointments(sessions)
    local = booked.start_at.astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == _offered_times(reply)[2]


@pytest.mark.parametrize(
    "asked",
    [
        "can I talk to a person",
        "I want to speak to someone",
        "can someone call me back?",
        "real person please",
    ],
)
def test_asking_for_a_person_gets_the_clinic_phone_and_the_question_stays(chat, asked):
    chat.text("book a checkup tomorrow")
    assert "1." in chat.text("Jordan Testperson")
    reply = chat.text(asked)
    assert reply.startswith("To talk to a person, call") and "(212) 555-0100" in reply
    assert "You're booked" in chat.text("2")  # the times offered still stand


@pytest.mark.parametrize(
    "asked", ["where are you located?", "what's your address", "is there parking"]
)
def test_where_the_clinic_is_is_answered(chat, asked):
    assert "12 Maple Street" in chat.text(asked)


def test_call_me_is_a_way_of_giving_a_name(chat, sessions, vault):
    chat.text("book a checkup")
    assert chat.text("call me Jordan Testperson").startswith("Thanks, Jordan.")
    assert _stored_name(sessions, vault) == "Jordan Testperson"


@pytest.mark.parametrize(
    "first, when",
    [
        ("book a checkup asap", None),
        ("earliest available checkup", None),
        ("book a checkup", "first available please"),
        ("book a checkup", "any day is fine"),
        ("can I get in this week for a checkup?", None),
        ("book a checkup", "next available"),
    ],
)
def test_the_soonest_asked_for_offers_the_earliest_openings(chat, first, when):
    chat.text(first)
    reply = chat.text("Jordan Testperson")
    if when is not None:
        assert "What day" in reply
        reply = chat.text(when)
    # Wednesday 9:00: the day's first openings, without "no openings on ..." for a day not asked.
    assert reply.startswith("Thanks, Jordan.\nThese times are open") or reply.startswith(
        "These times are open"
    )
    assert "Wed Mar 4" in reply or "Thu Mar 5" in reply


def test_a_day_named_after_asking_for_the_soonest_is_that_day(chat):
    chat.text("book a checkup asap")
    chat.text("Jordan Testperson")
    assert "Tue Mar 10" in chat.text("actually next tuesday")


@pytest.mark.parametrize(
    "asked", ["what are your hours?", "are you open on saturday", "what time do you close"]
)
def test_opening_hours_are_told_from_the_providers_hours(chat, asked):
    assert chat.text(asked) == (
        "Maple Street Family Clinic is open Mon 8:00 AM-6:00 PM, Tue-Fri 8:00 AM-7:00 PM, "
        "Sat 9:00 AM-1:00 PM. Call (212) 555-0100 with questions."
    )


@pytest.mark.parametrize(
    "said", ["I'm running 10 minutes late", "I'll be a bit late", "stuck in traffic!"]
)
def test_running_late_gets_the_phone_and_books_nothing(chat, said):
    _book(chat)
    assert "Please call (212) 555-0100" in chat.text(said)


def test_late_afternoon_is_a_time_of_day_not_running_late(chat):
    chat.text("book a checkup tomorrow")
    chat.text("skip")
    reply = chat.text("late afternoon")
    assert "letting us know" not in reply and "1. Thu Mar 5" in reply and "PM" in reply


@pytest.mark.parametrize(
    "asked", ["how much does a checkup cost", "do you take medicare?", "what's my copay"]
)
def test_cost_and_insurance_go_to_the_front_desk(chat, asked):
    assert chat.text(asked).startswith("The front desk can answer that")


def test_at_the_name_question_a_name_is_never_a_side_question(chat, sessions, vault):
    chat.text("book a checkup")
    assert chat.text("Bill Price").startswith("Thanks, Bill.")
    assert _stored_name(sessions, vault) == "Bill Price"


def test_moving_to_a_time_without_a_day_keeps_the_day(chat):
    _book(chat)  # a check-up, Thu Mar 5 in the morning
    offered = chat.text("move my appointment to 3pm")
    assert "1. Thu Mar 5 at 3:00 PM" in offered


def test_same_time_on_another_day_keeps_the_time(chat, sessions, demo_clinic):
    _book(chat)
    booked = _appointments(sessions)[0].start_at.astimezone(demo_clinic.zone)
    clock = f"{booked.hour % 12 or 12}:{booked:%M} {'AM' if booked.hour < 12 else 'PM'}"
    assert f"1. Mon Mar 9 at {clock}" in chat.text("move it to next monday same time")
    chat.text("reschedule")
    chat.text("tuesday")
    assert f"1. Tue Mar 10 at {clock}" in chat.text("same time please")


@pytest.mark.parametrize("said", ["hola quiero una cita", "quisiera una cita por favor"])
def test_spanish_while_the_name_is_asked_switches_to_spanish_and_is_never_a_name(
    chat, sessions, vault, said
):
    chat.text("book a checkup")
    assert "nombre completo" in chat.text(said)  # asked again, in Spanish
    assert _stored_name(sessions, vault) is None
    assert chat.text("Jordan Testperson").startswith("Gracias, Jordan.")  # the question stands


def _stored_name(sessions, vault):
    from scheduler.patients import patient_name

    with sessions() as db:
        return patient_name(vault, db.scalars(select(Patient)).one())


def test_what_the_visit_is_is_not_taken_for_a_name_and_is_kept(chat, sessions, vault):
    assert "name" in chat.text("I'd like to see someone")
    again = chat.text("i need a checkup")
    assert "full name" in again and "Thanks, i" not in again
    assert "full name" in chat.text("tomorrow please")
    offered = chat.text("Jordan Testperson")
    # The type and the day said instead of the name are not asked again.
    assert offered.startswith("Thanks, Jordan.") and "Thu Mar 5" in offered and "1." in offered
    assert _stored_name(sessions, vault) == "Jordan Testperson"


@pytest.mark.parametrize(
    "answer, stored",
    [
        ("My name is Jordan Testperson", "Jordan Testperson"),
        ("I'm Jordan Testperson.", "Jordan Testperson"),
        ("hi, this is Jordan", "Jordan"),
        ("Anh Do", "Anh Do"),
        ("Maria Guadalupe Garcia Lopez", "Maria Guadalupe Garcia Lopez"),
    ],
)
def test_a_name_is_taken_from_how_people_say_it(chat, sessions, vault, answer, stored):
    chat.text("book a checkup")
    assert chat.text(answer).startswith(f"Thanks, {stored.split()[0]}.")
    assert _stored_name(sessions, vault) == stored


@pytest.mark.parametrize("answer", ["why do you need my name", "what for?"])
def test_asking_why_the_name_is_answered_and_nothing_is_stored(chat, sessions, vault, answer):
    chat.text("book a checkup")
    assert "who is coming" in chat.text(answer)
    assert _stored_name(sessions, vault) is None
    assert chat.text("Jordan Testperson").startswith("Thanks, Jordan.")


@pytest.mark.parametrize("answer", ["I'd rather not say", "no thanks", "Skip."])
def test_declining_to_give_a_name_goes_on_without_one(chat, sessions, vault, answer):
    chat.text("book a checkup")
    assert "What day" in chat.text(answer)
    assert _stored_name(sessions, vault) is None


@pytest.mark.parametrize("answer", ["hello", "thanks", "ok", "12345", "x" * 90])
def test_words_that_are_not_names_are_asked_again(chat, sessions, vault, answer):
    chat.text("book a checkup")
    assert "full name" in chat.text(answer)
    assert _stored_name(sessions, vault) is None


def test_a_name_that_reads_like_a_day_is_taken_when_sent_again(chat, sessions, vault):
    chat.text("book a checkup")
    assert "full name" in chat.text("Hope Friday")
    asked_day = chat.text("Hope Friday")
    # Taken as the name, and "Friday" is not kept as the day of the visit.
    assert asked_day.startswith("Thanks, Hope.") and "What day" in asked_day
    assert _stored_name(sessions, vault) == "Hope Friday"


def test_my_name_is_is_trusted_whatever_the_words(chat, sessions, vault):
    chat.text("book a checkup")
    assert chat.text("my name is Grace Free").startswith("Thanks, Grace.")
    assert _stored_name(sessions, vault) == "Grace Free"


def test_an_answer_to_some_other_question_is_not_a_name(chat, sessions, vault):
    chat.text("book a checkup")
    assert "full name" in chat.text("none of those work")
    assert _stored_name(sessions, vault) is None


def test_the_waitlist_asked_for_while_booking_is_for_that_visit(chat, sessions):
    from scheduler.models import WaitlistEntry

    chat.text("book a checkup with Dr. Okafor tomorrow")
    assert "1." in chat.text("Jordan Testperson")
    joined = chat.text("put me on the waitlist")
    assert "Which kind of visit" not in joined
    with sessions() as db:
        entry = db.scalars(select(WaitlistEntry)).one()
    assert (entry.type_key, entry.provider_key) == ("checkup", "okafor")
    assert entry.earliest.isoformat() == "2026-03-05"


def test_booking_asks_for_the_type_then_the_day(chat, sessions):
    chat.text("I'd like an appointment")
    asked_type = chat.text("skip")
    assert "What kind of visit" in asked_type and "1. General check-up" in asked_type
    asked_day = chat.text("1")
    assert "What day" in asked_day
    offered = chat.text("next tuesday afternoon")
    assert "Tue Mar 10" in offered
    chat.text("1")
    booked = _appointments(sessions)[0]
    assert booked.start_at.astimezone(ZoneInfo("America/New_York")).hour >= 12


def test_a_requested_time_is_offered_first_when_free(chat, sessions):
    chat.text("book a checkup")
    chat.text("Jordan Testperson")
    offered = chat.text("tomorrow at 3")
    assert "1. Thu Mar 5 at 3:00 PM" in offered


def test_listing_shows_upcoming_appointments(chat, sessions):
    assert "no upcoming" in chat.text("my appointments").lower()
    _book(chat)
    listing = chat.text("when is my appointment?")
    assert "General check-up" in listing and "Thu Mar 5" in listing


def test_cancel_asks_for_confirmation_then_frees_the_slot(chat, sessions):
    _book(chat)
    question = chat.text("cancel my appointment")
    assert "YES" in question
    assert _appointments(sessions)[0].status == AppointmentStatus.BOOKED
    done = chat.text("yes")
    assert "cancelled" in done.lower()
    assert _appointments(sessions)[0].status == AppointmentStatus.CANCELLED


def test_saying_no_keeps_the_appointment(chat, sessions):
    _book(chat)
    chat.text("cancel my appointment")
    assert "unchanged" in chat.text("no")
    assert _appointments(sessions)[0].status == AppointmentStatus.BOOKED


def test_reschedule_moves_the_same_appointment(chat, sessions, demo_clinic):
    _book(chat)
    before = _appointments(sessions)[0]
    asked = chat.text("can I reschedule?")
    assert "When would you like to move" in asked
    offered = chat.text("friday morning")
    assert "Fri Mar 6" in offered
    moved = chat.text("1")
    assert "now on Fri Mar 6" in moved
    after = _appointments(sessions)
    assert len(after) == 1 and after[0].id == before.id
    assert after[0].start_at.astimezone(demo_clinic.zone).date().isoformat() == "2026-03-06"
    assert after[0].status == AppointmentStatus.BOOKED


def test_with_two_appointments_cancel_asks_which(chat, sessions):
    _book(chat)
    chat.text("book a vaccination on friday")
    chat.text("1")
    asked = chat.text("cancel appointment")
    assert "Which appointment" in asked and "2." in asked
    assert "YES" in chat.text("2")
    chat.text("yes")
    statuses = sorted(a.status.value for a in _appointments(sessions))
    assert statuses == ["booked", "cancelled"]


def test_a_past_date_is_explained_and_nearest_slots_offered(chat):
    chat.text("book a checkup")
    chat.text("skip")
    reply = chat.text("March 2nd")
    assert "passed" in reply and "1." in reply


def test_a_day_beyond_the_booking_horizon_is_explained(chat):
    chat.text("book a sick visit")
    chat.text("skip")
    assert "up to 14 days ahead" in chat.text("April 20")


def test_an_ordinal_during_an_offer_is_read_as_a_day(chat):
    chat.text("book a checkup tomorrow")
    chat.text("skip")
    assert "Mon Mar 9" in chat.text("the 9th")


def test_an_impossible_date_is_explained(chat):
    chat.text("book a checkup")
    chat.text("skip")
    reply = chat.text("February 30th")
    assert "doesn't exist" in reply


def test_a_time_outside_hours_offers_the_nearest(chat):
    chat.text("book a checkup")
    chat.text("skip")
    reply = chat.text("tomorrow at 11pm")
    assert "isn't available" in reply and "1." in reply


def _nearly_fill(sessions, vault, clinic, now, day):
    """Book every check-up opening of `day` for another patient, then cancel one of those
    bookings: one or two openings are left (two when the slot before it was a gap)."""
    from scheduler import availability, booking
    from scheduler.patients import find_or_create_patient

    def free():
        return availability.find_slots(db, clinic, "checkup", now=now, start_date=day, end_date=day)

    with sessions.begin() as db:
        other = find_or_create_patient(db, vault, "+12125550188", now=now)
        made = []
        while openings := free():
            made.append(booking.book(db, clinic, patient_id=other.id, slot=openings[0], now=now).id)
        booking.cancel(db, made[len(made) // 2], now=now)
        left = len(free())
    assert left in (1, 2)
    return left


def test_a_nearly_full_day_is_offered_with_the_next_openings(
    chat, sessions, vault, demo_clinic, clock
):
    tomorrow = clock.now.astimezone(demo_clinic.zone).date() + timedelta(days=1)
    left = _nearly_fill(sessions, vault, demo_clinic, clock.now, tomorrow)
    chat.text("book a checkup tomorrow")
    offered = chat.text("skip")
    assert offered.startswith(
        f"Thu Mar 5 has only {'one opening' if left == 1 else '2 openings'}"
        " left, so the next ones are listed too"
    )
    lines = [line for line in offered.splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert len(lines) == 3
    assert ["Thu Mar 5" in line for line in lines] == [True] * left + [False] * (3 - left)
    before = {a.id for a in _appointments(sessions)}
    assert "You're booked" in chat.text("3")
    [mine] = [a for a in _appointments(sessions) if a.id not in before]
    assert mine.start_at.astimezone(demo_clinic.zone).date() > tomorrow


def test_a_choice_out_of_range_repeats_the_offer(chat):
    chat.text("book a checkup tomorrow")
    chat.text("skip")
    reply = chat.text("7")
    assert reply.startswith("Please reply with a number from 1 to 3.") and "3. Thu Mar 5" in reply


def test_a_single_option_is_not_a_range_from_1_to_1():
    from bot.patient import replies

    assert replies.choose_range(1) == "Please reply 1 to choose it."


def test_a_day_given_when_asked_the_kind_of_visit_is_kept(chat):
    chat.text("book an appointment")
    assert "What kind of visit" in chat.text("skip")
    reply = chat.text("tomorrow morning")
    assert reply.startswith("Got it. What kind of visit") and "didn't catch" not in reply
    offered = chat.text("1")
    assert "Thu Mar 5 at 8:" in offered or "Thu Mar 5 at 9:" in offered


@pytest.mark.parametrize(
    "question",
    ["do i need to bring anything", "How should I prepare?", "is there paperwork to fill out"],
)
def test_what_to_bring_goes_to_the_front_desk_and_the_offer_stays(chat, question):
    chat.text("book a checkup tomorrow")
    offered = chat.text("skip")
    reply = chat.text(question)
    assert "what to bring" in reply and "(212) 555-0100" in reply
    assert "You're booked" in chat.text("1") and "1." in offered


def test_after_a_time_offers_only_later_openings_earliest_first(chat):
    chat.text("book a checkup tomorrow after 3pm")
    times = _offered_times(chat.text("skip"))
    assert len(times) == 3 and times == sorted(times) and min(times) >= (15, 0)


def test_before_a_time_offers_only_earlier_openings(chat):
    chat.text("book a checkup tomorrow")
    chat.text("skip")
    reply = chat.text("anything before 10am?")
    times = _offered_times(reply)
    assert "Thu Mar 5" in reply and len(times) == 3 and max(times) <= (10, 0)


def test_after_a_time_nobody_works_offers_the_nearest_and_says_so(chat):
    chat.text("book a checkup tomorrow after 8pm")
    reply = chat.text("skip")
    assert reply.startswith("That time isn't available on Thu Mar 5") and _offered_times(reply)


def test_no_to_the_offered_times_asks_for_a_day_and_a_number_still_takes_one(chat, sessions):
    chat.text("book a checkup tomorrow")
    offered = _offered_times(chat.text("skip"))
    assert chat.text("no") == "No problem. What other day works for you?"
    assert "You're booked" in chat.text("2")
    local = _appointments(sessions)[0].start_at.astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == offered[1]


@pytest.mark.parametrize("asked", ["what is my ref number", "whats the confirmation number?"])
def test_the_reference_number_is_in_the_list(chat, sessions, asked):
    _book(chat)
    [booked] = _appointments(sessions)
    reply = chat.text(asked)
    assert reply.startswith("Your upcoming appointment:") and f"(ref #{booked.id})" in reply


def test_a_question_about_reminders_is_answered_and_the_offer_stays(chat):
    chat.text("book a checkup tomorrow")
    chat.text("skip")
    reply = chat.text("will I get a reminder?")
    assert "Reminders go out by text" in reply and "C to confirm" in reply
    assert "You're booked" in chat.text("1")


@pytest.mark.parametrize(
    "ack", ["ok", "Okay!", "sounds good", "\U0001f44d", "\U0001f44d\U0001f3fd", "great."]
)
def test_an_ok_after_booking_is_taken_note_of(chat, ack):
    _book(chat)
    assert chat.text(ack) == "Great. Text any time to book, move or cancel a visit."


def test_an_ok_to_a_question_is_no_answer(chat):
    chat.text("book a checkup tomorrow")
    chat.text("skip")
    reply = chat.text("ok")
    assert not reply.startswith("Great.") and "1." in reply


def test_a_name_given_with_the_request_is_not_asked_again(chat, sessions, vault):
    reply = chat.text("Hi, my name is Lee Example. I need a checkup tomorrow, mornings are best")
    assert reply.startswith("Thanks, Lee.\n") and "name" not in reply and "Thu Mar 5" in reply
    with sessions() as db:
        [patient] = db.scalars(select(Patient)).all()
        assert vault.decrypt(patient.name_enc) == "Lee Example"


@pytest.mark.parametrize(
    "said",
    [
        "I am Very Sick, can I come in tomorrow",
        "this is Thursday ok? book a checkup",
        "i'm sick, book a sick visit tomorrow",
    ],
)
def test_words_after_i_am_or_this_is_are_not_taken_for_a_name(chat, said):
    assert "what is your full name?" in chat.text(said)


@pytest.mark.parametrize(
    "asked", ["move the vaccination to monday", "can you move my flu shot to monday?"]
)
def test_moving_a_visit_named_by_its_kind_moves_it_and_books_nothing(chat, sessions, asked):
    _two_booked(chat)  # a check-up Thu Mar 5, a vaccination Fri Mar 6
    before = {a.id: a.start_at for a in _appointments(sessions)}
    assert "Mon Mar 9" in chat.text(asked)
    assert "is now on Mon Mar 9" in chat.text("1")
    after = _appointments(sessions)
    assert {a.id for a in after} == set(before)  # moved, not booked anew
    moved = [a for a in after if a.start_at != before[a.id]]
    assert [a.appointment_type.key for a in moved] == ["vaccination"]


def test_i_cant_make_the_visit_named_asks_to_cancel_it_and_books_nothing(chat, sessions):
    _two_booked(chat)  # a check-up Thu Mar 5, a vaccination Fri Mar 6
    asked = chat.text("I can't make the vaccination, sorry")
    assert asked.startswith("Cancel your Vaccination") and "Fri Mar 6" in asked
    chat.text("yes")
    statuses = {a.appointment_type.key: a.status.value for a in _appointments(sessions)}
    assert statuses == {"checkup": "booked", "vaccination": "cancelled"}


@pytest.mark.parametrize("answer, booked", [("yes", 2), ("no", 1)])
def test_the_same_kind_of_visit_twice_a_day_is_asked_first(chat, sessions, answer, booked):
    _book(chat)  # a check-up, Thu Mar 5
    chat.text("book a checkup tomorrow at 3pm")
    asked = chat.text("1")
    assert (
        asked.startswith(
            "You already have that kind of visit that day: General check-up, Thu Mar 5"
        )
        and "Reply YES" in asked
    )
    assert len(_appointments(sessions)) == 1
    reply = chat.text(answer)
    assert ("You're booked" in reply) == (answer == "yes")
    assert len(_appointments(sessions)) == booked


def test_another_kind_of_visit_the_same_day_is_booked_at_once(chat, sessions):
    _book(chat)  # a check-up, Thu Mar 5
    chat.text("book a vaccination tomorrow at 3pm")
    assert "You're booked" in chat.text("1")
    assert len(_appointments(sessions)) == 2


def test_a_flu_vaccine_is_a_vaccination_not_a_sick_visit(chat, sessions):
    chat.text("Could I please book a flu vaccine tomorrow morning?")
    chat.text("skip")
    assert "You're booked: Vaccination" in chat.text("1")
    assert [a.appointment_type.key for a in _appointments(sessions)] == ["vaccination"]


def test_a_name_after_a_greeting_and_im_is_kept(chat):
    reply = chat.text("Hi there, I'm Sam Example. Can I book a physical tomorrow after 2?")
    assert reply.startswith("Thanks, Sam.\n") and "Thu Mar 5 at 2:" in reply


@pytest.mark.parametrize("said", ["bye", "ok bye", "thanks"])
def test_a_goodbye_is_never_taken_for_a_name(chat, sessions, vault, said):
    chat.text("book a checkup")
    reply = chat.text(said)
    assert "full name" in reply and not reply.startswith("Thanks,")
    with sessions() as db:
        assert db.scalars(select(Patient.name_enc)).one() is None


def test_being_late_or_reminders_are_answered_while_the_name_is_asked(chat):
    chat.text("book a checkup")
    assert "call (212) 555-0100" in chat.text("What should I do if I'm going to be 10 min late")
    assert "Reminders go out by text" in chat.text("can you text me the day before?")
    assert chat.text("Jordan Testperson").startswith("Thanks, Jordan.")


def test_a_question_about_new_patients_is_answered(chat):
    reply = chat.text("Is Dr Lindqvist taking new patients?")
    assert reply.startswith("I can book a visit for you by text") and "full name" not in reply


def test_make_it_another_time_instead_right_after_booking_moves_it(chat, sessions):
    _book(chat)  # a check-up, Thu Mar 5
    [booked] = _appointments(sessions)
    assert "Thu Mar 5 at 10:00 AM" in chat.text("Actually can we make it 10am instead?")
    assert "is now on Thu Mar 5 at 10:00 AM" in chat.text("1")
    [moved] = _appointments(sessions)
    assert moved.id == booked.id


def test_make_it_instead_with_nothing_booked_is_a_booking(chat, sessions):
    assert "full name" in chat.text("can we make it 10am tomorrow instead")
    assert _appointments(sessions) == []


@pytest.mark.parametrize("asked", ["what's the address again", "where do I park?"])
def test_where_the_clinic_is_is_answered_while_the_name_is_asked(chat, sessions, asked):
    chat.text("book a checkup")
    assert "12 Maple Street" in chat.text(asked)
    with sessions() as db:
        assert db.scalars(select(Patient.name_enc)).one() is None
    assert chat.text("Jordan Testperson").startswith("Thanks, Jordan.")


def test_a_sentence_is_not_taken_for_a_name(chat, sessions):
    chat.text("book a checkup")
    assert "full name" in chat.text("see you at the appointment")
    with sessions() as db:
        assert db.scalars(select(Patient.name_enc)).one() is None


def test_symptoms_when_asked_the_kind_of_visit_make_it_a_sick_visit(chat):
    chat.text("I want to make an appointment")
    chat.text("skip")
    assert "your Sick visit" in chat.text("I don't know, I've been having headaches")


def test_yes_to_offers_led_by_the_time_asked_for_takes_that_time(chat, sessions):
    chat.text("book a checkup tomorrow at 10am")
    offered = chat.text("skip")
    assert offered.splitlines()[1].startswith("1. Thu Mar 5 at 10:00 AM")
    assert "You're booked" in chat.text("yes")
    local = _appointments(sessions)[0].start_at.astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (10, 0)


def test_yes_to_offers_without_a_time_asked_for_is_no_choice(chat, sessions):
    chat.text("book a checkup tomorrow")
    chat.text("skip")
    assert "number" in chat.text("yes") and _appointments(sessions) == []


@pytest.mark.parametrize("said", ["nvm", "Never mind.", "forget it"])
def test_never_mind_drops_what_was_under_way(chat, sessions, said):
    chat.text("book a checkup tomorrow")
    chat.text("skip")
    assert chat.text(said).startswith("OK, nothing was changed.")
    assert "not sure what you're answering" in chat.text("1")
    assert _appointments(sessions) == []


def test_thoughts_of_self_harm_get_the_crisis_line_and_911(chat, sessions):
    [reply] = chat.say("I don't want to live anymore, I want to die")
    assert reply.kind == "emergency" and "988" in reply.text and "911" in reply.text
    with sessions() as db:
        flags = db.scalars(select(AuditEvent.detail).where(AuditEvent.kind == "red_flag")).all()
    assert flags == [{"category": "self_harm"}]


def test_other_emergencies_and_clinics_outside_north_america_get_no_988(demo_clinic):
    import dataclasses

    from bot.patient import replies

    assert "988" not in replies.emergency(demo_clinic, "cardiac")
    abroad = dataclasses.replace(demo_clinic, phone="+442079460000")
    assert "988" not in replies.emergency(abroad, "self_harm")
    assert "emergency" in replies.emergency(abroad, "self_harm")


def test_red_flag_gets_emergency_reply_and_no_booking(chat, sessions):
    replies = chat.say("I have chest pain and want an appointment tomorrow")
    assert replies[0].kind == "emergency" and "911" in replies[0].text
    assert _appointments(sessions) == []
    with sessions() as db:
        assert db.scalar(select(func.count()).where(AuditEvent.kind == "red_flag")) == 1


def test_red_flag_interrupts_a_booking_in_progress(chat):
    chat.text("book a checkup")
    assert "911" in chat.text("I can't breathe")
    assert "not sure what you're answering" in chat.text("2")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "x" * 10_000,
        "\U0001f600\U0001f600\U0001f600",
        "Здравствуйте, доктор",
        "<script>alert(1)</script>",
        "'; DROP TABLE appointments;--",
        "asdf qwer zxcv",
    ],
)
def test_bad_input_gets_a_polite_reply_and_changes_nothing(chat, sessions, text):
    replies = chat.say(text)
    assert len(replies) == 1 and replies[0].text
    assert "Traceback" not in replies[0].text
    assert _appointments(sessions) == []


def test_every_message_in_and_out_is_audited_with_encrypted_text(chat, sessions, vault):
    chat.text("hello")
    with sessions() as db:
        kinds = db.scalars(select(AuditEvent.kind).order_by(AuditEvent.seq)).all()
        raw = b"".join(e.text_enc or b"" for e in db.scalars(select(AuditEvent)))
    assert kinds == ["message_in", "message_out"]
    assert b"hello" not in raw
    assert AuditTrail(vault).verify(sessions()).ok


def test_booking_changes_are_audited(chat, sessions):
    _book(chat)
    chat.text("cancel my appointment")
    chat.text("yes")
    with sessions() as db:
        kinds = set(db.scalars(select(AuditEvent.kind)))
    assert {"appointment_booked", "appointment_cancelled"} <= kinds


def test_patients_see_only_their_own_appointments(make_chat, sessions):
    alice, bob = make_chat("+12125550131"), make_chat("+12125550132")
    _book(alice)
    assert "no upcoming" in bob.text("my appointments").lower()
    assert "no upcoming" in bob.text("cancel my appointment").lower()


def test_phone_and_name_are_encrypted_at_rest(chat, sessions):
    _book(chat)
    with sessions() as db:
        patient = db.scalars(select(Patient)).one()
    assert PATIENT.encode() not in patient.phone_enc and b"Jordan" not in patient.name_enc
    assert PATIENT not in patient.phone_index


def test_the_conversation_starts_over_after_the_idle_timeout(chat, clock, sessions):
    assert "name" in chat.text("book a checkup")
    clock.advance(minutes=31)
    assert "didn't catch" in chat.text("Jordan Testperson")
    with sessions() as db:
        assert db.scalars(select(Patient)).one().name_enc is None


def test_an_engine_failure_is_a_polite_reply_and_an_audit_trace(chat, sessions, monkeypatch):
    from bot.patient import dialogue

    def broken(turn, state):
        raise RuntimeError("boom")

    monkeypatch.setattr(dialogue, "respond", broken)
    replies = chat.say("book a checkup")
    assert "something went wrong" in replies[0].text and "boom" not in replies[0].text
    with sessions() as db:
        kinds = db.scalars(select(AuditEvent.kind)).all()
    assert kinds == ["turn_failed"]


def test_asked_which_appointment_a_number_is_its_place_and_a_reference_must_be_theirs(
    chat, sessions
):
    _two_booked(chat)
    first, second = _appointments(sessions)
    assert "Which appointment" in chat.text("cancel my appointment")
    # "#2" answers the question: the second listed.
    assert chat.text("#2").startswith("Cancel your Vaccination, Fri Mar 6")
    chat.text("no")
    # Asked again, a reference that is theirs picks it; one that is not changes nothing.
    chat.text("cancel my appointment")
    assert chat.text(f"appointment {first.id}").startswith("Cancel your General check-up")
    chat.text("no")
    chat.text("cancel my appointment")
    refused = chat.text("appointment 99")
    assert "None of your upcoming appointments has the reference #99" in refused
    assert f"(ref #{first.id})" in refused and f"(ref #{second.id})" in refused
    assert "Cancel" not in chat.text("yes")
    assert all(a.status == AppointmentStatus.BOOKED for a in _appointments(sessions))


def test_next_week_same_time_is_kept_while_asked_which_and_counts_from_the_visit(
    chat, sessions, demo_clinic
):
    _two_booked(chat)  # a check-up Thu Mar 5, a vaccination Fri Mar 6
    checkup = _appointments(sessions)[0].start_at.astimezone(demo_clinic.zone)
    clock = f"{checkup.hour % 12 or 12}:{checkup:%M} {'AM' if checkup.hour < 12 else 'PM'}"
    assert "Which appointment" in chat.text("move my appt to next week same time")
    # Next week from the Thursday visit is Thursday Mar 12, at the visit's time: not tomorrow.
    assert f"1. Thu Mar 12 at {clock}" in chat.text("the checkup")


def test_next_week_for_a_visit_being_moved_is_the_week_after_it(chat):
    _book(chat)  # a check-up, Thu Mar 5
    chat.text("reschedule")
    offered = chat.text("next week")
    assert "Thu Mar 12" in offered.splitlines()[1] and "Thu Mar 5" not in offered


def test_a_request_inside_a_long_message_is_answered_with_its_question(chat):
    answer = chat.text(
        "Hi, I'd like a checkup next Tuesday or Wednesday before 10, preferably "
        "with a female doctor, and what should I bring?"
    )
    assert "what to bring" in answer  # the question, answered
    assert "can't choose a provider that way" in answer  # the wish it cannot act on, said so
    assert "name" in answer.lower()  # and the booking goes on
    offered = chat.text("Jordan Testperson")
    assert "Tue Mar 10" in offered and "AM" in offered and "PM" not in offered


def test_a_question_with_no_request_is_only_answered(chat):
    answer = chat.text("do you take aetna? and can my husband come in with me")
    assert "front desk" in answer and "name" not in answer.lower()


def test_booking_for_a_child_asks_whose_visit_and_keeps_their_name_on_it(chat, sessions, vault):
    asked = chat.text("can I get an appointment for my kid's rash tomorrow")
    assert asked.startswith("What is the full name of your child?")
    offered = chat.text("Sam Example")
    assert offered.startswith("Thanks, Sam.") and "For Sam Example: Sick visit." in offered
    booked = chat.text("1")
    assert booked.startswith("You're booked: Sick visit for Sam Example with")
    [appointment] = _appointments(sessions)
    assert vault.decrypt(appointment.attendee_enc) == "Sam Example"
    assert _stored_name(sessions, vault) is None  # the contact's own name: not asked
    assert "Sick visit for Sam Example, Thu Mar 5" in chat.text("my appointments")
    with sessions() as db:
        [event] = db.scalars(
            select(AuditEvent).where(AuditEvent.kind == "appointment_booked")
        ).all()
    assert event.detail["for_someone"] is True and "Sam" not in str(event.detail)


@pytest.mark.parametrize(
    "text, relation",
    [
        ("I need a checkup for my mother", "mother"),
        ("my son has a fever", "son"),
        ("quiero una cita para mi hija", "daughter"),
        ("mi mamá necesita una cita", "mother"),
        ("I need a checkup", None),
        ("my appointment is tomorrow", None),
    ],
)
def test_whom_a_booking_is_for(text, relation):
    from bot.patient.dialogue import attendee_relation

    assert attendee_relation(text) == relation
