"""`/appt-admin optimise [date]`: the optimiser's plan for one day of the waiting list, as a
preview (who would be offered which time, the served weight against what is waiting, the
solver's status and time), and its Apply button, which makes those offers.

Nothing is stored between the two: the button's token carries the day and the previewed
assignments (entry, start, provider, room). Applying checks each again as any offer is checked
(scheduler/waitlist.py `offer_assignments`: still waiting, still bookable, no live offer) and
offers the ones still valid; the others are counted, not offered. The preview and the apply are
both audited with the admin as the actor. Bad input (no date, a past day) changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from bot.staff import admin_replies
from bot.staff import replies as say
from bot.staff.answers import Confirmation, StaffAnswer
from bot.tools import Caller
from scheduler import waitlist
from scheduler.availability import Slot
from scheduler.models import Patient, WaitlistEntry
from scheduler.optimise import clinic_data

if TYPE_CHECKING:
    from bot.staff.admin import AdminDesk

PREVIEW_TIME_LIMIT = 5.0
MAX_APPLY = 40
"""Assignments one Apply button carries, at most: Slack allows `MAX_TOKEN` characters in a
button's value."""
MAX_TOKEN = 2000
ACTION = "optimise_apply"

_KEY = r"[a-z0-9][a-z0-9-]{0,63}"
_ITEM = rf"(\d{{1,12}})\.(\d{{9,11}})\.({_KEY})\.((?:{_KEY})?)"
_TOKEN = re.compile(rf"^o:(\d{{4}}-\d{{2}}-\d{{2}})((?::{_ITEM}){{1,{MAX_APPLY}}})$")


def is_token(token: object) -> bool:
    return isinstance(token, str) and token.startswith("o:")


def preview(desk: AdminDesk, caller: Caller, args: list[str]) -> StaffAnswer:
    """The plan for the day asked (today by default), with an Apply button when it offers any."""
    now = desk.clock()
    today = now.astimezone(desk.clinic.zone).date()
    day, problem = _day(args, today)
    if day is None:
        return StaffAnswer(say.usage(admin_replies.ADMIN_USAGE["optimise"], problem), ok=False)
    with desk.sessions() as db:
        found = clinic_data.plan(db, desk.clinic, day, now=now, time_limit=PREVIEW_TIME_LIMIT)
        shown = found.proposals[:MAX_APPLY]
        lines = [_line(desk, db, proposal) for proposal in shown]
    with desk.sessions.begin() as db:
        desk._record(
            db,
            caller,
            "optimise_previewed",
            detail={"day": day.isoformat(), "proposals": len(found.proposals)},
        )
    text = admin_replies.optimise_preview(
        day,
        found.status,
        found.seconds,
        len(found.proposals),
        found.waiting,
        found.served_weight,
        found.waiting_weight,
        lines,
        hidden=len(found.proposals) - len(shown),
    )
    if not shown:
        return StaffAnswer(text)
    token = _token(day, shown)
    while len(token) > MAX_TOKEN:  # long keys: fewer assignments on the button
        shown = shown[:-1]
        token = _token(day, shown)
    return StaffAnswer(
        text,
        confirmation=Confirmation(
            admin_replies.optimise_button(len(shown)),
            token,
            admin_replies.optimise_question(len(shown)),
            action=ACTION,
            yes="Send offers",
            no="Not now",
            danger=False,
        ),
    )


def apply(desk: AdminDesk, caller: Caller, token: object) -> StaffAnswer:
    """The Apply button: offer the previewed assignments that are still valid."""
    match = _TOKEN.match(token) if isinstance(token, str) and len(token) <= MAX_TOKEN else None
    if match is None:
        return StaffAnswer(say.invalid_action(), ok=False)
    now = desk.clock()
    try:
        day = date.fromisoformat(match[1])
    except ValueError:
        return StaffAnswer(say.invalid_action(), ok=False)
    if day < now.astimezone(desk.clinic.zone).date():
        return StaffAnswer(admin_replies.optimise_day_passed(day), ok=False)
    items = re.findall(_ITEM, match[2])
    with desk.sessions.begin() as db:
        assignments = []
        for entry_id, epoch, provider_key, room_key in items:
            entry = db.get(WaitlistEntry, int(entry_id))
            slot = _slot(desk, entry, int(epoch), provider_key, room_key or None)
            if entry is not None and slot is not None:
                assignments.append((entry.id, slot))
        offers = waitlist.offer_assignments(db, desk.clinic, assignments, now=now)
        desk._record(
            db,
            caller,
            "optimise_applied",
            detail={"day": day.isoformat(), "offered": len(offers), "planned": len(items)},
        )
    return StaffAnswer(admin_replies.optimise_applied(day, len(offers), len(items) - len(offers)))


def _token(day: date, proposals: Sequence[clinic_data.Proposal]) -> str:
    return f"o:{day.isoformat()}" + "".join(
        f":{p.entry_id}.{int(p.slot.start.timestamp())}.{p.slot.provider_key}."
        f"{p.slot.room_key or ''}"
        for p in proposals
    )


def _day(args: list[str], today: date) -> tuple[date | None, str | None]:
    if not args:
        return today, None
    if len(args) > 1:
        return None, None
    word = args[0].lower()
    if word in ("today", "tomorrow"):
        return today + timedelta(days=word == "tomorrow"), None
    try:
        day = date.fromisoformat(word)
    except ValueError:
        return None, admin_replies.optimise_bad_date(args[0][:20])
    if day < today:
        return None, admin_replies.optimise_past_date(day)
    return day, None


def _slot(
    desk: AdminDesk,
    entry: WaitlistEntry | None,
    epoch: int,
    provider_key: str,
    room_key: str | None,
) -> Slot | None:
    """The previewed slot for the entry's type, if the clinic still has the type and provider."""
    if entry is None:
        return None
    try:
        kind = desk.clinic.appointment_type(entry.type_key)
        desk.clinic.provider(provider_key)
    except StopIteration:
        return None
    start = datetime.fromtimestamp(epoch, UTC)
    return Slot(
        kind.key,
        provider_key,
        start,
        start + timedelta(minutes=kind.duration_minutes),
        room_key,
        kind.equipment,
    )


def _line(desk: AdminDesk, db: Session, proposal: clinic_data.Proposal) -> str:
    # The plan was made from these rows in this same session: they are there.
    entry = db.get_one(WaitlistEntry, proposal.entry_id)
    patient = db.get_one(Patient, entry.patient_id)
    name = desk.vault.decrypt(patient.name_enc) if patient.name_enc else None
    slot, clinic = proposal.slot, desk.clinic
    room = next((r.name for r in clinic.rooms if r.key == slot.room_key), None)
    return admin_replies.optimise_line(
        slot.start.astimezone(clinic.zone),
        clinic.appointment_type(slot.type_key).name,
        clinic.provider(slot.provider_key).name,
        room,
        say.patient_label(name, patient.id, False),
        entry.priority,
    )
