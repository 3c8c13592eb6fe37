"""What only a phone hears: opting out and in, consent, HELP, the rate limit, "Reply MORE", an
unanswered text, an error; and what is said when the model's own words cannot be used.
"""

from __future__ import annotations

from bot.i18n import _
from scheduler.clinic import Clinic


def opted_out(clinic: Clinic, *, said_cancel: bool = False) -> str:
    """The one confirmation of an opt-out. A bare CANCEL opts out, as carriers read it; someone
    who meant their visit learns how to cancel that, since no more texts will come."""
    if said_cancel:
        return _(
            "You won't get any more messages from {clinic}. Reply START to opt back in. To "
            "cancel a visit, call {phone}."
        ).format(clinic=clinic.name, phone=clinic.display_phone)
    return _("You won't get any more messages from {clinic}. Reply START to opt back in.").format(
        clinic=clinic.name
    )


def opted_in(clinic: Clinic) -> str:
    return _("You're subscribed to {clinic} messages again. Text 'help' for options.").format(
        clinic=clinic.name
    )


def internal_error(clinic: Clinic) -> str:
    return _(
        "Sorry, something went wrong on our side and nothing was changed. Please try "
        "again, or call {phone}."
    ).format(phone=clinic.display_phone)


def unanswered(clinic: Clinic) -> str:
    """A text that went unanswered (the server stopped while it was being answered)."""
    return _(
        "{clinic}: sorry, we could not answer your last text. Please send it again, or "
        "call {phone}."
    ).format(clinic=clinic.name, phone=clinic.display_phone)


def staff_only() -> str:
    return _("Staff tools are not available here yet. Please use the clinic's Slack app.")


def more_suffix() -> str:
    """The end of each page of a long list but the last (bot/patient/segments.py)."""
    return _("Reply MORE for more.")


# SMS: consent, carrier keywords and abuse limits (bot/patient/consent.py decides when each is said).


def consent_request(clinic: Clinic) -> str:
    return _(
        "{clinic}: appointment texts to book, move or cancel visits. Msg & data rates may "
        "apply. Reply YES to continue, HELP for help, STOP to opt out."
    ).format(clinic=clinic.name)


def consent_reminder(clinic: Clinic) -> str:
    return _(
        "To text with {clinic}, please reply YES first. Reply HELP for help or STOP to opt out."
    ).format(clinic=clinic.name)


def consent_given(clinic: Clinic) -> str:
    return _("Thanks, you're signed up for {clinic} texts. Reply STOP any time to opt out.").format(
        clinic=clinic.name
    )


def sms_help(clinic: Clinic) -> str:
    return _(
        "{clinic} scheduling: text 'book', 'my appointments', 'reschedule' or 'cancel "
        "appointment'. Call {phone} to talk to a person, 911 in an emergency. Msg & data "
        "rates may apply. Reply STOP to opt out."
    ).format(clinic=clinic.name, phone=clinic.display_phone)


def media_only() -> str:
    return _(
        "I can only read text, not pictures or files. Please type your message, or text "
        "'help' for options."
    )


def rate_limited(clinic: Clinic) -> str:
    return _(
        "You've sent a lot of messages in a few minutes, so I'll pause replies for a "
        "little while. For anything urgent call {phone}."
    ).format(phone=clinic.display_phone)


# The AI engine (bot/model/bedrock.py): what is said when the model's own words cannot be used.


def waitlist_recorded(type_name: str, clinic: Clinic) -> str:
    return _(
        "I've asked the {clinic} team to add you to the waitlist for a {type}. They will "
        "contact you if an earlier time opens up. Nothing is booked yet."
    ).format(clinic=clinic.name, type=type_name)


def handoff_recorded(clinic: Clinic) -> str:
    return _(
        "I've asked the {clinic} team to follow up with you. For anything that can't wait, "
        "call {phone}."
    ).format(clinic=clinic.name, phone=clinic.display_phone)


def nothing_changed_yet(clinic: Clinic) -> str:
    return _(
        "Sorry, I haven't booked, moved or cancelled anything yet. Tell me what you'd like "
        "and I'll check the open times, or call {phone}."
    ).format(phone=clinic.display_phone)
