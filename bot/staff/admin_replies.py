"""Every sentence admins read from `/appt-admin`: its usage lines, the staff list, the audit trail
(kinds, ids and times, never text), reminders, one patient's data export and erasure, and the
optimiser's plan.

Plain text, as in bot/staff/replies.py, which also has the sentences both desks share (access,
usage lines, how a patient is named).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.patient.replies import when_text
from scheduler.clinic import Clinic

if TYPE_CHECKING:
    from scheduler.models import Reminder

ADMIN_USAGE = {
    "users": "/appt-admin users list | add <@user> <staff|admin> | remove <@user> | "
    "role <@user> <staff|admin>",
    "logs": "/appt-admin logs [n]",
    "audit": "/appt-admin audit verify",
    "reminders": "/appt-admin reminders [pending|failed]",
    "patient": "/appt-admin patient export <phone> | erase <phone>",
    "optimise": "/appt-admin optimise [today|tomorrow|YYYY-MM-DD]",
    "ehr": "/appt-admin ehr [resend <id>|all]",
    "help": "/appt-admin help",
}


def admin_help(clinic: Clinic) -> str:
    lines = [
        f"{clinic.name} administration:",
        f"  {ADMIN_USAGE['users']}",
        f"  {ADMIN_USAGE['logs']}  - recent audit events (kinds, ids and times; no text)",
        f"  {ADMIN_USAGE['audit']}  - check the audit trail's hash chain",
        f"  {ADMIN_USAGE['reminders']}",
        f"  {ADMIN_USAGE['patient']}  - a patient's data as a file to you alone, or "
        "its erasure (asks first)",
        f"  {ADMIN_USAGE['optimise']}  - who of the waitlist the optimiser would offer "
        "which time that day; Apply sends the offers",
        f"  {ADMIN_USAGE['ehr']}  - EHR notifications that failed for a day; send them again",
    ]
    return "\n".join(lines)


def bad_user() -> str:
    return "Name the person with an @-mention (like @jordan) or their Slack member id (U...)."


def users_listed(lines: Sequence[str]) -> str:
    if not lines:
        return "Nobody is on the staff list yet."
    return f"Staff list ({len(lines)}):\n" + "\n".join(f"  {line}" for line in lines)


def user_line(who: str, role: str, added_at: datetime, added_by: str | None) -> str:
    """`who`: their Slack id, or their portal login when they have no Slack id."""
    return f"{who} {role}, added {added_at:%Y-%m-%d} by {added_by or '?'}"


def user_added(slack_user_id: str, role: str) -> str:
    return f"{slack_user_id} is now {role}."


def user_removed(slack_user_id: str) -> str:
    return f"{slack_user_id} no longer has access to the staff tools."


def user_role_changed(slack_user_id: str, old: str, new: str) -> str:
    return f"{slack_user_id} was {old}, is now {new}."


def user_refused(reason: str) -> str:
    return f"Nothing changed: {reason}."


def logs_header(count: int) -> str:
    if not count:
        return "The audit trail is empty."
    return f"The last {count} audit events (newest first; kinds, ids and times only):"


def logs_count_range(most: int) -> str:
    return f"n is a number from 1 to {most}."


def log_line(
    seq: int,
    at: datetime,
    kind: str,
    channel: str | None,
    actor: str | None,
    patient_id: int | None,
    appointment_id: int | None,
) -> str:
    parts = [f"#{seq}", f"{at:%Y-%m-%d %H:%M:%S}Z", kind, channel or "-", actor or "-"]
    if patient_id is not None:
        parts.append(f"patient #{patient_id}")
    if appointment_id is not None:
        parts.append(f"appt #{appointment_id}")
    return " ".join(parts)


def audit_ok(checked: int) -> str:
    return f"OK: all {checked} audit events verified; the chain is intact."


def audit_broken(seq: int | None, reason: str | None, checked: int) -> str:
    return (
        f"BROKEN at audit event #{seq}: {reason} ({checked} events before it verified). "
        "Nothing after it can be trusted; keep the database as it is and investigate."
    )


def reminders_header(total: int, which: str, shown: int) -> str:
    return (
        f"{total} {which} reminder{'s' if total != 1 else ''}"
        + (f" (showing {shown})" if total > shown else "")
        + ":"
    )


def no_reminders(which: str) -> str:
    return f"No {which} reminders."


def reminder_line(reminder: Reminder, which: str, zone: ZoneInfo) -> str:
    """One reminder by ids and time; a failed one with the provider's error code."""
    return (
        f"#{reminder.id} {reminder.kind} for appointment #{reminder.appointment_id or '-'} "
        f"(patient #{reminder.patient_id}) due {when_text(reminder.due_at, zone)}"
        + (f", code {reminder.last_error_code}" if which == "failed" else "")
        + (f", {reminder.status}" if which == "pending" and reminder.status != "pending" else "")
    )


def export_sent(patient_id: int) -> str:
    return f"Patient #{patient_id}'s data is in a JSON file sent to you alone, in our DM."


def export_failed(reference: str) -> str:
    return (
        f"The export was made but the file could not be sent to you (ref {reference}). "
        "Try again, or use `flask --app app patient export` on the server."
    )


def confirm_erase(patient: str, patient_id: int) -> str:
    return (
        f"Erase {patient} (patient #{patient_id})? Their name, phone number, conversations "
        "and messages are deleted; appointments stay without personal data. This cannot be "
        "undone."
    )


def erase_button(patient_id: int) -> str:
    return f"Erase patient #{patient_id}"


def erase_question() -> str:
    return "This erases the patient's personal data for good."


def erased(
    patient_id: int,
    sessions: int,
    messages: int,
    receipts: int,
    audit_texts: int,
    appointments: int,
) -> str:
    return (
        f"Erased patient #{patient_id}: name and phone removed, {sessions} conversation(s) "
        f"ended, {messages} sent message(s) and {receipts} stored reply(ies) deleted, "
        f"{audit_texts} audit text(s) replaced by their digests, "
        f"{appointments} appointment(s) kept without personal data."
    )


def already_erased(patient_id: int) -> str:
    return f"Patient #{patient_id} was already erased."


def optimise_bad_date(word: str) -> str:
    return f"{word!r} is not a date: give one as YYYY-MM-DD, or today or tomorrow."


def optimise_past_date(day: date) -> str:
    return f"{day:%a %b} {day.day} has passed: only today or a later day can be planned."


def optimise_preview(
    day: date,
    status: str,
    seconds: float,
    placed: int,
    waiting: int,
    served: int,
    weight: int,
    lines: Sequence[str],
    *,
    hidden: int = 0,
) -> str:
    head = f"Optimiser plan for {day:%a %b} {day.day}"
    if status == "empty":
        return f"{head}: nobody on the waitlist could be offered a time that day."
    summary = (
        f"{head}: {placed} of {waiting} waiting would be offered a time "
        f"(served weight {served} of {weight}; {status}, {seconds:.1f} s)."
    )
    more = [f"  ...and {hidden} more (apply these, then run it again)"] if hidden else []
    if not lines:
        return summary
    tail = "Apply texts these offers now; each is held 15 minutes and the first YES books."
    return "\n".join([summary] + [f"  {line}" for line in lines] + more + [tail])


def optimise_line(
    start: datetime, kind: str, provider: str, room: str | None, patient: str, level: str
) -> str:
    where = f", {room}" if room else ""
    return f"{start:%H:%M} {kind} with {provider}{where}: {patient} ({level})"


def optimise_button(count: int) -> str:
    return f"Apply: send {count} offer{'s' if count != 1 else ''}"


def optimise_question(count: int) -> str:
    return (
        f"Text {count} waiting patient{'s' if count != 1 else ''} an offer now? Times booked "
        "or taken since the preview are skipped."
    )


def optimise_day_passed(day: date) -> str:
    return f"That plan was for {day:%a %b} {day.day}, which has passed. Nothing was offered."


def optimise_applied(day: date, offered: int, skipped: int) -> str:
    text = f"Sent {offered} offer{'s' if offered != 1 else ''} from the plan for {day:%a %b} {day.day}."
    if skipped:
        text += f" {skipped} no longer valid (booked, taken or offered meanwhile): not offered."
    return text
