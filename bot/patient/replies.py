"""Every sentence a patient can receive, in one place for review, in every language the clinic serves.

Each is an English message id (gettext, through bot/i18n.py) whose translations live in
`bot/locales/<lang>/LC_MESSAGES/messages.po`; the language is the turn's (`i18n.speaking`).
Placeholders are named, so a translation may order them its own way; counts use plural forms.
A sentence is never built from pieces in one language: every variant is a message of its own.

Short, one next step per message, GSM-7 friendly in the message ids (no smart quotes, no emoji);
over SMS the channel also drops the accents outside GSM-7 (bot/patient/segments.py). Dates and times are
the clinic's zone, as each language says them ("Tue Mar 10 at 2:30 PM", "martes 10 de marzo,
2:30 p.m.").
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Sequence
from zoneinfo import ZoneInfo

from scheduler.clinic import AppointmentTypeConfig, Clinic, ProviderConfig, TimeRange
from scheduler.errors import SchedulingError

from bot.patient import segments
from bot.i18n import _, current, ngettext
from bot.i18n import day_text as _day_text, time_text as _time_text, weekday_names


# --- dates, times and names, as the patient's language says them --------------------------------

def day_text(day: date) -> str:
    return _day_text(day)


def time_text(moment: datetime) -> str:
    return _time_text(moment.time() if isinstance(moment, datetime) else moment)


def when_text(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return _("{day} at {time}").format(day=day_text(local.date()), time=time_text(local))


def type_name(kind: AppointmentTypeConfig) -> str:
    return kind.name_in(current())


def provider_name(provider: ProviderConfig) -> str:
    return provider.name_in(current())


def type_name_of(clinic: Clinic, key: str, stored: str) -> str:
    """An appointment type's name by its key (`stored`, the database's, if the clinic file no
    longer has it)."""
    try:
        return type_name(clinic.appointment_type(key))
    except StopIteration:
        return stored


def provider_name_of(clinic: Clinic, key: str, stored: str) -> str:
    try:
        return provider_name(clinic.provider(key))
    except StopIteration:
        return stored


def type_names(clinic: Clinic) -> list[str]:
    """The clinic's kinds of visit, numbered in this order when a patient is asked to choose."""
    return [type_name(kind) for kind in clinic.appointment_types]


def period_text(first: date, last: date) -> str:
    return _("{first} to {last}").format(first=day_text(first), last=day_text(last))


# --- the conversation ------------------------------------------------------------------------------

def greeting(clinic: Clinic, name: str | None) -> str:
    if name:
        return _("Hi {name}! This is the {clinic} scheduling assistant. I can book, move or "
                 "cancel a visit, or list your appointments. What would you like to do?"
                 ).format(name=name.split()[0], clinic=clinic.name)
    return _("Hi! This is the {clinic} scheduling assistant. I can book, move or cancel a "
             "visit, or list your appointments. What would you like to do?"
             ).format(clinic=clinic.name)


def help_text(clinic: Clinic) -> str:
    return _("{clinic}: text 'book' to make an appointment, 'my appointments' to see them, "
             "'reschedule' to move one or 'cancel appointment' to cancel. To talk to a person "
             "call {phone}. For an emergency call 911.").format(clinic=clinic.name,
                                                                  phone=clinic.display_phone)


def emergency(clinic: Clinic, category: str | None = None) -> str:
    """What to do now. Thoughts of self-harm get the crisis line too (988, in the US and Canada:
    the clinic's number tells where it is; it answers in Spanish too)."""
    if category == "self_harm" and clinic.phone.startswith("+1"):
        return _("If you are thinking about harming yourself, please call or text 988 (Suicide "
                 "& Crisis Lifeline) now, or call 911. You don't have to go through this alone. "
                 "The clinic can be reached at {phone}.").format(phone=clinic.display_phone)
    return _("This sounds like it could be an emergency. Call 911 (or your local emergency "
             "number) now, or go to the nearest emergency room. Do not wait for an appointment. "
             "The clinic can be reached at {phone}.").format(phone=clinic.display_phone)


def not_understood(step: str | None) -> str:
    hints = {
        "ask_type": _("Sorry, I didn't catch that. Please reply with the number of the kind of "
                      "visit you need."),
        "ask_day": _("Sorry, I didn't catch that. What day works for you? For example "
                     "'tomorrow', 'next Tuesday' or 'March 9'."),
        "offer_slots": _("Sorry, I didn't catch that. Please reply with the number of the time "
                         "you want, or tell me another day."),
        "confirm_cancel": _("Sorry, I didn't catch that. Please reply YES to cancel it or NO to "
                            "keep it."),
        "confirm_second": _("Sorry, I didn't catch that. Please reply YES to book it as well, or "
                            "NO to book nothing."),
        "pick_appointment": _("Sorry, I didn't catch that. Please reply with the number of the "
                              "appointment."),
        "ask_name": _("Sorry, I didn't catch that. Please tell me your full name, or reply "
                      "SKIP."),
        "ask_attendee": _("Sorry, I didn't catch that. Please tell me the full name of whom "
                          "the visit is for, or reply SKIP."),
    }
    return hints.get(step) or _("Sorry, I didn't catch that. I can book, move or cancel a "
                                "visit, or list your appointments. Text 'help' for more.")


def empty_message() -> str:
    return _("I didn't get any text. I can book, move or cancel a visit, or list your "
             "appointments. What would you like to do?")


def ask_name() -> str:
    return _("Before I book, what is your full name? (You can reply SKIP.)")


def ask_name_again() -> str:
    return _("Got it. And your full name, please? (You can reply SKIP.)")


def why_name() -> str:
    return _("Your name tells the clinic who is coming. Please reply with your full name, "
             "or SKIP.")


def name_thanks(name: str) -> str:
    return _("Thanks, {name}.").format(name=name.split()[0])


def relation_noun(relation: str) -> str:
    """Whom a patient books for, as the language names them ("son", "hijo")."""
    nouns = {"son": _("son"), "daughter": _("daughter"), "child": _("child"),
             "mother": _("mother"), "father": _("father"), "husband": _("husband"),
             "wife": _("wife"), "partner": _("partner"), "grandmother": _("grandmother"),
             "grandfather": _("grandfather"), "brother": _("brother"), "sister": _("sister")}
    return nouns.get(relation, relation)


def ask_attendee_name(relation: str) -> str:
    return _("What is the full name of your {relation}? It goes on the appointment; texts "
             "still come to you. (You can reply SKIP.)").format(relation=relation_noun(relation))


def offer_for(name: str, type_name: str) -> str:
    return _("For {name}: {type}.").format(name=name, type=type_name)


def ask_type() -> str:
    return _("What kind of visit do you need? Reply with a number.")


def ask_type_keeping_when() -> str:
    """The kind of visit asked again, the day or time the answer gave kept."""
    return _("Got it. What kind of visit do you need? Reply with a number.")


def ask_day(type_name: str) -> str:
    return _("What day works for your {type}? For example 'tomorrow', 'next Tuesday' or "
             "'March 9'.").format(type=type_name)


def ask_day_again() -> str:
    return _("No problem. What other day works for you?")


def ask_reschedule_day(description: str) -> str:
    return _("When would you like to move your {appointment} to? Tell me a day."
             ).format(appointment=description)


def impossible_date() -> str:
    return _("That date doesn't exist on the calendar. What day works for you?")


def past_date(day: date) -> str:
    return _("{day} has already passed.").format(day=day_text(day))


def beyond_horizon(type_name: str, days: int) -> str:
    return ngettext("A {type} can be booked up to {days} day ahead. What day within that works "
                    "for you?",
                    "A {type} can be booked up to {days} days ahead. What day within that works "
                    "for you?", days).format(type=type_name, days=days)


def slots_offer(day: date | None, on_requested_day: int = 0, *, exact: bool = True,
                shown: int = 0) -> str:
    """The line above offered openings: `on_requested_day` of the `shown` are on `day`, the
    day asked for (None: no day was asked for)."""
    if day is not None and not on_requested_day:
        return _("There are no openings on {day}. The nearest are:").format(day=day_text(day))
    if day is not None and not exact:
        return _("That time isn't available on {day}. The nearest openings are:"
                 ).format(day=day_text(day))
    if day is not None and on_requested_day < shown:
        return ngettext("{day} has only one opening left, so the next ones are listed too. "
                        "Reply with a number:",
                        "{day} has only {count} openings left, so the next ones are listed "
                        "too. Reply with a number:", on_requested_day
                        ).format(day=day_text(day), count=on_requested_day)
    return _("These times are open. Reply with a number:")


def nothing_beside(day: date, *, later: bool) -> str:
    if later:
        return _("There is nothing later on {day}. Reply with a number for one of these, or "
                 "tell me another day:").format(day=day_text(day))
    return _("There is nothing earlier on {day}. Reply with a number for one of these, or tell "
             "me another day:").format(day=day_text(day))


def no_slots(type_name: str, clinic: Clinic) -> str:
    return _("I couldn't find an opening for a {type} in the next few weeks. Please call {phone} "
             "and we will fit you in.").format(type=type_name, phone=clinic.display_phone)


def slot_label(start: datetime, provider_name: str, zone: ZoneInfo) -> str:
    return _("{when} with {provider}").format(when=when_text(start, zone),
                                              provider=provider_name)


def booked(type_name: str, start: datetime, provider_name: str, clinic: Clinic,
           appointment_id: int) -> str:
    return _("You're booked: {type} with {provider} on {when} at {clinic} (ref #{ref}). To "
             "change it, text 'reschedule' or 'cancel appointment'.").format(
        type=type_name, provider=provider_name, when=when_text(start, clinic.zone),
        clinic=clinic.name, ref=appointment_id)


def booked_for(attendee: str, type_name: str, start: datetime, provider_name: str,
               clinic: Clinic, appointment_id: int) -> str:
    return _("You're booked: {type} for {name} with {provider} on {when} at {clinic} (ref "
             "#{ref}). To change it, text 'reschedule' or 'cancel appointment'.").format(
        type=type_name, name=attendee, provider=provider_name,
        when=when_text(start, clinic.zone), clinic=clinic.name, ref=appointment_id)


def moved(type_name: str, start: datetime, provider_name: str, clinic: Clinic) -> str:
    return _("Done. Your {type} is now on {when} with {provider} at {clinic}.").format(
        type=type_name, when=when_text(start, clinic.zone), provider=provider_name,
        clinic=clinic.name)


def slot_taken_ask_day() -> str:
    return _("Sorry, that time was just taken. What other day works for you?")


def slot_taken_offer() -> str:
    return _("Sorry, that time was just taken. These times are open. Reply with a number:")


def booking_refused(error: SchedulingError, clinic: Clinic) -> str:
    """Why a booking, move or cancellation was refused, by the refusal's code."""
    reasons = {
        "already_cancelled": _("Sorry, that appointment is already cancelled."),
        "closed": _("Sorry, that appointment is closed, so it can't be changed by text. Please "
                    "call {phone}."),
        "started": _("Sorry, that appointment has already started, so it can't be changed by "
                     "text. Please call {phone}."),
        "other_type": _("Sorry, a move keeps the kind of visit. To book a different kind, text "
                        "'book'."),
        "passed": _("Sorry, that time has already passed. What other day works for you?"),
        "notice": _("Sorry, that is too soon to book by text. What other day works for you? Or "
                    "call {phone}."),
        "horizon": _("Sorry, that is too far ahead to book yet. What day closer to now works "
                     "for you?"),
        "out_of_service": _("Sorry, that kind of visit can't be booked right now. Please call "
                            "{phone}."),
    }
    said = reasons.get(error.code) or _("Sorry, I can't do that by text. Please call {phone}.")
    return said.format(phone=clinic.display_phone)


def choose_range(count: int) -> str:
    if count == 1:
        return _("Please reply 1 to choose it.")
    return _("Please reply with a number from 1 to {count}.").format(count=count)


def appointment_line(type_name: str, start: datetime, provider_name: str, zone: ZoneInfo) -> str:
    return _("{type}, {when} with {provider}").format(type=type_name, when=when_text(start, zone),
                                                     provider=provider_name)


def appointment_line_for(attendee: str, type_name: str, start: datetime, provider_name: str,
                         zone: ZoneInfo) -> str:
    return _("{type} for {name}, {when} with {provider}").format(
        type=type_name, name=attendee, when=when_text(start, zone), provider=provider_name)


def with_reference(line: str, appointment_id: int) -> str:
    return _("{appointment} (ref #{ref})").format(appointment=line, ref=appointment_id)


def appointments_list(lines: Sequence[str]) -> str:
    if len(lines) == 1:
        return _("Your upcoming appointment: {appointment}.").format(appointment=lines[0])
    return ngettext("You have {count} upcoming appointment:",
                    "You have {count} upcoming appointments:", len(lines)
                    ).format(count=len(lines)) + "\n" + "\n".join(
        f"{i}. {line}" for i, line in enumerate(lines, 1))


def unknown_reference(reference: int, lines: Sequence[str]) -> str:
    if not lines:
        return _("None of your appointments has the reference #{ref}, and you have no upcoming "
                 "appointments. Text 'book' to make one.").format(ref=reference)
    return _("None of your upcoming appointments has the reference #{ref}.").format(
        ref=reference) + " " + appointments_list(lines)


def no_appointments() -> str:
    return _("You have no upcoming appointments. Text 'book' to make one.")


def pick_appointment(action: str) -> str:
    if action == "cancel":
        return _("Which appointment do you want to cancel? Reply with a number.")
    return _("Which appointment do you want to move? Reply with a number.")


def already_booked_that_day(description: str) -> str:
    return _("You already have that kind of visit that day: {appointment}. Book this one as "
             "well? Reply YES to book it, or NO to book nothing. (To move that one, text "
             "'reschedule'.)").format(appointment=description)


def nothing_booked() -> str:
    return _("OK, nothing new is booked.")


def confirm_cancel(description: str) -> str:
    return _("Cancel your {appointment}? Reply YES to cancel or NO to keep it."
             ).format(appointment=description)


def cancelled(description: str) -> str:
    return _("Your {appointment} is cancelled. Text 'book' any time to make a new one."
             ).format(appointment=description)


def kept() -> str:
    return _("OK, your appointment is unchanged.")


def you_are_welcome() -> str:
    return _("You're welcome. Text any time to book, move or cancel a visit.")


def never_mind() -> str:
    return _("OK, nothing was changed. Text any time to book, move or cancel a visit.")


def acknowledged() -> str:
    return _("Great. Text any time to book, move or cancel a visit.")


def talk_to_person(clinic: Clinic) -> str:
    return _("To talk to a person, call {clinic} at {phone}. Or text 'book' to make an "
             "appointment here.").format(clinic=clinic.name, phone=clinic.display_phone)


def where_we_are(clinic: Clinic) -> str:
    if clinic.address:
        return _("{clinic} is at {address}. For directions or parking, call {phone}.").format(
            clinic=clinic.name, address=clinic.address, phone=clinic.display_phone)
    return _("For directions, parking or anything else, call {clinic} at {phone}.").format(
        clinic=clinic.name, phone=clinic.display_phone)


def language_switched() -> str:
    """Said in the language just switched to."""
    return _("OK, I'll write in English from now on. How can I help?")


def other_language(clinic: Clinic) -> str:
    """A message in a language the clinic does not serve (said in the closest one it does)."""
    return _("Sorry, I can read only English and Spanish here. For help in another language, "
             "call {phone}. I can book, move or cancel a visit.").format(
        phone=clinic.display_phone)


def provider_wish(clinic: Clinic) -> str:
    return _("I can't choose a provider that way here; the front desk can help with that: call "
             "{phone}.").format(phone=clinic.display_phone)


def running_late(clinic: Clinic) -> str:
    return _("Thanks for letting us know. Please call {phone} so the front desk can tell "
             "whether your visit can still go ahead.").format(phone=clinic.display_phone)


def opening_hours(clinic: Clinic) -> str:
    spans: list[tuple[list[int], TimeRange]] = []     # runs of weekdays with the same hours
    for day, span in clinic.open_hours().items():
        if spans and spans[-1][1] == span and spans[-1][0][-1] == day - 1:
            spans[-1][0].append(day)
        else:
            spans.append(([day], span))
    names = weekday_names()
    parts = [f"{names[days[0]]}{'-' + names[days[-1]] if len(days) > 1 else ''} "
             f"{time_text(span.start)}-{time_text(span.end)}" for days, span in spans]
    return _("{clinic} is open {hours}. Call {phone} with questions.").format(
        clinic=clinic.name, hours=", ".join(parts), phone=clinic.display_phone)


def front_desk(clinic: Clinic) -> str:
    return _("The front desk can answer that (costs, insurance, billing): call {phone}. I can "
             "book, move or cancel a visit.").format(phone=clinic.display_phone)


def new_patients(clinic: Clinic) -> str:
    return _("I can book a visit for you by text: just tell me what you need. For questions "
             "about joining the practice, call {phone}.").format(phone=clinic.display_phone)


def how_to_prepare(clinic: Clinic) -> str:
    return _("The front desk can tell you what to bring and how to prepare: call {phone}. I can "
             "book, move or cancel a visit.").format(phone=clinic.display_phone)


def about_reminders(clinic: Clinic) -> str:
    return _("Reminders go out by text before visits: reply C to confirm, R to reschedule or X "
             "to cancel. For anything else about them, call {phone}.").format(
        phone=clinic.display_phone)


def nothing_to_confirm() -> str:
    return _("I'm not sure what you're answering. I can book, move or cancel a visit, or list "
             "your appointments.")


def opted_out(clinic: Clinic, *, said_cancel: bool = False) -> str:
    """The one confirmation of an opt-out. A bare CANCEL opts out, as carriers read it; someone
    who meant their visit learns how to cancel that, since no more texts will come."""
    if said_cancel:
        return _("You won't get any more messages from {clinic}. Reply START to opt back in. To "
                 "cancel a visit, call {phone}.").format(clinic=clinic.name,
                                                         phone=clinic.display_phone)
    return _("You won't get any more messages from {clinic}. Reply START to opt back in."
             ).format(clinic=clinic.name)


def opted_in(clinic: Clinic) -> str:
    return _("You're subscribed to {clinic} messages again. Text 'help' for options."
             ).format(clinic=clinic.name)


def internal_error(clinic: Clinic) -> str:
    return _("Sorry, something went wrong on our side and nothing was changed. Please try "
             "again, or call {phone}.").format(phone=clinic.display_phone)


def unanswered(clinic: Clinic) -> str:
    """A text that went unanswered (the server stopped while it was being answered)."""
    return _("{clinic}: sorry, we could not answer your last text. Please send it again, or "
             "call {phone}.").format(clinic=clinic.name, phone=clinic.display_phone)


def staff_only() -> str:
    return _("Staff tools are not available here yet. Please use the clinic's Slack app.")


def more_suffix() -> str:
    """The end of each page of a long list but the last (bot/patient/segments.py)."""
    return _("Reply MORE for more.")


# SMS: consent, carrier keywords and abuse limits (bot/patient/consent.py decides when each is said).

def consent_request(clinic: Clinic) -> str:
    return _("{clinic}: appointment texts to book, move or cancel visits. Msg & data rates may "
             "apply. Reply YES to continue, HELP for help, STOP to opt out.").format(
        clinic=clinic.name)


def consent_reminder(clinic: Clinic) -> str:
    return _("To text with {clinic}, please reply YES first. Reply HELP for help or STOP to opt "
             "out.").format(clinic=clinic.name)


def consent_given(clinic: Clinic) -> str:
    return _("Thanks, you're signed up for {clinic} texts. Reply STOP any time to opt out."
             ).format(clinic=clinic.name)


def sms_help(clinic: Clinic) -> str:
    return _("{clinic} scheduling: text 'book', 'my appointments', 'reschedule' or 'cancel "
             "appointment'. Call {phone} to talk to a person, 911 in an emergency. Msg & data "
             "rates may apply. Reply STOP to opt out.").format(clinic=clinic.name,
                                                              phone=clinic.display_phone)


def media_only() -> str:
    return _("I can only read text, not pictures or files. Please type your message, or text "
             "'help' for options.")


def rate_limited(clinic: Clinic) -> str:
    return _("You've sent a lot of messages in a few minutes, so I'll pause replies for a "
             "little while. For anything urgent call {phone}.").format(phone=clinic.display_phone)


# The AI engine (bot/model/bedrock.py): what is said when the model's own words cannot be used.

def waitlist_recorded(type_name: str, clinic: Clinic) -> str:
    return _("I've asked the {clinic} team to add you to the waitlist for a {type}. They will "
             "contact you if an earlier time opens up. Nothing is booked yet.").format(
        clinic=clinic.name, type=type_name)


def handoff_recorded(clinic: Clinic) -> str:
    return _("I've asked the {clinic} team to follow up with you. For anything that can't wait, "
             "call {phone}.").format(clinic=clinic.name, phone=clinic.display_phone)


def nothing_changed_yet(clinic: Clinic) -> str:
    return _("Sorry, I haven't booked, moved or cancelled anything yet. Tell me what you'd like "
             "and I'll check the open times, or call {phone}.").format(
        phone=clinic.display_phone)


# --- texts the clinic sends by itself (jobs/reminders.py), and the answers to them ---------------
# Fixed templates, never model-written: at most one SMS segment (160 GSM-7 characters), and only
# what is needed: no appointment type, specialty or reason; the provider only where the clinic
# file allows it (`show_provider_in_reminders`).

def reminder(clinic: Clinic, start: datetime, zone: ZoneInfo,
             provider_name: str | None) -> str:
    when = when_text(start, zone)
    plain = _("{clinic}: your visit is {when}. Call {phone}. Reply C to confirm, R to "
              "reschedule, X to cancel.").format(clinic=clinic.name, when=when,
                                                 phone=clinic.display_phone)
    if not provider_name:
        return segments.fit_one([plain], clinic.name)
    with_provider = _("{clinic}: your visit is {when} with {provider}. Call {phone}. Reply C to "
                      "confirm, R to reschedule, X to cancel.").format(
        clinic=clinic.name, when=when, provider=provider_name, phone=clinic.display_phone)
    return segments.fit_one([with_provider, plain], clinic.name)


def waitlist_offer(clinic: Clinic, start: datetime, zone: ZoneInfo, hold_minutes: int = 15) -> str:
    text = _("{clinic}: an earlier time opened, {when}. Reply YES within {minutes} min to take "
             "it, or NO. Call {phone}.").format(
        clinic=clinic.name, when=when_text(start, zone), minutes=hold_minutes,
        phone=clinic.display_phone)
    return segments.fit_one([text], clinic.name)


def reminder_confirmed(description: str) -> str:
    return _("Thanks, your {appointment} is confirmed. See you then.").format(
        appointment=description)


def reminder_cancel_check(description: str) -> str:
    return _("Cancel your {appointment}? Reply X again to confirm, or anything else to keep it."
             ).format(appointment=description)


def reminder_reply_stale(clinic: Clinic) -> str:
    return _("That appointment can no longer be changed by text. Please call {phone}."
             ).format(phone=clinic.display_phone)


def offer_accepted(description: str, clinic: Clinic) -> str:
    return _("It's yours: {appointment} at {clinic}. You're off the waitlist. To change it, text "
             "'reschedule' or 'cancel appointment'.").format(appointment=description,
                                                            clinic=clinic.name)


def offer_taken() -> str:
    return _("Sorry, that time was just taken by someone else. You keep your place on the "
             "waitlist and we'll text you when another time opens.")


def offer_expired() -> str:
    return _("Sorry, that offer has expired. You keep your place on the waitlist and we'll text "
             "you when another time opens.")


def offer_declined() -> str:
    return _("OK, we'll keep you on the waitlist and text you when another time opens.")


def waitlist_ask_type() -> str:
    return _("Which kind of visit do you want to wait for? Reply with a number.")


def waitlist_joined(type_name: str, clinic: Clinic, provider_name: str | None = None,
                    window: str | None = None, *, urgent: bool = False) -> str:
    values = dict(clinic=clinic.name, type=type_name, provider=provider_name, period=window)
    if provider_name and window:
        said = _("You're on the {clinic} waitlist for a {type} with {provider}, {period}. When a "
                 "time opens we'll text you an offer; reply YES to take it.")
    elif provider_name:
        said = _("You're on the {clinic} waitlist for a {type} with {provider}. When a time "
                 "opens we'll text you an offer; reply YES to take it.")
    elif window:
        said = _("You're on the {clinic} waitlist for a {type}, {period}. When a time opens "
                 "we'll text you an offer; reply YES to take it.")
    else:
        said = _("You're on the {clinic} waitlist for a {type}. When a time opens we'll text you "
                 "an offer; reply YES to take it.")
    said = said.format(**values)
    if urgent:   # ranked urgent by triage (bot/triage.urgent_care): near the front, and a way now
        said += " " + _("From what you told us, you're near the front of the list. If it gets "
                        "worse, call us at {phone}.").format(phone=clinic.display_phone)
    return said


def waitlist_already(type_name: str) -> str:
    return _("You're already on the waitlist for a {type}. We'll text you when a time opens."
             ).format(type=type_name)
