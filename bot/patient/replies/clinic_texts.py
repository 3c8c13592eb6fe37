"""Texts the clinic sends by itself (reminders, waitlist offers: at most one segment each) and
the answers to their replies (C, R, X; YES or NO to an offer); the waitlist's sentences.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import _
from bot.patient import segments
from bot.patient.replies.wording import when_text
from scheduler.clinic import Clinic

# --- texts the clinic sends by itself (jobs/reminders/due.py), and the answers to them -----------
# Fixed templates, never model-written: at most one SMS segment (160 GSM-7 characters), and only
# what is needed: no appointment type, specialty or reason; the provider only where the clinic
# file allows it (`show_provider_in_reminders`).


def reminder(clinic: Clinic, start: datetime, zone: ZoneInfo, provider_name: str | None) -> str:
    when = when_text(start, zone)
    plain = _(
        "{clinic}: your visit is {when}. Call {phone}. Reply C to confirm, R to "
        "reschedule, X to cancel."
    ).format(clinic=clinic.name, when=when, phone=clinic.display_phone)
    if not provider_name:
        return segments.fit_one([plain], clinic.name)
    with_provider = _(
        "{clinic}: your visit is {when} with {provider}. Call {phone}. Reply C to "
        "confirm, R to reschedule, X to cancel."
    ).format(clinic=clinic.name, when=when, provider=provider_name, phone=clinic.display_phone)
    return segments.fit_one([with_provider, plain], clinic.name)


def waitlist_offer(clinic: Clinic, start: datetime, zone: ZoneInfo, hold_minutes: int = 15) -> str:
    text = _(
        "{clinic}: an earlier time opened, {when}. Reply YES within {minutes} min to take "
        "it, or NO. Call {phone}."
    ).format(
        clinic=clinic.name,
        when=when_text(start, zone),
        minutes=hold_minutes,
        phone=clinic.display_phone,
    )
    return segments.fit_one([text], clinic.name)


def reminder_confirmed(description: str) -> str:
    return _("Thanks, your {appointment} is confirmed. See you then.").format(
        appointment=description
    )


def reminder_cancel_check(description: str) -> str:
    return _(
        "Cancel your {appointment}? Reply X again to confirm, or anything else to keep it."
    ).format(appointment=description)


def reminder_reply_stale(clinic: Clinic) -> str:
    return _("That appointment can no longer be changed by text. Please call {phone}.").format(
        phone=clinic.display_phone
    )


def offer_accepted(description: str, clinic: Clinic) -> str:
    return _(
        "It's yours: {appointment} at {clinic}. You're off the waitlist. To change it, text "
        "'reschedule' or 'cancel appointment'."
    ).format(appointment=description, clinic=clinic.name)


def offer_taken() -> str:
    return _(
        "Sorry, that time was just taken by someone else. You keep your place on the "
        "waitlist and we'll text you when another time opens."
    )


def offer_expired() -> str:
    return _(
        "Sorry, that offer has expired. You keep your place on the waitlist and we'll text "
        "you when another time opens."
    )


def offer_declined() -> str:
    return _("OK, we'll keep you on the waitlist and text you when another time opens.")


def waitlist_ask_type() -> str:
    return _("Which kind of visit do you want to wait for? Reply with a number.")


def waitlist_joined(
    type_name: str,
    clinic: Clinic,
    provider_name: str | None = None,
    window: str | None = None,
    *,
    level: str = "routine",
) -> str:
    """Joined; `level` is the entry's (scheduler/urgency.py), as triage heard it."""
    values = dict(clinic=clinic.name, type=type_name, provider=provider_name, period=window)
    if provider_name and window:
        said = _(
            "You're on the {clinic} waitlist for a {type} with {provider}, {period}. When a "
            "time opens we'll text you an offer; reply YES to take it."
        )
    elif provider_name:
        said = _(
            "You're on the {clinic} waitlist for a {type} with {provider}. When a time "
            "opens we'll text you an offer; reply YES to take it."
        )
    elif window:
        said = _(
            "You're on the {clinic} waitlist for a {type}, {period}. When a time opens "
            "we'll text you an offer; reply YES to take it."
        )
    else:
        said = _(
            "You're on the {clinic} waitlist for a {type}. When a time opens we'll text you "
            "an offer; reply YES to take it."
        )
    said = said.format(**values)
    if level == "urgent":  # ranked urgent by triage: near the front, and a way now
        said += " " + _(
            "From what you told us, you're near the front of the list. If it gets "
            "worse, call us at {phone}."
        ).format(phone=clinic.display_phone)
    elif level == "soon":  # to be seen within a week: ahead of routine visits
        said += " " + _(
            "From what you told us, you'll be offered times ahead of routine visits. If it "
            "gets worse, call us at {phone}."
        ).format(phone=clinic.display_phone)
    return said


def waitlist_already(type_name: str) -> str:
    return _(
        "You're already on the waitlist for a {type}. We'll text you when a time opens."
    ).format(type=type_name)
