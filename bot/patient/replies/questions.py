"""Answers to what patients ask beside scheduling: a person, where, hours, being late, costs,
what to bring, reminders, new patients; and to a language the clinic does not serve.
"""

from __future__ import annotations

from bot.i18n import _, weekday_names
from bot.patient.replies.wording import time_text
from scheduler.clinic import Clinic, TimeRange


def talk_to_person(clinic: Clinic) -> str:
    return _(
        "To talk to a person, call {clinic} at {phone}. Or text 'book' to make an appointment here."
    ).format(clinic=clinic.name, phone=clinic.display_phone)


def where_we_are(clinic: Clinic) -> str:
    if clinic.address:
        return _("{clinic} is at {address}. For directions or parking, call {phone}.").format(
            clinic=clinic.name, address=clinic.address, phone=clinic.display_phone
        )
    return _("For directions, parking or anything else, call {clinic} at {phone}.").format(
        clinic=clinic.name, phone=clinic.display_phone
    )


def language_switched() -> str:
    """Said in the language just switched to."""
    return _("OK, I'll write in English from now on. How can I help?")


def other_language(clinic: Clinic) -> str:
    """A message in a language the clinic does not serve (said in the closest one it does)."""
    return _(
        "Sorry, I can read only English and Spanish here. For help in another language, "
        "call {phone}. I can book, move or cancel a visit."
    ).format(phone=clinic.display_phone)


def provider_wish(clinic: Clinic) -> str:
    return _(
        "I can't choose a provider that way here; the front desk can help with that: call {phone}."
    ).format(phone=clinic.display_phone)


def running_late(clinic: Clinic) -> str:
    return _(
        "Thanks for letting us know. Please call {phone} so the front desk can tell "
        "whether your visit can still go ahead."
    ).format(phone=clinic.display_phone)


def opening_hours(clinic: Clinic) -> str:
    spans: list[tuple[list[int], TimeRange]] = []  # runs of weekdays with the same hours
    for day, span in clinic.open_hours().items():
        if spans and spans[-1][1] == span and spans[-1][0][-1] == day - 1:
            spans[-1][0].append(day)
        else:
            spans.append(([day], span))
    names = weekday_names()
    parts = [
        f"{names[days[0]]}{'-' + names[days[-1]] if len(days) > 1 else ''} "
        f"{time_text(span.start)}-{time_text(span.end)}"
        for days, span in spans
    ]
    return _("{clinic} is open {hours}. Call {phone} with questions.").format(
        clinic=clinic.name, hours=", ".join(parts), phone=clinic.display_phone
    )


def front_desk(clinic: Clinic) -> str:
    return _(
        "The front desk can answer that (costs, insurance, billing): call {phone}. I can "
        "book, move or cancel a visit."
    ).format(phone=clinic.display_phone)


def new_patients(clinic: Clinic) -> str:
    return _(
        "I can book a visit for you by text: just tell me what you need. For questions "
        "about joining the practice, call {phone}."
    ).format(phone=clinic.display_phone)


def how_to_prepare(clinic: Clinic) -> str:
    return _(
        "The front desk can tell you what to bring and how to prepare: call {phone}. I can "
        "book, move or cancel a visit."
    ).format(phone=clinic.display_phone)


def about_reminders(clinic: Clinic) -> str:
    return _(
        "Reminders go out by text before visits: reply C to confirm, R to reschedule or X "
        "to cancel. For anything else about them, call {phone}."
    ).format(phone=clinic.display_phone)


def nothing_to_confirm() -> str:
    return _(
        "I'm not sure what you're answering. I can book, move or cancel a visit, or list "
        "your appointments."
    )
