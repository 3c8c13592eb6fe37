"""Every sentence staff read from `/appt`, its buttons and the App Home, in one place; and the
pieces every staff sentence shares (access, usage lines, how a patient is named).

Plain text: the Slack adapter escapes it and shows it as is, so a patient's name can never turn
into a link or a mention. Times are in the clinic's zone, as in bot/patient/replies/. Staff see
patient names and reference numbers; notices in the shared staff channel show ids and times only
(bot/staff/notice_replies.py). What `/appt-admin` says is bot/staff/admin_replies.py; what the
staff conversation asks around these answers is bot/staff/chat_replies.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.patient.replies import day_text, time_text, when_text

# The Slack adapter (adapters/slack/) reads `ADMIN_USAGE` and `export_failed` through this module,
# as it did before `/appt-admin`'s sentences had their own.
from bot.staff.admin_replies import ADMIN_USAGE, export_failed  # noqa: F401
from scheduler.clinic import Clinic

if TYPE_CHECKING:
    from bot.staff.schedule import AppointmentView, ProviderDay

APPT_USAGE = {
    "today": "/appt today [provider]",
    "slots": "/appt slots <type> [provider] [when]",
    "book": "/appt book <phone> <type> <when> [provider] [urgent]",
    "cancel": "/appt cancel <id>",
    "move": "/appt move <id> <when> [urgent]",
    "find": "/appt find <phone>",
    "contact": "/appt contact <patient id>",
    "attended": "/appt attended <id>",
    "noshow": "/appt noshow <id>",
    "waitlist": "/appt waitlist <phone> <type> [provider] [from when] [urgent]",
    "urgent": "/appt urgent [all]",
    "urgency": "/appt urgency <waitlist id> <urgent|soon|routine> <why...>",
    "help": "/appt help",
}


# --- access ----------------------------------------------------------------------------------


def not_authorized() -> str:
    return (
        "Sorry, you are not authorized to use the clinic's staff tools. Ask a clinic admin "
        "to add you."
    )


def admins_only() -> str:
    return "Sorry, only clinic admins can use /appt-admin."


def other_workspace() -> str:
    return "This app belongs to another Slack workspace; it cannot be used from here."


def too_long(limit: int) -> str:
    return f"That is too long for me (more than {limit:,} characters). Please send it shorter."


def invalid_action() -> str:
    return (
        "That button is no longer valid (or was not made by this app). Run the command "
        "again to get fresh choices."
    )


def offer_used() -> str:
    return "Those choices were already used. Run the command again to get fresh ones."


def working() -> str:
    return "Working on it..."


def internal_error(reference: str) -> str:
    return (
        f"Sorry, something went wrong on our side and nothing was changed "
        f"(ref {reference}). Please try again."
    )


# --- /appt -----------------------------------------------------------------------------------


def appt_help(clinic: Clinic) -> str:
    types = ", ".join(t.key for t in clinic.appointment_types)
    providers = ", ".join(p.key for p in clinic.providers)
    lines = [
        f"{clinic.name} scheduling for staff:",
        f"  {APPT_USAGE['today']}  - the day's schedule, per provider",
        f"  {APPT_USAGE['slots']}  - open times",
        f"  {APPT_USAGE['book']}  - book for a patient (new numbers become new patients)",
        f"  {APPT_USAGE['cancel']}  - cancel an appointment",
        f"  {APPT_USAGE['move']}  - reschedule an appointment",
        f"  {APPT_USAGE['find']}  - a patient and their upcoming appointments",
        f"  {APPT_USAGE['contact']}  - a patient's name and number, to call them",
        f"  {APPT_USAGE['attended']}  - a visit that has started: the patient came",
        f"  {APPT_USAGE['noshow']}  - a visit that has started: the patient did not come",
        f"  {APPT_USAGE['waitlist']}  - offer them the next freed time",
        f"  {APPT_USAGE['urgent']}  - who waits urgent or soon (all: everyone waiting), how long",
        f"  {APPT_USAGE['urgency']}  - change a waitlist entry's level (audited)",
        f"Types: {types}. Providers: {providers}.",
        "When: 'tomorrow', 'friday 3pm', 'next tuesday morning', '3/9 10:30'.",
        "Or send me a direct message in plain words, like 'book a checkup for "
        "+1 212 555 0199 tomorrow morning'.",
    ]
    return "\n".join(lines)


def usage(line: str, problem: str | None = None) -> str:
    return (f"{problem} " if problem else "") + f"Usage: {line}"


def with_note(note: str | None, text: str) -> str:
    """An answer after the note that qualifies it ("Mon Mar 2 has already passed. Open...")."""
    return f"{note} {text}" if note else text


def unknown_command(word: str, usage_lines: Sequence[str]) -> str:
    shown = word if len(word) <= 20 else word[:20] + "..."
    return f"I don't know the command '{shown}'. Try one of:\n" + "\n".join(
        f"  {line}" for line in usage_lines
    )


def unknown_provider(clinic: Clinic) -> str:
    return (
        "I don't know that provider. Providers: "
        + ", ".join(f"{p.key} ({p.name})" for p in clinic.providers)
        + "."
    )


def unknown_type(clinic: Clinic) -> str:
    return (
        "Which kind of visit? Types: "
        + ", ".join(f"{t.key} ({t.name})" for t in clinic.appointment_types)
        + "."
    )


def provider_does_not_offer(provider: str, type_name: str) -> str:
    return f"{provider} does not see patients for a {type_name}."


def bad_phone() -> str:
    return "That does not look like a phone number (try +1 212 555 0123)."


def bad_name() -> str:
    return "Please send the patient's full name (letters only), or SKIP."


def bad_appointment_id() -> str:
    return "Appointment ids are numbers, like 42 or #42."


def no_such_appointment(appointment_id: int) -> str:
    return f"There is no appointment #{appointment_id}."


def no_such_patient() -> str:
    return "No patient has that phone number."


def no_patient_with_id() -> str:
    return "No patient has that number (the # in a notice, like 12)."


def patient_contact(patient: str, patient_id: int, phone: str | None, opted_out: bool) -> str:
    if phone is None:
        return f"{patient} (patient #{patient_id}) has no phone number on file (erased)."
    note = " They have opted out of texts: call, do not text." if opted_out else ""
    return f"{patient} (patient #{patient_id}): {phone}.{note}"


def bad_when() -> str:
    return "I couldn't read the day. Try 'tomorrow', 'friday 3pm' or '3/9 10:30'."


def impossible_date() -> str:
    return "That date doesn't exist on the calendar."


def past_date(day: date) -> str:
    return f"{day_text(day)} has already passed."


def slot_label(start: datetime, provider_name: str, zone: ZoneInfo) -> str:
    return f"{when_text(start, zone)} with {provider_name}"


def slots_found(type_name: str, day: date | None, on_day: bool, count: int) -> str:
    if day is not None and not on_day:
        return (
            f"No open time for a {type_name} on {day_text(day)}. The nearest "
            f"{'is' if count == 1 else 'are'}:"
        )
    if day is not None:
        return f"Open times for a {type_name} on {day_text(day)}:"
    return f"The next open times for a {type_name}:"


def no_slots(type_name: str) -> str:
    return f"No open time for a {type_name} in the next few weeks."


def choose_slot_for_patient(patient: str, type_name: str, day: date | None, on_day: bool) -> str:
    where = (
        f" on {day_text(day)}"
        if day is not None and on_day
        else f" (nothing on {day_text(day)}; the nearest)"
        if day is not None
        else ""
    )
    return f"Choose a time for {patient}'s {type_name}{where}:"


def choose_slot_for_move(appointment_id: int, day: date | None, on_day: bool) -> str:
    where = (
        f" on {day_text(day)}"
        if day is not None and on_day
        else f" (nothing on {day_text(day)}; the nearest)"
        if day is not None
        else ""
    )
    return f"Choose the new time for appointment #{appointment_id}{where}:"


def booked(view: AppointmentView) -> str:
    return (
        f"Booked #{view.id}: {view.type_name} for {view.patient} with {view.provider_name}, "
        f"{view.when}."
    )


def moved(view: AppointmentView) -> str:
    return (
        f"Moved #{view.id}: {view.type_name} for {view.patient} is now {view.when} with "
        f"{view.provider_name}."
    )


def cancelled(view: AppointmentView) -> str:
    return f"Cancelled #{view.id}: {view.type_name} for {view.patient}, {view.when}."


# How a visit's attendance is said: "Marked #42 attended", "#42 is marked a no-show".
OUTCOME_WORDS = {"fulfilled": "attended", "noshow": "a no-show"}
# The command that marks the other outcome, offered with each mark in case it was the wrong one.
OTHER_OUTCOME = {"fulfilled": "noshow", "noshow": "attended"}


def attendance_marked(view: AppointmentView, outcome: str, already: bool) -> str:
    """A visit marked attended or a no-show (`already`: it was marked so before)."""
    word = OUTCOME_WORDS[outcome]
    if already:
        return f"#{view.id} was already marked {word}; it still is."
    return (
        f"Marked #{view.id} {word}: {view.type_name} for {view.patient} with "
        f"{view.provider_name}, {view.when}. Wrong one? /appt {OTHER_OUTCOME[outcome]} {view.id}"
    )


def attendance_too_early(view: AppointmentView) -> str:
    return (
        f"#{view.id} has not started yet ({view.when}), so it cannot be marked attended or a "
        "no-show. Mark it once the visit has begun."
    )


def refused(reason: str) -> str:
    return f"That didn't work: {reason}."


def slot_taken(count: int) -> str:
    if not count:
        return "Sorry, that time was just taken, and nothing else is open nearby."
    return "Sorry, that time was just taken. The nearest open times:"


def patient_found(patient: str, patient_id: int, lines: Sequence[str]) -> str:
    if not lines:
        return f"{patient} (patient #{patient_id}) has no upcoming appointments."
    return f"{patient} (patient #{patient_id}), upcoming:\n" + "\n".join(
        f"  {line}" for line in lines
    )


def appointment_line(view: AppointmentView) -> str:
    return f"#{view.id} {view.when}: {view.type_name} with {view.provider_name}"


def waitlisted(
    patient: str,
    type_name: str,
    provider: str | None,
    priority: str,
    earliest: date | None,
    created: bool,
) -> str:
    """A patient put on (or already on) the waitlist."""
    what = f"{type_name}" + (f" with {provider}" if provider else "")
    when = f" from {earliest:%a %b} {earliest.day}" if earliest else ""
    if not created:
        return f"{patient} is already on the waitlist for a {what} ({priority})."
    return (
        f"{patient} is on the waitlist for a {what}{when} ({priority}). They will be texted "
        "when a matching time frees up."
    )


# The languages patients may be served in, as staff read them (bot/i18n.py).
LANGUAGE_NAMES = {"es": "Spanish", "en": "English"}


def patient_label(
    name: str | None, patient_id: int, erased: bool, language: str | None = None
) -> str:
    """How staff see a patient: the name (or the id), and the language they are served in
    when it is not English ("Ana Example (speaks Spanish)")."""
    if erased:
        return f"patient #{patient_id} (erased)"
    label = name or f"patient #{patient_id}"
    return f"{label} ({speaks(language)})" if speaks(language) else label


def for_attendee(label: str, attendee: str | None) -> str:
    """The patient who booked, and whom the visit is for when not them."""
    return f"{label}, for {attendee}" if attendee else label


def speaks(language: str | None) -> str:
    """ "speaks Spanish", or "" for English (the default) and a patient not heard from yet."""
    return (
        f"speaks {LANGUAGE_NAMES[language]}"
        if language in LANGUAGE_NAMES and language != "en"
        else ""
    )


# --- the day ---------------------------------------------------------------------------------


def schedule_title(clinic: Clinic, day: date) -> str:
    return f"{clinic.name}: {day_text(day)}"


def provider_summary(entry: ProviderDay) -> str:
    if not entry.working:
        return f"{entry.name}: not working"
    return f"{entry.name}: {entry.booked} booked, {entry.free} open" + (
        f" ({entry.free_type} times)" if entry.free_type else ""
    )


# What a day's schedule says after a visit once its attendance is marked.
SCHEDULE_MARKS = {"fulfilled": " - attended", "noshow": " - no-show"}


def schedule_line(view: AppointmentView, zone: ZoneInfo) -> str:
    return (
        f"{time_text(view.start.astimezone(zone))}  #{view.id} {view.type_name}, {view.patient}"
        + SCHEDULE_MARKS.get(view.status, "")
    )


def attendance_label(appointment_id: int, outcome: str) -> str:
    """The schedule's button for a visit that has started: "#42 Attended", "#42 No-show"."""
    return f"#{appointment_id} " + ("Attended" if outcome == "fulfilled" else "No-show")


def schedule_text(clinic: Clinic, day: date, entries: Sequence[ProviderDay]) -> str:
    lines = [schedule_title(clinic, day)]
    for entry in entries:
        lines.append(provider_summary(entry))
        lines += [f"  {schedule_line(v, clinic.zone)}" for v in entry.appointments]
    return "\n".join(lines)


def home_not_authorized() -> str:
    return (
        "This is the clinic's scheduling app for staff. Ask a clinic admin to add you, "
        "then come back here for today's schedule."
    )


def home_footer() -> str:
    return "Type /appt help for the commands, or send me a direct message."
