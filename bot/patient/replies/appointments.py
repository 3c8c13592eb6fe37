"""What the patient hears about the appointments they have: how one is named, the list of them, a
reference that matches none, picking one, and cancelling it (or keeping it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import _, ngettext
from bot.patient.replies.wording import when_text


def appointment_line(type_name: str, start: datetime, provider_name: str, zone: ZoneInfo) -> str:
    return _("{type}, {when} with {provider}").format(
        type=type_name, when=when_text(start, zone), provider=provider_name
    )


def appointment_line_for(
    attendee: str, type_name: str, start: datetime, provider_name: str, zone: ZoneInfo
) -> str:
    return _("{type} for {name}, {when} with {provider}").format(
        type=type_name, name=attendee, when=when_text(start, zone), provider=provider_name
    )


def with_reference(line: str, appointment_id: int) -> str:
    return _("{appointment} (ref #{ref})").format(appointment=line, ref=appointment_id)


def appointments_list(lines: Sequence[str]) -> str:
    if len(lines) == 1:
        return _("Your upcoming appointment: {appointment}.").format(appointment=lines[0])
    return (
        ngettext(
            "You have {count} upcoming appointment:",
            "You have {count} upcoming appointments:",
            len(lines),
        ).format(count=len(lines))
        + "\n"
        + "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1))
    )


def unknown_reference(reference: int, lines: Sequence[str]) -> str:
    if not lines:
        return _(
            "None of your appointments has the reference #{ref}, and you have no upcoming "
            "appointments. Text 'book' to make one."
        ).format(ref=reference)
    return (
        _("None of your upcoming appointments has the reference #{ref}.").format(ref=reference)
        + " "
        + appointments_list(lines)
    )


def no_appointments() -> str:
    return _("You have no upcoming appointments. Text 'book' to make one.")


def pick_appointment(action: str) -> str:
    if action == "cancel":
        return _("Which appointment do you want to cancel? Reply with a number.")
    return _("Which appointment do you want to move? Reply with a number.")


def confirm_cancel(description: str) -> str:
    return _("Cancel your {appointment}? Reply YES to cancel or NO to keep it.").format(
        appointment=description
    )


def cancelled(description: str) -> str:
    return _("Your {appointment} is cancelled. Text 'book' any time to make a new one.").format(
        appointment=description
    )


def kept() -> str:
    return _("OK, your appointment is unchanged.")
