"""What the staff and admin desks answer with: `StaffAnswer`, the same for every channel.

Its `text` is the whole answer, enough for a plain-text channel (the staff console, a DM); the
other fields are what a rich channel (Slack's Block Kit) can render besides: slot choices to
click, the appointment a confirmation is about (its Cancel and Reschedule buttons), a button that
asks before it acts, the day's schedule (with `note`, what a click on it just did, shown above
it), a file for the one who asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a cycle otherwise: schedule.py reads attendance.py, which makes answers
    from bot.staff.schedule import ProviderDay


@dataclass(frozen=True)
class Choice:
    label: str
    token: str  # an action token (bot/staff/choices.py)


@dataclass(frozen=True)
class Confirmation:
    """A button that asks before it acts (Slack shows `question` in a dialog, with `yes` and
    `no`). `action` names what it does for the channel: an erasure, or applying a plan."""

    label: str
    token: str
    question: str
    action: str = "patient_erase"
    yes: str = "Erase"
    no: str = "Keep"
    danger: bool = True


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content: str


@dataclass(frozen=True)
class StaffAnswer:
    text: str
    choices: tuple[Choice, ...] = ()
    appointment_id: int | None = None  # a booking confirmation: Cancel / Reschedule
    confirmation: Confirmation | None = None
    schedule: tuple[ProviderDay, ...] | None = None
    day: date | None = None
    note: str | None = None  # with a schedule: the sentence shown above it (`text` has both)
    export: ExportFile | None = None
    ok: bool = True  # False: refused or not understood
