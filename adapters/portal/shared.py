"""What the portal's schedule pages share: the blueprint, the services and clock, the clinic's
zone, times and names as people read them, ids and slots read safely from a request, and the
page that explains an error.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from bot.services import Services, services_of
from scheduler.availability import Slot
from scheduler.clinic import Clinic
from scheduler.models import Appointment, Patient
from scheduler.patients import patient_name

from .security import protect

TEMPLATES = str(Path(__file__).resolve().parent.parent / "templates")
STATIC = str(Path(__file__).resolve().parent.parent / "static")

blueprint = protect(
    Blueprint(
        "portal",
        __name__,
        url_prefix="/portal",
        template_folder=TEMPLATES,
        static_folder=STATIC,
        static_url_path="/static",
    )
)

MAX_ID = 2**31 - 1  # an id beyond the database's integer is simply not found


def services() -> Services:
    return services_of(current_app)


def now() -> datetime:
    return services().clock()


def clinic() -> Clinic:
    return services().clinic


def zone() -> ZoneInfo:
    return services().clinic.zone


def today() -> date:
    return now().astimezone(zone()).date()


def local(moment: datetime) -> datetime:
    return moment.astimezone(zone())


def clock_text(moment: datetime) -> str:
    """ "9:05 AM", in the clinic's zone."""
    return local(moment).strftime("%I:%M %p").lstrip("0")


def day_text(day: date) -> str:
    """ "Wednesday, March 4, 2026"."""
    return f"{day:%A}, {day:%B} {day.day}, {day.year}"


def short_day(day: date) -> str:
    """ "Wed Mar 4"."""
    return f"{day:%a} {day:%b} {day.day}"


def when_text(moment: datetime | None) -> str:
    """ "Wed Mar 4, 9:05 AM" in the clinic's zone; "-" for nothing."""
    if moment is None:
        return "-"
    return f"{short_day(local(moment).date())}, {clock_text(moment)}"


def who(patient: Patient) -> str:
    """A patient as the pages name them: their name, else their id (never their number)."""
    if patient.erased_at is not None:
        return f"Patient {patient.id} (erased)"
    return patient_name(services().vault, patient) or f"Patient {patient.id} (no name yet)"


def phone_of(patient: Patient) -> str | None:
    """A patient's number as people write it: "(212) 555-0142" at home, "+44 20 ..." abroad."""
    phone = services().vault.decrypt(patient.phone_enc)
    return None if phone is None else phone_text(phone)


def phone_text(phone: str) -> str:
    try:
        number = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return phone
    home = phonenumbers.region_code_for_number(number) == phonenumbers.region_code_for_number(
        phonenumbers.parse(clinic().phone)
    )
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if home
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def grouped(slots: list[Slot]) -> list[tuple[str, list[tuple[Slot, str, str]]]]:
    """Open times by the clinic's day: [(day, [(slot, time, provider's name)])], in order."""
    days: dict[date, list[tuple[Slot, str, str]]] = {}
    for slot in slots:
        day = local(slot.start).date()
        days.setdefault(day, []).append(
            (slot, clock_text(slot.start), clinic().provider(slot.provider_key).name)
        )
    return [(day_text(day), items) for day, items in days.items()]


def attendee(appointment: Appointment) -> str | None:
    return services().vault.decrypt(appointment.attendee_enc)


def record_id(raw: object) -> int | None:
    """A positive database id from a form or query value, else None."""
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.strip().isdigit() and len(raw.strip()) <= 10:
        value = int(raw.strip())
    else:
        return None
    return value if 0 < value <= MAX_ID else None


def parse_day(raw: str | None) -> date | None:
    """A date from `YYYY-MM-DD`, else None."""
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw.strip()[:10])
    except ValueError:
        return None
    return day if 2000 <= day.year <= 2100 else None


class BadSlot(ValueError):
    """A time named in a request that is not one the clinic has; the message says why."""


def slot_from(type_key: str | None, provider_key: str | None, start: str | None) -> Slot:
    """The slot a page's link or form names (type, provider, start), checked against the clinic:
    `BadSlot` for an unknown type or provider or an unreadable time. Whether it is free is for
    the booking to say."""
    kinds = {t.key: t for t in clinic().appointment_types}
    providers = {p.key for p in clinic().providers}
    kind = kinds.get(type_key or "")
    if kind is None:
        raise BadSlot("That kind of visit is not one the clinic offers. Choose it again.")
    if provider_key not in providers:
        raise BadSlot("That provider is not on the clinic's list. Choose the time again.")
    try:
        moment = datetime.fromisoformat((start or "").strip())
    except ValueError:
        raise BadSlot("That time could not be read. Choose the time again.") from None
    if moment.tzinfo is None or not 2000 <= moment.year <= 2100:
        raise BadSlot("That time could not be read. Choose the time again.")
    moment = moment.astimezone(UTC)
    return Slot(
        kind.key,
        str(provider_key),
        moment,
        moment + timedelta(minutes=kind.duration_minutes),
        None,
        kind.equipment,
    )


def urgent_asked() -> bool:
    """Whether staff are booking for a patient they judge urgent (the find page's box, then
    `urgent=1` carried by every step's links and forms): times kept for urgent patients open."""
    return request.values.get("urgent") == "1"


def level_asked() -> str | None:
    """The urgency staff book or move at: "urgent" when they said so, else the tools' default."""
    return "urgent" if urgent_asked() else None


def slot_args(slot: Slot) -> dict[str, Any]:
    """The query arguments that name a slot (what `slot_from` reads; typed `Any` to go into
    `url_for`'s keyword arguments), and the booking's urgency when it is urgent."""
    start = slot.start.astimezone(zone()).isoformat()  # the clinic's wall clock, with its offset
    named = {"type": slot.type_key, "provider": slot.provider_key, "start": start}
    return (named | {"urgent": "1"}) if urgent_asked() else named


def error_page(status: int, message: str, title: str | None = None) -> ResponseReturnValue:
    titles = {
        400: "That request could not be used",
        401: "Not signed in",
        403: "Not allowed",
        404: "Not found",
        405: "Not allowed here",
        413: "Too much at once",
        429: "Too many tries",
    }
    heading = title or titles.get(status, "Something went wrong")
    return render_template(
        "portal/error.html", status=status, heading=heading, message=message
    ), status


def http_error(error: HTTPException) -> ResponseReturnValue:
    """An HTTP error inside the portal, as a page (never Werkzeug's bare one)."""
    messages = {
        400: "The page sent something it could not use. Go back and try again.",
        404: "There is no such page or record. Use the menu above to find what you need.",
        405: "That page cannot be used that way. Use the menu above.",
        413: "That form sent too much. Go back and send less.",
    }
    status = error.code or 500
    custom = error.description != type(error).description  # abort(400, "what to do instead")
    message = (
        (error.description if custom else None)
        or messages.get(status)
        or "Please go back and try again."
    )
    return error_page(status, message)
