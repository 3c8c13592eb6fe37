"""Every sentence a patient can receive, in one folder for review, in every language the clinic serves.

Each is an English message id (gettext, through bot/i18n.py) whose translations live in
`bot/locales/<lang>/LC_MESSAGES/messages.po`; the language is the turn's (`i18n.speaking`).
Placeholders are named, so a translation may order them its own way; counts use plural forms.
A sentence is never built from pieces in one language: every variant is a message of its own.

Short, one next step per message, GSM-7 friendly in the message ids (no smart quotes, no emoji);
over SMS the channel also drops the accents outside GSM-7 (bot/patient/segments.py). Dates and times are
the clinic's zone, as each language says them ("Tue Mar 10 at 2:30 PM", "martes 10 de marzo,
2:30 p.m.").

The sentences are grouped by subject (wording.py, conversation.py, appointments.py, questions.py,
sms.py, clinic_texts.py); every one of them is importable from here, so code says
`replies.booked(...)` whatever the group.
"""

from __future__ import annotations

from bot.patient.replies.appointments import (  # noqa: F401
    appointment_line,
    appointment_line_for,
    appointments_list,
    cancelled,
    confirm_cancel,
    kept,
    no_appointments,
    pick_appointment,
    unknown_reference,
    with_reference,
)
from bot.patient.replies.clinic_texts import (  # noqa: F401
    offer_accepted,
    offer_declined,
    offer_expired,
    offer_taken,
    reminder,
    reminder_cancel_check,
    reminder_confirmed,
    reminder_reply_stale,
    waitlist_already,
    waitlist_ask_type,
    waitlist_joined,
    waitlist_offer,
)
from bot.patient.replies.conversation import (  # noqa: F401
    acknowledged,
    already_booked_that_day,
    ask_attendee_name,
    ask_day,
    ask_day_again,
    ask_name,
    ask_name_again,
    ask_reschedule_day,
    ask_type,
    ask_type_keeping_when,
    beyond_horizon,
    booked,
    booked_for,
    booking_refused,
    choose_range,
    emergency,
    empty_message,
    greeting,
    help_text,
    impossible_date,
    moved,
    name_thanks,
    never_mind,
    no_slots,
    not_understood,
    nothing_beside,
    nothing_booked,
    offer_for,
    past_date,
    relation_noun,
    slot_label,
    slot_taken_ask_day,
    slot_taken_offer,
    slots_offer,
    why_name,
    you_are_welcome,
)
from bot.patient.replies.questions import (  # noqa: F401
    about_reminders,
    front_desk,
    how_to_prepare,
    language_switched,
    new_patients,
    nothing_to_confirm,
    opening_hours,
    other_language,
    provider_wish,
    running_late,
    talk_to_person,
    where_we_are,
)
from bot.patient.replies.sms import (  # noqa: F401
    consent_given,
    consent_reminder,
    consent_request,
    handoff_recorded,
    internal_error,
    media_only,
    more_suffix,
    nothing_changed_yet,
    opted_in,
    opted_out,
    rate_limited,
    sms_help,
    staff_only,
    unanswered,
    waitlist_recorded,
)
from bot.patient.replies.wording import (  # noqa: F401
    day_text,
    period_text,
    provider_name,
    provider_name_of,
    time_text,
    type_name,
    type_name_of,
    type_names,
    when_text,
)
