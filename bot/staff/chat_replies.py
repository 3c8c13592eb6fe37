"""What the staff conversation (a DM with the bot, or the staff console) says around the desk's
answers: its help, the questions it asks for what is missing, and its small talk. The answers
themselves (booked, moved, the open times) are bot/staff/replies.py's, the same as `/appt`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scheduler.clinic import Clinic

if TYPE_CHECKING:
    from bot.staff.schedule import AppointmentView


def chat_help(clinic: Clinic) -> str:
    return (
        "I can book for a patient ('book a checkup for +1 212 555 0199 tomorrow morning'), "
        "find open times ('open slots for an echo next week'), show a provider's day "
        "('Dr Okafor's schedule tomorrow'), move ('move 42 to friday 3pm') or cancel "
        "('cancel 42'), and look a patient up ('find +1 212 555 0199'). "
        "Slash commands: /appt help."
    )


def chat_not_understood() -> str:
    return "Sorry, I didn't catch that. " + chat_help_short()


def chat_help_short() -> str:
    return "Try 'book', 'open slots', 'schedule', 'move', 'cancel' or 'find', or 'help'."


def ask_patient_phone() -> str:
    return "Which patient? Send their phone number."


def ask_patient_name() -> str:
    return (
        "That number is new to the clinic. What is the patient's full name? "
        "(Reply SKIP to book without a name.)"
    )


def ask_type(clinic: Clinic) -> str:
    return "What kind of visit? Reply with a number."


def ask_day(type_name: str) -> str:
    return f"What day for the {type_name}? For example 'tomorrow' or 'friday afternoon'."


def choose_number(count: int) -> str:
    return f"Reply with a number from 1 to {count}, or tell me another day."


def ask_appointment() -> str:
    return "Which appointment? Send its number, like 42 or #42."


def confirm_cancel(view: AppointmentView) -> str:
    return (
        f"Cancel #{view.id}: {view.type_name} for {view.patient}, {view.when}? "
        "Reply YES to cancel or NO to keep it."
    )


def kept() -> str:
    return "OK, nothing changed."


def you_are_welcome() -> str:
    return "You're welcome."


def nothing_pending() -> str:
    return "There is nothing waiting for a yes or no. " + chat_help_short()
