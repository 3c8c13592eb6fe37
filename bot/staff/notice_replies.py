"""What the staff channel reads when a patient does something: one sentence a notice
(bot/staff/notices.py), with ids and times only, never a name, a phone number or message text.

Plain text, as in bot/staff/replies.py, whose `speaks` says the language a patient is served in.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

from bot.patient.replies import time_text, when_text
from bot.staff.replies import speaks
from scheduler.clinic import Clinic

if TYPE_CHECKING:
    from bot.staff.notices import StaffNotice


def notice(n: StaffNotice, clinic: Clinic) -> str:
    zone = clinic.zone
    at = time_text(n.at.astimezone(zone))
    via = {"sms": "SMS", "web": "web chat", "console": "console"}.get(
        n.channel or "", n.channel or "?"
    )
    if speaks(n.language):
        via = f"{via}, {speaks(n.language)}"
    when = when_text(n.start, zone) if n.start else "an unknown time"
    with_ = ""
    if n.provider:
        try:
            with_ = f" with {clinic.provider(n.provider).name}"
        except StopIteration:
            with_ = ""
    if n.kind == "booked":
        return f"New booking #{n.appointment_id} by patient #{n.patient_id} ({via}): {when}{with_}."
    if n.kind == "rescheduled":
        return (
            f"Patient #{n.patient_id} moved appointment #{n.appointment_id} ({via}) to "
            f"{when}{with_}."
        )
    if n.kind == "cancelled":
        return (
            f"Patient #{n.patient_id} cancelled appointment #{n.appointment_id} ({via}), "
            f"which was {when}."
        )
    if n.kind == "red_flag":
        return (
            f"EMERGENCY red flag from patient #{n.patient_id} ({via}) at {at}. They were "
            "told to call 911. Look them up with /appt-admin logs, or call them."
        )
    if n.kind == "red_flag_unanswered":
        return (
            f"URGENT, CALL NOW: patient #{n.patient_id} texted an emergency red flag at "
            f"{at}, but has opted out of texts, so nobody answered them. Call them: "
            f"/appt contact {n.patient_id} shows their number."
        )
    if n.kind == "urgent_waitlist":
        kind = "an appointment"  # when it names no type, or one the clinic no longer has
        if n.appointment_type is not None:
            with suppress(StopIteration):
                kind = clinic.appointment_type(n.appointment_type).name
        return (
            f"Patient #{n.patient_id} ({via}) joined the waitlist for {kind}, ranked urgent "
            "by triage from what they described. They get the first freed slot; to see "
            "them sooner, /appt slots and /appt book."
        )
    if n.kind == "undelivered":
        what = n.message_kind or "message"
        code = f", error {n.code}" if n.code is not None else ""
        return (
            f"A {what} text to patient #{n.patient_id} could not be delivered ({at}{code}). "
            "Please reach them another way."
        )
    return f"{n.kind} (patient #{n.patient_id}) at {at}."
