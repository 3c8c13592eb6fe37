"""The urgent queue and staff's override of a waitlist entry's level, in Slack.

`/appt urgent` lists the entries waiting at the urgent and soon levels (scheduler/urgency.py), in
the waitlist's own order (level, then time waiting), each with its id, level, patient, type and how
long it has waited; `/appt urgent all` lists the routine ones too (their ids, to raise one). `/appt urgency <waitlist id> <urgent|soon|routine> <why...>` sets an entry's
level, up or down, through `SchedulingTools.set_urgency` (bot/tools.py), which audits who, from,
to and why; the reason is required. A bad id, level or a missing reason is answered with what is
wrong and the usage line, and nothing changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.staff import replies as say
from bot.staff.answers import StaffAnswer
from bot.staff.fields import appointment_id
from bot.tools import SchedulingTools
from scheduler import urgency
from scheduler.errors import NotFound, SchedulingError
from scheduler.models import Patient, WaitlistEntry

if TYPE_CHECKING:
    from bot.staff.desk import StaffDesk

QUEUE_LEVELS = ("urgent", "soon")
MAX_LISTED = 30  # a longer queue is cut, saying how many more wait


def urgent_queue(db: Session, levels: tuple[str, ...] = QUEUE_LEVELS) -> list[WaitlistEntry]:
    """The entries waiting at these levels (urgent and soon): the most urgent first, the
    longest waiting first within a level."""
    return list(
        db.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.status == "waiting", WaitlistEntry.priority.in_(levels))
            .order_by(WaitlistEntry.priority_rank, WaitlistEntry.created_at, WaitlistEntry.id)
        )
    )


def waited(since: datetime, now: datetime) -> str:
    """How long since `since`: "12 min", "3 h 20 min", "2 days 4 h"."""
    return minutes_text(max(0, int((now - since).total_seconds() // 60)))


def minutes_text(minutes: int) -> str:
    """A span of minutes as staff read it: "12 min", "3 h 20 min", "2 days 4 h"."""
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days, hours = divmod(hours, 24)
    days_text = f"{days} day{'' if days == 1 else 's'}"
    return f"{days_text} {hours} h" if hours else days_text


def queue(desk: StaffDesk, db: Session, tools: SchedulingTools, rest: str) -> StaffAnswer:
    """`/appt urgent [all]`: the urgent queue (with `all`, every waiting entry), with how long
    each entry has waited."""
    if rest.lower() not in ("", "all"):
        return StaffAnswer(say.usage(say.APPT_USAGE["urgent"]), ok=False)
    every = rest.lower() == "all"
    entries = urgent_queue(db, urgency.BOOKABLE if every else QUEUE_LEVELS)
    which = "on the waitlist" if every else "urgent or soon"
    if not entries:
        return StaffAnswer(f"Nobody is waiting {which}.")
    lines = [f"Waiting {which} ({len(entries)}), most urgent and longest waiting first:"]
    for entry in entries[:MAX_LISTED]:
        patient = db.get(Patient, entry.patient_id)
        label = desk.patient_label(patient) if patient else f"patient #{entry.patient_id}"
        lines.append(
            f"  #{entry.id}  {entry.priority}  {label}: {_type_name(desk, entry.type_key)}, "
            f"waiting {waited(entry.created_at, tools.now)}"
        )
    if len(entries) > MAX_LISTED:
        lines.append(f"  ...and {len(entries) - MAX_LISTED} more.")
    lines.append(f"Change a level: {say.APPT_USAGE['urgency']}")
    return StaffAnswer("\n".join(lines))


def change(desk: StaffDesk, db: Session, tools: SchedulingTools, rest: str) -> StaffAnswer:
    """`/appt urgency <waitlist id> <level> <why...>`: staff's override, audited."""
    usage = say.APPT_USAGE["urgency"]
    word, _, rest = rest.partition(" ")
    level, _, reason = rest.partition(" ")
    entry_id = appointment_id(word) if word else None
    if entry_id is None:
        problem = "Waitlist ids are numbers, like 12 or #12." if word else None
        return StaffAnswer(say.usage(usage, problem), ok=False)
    level = level.lower()
    if level not in urgency.BOOKABLE:
        problem = f"The level is one of {', '.join(urgency.BOOKABLE)}."
        return StaffAnswer(say.usage(usage, problem), ok=False)
    if not reason.strip():
        return StaffAnswer(say.usage(usage, "Say why the level changes."), ok=False)
    before = db.get(WaitlistEntry, entry_id)
    previous = before.priority if before is not None else None
    try:
        entry = tools.set_urgency(entry_id, level, reason)
    except NotFound:
        return StaffAnswer(f"There is no waitlist entry #{entry_id}.", ok=False)
    except SchedulingError as refusal:
        return StaffAnswer(say.refused(str(refusal)), ok=False)
    patient = db.get(Patient, entry.patient_id)
    label = desk.patient_label(patient) if patient else f"patient #{entry.patient_id}"
    what = _type_name(desk, entry.type_key)
    if previous == entry.priority:
        return StaffAnswer(f"Waitlist #{entry.id} ({label}, {what}) stays {entry.priority}.")
    return StaffAnswer(
        f"Waitlist #{entry.id} ({label}, {what}) is now {entry.priority} "
        f"(was {previous}). Recorded with your reason."
    )


def _type_name(desk: StaffDesk, type_key: str) -> str:
    try:
        return desk.clinic.appointment_type(type_key).name
    except StopIteration:  # a type since taken out of the clinic file
        return type_key
