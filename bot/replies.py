"""Every sentence a patient can receive from the local engine, in one place for review.

Plain ASCII (GSM-7 friendly: no smart quotes, no emoji), short, one next step per message. Dates
and times are shown in the clinic's zone as people say them ("Tue Mar 10 at 2:30 PM").
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from scheduler.clinic import WEEKDAYS, Clinic, TimeRange

from . import segments


def day_text(day: date) -> str:
    return f"{day:%a %b} {day.day}"


def time_text(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment:%M} {'AM' if moment.hour < 12 else 'PM'}"


def when_text(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{day_text(local.date())} at {time_text(local)}"


def greeting(clinic: Clinic, name: str | None) -> str:
    hello = f"Hi {name.split()[0]}!" if name else "Hi!"
    return (f"{hello} This is the {clinic.name} scheduling assistant. I can book, move or cancel "
            "a visit, or list your appointments. What would you like to do?")


def help_text(clinic: Clinic) -> str:
    return (f"{clinic.name}: text 'book' to make an appointment, 'my appointments' to see them, "
            f"'reschedule' to move one or 'cancel appointment' to cancel. "
            f"To talk to a person call {clinic.display_phone}. For an emergency call 911.")


def emergency(clinic: Clinic, category: str | None = None) -> str:
    """What to do now. Thoughts of self-harm get the crisis line too (988, in the US and Canada:
    the clinic's number tells where it is)."""
    if category == "self_harm" and clinic.phone.startswith("+1"):
        return ("If you are thinking about harming yourself, please call or text 988 (Suicide & "
                "Crisis Lifeline) now, or call 911. You don't have to go through this alone. "
                f"The clinic can be reached at {clinic.display_phone}.")
    return ("This sounds like it could be an emergency. Call 911 (or your local emergency "
            "number) now, or go to the nearest emergency room. Do not wait for an appointment. "
            f"The clinic can be reached at {clinic.display_phone}.")


def not_understood(step: str | None) -> str:
    hints = {
        "ask_type": "Please reply with the number of the kind of visit you need.",
        "ask_day": "What day works for you? For example 'tomorrow', 'next Tuesday' or 'March 9'.",
        "offer_slots": "Please reply with the number of the time you want, or tell me another day.",
        "confirm_cancel": "Please reply YES to cancel it or NO to keep it.",
        "confirm_second": "Please reply YES to book it as well, or NO to book nothing.",
        "pick_appointment": "Please reply with the number of the appointment.",
        "ask_name": "Please tell me your full name, or reply SKIP.",
    }
    return "Sorry, I didn't catch that. " + hints.get(
        step, "I can book, move or cancel a visit, or list your appointments. "
              "Text 'help' for more.")


def empty_message() -> str:
    return ("I didn't get any text. I can book, move or cancel a visit, or list your "
            "appointments. What would you like to do?")


def ask_name() -> str:
    return "Before I book, what is your full name? (You can reply SKIP.)"


def ask_name_again() -> str:
    return "Got it. And your full name, please? (You can reply SKIP.)"


def why_name() -> str:
    return ("Your name tells the clinic who is coming. Please reply with your full name, "
            "or SKIP.")


def name_thanks(name: str) -> str:
    return f"Thanks, {name.split()[0]}."


def ask_type() -> str:
    return "What kind of visit do you need? Reply with a number."


def ask_day(type_name: str) -> str:
    return (f"What day works for your {type_name}? For example 'tomorrow', 'next Tuesday' "
            "or 'March 9'.")


def ask_day_again() -> str:
    return "No problem. What other day works for you?"


def ask_reschedule_day(description: str) -> str:
    return f"When would you like to move your {description} to? Tell me a day."


def impossible_date() -> str:
    return "That date doesn't exist on the calendar. What day works for you?"


def past_date(day: date) -> str:
    return f"{day_text(day)} has already passed."


def beyond_horizon(type_name: str, days: int) -> str:
    return (f"A {type_name} can be booked up to {days} days ahead. What day within that "
            "works for you?")


def slots_offer(day: date | None, on_requested_day: int = 0, *, exact: bool = True,
                shown: int = 0) -> str:
    """The line above offered openings: `on_requested_day` of the `shown` are on `day`, the
    day asked for (None: no day was asked for)."""
    if day is not None and not on_requested_day:
        return f"There are no openings on {day_text(day)}. The nearest are:"
    if day is not None and not exact:
        return f"That time isn't available on {day_text(day)}. The nearest openings are:"
    if day is not None and on_requested_day < shown:
        left = "one opening" if on_requested_day == 1 else f"{on_requested_day} openings"
        return (f"{day_text(day)} has only {left} left, so the next ones are listed too. "
                "Reply with a number:")
    return "These times are open. Reply with a number:"


def nothing_beside(day: date, *, later: bool) -> str:
    return (f"There is nothing {'later' if later else 'earlier'} on {day_text(day)}. Reply "
            "with a number for one of these, or tell me another day:")


def no_slots(type_name: str, clinic: Clinic) -> str:
    return (f"I couldn't find an opening for a {type_name} in the next few weeks. "
            f"Please call {clinic.display_phone} and we will fit you in.")


def slot_label(start: datetime, provider_name: str, zone: ZoneInfo) -> str:
    return f"{when_text(start, zone)} with {provider_name}"


def booked(type_name: str, start: datetime, provider_name: str, clinic: Clinic,
           appointment_id: int) -> str:
    return (f"You're booked: {type_name} with {provider_name} on {when_text(start, clinic.zone)} "
            f"at {clinic.name} (ref #{appointment_id}). To change it, text 'reschedule' or "
            "'cancel appointment'.")


def moved(type_name: str, start: datetime, provider_name: str, clinic: Clinic) -> str:
    return (f"Done. Your {type_name} is now on {when_text(start, clinic.zone)} with "
            f"{provider_name} at {clinic.name}.")


def slot_taken() -> str:
    return "Sorry, that time was just taken."


def booking_refused(reason: str) -> str:
    return f"Sorry, I can't book that: {reason}."


def choose_range(count: int) -> str:
    if count == 1:
        return "Please reply 1 to choose it."
    return f"Please reply with a number from 1 to {count}."


def appointment_line(type_name: str, start: datetime, provider_name: str, zone: ZoneInfo) -> str:
    return f"{type_name}, {when_text(start, zone)} with {provider_name}"


def appointments_list(lines: list[str]) -> str:
    if len(lines) == 1:
        return "Your upcoming appointment: " + lines[0] + "."
    return f"You have {len(lines)} upcoming appointments:\n" + "\n".join(
        f"{i}. {line}" for i, line in enumerate(lines, 1))


def unknown_reference(reference: int, lines: list[str]) -> str:
    if not lines:
        return (f"None of your appointments has the reference #{reference}, and you have no "
                "upcoming appointments. Text 'book' to make one.")
    return (f"None of your upcoming appointments has the reference #{reference}. "
            + appointments_list(lines))


def no_appointments() -> str:
    return "You have no upcoming appointments. Text 'book' to make one."


def pick_appointment(action: str) -> str:
    return f"Which appointment do you want to {action}? Reply with a number."


def already_booked_that_day(description: str) -> str:
    return (f"You already have that kind of visit that day: {description}. Book this one as "
            "well? Reply YES to book it, or NO to book nothing. (To move that one, text "
            "'reschedule'.)")


def nothing_booked() -> str:
    return "OK, nothing new is booked."


def confirm_cancel(description: str) -> str:
    return f"Cancel your {description}? Reply YES to cancel or NO to keep it."


def cancelled(description: str) -> str:
    return f"Your {description} is cancelled. Text 'book' any time to make a new one."


def kept() -> str:
    return "OK, your appointment is unchanged."


def you_are_welcome() -> str:
    return "You're welcome. Text any time to book, move or cancel a visit."


def never_mind() -> str:
    return "OK, nothing was changed. Text any time to book, move or cancel a visit."


def acknowledged() -> str:
    return "Great. Text any time to book, move or cancel a visit."


def talk_to_person(clinic: Clinic) -> str:
    return (f"To talk to a person, call {clinic.name} at {clinic.display_phone}. Or text 'book' "
            "to make an appointment here.")


def where_we_are(clinic: Clinic) -> str:
    if clinic.address:
        return (f"{clinic.name} is at {clinic.address}. For directions or parking, call "
                f"{clinic.display_phone}.")
    return (f"For directions, parking or anything else, call {clinic.name} at "
            f"{clinic.display_phone}.")


def english_only(clinic: Clinic) -> str:
    return (f"Sorry, I can only read English here. En español: llame al {clinic.display_phone}. "
            "I can book, move or cancel a visit.")


def running_late(clinic: Clinic) -> str:
    return (f"Thanks for letting us know. Please call {clinic.display_phone} so the front desk "
            "can tell whether your visit can still go ahead.")


def opening_hours(clinic: Clinic) -> str:
    spans: list[tuple[list[int], TimeRange]] = []     # runs of weekdays with the same hours
    for day, span in clinic.open_hours().items():
        if spans and spans[-1][1] == span and spans[-1][0][-1] == day - 1:
            spans[-1][0].append(day)
        else:
            spans.append(([day], span))
    names = [day.title() for day in WEEKDAYS]
    parts = [f"{names[days[0]]}{'-' + names[days[-1]] if len(days) > 1 else ''} "
             f"{time_text(span.start)}-{time_text(span.end)}" for days, span in spans]
    return f"{clinic.name} is open {', '.join(parts)}. Call {clinic.display_phone} with questions."


def front_desk(clinic: Clinic) -> str:
    return (f"The front desk can answer that (costs, insurance, billing): call "
            f"{clinic.display_phone}. I can book, move or cancel a visit.")


def new_patients(clinic: Clinic) -> str:
    return ("I can book a visit for you by text: just tell me what you need. For questions about "
            f"joining the practice, call {clinic.display_phone}.")


def how_to_prepare(clinic: Clinic) -> str:
    return (f"The front desk can tell you what to bring and how to prepare: call "
            f"{clinic.display_phone}. I can book, move or cancel a visit.")


def about_reminders(clinic: Clinic) -> str:
    return ("Reminders go out by text before visits: reply C to confirm, R to reschedule or X "
            f"to cancel. For anything else about them, call {clinic.display_phone}.")


def nothing_to_confirm() -> str:
    return ("I'm not sure what you're answering. I can book, move or cancel a visit, or list "
            "your appointments.")


def waitlist_by_phone(clinic: Clinic) -> str:
    return (f"To join the waitlist, please call {clinic.display_phone}. I can also book the next "
            "open time for you: text 'book'.")


def opted_out(clinic: Clinic, *, said_cancel: bool = False) -> str:
    """The one confirmation of an opt-out. A bare CANCEL opts out, as carriers read it; someone
    who meant their visit learns how to cancel that, since no more texts will come."""
    text = f"You won't get any more messages from {clinic.name}. Reply START to opt back in."
    if said_cancel:
        text += f" To cancel a visit, call {clinic.display_phone}."
    return text


def opted_in(clinic: Clinic) -> str:
    return f"You're subscribed to {clinic.name} messages again. Text 'help' for options."


def internal_error(clinic: Clinic) -> str:
    return (f"Sorry, something went wrong on our side and nothing was changed. Please try again, "
            f"or call {clinic.display_phone}.")


def unanswered(clinic: Clinic) -> str:
    """A text that went unanswered (the server stopped while it was being answered)."""
    return (f"{clinic.name}: sorry, we could not answer your last text. Please send it again, "
            f"or call {clinic.display_phone}.")


def staff_only() -> str:
    return "Staff tools are not available here yet. Please use the clinic's Slack app."


# SMS: consent, carrier keywords and abuse limits (bot/consent.py decides when each is said).

def consent_request(clinic: Clinic) -> str:
    return (f"{clinic.name}: appointment texts to book, move or cancel visits. Msg & data rates "
            "may apply. Reply YES to continue, HELP for help, STOP to opt out.")


def consent_reminder(clinic: Clinic) -> str:
    return (f"To text with {clinic.name}, please reply YES first. Reply HELP for help or STOP "
            "to opt out.")


def consent_given(clinic: Clinic) -> str:
    return f"Thanks, you're signed up for {clinic.name} texts. Reply STOP any time to opt out."


def sms_help(clinic: Clinic) -> str:
    return (f"{clinic.name} scheduling: text 'book', 'my appointments', 'reschedule' or "
            f"'cancel appointment'. Call {clinic.display_phone} to talk to a person, 911 in an "
            "emergency. Msg & data rates may apply. Reply STOP to opt out.")


def media_only() -> str:
    return ("I can only read text, not pictures or files. Please type your message, or text "
            "'help' for options.")


def rate_limited(clinic: Clinic) -> str:
    return ("You've sent a lot of messages in a few minutes, so I'll pause replies for a "
            f"little while. For anything urgent call {clinic.display_phone}.")


# The AI engine (bot/llm.py): what is said when the model's own words cannot be used.

def waitlist_recorded(type_name: str, clinic: Clinic) -> str:
    return (f"I've asked the {clinic.name} team to add you to the waitlist for a {type_name}. "
            "They will contact you if an earlier time opens up. Nothing is booked yet.")


def handoff_recorded(clinic: Clinic) -> str:
    return (f"I've asked the {clinic.name} team to follow up with you. For anything that can't "
            f"wait, call {clinic.display_phone}.")


def nothing_changed_yet(clinic: Clinic) -> str:
    return ("Sorry, I haven't booked, moved or cancelled anything yet. Tell me what you'd like "
            f"and I'll check the open times, or call {clinic.display_phone}.")


# --- texts the clinic sends by itself (jobs/reminders.py), and the answers to them ---------------
# Fixed templates, never model-written: at most one SMS segment (160 GSM-7 characters), and only
# what is needed: no appointment type, specialty or reason; the provider only where the clinic
# file allows it (`show_provider_in_reminders`).

def reminder(clinic: Clinic, start: datetime, zone: ZoneInfo,
             provider_name: str | None) -> str:
    when = when_text(start, zone)
    options = "Reply C to confirm, R to reschedule, X to cancel."
    with_provider = (f"{clinic.name}: your visit is {when} with {provider_name}. "
                     f"Call {clinic.display_phone}. {options}") if provider_name else None
    plain = f"{clinic.name}: your visit is {when}. Call {clinic.display_phone}. {options}"
    return segments.fit_one([t for t in (with_provider, plain) if t], clinic.name)


def waitlist_offer(clinic: Clinic, start: datetime, zone: ZoneInfo, hold_minutes: int = 15) -> str:
    text = (f"{clinic.name}: an earlier time opened, {when_text(start, zone)}. Reply YES within "
            f"{hold_minutes} min to take it, or NO. Call {clinic.display_phone}.")
    return segments.fit_one([text], clinic.name)


def reminder_confirmed(description: str) -> str:
    return f"Thanks, your {description} is confirmed. See you then."


def reminder_cancel_check(description: str) -> str:
    return f"Cancel your {description}? Reply X again to confirm, or anything else to keep it."


def reminder_reply_stale(clinic: Clinic) -> str:
    return (f"That appointment can no longer be changed by text. Please call "
            f"{clinic.display_phone}.")


def offer_accepted(description: str, clinic: Clinic) -> str:
    return (f"It's yours: {description} at {clinic.name}. You're off the waitlist. To change it, "
            "text 'reschedule' or 'cancel appointment'.")


def offer_taken() -> str:
    return ("Sorry, that time was just taken by someone else. You keep your place on the "
            "waitlist and we'll text you when another time opens.")


def offer_expired() -> str:
    return ("Sorry, that offer has expired. You keep your place on the waitlist and we'll text "
            "you when another time opens.")


def offer_declined() -> str:
    return "OK, we'll keep you on the waitlist and text you when another time opens."


def waitlist_ask_type() -> str:
    return "Which kind of visit do you want to wait for? Reply with a number."


def waitlist_joined(type_name: str, clinic: Clinic, provider_name: str | None = None,
                    window: str | None = None, *, urgent: bool = False) -> str:
    extra = (f" with {provider_name}" if provider_name else "") + (f", {window}" if window else "")
    said = (f"You're on the {clinic.name} waitlist for a {type_name}{extra}. When a time opens "
            "we'll text you an offer; reply YES to take it.")
    if urgent:   # ranked urgent by triage (bot/triage.urgent_care): near the front, and a way now
        said += (" From what you told us, you're near the front of the list. If it gets worse, "
                 f"call us at {clinic.display_phone}.")
    return said


def waitlist_already(type_name: str) -> str:
    return f"You're already on the waitlist for a {type_name}. We'll text you when a time opens."
