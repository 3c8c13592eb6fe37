"""What the conversation says: greetings, help, emergencies, the booking questions, offers and
confirmations, moving a visit, and the small answers that close a turn. What it says about the
appointments a patient already has (the list, picking one, cancelling it) is appointments.py's.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.i18n import _, ngettext
from bot.patient.replies.wording import day_text, when_text
from scheduler.clinic import Clinic
from scheduler.errors import SchedulingError


def greeting(clinic: Clinic, name: str | None) -> str:
    if name:
        return _(
            "Hi {name}! This is the {clinic} scheduling assistant. I can book, move or "
            "cancel a visit, or list your appointments. What would you like to do?"
        ).format(name=name.split()[0], clinic=clinic.name)
    return _(
        "Hi! This is the {clinic} scheduling assistant. I can book, move or cancel a "
        "visit, or list your appointments. What would you like to do?"
    ).format(clinic=clinic.name)


def help_text(clinic: Clinic) -> str:
    return _(
        "{clinic}: text 'book' to make an appointment, 'my appointments' to see them, "
        "'reschedule' to move one or 'cancel appointment' to cancel. To talk to a person "
        "call {phone}. For an emergency call 911."
    ).format(clinic=clinic.name, phone=clinic.display_phone)


def emergency(clinic: Clinic, category: str | None = None) -> str:
    """What to do now. Thoughts of self-harm get the crisis line too (988, in the US and Canada:
    the clinic's number tells where it is; it answers in Spanish too)."""
    if category == "self_harm" and clinic.phone.startswith("+1"):
        return _(
            "If you are thinking about harming yourself, please call or text 988 (Suicide "
            "& Crisis Lifeline) now, or call 911. You don't have to go through this alone. "
            "The clinic can be reached at {phone}."
        ).format(phone=clinic.display_phone)
    return _(
        "This sounds like it could be an emergency. Call 911 (or your local emergency "
        "number) now, or go to the nearest emergency room. Do not wait for an appointment. "
        "The clinic can be reached at {phone}."
    ).format(phone=clinic.display_phone)


def not_understood(step: str | None) -> str:
    hints: dict[str | None, str] = {
        "ask_type": _(
            "Sorry, I didn't catch that. Please reply with the number of the kind of "
            "visit you need."
        ),
        "ask_day": _(
            "Sorry, I didn't catch that. What day works for you? For example "
            "'tomorrow', 'next Tuesday' or 'March 9'."
        ),
        "offer_slots": _(
            "Sorry, I didn't catch that. Please reply with the number of the time "
            "you want, or tell me another day."
        ),
        "confirm_cancel": _(
            "Sorry, I didn't catch that. Please reply YES to cancel it or NO to keep it."
        ),
        "confirm_second": _(
            "Sorry, I didn't catch that. Please reply YES to book it as well, or "
            "NO to book nothing."
        ),
        "pick_appointment": _(
            "Sorry, I didn't catch that. Please reply with the number of the appointment."
        ),
        "ask_name": _("Sorry, I didn't catch that. Please tell me your full name, or reply SKIP."),
        "ask_attendee": _(
            "Sorry, I didn't catch that. Please tell me the full name of whom "
            "the visit is for, or reply SKIP."
        ),
    }
    return hints.get(step) or _(
        "Sorry, I didn't catch that. I can book, move or cancel a "
        "visit, or list your appointments. Text 'help' for more."
    )


def empty_message() -> str:
    return _(
        "I didn't get any text. I can book, move or cancel a visit, or list your "
        "appointments. What would you like to do?"
    )


def ask_name() -> str:
    return _("Before I book, what is your full name? (You can reply SKIP.)")


def ask_name_again() -> str:
    return _("Got it. And your full name, please? (You can reply SKIP.)")


def why_name() -> str:
    return _("Your name tells the clinic who is coming. Please reply with your full name, or SKIP.")


def name_thanks(name: str) -> str:
    return _("Thanks, {name}.").format(name=name.split()[0])


def relation_noun(relation: str) -> str:
    """Whom a patient books for, as the language names them ("son", "hijo")."""
    nouns = {
        "son": _("son"),
        "daughter": _("daughter"),
        "child": _("child"),
        "mother": _("mother"),
        "father": _("father"),
        "husband": _("husband"),
        "wife": _("wife"),
        "partner": _("partner"),
        "grandmother": _("grandmother"),
        "grandfather": _("grandfather"),
        "brother": _("brother"),
        "sister": _("sister"),
    }
    return nouns.get(relation, relation)


def ask_attendee_name(relation: str) -> str:
    return _(
        "What is the full name of your {relation}? It goes on the appointment; texts "
        "still come to you. (You can reply SKIP.)"
    ).format(relation=relation_noun(relation))


def offer_for(name: str, type_name: str) -> str:
    return _("For {name}: {type}.").format(name=name, type=type_name)


def ask_type() -> str:
    return _("What kind of visit do you need? Reply with a number.")


def ask_type_keeping_when() -> str:
    """The kind of visit asked again, the day or time the answer gave kept."""
    return _("Got it. What kind of visit do you need? Reply with a number.")


def ask_day(type_name: str) -> str:
    return _(
        "What day works for your {type}? For example 'tomorrow', 'next Tuesday' or 'March 9'."
    ).format(type=type_name)


def ask_day_again() -> str:
    return _("No problem. What other day works for you?")


def ask_reschedule_day(description: str) -> str:
    return _("When would you like to move your {appointment} to? Tell me a day.").format(
        appointment=description
    )


def impossible_date() -> str:
    return _("That date doesn't exist on the calendar. What day works for you?")


def past_date(day: date) -> str:
    return _("{day} has already passed.").format(day=day_text(day))


def beyond_horizon(type_name: str, days: int) -> str:
    return ngettext(
        "A {type} can be booked up to {days} day ahead. What day within that works for you?",
        "A {type} can be booked up to {days} days ahead. What day within that works for you?",
        days,
    ).format(type=type_name, days=days)


def slots_offer(
    day: date | None, on_requested_day: int = 0, *, exact: bool = True, shown: int = 0
) -> str:
    """The line above offered openings: `on_requested_day` of the `shown` are on `day`, the
    day asked for (None: no day was asked for)."""
    if day is not None and not on_requested_day:
        return _("There are no openings on {day}. The nearest are:").format(day=day_text(day))
    if day is not None and not exact:
        return _("That time isn't available on {day}. The nearest openings are:").format(
            day=day_text(day)
        )
    if day is not None and on_requested_day < shown:
        return ngettext(
            "{day} has only one opening left, so the next ones are listed too. "
            "Reply with a number:",
            "{day} has only {count} openings left, so the next ones are listed "
            "too. Reply with a number:",
            on_requested_day,
        ).format(day=day_text(day), count=on_requested_day)
    return _("These times are open. Reply with a number:")


def nothing_beside(day: date, *, later: bool) -> str:
    if later:
        return _(
            "There is nothing later on {day}. Reply with a number for one of these, or "
            "tell me another day:"
        ).format(day=day_text(day))
    return _(
        "There is nothing earlier on {day}. Reply with a number for one of these, or tell "
        "me another day:"
    ).format(day=day_text(day))


def no_slots(type_name: str, clinic: Clinic) -> str:
    return _(
        "I couldn't find an opening for a {type} in the next few weeks. Please call {phone} "
        "and we will fit you in."
    ).format(type=type_name, phone=clinic.display_phone)


def slot_label(start: datetime, provider_name: str, zone: ZoneInfo) -> str:
    return _("{when} with {provider}").format(when=when_text(start, zone), provider=provider_name)


def booked(
    type_name: str, start: datetime, provider_name: str, clinic: Clinic, appointment_id: int
) -> str:
    return _(
        "You're booked: {type} with {provider} on {when} at {clinic} (ref #{ref}). To "
        "change it, text 'reschedule' or 'cancel appointment'."
    ).format(
        type=type_name,
        provider=provider_name,
        when=when_text(start, clinic.zone),
        clinic=clinic.name,
        ref=appointment_id,
    )


def booked_for(
    attendee: str,
    type_name: str,
    start: datetime,
    provider_name: str,
    clinic: Clinic,
    appointment_id: int,
) -> str:
    return _(
        "You're booked: {type} for {name} with {provider} on {when} at {clinic} (ref "
        "#{ref}). To change it, text 'reschedule' or 'cancel appointment'."
    ).format(
        type=type_name,
        name=attendee,
        provider=provider_name,
        when=when_text(start, clinic.zone),
        clinic=clinic.name,
        ref=appointment_id,
    )


def moved(type_name: str, start: datetime, provider_name: str, clinic: Clinic) -> str:
    return _("Done. Your {type} is now on {when} with {provider} at {clinic}.").format(
        type=type_name,
        when=when_text(start, clinic.zone),
        provider=provider_name,
        clinic=clinic.name,
    )


def slot_taken_ask_day() -> str:
    return _("Sorry, that time was just taken. What other day works for you?")


def slot_taken_offer() -> str:
    return _("Sorry, that time was just taken. These times are open. Reply with a number:")


def booking_refused(error: SchedulingError, clinic: Clinic) -> str:
    """Why a booking, move or cancellation was refused, by the refusal's code."""
    reasons = {
        "already_cancelled": _("Sorry, that appointment is already cancelled."),
        "closed": _(
            "Sorry, that appointment is closed, so it can't be changed by text. Please "
            "call {phone}."
        ),
        "started": _(
            "Sorry, that appointment has already started, so it can't be changed by "
            "text. Please call {phone}."
        ),
        "other_type": _(
            "Sorry, a move keeps the kind of visit. To book a different kind, text 'book'."
        ),
        "passed": _("Sorry, that time has already passed. What other day works for you?"),
        "notice": _(
            "Sorry, that is too soon to book by text. What other day works for you? Or "
            "call {phone}."
        ),
        "horizon": _(
            "Sorry, that is too far ahead to book yet. What day closer to now works for you?"
        ),
        "out_of_service": _(
            "Sorry, that kind of visit can't be booked right now. Please call {phone}."
        ),
    }
    said = reasons.get(error.code) or _("Sorry, I can't do that by text. Please call {phone}.")
    return said.format(phone=clinic.display_phone)


def choose_range(count: int) -> str:
    if count == 1:
        return _("Please reply 1 to choose it.")
    return _("Please reply with a number from 1 to {count}.").format(count=count)


def already_booked_that_day(description: str) -> str:
    return _(
        "You already have that kind of visit that day: {appointment}. Book this one as "
        "well? Reply YES to book it, or NO to book nothing. (To move that one, text "
        "'reschedule'.)"
    ).format(appointment=description)


def nothing_booked() -> str:
    return _("OK, nothing new is booked.")


def you_are_welcome() -> str:
    return _("You're welcome. Text any time to book, move or cancel a visit.")


def never_mind() -> str:
    return _("OK, nothing was changed. Text any time to book, move or cancel a visit.")


def acknowledged() -> str:
    return _("Great. Text any time to book, move or cancel a visit.")
